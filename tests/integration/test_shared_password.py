"""Issue 23 item 4: JupyterHub 5.3's SharedPasswordAuthenticator as provider kind
`shared-password`, for workshops without an identity provider.

One password for users, another (at least 32 characters, not the user one) for the users in
admin_users, who must use it and become admins; everyone else gives the user password and is
never made admin by it. Who may sign in is decided by the usual allow rules (allow_all,
allowed_users, ...), as for any JupyterHub authenticator. Configured as nbhub.toml and as
jupyterhub_config.py; bad passwords in the config stop the hub at start with exit 2 and a message
naming the option. The real binary, signing in through the hub's own login form.
"""
import os
import shutil
import tempfile
import unittest

from harness.browserless import Client
from harness.hub import Hub, run_nbhub
from harness.login import DEFAULT_403, LoginCase, hub_toml, page_text, wait_for_log
from harness.session import api_call
from test_test_authenticators import sign_in

USER_PW = "workshop-" + os.urandom(4).hex()          # 17 characters
ADMIN_PW = "instructor-" + os.urandom(16).hex()      # 43 characters
ADMIN_TOKEN = "shared-password-admin-" + os.urandom(8).hex()


class SharedPasswordTomlTest(LoginCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(hub_toml([{"kind": "shared-password", "name": "workshop", "user_password": USER_PW,
                                 "admin_password": ADMIN_PW}],
                               auth={"allow_all": True, "admin_users": ["teacher"]},
                               top={"services": [{"name": "admin-svc", "api_token": ADMIN_TOKEN, "admin": True}]}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_startup_warns_what_it_is(self):
        wait_for_log(self.hub, r"provider workshop is kind = \"shared-password\" .*ANY allowed non-admin user")
        self.assertNotIn(USER_PW, self.hub.log())
        self.assertNotIn(ADMIN_PW, self.hub.log())

    def test_a_user_signs_in_with_the_user_password(self):
        c = Client()
        self.assertLoginRedirect(self.hub, sign_in(self.hub, c, "Student1", USER_PW))
        self.assertLoggedInAs(self.hub, c, "student1", admin=False)

    def test_a_wrong_password_comes_back_to_the_form(self):
        for who, pw in [("student2", "not-the-password"), ("student2", ADMIN_PW), ("student2", "")]:
            with self.subTest(pw=pw[:4]):
                c = Client()
                r = sign_in(self.hub, c, who, pw)
                self.assertEqual(r.status, 200, page_text(r))  # JupyterHub: the form again
                self.assertIn("Invalid username or password.", page_text(r))
                self.assertNotLoggedIn(self.hub, c)
        wait_for_log(self.hub, r"login refused for 'student2' via workshop: wrong password")

    def test_an_admin_signs_in_with_the_admin_password_only(self):
        c = Client()
        r = sign_in(self.hub, c, "teacher", USER_PW)
        self.assertEqual(r.status, 200, page_text(r))
        self.assertIn("Invalid username or password.", page_text(r))
        self.assertNotLoggedIn(self.hub, c)
        wait_for_log(self.hub, r"login refused for 'teacher' via workshop: wrong password \(admin_users must give "
                               r"admin_password\)")
        self.assertLoginRedirect(self.hub, sign_in(self.hub, c, "teacher", ADMIN_PW))
        self.assertLoggedInAs(self.hub, c, "teacher", admin=True)

    def test_the_user_password_never_makes_an_admin(self):
        # An admin flag set through the API is dropped by a sign-in with the user password,
        # as JupyterHub applies the authenticator's admin=False.
        s, body = api_call(self.hub, "POST", "/hub/api/users/helper", {"admin": True}, token=ADMIN_TOKEN)
        self.assertEqual(s, 201, body)
        c = Client()
        self.assertLoginRedirect(self.hub, sign_in(self.hub, c, "helper", USER_PW))
        self.assertLoggedInAs(self.hub, c, "helper", admin=False)


class SharedPasswordPyConfigTest(LoginCase):
    """c.SharedPasswordAuthenticator.* from a jupyterhub_config.py, with allowed_users."""

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(f"""
c.JupyterHub.bind_url = "http://127.0.0.1:0"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:0"
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = "{USER_PW}"
c.SharedPasswordAuthenticator.admin_password = "{ADMIN_PW}"
c.Authenticator.allowed_users = {{"alice"}}
c.Authenticator.admin_users = {{"root"}}
""", config_name="jupyterhub_config.py")
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)

    def test_allowed_users_decide_who_signs_in(self):
        c = Client()
        self.assertLoginRedirect(self.hub, sign_in(self.hub, c, "alice", USER_PW))
        self.assertLoggedInAs(self.hub, c, "alice", admin=False)
        r = sign_in(self.hub, Client(), "mallory", USER_PW)
        self.assertErrorPage(self.hub, r, 403, DEFAULT_403)
        wait_for_log(self.hub, r"login refused for 'mallory' via default: no allow rule matched")

    def test_admins_are_allowed_with_the_admin_password(self):
        c = Client()
        self.assertLoginRedirect(self.hub, sign_in(self.hub, c, "root", ADMIN_PW))
        self.assertLoggedInAs(self.hub, c, "root", admin=True)


class SharedPasswordConfigErrorsTest(unittest.TestCase):
    """Upstream's validators: user_password >= 8 characters, admin_password >= 32 and not the
    user password; each refused at start with exit 2, naming the option."""

    def run_config(self, text, name="nbhub.toml"):
        workdir = tempfile.mkdtemp(prefix="nbhub-test-")
        self.addCleanup(shutil.rmtree, workdir, True)
        with open(os.path.join(workdir, name), "w") as f:
            f.write(text)
        return run_nbhub(["-f", name], cwd=workdir)

    def assertRefused(self, r, *fragments):
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 2, out)
        for f in fragments:
            self.assertIn(f, out)
        self.assertNotIn("nbhub is listening", out)

    def test_too_short_user_password(self):
        r = self.run_config(hub_toml([{"kind": "shared-password", "user_password": "short"}], auth={"allow_all": True}))
        self.assertRefused(r, "user_password", "must be at least 8 characters long, got 5 characters")
        self.assertNotIn('"short"', r.stdout + r.stderr)  # a secret's value is never echoed

    def test_too_short_admin_password(self):
        r = self.run_config(hub_toml([{"kind": "shared-password", "user_password": USER_PW,
                                       "admin_password": "x" * 31}], auth={"admin_users": ["root"]}))
        self.assertRefused(r, "admin_password", "must be at least 32 characters, not 31")

    def test_the_same_password_twice(self):
        same = "y" * 40
        r = self.run_config(hub_toml([{"kind": "shared-password", "user_password": same, "admin_password": same}],
                                     auth={"admin_users": ["root"]}))
        self.assertRefused(r, "admin_password", "cannot be the same as user_password")

    def test_passwords_on_another_kind(self):
        r = self.run_config(hub_toml([{"kind": "dummy", "user_password": USER_PW}]))
        self.assertRefused(r, "user_password", 'is only read by kind = "shared-password"')

    def test_too_short_from_jupyterhub_config_py(self):
        r = self.run_config("""
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = "abc"
""", name="jupyterhub_config.py")
        self.assertRefused(r, "user_password", "must be at least 8 characters long, got 3 characters")


if __name__ == "__main__":
    unittest.main()
