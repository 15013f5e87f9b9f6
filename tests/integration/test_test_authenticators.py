"""Issue 18, point 4: JupyterHub's own test authenticators, `dummy` and `null`.

`dummy` (DummyAuthenticator): a username/password form on /hub/login, any username signs in
(JupyterHub 5: allow_all unless allowed_users is set), an optional shared password, the form
protected by `_xsrf`. `null` (NullAuthenticator): nobody signs in, /hub/login answers 403, and
the hub is used through its REST API with tokens, servers included.

Configured as nbhub.toml, as jupyterhub_config.py and through the same login page the OAuth
providers use. The real nbhub binary over HTTP; servers are Debian's jupyterhub-singleuser.
"""
import os
import shutil
import tempfile
import time
import unittest
import urllib.parse

from harness.browserless import Client, parse_form
from harness.hub import Hub, run_nbhub
from harness.login import (DEFAULT_403, LoginCase, cookie_value, hub_toml, page_text, set_cookies,
                           wait_for_log)

SINGLEUSER = shutil.which("jupyterhub-singleuser")
ADMIN = "test-authenticators-admin-" + os.urandom(6).hex()


def login_form(hub, client, next_url=None):
    """GET /hub/login; returns (response, parsed form)."""
    q = "?" + urllib.parse.urlencode({"next": next_url}) if next_url else ""
    r = client.get(hub.url("/hub/login" + q))
    return r, parse_form(r.text)


def sign_in(hub, client, username, password="anything", next_url=None):
    """Fills the login form as a browser would; returns the hub's answer to the POST."""
    r, form = login_form(hub, client, next_url)
    assert r.status == 200 and form, (r.status, page_text(r), hub.log()[-2000:])
    fields = dict(form["inputs"], username=username, password=password)
    return client.post(urllib.parse.urljoin(hub.url("/hub/login"), form["action"]), data=fields)


class DummyTest(LoginCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(hub_toml([{"kind": "dummy"}]))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_startup_says_it_is_for_testing_only(self):
        wait_for_log(self.hub, r"provider dummy is kind = \"dummy\" .*ANYONE can sign in with any "
                               r"username and any password\. FOR TESTING ONLY")

    def test_login_page_is_a_form_with_xsrf(self):
        c = Client()
        r, form = login_form(self.hub, c)
        self.assertEqual(r.status, 200, page_text(r))
        self.assertEqual(form["method"], "post")
        self.assertEqual(form["action"], "/hub/login")
        self.assertEqual(set(form["inputs"]), {"_xsrf", "username", "password"})
        self.assertGreaterEqual(len(form["inputs"]["_xsrf"]), 43)
        self.assertIn('id="username_input"', r.text)  # JupyterHub's ids, for tools that fill it
        self.assertIn('id="password_input"', r.text)
        ticket = set_cookies(r)["nbhub-login-form"]
        self.assertIn("HttpOnly", ticket)
        self.assertIn("Path=/hub/", ticket)
        self.assertNotIn(form["inputs"]["_xsrf"], ticket)  # sealed, not the value itself

    def test_any_username_and_password_sign_in(self):
        c = Client()
        r = sign_in(self.hub, c, "Zoe", "")
        self.assertLoginRedirect(self.hub, r)
        self.assertLoggedInAs(self.hub, c, "zoe", admin=False)  # normalized as JupyterHub does
        wait_for_log(self.hub, r"login: 'zoe' signed in via dummy \(allow_all by default, new user\)")
        self.assertIsNone(cookie_value(c, "nbhub-login-form"))  # the ticket is spent

    def test_next_is_kept(self):
        c = Client()
        r = sign_in(self.hub, c, "yan", next_url="/hub/token")
        self.assertLoginRedirect(self.hub, r, "/hub/token")

    def test_post_without_the_form_is_refused(self):
        for with_cookie, with_xsrf in [(False, True), (True, False), (False, False)]:
            with self.subTest(cookie=with_cookie, xsrf=with_xsrf):
                browser = Client()
                _, form = login_form(self.hub, browser)
                fields = {"username": "mallory", "password": "x"}
                if with_xsrf:
                    fields["_xsrf"] = form["inputs"]["_xsrf"]
                # Without the cookie: another site's page posting the form in a fresh browser.
                c = browser if with_cookie else Client()
                r = c.post(self.hub.url("/hub/login"), data=fields)
                self.assertErrorPage(self.hub, r, 403, "This login form expired or did not come from this hub.")
                self.assertNotLoggedIn(self.hub, c)

    def test_a_ticket_is_good_for_one_post(self):
        c = Client()
        _, form = login_form(self.hub, c)
        ticket = cookie_value(c, "nbhub-login-form")
        fields = dict(form["inputs"], username="ann", password="x")
        self.assertLoginRedirect(self.hub, c.post(self.hub.url("/hub/login"), data=fields))
        replay = Client().post(self.hub.url("/hub/login"), data=fields,
                               headers={"Cookie": f"nbhub-login-form={ticket}"})
        self.assertErrorPage(self.hub, replay, 403, "expired or did not come from this hub")

    def test_bad_usernames_come_back_to_the_form(self):
        c = Client()
        r = sign_in(self.hub, c, "   ")
        self.assertEqual(r.status, 200, page_text(r))
        self.assertIn("Invalid username or password.", page_text(r))
        r = sign_in(self.hub, c, "a/b")
        self.assertEqual(r.status, 200, page_text(r))
        self.assertIn("Usernames may not contain '/'.", page_text(r))
        self.assertNotLoggedIn(self.hub, c)

    def test_oauth_routes_know_no_such_provider(self):
        r = Client().get(self.hub.url("/hub/oauth_login?provider=dummy"))
        self.assertErrorPage(self.hub, r, 404, 'There is no sign-in provider called "dummy".')


class DummyPasswordTest(LoginCase):
    """DummyAuthenticator.password and the allow rules, from a jupyterhub_config.py."""

    PASSWORD = "shared-" + os.urandom(4).hex()

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(f"""
c.JupyterHub.bind_url = "http://127.0.0.1:0"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:0"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{cls.PASSWORD}"
c.Authenticator.allowed_users = {{"alice"}}
c.Authenticator.admin_users = {{"root"}}
""", config_name="jupyterhub_config.py")
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_the_password_is_required(self):
        c = Client()
        r = sign_in(self.hub, c, "alice", "wrong")
        self.assertEqual(r.status, 200, page_text(r))  # as JupyterHub: the form again
        self.assertIn("Invalid username or password.", page_text(r))
        self.assertIn('value="alice"', r.text)
        wait_for_log(self.hub, r"login refused for 'alice' via default: wrong password")
        self.assertNotLoggedIn(self.hub, c)
        self.assertLoginRedirect(self.hub, sign_in(self.hub, c, "alice", self.PASSWORD))
        self.assertLoggedInAs(self.hub, c, "alice")
        self.assertNotIn(self.PASSWORD, self.hub.log())

    def test_allowed_users_restrict_and_admins_are_allowed(self):
        r = sign_in(self.hub, Client(), "mallory", self.PASSWORD)
        self.assertErrorPage(self.hub, r, 403, DEFAULT_403)
        wait_for_log(self.hub, r"login refused for 'mallory' via default: no allow rule matched")
        c = Client()
        self.assertLoginRedirect(self.hub, sign_in(self.hub, c, "root", self.PASSWORD))
        self.assertLoggedInAs(self.hub, c, "root", admin=True)


def api(hub, method, path, body=None, token=ADMIN):
    headers = {"Authorization": f"token {token}"} if token else {}
    r = Client().request(method, hub.url("/hub/api" + path), json_body=body, headers=headers)
    return r.status, (r.json() if r.body and r.headers.get("Content-Type", "").startswith("application/json") else r.text)


class NullTest(LoginCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(hub_toml([{"kind": "null"}], top={
            "services": [{"name": "admin-svc", "api_token": ADMIN, "admin": True}]}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_there_is_no_login(self):
        wait_for_log(self.hub, r"provider null is kind = \"null\" .*nobody signs in")
        c = Client()
        r = c.get(self.hub.url("/hub/login"))
        self.assertErrorPage(self.hub, r, 403, "There is no sign-in on this hub")
        self.assertNotIn("nbhub-login-form", set_cookies(r))
        r = c.post(self.hub.url("/hub/login"), data={"username": "alice", "password": "x"})
        self.assertErrorPage(self.hub, r, 403, "does not sign in with a username and password")
        r = c.get(self.hub.url("/hub/oauth_login?provider=null"))
        self.assertErrorPage(self.hub, r, 404, 'There is no sign-in provider called "null".')
        # Pages that need a user send the browser to the login page, which says the above.
        r = c.get(self.hub.url("/hub/home"))
        self.assertEqual(r.status, 302)
        self.assertTrue(r.headers["Location"].startswith("/hub/login"), r.headers["Location"])
        self.assertNotLoggedIn(self.hub, c)

    def test_the_rest_api_works_with_tokens(self):
        self.assertEqual(api(self.hub, "GET", "/user", token=None)[0], 403)
        s, body = api(self.hub, "POST", "/users/nia")
        self.assertEqual(s, 201, body)
        s, body = api(self.hub, "POST", "/users/nia/tokens", {"note": "null authenticator test"})
        self.assertEqual(s, 201, body)
        s, me = api(self.hub, "GET", "/user", token=body["token"])
        self.assertEqual(s, 200, me)
        self.assertEqual(me["name"], "nia")
        s, users = api(self.hub, "GET", "/users")
        self.assertEqual(s, 200, users)
        self.assertIn("nia", [u["name"] for u in users])

    @unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
    def test_a_server_started_by_the_api_runs(self):
        s, _ = api(self.hub, "POST", "/users/oli")
        self.assertEqual(s, 201)
        s, body = api(self.hub, "POST", "/users/oli/tokens", {"note": "server"})
        token = body["token"]
        s, body = api(self.hub, "POST", "/users/oli/server")
        self.assertIn(s, (201, 202), body)
        self.addCleanup(api, self.hub, "DELETE", "/users/oli/server")
        deadline = time.time() + 60
        while time.time() < deadline:
            r = Client().get(self.hub.url("/user/oli/api/status"), headers={"Authorization": f"token {token}"})
            if r.status == 200 and "started" in r.json():
                break
            time.sleep(0.3)
        else:
            self.fail("the server never answered:\n" + self.hub.log()[-3000:])
        s, model = api(self.hub, "GET", "/users/oli")
        self.assertTrue(model["servers"][""]["ready"], model)


class ConfigErrorsTest(unittest.TestCase):
    def test_null_with_another_provider_is_refused(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-test-")
        self.addCleanup(shutil.rmtree, workdir, True)
        with open(os.path.join(workdir, "nbhub.toml"), "w") as f:
            f.write(hub_toml([{"kind": "null"}, {"kind": "dummy"}]))
        r = run_nbhub(["-f", "nbhub.toml"], cwd=workdir)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('kind = "null" means nobody signs in', r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
