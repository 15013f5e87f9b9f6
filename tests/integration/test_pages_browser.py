"""Issue 5: the pages in a real browser (Debian's chromium via playwright-core): sign in through
the test IdP, start a server and reach the notebook page, create and revoke a token, as admin
add users, stop another user's server and create a group, sign out; every page also at 390 px.
Runs under base_url /jh/. Screenshots land in $NBHUB_ARTIFACTS (or a temp dir) and are kept
when the journey fails.
"""
import shutil
import unittest

from harness.browser import oidc_provider, run_script, skip_unless_browser

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
""" + oidc_provider(issuer)


@skip_unless_browser
class PagesBrowserTest(unittest.TestCase):
    def test_journey(self):
        run_script(self, "journey.mjs", hub_config, "JOURNEY", base_url="/jh/", timeout=300,
                   env={"SINGLEUSER": "1" if SINGLEUSER else "0"})


if __name__ == "__main__":
    unittest.main()
