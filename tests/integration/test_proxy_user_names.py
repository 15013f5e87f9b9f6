"""Issue 18 item 5: users named like e-mail addresses (`alice@example.org`) and with non-ASCII
letters (`jürgen`) are reachable through both proxies.

  * `nbhub proxy`: routes are added through the CHP REST API exactly as JupyterHub's
    ConfigurableHTTPProxy sends them (the route spec /user/<quote(name, safe='@~')>/, POSTed to
    /api/routes/<spec>), listed decoded as CHP lists them, and requests reach the right upstream
    under every spelling a browser or client uses for the path.
  * the built-in proxy: the hub creates the users and starts their servers (Debian's
    jupyterhub-singleuser) through its REST API; each server answers at the URL the hub gives.
"""
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness.hub import Hub, nbhub_bin
from harness.session import free_port

SINGLEUSER = shutil.which("jupyterhub-singleuser")
TOKEN = "names-" + os.urandom(6).hex()
NAMES = ["alice@example.org", "jürgen"]


def jupyterhub_escape(name):
    return urllib.parse.quote(name, safe="@~")  # jupyterhub.utils.url_escape_path


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def call(url, method="GET", body=None, token=None, timeout=20):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    if token:
        req.add_header("Authorization", "token " + token)
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


class Upstream:
    """A loopback HTTP server that answers with its name and the path it received."""

    def __init__(self, name):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({"upstream": name, "path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class NbhubProxyUserNames(unittest.TestCase):
    def setUp(self):
        self.port, self.api_port = free_port(), free_port()
        self.upstreams = {n: Upstream(n) for n in NAMES + ["hub"]}
        for u in self.upstreams.values():
            self.addCleanup(u.close)
        env = dict(os.environ, CONFIGPROXY_AUTH_TOKEN=TOKEN)
        self.proc = subprocess.Popen(
            [nbhub_bin(), "proxy", "--ip", "127.0.0.1", "--port", str(self.port), "--api-ip", "127.0.0.1",
             "--api-port", str(self.api_port), "--default-target", self.upstreams["hub"].url],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(self.stop)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if call(self.api("/api/routes"), token=TOKEN)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.fail("nbhub proxy did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.communicate(timeout=10)

    def api(self, path):
        return f"http://127.0.0.1:{self.api_port}{path}"

    def public(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def test_routes_added_as_jupyterhub_adds_them_reach_the_right_upstream(self):
        for name in NAMES:
            spec = f"/user/{jupyterhub_escape(name)}/"
            status, body = call(self.api("/api/routes" + spec), "POST",
                                {"target": self.upstreams[name].url, "user": name, "server_name": "",
                                 "jupyterhub": True}, token=TOKEN)
            self.assertEqual(status, 201, body)

        status, body = call(self.api("/api/routes"), token=TOKEN)
        self.assertEqual(status, 200)
        routes = json.loads(body)
        # Listed decoded, as CHP: JupyterHub re-quotes the keys (safe='@/~') to find its specs.
        self.assertIn("/user/alice@example.org", routes)
        self.assertIn("/user/jürgen", routes)
        self.assertEqual(routes["/user/jürgen"]["user"], "jürgen")
        for key in routes:
            if key != "/":
                self.assertIn(urllib.parse.quote(key, safe="@/~") + "/",
                              {f"/user/{jupyterhub_escape(n)}/" for n in NAMES})

        spellings = {
            "alice@example.org": ["/user/alice@example.org/api/status", "/user/alice%40example.org/lab",
                                  "/user/alice%40example.org"],
            "jürgen": ["/user/j%C3%BCrgen/api/status", "/user/j%c3%bcrgen/lab?x=%C3%BC"],
        }
        for name, paths in spellings.items():
            for path in paths:
                status, body = call(self.public(path))
                self.assertEqual(status, 200, f"{path}: {body}")
                seen = json.loads(body)
                self.assertEqual(seen["upstream"], name, path)
                self.assertEqual(seen["path"], path)  # forwarded as received
        status, body = call(self.public("/user/alice%2540example.org/"))
        self.assertEqual(json.loads(body)["upstream"], "hub")  # not decoded twice

        for name in NAMES:
            status, _ = call(self.api(f"/api/routes/user/{jupyterhub_escape(name)}"), "DELETE", token=TOKEN)
            self.assertEqual(status, 204)
        self.assertEqual(json.loads(call(self.public("/user/j%C3%BCrgen/x"))[1])["upstream"], "hub")


ADMIN = "names-admin-" + os.urandom(6).hex()


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class BuiltInProxyUserNames(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="nbhub-names-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.hub = Hub(f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
services = [ {{ name = "admin-svc", api_token = "{ADMIN}", admin = true }} ]
[auth]
allowed_users = []
""", workdir=self.workdir)
        self.hub.start()
        self.addCleanup(self.hub.stop, False)

    def hub_api(self, method, path, body=None, token=ADMIN):
        return call(self.hub.url("/hub/api" + path), method, body, token=token, timeout=60)

    def test_servers_of_users_named_like_emails_and_with_umlauts_answer_through_the_proxy(self):
        urls = {}
        for name in NAMES:
            q = jupyterhub_escape(name)
            status, body = self.hub_api("POST", f"/users/{q}")
            self.assertEqual(status, 201, body)
            status, body = self.hub_api("POST", f"/users/{q}/tokens", {"note": "names test"})
            self.assertEqual(status, 201, body)
            token = json.loads(body)["token"]
            status, body = self.hub_api("POST", f"/users/{q}/server")
            self.assertIn(status, (201, 202), body + self.hub.log()[-2000:])
            deadline = time.time() + 60
            while time.time() < deadline:
                status, body = self.hub_api("GET", f"/users/{q}")
                url = json.loads(body).get("server") if status == 200 else None
                if url:
                    status, got = call(self.hub.url(url + "api/status"), token=token)
                    if status == 200 and '"started"' in got:
                        urls[name] = url
                        break
                time.sleep(0.3)
            self.assertIn(name, urls, f"{name}'s server never answered through the proxy:\n"
                          + self.hub.log()[-3000:])
        for name in NAMES:
            self.hub_api("DELETE", f"/users/{jupyterhub_escape(name)}/server")


if __name__ == "__main__":
    unittest.main()
