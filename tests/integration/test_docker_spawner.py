"""Issue 7: the Docker spawner against a real Docker daemon started by this test.

A private dockerd (Debian's docker.io: its own socket, data root and exec root in a temporary
directory, --bridge=none and no iptables) runs a test image built locally without pulls: a
root file system holding only the merged-/usr symlinks, into which the host's /usr and /etc
are bind-mounted read-only through DockerSpawner.volumes, so the container runs the host's
Python and Debian's jupyterhub-singleuser. Containers use host networking only.

Flow: sign in -> the container starts -> a kernel runs code through nbhub's proxy -> nbhub
restarts and adopts the running container -> stop removes the container. The time from
"start" to a usable server is measured next to the local spawner's.

When dockerd cannot run here (not installed, not root, refused by the kernel) the test is
reported as skipped with the reason, never as passed.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness.docker_daemon import DockerDaemon as _DockerDaemon
from harness.hub import Hub
from harness.idp import TestIdp
from harness.websocket import WebSocket, run_code

from harness.session import cookie_header, follow, sign_in, xsrf

SINGLEUSER = shutil.which("jupyterhub-singleuser")
IMAGE = "nbhub-test-singleuser:1"


def DockerDaemon():
    """The private dockerd (harness/docker_daemon.py) with this test's image imported."""
    return _DockerDaemon(import_image=IMAGE)


def hub_config(issuer, spawner, allowed='["alice"]'):
    return f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
[auth]
allowed_users = {allowed}
[[auth.providers]]
name = "idp"
kind = "oidc"
issuer = "{issuer}"
client_id = "nbhub-test"
client_secret = "nbhub-test-secret"
{spawner}
"""


DOCKER_SPAWNER = """
[spawner]
kind = "docker"
cmd = ["jupyterhub-singleuser"]
args = ["--allow-root"]
notebook_dir = "/tmp"
environment = { HOME = "/tmp" }
[spawner.options]
"DockerSpawner.image" = "nbhub-test-singleuser:1"
"DockerSpawner.network_name" = "host"
"DockerSpawner.remove" = "true"
"DockerSpawner.pull_policy" = "never"
"DockerSpawner.volumes" = '{"/usr": {"bind": "/usr", "mode": "ro"}, "/etc": {"bind": "/etc", "mode": "ro"}}'
"""


def timed_spawn(hub, c, timeout=90, user="alice"):
    """Seconds from GET /hub/spawn to the server's /user/<user>/tree page answering."""
    t0 = time.time()
    r = c.get(hub.url("/hub/spawn"))
    assert r.status == 302, r.text
    while time.time() < t0 + timeout:
        if c.get(hub.url("/hub/api/user")).json().get("server"):
            # A page (not an API URL, which answers 403) runs the server's OAuth dance.
            r = follow(c, hub, c.get(hub.url(f"/user/{user}/tree")))
            if r.status == 200:
                return time.time() - t0
        time.sleep(0.1)
    raise AssertionError("server not ready:\n" + hub.log()[-4000:])


def stop_from_home(hub, c):
    """Stops the server with the home page's form (it carries the hub's _xsrf value)."""
    home = c.get(hub.url("/hub/home"))
    token = re.search(r'name="_xsrf" value="([^"]+)"', home.text).group(1)
    return c.post(hub.url("/hub/home/stop"), data={"_xsrf": token}).status


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class DockerSpawnerFlow(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docker = DockerDaemon()
        if cls.docker.reason:
            reason = cls.docker.reason
            cls.docker.close()
            raise unittest.SkipTest("Docker cannot run here: " + reason)

    @classmethod
    def tearDownClass(cls):
        cls.docker.close()

    def container_running(self, name):
        r = self.docker.cli("inspect", "-f", "{{.State.Running}}", name)
        return r.returncode == 0 and r.stdout.strip() == "true"

    def test_sign_in_container_kernel_restart_adopts_and_stop_removes(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-docker-")
        self.addCleanup(shutil.rmtree, workdir, True)
        env = {"DOCKER_HOST": "unix://" + self.docker.socket}
        with TestIdp("generic") as idp:
            hub = Hub(hub_config(idp.issuer, DOCKER_SPAWNER), env=env, workdir=workdir)
            hub.start()
            try:
                alice = sign_in(hub, "alice", "alice-pw")
                docker_seconds = timed_spawn(hub, alice)
                self.assertTrue(self.container_running("jupyter-alice"), hub.log()[-3000:])

                r = alice.post(hub.url("/user/alice/api/kernels"), json_body={},
                               headers={"X-XSRFToken": xsrf(alice)})
                self.assertEqual(r.status, 201, r.text[:500])
                kernel = r.json()["id"]
                ws_url = f"ws://127.0.0.1:{hub.port}/user/alice/api/kernels/{kernel}/channels?session_id=d1"
                ws = WebSocket(ws_url, headers={"Cookie": cookie_header(alice)})
                # The kernel runs inside the container: its hostname is the host's (host
                # networking) but its root file system is the test image's.
                self.assertEqual(run_code(ws, "import os; print(sorted(os.listdir('/home')))"), "[]\n")
                ws.close()

                # Restart nbhub: the container keeps running and is adopted.
                hub.stop(cleanup=False)
                self.assertTrue(self.container_running("jupyter-alice"))
                hub = Hub(hub_config(idp.issuer, DOCKER_SPAWNER), env=env, workdir=workdir)
                hub.start()
                self.assertIn("adopted running server /user/alice/", hub.log())
                ws_url = ws_url.replace(str(urllib.parse.urlsplit(ws_url).port), str(hub.port))
                ws = WebSocket(ws_url, headers={"Cookie": cookie_header(alice)})
                self.assertEqual(run_code(ws, "print(6*7)"), "42\n")
                ws.close()

                # Stop from the home page: the container is removed (remove = true).
                self.assertEqual(stop_from_home(hub, alice), 303)
                deadline = time.time() + 30
                while time.time() < deadline and self.docker.cli("inspect", "jupyter-alice").returncode == 0:
                    time.sleep(0.2)
                self.assertNotEqual(self.docker.cli("inspect", "jupyter-alice").returncode, 0,
                                    "the container should be gone")
            finally:
                hub.stop(cleanup=False)

            # The same spawn with the local spawner, for the time comparison.
            local_dir = tempfile.mkdtemp(prefix="nbhub-local-")
            self.addCleanup(shutil.rmtree, local_dir, True)
            # Its home is made under the hub's data_dir (issue 18); notebook_dir = the hub's
            # directory would be refused, as it holds the hub's files.
            local = '[spawner]\nargs = ["--allow-root"]\n'
            with Hub(hub_config(idp.issuer, local), workdir=local_dir) as hub2:
                bob = sign_in(hub2, "alice", "alice-pw")
                local_seconds = timed_spawn(hub2, bob)
                stop_from_home(hub2, bob)
        print(f"\nstart to usable server: docker {docker_seconds:.2f} s, local {local_seconds:.2f} s")

    def test_a_reload_changes_the_next_container_and_leaves_the_running_one(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-docker-reload-")
        self.addCleanup(shutil.rmtree, workdir, True)
        env = {"DOCKER_HOST": "unix://" + self.docker.socket}
        users = '["alice", "bob"]'
        first = DOCKER_SPAWNER + '"DockerSpawner.mem_limit" = "512M"\n'
        second = (DOCKER_SPAWNER.replace('environment = { HOME = "/tmp" }', 'environment = { HOME = "/tmp", MARK = "two" }')
                  + '"DockerSpawner.mem_limit" = "1G"\n')
        with TestIdp("generic") as idp:
            hub = Hub(hub_config(idp.issuer, first, users), env=env, workdir=workdir)
            hub.start()
            try:
                alice = sign_in(hub, "alice", "alice-pw")
                timed_spawn(hub, alice)
                alice_id = self.docker.cli("inspect", "-f", "{{.Id}}", "jupyter-alice").stdout.strip()

                with open(os.path.join(workdir, "nbhub.toml"), "w") as f:
                    f.write(hub_config(idp.issuer, second, users))
                hub.proc.send_signal(signal.SIGHUP)
                deadline = time.time() + 15
                while time.time() < deadline and "config reload (SIGHUP): changed" not in hub.log():
                    time.sleep(0.1)
                self.assertIn("config reload (SIGHUP): changed spawner.environment, spawner.options", hub.log())

                bob = sign_in(hub, "bob", "bob-pw")
                timed_spawn(hub, bob, user="bob")
                inspect = lambda name, fmt: self.docker.cli("inspect", "-f", fmt, name).stdout.strip()  # noqa: E731
                self.assertEqual(inspect("jupyter-bob", "{{.HostConfig.Memory}}"), str(1 << 30))
                self.assertIn("MARK=two", inspect("jupyter-bob", "{{json .Config.Env}}"))
                # alice's container is the one started before, with its settings.
                self.assertEqual(inspect("jupyter-alice", "{{.Id}}"), alice_id)
                self.assertEqual(inspect("jupyter-alice", "{{.HostConfig.Memory}}"), str(512 << 20))
                self.assertNotIn("MARK=two", inspect("jupyter-alice", "{{json .Config.Env}}"))
                self.assertEqual(follow(alice, hub, alice.get(hub.url("/user/alice/api/status"))).status, 200)
                self.assertEqual(stop_from_home(hub, alice), 303)
                self.assertEqual(stop_from_home(hub, bob), 303)
            finally:
                hub.stop(cleanup=False)
                for name in ("jupyter-alice", "jupyter-bob"):
                    self.docker.cli("rm", "-f", name)


if __name__ == "__main__":
    unittest.main()
