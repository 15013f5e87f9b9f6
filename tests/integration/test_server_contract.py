"""Issue 4: a person signs in, gets a real jupyterhub-singleuser server (Debian's 3.0) through
nbhub's proxy, runs code in a kernel over the WebSocket, and keeps it across an nbhub restart.

Everything is real: the test IdP, nbhub, the single-user server, the kernel, HTTP and
WebSockets on loopback.
"""
import re
import shutil
import tempfile
import time
import unittest
import urllib.parse

from harness import browserless
from harness.hub import Hub
from harness.idp import TestIdp
from harness.websocket import WebSocket, run_code
from harness.session import cookie_header, follow, sign_in, wait_ready, xsrf

SINGLEUSER = shutil.which("jupyterhub-singleuser")


def hub_config(issuer):
    return f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
[auth]
allowed_users = ["alice"]
admin_users = ["bob"]
[[auth.providers]]
name = "idp"
kind = "oidc"
issuer = "{issuer}"
client_id = "nbhub-test"
client_secret = "nbhub-test-secret"
"""


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class ServerContract(unittest.TestCase):
    def test_spawn_proxy_kernel_restart_and_stop(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-server-")
        self.addCleanup(shutil.rmtree, workdir, True)
        with TestIdp("generic") as idp:
            hub = Hub(hub_config(idp.issuer), workdir=workdir)
            hub.start()
            try:
                alice = sign_in(hub, "alice", "alice-pw")
                r = alice.get(hub.url("/hub/spawn"))
                self.assertEqual(r.status, 302)
                # The hub waits a second first (as JupyterHub does): a server up by then is
                # opened at once, a slower one through the progress page.
                self.assertTrue(r.location.endswith(("/hub/spawn-pending/alice", "/user/alice/")), r.location)
                model = wait_ready(alice, hub)
                self.assertEqual(model["server"], "/user/alice/")

                # Through the proxy; the page sends the browser through nbhub's OAuth provider
                # (API handlers answer 403 instead of redirecting, spec §2.3).
                r = follow(alice, hub, alice.get(hub.url("/user/alice/tree")))
                self.assertEqual(r.status, 200, r.text[:500] + hub.log()[-2000:])
                r = alice.get(hub.url("/user/alice/api/status"))
                self.assertEqual(r.status, 200, r.text[:500])
                self.assertIn("started", r.json())

                # A notebook through the contents API, with the server's XSRF cookie.
                r = alice.post(hub.url("/user/alice/api/contents"), json_body={"type": "notebook"},
                               headers={"X-XSRFToken": xsrf(alice)})
                self.assertEqual(r.status, 201, r.text[:500])
                self.assertTrue(r.json()["name"].endswith(".ipynb"))

                # A kernel, and code run over its WebSocket through the proxy.
                r = alice.post(hub.url("/user/alice/api/kernels"), json_body={},
                               headers={"X-XSRFToken": xsrf(alice)})
                self.assertEqual(r.status, 201, r.text[:500])
                kernel = r.json()["id"]
                ws_url = f"ws://127.0.0.1:{hub.port}/user/alice/api/kernels/{kernel}/channels?session_id=t1"
                ws = WebSocket(ws_url, headers={"Cookie": cookie_header(alice)})
                self.assertEqual(run_code(ws, "print(6*7)"), "42\n")
                ws.close()

                # Bob, even as an admin (admin_access is off), cannot use alice's server.
                bob = sign_in(hub, "bob", "bob-pw")
                r = follow(bob, hub, bob.get(hub.url("/user/alice/tree")))
                self.assertEqual(r.status, 403)
                self.assertIn("You do not have permission to access Server at /user/alice/", r.text)

                # A token that is not alice's (invalid) is refused by her server.
                r = browserless.Client().get(hub.url("/user/alice/api/status"),
                                             headers={"Authorization": "token not-a-token"})
                self.assertEqual(r.status, 403)

                # Restart nbhub: the server and the kernel survive, the route comes back.
                hub.stop(cleanup=False)
                hub = Hub(hub_config(idp.issuer), workdir=workdir)
                hub.start()
                self.assertIn("adopted running server /user/alice/", hub.log())
                ws = WebSocket(ws_url.replace(str(urllib.parse.urlsplit(ws_url).port), str(hub.port)),
                               headers={"Cookie": cookie_header(alice)})
                self.assertEqual(run_code(ws, "print(6*7)"), "42\n")
                ws.close()

                # Stop from the home page (a form with the hub's _xsrf value).
                alice_home = alice.get(hub.url("/hub/home"))
                token = re.search(r'name="_xsrf" value="([^"]+)"', alice_home.text).group(1)
                r = alice.post(hub.url("/hub/home/stop"), data={"_xsrf": token})
                self.assertEqual(r.status, 303)
                r = alice.get(hub.url("/user/alice/api/status"))
                self.assertEqual(r.status, 302)
                self.assertTrue(r.location.endswith("/hub/user/alice/api/status"))
                r = alice.get(hub.url("/hub/user/alice/api/status"))
                self.assertEqual(r.status, 424)
            finally:
                hub.kill_servers()  # a test that failed half-way must not leave alice's server
                hub.stop(cleanup=False)

    def test_failed_spawn_says_why_and_can_be_retried(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-server-")
        self.addCleanup(shutil.rmtree, workdir, True)
        with TestIdp("generic") as idp:
            cfg = hub_config(idp.issuer) + '\n[spawner]\ncmd = ["nbhub-no-such-command"]\n'
            with Hub(cfg, workdir=workdir) as hub:
                alice = sign_in(hub, "alice", "alice-pw")
                alice.get(hub.url("/hub/spawn"))
                deadline = time.time() + 20
                while time.time() < deadline:
                    r = alice.get(hub.url("/hub/spawn-pending/alice"))
                    if r.status == 500:
                        break
                    time.sleep(0.2)
                self.assertEqual(r.status, 500)
                self.assertIn("nbhub-no-such-command", r.text)
                self.assertIn("Try again", r.text)


if __name__ == "__main__":
    unittest.main()
