"""Secrets never reach a log (issue 24, point 5).

A whole session at `log_level = "trace"` with the access log on: sign-in at the test IdP, a
server started by the local spawner (Debian's jupyterhub-singleuser) and its OAuth sign-in, a
kernel fetching the user's access token from the hub, a refresh at the IdP after the token
expired, API calls with a user token, an admin reading auth_state, a token revoked, sign-out.
Then every secret the session handled (client secret, crypt key, cookie secret, password,
cookies, API and server tokens, the IdP's codes, access, refresh and ID tokens) is searched for
in the hub's log and the servers' log files, whole and as its first 16 characters.
"""
import contextlib
import json
import re
import shutil
import tempfile
import time
import unittest
from pathlib import Path

from harness.hub import Hub
from harness.idp import TestIdp, decode_jwt
from harness.session import api_call as raw_api_call, sign_in, start_and_open_kernel

SINGLEUSER = shutil.which("jupyterhub-singleuser")
CRYPT_KEY = "5e" * 32
CLIENT_SECRET = "nbhub-test-secret"
ADMIN_TOKEN = "secrets-test-admin-service-token-0123456789"
ACCESS_TTL = 8

CONFIG = f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
log_level = "trace"
access_log = true
services = [ {{ name = "admin-svc", api_token = "{ADMIN_TOKEN}", admin = true }} ]
[auth]
allowed_users = ["alice"]
admin_users = ["bob"]
enable_auth_state = true
refresh_margin_seconds = 2
auth_refresh_age_seconds = 0
refresh_pre_spawn = true
access_token_env = "UPSTREAM_TOKEN"
[[auth.providers]]
name = "idp"
kind = "oidc"
issuer = "{{issuer}}"
client_id = "nbhub-test"
client_secret = "{CLIENT_SECRET}"
"""

TOKEN_SNIPPET = """\
import json, os, urllib.request
req = urllib.request.Request(os.environ["JUPYTERHUB_API_URL"] + "/user/oauth-token", headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]})
print(json.dumps({"access": json.load(urllib.request.urlopen(req))["access_token"],
                  "env": {k: v for k, v in os.environ.items() if "TOKEN" in k or "SECRET" in k}}))
"""


def api_call(hub, method, path, body=None, token=None):
    status, raw = raw_api_call(hub, method, "/hub/api" + path, body, token)
    return status, (json.loads(raw) if raw else None)


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class SecretsInLogs(unittest.TestCase):
    def test_a_whole_session_at_trace_level_logs_no_secret(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-secrets-")
        self.addCleanup(shutil.rmtree, workdir, True)
        secrets = {"client secret": CLIENT_SECRET, "crypt key": CRYPT_KEY, "admin service token": ADMIN_TOKEN,
                   "alice's password": "alice-pw", "bob's password": "bob-pw"}
        with TestIdp("generic", access_token_ttl=ACCESS_TTL, extra={"rotate_refresh_tokens": True}) as idp, \
                Hub(CONFIG.replace("{issuer}", idp.issuer), workdir=workdir,
                    env={"NBHUB_CRYPT_KEY": CRYPT_KEY}) as hub, \
                contextlib.ExitStack() as before_the_hub_stops:
            before_the_hub_stops.callback(hub.kill_servers)
            alice = sign_in(hub, "alice", "alice-pw")
            kernel = start_and_open_kernel(self, hub, alice, "alice")

            first = json.loads(kernel(TOKEN_SNIPPET))
            secrets["access token"] = first["access"]
            for k, v in first["env"].items():
                if v:
                    secrets[f"server env {k}"] = v
            # Past the access token's life: the hub refreshes at the IdP (a rotated refresh token).
            time.sleep(max(0.0, decode_jwt(first["access"])[1]["exp"] - time.time()) + 1)
            second = json.loads(kernel(TOKEN_SNIPPET))
            self.assertNotEqual(second["access"], first["access"])
            secrets["refreshed access token"] = second["access"]

            # API calls with a user token, in the header and (as old clients do) the query.
            s, tok = api_call(hub, "POST", "/users/alice/tokens", {"note": "script"}, token=ADMIN_TOKEN)
            self.assertEqual(s, 201, tok)
            secrets["user API token"] = tok["token"]
            self.assertEqual(api_call(hub, "GET", "/user", token=tok["token"])[0], 200)
            r = alice.get(hub.url("/hub/api/user?token=" + tok["token"]))
            self.assertEqual(r.status, 200, r.text)
            # An admin reads auth_state: the refresh and ID tokens are secrets too.
            s, model = api_call(hub, "GET", "/users/alice", token=ADMIN_TOKEN)
            self.assertEqual(s, 200, model)
            state = model.get("auth_state") or {}
            for k in ("access_token", "refresh_token", "id_token"):
                if state.get(k):
                    secrets[f"auth_state {k}"] = state[k]
            self.assertIn("auth_state refresh_token", secrets, model)
            s, _ = api_call(hub, "DELETE", f"/users/alice/tokens/{tok['id']}", token=ADMIN_TOKEN)
            self.assertEqual(s, 204)

            # What the IdP was sent: its codes, refresh tokens and our client secret.
            for i, req in enumerate(idp.requests()):
                form = req.get("form") or {}
                for k in ("code", "refresh_token", "client_secret", "code_verifier"):
                    if form.get(k):
                        secrets[f"IdP request {i} {k}"] = form[k]
            for cookie in alice.cookies:
                if len(cookie.value) >= 16:
                    secrets[f"cookie {cookie.name}"] = cookie.value
            secret_file = Path(workdir) / "nbhub_cookie_secret"
            if secret_file.exists():
                secrets["cookie secret"] = secret_file.read_text().strip()
            self.assertIn(api_call(hub, "DELETE", "/users/alice/server", token=ADMIN_TOKEN)[0], (202, 204))
            alice.get(hub.url("/hub/logout"))
            hub.kill_servers()
            time.sleep(0.5)
            logs = {"hub log": hub.log()}

        for path in Path(workdir).rglob("*"):
            if path.is_file() and (path.suffix == ".log" or "log" in path.parent.name):
                logs[str(path.relative_to(workdir))] = path.read_text(errors="replace")
        self.assertGreaterEqual(len(logs["hub log"].splitlines()), 30, logs["hub log"])
        self.assertIn("server-logs/alice.log", logs)
        self.assertGreaterEqual(len(secrets), 12, sorted(secrets))
        leaks = []
        for where, text in logs.items():
            for what, value in secrets.items():
                for probe in {value, value[:16]}:
                    if len(probe) >= 8 and probe in text:
                        line = next(l for l in text.splitlines() if probe in l)
                        leaks.append(f"{what} in {where}: {line[:300]}")
                        break
        self.assertEqual(leaks, [], "\n".join(leaks))
        # The log still tells what happened, names included.
        for pattern in (r"started alice's server", r"refreshed the identity-provider tokens of alice",
                        r"POST /hub/api/oauth2/token 200", r"token \w+ of alice revoked"):
            self.assertRegex(logs["hub log"], pattern)


if __name__ == "__main__":
    unittest.main()
