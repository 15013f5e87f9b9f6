"""Issue 21 point 2: live configuration reload and the configuration endpoint, end to end.

A real nbhub with the test IdP and Debian's jupyterhub-singleuser:

  * SIGHUP while a user's kernel WebSocket stays open through the proxy: the allowed users
    change (a newly allowed user signs in, a removed one no longer can), a second provider
    appears on the login page and signs people in, and the local spawner's environment changes
    for servers started afterwards; the WebSocket answers before and after;
  * a broken configuration on SIGHUP keeps the running one, and the log says why (file, line);
  * a sign-in begun with a provider that a reload then removes fails cleanly at the callback;
  * POST /hub/api/config/reload: admin token 200, non-admin 403, a broken file 422 with file
    and line, restart-only changes named (and kept at their running value);
  * GET /hub/api/config: sources for a TOML key, an environment variable, a flag and a default;
    no secret value anywhere in the body.
"""
import json
import os
import re
import shutil
import signal
import tempfile
import time
import unittest

from harness.browserless import Client
from harness.certs import TestCA, served_serial
from harness.hub import Hub
from harness.login import (CLIENT_SECRET, LoginCase, begin, callback_url, hub_toml, login, module_idp,
                           oidc_provider, page_text, toml_value, wait_for_log)
from harness.session import api_call
from harness.websocket import WebSocket, run_code

SINGLEUSER = shutil.which("jupyterhub-singleuser")
ADMIN = "reload-admin-token-" + os.urandom(6).hex()
OTHER_SVC = "reload-plain-svc-token-" + os.urandom(6).hex()
CRYPT_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"  # test-only
IDP = None


setUpModule, tearDownModule = module_idp(globals())


def config(allowed, providers=None, top=None, broken="", environment=None, spawner=None):
    services = [{"name": "admin-svc", "api_token": ADMIN, "admin": True},
                {"name": "plain-svc", "api_token": OTHER_SVC}]
    text = hub_toml(providers or [oidc_provider(IDP, "test")],
                    auth={"allowed_users": allowed, "admin_users": ["carol"]},
                    top={"db_url": "sqlite:///nbhub.sqlite", **(top or {})},
                    tables={"cull": {"enabled": False}, "spawner": spawner or {},
                            "spawner.environment": environment or {"RELOAD_MARK": "one"}})
    # `services` is a hub-wide key: it must come before the first table.
    return "services = " + toml_value(services) + "\n" + text + broken


def call(hub, method, path, body=None, token=ADMIN):
    return api_call(hub, method, path, body, token)


def open_kernel(test, hub, user):
    """`user`'s server started through the API, and a kernel WebSocket to it through the proxy."""
    s, body = call(hub, "POST", f"/hub/api/users/{user}/tokens", {"note": "reload test"})
    test.assertEqual(s, 201, body)
    token = json.loads(body)["token"]
    s, body = call(hub, "POST", f"/hub/api/users/{user}/server")
    test.assertIn(s, (201, 202), body)
    deadline = time.time() + 60
    while time.time() < deadline:
        s, body = call(hub, "GET", f"/user/{user}/api/status", token=token)
        if s == 200:
            break
        time.sleep(0.3)
    test.assertEqual(s, 200, hub.log()[-3000:])
    s, body = call(hub, "POST", f"/user/{user}/api/kernels", {}, token=token)
    test.assertEqual(s, 201, body)
    kernel = json.loads(body)["id"]
    ws = WebSocket(f"ws://127.0.0.1:{hub.port}/user/{user}/api/kernels/{kernel}/channels?session_id=r",
                   headers={"Authorization": f"token {token}"})
    test.addCleanup(ws.close)
    return ws


class ReloadCase(LoginCase):
    def start_hub(self, text, env=None, args=()):
        self.workdir = tempfile.mkdtemp(prefix="nbhub-reload-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        hub = Hub(text, workdir=self.workdir, env=env, args=args)
        hub.start()
        self.addCleanup(hub.stop, False)
        self.addCleanup(hub.kill_servers)
        return hub

    def rewrite(self, hub, text):
        with open(os.path.join(hub.workdir, "nbhub.toml"), "w") as f:
            f.write(text)

    def sighup(self, hub, expect):
        """SIGHUP, then wait for the reload's result line (`expect`: a regex)."""
        n = hub.log().count("config reload (SIGHUP)")
        hub.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            tail = hub.log().split("config reload (SIGHUP)", n + 1)
            if len(tail) > n + 1 and re.search(expect, "config reload (SIGHUP)" + tail[-1]):
                return
            time.sleep(0.05)
        self.fail(f"no reload line matching {expect!r}:\n{hub.log()[-4000:]}")

    def assertSignsIn(self, hub, user, provider="test"):
        c = Client()
        self.assertLoginRedirect(hub, login(hub, c, user, provider))
        return c

    def assertRefusedAt(self, hub, user, provider="test"):
        c = Client()
        r = login(hub, c, user, provider)
        self.assertErrorPage(hub, r, 403, "not currently authorized")


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class SighupWithOpenKernel(ReloadCase):
    def test_allowed_users_and_a_provider_change_while_a_kernel_websocket_stays_open(self):
        hub = self.start_hub(config(["alice"]))
        self.assertSignsIn(hub, "alice")
        self.assertRefusedAt(hub, "bob")

        # alice's server and a kernel, reached through the proxy with her token.
        ws = open_kernel(self, hub, "alice")
        self.assertEqual(run_code(ws, "x = 6*7\nprint(x)"), "42\n")

        # Reload: bob instead of alice, and a second provider with its own button text.
        second = oidc_provider(IDP, "second", login_service="Second Door")
        self.rewrite(hub, config(["bob"], [oidc_provider(IDP, "test"), second], environment={"RELOAD_MARK": "two"}))
        self.sighup(hub, r"changed spawner\.environment, auth\.allowed_users, auth\.providers: second added")

        # The WebSocket opened before the reload still carries messages both ways.
        self.assertEqual(run_code(ws, "print(x + 1)"), "43\n")
        self.assertSignsIn(hub, "bob")
        self.assertRefusedAt(hub, "alice")
        page = page_text(Client().get(hub.url("/hub/login")))
        self.assertIn("Sign in with Second Door", page)
        self.assertSignsIn(hub, "bob", provider="second")
        self.assertEqual(run_code(ws, "print(x + 2)"), "44\n")
        # Servers started after the reload get the new spawner environment; alice's keeps hers.
        ws_bob = open_kernel(self, hub, "bob")
        self.assertEqual(run_code(ws_bob, "import os; print(os.environ['RELOAD_MARK'])"), "two\n")
        self.assertEqual(run_code(ws, "import os; print(os.environ['RELOAD_MARK'])"), "one\n")
        s, body = call(hub, "GET", "/hub/api/config")
        self.assertEqual(json.loads(body)["generation"], 1)


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class SighupSpawnerLimitsAndLogLevel(ReloadCase):
    def test_spawn_limits_and_the_log_level_change_live(self):
        hub = self.start_hub(config(["alice", "bob"], top={"log_level": "info"}))
        ws = open_kernel(self, hub, "alice")
        self.assertEqual(run_code(ws, "print(6*7)"), "42\n")
        self.assertNotIn("config reload (SIGHUP): reading", hub.log())  # a debug line

        # One running server at most from now on, and debug lines.
        self.rewrite(hub, config(["alice", "bob"], top={"log_level": "debug"}, spawner={"active_server_limit": 1}))
        self.sighup(hub, r"changed log_level, spawner\.active_server_limit")
        s, body = call(hub, "POST", "/hub/api/users/bob/server")
        # Refused before anything starts, with JupyterHub's 429.
        self.assertEqual(s, 429, body)
        self.assertIn(b"Active user limit exceeded: the hub is at its limit of 1 running servers", body)
        s, body = call(hub, "GET", "/hub/api/users/bob")
        self.assertEqual(json.loads(body)["pending"], None, body)
        self.assertEqual(run_code(ws, "print(6*7+1)"), "43\n")  # alice's server is untouched

        # Debug lines follow the new level at once (a second reload, with no change).
        self.sighup(hub, r"no change")
        self.assertIn("config reload (SIGHUP): reading", hub.log())

        # The limit lifted again: bob's server starts.
        self.rewrite(hub, config(["alice", "bob"], top={"log_level": "info"}, spawner={"active_server_limit": 0}))
        self.sighup(hub, r"changed log_level, spawner\.active_server_limit")
        s, body = call(hub, "POST", "/hub/api/users/bob/server")
        self.assertIn(s, (201, 202), body)


class SighupRefusals(ReloadCase):
    def test_a_broken_configuration_keeps_the_running_one(self):
        hub = self.start_hub(config(["alice"]))
        good = config(["alice"])
        self.rewrite(hub, good + "\n[cull\n")
        line = (good + "\n[cull\n").count("\n")  # the unclosed table header's line
        self.sighup(hub, r"the running one stays")
        self.assertRegex(hub.log(), rf"config reload \(SIGHUP\): .*nbhub\.toml:{line}:")
        self.assertSignsIn(hub, "alice")
        s, body = call(hub, "GET", "/hub/api/config")
        self.assertEqual(json.loads(body)["generation"], 0)

    def test_a_provider_with_an_unreachable_issuer_is_refused(self):
        hub = self.start_hub(config(["alice"]))
        dead = {"name": "dead", "kind": "oidc", "client_id": "x", "client_secret": "y",
                "issuer": "http://127.0.0.1:9/nowhere"}
        self.rewrite(hub, config(["alice", "bob"], [oidc_provider(IDP, "test"), dead]))
        self.sighup(hub, r"cannot be applied; the running one stays")
        self.assertRefusedAt(hub, "bob")  # nothing of the new file was applied

    def test_a_sign_in_begun_with_a_removed_provider_fails_cleanly(self):
        two = [oidc_provider(IDP, "test"), oidc_provider(IDP, "second")]
        hub = self.start_hub(config(["alice"], two))
        c = Client()
        back = callback_url(hub, c, "alice", provider="second")
        self.rewrite(hub, config(["alice"]))
        self.sighup(hub, r"second removed")
        r = c.get(back)
        self.assertErrorPage(hub, r, 400, "no longer exists")
        self.assertSignsIn(hub, "alice")


class SighupWithTls(ReloadCase):
    def test_one_sighup_reads_the_certificate_and_the_configuration_once(self):
        certs = tempfile.mkdtemp(prefix="nbhub-reload-tls-")
        self.addCleanup(shutil.rmtree, certs, True)
        ca = TestCA(certs)
        cert, key = ca.issue(os.path.join(certs, "live"), 1)
        hub = self.start_hub(config(["alice"], top={"ssl_cert": cert, "ssl_key": key}))
        self.assertEqual(served_serial(hub.port, ca), 1)

        # A new pair under the same names, then SIGHUP: the certificate is installed once, the
        # configuration read once, and the log says so in one account.
        new_cert, new_key = ca.issue(os.path.join(certs, "next"), 2)
        os.replace(new_key, key)
        os.replace(new_cert, cert)
        self.sighup(hub, r"no change")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and served_serial(hub.port, ca) != 2:
            time.sleep(0.1)
        self.assertEqual(served_serial(hub.port, ca), 2)
        log = hub.log()
        self.assertEqual(log.count("SIGHUP: reading the TLS certificate files and the configuration again"), 1, log)
        self.assertEqual(log.count("config reload (SIGHUP): no change"), 1, log)
        self.assertEqual(len(re.findall(r"TLS: certificate renewed without restart", log)), 1, log)


class ReloadApi(ReloadCase):
    def user_token(self, hub, user):
        self.assertSignsIn(hub, user)
        s, body = call(hub, "POST", f"/hub/api/users/{user}/tokens", {"note": "api"})
        self.assertEqual(s, 201, body)
        return json.loads(body)["token"]

    def test_admin_reloads_others_are_refused(self):
        hub = self.start_hub(config(["alice"]))
        alice = self.user_token(hub, "alice")
        s, body = call(hub, "POST", "/hub/api/config/reload", token=alice)
        self.assertEqual(s, 403, body)
        s, body = call(hub, "POST", "/hub/api/config/reload", token=OTHER_SVC)
        self.assertEqual(s, 403, body)
        s, body = call(hub, "GET", "/hub/api/config", token=alice)
        self.assertEqual(s, 403, body)

        s, body = call(hub, "POST", "/hub/api/config/reload")
        self.assertEqual(s, 200, body)
        self.assertEqual(json.loads(body)["result"], "unchanged")

        # A live change and a restart-only one: the first applies, the second is named.
        self.rewrite(hub, config(["alice", "bob"], top={"db_pool_size": 7}))
        s, body = call(hub, "POST", "/hub/api/config/reload")
        self.assertEqual(s, 200, body)
        out = json.loads(body)
        self.assertEqual(out["result"], "applied")
        self.assertIn("auth.allowed_users", out["summary"])
        self.assertEqual(out["restart_required"], ["db_pool_size"])
        wait_for_log(hub, r"read at start-up only; their running values stay until nbhub restarts: db_pool_size")
        self.assertSignsIn(hub, "bob")
        s, body = call(hub, "GET", "/hub/api/config")
        cfg = json.loads(body)
        self.assertEqual(cfg["options"]["db_pool_size"]["value"], 4)  # the running value
        self.assertEqual(cfg["restart_required"], ["db_pool_size"])

    def test_a_broken_file_is_refused_with_file_and_line(self):
        hub = self.start_hub(config(["alice"]))
        bad = config(["alice"]) + "\n[cull]\nevery_seconds = \"often\"\n"
        self.rewrite(hub, bad)
        s, body = call(hub, "POST", "/hub/api/config/reload")
        self.assertEqual(s, 422, body)
        out = json.loads(body)
        self.assertEqual(out["result"], "refused")
        self.assertEqual(out["status"], 422)
        errors = out["errors"]
        self.assertTrue(any(e["file"] == "nbhub.toml" and e["line"] > 0 for e in errors), errors)


class ConfigEndpoint(ReloadCase):
    def test_values_with_their_sources_and_no_secrets(self):
        text = config(["alice"])
        hub = self.start_hub(text, env={"NBHUB_CULL_TIMEOUT_SECONDS": "1234", "NBHUB_CRYPT_KEY": CRYPT_KEY},
                             args=["--log-level", "info"])
        s, body = call(hub, "GET", "/hub/api/config")
        self.assertEqual(s, 200, body)
        cfg = json.loads(body)
        opts = cfg["options"]
        line = next(i for i, l in enumerate(text.splitlines(), 1) if l.startswith("allowed_users"))
        self.assertEqual(opts["auth.allowed_users"]["value"], ["alice"])
        self.assertEqual(opts["auth.allowed_users"]["source"],
                         {"type": "file", "file": "nbhub.toml", "line": line, "option": "auth.allowed_users"})
        self.assertEqual(opts["cull.timeout_seconds"],
                         {"value": 1234, "source": {"type": "environment", "variable": "NBHUB_CULL_TIMEOUT_SECONDS"}})
        self.assertEqual(opts["log_level"]["source"], {"type": "flag", "flag": "--log-level"})
        self.assertEqual(opts["http.max_connections"]["source"], {"type": "default"})
        provider = cfg["providers"][0]
        self.assertEqual(provider["name"], "test")
        self.assertEqual(provider["options"]["client_secret"]["value"], "[redacted]")
        with open(os.path.join(hub.workdir, "nbhub_cookie_secret"), "rb") as f:
            cookie_secret = f.read().strip().decode(errors="replace")
        for secret in (CLIENT_SECRET, ADMIN, OTHER_SVC, CRYPT_KEY, cookie_secret):
            self.assertNotIn(secret, body.decode(), "a secret value in GET /hub/api/config")


if __name__ == "__main__":
    unittest.main()
