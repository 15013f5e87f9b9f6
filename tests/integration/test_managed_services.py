"""Issue 21, part 3: managed services. A `services` entry with a `command` is started by the
hub with JupyterHub's environment, reached through the hub's proxy at
<base_url>services/<name>/, restarted with backoff when it exits (the reason in the log and
in nbhub_service_restarts_total / nbhub_service_up), and stopped with the hub.

The service is tests/data/services/whoami_service.py: it calls the hub API with its token on
every request and reports what it saw. Real processes throughout; loopback only.
"""
import json
import os
import re
import signal
import sys
import time
import unittest

from harness.hub import Hub
from harness.managed import WHOAMI, alive, free_port, get, wait_for

SERVICE = WHOAMI
BASE = "/@/space%20word/"
ADMIN = "svc-admin-token-" + os.urandom(6).hex()


def metric(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} ") or (not labels and line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    return None


def service_answer(url):
    """What the whoami service reports at `url`, or None while it does not answer."""
    status, body, _ = get(url)
    return json.loads(body) if status == 200 else None


def service_model(hub, name="whoami"):
    """GET /hub/api/services/<name> with the admin service's token."""
    status, body, _ = get(hub.url(BASE + f"hub/api/services/{name}"), {"Authorization": "token " + ADMIN})
    assert status == 200, body
    return json.loads(body)


def with_service(svc, name):
    """The configuration with the managed service `svc`, named `name`, given the role that
    config() gives whoami."""
    return config(svc).replace('services = ["whoami"]', f'services = ["{name}"]')


def config(services, extra=""):
    return f"""
ip = "127.0.0.1"
port = 0
base_url = "{BASE}"
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
authenticate_prometheus = false
services = [ {{ name = "admin-svc", api_token = "{ADMIN}", admin = true }}, {services} ]
load_roles = [ {{ name = "user-lister", scopes = ["list:users", "read:users"], services = ["whoami"] }} ]
{extra}
[managed_services]
restart_delay_seconds = 1
restart_max_delay_seconds = 4
stop_timeout_seconds = 2
[auth]
allowed_users = ["ann", "bob"]
"""


class ManagedServiceTest(unittest.TestCase):
    def test_started_proxied_restarted_and_stopped(self):
        port = free_port()
        svc = (f'{{ name = "whoami", url = "http://127.0.0.1:{port}", '
               f'command = ["{sys.executable}", "{SERVICE}"], environment = {{ GREETING = "hi" }} }}')
        hub = Hub(config(svc))
        with hub:
            url = hub.url(BASE + "services/whoami/some/path?x=1")
            answer = lambda: service_answer(url)  # noqa: E731

            first = wait_for(answer)
            self.assertIsNotNone(first, "service never answered through the proxy:\n" + hub.log())
            # It used the hub API with its own token: the users list came back.
            self.assertEqual(first["api_status"], 200, first)
            self.assertEqual(first["users"], ["ann", "bob"])
            self.assertEqual(first["path"], "/@/space%20word/services/whoami/some/path?x=1")
            env = first["env"]
            self.assertEqual(env["JUPYTERHUB_SERVICE_NAME"], "whoami")
            self.assertEqual(env["JUPYTERHUB_SERVICE_URL"], f"http://127.0.0.1:{port}")
            self.assertEqual(env["JUPYTERHUB_SERVICE_PREFIX"], BASE + "services/whoami/")
            self.assertEqual(env["JUPYTERHUB_BASE_URL"], BASE)
            self.assertRegex(env["JUPYTERHUB_API_URL"], r"^http://127\.0\.0\.1:\d+" + re.escape(BASE) + "hub/api$")
            self.assertEqual(env["JUPYTERHUB_CLIENT_ID"], "service-whoami")
            self.assertEqual(env["JUPYTERHUB_OAUTH_CALLBACK_URL"], BASE + "services/whoami/oauth_callback")
            self.assertEqual(json.loads(env["JUPYTERHUB_OAUTH_ACCESS_SCOPES"]),
                             ["access:services", "access:services!service=whoami"])
            self.assertEqual(env["JUPYTERHUB_API_TOKEN"], "<32 characters>")
            self.assertNotIn("JUPYTERHUB_ACTIVITY_URL", env)
            pid1 = first["pid"]

            # The REST API shows the command and the running process's pid (JupyterHub's
            # service model), also in the list.
            model = service_model(hub)
            self.assertEqual(model["command"], [sys.executable, SERVICE])
            self.assertEqual(model["pid"], pid1)
            status, body, _ = get(hub.url(BASE + "hub/api/services"), {"Authorization": "token " + ADMIN})
            self.assertEqual(json.loads(body)["whoami"]["pid"], pid1)
            self.assertEqual(json.loads(body)["admin-svc"]["pid"], 0)  # external: no process

            status, body, _ = get(hub.url(BASE + "hub/metrics"))
            self.assertEqual(metric(body.decode(), "nbhub_service_up", service="whoami"), 1.0)

            # Killed: restarted with a new pid, the reason logged and counted.
            os.kill(pid1, signal.SIGKILL)
            second = wait_for(lambda: (a := answer()) and a["pid"] != pid1 and a)
            self.assertIsNotNone(second, "service was not restarted:\n" + hub.log())
            self.assertEqual(second["users"], ["ann", "bob"])
            self.assertRegex(hub.log(), rf"service whoami \(pid {pid1}\) was killed by signal 9 \(SIGKILL\)")
            status, body, _ = get(hub.url(BASE + "hub/metrics"))
            text = body.decode()
            self.assertEqual(metric(text, "nbhub_service_restarts_total", service="whoami", reason="signal"), 1.0)
            self.assertEqual(metric(text, "nbhub_service_up", service="whoami"), 1.0)
            pid2 = second["pid"]
            self.assertEqual(service_model(hub)["pid"], pid2)
            with open(os.path.join(hub.workdir, "service-logs", "service-whoami.log")) as f:
                self.assertIn("whoami: serving on", f.read())
            hub.stop(cleanup=False)
            self.assertFalse(wait_for(lambda: not alive(pid2), timeout=5) is None,
                             f"service pid {pid2} outlived the hub")
            log = hub.log()
            self.assertIn(f"service whoami (pid {pid2}) stopped", log)
            # The generated token never reaches the log.
            for line in log.splitlines():
                self.assertNotRegex(line, r"\b[0-9a-f]{32}\b", line)

    def test_exiting_service_restarts_with_backoff(self):
        svc = f'{{ name = "crasher", command = ["{sys.executable}", "{SERVICE}", "exit:3"] }}'
        hub = Hub(with_service(svc, "crasher"))
        with hub:
            t0 = time.time()
            found = wait_for(lambda: len(re.findall(r"service crasher \(pid \d+\) exited with code 3", hub.log())) >= 3,
                             timeout=15)
            self.assertTrue(found, hub.log())
            # Delays 1 s, 2 s: the third exit comes after at least 3 s.
            self.assertGreaterEqual(time.time() - t0, 2.5)
            self.assertIn("restarting in 2000ms", hub.log())
            status, body, _ = get(hub.url(BASE + "hub/metrics"))
            self.assertGreaterEqual(metric(body.decode(), "nbhub_service_restarts_total", service="crasher",
                                           reason="exit"), 3.0)

    def test_service_ignoring_sigterm_is_killed_at_shutdown(self):
        port = free_port()
        svc = (f'{{ name = "stubborn", url = "http://127.0.0.1:{port}", '
               f'command = ["{sys.executable}", "{SERVICE}", "ignore-term"] }}')
        hub = Hub(with_service(svc, "stubborn"))
        with hub:
            ok = wait_for(lambda: get(hub.url(BASE + "services/stubborn/"))[0] == 200)
            self.assertTrue(ok, hub.log())
            pid = json.loads(get(hub.url(BASE + "services/stubborn/"))[1])["pid"]
            hub.stop(cleanup=False)
            self.assertIsNotNone(wait_for(lambda: not alive(pid), timeout=5), f"pid {pid} still alive")
            self.assertIn("still runs 2000ms after SIGTERM; sending SIGKILL", hub.log())

    def test_bad_command_is_retried_and_reported(self):
        svc = '{ name = "missing", command = ["/nonexistent/program"] }'
        hub = Hub(with_service(svc, "missing"))
        with hub:
            self.assertTrue(wait_for(lambda: "service missing: " in hub.log(), timeout=10), hub.log())
            self.assertRegex(hub.log(), r"service missing: .*nonexistent/program.*; trying again in")
            status, body, _ = get(hub.url(BASE + "hub/metrics"))
            self.assertGreaterEqual(metric(body.decode(), "nbhub_service_restarts_total", service="missing",
                                           reason="launch_failed"), 1.0)

    def test_a_reload_starts_changes_and_stops_services(self):
        port = free_port()
        whoami = (f'{{ name = "whoami", url = "http://127.0.0.1:{port}", '
                  f'command = ["{sys.executable}", "{SERVICE}"], environment = {{ JUPYTERHUB_TEST_GREETING = "%s" }} }}')
        hub = Hub(config('{ name = "placeholder", api_token = "placeholder-token-123" }'))
        with hub:
            url = hub.url(BASE + "services/whoami/")
            answer = lambda: service_answer(url)  # noqa: E731

            def reload(services, expect):
                n = hub.log().count("config reload (SIGHUP):")
                with open(os.path.join(hub.workdir, "nbhub.toml"), "w") as f:
                    f.write(config(services))
                hub.proc.send_signal(signal.SIGHUP)
                self.assertTrue(wait_for(lambda: hub.log().count("config reload (SIGHUP):") > n, timeout=10),
                                hub.log())
                self.assertTrue(wait_for(lambda: re.search(expect, hub.log()), timeout=10), hub.log())

            self.assertIsNone(answer())
            # Added by a reload: started with a generated token, reachable through the proxy.
            reload(whoami % "one", r"service whoami started as pid")
            first = wait_for(answer)
            self.assertIsNotNone(first, "a service added by a reload never answered:\n" + hub.log())
            self.assertEqual(first["api_status"], 200, first)
            self.assertEqual(first["env"]["JUPYTERHUB_TEST_GREETING"], "one")
            # Changed by a reload: restarted with the new environment (same generated token).
            reload(whoami % "two", r"service whoami: configuration changed; restarting it")
            second = wait_for(lambda: (a := answer()) and a["env"]["JUPYTERHUB_TEST_GREETING"] == "two" and a)
            self.assertIsNotNone(second, hub.log())
            self.assertNotEqual(second["pid"], first["pid"])
            self.assertEqual(second["api_status"], 200, second)
            # Removed by a reload: stopped.
            reload('{ name = "placeholder", api_token = "placeholder-token-123" }',
                   r"service whoami: no longer configured; stopping it")
            self.assertIsNotNone(wait_for(lambda: not alive(second["pid"]), timeout=5),
                                 f"pid {second['pid']} outlived its removal")


if __name__ == "__main__":
    unittest.main()
