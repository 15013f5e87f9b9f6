"""Issue 5: a small service built on Debian's `jupyterhub.services.auth.HubOAuth` (JupyterHub
3.0), registered in nbhub's config, signs a browser user in through nbhub (the hub as OAuth
provider, spec §3) and reads their identity from /hub/api/user. The browser reaches the
service through nbhub's proxy at /services/whoami/.
"""
import json
import os
import subprocess
import tempfile
import unittest

from harness import browserless
from harness.hub import Hub
from harness.idp import TestIdp
from harness.session import follow, free_port, sign_in

SYSTEM_PYTHON = "/usr/bin/python3"
TOKEN = "whoami-service-token-0123456789"

SERVICE = r'''
import json, os
from jupyterhub.services.auth import HubOAuthenticated, HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado import ioloop, web

class WhoAmI(HubOAuthenticated, web.RequestHandler):
    @web.authenticated
    def get(self):
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(self.get_current_user()))

prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
app = web.Application([
    (prefix, WhoAmI),
    (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
], cookie_secret=os.urandom(32))
app.listen(int(os.environ["PORT"]), "127.0.0.1")
print("service ready", flush=True)
ioloop.IOLoop.current().start()
'''


def has_hubauth():
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", "import jupyterhub.services.auth"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def hub_config(issuer, port):
    return f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
services = [{{ name = "whoami", url = "http://127.0.0.1:{port}", api_token = "{TOKEN}" }}]
load_roles = [{{ name = "user", scopes = ["self", "access:services!service=whoami"] }}]
[auth]
allowed_users = ["alice", "carol"]
[[auth.providers]]
name = "idp"
kind = "oidc"
issuer = "{issuer}"
client_id = "nbhub-test"
client_secret = "nbhub-test-secret"
"""


@unittest.skipUnless(has_hubauth(), "Debian's jupyterhub (python3-jupyterhub) is not installed")
class HubOAuthServiceTest(unittest.TestCase):
    def test_browser_user_signs_in_to_a_hubauth_service(self):
        port = free_port()
        with TestIdp("generic") as idp, Hub(hub_config(idp.issuer, port)) as hub:
            workdir = tempfile.mkdtemp(prefix="nbhub-svc-")
            script = os.path.join(workdir, "whoami.py")
            with open(script, "w") as f:
                f.write(SERVICE)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "NBHUB_"))}
            api_url = hub.log().split("hub API for servers at ")[1].split()[0] if "hub API for servers at " in hub.log() else hub.url("/hub/api")
            env.update({
                "PORT": str(port),
                "JUPYTERHUB_API_URL": api_url,
                "JUPYTERHUB_API_TOKEN": TOKEN,
                "JUPYTERHUB_CLIENT_ID": "service-whoami",
                "JUPYTERHUB_SERVICE_NAME": "whoami",
                "JUPYTERHUB_SERVICE_PREFIX": "/services/whoami/",
                "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
                "JUPYTERHUB_OAUTH_CALLBACK_URL": "/services/whoami/oauth_callback",
                "JUPYTERHUB_BASE_URL": "/",
                "JUPYTERHUB_HOST": "",
                "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps(["access:services!service=whoami"]),
                "JUPYTERHUB_OAUTH_SCOPES": json.dumps(["access:services!service=whoami"]),
            })
            svc = subprocess.Popen([SYSTEM_PYTHON, script], env=env, cwd=workdir,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                line = svc.stdout.readline()
                self.assertIn("service ready", line, line + (svc.stdout.read() if svc.poll() is not None else ""))

                # Anonymous: the service sends the browser to the hub's login.
                anon = browserless.Client()
                r = anon.get(hub.url("/services/whoami/"))
                self.assertTrue(r.is_redirect, r.text[:300])
                self.assertIn("/hub/api/oauth2/authorize", r.location)
                r = anon.get(hub.url(r.location) if not r.location.startswith("http") else r.location)
                self.assertTrue(r.is_redirect and "/hub/login" in r.location, r.location)

                c = sign_in(hub, "alice", "alice-pw")
                r = follow(c, hub, c.get(hub.url("/services/whoami/")))
                self.assertEqual(r.status, 200, r.text[:500] + "\n" + hub.log()[-3000:])
                me = r.json()
                self.assertEqual((me["kind"], me["name"]), ("user", "alice"), me)
                self.assertIn("access:services!service=whoami", me["scopes"])
                # The token the service got is alice's, scoped to the service.
                self.assertNotIn("admin:users", me["scopes"])
            finally:
                svc.terminate()
                try:
                    svc.wait(10)
                except subprocess.TimeoutExpired:
                    svc.kill()


class CookieApiXsrfTest(unittest.TestCase):
    """JupyterHub 4.1+: cookie-authenticated API writes need _xsrf; GETs and tokens do not."""

    def test_cookie_writes_need_xsrf(self):
        import re
        with TestIdp("generic") as idp, Hub(hub_config(idp.issuer, free_port())) as hub:
            c = sign_in(hub, "alice", "alice-pw")
            r = c.get(hub.url("/hub/api/users/alice/tokens"))
            self.assertEqual(r.status, 200, r.text)
            r = c.request("POST", hub.url("/hub/api/users/alice/tokens"), json_body={"note": "x"})
            self.assertEqual(r.status, 403, r.text)
            self.assertIn("_xsrf", r.json()["message"])
            page = c.get(hub.url("/hub/token")).text
            xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
            r = c.request("POST", hub.url("/hub/api/users/alice/tokens"), json_body={"note": "x"},
                          headers={"X-XSRFToken": xsrf})
            self.assertEqual(r.status, 201, r.text)
            token = r.json()["token"]
            # Another user's session value does not pass, and a token needs none.
            r = c.request("POST", hub.url("/hub/api/users/alice/tokens"), json_body={},
                          headers={"X-XSRFToken": xsrf[:-2] + "AA"})
            self.assertEqual(r.status, 403)
            plain = browserless.Client()
            r = plain.request("POST", hub.url("/hub/api/users/alice/tokens"), json_body={},
                              headers={"Authorization": f"token {token}"})
            self.assertEqual(r.status, 201, r.text)
            # Pages refuse forms without it.
            r = c.post(hub.url("/hub/token"), {"note": "no xsrf"})
            self.assertEqual(r.status, 403)


if __name__ == "__main__":
    unittest.main()
