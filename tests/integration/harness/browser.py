"""The rig of the browser tests (tests/browser/*.mjs, Debian's chromium via playwright-core):
the test IdP and nbhub, signed in through the IdP's form, then one node script against them.

    class T(unittest.TestCase):
        @skip_unless_browser
        def test_x(self):
            run_script(self, "sharing.mjs", lambda issuer, port: toml, "SHARING")

`config(issuer, port)` returns the hub's nbhub.toml for that IdP and port (`oidc_provider`
gives the provider table). The script gets HUB_URL and SHOTS (screenshots: $NBHUB_ARTIFACTS
or a temp dir, removed after a pass) and must print "<marker> OK"; a failure shows its output,
where the screenshots are and the hub's log.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness.hub import Hub
from harness.idp import TestIdp
from harness.session import free_port

TESTS = os.environ.get("NBHUB_TESTS_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
CHROMIUM = "/usr/bin/chromium"
PLAYWRIGHT = os.path.join(TESTS, "node_modules", "playwright-core")

skip_unless_browser = unittest.skipUnless(
    os.path.exists(CHROMIUM) and os.path.isdir(PLAYWRIGHT) and shutil.which("node"),
    "chromium, node or tests/node_modules/playwright-core missing")


def oidc_provider(issuer):
    """The [[auth.providers]] table of the test IdP's client."""
    return f"""
[[auth.providers]]
name = "idp"
kind = "oidc"
issuer = "{issuer}"
client_id = "nbhub-test"
client_secret = "nbhub-test-secret"
"""


def run_script(test, script, config, marker, *, base_url="/", env=None, hub_env=None, label=None, timeout=400):
    """`env` is added to the script's environment, `hub_env` to the hub's; `label` names the
    screenshots' subdirectory (the marker's name by default)."""
    shots = os.environ.get("NBHUB_ARTIFACTS") or tempfile.mkdtemp(prefix="nbhub-shots-")
    shots = os.path.join(shots, (label or marker).lower())
    port = free_port()
    callback = f"http://127.0.0.1:{port}{base_url}hub/oauth_callback"
    with TestIdp("generic", redirect_uris=[callback]) as idp, Hub(config(idp.issuer, port), env=hub_env) as hub:
        script_env = dict(os.environ, HUB_URL=hub.url(base_url), SHOTS=shots, **(env or {}))
        try:
            r = subprocess.run(["node", os.path.join(TESTS, "browser", script)], cwd=TESTS, env=script_env,
                               capture_output=True, text=True, timeout=timeout)
        finally:
            hub.kill_servers()  # the servers the script started end with it
        out = r.stdout + r.stderr
        test.assertEqual(r.returncode, 0, f"{out}\nscreenshots in {shots}\n--- hub log ---\n{hub.log()[-5000:]}")
        test.assertIn(f"{marker} OK", out)
    if not os.environ.get("NBHUB_ARTIFACTS"):
        shutil.rmtree(shots, ignore_errors=True)
