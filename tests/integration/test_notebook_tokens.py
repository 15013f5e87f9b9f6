"""Issue 6, human-to-API: code in a notebook kernel fetches the user's access token from nbhub
with the documented three-line snippet and calls a REST API protected by the same identity
provider; the token endpoint keeps answering with a valid token after the first one expired
(short lifetimes in the test IdP), refreshing once for concurrent callers and following refresh
token rotation; a refresh the IdP refuses answers 401 "sign in again".

Everything is real: the test IdP (oidc-provider), nbhub, jupyterhub-singleuser, the kernel and
the protected API (tests/protected_api/server.py, which checks signatures with the IdP's JWKS).
"""
import contextlib
import json
import re
import shutil
import tempfile
import time
import unittest

from harness import browserless
from harness.hub import Hub
from harness.idp import TestIdp, decode_jwt, tests_dir
from harness.protected_api import ProtectedApi
from harness.session import sign_in, start_and_open_kernel

SINGLEUSER = shutil.which("jupyterhub-singleuser")
CRYPT_KEY = "6f" * 32
ACCESS_TTL = 15   # seconds: the IdP's access tokens
MARGIN = 3        # nbhub refreshes when fewer seconds than this are left

# The snippet of docs/tokens.md, verbatim.
SNIPPET = """\
import json, os, urllib.request
req = urllib.request.Request(os.environ["JUPYTERHUB_API_URL"] + "/user/oauth-token", headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]})
access_token = json.load(urllib.request.urlopen(req))["access_token"]
"""


def hub_config(issuer):
    return f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
[auth]
allowed_users = ["alice"]
admin_users = ["bob"]
enable_auth_state = true
refresh_margin_seconds = {MARGIN}
auth_refresh_age_seconds = 0
refresh_pre_spawn = true
access_token_env = "UPSTREAM_TOKEN"
[[auth.providers]]
name = "idp"
kind = "oidc"
issuer = "{issuer}"
client_id = "nbhub-test"
client_secret = "nbhub-test-secret"
"""


def refresh_grants(idp):
    return [r for r in idp.requests() if (r.get("form") or {}).get("grant_type") == "refresh_token"]


def stop_server(hub, client):
    """Stops alice's server from the home page form (nbhub keeps servers across its restarts,
    so a test must stop what it started). Idempotent."""
    if hub.proc is None or hub.proc.poll() is not None:
        return
    home = client.get(hub.url("/hub/home"))
    m = re.search(r'name="_xsrf" value="([^"]+)"', home.text)
    if m:
        client.post(hub.url("/hub/home/stop"), data={"_xsrf": m.group(1)})


def sleep_until(t):
    while time.time() < t:
        time.sleep(min(0.5, max(0.0, t - time.time())))


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class NotebookTokens(unittest.TestCase):
    def test_the_documented_snippet_is_the_tested_one(self):
        self.assertIn(SNIPPET, (tests_dir().parent / "docs" / "tokens.md").read_text())

    def test_kernel_gets_a_valid_token_and_calls_the_protected_api(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-tokens-")
        self.addCleanup(shutil.rmtree, workdir, True)
        with TestIdp("generic", access_token_ttl=ACCESS_TTL, extra={"rotate_refresh_tokens": True}) as idp, \
                ProtectedApi(idp.issuer, audiences=["nbhub-test"]) as api, \
                Hub(hub_config(idp.issuer), workdir=workdir, env={"NBHUB_CRYPT_KEY": CRYPT_KEY}) as hub, \
                contextlib.ExitStack() as before_the_hub_stops:
            # nbhub leaves servers running when it stops (for adoption): a failing test must not
            # leave alice's behind, so they are killed while the hub (their parent) still runs.
            before_the_hub_stops.callback(hub.kill_servers)
            alice = sign_in(hub, "alice", "alice-pw")

            # Start the server and open a kernel (as test_server_contract.py does).
            kernel = start_and_open_kernel(self, hub, alice, "alice")

            call_api = (f"req2 = urllib.request.Request({api.url!r}, headers={{'Authorization': 'Bearer ' + access_token}})\n"
                        "print(json.dumps({'token': access_token, 'api': json.load(urllib.request.urlopen(req2))}))\n")

            # 1. The three-line snippet, then the protected API with that token.
            first = json.loads(kernel(SNIPPET + call_api))
            token_a = first["token"]
            self.assertEqual(first["api"]["username"], "alice")
            self.assertEqual(decode_jwt(token_a)[1]["iss"], idp.issuer)

            # The spawn-time snapshot is in the environment too (access_token_env).
            env_token = kernel("import os; print(os.environ.get('UPSTREAM_TOKEN', ''))").strip()
            self.assertEqual(decode_jwt(env_token)[1].get("username"), "alice")

            # 2. After token A expired, the endpoint answers with a new, valid one; six kernel
            #    threads asking at once cause one refresh grant at the IdP.
            idp.clear_requests()
            exp_a = decode_jwt(token_a)[1]["exp"]
            sleep_until(exp_a + 6)  # past the API's 5 s leeway
            status, body = api.call(token_a)
            self.assertEqual(status, 401, body)  # A really is dead
            out = kernel(
                "from concurrent.futures import ThreadPoolExecutor\n"
                "def fetch(_):\n"
                "    r = urllib.request.Request(os.environ['JUPYTERHUB_API_URL'] + '/user/oauth-token', headers={'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN']})\n"
                "    return json.load(urllib.request.urlopen(r))['access_token']\n"
                "with ThreadPoolExecutor(6) as ex: tokens = list(ex.map(fetch, range(6)))\n"
                "print(json.dumps(tokens))\n")
            tokens = json.loads(out)
            self.assertEqual(len(set(tokens)), 1, "concurrent callers got different tokens")
            token_b = tokens[0]
            self.assertNotEqual(token_b, token_a)
            self.assertEqual(len(refresh_grants(idp)), 1, hub.log()[-2000:])
            status, body = api.call(token_b)
            self.assertEqual(status, 200, body)

            # 3. Again after B expired: the IdP rotates refresh tokens, so this grant only
            #    succeeds if nbhub stored the rotated one.
            sleep_until(decode_jwt(token_b)[1]["exp"] + 1)
            third = json.loads(kernel(SNIPPET + call_api))
            self.assertNotIn(third["token"], (token_a, token_b))
            self.assertEqual(third["api"]["username"], "alice")
            grants = refresh_grants(idp)
            self.assertEqual(len(grants), 2)
            self.assertNotEqual(grants[0]["form"].get("refresh_token"), grants[1]["form"].get("refresh_token"))

            # The example notebook (examples/call-protected-api.ipynb), its code cells as shipped.
            nb = json.loads((tests_dir().parent / "examples" / "call-protected-api.ipynb").read_text())
            kernel(f"import os; os.environ['PROTECTED_API_URL'] = {api.url!r}")
            out = ""
            for cell in nb["cells"]:
                if cell["cell_type"] == "code":
                    out = kernel("".join(cell["source"]))
            self.assertEqual(json.loads(out)["username"], "alice")

            # The ID token on request; the user model's auth_state for admin:auth_state holders.
            r = alice.get(hub.url("/hub/api/user/oauth-token?id_token=1"))
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(decode_jwt(r.json()["id_token"])[1]["aud"], "nbhub-test")
            self.assertNotIn("auth_state", alice.get(hub.url("/hub/api/user")).json())
            bob = sign_in(hub, "bob", "bob-pw")
            self.assertIn("access_token", bob.get(hub.url("/hub/api/user")).json()["auth_state"])
            # ... and in GET /users/<name> (JupyterHub's place for it), for admins only.
            self.assertIn("access_token", bob.get(hub.url("/hub/api/users/alice")).json()["auth_state"])
            self.assertNotIn("auth_state", alice.get(hub.url("/hub/api/users/alice")).json())

            # 4. Only alice and admin:auth_state holders read alice's tokens.
            r = bob.get(hub.url("/hub/api/users/alice/oauth-token"))
            self.assertEqual(r.status, 200, r.text)
            r = alice.get(hub.url("/hub/api/users/bob/oauth-token"))
            self.assertEqual(r.status, 403, r.text)
            r = browserless.Client().get(hub.url("/hub/api/user/oauth-token"))
            self.assertEqual(r.status, 403)

            # 5. The IdP refuses the refresh (revoked, expired): 401 saying to sign in again.
            idp.set_fault("token", "error_json")
            sleep_until(decode_jwt(third["token"])[1]["exp"] + 1)
            r = alice.get(hub.url("/hub/api/user/oauth-token"))
            self.assertEqual(r.status, 401, r.text)
            self.assertIn("Sign in to the hub again", r.json()["message"])
            idp.reset_faults()
            # Signing in again stores new tokens.
            alice = sign_in(hub, "alice", "alice-pw")
            r = alice.get(hub.url("/hub/api/user/oauth-token"))
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(api.call(r.json()["access_token"])[0], 200)
            stop_server(hub, alice)


if __name__ == "__main__":
    unittest.main()


class ProviderRefresh(unittest.TestCase):
    """The token endpoint refreshes through each preset's own token endpoint: Cognito's
    /oauth2/token, and the Custos gateway (every parameter in the query, the client pair as a
    Bearer header). No server needed: the login cookie authenticates the endpoint too."""

    def refresh_through(self, mode, provider):
        from harness.login import hub_toml, login
        with TestIdp(mode, access_token_ttl=6) as idp:
            p = {"name": "p", **provider(idp)}
            cfg = hub_toml([p], auth={"allow_all": True, "enable_auth_state": True,
                                      "refresh_margin_seconds": 2, "auth_refresh_age_seconds": 0})
            with Hub(cfg, env={"NBHUB_CRYPT_KEY": CRYPT_KEY}) as hub:
                c = browserless.Client()
                self.assertEqual(login(hub, c, "alice", "p").status, 302, hub.log()[-2000:])
                first = c.get(hub.url("/hub/api/user/oauth-token")).json()
                idp.clear_requests()
                sleep_until(first["expires_at"] + 1)
                r = c.get(hub.url("/hub/api/user/oauth-token"))
                self.assertEqual(r.status, 200, r.text + hub.log()[-2000:])
                self.assertNotEqual(r.json()["access_token"], first["access_token"])
                self.assertGreater(r.json()["expires_at"], time.time())
                grants = [q for q in idp.requests() if (q.get("form") or {}).get("grant_type") == "refresh_token"
                          or (q.get("query") or {}).get("grant_type") == "refresh_token"]
                self.assertEqual(len(grants), 1, idp.requests())
                return grants[0]

    def test_cognito(self):
        g = self.refresh_through("cognito", lambda idp: {
            "kind": "cognito", "client_id": "nbhub-test", "client_secret": "nbhub-test-secret",
            "cognito_domain": idp.issuer, "issuer": idp.issuer,
            "jwks_url": idp.issuer + "/.well-known/jwks.json"})
        self.assertEqual(g["path"], "/oauth2/token")

    def test_custos_gateway(self):
        from harness.login import CUSTOS_CLIENT_ID, CUSTOS_SECRET
        g = self.refresh_through("custos", lambda idp: {
            "kind": "custos", "client_id": CUSTOS_CLIENT_ID, "client_secret": CUSTOS_SECRET,
            "custos_host": idp.issuer, "custos_iam_host": idp.issuer})
        self.assertEqual(g["client_auth"], "bearer_pair")
        self.assertIn("/apiserver/identity-management/v1.0.0/token", g["path"])
