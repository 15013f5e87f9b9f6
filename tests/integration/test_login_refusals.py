"""Who may sign in, what the user sees when the IdP misbehaves, and logout, end to end.

Allow/block/admin rules (deny by default, as OAuthenticator 16+), IdP errors and faults at the
token and userinfo endpoints (a page saying what happened, never a 500), and logout (the
session really ends; RP-initiated logout for OIDC and Cognito). The real nbhub binary and the
bundled test IdP; every refusal is checked by status, by the text the user reads and by the
log line giving the reason.
"""

import re
import tempfile
import shutil
import time
import unittest
import urllib.parse

from harness.browserless import Client, login_at_idp
from harness.hub import Hub
from harness.idp import TestIdp, decode_jwt
from harness.login import (CLIENT_ID, CLIENT_SECRET, DEFAULT_403, PASSWORDS, LoginCase, api_user,
                           begin, callback_url, cookie_value, hub_toml, login, module_idp, oidc_provider,
                           page_text, set_cookies, wait_for_log)

CRYPT_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"  # test-only
IDP = None


setUpModule, tearDownModule = module_idp(globals())


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))


class RefusalCase(LoginCase):
    def setUp(self):
        IDP.reset_faults()

    def start_hub(self, auth, workdir=None, **provider_kw):
        hub = Hub(hub_toml([oidc_provider(IDP, "test", **provider_kw)], auth=auth), workdir=workdir)
        hub.start()
        self.addCleanup(hub.stop)
        return hub

    def assertRefused(self, hub, user, reason, message=DEFAULT_403):
        c = Client()
        r = login(hub, c, user)
        self.assertErrorPage(hub, r, 403, "Not allowed", message)
        wait_for_log(hub, rf"login refused for '{user}' via test: {reason}")
        self.assertNotLoggedIn(hub, c)

    def assertAllowed(self, hub, user, reason, **model):
        c = Client()
        self.assertLoginRedirect(hub, login(hub, c, user))
        wait_for_log(hub, rf"login: '{user}' signed in via test \({reason}")
        return self.assertLoggedInAs(hub, c, user, **model)


class AllowRulesTest(RefusalCase):
    """The allow/block/admin decision (spec/auth.md §1.8)."""

    def test_deny_by_default_shows_custom_403_message(self):
        hub = self.start_hub({"custom_403_message": "Ask the lab manager for access to this hub."})
        self.assertRefused(hub, "carol", "no allow rule matched", "Ask the lab manager for access to this hub.")

    def test_blocked_users_are_refused_even_when_admin_and_allowed(self):
        hub = self.start_hub({"blocked_users": ["bob"], "admin_users": ["bob"], "allowed_users": ["bob"],
                              "allow_all": True})
        self.assertRefused(hub, "bob", "blocked_users")
        self.assertAllowed(hub, "alice", "allow_all")

    def test_allowed_users(self):
        hub = self.start_hub({"allowed_users": ["alice"]})
        self.assertAllowed(hub, "alice", "allowed_users", admin=False)
        self.assertRefused(hub, "carol", "no allow rule matched")

    def test_allow_all(self):
        hub = self.start_hub({"allow_all": True})
        self.assertAllowed(hub, "carol", "allow_all", admin=False)

    def test_admin_users_are_allowed_and_marked_admin(self):
        hub = self.start_hub({"admin_users": ["bob"], "allowed_users": ["alice"]})
        self.assertAllowed(hub, "bob", "admin_users", admin=True)
        self.assertAllowed(hub, "alice", "allowed_users", admin=False)

    def test_admin_groups_grant_admin_and_hub_groups(self):
        hub = self.start_hub({"manage_groups": True, "admin_groups": ["admins"], "allowed_groups": ["users"]},
                             groups_claim="cognito:groups")
        self.assertAllowed(hub, "bob", "admin_groups", admin=True, groups=["users", "admins"])
        self.assertAllowed(hub, "alice", "allowed_groups", admin=False, groups=["users"])

    def test_admin_is_revoked_when_not_in_admin_groups(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-test-")
        self.addCleanup(shutil.rmtree, workdir, True)
        first = self.start_hub({"admin_users": ["alice"]}, workdir=workdir)
        self.assertAllowed(first, "alice", "admin_users", admin=True)
        first.stop(cleanup=False)
        # Same database; now admin comes from groups only, and alice is not in "admins".
        second = self.start_hub({"manage_groups": True, "admin_groups": ["admins"], "allowed_groups": ["users"]},
                                workdir=workdir, groups_claim="cognito:groups")
        self.assertAllowed(second, "alice", "allowed_groups", admin=False, groups=["users"])

    def test_admin_users_keep_admin_despite_admin_groups(self):
        hub = self.start_hub({"manage_groups": True, "admin_groups": ["admins"], "admin_users": ["alice"]},
                             groups_claim="cognito:groups")
        self.assertAllowed(hub, "alice", "admin_users", admin=True, groups=["users"])

    def test_allowed_groups(self):
        hub = self.start_hub({"manage_groups": True, "allowed_groups": ["admins"]}, groups_claim="cognito:groups")
        self.assertAllowed(hub, "bob", "allowed_groups", admin=False, groups=["users", "admins"])
        self.assertRefused(hub, "alice", "no allow rule matched")
        self.assertRefused(hub, "carol", "no allow rule matched")

    def test_allow_existing_users(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-test-")
        self.addCleanup(shutil.rmtree, workdir, True)
        first = self.start_hub({"allowed_users": ["carol"]}, workdir=workdir)
        self.assertAllowed(first, "carol", "allowed_users")
        first.stop(cleanup=False)
        second = self.start_hub({"allow_existing_users": True}, workdir=workdir)
        self.assertAllowed(second, "carol", "allow_existing_users")
        self.assertRefused(second, "alice", "no allow rule matched")


class IdpErrorTest(RefusalCase):
    """The IdP says no, or breaks: the user reads what happened (never a 500 page), the
    operator reads why in the log."""

    @classmethod
    def setUpClass(cls):
        # A short outbound timeout for the `slow` fault ([http_client] in docs/config.md).
        cls.hub = Hub(hub_toml([oidc_provider(IDP)], auth={"allow_all": True},
                               tables={"http_client": {"request_timeout_seconds": 2}}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def fail_login(self, fault_kind=None, fault=None):
        if fault_kind:
            IDP.set_fault(fault_kind, fault)
        c = Client()
        r = login(self.hub, c, "alice")
        self.assertNotEqual(r.status, 500, page_text(r))
        self.assertNotLoggedIn(self.hub, c)
        return r

    def test_access_denied_at_the_idp(self):
        c = Client()
        r = begin(self.hub, c)
        state = query_of(r.location)["state"]
        cb = self.hub.url("/hub/oauth_callback?" + urllib.parse.urlencode({
            "error": "access_denied", "error_description": "<b>The user denied</b> the request",
            "state": state}))
        r = c.get(cb)
        text = self.assertErrorPage(self.hub, r, 403, "The identity provider did not sign you in (access_denied).",
                                    "Please try again")
        self.assertNotIn("<b>", r.text)
        self.assertNotIn("The user denied", text)  # IdP-controlled text stays in the log
        wait_for_log(self.hub, r"login: the identity provider returned error=access_denied \(<b>The user denied</b>")
        self.assertNotLoggedIn(self.hub, c)

    def test_bad_code(self):
        r = self.fail_login("token", "error_json")
        self.assertErrorPage(self.hub, r, 403, "The identity provider refused to finish your sign-in (invalid_grant).")
        wait_for_log(self.hub, r"login via test: token endpoint refused the code: HTTP 400 error=invalid_grant")

    def test_token_endpoint_http500(self):
        r = self.fail_login("token", "http500")
        self.assertErrorPage(self.hub, r, 503, "The identity provider had an internal error (HTTP 500)")
        wait_for_log(self.hub, r"login via test: token endpoint answered HTTP 500")

    def test_token_endpoint_malformed_json(self):
        r = self.fail_login("token", "malformed_json")
        self.assertErrorPage(self.hub, r, 502, "The identity provider's answer could not be read.")
        wait_for_log(self.hub, r"login via test: token endpoint answered HTTP 200 with a body that is not a JSON object")

    def test_token_endpoint_slow(self):
        t0 = time.monotonic()
        r = self.fail_login("token", "slow")
        self.assertLess(time.monotonic() - t0, 10)  # the IdP would take 30 s
        self.assertErrorPage(self.hub, r, 503, "The identity provider could not be reached to finish your sign-in.")
        wait_for_log(self.hub, r"login via test: token request failed: .*(time|Time)")

    def test_userinfo_http500(self):
        r = self.fail_login("userinfo", "http500")
        self.assertErrorPage(self.hub, r, 503, "The identity provider refused to send your profile (HTTP 500).")
        wait_for_log(self.hub, r"login via test: userinfo answered HTTP 500")

    def test_userinfo_malformed_json(self):
        r = self.fail_login("userinfo", "malformed_json")
        self.assertErrorPage(self.hub, r, 502, "The identity provider's profile answer could not be read.")
        wait_for_log(self.hub, r"login via test: userinfo answer is not a JSON object")

    def test_error_page_offers_a_way_back(self):
        r = self.fail_login("token", "http500")
        self.assertIn('href="/hub/login"', r.text)
        self.assertIn("Try signing in again", page_text(r))


class IdTokenSubjectTest(RefusalCase):
    """Issue 18, point 7: OIDC Core §2 makes `sub` required in an ID token."""

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(hub_toml([oidc_provider(IDP)], auth={"allow_all": True}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_id_token_without_sub_is_refused(self):
        IDP.set_fault("token", "no_sub")
        c = Client()
        r = login(self.hub, c, "alice")
        self.assertErrorPage(self.hub, r, 401,
                             "The identity provider's ID token failed validation, so the sign-in was refused.")
        wait_for_log(self.hub, r"login via test: ID token rejected \(missing_claim\): ID token has no 'sub' "
                               r"claim; OpenID Connect requires one naming the user \(OIDC Core §2\)")
        self.assertNotLoggedIn(self.hub, c)
        IDP.reset_faults()
        self.assertLoginRedirect(self.hub, login(self.hub, c, "alice"))


class KeyRotationTest(LoginCase):
    """Issue 18, point 7: an ID token signed with a key the provider published after nbhub's
    last JWKS fetch is accepted at once (one refetch on the unknown kid), and tokens with
    made-up kids cost the provider at most one JWKS request per refetch interval."""

    def setUp(self):
        self.idp = TestIdp(mode="generic")
        self.idp.start()
        self.addCleanup(self.idp.stop)
        self.hub = Hub(hub_toml([oidc_provider(self.idp)], auth={"allow_all": True}))
        self.hub.start()
        self.addCleanup(self.hub.stop)

    def jwks_fetches(self):
        return len(re.findall(r"jwks: fetched ", self.hub.log()))

    def test_login_right_after_a_rotation_succeeds(self):
        c = Client()
        self.assertLoginRedirect(self.hub, login(self.hub, c, "alice"))  # keys fetched now
        self.assertEqual(self.jwks_fetches(), 1)
        kid = self.idp.rotate_id_token_key()
        self.assertIn(kid, [k["kid"] for k in self.idp.jwks()["keys"]])
        c2 = Client()
        r = login(self.hub, c2, "bob")
        self.assertLoginRedirect(self.hub, r)
        self.assertLoggedInAs(self.hub, c2, "bob")
        self.assertEqual(self.jwks_fetches(), 2)
        # The new key is cached now: the next login fetches nothing.
        self.assertLoginRedirect(self.hub, login(self.hub, Client(), "carol"))
        self.assertEqual(self.jwks_fetches(), 2)

    def test_a_second_rotation_within_the_interval_waits_for_it(self):
        self.assertLoginRedirect(self.hub, login(self.hub, Client(), "alice"))
        self.idp.rotate_id_token_key()
        t0 = time.monotonic()  # before the refetch for the unknown kid starts
        self.assertLoginRedirect(self.hub, login(self.hub, Client(), "bob"))
        t1 = time.monotonic()  # after it started
        self.idp.rotate_id_token_key()
        r = login(self.hub, Client(), "carol")
        if time.monotonic() - t0 < 5:  # surely within the 5 s interval: held back
            self.assertErrorPage(self.hub, r, 401, "ID token failed validation")
            wait_for_log(self.hub, r"ID token rejected \(unknown_kid\): .*not refetched because a refetch "
                                   r"for an unknown kid started \d+ s ago and the refetch interval is 5 s")
            self.assertEqual(self.jwks_fetches(), 2)
        time.sleep(max(0.0, t1 + 5.2 - time.monotonic()))
        self.assertLoginRedirect(self.hub, login(self.hub, Client(), "carol"))
        self.assertEqual(self.jwks_fetches(), 3)


class LogoutTest(RefusalCase):
    """Logout ends the hub session for good, and optionally the IdP session."""

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(hub_toml([
            oidc_provider(IDP, "plain"),
            oidc_provider(IDP, "static", logout_redirect_url="https://sso.example.org/goodbye"),
            oidc_provider(IDP, "rp", idp_logout=True),
        ], auth={"allow_all": True, "enable_auth_state": True}), env={"NBHUB_CRYPT_KEY": CRYPT_KEY})
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def signed_in(self, provider, user="alice"):
        c = Client()
        self.assertLoginRedirect(self.hub, login(self.hub, c, user, provider))
        self.assertLoggedInAs(self.hub, c, user)
        return c, cookie_value(c, "nbhub-hub-login")

    def assertSessionEnded(self, c, old_cookie):
        self.assertNotLoggedIn(self.hub, c)
        self.assertIsNone(cookie_value(c, "nbhub-hub-login"))  # the browser dropped it
        # Presenting the old cookie again (a copy kept elsewhere) does not work either.
        r = Client().get(self.hub.url("/hub/api/user"), headers={"Cookie": f"nbhub-hub-login={old_cookie}"})
        self.assertEqual(r.status, 403, r.text)
        home = Client().get(self.hub.url("/hub/home"), headers={"Cookie": f"nbhub-hub-login={old_cookie}"})
        self.assertEqual(home.status, 302)
        self.assertTrue(home.headers["Location"].startswith("/hub/login"), home.headers["Location"])

    def test_logout_ends_the_session(self):
        c, old = self.signed_in("plain")
        r = c.get(self.hub.url("/hub/logout"))
        self.assertEqual(r.status, 200, page_text(r))
        self.assertIn("You have signed out", page_text(r))
        self.assertSessionEnded(c, old)

    def test_logout_redirect_url(self):
        c, old = self.signed_in("static")
        r = c.get(self.hub.url("/hub/logout"))
        self.assertEqual(r.status, 302)
        self.assertEqual(r.headers["Location"], "https://sso.example.org/goodbye")
        self.assertSessionEnded(c, old)

    def test_idp_logout_goes_to_end_session_with_id_token_hint(self):
        c, old = self.signed_in("rp", "bob")
        r = c.get(self.hub.url("/hub/logout"))
        self.assertEqual(r.status, 302, page_text(r))
        end_session = IDP.discovery()["end_session_endpoint"]
        self.assertTrue(r.location.startswith(end_session + "?"), r.location)
        q = query_of(r.location)
        self.assertEqual(q["post_logout_redirect_uri"], self.hub.url("/hub/login"))
        self.assertEqual(q["client_id"], CLIENT_ID)
        _, claims = decode_jwt(q["id_token_hint"])
        self.assertEqual(claims["aud"], CLIENT_ID)
        self.assertEqual(claims["iss"], IDP.issuer)
        self.assertEqual(claims["preferred_username"], "bob")
        self.assertSessionEnded(c, old)
        # Not followed to the IdP: oidc-provider matches post_logout_redirect_uri exactly,
        # port included, and the hub's port is only known after the IdP started (the test
        # IdP's any-port rule covers redirect URIs and Cognito's /logout only).

    def test_logout_without_session_is_harmless(self):
        r = Client().get(self.hub.url("/hub/logout"))
        self.assertEqual(r.status, 200)
        self.assertIn("You have signed out", page_text(r))


class CognitoLogoutTest(LoginCase):
    """kind = "cognito" with idp_logout: Cognito's own /logout?client_id&logout_uri (spec §4.5)."""

    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp(mode="cognito")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        cls.hub = Hub(hub_toml([{
            "name": "cognito", "kind": "cognito", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "cognito_domain": cls.idp.issuer, "issuer": cls.idp.issuer,
            "jwks_url": cls.idp.issuer + "/.well-known/jwks.json", "idp_logout": True,
        }], auth={"allow_all": True}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_logout_goes_to_cognito_logout(self):
        c = Client()
        self.assertLoginRedirect(self.hub, login(self.hub, c, "alice", "cognito"))
        old = cookie_value(c, "nbhub-hub-login")
        r = c.get(self.hub.url("/hub/logout"))
        self.assertEqual(r.status, 302, page_text(r))
        self.assertEqual(r.location, self.idp.issuer + "/logout?" + urllib.parse.urlencode(
            {"client_id": CLIENT_ID, "logout_uri": self.hub.url("/hub/login")}))
        self.assertNotLoggedIn(self.hub, c)
        r2 = Client().get(self.hub.url("/hub/api/user"), headers={"Cookie": f"nbhub-hub-login={old}"})
        self.assertEqual(r2.status, 403)
        # Cognito ends its session and sends the browser back to the hub's login page.
        back = c.get(r.location)
        self.assertEqual(back.status, 302, back.text[:500])
        self.assertEqual(back.location, self.hub.url("/hub/login"))
        # The IdP session is gone: the next login asks for the password again.
        r = begin(self.hub, c, "cognito")
        page = c.follow(c.get(r.location))
        self.assertIn('name="password"', page.text)


if __name__ == "__main__":
    unittest.main()
