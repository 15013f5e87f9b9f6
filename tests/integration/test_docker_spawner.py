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
import subprocess
import tarfile
import tempfile
import time
import unittest
import urllib.parse

from harness.hub import Hub
from harness.idp import TestIdp
from harness.websocket import WebSocket, run_code

from harness.session import cookie_header, follow, sign_in, xsrf

SINGLEUSER = shutil.which("jupyterhub-singleuser")
IMAGE = "nbhub-test-singleuser:1"


class DockerDaemon:
    """A private dockerd; `reason` says why not when it cannot run."""

    def __init__(self):
        self.reason = None
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix="nbhub-dockerd-")
        self.socket = os.path.join(self.dir, "docker.sock")
        dockerd = shutil.which("dockerd") or ("/usr/sbin/dockerd" if os.path.exists("/usr/sbin/dockerd") else None)
        if os.geteuid() != 0:
            self.reason = "dockerd needs root and the tests do not run as root"
            return
        if not dockerd or not shutil.which("docker"):
            self.reason = "dockerd/docker are not installed (Debian's docker.io; scripts/install-deps.sh)"
            return
        self.log = open(os.path.join(self.dir, "dockerd.log"), "wb")
        self.proc = subprocess.Popen(
            [dockerd, "--bridge=none", "--iptables=false", "--ip6tables=false",
             f"--host=unix://{self.socket}", f"--data-root={self.dir}/data",
             f"--exec-root={self.dir}/exec", f"--pidfile={self.dir}/docker.pid"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.reason = "dockerd exited at startup: " + self.tail()
                return
            if self.cli("version").returncode == 0:
                break
            time.sleep(0.1)
        else:
            self.reason = "dockerd did not answer within 20 s: " + self.tail()
            return
        root = os.path.join(self.dir, "rootfs")
        for d in ("usr", "etc", "tmp", "proc", "sys", "dev", "home"):
            os.makedirs(os.path.join(root, d))
        os.chmod(os.path.join(root, "tmp"), 0o1777)
        for link in ("bin", "lib", "lib64", "sbin"):
            os.symlink("usr/" + link, os.path.join(root, link))
        tar = os.path.join(self.dir, "rootfs.tar")
        with tarfile.open(tar, "w") as t:
            t.add(root, arcname=".")
        r = self.cli("import", tar, IMAGE)
        if r.returncode != 0:
            self.reason = "docker import failed: " + r.stdout

    def cli(self, *args):
        return subprocess.run(["docker", "-H", "unix://" + self.socket, *args],
                              capture_output=True, text=True, timeout=60)

    def tail(self):
        with open(os.path.join(self.dir, "dockerd.log"), "rb") as f:
            return f.read()[-2000:].decode(errors="replace")

    def close(self):
        if self.proc and self.proc.poll() is None:
            for c in self.cli("ps", "-aq").stdout.split():
                self.cli("rm", "-f", c)
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # dockerd leaves its data root and network namespaces mounted under the directory.
        with open("/proc/self/mounts") as m:
            points = [line.split()[1] for line in m if line.split()[1].startswith(self.dir)]
        for p in sorted(points, reverse=True):
            subprocess.run(["umount", "-l", p], capture_output=True)
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.dir, True)


def hub_config(issuer, spawner):
    return f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
[auth]
allowed_users = ["alice"]
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


def timed_spawn(hub, c, timeout=90):
    """Seconds from GET /hub/spawn to the server's /user/alice/tree page answering."""
    t0 = time.time()
    r = c.get(hub.url("/hub/spawn"))
    assert r.status == 302, r.text
    while time.time() < t0 + timeout:
        if c.get(hub.url("/hub/api/user")).json().get("server"):
            # A page (not an API URL, which answers 403) runs the server's OAuth dance.
            r = follow(c, hub, c.get(hub.url("/user/alice/tree")))
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
            local = '[spawner]\nargs = ["--allow-root"]\nnotebook_dir = "%s"\nenvironment = { HOME = "%s" }\n' % (
                local_dir, local_dir)
            with Hub(hub_config(idp.issuer, local), workdir=local_dir) as hub2:
                bob = sign_in(hub2, "alice", "alice-pw")
                local_seconds = timed_spawn(hub2, bob)
                stop_from_home(hub2, bob)
        print(f"\nstart to usable server: docker {docker_seconds:.2f} s, local {local_seconds:.2f} s")


if __name__ == "__main__":
    unittest.main()
