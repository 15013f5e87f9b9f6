"""Issue 6, API-to-API: nbhub's REST API accepts JWT access tokens of configured providers as
`Authorization: Bearer`, validated locally with the provider's JWKS. A client-credentials
token of svc-client acts as the service configured for it, with the scopes its token scope
maps to; a user's own access token acts as that user; tokens from another issuer, for another
audience or client, tampered with, or unsigned are refused. Generic OIDC (`aud`) and Cognito
(no `aud`: `client_id` allow-list and `token_use`) both, against the real test IdP.
"""
import base64
import json
import time
import unittest
import urllib.request

from harness.browserless import Client
from harness.hub import Hub, run_nbhub
from harness.idp import TestIdp, decode_jwt
from harness.login import CLIENT_ID, CLIENT_SECRET, hub_toml, login, wait_for_log

CRYPT_KEY = "5a" * 32


def client_credentials(idp, client_id="svc-client", secret="svc-secret", scope=None):
    """A client-credentials access token from the IdP's token endpoint (what a script does)."""
    form = "grant_type=client_credentials" + (f"&scope={scope}" if scope else "")
    req = urllib.request.Request(idp.discovery()["token_endpoint"], data=form.encode(), headers={
        "Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=10) as r:
        return json.load(r)["access_token"]


def bearer(token):
    return {"Authorization": "Bearer " + token}


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


class BearerChecks:
    """Cases shared by both provider flavours; subclasses set idp, hub, other_idp."""

    def api(self, method, path, token, body=None):
        return Client().request(method, self.hub.url(path), headers=bearer(token), json_body=body)

    def test_client_credentials_token_is_the_configured_service(self):
        token = client_credentials(self.idp)
        r = self.api("GET", "/hub/api/user", token)
        self.assertEqual(r.status, 200, r.text + self.hub.log()[-2000:])
        self.assertEqual(r.json()["kind"], "service")
        self.assertEqual(r.json()["name"], "reporting")
        # Its token scope nbhub/api maps to users:activity for alice only.
        r = self.api("POST", "/hub/api/users/alice/activity", token, {"last_activity": now_iso()})
        self.assertEqual(r.status, 200, r.text)
        r = self.api("POST", "/hub/api/users/bob/activity", token, {"last_activity": now_iso()})
        self.assertEqual(r.status, 403, r.text)
        # Many requests with one token: validated once, then cached (no IdP call per request).
        for _ in range(20):
            self.assertEqual(self.api("GET", "/hub/api/user", token).status, 200)

    def test_token_of_another_issuer_is_refused(self):
        token = client_credentials(self.other_idp)
        r = self.api("GET", "/hub/api/user", token)
        self.assertEqual(r.status, 403, r.text)
        self.assertIn(f"issuer '{self.other_idp.issuer}' is not accepted", r.json()["message"])
        wait_for_log(self.hub, r"issuer '" + self.other_idp.issuer + "' is not accepted")
        # Every REST endpoint says why, not only /hub/api/user.
        r = self.api("GET", "/hub/api/users", token)
        self.assertEqual(r.status, 403, r.text)
        self.assertIn(f"issuer '{self.other_idp.issuer}' is not accepted", r.json()["message"])

    def test_tampered_and_unsigned_tokens_are_refused(self):
        token = client_credentials(self.idp)
        header, payload, sig = token.split(".")
        claims = decode_jwt(token)[1]
        claims["scope"] = "admin"
        r = self.api("GET", "/hub/api/user", f"{header}.{b64(claims)}.{sig}")
        self.assertEqual(r.status, 403, r.text)
        self.assertIn("signature does not verify", r.json()["message"])
        r = self.api("GET", "/hub/api/user", f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.")
        self.assertEqual(r.status, 403, r.text)
        self.assertIn("unsigned tokens are never accepted", r.json()["message"])
        wait_for_log(self.hub, r"bearer token via idp refused \(unsupported_alg\)")

    def users_access_token(self, user):
        c = Client()
        self.assertEqual(login(self.hub, c, user, "idp").status, 302)
        r = c.get(self.hub.url("/hub/api/user/oauth-token"))
        self.assertEqual(r.status, 200, r.text)
        return r.json()["access_token"]


class GenericOidcBearer(BearerChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp("generic")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        cls.other_idp = TestIdp("generic")
        cls.other_idp.start()
        cls.addClassCleanup(cls.other_idp.stop)
        cls.hub = Hub(hub_toml([{
            "name": "idp", "kind": "oidc", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "issuer": cls.idp.issuer, "bearer_tokens": True,
            "bearer_audiences": ["svc-client", CLIENT_ID],
            "bearer_services": {"svc-client": "reporting"},
            "bearer_scopes": {"nbhub/api": "users:activity!user=alice"},
        }], auth={"allowed_users": ["alice", "bob"], "enable_auth_state": True}),
            env={"NBHUB_CRYPT_KEY": CRYPT_KEY})
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_users_own_access_token_acts_as_that_user(self):
        token = self.users_access_token("alice")
        r = self.api("GET", "/hub/api/user", token)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["name"], "alice")
        # ... and only as alice: bob's data stays closed to it.
        r = self.api("POST", "/hub/api/users/bob/activity", token, {"last_activity": now_iso()})
        self.assertEqual(r.status, 403, r.text)
        r = self.api("GET", "/hub/api/users/bob/oauth-token", token)
        self.assertEqual(r.status, 403, r.text)
        # A hub token of alice that may only identify her (what a service gets from an OAuth
        # login) cannot read her identity-provider tokens; a full one of hers can.
        for scopes, status in ((["read:users:name!user=alice"], 403), (None, 200)):
            body = {"note": "t"} if scopes is None else {"note": "t", "scopes": scopes}
            r = self.api("POST", "/hub/api/users/alice/tokens", token, body)
            self.assertIn(r.status, (200, 201), r.text)
            hub_token = r.json()["token"]
            r = Client().get(self.hub.url("/hub/api/user/oauth-token"), headers={"Authorization": "token " + hub_token})
            self.assertEqual(r.status, status, r.text)


    def test_cli_prints_a_client_credentials_token_and_verifies_it(self):
        import os
        svc = os.path.join(self.hub.workdir, "svc.toml")
        with open(svc, "w") as f:
            f.write(hub_toml([{"name": "svc", "kind": "oidc", "client_id": "svc-client",
                               "client_secret": "svc-secret", "issuer": self.idp.issuer}]))
        r = run_nbhub(["-f", svc, "token", "client-credentials", "--provider", "svc", "--scope", "nbhub/api"],
                      cwd=self.hub.workdir)
        self.assertEqual(r.returncode, 0, r.stderr)
        token = r.stdout.strip()
        self.assertEqual(decode_jwt(token)[1]["client_id"], "svc-client")
        self.assertEqual(self.api("GET", "/hub/api/user", token).json()["name"], "reporting")
        # `token verify` with the hub's own configuration: who it is, or why not.
        r = run_nbhub(["-f", "nbhub.toml", "token", "verify", token], cwd=self.hub.workdir,
                      env={"NBHUB_CRYPT_KEY": CRYPT_KEY})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("verdict: valid", r.stdout)
        self.assertIn("service reporting", r.stdout)
        self.assertIn('"client_id":"svc-client"', r.stdout)
        other = client_credentials(self.other_idp)
        r = run_nbhub(["-f", "nbhub.toml", "token", "verify", other], cwd=self.hub.workdir,
                      env={"NBHUB_CRYPT_KEY": CRYPT_KEY})
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("verdict: refused", r.stdout)
        self.assertIn("is not accepted by this hub", r.stdout)


class CognitoBearer(BearerChecks, unittest.TestCase):
    """Cognito access tokens have no `aud`: client_id allow-list and token_use = access."""

    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp("cognito")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        cls.other_idp = TestIdp("cognito")
        cls.other_idp.start()
        cls.addClassCleanup(cls.other_idp.stop)
        cls.hub = Hub(hub_toml([{
            "name": "idp", "kind": "cognito", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "cognito_domain": cls.idp.issuer, "issuer": cls.idp.issuer,
            "jwks_url": cls.idp.issuer + "/.well-known/jwks.json",
            "bearer_tokens": True, "bearer_client_ids": ["svc-client"],
            "bearer_services": {"svc-client": "reporting"},
            "bearer_scopes": {"nbhub/api": "users:activity!user=alice"},
        }], auth={"allowed_users": ["alice", "bob"], "enable_auth_state": True}),
            env={"NBHUB_CRYPT_KEY": CRYPT_KEY})
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_token_of_a_client_not_allowed_is_refused(self):
        token = self.users_access_token("alice")  # issued to nbhub-test, not in bearer_client_ids
        self.assertNotIn("aud", decode_jwt(token)[1])
        r = self.api("GET", "/hub/api/user", token)
        self.assertEqual(r.status, 403, r.text)
        self.assertIn("client_id 'nbhub-test', which is not in allowed_client_ids", r.json()["message"])
        wait_for_log(self.hub, r"client_not_allowed")


if __name__ == "__main__":
    unittest.main()
