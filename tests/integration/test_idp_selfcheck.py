"""Self-check of the bundled test IdP (tests/idp) and its Python harness.

Walks the flows nbhub depends on by hand, without nbhub: discovery and JWKS, the code flow
with PKCE through the HTML login form, both client authentication methods, userinfo, refresh,
client credentials, Cognito's claim split, the Custos gateway, and some injected faults.
"""

import base64
import hashlib
import secrets
import time
import unittest
import urllib.parse

from harness.browserless import Client, login_at_idp
from harness.idp import TestIdp, decode_jwt, verify_rs256

CALLBACK = "http://127.0.0.1:8765/hub/oauth_callback"  # any port: default clients are "native"
CLIENT, SECRET = "nbhub-test", "nbhub-test-secret"


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class IdpCase(unittest.TestCase):
    """One IdP per test class; helpers for the steps every flow repeats."""

    MODE = "generic"

    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp(mode=cls.MODE)
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        cls.disco = cls.idp.discovery()
        cls.keys = cls.idp.jwks()

    def setUp(self):
        self.idp.reset_faults()
        self.browser = Client()

    def authorize(self, username="alice", password=None, *, client_id=CLIENT, scope="openid email profile",
                  pkce=True, authorize_url=None):
        """Runs the front channel; returns (code, verifier, nonce)."""
        verifier, challenge = pkce_pair()
        nonce, state = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        params = dict(response_type="code", client_id=client_id, redirect_uri=CALLBACK, scope=scope,
                      state=state, nonce=nonce)
        if pkce:
            params.update(code_challenge=challenge, code_challenge_method="S256")
        url = (authorize_url or self.disco["authorization_endpoint"]) + "?" + urllib.parse.urlencode(params)
        callback = login_at_idp(self.browser, url, username, password or f"{username}-pw")
        self.assertTrue(callback.startswith(CALLBACK + "?"), callback)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query)
        self.assertEqual(query["state"], [state])
        return query["code"][0], (verifier if pkce else None), nonce

    def exchange(self, code, verifier, *, auth="basic", client_id=CLIENT, secret=SECRET):
        form = dict(grant_type="authorization_code", code=code, redirect_uri=CALLBACK)
        if verifier:
            form["code_verifier"] = verifier
        headers = {}
        if auth == "basic":
            headers["Authorization"] = basic(client_id, secret)
        else:
            form.update(client_id=client_id, client_secret=secret)
        return Client().post(self.disco["token_endpoint"], form, headers=headers)

    def login_tokens(self, username="alice", **kw):
        code, verifier, nonce = self.authorize(username)
        resp = self.exchange(code, verifier, **kw)
        self.assertEqual(resp.status, 200, resp.text)
        return resp.json(), nonce

    def userinfo(self, access_token):
        return Client().get(self.disco["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"})

    def assert_id_token(self, id_token, nonce, client_id=CLIENT):
        self.assertTrue(verify_rs256(id_token, self.keys), "ID token signature")
        header, claims = decode_jwt(id_token)
        self.assertEqual(header["kid"], "idp-rs256-id")
        self.assertEqual(claims["iss"], self.idp.issuer)
        self.assertEqual(claims["aud"], client_id)
        self.assertEqual(claims["nonce"], nonce)
        self.assertGreater(claims["exp"], time.time())
        self.assertIn("auth_time", claims)
        return claims


class GenericModeTest(IdpCase):
    MODE = "generic"

    def test_discovery_and_jwks(self):
        self.assertEqual(self.disco["issuer"], self.idp.issuer)
        self.assertTrue(self.idp.issuer.startswith("http://127.0.0.1:"))
        self.assertIn("S256", self.disco["code_challenge_methods_supported"])
        for method in ("client_secret_basic", "client_secret_post"):
            self.assertIn(method, self.disco["token_endpoint_auth_methods_supported"])
        algs = {(k["kid"], k["alg"]) for k in self.keys["keys"]}
        self.assertEqual(algs, {("idp-rs256-id", "RS256"), ("idp-rs256-at", "RS256"), ("idp-es256", "ES256")})
        for key in self.keys["keys"]:
            self.assertNotIn("d", key, "JWKS must publish public keys only")

    def test_code_flow_with_both_client_auth_methods(self):
        for auth in ("basic", "post"):
            with self.subTest(auth=auth):
                self.idp.clear_requests()
                tokens, nonce = self.login_tokens("alice", auth=auth)
                self.assertEqual(tokens["token_type"], "Bearer")
                self.assertIn("refresh_token", tokens)
                id_claims = self.assert_id_token(tokens["id_token"], nonce)
                self.assertEqual(id_claims["cognito:username"], "alice")
                self.assertEqual(id_claims["cognito:groups"], ["users"])

                (logged,) = self.idp.requests()
                self.assertEqual(logged["client_auth"], f"client_secret_{auth}")
                self.assertEqual(logged["form"]["grant_type"], "authorization_code")
                if auth == "basic":
                    self.assertEqual(logged["headers"]["authorization"], basic(CLIENT, SECRET))
                else:
                    self.assertEqual(logged["form"]["client_secret"], SECRET)

                at_header, at = decode_jwt(tokens["access_token"])
                self.assertTrue(verify_rs256(tokens["access_token"], self.keys))
                self.assertEqual(at_header["kid"], "idp-rs256-at")
                self.assertEqual(at["aud"], CLIENT)  # generic mode keeps an audience

                info = self.userinfo(tokens["access_token"])
                self.assertEqual(info.status, 200, info.text)
                self.assertEqual(info.json()["username"], "alice")

    def test_pkce_verifier_is_checked(self):
        code, _verifier, _ = self.authorize("alice")
        resp = self.exchange(code, "x" * 43)
        self.assertEqual(resp.status, 400)
        self.assertEqual(resp.json()["error"], "invalid_grant")

    def test_refresh_token_grant(self):
        tokens, _ = self.login_tokens("bob")
        resp = Client().post(self.disco["token_endpoint"],
                             dict(grant_type="refresh_token", refresh_token=tokens["refresh_token"]),
                             headers={"Authorization": basic(CLIENT, SECRET)})
        self.assertEqual(resp.status, 200, resp.text)
        fresh = resp.json()
        self.assertNotEqual(fresh["access_token"], tokens["access_token"])
        self.assertEqual(self.userinfo(fresh["access_token"]).json()["username"], "bob")

    def test_wrong_password_rerenders_form(self):
        url = self.disco["authorization_endpoint"] + "?" + urllib.parse.urlencode(dict(
            response_type="code", client_id=CLIENT, redirect_uri=CALLBACK, scope="openid", state="s"))
        page = self.browser.follow(self.browser.get(url))
        self.assertEqual(page.status, 200)
        self.assertIn('name="username"', page.text)
        action = urllib.parse.urljoin(page.url, page.text.split('action="')[1].split('"')[0])
        again = self.browser.post(action, dict(username="alice", password="nope"))
        self.assertEqual(again.status, 200)
        self.assertIn("Incorrect username or password", again.text)
        self.assertIn('name="password"', again.text)

    def test_client_credentials(self):
        resp = Client().post(self.disco["token_endpoint"], dict(grant_type="client_credentials"),
                             headers={"Authorization": basic("svc-client", "svc-secret")})
        self.assertEqual(resp.status, 200, resp.text)
        body = resp.json()
        self.assertNotIn("id_token", body)
        self.assertNotIn("refresh_token", body)
        self.assertTrue(verify_rs256(body["access_token"], self.keys))
        _, at = decode_jwt(body["access_token"])
        self.assertEqual(at["sub"], "svc-client")
        self.assertEqual(at["client_id"], "svc-client")
        self.assertEqual(at["token_use"], "access")
        self.assertEqual(at["scope"], "nbhub/api")


class CognitoModeTest(IdpCase):
    MODE = "cognito"

    def test_cognito_endpoints(self):
        for key, path in (("authorization_endpoint", "/oauth2/authorize"), ("token_endpoint", "/oauth2/token"),
                          ("userinfo_endpoint", "/oauth2/userInfo"), ("jwks_uri", "/.well-known/jwks.json")):
            self.assertEqual(self.disco[key], self.idp.url(path))

    def test_claims_split_like_cognito(self):
        tokens, nonce = self.login_tokens("bob")
        idt = self.assert_id_token(tokens["id_token"], nonce)
        self.assertEqual(idt["token_use"], "id")
        self.assertEqual(idt["cognito:username"], "bob")
        self.assertEqual(idt["cognito:groups"], ["users", "admins"])
        self.assertEqual(idt["email"], "bob@example.org")

        _, at = decode_jwt(tokens["access_token"])
        self.assertNotIn("aud", at)
        self.assertEqual(at["token_use"], "access")
        self.assertEqual(at["client_id"], CLIENT)
        self.assertEqual(at["username"], "bob")
        self.assertEqual(at["cognito:groups"], ["users", "admins"])
        self.assertEqual(at["sub"], idt["sub"])
        self.assertIn("openid", at["scope"].split())

        info = self.userinfo(tokens["access_token"]).json()
        self.assertEqual(info["sub"], idt["sub"])
        self.assertEqual(info["username"], "bob")
        self.assertEqual(info["email"], "bob@example.org")
        self.assertTrue(info["email_verified"])
        self.assertNotIn("cognito:groups", info)

    def test_user_without_groups_has_no_groups_claim(self):
        tokens, _ = self.login_tokens("carol")
        self.assertNotIn("cognito:groups", decode_jwt(tokens["id_token"])[1])
        self.assertNotIn("cognito:groups", decode_jwt(tokens["access_token"])[1])

    def test_logout_ends_the_idp_session(self):
        self.authorize("alice")  # leaves an IdP session in self.browser
        out = self.browser.get(self.idp.url("/logout?") + urllib.parse.urlencode(
            dict(client_id=CLIENT, logout_uri="http://127.0.0.1:8765/hub/login")))
        self.assertEqual(out.status, 302)
        self.assertEqual(out.location, "http://127.0.0.1:8765/hub/login")
        self.authorize("bob")  # a login form again, so a different user can sign in

    def test_fault_wrong_nonce(self):
        code, verifier, nonce = self.authorize("alice")
        self.idp.set_fault("token", "wrong_nonce")
        tokens = self.exchange(code, verifier).json()
        self.assertTrue(verify_rs256(tokens["id_token"], self.keys), "re-signed with the real key")
        self.assertNotEqual(decode_jwt(tokens["id_token"])[1]["nonce"], nonce)

    def test_fault_bad_signature(self):
        code, verifier, _ = self.authorize("alice")
        self.idp.set_fault("token", "bad_signature")
        tokens = self.exchange(code, verifier).json()
        self.assertEqual(decode_jwt(tokens["id_token"])[0]["kid"], "idp-rs256-id")
        self.assertFalse(verify_rs256(tokens["id_token"], self.keys))

    def test_fault_no_sub(self):
        code, verifier, _ = self.authorize("alice")
        self.idp.set_fault("token", "no_sub")
        tokens = self.exchange(code, verifier).json()
        self.assertTrue(verify_rs256(tokens["id_token"], self.keys), "re-signed with the real key")
        self.assertNotIn("sub", decode_jwt(tokens["id_token"])[1])

    def test_fault_error_json_and_reset(self):
        code, verifier, _ = self.authorize("alice")
        self.idp.set_fault("token", "error_json")
        resp = self.exchange(code, verifier)
        self.assertEqual((resp.status, resp.json()["error"]), (400, "invalid_grant"))
        self.idp.reset_faults()
        self.assertEqual(self.exchange(code, verifier).status, 200, "code not consumed by the fault")

    def test_fault_userinfo(self):
        tokens, _ = self.login_tokens("alice")
        self.idp.set_fault("userinfo", "http500")
        self.assertEqual(self.userinfo(tokens["access_token"]).status, 500)
        self.idp.set_fault("userinfo", "malformed_json")
        resp = self.userinfo(tokens["access_token"])
        self.assertEqual(resp.status, 200)
        with self.assertRaises(ValueError):
            resp.json()

    def test_unknown_fault_is_rejected(self):
        with self.assertRaises(Exception):
            self.idp.set_fault("token", "no_such_fault")


class KeyRotationTest(IdpCase):
    """POST /__test/keys/rotate (its own IdP: a rotation is not undone by reset_faults)."""

    def test_rotation_publishes_the_new_key_and_signs_with_it(self):
        kid = self.idp.rotate_id_token_key()
        self.assertEqual(kid, "idp-rs256-id-2")
        keys = self.idp.jwks()
        kids = [k["kid"] for k in keys["keys"]]
        self.assertIn("idp-rs256-id", kids)  # the old key stays published
        self.assertIn(kid, kids)
        for key in keys["keys"]:
            self.assertNotIn("d", key)  # public halves only
        tokens, _ = self.login_tokens("alice")
        self.assertEqual(decode_jwt(tokens["id_token"])[0]["kid"], kid)
        self.assertTrue(verify_rs256(tokens["id_token"], keys))
        self.assertFalse(verify_rs256(tokens["id_token"], self.keys), "not with the old keys")


class CustosModeTest(IdpCase):
    MODE = "custos"
    CLIENT_ID, SECRET = "custos-abc123-10000000", "custos-secret"
    GATEWAY = "/apiserver"

    def bearer_pair(self, secret=None):
        pair = f"{self.CLIENT_ID}:{secret or self.SECRET}".encode()
        return {"Authorization": "Bearer " + base64.b64encode(pair).decode()}

    def custos_login(self, username):
        # No PKCE: the Custos authenticator sends no code_verifier on the exchange.
        code, _, nonce = self.authorize(
            username, client_id=self.CLIENT_ID, pkce=False,
            authorize_url=self.idp.url("/auth/realms/10000000/protocol/openid-connect/auth"))
        query = urllib.parse.urlencode(dict(client_id=self.CLIENT_ID, client_secret=self.SECRET,
                                            redirect_uri=CALLBACK, code=code, grant_type="authorization_code"))
        return Client().post(self.idp.url(f"{self.GATEWAY}/identity-management/v1.0.0/token?{query}"), b"",
                             headers=self.bearer_pair()), nonce

    def test_gateway_flow(self):
        self.idp.clear_requests()
        resp, nonce = self.custos_login("bob")
        self.assertEqual(resp.status, 200, resp.text)
        tokens = resp.json()
        self.assert_id_token(tokens["id_token"], nonce, client_id=self.CLIENT_ID)
        (logged,) = self.idp.requests()
        self.assertEqual(logged["client_auth"], "bearer_pair")
        self.assertEqual(logged["query"]["grant_type"], "authorization_code")

        user = Client().get(self.idp.url(f"{self.GATEWAY}/identity-management/v1.0.0/user?")
                            + urllib.parse.urlencode(dict(access_token=tokens["access_token"])),
                            headers=self.bearer_pair())
        self.assertEqual(user.status, 200, user.text)
        self.assertEqual(user.json()["username"], "bob")
        self.assertEqual(user.json()["email_address"], "bob@example.org")
        self.assertEqual(user.json()["client_id"], self.CLIENT_ID)
        for key in ("sub", "full_name", "first_name", "last_name"):
            self.assertTrue(user.json()[key], key)

        groups = Client().get(self.idp.url(f"{self.GATEWAY}/group-management/v1.0.0/user/group/memberships"
                                           "?profile.username=bob"), headers=self.bearer_pair())
        self.assertEqual(groups.json(), {"groups": [{"id": "users", "name": "users"},
                                                    {"id": "admins", "name": "admins"}]})

    def test_gateway_rejects_a_wrong_bearer_pair(self):
        resp = Client().get(self.idp.url(f"{self.GATEWAY}/group-management/v1.0.0/user/group/memberships"
                                         "?profile.username=bob"), headers=self.bearer_pair("wrong"))
        self.assertEqual(resp.status, 401)

    def test_realm_must_match_client_tenant(self):
        resp = Client().get(self.idp.url("/auth/realms/99999999/protocol/openid-connect/auth?")
                            + urllib.parse.urlencode(dict(client_id=self.CLIENT_ID, response_type="code")))
        self.assertEqual(resp.status, 400)


if __name__ == "__main__":
    unittest.main()
