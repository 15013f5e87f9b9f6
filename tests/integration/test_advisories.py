"""JupyterHub's security advisories, replayed against nbhub (issue 24, point 3).

Each test is named after the advisory it replays and performs the attack its fix closed, over
real HTTP against the real nbhub binary, signed in through the `dummy` provider's login form
as a browser would.

- CVE-2024-28233 (GHSA-7r3h-4ph8-w38g, JupyterHub 4.1.0): cookie-authenticated API reads
  made by a script (Sec-Fetch-Mode cors / same-origin), e.g. from a user's server on the same
  domain, need the session's xsrf token; a cookie tossed by a server cannot stand in for it.
- CVE-2024-41942 (GHSA-9x4q-3gxw-849f, 4.1.6 / 5.1.0): `admin:users` without being an admin
  can neither grant admin nor modify an admin.
- CVE-2026-33709 (GHSA-3vff-hjqv-m7h8, 5.4.4): a next URL on the hub's own host whose path
  starts with several slashes must stay a path, never become `//other.host/`.
- CVE-2026-40864 (GHSA-m68r-v472-jgq9, 5.4.5): a cross-site `no-cors` POST with the cookie
  and no xsrf token changes nothing.
- CVE-2026-54338 (GHSA-p43p-whwx-q52h, 5.5.0): a failed sign-in with a huge user name does
  not write that name to the log or echo it whole.
- GHSA-c4gm-pwx9-9w8j (5.5.1): next URLs are HTML-escaped where pages embed them: the login
  and spawn pages, and the share-code accept page the advisory was about.
- GHSA-69wv-m5fw-2fhp (5.5.1): `admin:users!group=...` / `admin:groups!group=...` cannot
  create users or groups.

OAuthenticator's:
- CVE-2026-33175 (GHSA-rrvg-cxh4-qhrv, 17.4.0): with the e-mail address as the username, an
  address the identity provider has not verified does not sign anyone in (the test IdP, like a
  Cognito user pool with self sign-up, lets an account carry someone else's address).
- GHSA-r7v4-jwx9-wx43 (15.0.0): CILogon federates many identity providers and the user picks
  one on CILogon's page, whatever the hub suggested. With `idps` (OAuthenticator's
  allowed_idps), a sign-in through an IdP not listed is refused, and each listed IdP derives
  its own usernames, so the same address or login name at two IdPs is not one hub user.
"""
import html
import json
import re
import time
import unittest
import urllib.parse

from harness.browserless import Client, parse_form
from harness.hub import Hub
from harness.idp import TestIdp
from harness.login import begin, callback_url, hub_toml, oidc_provider, page_text, wait_for_log

PASSWORD = "advisories-shared-password"
ADMIN_TOKEN = "advisories-admin-service-token-0123456789"

CONFIG = hub_toml(
    [{"name": "default", "kind": "dummy", "password": PASSWORD}],
    auth={"admin_users": ["root"]},
    top={
        "services": [{"name": "admin-svc", "api_token": ADMIN_TOKEN, "admin": True}],
        "load_roles": [
            {"name": "user-manager", "scopes": ["admin:users", "list:users", "read:users"], "users": ["manager"]},
            {"name": "lab-manager", "scopes": ["admin:users!group=lab", "admin:groups!group=lab",
                                               "list:users!group=lab", "read:users!group=lab"],
             "users": ["labhead"]},
        ],
    })

# What a browser sends with a script's fetch() from another page of the same origin.
SCRIPT_FETCH = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "empty"}
# What a browser sends when another site's page posts a form or a no-cors fetch to the hub.
CROSS_SITE_NO_CORS = {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "empty",
                      "Origin": "https://attacker.example"}


def api(hub, method, path, body=None, token=ADMIN_TOKEN):
    c = Client()
    r = c.request(method, hub.url("/hub/api" + path), json_body=body,
                  headers={"Authorization": f"token {token}"} if token else None)
    return r.status, (r.json() if r.body else None)


class AdvisoriesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(CONFIG)
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)
        # GET /hub/spawn starts a server (the escaping test opens it): ended while the hub runs.
        cls.addClassCleanup(cls.hub.kill_servers)
        for name in ("root", "manager", "labhead", "alice", "bob"):
            s, body = api(cls.hub, "POST", f"/users/{name}")
            assert s in (201, 409), (s, body)
        s, body = api(cls.hub, "POST", "/groups/lab", {"users": ["labhead", "alice"]})
        assert s in (201, 409), (s, body)

    def sign_in(self, username):
        """A browser's sign-in through the login form; returns the client and the xsrf token
        the hub's pages carry for this session."""
        c = Client()
        r = c.get(self.hub.url("/hub/login"))
        form = parse_form(r.text)
        self.assertIsNotNone(form, page_text(r))
        r = c.post(urllib.parse.urljoin(self.hub.url("/hub/login"), form["action"]),
                   data=dict(form["inputs"], username=username, password=PASSWORD))
        self.assertIn(r.status, (302, 303), page_text(r))
        page = c.get(self.hub.url("/hub/token"))  # a page with a form, hence the token
        self.assertEqual(page.status, 200, page_text(page))
        m = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        self.assertIsNotNone(m, page.text)
        return c, m.group(1)

    def user_token(self, username, scopes=None):
        body = {"note": "advisory test"} if scopes is None else {"note": "advisory test", "scopes": scopes}
        s, tok = api(self.hub, "POST", f"/users/{username}/tokens", body)
        self.assertEqual(s, 201, tok)
        return tok["token"]

    # --- CVE-2024-28233 -----------------------------------------------------------------------

    def test_CVE_2024_28233_script_reads_of_the_api_need_the_xsrf_token(self):
        c, xsrf = self.sign_in("alice")
        # A page view (navigation) or a client that sends no fetch metadata reads as before:
        # JupyterHub's clients and `curl` with a cookie keep working.
        for headers in ({}, {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none"}):
            r = c.get(self.hub.url("/hub/api/user"), headers=headers)
            self.assertEqual((r.status, r.json()["name"]), (200, "alice"), headers)
        # A script on a user's server (same origin) reading alice's model with her cookie.
        r = c.get(self.hub.url("/hub/api/user"), headers=SCRIPT_FETCH)
        self.assertEqual(r.status, 403, r.text)
        self.assertIn("_xsrf", r.json()["message"])
        r = c.get(self.hub.url("/hub/api/users/alice/tokens"), headers=SCRIPT_FETCH)
        self.assertEqual(r.status, 403, r.text)
        # Cookie tossing: a server sets its own `_xsrf` cookie and sends the same value.
        tossed = "tossed-by-a-user-server"
        r = c.get(self.hub.url("/hub/api/user"),
                  headers={**SCRIPT_FETCH, "X-XSRFToken": tossed, "Cookie": f"_xsrf={tossed}"})
        self.assertEqual(r.status, 403, r.text)
        # The hub's own pages hold the session's token and may read with it.
        self.assertTrue(xsrf, "the home page carries no xsrf token")
        r = c.get(self.hub.url("/hub/api/user"), headers={**SCRIPT_FETCH, "X-XSRFToken": xsrf})
        self.assertEqual((r.status, r.json()["name"]), (200, "alice"), r.text)
        r = c.get(self.hub.url("/hub/api/user?_xsrf=" + urllib.parse.quote(xsrf)), headers=SCRIPT_FETCH)
        self.assertEqual(r.status, 200, r.text)
        # Another session's token is not this session's.
        _, bobs = self.sign_in("bob")
        r = c.get(self.hub.url("/hub/api/user"), headers={**SCRIPT_FETCH, "X-XSRFToken": bobs})
        self.assertEqual(r.status, 403, r.text)
        # Tokens are not exposed to cross-site forgery and need no xsrf token.
        tok = self.user_token("alice")
        r = Client().get(self.hub.url("/hub/api/user"), headers={**SCRIPT_FETCH, "Authorization": f"token {tok}"})
        self.assertEqual(r.status, 200, r.text)

    def test_CVE_2024_28233_the_pending_page_passes_its_token_to_the_progress_stream(self):
        # spawn-pending's EventSource cannot set headers: the token rides in the query, as in
        # JupyterHub's page, and the stream answers a script's request that carries it.
        c, xsrf = self.sign_in("alice")
        page = c.get(self.hub.url("/hub/spawn-pending/alice"))
        if page.status != 200 or "data-progress-url" not in page.text:
            # The server is not starting, so the page says so instead; ask for the stream directly.
            url = "/hub/api/users/alice/server/progress?_xsrf=" + urllib.parse.quote(xsrf)
        else:
            url = re.search(r'data-progress-url="([^"]+)"', page.text).group(1).replace("&amp;", "&")
            self.assertIn("_xsrf=", url)
        r = c.get(self.hub.url(url), headers={**SCRIPT_FETCH, "Accept": "text/event-stream"})
        self.assertNotEqual(r.status, 403, r.text)
        bare = url.split("?")[0]
        r = c.get(self.hub.url(bare), headers={**SCRIPT_FETCH, "Accept": "text/event-stream"})
        self.assertEqual(r.status, 403, r.text)

    # --- CVE-2024-41942 -----------------------------------------------------------------------

    def test_CVE_2024_41942_admin_users_scope_cannot_grant_or_touch_admins(self):
        tok = self.user_token("manager")
        s, body = api(self.hub, "PATCH", "/users/manager", {"admin": True}, token=tok)
        self.assertEqual(s, 403, body)
        s, body = api(self.hub, "PATCH", "/users/bob", {"admin": True}, token=tok)
        self.assertEqual(s, 403, body)
        s, body = api(self.hub, "POST", "/users/mallory", {"admin": True}, token=tok)
        self.assertEqual(s, 403, body)
        s, body = api(self.hub, "POST", "/users", {"usernames": ["mallory2"], "admin": True}, token=tok)
        self.assertEqual(s, 403, body)
        s, body = api(self.hub, "PATCH", "/users/root", {"name": "root-renamed"}, token=tok)
        self.assertEqual(s, 403, body)
        # Nothing changed, and what admin:users may do still works.
        for name in ("manager", "bob"):
            s, body = api(self.hub, "GET", f"/users/{name}")
            self.assertEqual((s, body["admin"]), (200, False), body)
        s, body = api(self.hub, "GET", "/users/root")
        self.assertEqual((s, body["admin"]), (200, True), body)
        for name in ("mallory", "mallory2"):
            self.assertEqual(api(self.hub, "GET", f"/users/{name}")[0], 404)
        s, body = api(self.hub, "POST", "/users/carol", token=tok)
        self.assertEqual((s, body["admin"]), (201, False), body)

    # --- CVE-2026-33709 -----------------------------------------------------------------------

    def test_CVE_2026_33709_own_host_next_with_slashes_stays_a_path(self):
        c, _ = self.sign_in("alice")
        host = urllib.parse.urlsplit(self.hub.url("/")).netloc
        for scheme in ("http", "https"):
            for slashes in ("/", "//", "///", "////"):
                nxt = f"{scheme}://{host}{slashes}other.example/"
                r = c.get(self.hub.url("/hub/login?" + urllib.parse.urlencode({"next": nxt})))
                self.assertIn(r.status, (302, 303), page_text(r))
                loc = r.location
                target = urllib.parse.urlsplit(urllib.parse.urljoin(self.hub.url("/hub/login"), loc))
                self.assertEqual(target.netloc, host, f"next={nxt!r} sent the browser to {loc!r}")
                self.assertFalse(loc.startswith("//") or loc.startswith("/\\"), loc)

    # --- CVE-2026-40864 -----------------------------------------------------------------------

    def test_CVE_2026_40864_cross_site_no_cors_post_changes_nothing(self):
        c, _ = self.sign_in("alice")
        before = api(self.hub, "GET", "/users/alice/tokens")[1]["api_tokens"]
        # text/plain is what a no-cors request may send without a preflight.
        for ctype in ("text/plain", "application/json", "application/x-www-form-urlencoded"):
            r = c.request("POST", self.hub.url("/hub/api/users/alice/tokens"),
                          data=json.dumps({"note": "forged", "expires_in": 3600}),
                          headers={**CROSS_SITE_NO_CORS, "Content-Type": ctype})
            self.assertEqual(r.status, 403, (ctype, r.text))
        after = api(self.hub, "GET", "/users/alice/tokens")[1]["api_tokens"]
        self.assertEqual(len(after), len(before))
        # The page forms are guarded the same way: a forged start of alice's server.
        r = c.request("POST", self.hub.url("/hub/spawn/alice"), data={"x": "1"},
                      headers=CROSS_SITE_NO_CORS)
        self.assertEqual(r.status, 403, page_text(r))
        s, body = api(self.hub, "GET", "/users/alice")
        self.assertEqual((s, body["server"], body["pending"]), (200, None, None), body)

    # --- CVE-2026-54338 -----------------------------------------------------------------------

    def test_CVE_2026_54338_failed_login_does_not_log_a_huge_username(self):
        c = Client()
        r = c.get(self.hub.url("/hub/login"))
        form = parse_form(r.text)
        marker = "Q7" * 50_000  # 100,000 characters of user-controlled input
        log_before = len(self.hub.log())
        r = c.post(urllib.parse.urljoin(self.hub.url("/hub/login"), form["action"]),
                   data=dict(form["inputs"], username=marker, password="wrong"))
        self.assertIn(r.status, (200, 403), r.status)  # 3.0 answers 200, 5.x 403
        self.assertIn("Invalid username or password.", page_text(r))
        self.assertNotIn(marker[:200], r.text)
        time.sleep(0.3)
        grown = self.hub.log()[log_before:]
        self.assertNotIn(marker[:200], grown)
        self.assertLess(len(grown), 4000, grown[-1000:])
        self.assertRegex(grown, r"login refused for 'Q7Q7Q7Q7Q7Q7Q7Q7\.\.\.\(100000 chars\)'")

    # --- GHSA-c4gm-pwx9-9w8j ------------------------------------------------------------------

    def test_GHSA_c4gm_pwx9_9w8j_next_urls_are_html_escaped(self):
        payloads = ["/hub/home'><img src=x onerror=alert(1)>", '/hub/home"><img src=x onerror=alert(1)>',
                    '/hub/">injected</a><a>']
        anon = Client()
        c, _ = self.sign_in("bob")
        for nxt in payloads:
            for client, path in ((anon, "/hub/login"), (c, "/hub/spawn"), (c, "/hub/spawn/bob")):
                r = client.get(self.hub.url(path + "?" + urllib.parse.urlencode({"next": nxt})))
                for raw in ("<img src=x", "\">injected", "'><img"):
                    self.assertNotIn(raw, r.text, f"{path} next={nxt!r} put {raw!r} in the page")

    def test_GHSA_c4gm_pwx9_9w8j_share_code_page_escapes_next(self):
        # JupyterHub's test_share_code_next: each payload must come back intact as the link's
        # text and href (HTML-escaped, never parsed as markup); off-site URLs fall back to the server.
        s, code = api(self.hub, "POST", "/share-codes/root/", {})
        self.assertEqual(s, 200, code)
        self.addCleanup(api, self.hub, "DELETE", "/share-codes/root/")
        c, _ = self.sign_in("bob")
        cases = [("/hub/home", None), ("/hub/home'><img>", None), ('/hub/home"><img>', None),
                 ("/hub/home?a=5&b=10", None), ('/hub/">injected</a><a>', None),
                 ("https://example.com/", "/user/root/"), ("///example.com/", "/user/root/")]
        for nxt, expected in cases:
            r = c.get(self.hub.url("/hub/accept-share?" + urllib.parse.urlencode({"code": code["code"], "next": nxt})))
            self.assertEqual(r.status, 200, r.text[:1000])
            for raw in ("<img>", "\">injected", "'><img"):
                self.assertNotIn(raw, r.text, f"next={nxt!r} put {raw!r} in the page")
            links = re.findall(r'redirected to <a href="([^"]*)">([^<]*)</a>', r.text)
            self.assertEqual(len(links), 1, r.text[-1500:])
            href, text = (html.unescape(x) for x in links[0])
            self.assertEqual((href, text), (expected or nxt, expected or nxt))
            form = parse_form(r.text)
            self.assertEqual(form["inputs"]["next"], expected or nxt)

    # --- GHSA-69wv-m5fw-2fhp ------------------------------------------------------------------

    def test_GHSA_69wv_m5fw_2fhp_group_filtered_admin_cannot_create(self):
        tok = self.user_token("labhead")
        s, body = api(self.hub, "POST", "/users", {"usernames": ["outsider1"]}, token=tok)
        self.assertEqual(s, 403, body)
        s, body = api(self.hub, "POST", "/users/outsider2", token=tok)
        self.assertEqual(s, 403, body)
        s, body = api(self.hub, "POST", "/groups", {"groups": ["newgroup1"]}, token=tok)
        self.assertEqual(s, 403, body)
        s, body = api(self.hub, "POST", "/groups/newgroup2", token=tok)
        self.assertEqual(s, 403, body)
        for path in ("/users/outsider1", "/users/outsider2", "/groups/newgroup1", "/groups/newgroup2"):
            self.assertEqual(api(self.hub, "GET", path)[0], 404, path)
        # The filtered scope still works inside its group.
        s, body = api(self.hub, "GET", "/users/alice", token=tok)
        self.assertEqual((s, body["name"]), (200, "alice"), body)
        s, body = api(self.hub, "GET", "/users/bob", token=tok)
        self.assertIn(s, (403, 404), body)


class OAuthenticatorAdvisoriesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        users = [
            {"username": "alice", "password": "alice-pw", "email": "alice@example.org"},
            # mallory's account carries alice's address, which the IdP never verified.
            {"username": "mallory", "password": "mallory-pw", "email": "alice@example.org", "email_verified": False},
        ]
        cls.idp = TestIdp(users=users)
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        email = {"username_claim": "email", "scope": ["openid", "email", "profile"]}
        cls.hub = Hub(hub_toml([oidc_provider(cls.idp, "strict", **email),
                                oidc_provider(cls.idp, "lax", allow_unverified_email=True, **email)],
                               auth={"allow_all": True}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def sign_in(self, provider, username):
        c = Client()
        return c, c.get(callback_url(self.hub, c, username, provider))

    def test_CVE_2026_33175_unverified_email_does_not_sign_in(self):
        c, r = self.sign_in("strict", "mallory")
        self.assertEqual(r.status, 403, page_text(r))
        self.assertIn("not verified your e-mail address", page_text(r))
        self.assertEqual(c.get(self.hub.url("/hub/api/user")).status, 403)
        wait_for_log(self.hub, r"login via strict: refused: the e-mail address used as the username is not verified")
        # The verified owner of the address signs in as it.
        c, r = self.sign_in("strict", "alice")
        self.assertIn(r.status, (302, 303), page_text(r))
        self.assertEqual(c.get(self.hub.url("/hub/api/user")).json()["name"], "alice@example.org")

    def test_CVE_2026_33175_allow_unverified_email_is_an_explicit_choice(self):
        c, r = self.sign_in("lax", "mallory")
        self.assertIn(r.status, (302, 303), page_text(r))


# GHSA-r7v4-jwx9-wx43: the test IdP plays CILogon, sending the `idp` claim of whichever
# identity provider each account "signed in through".
IDP_A = "https://idp.a.edu/idp/shibboleth"
IDP_GITHUB = "http://github.com/login/oauth/authorize"
IDP_EVIL = "https://idp.evil.example/idp/shibboleth"


class CilogonAllowedIdpsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        users = [
            {"username": "alice", "password": "alice-pw", "email": "alice@a.edu", "claims": {"idp": IDP_A}},
            # An IdP the hub does not trust, asserting alice's address.
            {"username": "mallory", "password": "mallory-pw", "email": "alice@a.edu", "claims": {"idp": IDP_EVIL}},
            # A GitHub account called alice, through CILogon's GitHub bridge.
            {"username": "gh-alice", "password": "gh-alice-pw", "email": "alice@users.github.example",
             "claims": {"idp": IDP_GITHUB, "preferred_username": "alice"}},
        ]
        cls.idp = TestIdp(users=users)
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        d = cls.idp.discovery()
        provider = {
            "name": "cilogon", "kind": "cilogon", "client_id": "nbhub-test", "client_secret": "nbhub-test-secret",
            "issuer": d["issuer"], "authorize_url": d["authorization_endpoint"], "token_url": d["token_endpoint"],
            "userdata_url": d["userinfo_endpoint"], "jwks_url": d["jwks_uri"],
            "scope": ["openid", "email", "profile", "org.cilogon.userinfo"],
            "idps": [
                {"entity_id": IDP_A, "allow_all": True,
                 "username_derivation": {"username_claim": "email", "action": "strip_idp_domain", "domain": "a.edu"}},
                {"entity_id": IDP_GITHUB, "default": True,
                 "username_derivation": {"username_claim": "preferred_username", "action": "prefix",
                                         "prefix": "github"}},
            ],
        }
        cls.hub = Hub(hub_toml([provider], auth={"allowed_users": ["github:alice"]}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def sign_in(self, username):
        c = Client()
        return c, c.get(callback_url(self.hub, c, username, "cilogon"))

    def test_GHSA_r7v4_jwx9_wx43_idp_not_listed_is_refused(self):
        c, r = self.sign_in("mallory")
        self.assertEqual(r.status, 403, page_text(r))
        self.assertIn(f"Signing in through the identity provider {IDP_EVIL} is not allowed", page_text(r))
        self.assertEqual(c.get(self.hub.url("/hub/api/user")).status, 403)
        wait_for_log(self.hub, r"login via cilogon: refused: Signing in through the identity provider "
                               + re.escape(IDP_EVIL))
        # The address's owner, through the listed IdP, is alice (domain stripped; allow_all).
        c, r = self.sign_in("alice")
        self.assertIn(r.status, (302, 303), page_text(r))
        self.assertEqual(c.get(self.hub.url("/hub/api/user")).json()["name"], "alice")

    def test_GHSA_r7v4_jwx9_wx43_same_name_at_another_idp_is_another_user(self):
        # GitHub's "alice" is github:alice, never the campus alice; allowed by allowed_users.
        c, r = self.sign_in("gh-alice")
        self.assertIn(r.status, (302, 303), page_text(r))
        self.assertEqual(c.get(self.hub.url("/hub/api/user")).json()["name"], "github:alice")

    def test_GHSA_r7v4_jwx9_wx43_cilogon_is_asked_for_the_listed_idps(self):
        r = begin(self.hub, Client(), "cilogon")
        self.assertEqual(r.status, 302)
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.location).query)
        self.assertEqual(q["selected_idp"], [f"{IDP_GITHUB},{IDP_A}"])  # the default first


if __name__ == "__main__":
    unittest.main()
