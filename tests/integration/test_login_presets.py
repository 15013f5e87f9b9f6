"""Login through each provider preset, end to end over real HTTP.

Every test drives the real nbhub binary and the bundled test IdP (tests/idp) through the login
page, /hub/oauth_login, the IdP's login form, /hub/oauth_callback and /hub/api/user. One IdP
per class (setUpClass); hubs start in a fraction of a second, so tests that need another
configuration start their own against the class's IdP.
"""

import base64
import re
import unittest
import urllib.parse

from harness.browserless import Client, login_at_idp
from harness.hub import Hub
from harness.idp import TestIdp
from harness.login import (CLIENT_ID, CLIENT_SECRET, CUSTOS_CLIENT_ID, CUSTOS_SECRET, LoginCase,
                           begin, callback_url, hub_toml, login, oidc_provider, page_text,
                           set_cookies, wait_for_log)


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))


def login_links(resp):
    """(label, href) of the login page's provider buttons."""
    return [(label.strip(), href.replace("&amp;", "&"))
            for href, label in re.findall(r'<a class="button primary" href="([^"]+)">([^<]+)</a>', resp.text)]


class OidcPresetTest(LoginCase):
    """kind = "oidc": endpoints, JWKS and end_session come from the issuer's discovery document."""

    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp(mode="generic")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        cls.hub = Hub(hub_toml([oidc_provider(cls.idp, login_service="Test IdP")],
                               auth={"allowed_users": ["alice"], "admin_users": ["bob"]}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_login_page_has_one_button_for_the_provider(self):
        r = Client().get(self.hub.url("/hub/login"))
        self.assertEqual(r.status, 200)
        self.assertEqual(login_links(r), [("Sign in with Test IdP", "/hub/oauth_login?provider=test")])

    def test_authorize_redirect_uses_the_discovered_endpoint(self):
        r = begin(self.hub, Client())
        self.assertEqual(r.status, 302, page_text(r))
        disco = self.idp.discovery()
        self.assertTrue(r.location.startswith(disco["authorization_endpoint"] + "?"), r.location)
        q = query_of(r.location)
        self.assertEqual(q["response_type"], "code")
        self.assertEqual(q["client_id"], CLIENT_ID)
        self.assertEqual(q["redirect_uri"], self.hub.url("/hub/oauth_callback"))
        self.assertEqual(q["scope"].split(), ["openid", "email", "profile"])
        for param in ("state", "nonce", "code_challenge"):
            self.assertGreaterEqual(len(q[param]), 43, param)  # 32 random bytes, base64url

    def test_alice_signs_in_and_is_a_user(self):
        c = Client()
        r = login(self.hub, c, "alice")
        self.assertLoginRedirect(self.hub, r)
        self.assertLoggedInAs(self.hub, c, "alice", admin=False, groups=[])
        home = c.get(self.hub.url("/hub/home"))
        self.assertEqual(home.status, 200)
        self.assertIn("Welcome, alice", page_text(home))
        wait_for_log(self.hub, r"login: 'alice' signed in via test \(allowed_users")

    def test_bob_signs_in_as_admin(self):
        c = Client()
        self.assertLoginRedirect(self.hub, login(self.hub, c, "bob"))
        self.assertLoggedInAs(self.hub, c, "bob", admin=True)
        self.assertIn("Welcome, bob", page_text(c.get(self.hub.url("/hub/home"))))


class AutoLoginTest(LoginCase):
    """auto_login with one provider: /hub/login goes straight to the provider, keeping next."""

    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp(mode="generic")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        cls.hub = Hub(hub_toml([oidc_provider(cls.idp)], auth={"allow_all": True, "auto_login": True}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_login_page_redirects_to_the_provider(self):
        c = Client()
        r = c.get(self.hub.url("/hub/login?next=%2Fhub%2Fhome%3Fx%3D1"))
        self.assertEqual(r.status, 302, page_text(r))
        self.assertEqual(r.headers["Location"], "/hub/oauth_login?provider=test&next=%2Fhub%2Fhome%3Fx%3D1")
        r = c.get(r.location)
        self.assertTrue(r.location.startswith(self.idp.issuer + "/"), r.location)
        cb = login_at_idp(c, r.location, "alice", "alice-pw")
        self.assertLoginRedirect(self.hub, c.get(cb), "/hub/home?x=1")
        # Signed in: the login page now sends the browser on instead of to the IdP.
        r = c.get(self.hub.url("/hub/login"))
        self.assertEqual(r.status, 302)
        self.assertEqual(r.headers["Location"], "/hub/spawn")

    def test_hub_root_sends_strangers_to_login(self):
        r = Client().get(self.hub.url("/hub/"))
        self.assertEqual(r.status, 302)
        self.assertEqual(r.headers["Location"], "/hub/login")
        r = Client().get(self.hub.url("/hub/home"))
        self.assertEqual(r.status, 302)
        self.assertEqual(r.headers["Location"], "/hub/login?next=%2Fhub%2Fhome")


class AwkwardBaseUrlTest(LoginCase):
    """The whole login under JupyterHub's own awkward test base URL (a space and a percent
    sign; jupyterhub/tests/mocking.py): routes, redirect_uri, cookie paths and Locations."""

    BASE = "/@/space%20word/"

    @classmethod
    def setUpClass(cls):
        callback = "http://127.0.0.1" + cls.BASE + "hub/oauth_callback"
        cls.idp = TestIdp(mode="generic", clients=[{
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [callback],
            "application_type": "native"}])
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        cls.hub = Hub(hub_toml([oidc_provider(cls.idp)], auth={"allow_all": True},
                               top={"base_url": cls.BASE}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_listening_line_names_the_base_url(self):
        self.assertEqual(self.hub.base_url, self.BASE)

    def test_login_under_the_base_url(self):
        b = self.BASE
        c = Client()
        page = c.get(self.hub.url(b + "hub/login"))
        self.assertEqual(page.status, 200, page.text[:300])
        self.assertEqual(login_links(page), [("Sign in with test", b + "hub/oauth_login?provider=test")])
        r = begin(self.hub, c, base=b)
        self.assertEqual(r.status, 302, page_text(r))
        self.assertEqual(query_of(r.location)["redirect_uri"], self.hub.url(b + "hub/oauth_callback"))
        self.assertIn(f"Path={b}hub/;", set_cookies(r)["nbhub-oauth-state"])
        cb = login_at_idp(c, r.location, "alice", "alice-pw")
        self.assertTrue(cb.startswith(self.hub.url(b + "hub/oauth_callback?")), cb)
        r = c.get(cb)
        self.assertLoginRedirect(self.hub, r, b + "hub/spawn")
        self.assertIn(f"Path={b}hub/;", set_cookies(r)["nbhub-hub-login"])
        self.assertLoggedInAs(self.hub, c, "alice", base=b)
        home = c.follow(c.get(self.hub.url(b + "hub/home")))
        self.assertEqual(home.status, 200)
        self.assertIn("Welcome, alice", page_text(home))


class GenericPresetTest(LoginCase):
    """kind = "generic" with explicit URLs and no issuer, as a GenericOAuthenticator config.

    nbhub learns the issuer from the first ID token, confirms it through discovery, pins it and
    still validates every ID token's signature, audience and nonce against the IdP's keys.
    """

    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp(mode="generic")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        iss = cls.idp.issuer
        cls.hub = Hub(hub_toml([{
            "name": "test", "kind": "generic", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "authorize_url": iss + "/auth", "token_url": iss + "/token", "userdata_url": iss + "/me",
            "scope": ["openid", "email", "profile"], "username_claim": "preferred_username",
        }], auth={"allow_all": True}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def setUp(self):
        self.idp.reset_faults()

    def test_login_learns_and_pins_the_issuer(self):
        c = Client()
        r = login(self.hub, c, "carol")
        self.assertLoginRedirect(self.hub, r)
        self.assertLoggedInAs(self.hub, c, "carol", admin=False)
        wait_for_log(self.hub, r"login via test: no issuer configured; pinned issuer "
                     + re.escape(self.idp.issuer) + " from the first ID token")

    def test_learned_issuer_still_checks_the_signature(self):
        self.assertLoginRedirect(self.hub, login(self.hub, Client(), "alice"))  # issuer pinned
        self.idp.set_fault("token", "bad_signature")
        c = Client()
        r = login(self.hub, c, "alice")
        self.assertErrorPage(self.hub, r, 401, "ID token failed validation")
        wait_for_log(self.hub, r"login via test: ID token rejected \(\w+\)")
        self.assertNotLoggedIn(self.hub, c)

    def test_learned_issuer_still_checks_the_audience(self):
        self.idp.set_fault("token", "wrong_audience")
        c = Client()
        r = login(self.hub, c, "bob")
        self.assertErrorPage(self.hub, r, 401, "ID token failed validation")
        wait_for_log(self.hub, r"login via test: ID token rejected \(\w+\).*aud")
        self.assertNotLoggedIn(self.hub, c)


class CognitoPresetTest(LoginCase):
    """kind = "cognito" against the IdP in Cognito mode.

    The hosted-UI endpoints come from cognito_domain; the username is userinfo's `username`
    (Cognito's ID token has no such claim) and groups are the ID token's `cognito:groups`
    (Cognito's userinfo has none): both sources are merged.
    """

    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp(mode="cognito")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        cls.hub = Hub(hub_toml([{
            "name": "cognito", "kind": "cognito", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "cognito_domain": cls.idp.issuer, "issuer": cls.idp.issuer,
            "jwks_url": cls.idp.issuer + "/.well-known/jwks.json",
        }], auth={"manage_groups": True, "allowed_groups": ["users"], "admin_groups": ["admins"]}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_button_and_hosted_ui_endpoints(self):
        r = Client().get(self.hub.url("/hub/login"))
        self.assertEqual(login_links(r), [("Sign in with Amazon Cognito", "/hub/oauth_login?provider=cognito")])
        r = begin(self.hub, Client(), "cognito")
        self.assertTrue(r.location.startswith(self.idp.issuer + "/oauth2/authorize?"), r.location)

    def test_bob_is_admin_with_groups_from_the_id_token(self):
        c = Client()
        self.idp.clear_requests()
        self.assertLoginRedirect(self.hub, login(self.hub, c, "bob", "cognito"))
        self.assertLoggedInAs(self.hub, c, "bob", admin=True, groups=["users", "admins"])
        token_requests = self.idp.requests()
        self.assertEqual([q["path"] for q in token_requests], ["/oauth2/token"])
        wait_for_log(self.hub, r"login: 'bob' signed in via cognito \(admin_groups")

    def test_alice_is_a_user_in_group_users(self):
        c = Client()
        self.assertLoginRedirect(self.hub, login(self.hub, c, "alice", "cognito"))
        self.assertLoggedInAs(self.hub, c, "alice", admin=False, groups=["users"])

    def test_carol_without_groups_is_refused(self):
        c = Client()
        r = login(self.hub, c, "carol", "cognito")
        self.assertErrorPage(self.hub, r, 403, "Sorry, you are not currently authorized to use this hub.")
        wait_for_log(self.hub, r"login refused for 'carol' via cognito: no allow rule matched")
        self.assertNotLoggedIn(self.hub, c)


class CustosPresetTest(LoginCase):
    """kind = "custos": Keycloak's authorize page on custos_iam_host, the code exchanged at the
    Custos gateway with every parameter in the query and the client pair as a Bearer header."""

    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp(mode="custos")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        cls.hub = Hub(hub_toml([{
            "name": "custos", "kind": "custos", "client_id": CUSTOS_CLIENT_ID, "client_secret": CUSTOS_SECRET,
            "custos_host": cls.idp.issuer, "custos_iam_host": cls.idp.issuer,
        }], auth={"allow_all": True}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_button_and_keycloak_authorize_url(self):
        r = Client().get(self.hub.url("/hub/login"))
        self.assertEqual(login_links(r), [("Sign in with Custos Login", "/hub/oauth_login?provider=custos")])
        r = begin(self.hub, Client(), "custos")
        self.assertTrue(r.location.startswith(
            self.idp.issuer + "/auth/realms/10000000/protocol/openid-connect/auth?"), r.location)
        q = query_of(r.location)
        self.assertEqual(q["kc_idp_hint"], "oidc")
        self.assertEqual(q["client_id"], CUSTOS_CLIENT_ID)
        self.assertNotIn("code_challenge", q)  # the Custos gateway forwards no verifier

    def test_login_exchanges_the_code_at_the_gateway_with_the_bearer_pair(self):
        c = Client()
        self.idp.clear_requests()
        self.assertLoginRedirect(self.hub, login(self.hub, c, "alice", "custos"))
        self.assertLoggedInAs(self.hub, c, "alice", admin=False)
        reqs = self.idp.requests()
        self.assertEqual(len(reqs), 1, reqs)
        req = reqs[0]
        self.assertEqual(req["path"], "/apiserver/identity-management/v1.0.0/token")
        self.assertEqual(req["client_auth"], "bearer_pair")
        self.assertEqual(req["headers"]["authorization"],
                         "Bearer " + base64.b64encode(f"{CUSTOS_CLIENT_ID}:{CUSTOS_SECRET}".encode()).decode())
        self.assertEqual(req["query"]["client_id"], CUSTOS_CLIENT_ID)
        self.assertEqual(req["query"]["grant_type"], "authorization_code")
        self.assertEqual(req["query"]["redirect_uri"], self.hub.url("/hub/oauth_callback"))
        self.assertEqual(req["status"], 200)
        wait_for_log(self.hub, r"login: 'alice' signed in via custos \(allow_all")


class TwoProvidersTest(LoginCase):
    """Two providers at once: two buttons, and each one signs people in.

    Users are keyed by the normalized username alone, whichever provider vouched for them (as
    JupyterHub, which has one namespace of users): "alice" from the OIDC provider and "alice"
    from the Cognito-style provider are the same nbhub user. An operator who federates IdPs
    whose usernames may collide must map them apart (username_claim, username_map).
    """

    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp(mode="generic")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        cls.idp2 = TestIdp(mode="cognito")
        cls.idp2.start()
        cls.addClassCleanup(cls.idp2.stop)
        cls.hub = Hub(hub_toml([
            oidc_provider(cls.idp, "corp", login_service="Corporate SSO"),
            {"name": "cognito", "kind": "cognito", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
             "cognito_domain": cls.idp2.issuer, "issuer": cls.idp2.issuer,
             "jwks_url": cls.idp2.issuer + "/.well-known/jwks.json", "login_service": "Partner Cognito"},
        ], auth={"allowed_users": ["alice", "carol"], "admin_users": ["bob"]}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_two_buttons(self):
        r = Client().get(self.hub.url("/hub/login?next=/hub/home"))
        self.assertEqual(login_links(r), [
            ("Sign in with Corporate SSO", "/hub/oauth_login?provider=corp&next=%2Fhub%2Fhome"),
            ("Sign in with Partner Cognito", "/hub/oauth_login?provider=cognito&next=%2Fhub%2Fhome"),
        ])

    def test_each_provider_signs_in(self):
        for provider, user, admin in (("corp", "carol", False), ("cognito", "bob", True)):
            with self.subTest(provider=provider):
                c = Client()
                cb = callback_url(self.hub, c, user, provider)
                idp = self.idp if provider == "corp" else self.idp2
                self.assertTrue(cb.startswith(self.hub.url("/hub/oauth_callback?")), cb)
                self.assertEqual(query_of(cb).get("iss", idp.issuer), idp.issuer)
                self.assertLoginRedirect(self.hub, c.get(cb))
                self.assertLoggedInAs(self.hub, c, user, admin=admin)
                wait_for_log(self.hub, rf"login: '{user}' signed in via {provider} ")

    def test_same_username_from_both_providers_is_one_user(self):
        c1, c2 = Client(), Client()
        self.assertLoginRedirect(self.hub, login(self.hub, c1, "alice", "corp"))
        self.assertLoginRedirect(self.hub, login(self.hub, c2, "alice", "cognito"))
        m1 = self.assertLoggedInAs(self.hub, c1, "alice")
        m2 = self.assertLoggedInAs(self.hub, c2, "alice")
        for key in ("name", "admin", "groups", "created"):
            self.assertEqual(m1[key], m2[key], key)
        log = self.hub.log()
        self.assertRegex(log, r"login: 'alice' signed in via corp ")
        self.assertRegex(log, r"login: 'alice' signed in via cognito \(allowed_users\)\n")  # not ", new user"
        # Both sessions stay valid side by side.
        self.assertEqual(self.assertLoggedInAs(self.hub, c1, "alice")["name"], "alice")


class HubThreadsTest(LoginCase):
    """hub_threads: the hub's work on the proxy's thread (0) or on several threads of its own;
    the default, one, is what every other test runs."""

    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp(mode="generic")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)

    def test_sign_in_pages_and_api_with_0_and_3_hub_threads(self):
        for threads in (0, 3):
            with self.subTest(hub_threads=threads):
                hub = Hub(hub_toml([oidc_provider(self.idp)], auth={"allow_all": True},
                                   top={"hub_threads": threads}))
                hub.start()
                try:
                    for name in ("alice", "bob"):
                        c = Client()
                        self.assertLoginRedirect(hub, login(hub, c, name))
                        self.assertLoggedInAs(hub, c, name)
                        self.assertIn(f"Welcome, {name}", page_text(c.get(hub.url("/hub/home"))))
                    # The servers' listener runs on the same threads as the hub's work.
                    api = re.search(r"hub API for servers at (\S+)/hub/api", hub.log())
                    self.assertIsNotNone(api, hub.log()[-2000:])
                    self.assertEqual(Client().get(api.group(1) + "/hub/api/").status, 200)
                finally:
                    hub.stop()


if __name__ == "__main__":
    unittest.main()
