"""A private Docker daemon for tests (Debian's docker.io), shared by the Docker spawner test and
the nbhub image test: its own socket, data root and exec root in a temporary directory,
--bridge=none and no iptables, so nothing but host networking and 127.0.0.1 is ever used, and
nothing is pulled.

`DockerDaemon(import_image=NAME)` also imports NAME: a root file system holding only the
merged-/usr symlinks (the Docker spawner test bind-mounts the host's /usr and /etc into it).
`reason` says why not when dockerd cannot run here.
"""
import os
import shutil
import subprocess
import tarfile
import tempfile
import time


class DockerDaemon:
    """A private dockerd; `reason` says why not when it cannot run."""

    def __init__(self, import_image=None):
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
        if import_image:
            self.import_minimal(import_image)

    def import_minimal(self, image):
        root = os.path.join(self.dir, "rootfs")
        for d in ("usr", "etc", "tmp", "proc", "sys", "dev", "home"):
            os.makedirs(os.path.join(root, d))
        os.chmod(os.path.join(root, "tmp"), 0o1777)
        for link in ("bin", "lib", "lib64", "sbin"):
            os.symlink("usr/" + link, os.path.join(root, link))
        tar = os.path.join(self.dir, "rootfs.tar")
        with tarfile.open(tar, "w") as t:
            t.add(root, arcname=".")
        r = self.cli("import", tar, image)
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
