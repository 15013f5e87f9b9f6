"""nbhub started from existing jupyterhub_config.py files, then a real login through them.

The files are the samples in tests/data (a GenericOAuthenticator config for Amazon Cognito and
a CustosOAuthenticator one), changed only where they must point at the test IdP: the IdP's
URLs, its client id and secret, the test users, and the hub's own address in
oauth_callback_url (a free port instead of 8000, which the shared test machine cannot use).
Everything else, including the commented-out lines, is read as written; the Cognito file
gains one `scope` line that real Cognito does not need (see config_text).
"""

import base64
import socket
import tempfile
import unittest
from pathlib import Path

from harness.browserless import Client, login_at_idp
from harness.hub import Hub, run_nbhub
from harness.idp import TestIdp, tests_dir
from harness.kube import KubeRig
from harness.login import (CLIENT_ID, CLIENT_SECRET, CUSTOS_CLIENT_ID, CUSTOS_SECRET, DEFAULT_403,
                           PASSWORDS, LoginCase, begin, login, page_text, wait_for_log)

CRYPT_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"  # test-only


def free_port():
    # The callback URL in the file must name the hub's port before the hub starts; a port the
    # kernel just handed out is free in practice (a tiny race accepted for these tests).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(name):
    return (tests_dir() / "data" / name).read_text()


def replace_all(text, pairs):
    for old, new in pairs:
        if old not in text:
            raise AssertionError(f"{old!r} is not in the sample any more; update this test")
        text = text.replace(old, new)
    return text


class PyConfigCase(LoginCase):
    def start_hub(self, text, port, env=None):
        # The hub API listener defaults to port 8081, which hubs running side by side share.
        hub = Hub(text, config_name="jupyterhub_config.py",
                  env={"NBHUB_HUB_BIND_URL": "http://127.0.0.1:0", **(env or {})},
                  args=["--ip", "127.0.0.1", "--port", str(port)])
        hub.start()
        self.addCleanup(hub.stop)
        return hub

    def login_page_buttons(self, hub):
        return [line for line in page_text(Client().get(hub.url("/hub/login"))).split("Sign in with ")[1:]]


class CognitoJupyterhubConfigTest(PyConfigCase):
    """tests/data/cognito_jupyterhub_config.py: GenericOAuthenticator on Cognito's hosted UI,
    `username_key = "username"` (from userinfo), admin_users = {'bob'}, allowed_users = {'alice'}."""

    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp(mode="cognito")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)

    def config_text(self, port):
        return replace_all(sample("cognito_jupyterhub_config.py"), [
            ("https://unity-test.auth.us-west-2.amazoncognito.com", self.idp.issuer),
            ("'http://localhost:8000/hub/oauth_callback'", f"'http://127.0.0.1:{port}/hub/oauth_callback'"),
            ("c.OAuthenticator.client_id = '...'", f"c.OAuthenticator.client_id = '{CLIENT_ID}'"),
            ("c.OAuthenticator.client_secret = '...'", f"c.OAuthenticator.client_secret = '{CLIENT_SECRET}'"),
            ("c.Authenticator.admin_users = {'awstestuser777'}", "c.Authenticator.admin_users = {'bob'}"),
            ("c.Authenticator.allowed_users = {'awstestuser777', 'someone'}", "c.Authenticator.allowed_users = {'alice'}"),
        ]) + (
            # Real Cognito grants a request without `scope` every scope the app client may use;
            # the test IdP (oidc-provider) refuses it ("openid scope must be requested"), so
            # the scope Cognito would grant is spelled out.
            "c.GenericOAuthenticator.scope = ['openid', 'email', 'profile']\n")

    def test_bob_admin_alice_user_carol_refused(self):
        port = free_port()
        text = self.config_text(port)
        self.assertEqual(sum(1 for line in text.splitlines() if line.startswith("# c.")), 4)
        hub = self.start_hub(text, port)
        self.assertEqual(hub.port, port)
        self.assertEqual(self.login_page_buttons(hub), ["Unity Common Services"])

        r = begin(hub, Client(), None)
        self.assertTrue(r.location.startswith(self.idp.issuer + "/oauth2/authorize?"), r.location)

        bob = Client()
        self.idp.clear_requests()
        self.assertLoginRedirect(hub, login(hub, bob, "bob", None))
        self.assertLoggedInAs(hub, bob, "bob", admin=True)
        reqs = self.idp.requests()
        self.assertEqual([(q["path"], q["client_auth"]) for q in reqs], [("/oauth2/token", "client_secret_post")])
        wait_for_log(hub, r"login: 'bob' signed in via default \(admin_users")

        alice = Client()
        self.assertLoginRedirect(hub, login(hub, alice, "alice", None))
        self.assertLoggedInAs(hub, alice, "alice", admin=False)
        wait_for_log(hub, r"login: 'alice' signed in via default \(allowed_users")

        carol = Client()
        r = login(hub, carol, "carol", None)
        self.assertErrorPage(hub, r, 403, DEFAULT_403)
        wait_for_log(hub, r"login refused for 'carol' via default: no allow rule matched")
        self.assertNotLoggedIn(hub, carol)


class CustosJupyterhubConfigTest(PyConfigCase):
    """tests/data/custos_jupyterhub_config.py: CustosOAuthenticator, custos_host from the
    CUSTOS_HOST variable and the secret from CUSTOS_CLIENT_SECRET, as on z2jh.

    CustosOAuthenticator has no trait for the Keycloak host (upstream hard-codes a map of
    known deployments), so the test IdP's address comes from the provider's environment
    variable NBHUB_AUTH_PROVIDER_DEFAULT_CUSTOS_IAM_HOST (docs/config.md: the imported
    provider is named `default`).
    """

    @classmethod
    def setUpClass(cls):
        cls.idp = TestIdp(mode="custos")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        # The file names KubeSpawner: nbhub runs as in a hub pod, with a (fake) API server.
        cls.kube = KubeRig()
        cls.addClassCleanup(cls.kube.close)

    def config_text(self, port):
        return replace_all(sample("custos_jupyterhub_config.py"), [
            ('"https://jupyter.example.org/hub/oauth_callback"', f'"http://127.0.0.1:{port}/hub/oauth_callback"'),
            ('"custos-6nwoqodstpe5mvcq09lh-10000101"', f'"{CUSTOS_CLIENT_ID}"'),
        ])

    def test_without_kubernetes_api_access_start_up_says_what_to_set(self):
        with tempfile.TemporaryDirectory() as d:
            Path(d, "jupyterhub_config.py").write_text(self.config_text(free_port()))
            r = run_nbhub(["-f", "jupyterhub_config.py"], cwd=d, env={
                "CUSTOS_CLIENT_SECRET": CUSTOS_SECRET, "CUSTOS_HOST": self.idp.issuer,
                "NBHUB_AUTH_PROVIDER_DEFAULT_CUSTOS_IAM_HOST": self.idp.issuer,
                # The file sets no port: without this it would need 8000 to be free.
                "NBHUB_PORT": "0",
                "NBHUB_HUB_BIND_URL": "http://127.0.0.1:0", "KUBECONFIG": "", "HOME": d})
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("cannot reach the Kubernetes API", r.stdout + r.stderr)
        self.assertIn("KUBECONFIG", r.stdout + r.stderr)
        self.assertNotIn(CUSTOS_SECRET, r.stdout + r.stderr)

    def test_custos_login(self):
        port = free_port()
        hub = self.start_hub(self.config_text(port), port, env={
            **self.kube.env,
            "CUSTOS_CLIENT_SECRET": CUSTOS_SECRET,
            "CUSTOS_HOST": self.idp.issuer,
            "NBHUB_AUTH_PROVIDER_DEFAULT_CUSTOS_IAM_HOST": self.idp.issuer,
            "JUPYTERHUB_CRYPT_KEY": CRYPT_KEY,
        })
        self.assertEqual(self.login_page_buttons(hub), ["Custos Login"])
        r = begin(hub, Client(), None)
        self.assertTrue(r.location.startswith(
            self.idp.issuer + "/auth/realms/10000000/protocol/openid-connect/auth?"), r.location)

        c = Client()
        self.idp.clear_requests()
        self.assertLoginRedirect(hub, login(hub, c, "bob", None))
        self.assertLoggedInAs(hub, c, "bob", admin=False)
        reqs = self.idp.requests()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0]["path"], "/apiserver/identity-management/v1.0.0/token")
        self.assertEqual(reqs[0]["client_auth"], "bearer_pair")
        self.assertEqual(reqs[0]["headers"]["authorization"],
                         "Bearer " + base64.b64encode(f"{CUSTOS_CLIENT_ID}:{CUSTOS_SECRET}".encode()).decode())
        wait_for_log(hub, r"login: 'bob' signed in via default \(allow_all")
        self.assertNotIn(CUSTOS_SECRET, hub.log())


class BrokenJupyterhubConfigTest(unittest.TestCase):
    """A config with an error stops nbhub with exit code 2 and names file:line."""

    def test_error_names_file_and_line(self):
        with tempfile.TemporaryDirectory(prefix="nbhub-test-") as d:
            Path(d, "jupyterhub_config.py").write_text(
                "from oauthenticator.generic import GenericOAuthenticator\n"
                "c.JupyterHub.authenticator_class = GenericOAuthenticator\n"
                "c.JupyterHub.port = 'eighty'\n"
                "c.GenericOAuthenticator.client_id = 'x'\n")
            r = run_nbhub(["-f", "jupyterhub_config.py"], cwd=d)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn("jupyterhub_config.py:3:", r.stderr)
            self.assertIn("JupyterHub.port", r.stderr)
            self.assertNotIn("nbhub is listening", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
