"""Issue 5: the pages in a real browser (Debian's chromium via playwright-core): sign in through
the test IdP, start a server and reach the notebook page, create and revoke a token, as admin
add users, stop another user's server and create a group, sign out; every page also at 390 px.
Runs under base_url /jh/. Screenshots land in $NBHUB_ARTIFACTS (or a temp dir) and are kept
when the journey fails.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness.hub import Hub
from harness.idp import TestIdp
from harness.session import free_port

TESTS = os.environ.get("NBHUB_TESTS_DIR") or os.path.join(os.path.dirname(__file__), "..")
JOURNEY = os.path.join(TESTS, "browser", "journey.mjs")
CHROMIUM = "/usr/bin/chromium"
PLAYWRIGHT = os.path.join(TESTS, "node_modules", "playwright-core")
SINGLEUSER = shutil.which("jupyterhub-singleuser")


def hub_config(issuer, port):
    return f"""
ip = "127.0.0.1"
port = {port}
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
base_url = "/jh/"
[spawner]
allow_named_servers = true
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


@unittest.skipUnless(os.path.exists(CHROMIUM) and os.path.isdir(PLAYWRIGHT) and shutil.which("node"),
                     "chromium, node or tests/node_modules/playwright-core missing")
class PagesBrowserTest(unittest.TestCase):
    def test_journey(self):
        shots = os.environ.get("NBHUB_ARTIFACTS") or tempfile.mkdtemp(prefix="nbhub-shots-")
        port = free_port()
        callback = f"http://127.0.0.1:{port}/jh/hub/oauth_callback"
        with TestIdp("generic", redirect_uris=[callback]) as idp, Hub(hub_config(idp.issuer, port)) as hub:
            env = dict(os.environ, HUB_URL=hub.url("/jh/"), SHOTS=shots,
                       SINGLEUSER="1" if SINGLEUSER else "0")
            r = subprocess.run(["node", JOURNEY], cwd=TESTS, env=env, capture_output=True, text=True, timeout=300)
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 0, f"{out}\nscreenshots in {shots}\n--- hub log ---\n{hub.log()[-4000:]}")
            self.assertIn("JOURNEY OK", out)
        if not os.environ.get("NBHUB_ARTIFACTS"):
            shutil.rmtree(shots, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
