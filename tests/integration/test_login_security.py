"""Security properties of the login, checked end to end over real HTTP.

State (single use, bound to the browser), PKCE, nonce and ID-token validation, the next-URL
gate, cookie attributes, the cookie secret file, client authentication at the token endpoint,
secrets kept out of the log, and auth_state encrypted at rest. The real nbhub binary and the
bundled test IdP (tests/idp); one IdP for the module, in Custos mode, which serves the plain
OIDC paths as well as the Custos gateway.
"""

import base64
import hashlib
import os
import re
import sqlite3
import stat
import tempfile
import unittest
import urllib.parse
from pathlib import Path

from harness.browserless import Client, login_at_idp
from harness.hub import Hub, run_nbhub
from harness.idp import TestIdp, decode_jwt, tests_dir
from harness.login import (CLIENT_ID, CLIENT_SECRET, CUSTOS_CLIENT_ID, CUSTOS_SECRET, PASSWORDS,
                           LoginCase, begin, callback_url, cookie_attrs, hub_toml, login,
                           oidc_provider, page_text, set_cookies, wait_for_log)

HTTPS_CLIENT_ID, HTTPS_SECRET = "nbhub-https", "nbhub-https-secret"
HTTPS_PUBLIC_URL = "https://hub.example.org"
CRYPT_KEY = "5d3b0f3c6a1e4f2b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b"  # test-only

IDP = None


def setUpModule():
    global IDP
    loopback = ["http://127.0.0.1/hub/oauth_callback"]
    logout = ["http://127.0.0.1/hub/login"]
    IDP = TestIdp(mode="custos", clients=[
        # The defaults (README.md), loopback on any port ("native")...
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": loopback,
         "logout_uris": logout, "application_type": "native"},
        {"client_id": CUSTOS_CLIENT_ID, "client_secret": CUSTOS_SECRET, "redirect_uris": loopback,
         "logout_uris": logout, "application_type": "native"},
        # ...and one for a hub whose public URL is https (behind a TLS load balancer).
        {"client_id": HTTPS_CLIENT_ID, "client_secret": HTTPS_SECRET,
         "redirect_uris": [HTTPS_PUBLIC_URL + "/hub/oauth_callback"]},
    ])
    IDP.start()


def tearDownModule():
    IDP.stop()


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))


def state_cookie(resp):
    """The value of the nbhub-oauth-state cookie a response sets."""
    line = set_cookies(resp)["nbhub-oauth-state"]
    return line.split("=", 1)[1].split(";", 1)[0]


def start_hub(testcase, config, **kw):
    hub = Hub(config, **kw)
    hub.start()
    testcase.addCleanup(hub.stop)
    return hub


class SecurityCase(LoginCase):
    def setUp(self):
        IDP.reset_faults()


class StateTest(SecurityCase):
    """The state is single-use and bound to the browser that started the login."""

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(hub_toml([oidc_provider(IDP)], auth={"allow_all": True}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_replayed_callback_is_refused_as_already_used(self):
        c = Client()
        r = begin(self.hub, c)
        cookie = state_cookie(r)
        cb = login_at_idp(c, r.location, "alice", PASSWORDS["alice"])
        self.assertLoginRedirect(self.hub, c.get(cb))
        # The hub cleared the state cookie; an attacker who captured both replays them.
        replay = Client().get(cb, headers={"Cookie": f"nbhub-oauth-state={cookie}"})
        self.assertErrorPage(self.hub, replay, 400, "this sign-in response was already used",
                             "Please start again from the login page.")
        wait_for_log(self.hub, r"login: state check failed: .*already used")

    def test_callback_in_a_fresh_browser_is_refused(self):
        c = Client()
        cb = callback_url(self.hub, c, "alice")
        other = Client()
        r = other.get(cb)
        self.assertErrorPage(self.hub, r, 400, "did not send the sign-in cookie back")
        wait_for_log(self.hub, r"login: .*no nbhub-oauth-state cookie")
        self.assertNotLoggedIn(self.hub, other)
        # The victim's own browser can still finish: a refused attempt consumes nothing.
        self.assertLoginRedirect(self.hub, c.get(cb))

    def test_callback_with_another_browsers_state_cookie_is_refused(self):
        victim, attacker = Client(), Client()
        cb = callback_url(self.hub, victim, "alice")
        begin(self.hub, attacker)  # the attacker holds a state cookie of their own
        r = attacker.get(cb)
        self.assertErrorPage(self.hub, r, 400, "does not match this browser")
        wait_for_log(self.hub, r"login: state check failed: .*does not match this browser")
        self.assertNotLoggedIn(self.hub, attacker)

    def test_forged_state_cookie_is_refused(self):
        c = Client()
        cb = callback_url(self.hub, c, "alice")
        r = Client().get(cb, headers={"Cookie": "nbhub-oauth-state=" + "A" * 200})
        self.assertErrorPage(self.hub, r, 400, "not one this hub issued")
        wait_for_log(self.hub, r"login: state check failed: .*not one this hub issued")

    def test_state_cookie_is_scoped_to_the_hub(self):
        r = begin(self.hub, Client())
        attrs = cookie_attrs(set_cookies(r)["nbhub-oauth-state"])
        self.assertEqual(attrs["path"], "/hub/")
        self.assertEqual(attrs["max-age"], "600")


class TokenRequestTest(SecurityCase):
    """PKCE S256 and client authentication, as the IdP's token endpoint saw them."""

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(hub_toml([
            oidc_provider(IDP, "test"),
            oidc_provider(IDP, "nopkce", pkce=False),
            oidc_provider(IDP, "basic", token_auth="client_secret_basic"),
            {"name": "oauth2", "kind": "generic", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
             "authorize_url": IDP.issuer + "/auth", "token_url": IDP.issuer + "/token"},
        ], auth={"allow_all": True}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def login_and_get_token_request(self, provider):
        c = Client()
        r = begin(self.hub, c, provider)
        self.assertEqual(r.status, 302)
        IDP.clear_requests()
        cb = login_at_idp(c, r.location, "alice", PASSWORDS["alice"])
        self.assertLoginRedirect(self.hub, c.get(cb))
        reqs = IDP.requests()
        self.assertEqual(len(reqs), 1, reqs)
        return query_of(r.location), reqs[0]

    def test_pkce_s256_by_default(self):
        authorize, req = self.login_and_get_token_request("test")
        self.assertEqual(authorize["code_challenge_method"], "S256")
        verifier = req["form"]["code_verifier"]
        self.assertRegex(verifier, r"^[A-Za-z0-9_-]{43,128}$")  # RFC 7636 §4.1
        expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        self.assertEqual(authorize["code_challenge"], expected)

    def test_pkce_false_sends_no_challenge_and_no_verifier(self):
        authorize, req = self.login_and_get_token_request("nopkce")
        self.assertNotIn("code_challenge", authorize)
        self.assertNotIn("code_challenge_method", authorize)
        self.assertNotIn("code_verifier", req["form"])

    def test_plain_oauth2_request_carries_no_nonce(self):
        # `nonce` belongs to OpenID Connect: without `openid` in the scope (a GenericOAuthenticator
        # config without `scope`) it is not sent; oidc-provider refuses such a request with
        # "openid scope must be requested when using the nonce parameter".
        r = begin(self.hub, Client(), "oauth2")
        q = query_of(r.location)
        self.assertNotIn("nonce", q)
        self.assertNotIn("scope", q)
        self.assertEqual(q["code_challenge_method"], "S256")
        self.assertIn("nonce", query_of(begin(self.hub, Client(), "test").location))

    def test_client_secret_post_is_the_default(self):
        _, req = self.login_and_get_token_request("test")
        self.assertEqual(req["client_auth"], "client_secret_post")
        self.assertEqual(req["form"]["client_id"], CLIENT_ID)
        self.assertNotIn("authorization", req["headers"])
        self.assertTrue(req["content_type"].startswith("application/x-www-form-urlencoded"))

    def test_client_secret_basic_when_configured(self):
        _, req = self.login_and_get_token_request("basic")
        self.assertEqual(req["client_auth"], "client_secret_basic")
        self.assertEqual(req["headers"]["authorization"],
                         "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode())
        self.assertNotIn("client_secret", req["form"])


class IdTokenTest(SecurityCase):
    """Every ID-token fault is refused with a sign-in problem page (never a 500) and a log line
    naming the reason; the nonce sent with the login must come back in the ID token."""

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(hub_toml([oidc_provider(IDP)], auth={"allow_all": True}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_nonce_is_sent_and_echoed(self):
        c = Client()
        r = begin(self.hub, c)
        nonce = query_of(r.location)["nonce"]
        self.assertGreaterEqual(len(nonce), 43)
        self.assertLoginRedirect(self.hub, c.get(login_at_idp(c, r.location, "alice", PASSWORDS["alice"])))

    def test_faults_are_refused(self):
        cases = {
            "wrong_nonce": r"wrong_nonce",
            "bad_signature": r"bad_signature",
            "wrong_audience": r"wrong_audience",
            "expired_id_token": r"expired|issued",
        }
        for fault, reason in cases.items():
            with self.subTest(fault=fault):
                IDP.set_fault("token", fault)
                c = Client()
                r = login(self.hub, c, "bob")
                self.assertNotEqual(r.status, 500)
                self.assertErrorPage(self.hub, r, 401,
                                     "The identity provider's ID token failed validation, so the sign-in was refused.")
                wait_for_log(self.hub, rf"login via test: ID token rejected \(({reason})\)")
                self.assertNotLoggedIn(self.hub, c)

    def test_missing_id_token_is_refused_for_an_openid_login(self):
        # OIDC Core §3.1.3.3: the token response to an `openid` request carries an ID token.
        # Without it neither the issuer nor the nonce could be checked.
        IDP.set_fault("token", "no_id_token")
        c = Client()
        r = login(self.hub, c, "bob")
        self.assertErrorPage(self.hub, r, 502, "no ID token")
        wait_for_log(self.hub, r"login via test: the token response has no id_token")
        self.assertNotLoggedIn(self.hub, c)


class NextUrlTest(SecurityCase):
    """`next` survives the login only as a same-origin path under the hub; everything else
    lands where a sign-in without next goes (/hub/spawn). Payloads: tests/data/open-redirect-payloads.txt
    plus a few more."""

    EXTRA = ["//evil", "/\\evil", "https:", "https://evil.example", "%2F%2Fevil", "/%2F%2Fevil",
             "/hub/%0d%0aSet-Cookie:%20x=y", "/hub/\r\nSet-Cookie: x=y", "/hub/\nLocation: //evil",
             "/hub/home\x00", "\t//evil", "/\t/evil", "/ /evil", "http://127.0.0.1/hub/home"]
    # Sent as they stand in the query string (not re-encoded), so nbhub's own decoding applies.
    RAW = ["%2F%2Fevil.example", "/%2F%2Fevil.example", "/hub/%0d%0aSet-Cookie:x=y",
           "/hub/%0aLocation:%20https://evil.example", "%2F%5Cevil.example", "/%5Cevil.example",
           "%2F%2F%2Fevil.example", "/hub/home%0d%0a", "https:%2F%2Fevil.example"]

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(hub_toml([oidc_provider(IDP)], auth={"allow_all": True}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)
        cls.browser = Client()  # keeps its IdP session: later logins skip the password form

    @staticmethod
    def payloads():
        path = tests_dir() / "data" / "open-redirect-payloads.txt"
        out = [line.rstrip("\n") for line in path.read_text().splitlines(keepends=True)]
        return [p for p in out if p and not p.startswith("#")]

    def login_with_next(self, raw_query):
        r = self.browser.get(self.hub.url("/hub/oauth_login?provider=test&next=" + raw_query))
        self.assertEqual(r.status, 302, page_text(r))
        cb = login_at_idp(self.browser, r.location, "alice", PASSWORDS["alice"])
        return self.browser.get(cb)

    def test_payload_file_is_not_empty(self):
        self.assertGreater(len(self.payloads()), 20)

    def test_hostile_next_lands_on_the_default(self):
        encoded = [(p, urllib.parse.quote(p, safe="")) for p in self.payloads() + self.EXTRA]
        for payload, raw in encoded + [(p, p) for p in self.RAW]:
            with self.subTest(payload=payload, raw=raw):
                r = self.login_with_next(raw)
                self.assertLoginRedirect(self.hub, r, "/hub/spawn")

    def test_refusal_is_logged_with_the_reason(self):
        self.login_with_next(urllib.parse.quote("//evil.example", safe=""))
        wait_for_log(self.hub, r"next URL refused: it starts with '//' \(another host\)")

    def test_good_next_is_honoured(self):
        r = self.login_with_next(urllib.parse.quote("/hub/home?x=1", safe=""))
        self.assertLoginRedirect(self.hub, r, "/hub/home?x=1")

    def test_login_page_keeps_only_a_good_next(self):
        good = self.browser.get(self.hub.url("/hub/login?next=%2Fhub%2Fhome%3Fx%3D1"))
        # Already signed in (earlier tests): straight to next.
        if good.status == 302:
            self.assertEqual(good.headers["Location"], "/hub/home?x=1")
        bad = Client().get(self.hub.url("/hub/login?next=%2F%2Fevil.example"))
        self.assertEqual(bad.status, 200)
        self.assertNotIn("evil", bad.text)


class CookieTest(SecurityCase):
    """HttpOnly and SameSite=Lax always; Secure exactly when public_url is https."""

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(hub_toml([oidc_provider(IDP)], auth={"allow_all": True}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def check(self, line, secure):
        attrs = cookie_attrs(line)
        self.assertIn("httponly", attrs, line)
        self.assertEqual(attrs.get("samesite"), "Lax", line)
        self.assertEqual("secure" in attrs, secure, line)
        self.assertEqual(attrs.get("path"), "/hub/", line)

    def test_http_hub_cookies(self):
        c = Client()
        r = begin(self.hub, c)
        self.check(set_cookies(r)["nbhub-oauth-state"], secure=False)
        r = c.get(login_at_idp(c, r.location, "alice", PASSWORDS["alice"]))
        self.assertLoginRedirect(self.hub, r)
        self.check(set_cookies(r)["nbhub-hub-login"], secure=False)
        self.assertEqual(cookie_attrs(set_cookies(r)["nbhub-hub-login"])["max-age"], str(14 * 24 * 3600))
        self.check(set_cookies(r)["nbhub-oauth-state"], secure=False)  # cleared
        out = c.get(self.hub.url("/hub/logout"))
        self.check(set_cookies(out)["nbhub-hub-login"], secure=False)

    def test_https_public_url_cookies_are_secure(self):
        hub = start_hub(self, hub_toml([{
            "name": "test", "kind": "oidc", "issuer": IDP.issuer,
            "client_id": HTTPS_CLIENT_ID, "client_secret": HTTPS_SECRET,
        }], auth={"allow_all": True}, top={"public_url": HTTPS_PUBLIC_URL}))
        c = Client()
        r = begin(hub, c)
        self.assertEqual(query_of(r.location)["redirect_uri"], HTTPS_PUBLIC_URL + "/hub/oauth_callback")
        self.check(set_cookies(r)["nbhub-oauth-state"], secure=True)
        cb = login_at_idp(c, r.location, "alice", PASSWORDS["alice"])
        self.assertTrue(cb.startswith(HTTPS_PUBLIC_URL + "/hub/oauth_callback?"), cb)
        # Play the TLS load balancer: the browser's https request reaches nbhub over http.
        # (The cookie jar rightly keeps Secure cookies off plain http, so send it by hand.)
        r = c.get(hub.url("/hub/oauth_callback?" + urllib.parse.urlsplit(cb).query),
                  headers={"Cookie": "nbhub-oauth-state=" + state_cookie(r)})
        self.assertLoginRedirect(hub, r)
        self.check(set_cookies(r)["nbhub-hub-login"], secure=True)


class CookieSecretFileTest(SecurityCase):
    def test_created_with_mode_0600(self):
        hub = start_hub(self, hub_toml([oidc_provider(IDP)], auth={"allow_all": True}))
        st = os.stat(os.path.join(hub.workdir, "nbhub_cookie_secret"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(len(Path(hub.workdir, "nbhub_cookie_secret").read_text().strip()), 64)

    def test_group_readable_file_is_refused_at_startup(self):
        with tempfile.TemporaryDirectory(prefix="nbhub-test-") as d:
            secret = Path(d, "secret-file")
            secret.write_text("ab" * 32 + "\n")
            secret.chmod(0o640)
            Path(d, "nbhub.toml").write_text(hub_toml([oidc_provider(IDP)], auth={"allow_all": True},
                                                      top={"cookie_secret_file": "secret-file"}))
            r = run_nbhub(["-f", "nbhub.toml"], cwd=d)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            out = r.stdout + r.stderr
            self.assertIn("cookie_secret_file secret-file is readable by group or others (mode 640)", out)
            self.assertIn("chmod 600 secret-file", out)
            self.assertNotIn("abab", out)


class SecretsAndAuthStateTest(SecurityCase):
    """Nothing secret reaches the log, even at debug level; auth_state is stored only
    encrypted (NBHUB_CRYPT_KEY or JUPYTERHUB_CRYPT_KEY), and not at all without a key."""

    JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")

    def config(self, **provider_kw):
        return hub_toml([
            oidc_provider(IDP, "test", idp_logout=True, **provider_kw),
            {"name": "custos", "kind": "custos", "client_id": CUSTOS_CLIENT_ID,
             "client_secret": CUSTOS_SECRET, "custos_host": IDP.issuer, "custos_iam_host": IDP.issuer},
        ], auth={"allow_all": True, "enable_auth_state": True}, top={"log_level": "debug"})

    def db_rows(self, hub):
        con = sqlite3.connect(os.path.join(hub.workdir, "nbhub.sqlite"))
        try:
            return {name: state for name, state in con.execute("SELECT name, encrypted_auth_state FROM users")}
        finally:
            con.close()

    def db_text(self, hub):
        """Every value of every table, as text, plus the raw database files."""
        con = sqlite3.connect(os.path.join(hub.workdir, "nbhub.sqlite"))
        chunks = []
        try:
            for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                for row in con.execute(f'SELECT * FROM "{table}"'):
                    chunks += [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row]
        finally:
            con.close()
        for f in Path(hub.workdir).glob("nbhub.sqlite*"):
            chunks.append(f.read_bytes().decode("latin-1"))
        return "\n".join(chunks)

    def test_no_secret_in_the_log_and_auth_state_encrypted(self):
        hub = start_hub(self, self.config(), env={"NBHUB_CRYPT_KEY": CRYPT_KEY})
        secrets = {"client secret": CLIENT_SECRET, "custos secret": CUSTOS_SECRET,
                   "custos bearer pair": base64.b64encode(f"{CUSTOS_CLIENT_ID}:{CUSTOS_SECRET}".encode()).decode(),
                   "crypt key": CRYPT_KEY}

        def full_login(user, provider):
            c = Client()
            r = begin(hub, c, provider)
            secrets[f"{user} state cookie"] = state_cookie(r)
            q = query_of(r.location)
            secrets[f"{user} state"] = q["state"]
            secrets[f"{user} nonce"] = q["nonce"]
            IDP.clear_requests()
            cb = login_at_idp(c, r.location, user, PASSWORDS[user])
            secrets[f"{user} code"] = query_of(cb)["code"]
            r = c.get(cb)
            self.assertLoginRedirect(hub, r)
            secrets[f"{user} session cookie"] = set_cookies(r)["nbhub-hub-login"].split("=", 1)[1].split(";")[0]
            req = IDP.requests()[0]
            verifier = (req["form"] or {}).get("code_verifier") or req["query"].get("code_verifier")
            if verifier:
                secrets[f"{user} code_verifier"] = verifier
            return c

        alice = full_login("alice", "test")
        bob = full_login("bob", "custos")
        self.assertLoggedInAs(hub, bob, "bob")
        # Logout reveals the ID token nbhub kept (as id_token_hint).
        out = alice.get(hub.url("/hub/logout"))
        self.assertEqual(out.status, 302, page_text(out))
        secrets["alice id_token"] = query_of(out.location)["id_token_hint"]
        # A refused login and an IdP error go through the error paths' logging too.
        IDP.set_fault("token", "bad_signature")
        login(hub, Client(), "carol")
        IDP.set_fault("token", "error_json")
        login(hub, Client(), "carol")
        IDP.reset_faults()
        wait_for_log(hub, r"token endpoint refused the code")

        log = hub.log()
        if os.environ.get("SHOW_LOG"):
            print(log)
        for what, value in secrets.items():
            with self.subTest(secret=what):
                self.assertNotIn(value, log)
        self.assertIsNone(self.JWT.search(log), "a JWT (access, refresh or ID token) is in the log")
        long_runs = [s for s in re.findall(r"[A-Za-z0-9_-]{40,}", log)]
        self.assertEqual(long_runs, [], "token-like strings in the log")

        rows = self.db_rows(hub)
        for user in ("alice", "bob"):
            self.assertIsInstance(rows[user], bytes, f"{user}: no encrypted auth_state stored")
            self.assertGreater(len(rows[user]), 100)
        text = self.db_text(hub)
        self.assertFalse(self.JWT.search(text), "a token is stored in plain text")
        # auth_state is JSON with OAuthenticator's keys: none of them may be readable.
        for word in ('"access_token"', '"refresh_token"', '"id_token"', '"token_response"',
                     secrets["alice id_token"][:40]):
            self.assertFalse(word in text, f"{word} is stored in plain text")

    def test_without_a_key_auth_state_is_not_stored(self):
        hub = start_hub(self, self.config())
        wait_for_log(hub, r"auth_state is not stored because neither NBHUB_CRYPT_KEY nor "
                          r"JUPYTERHUB_CRYPT_KEY is set")
        c = Client()
        self.assertLoginRedirect(hub, login(hub, c, "alice"))
        self.assertLoggedInAs(hub, c, "alice")
        self.assertEqual(self.db_rows(hub), {"alice": None})
        self.assertFalse(self.JWT.search(self.db_text(hub)), "a token is stored in plain text")
        # Without a key the ID token is not kept either, so logout has no id_token_hint.
        out = c.get(hub.url("/hub/logout"))
        self.assertEqual(out.status, 302)
        self.assertNotIn("id_token_hint", query_of(out.location))

    def test_jupyterhub_crypt_key_is_accepted(self):
        hub = start_hub(self, self.config(), env={"JUPYTERHUB_CRYPT_KEY": CRYPT_KEY})
        self.assertNotIn("auth_state is not stored", hub.log())
        c = Client()
        self.assertLoginRedirect(hub, login(hub, c, "bob"))
        rows = self.db_rows(hub)
        self.assertIsInstance(rows["bob"], bytes)
        self.assertFalse(self.JWT.search(self.db_text(hub)), "a token is stored in plain text")


if __name__ == "__main__":
    unittest.main()
