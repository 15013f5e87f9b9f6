"""Starts a real nbhub binary for integration tests.

`Hub(config_toml)` writes the config into a private temp dir, starts `$NBHUB_BIN -f nbhub.toml`
there (port 0: nbhub picks a free loopback port), waits for the "listening on" log line and
exposes `.url(path)`. The log is kept for assertions (`.log()`), e.g. that no secret leaked.

These machines run the tests as root, and nbhub refuses to start servers as root without an
opt-in (issue 18): unless a test says otherwise in `env`, the hub gets
NBHUB_SPAWNER_ALLOW_ROOT_SERVERS=true when the tests run as root.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from harness import sanitizer

_LISTEN = re.compile(r"nbhub is listening on (https?)://[^:]+:(\d+)(/\S*)")


def nbhub_bin():
    path = os.environ.get("NBHUB_BIN") or os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "build", "nbhub")
    return os.path.abspath(path)


def root_opt_in():
    """The explicit opt-in for servers running as root, when the tests run as root."""
    return {"NBHUB_SPAWNER_ALLOW_ROOT_SERVERS": "true"} if os.geteuid() == 0 else {}


class HubError(RuntimeError):
    pass


class Hub:
    def __init__(self, config_toml, *, env=None, args=(), config_name="nbhub.toml",
                 startup_timeout=20.0, workdir=None):
        self.config_toml = config_toml
        self.extra_env = dict(env or {})
        self.args = list(args)
        self.config_name = config_name
        self.startup_timeout = startup_timeout
        self.workdir = workdir
        self._own_dir = workdir is None
        self.proc = None
        self.port = None
        self.scheme = "http"
        self.base_url = "/"
        self._lines = []
        self._lock = threading.Lock()
        self._groups_at_stop = set()  # the servers' process groups when the hub was stopped

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="nbhub-test-")
        with open(os.path.join(self.workdir, self.config_name), "w") as f:
            f.write(self.config_toml)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NBHUB_", "OAUTH", "JUPYTERHUB_"))}
        env.update(root_opt_in())
        env.update(self.extra_env)
        self._lines = []
        self.proc = subprocess.Popen(
            [nbhub_bin(), "-f", self.config_name, *self.args], cwd=self.workdir, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()

        def pump():
            for line in self.proc.stdout:
                with self._lock:
                    self._lines.append(line)
                m = _LISTEN.search(line)
                if m:
                    self.scheme = m.group(1)
                    self.port = int(m.group(2))
                    self.base_url = m.group(3)
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.time() + self.startup_timeout
        while time.time() < deadline and not ready.wait(0.1):
            pass
        if self.port is None:
            self.stop()
            raise HubError("nbhub did not start:\n" + self.log())
        return self

    def url(self, path=""):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def log(self):
        with self._lock:
            return "".join(self._lines)

    def wait_exit(self, timeout=10):
        return self.proc.wait(timeout)

    def kill(self):
        """SIGKILL, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def _server_groups(self):
        """The process groups of this hub's children that lead a group of their own (the local
        spawner's servers). Other children (the Python hook helper, managed services) share the
        hub's group, which may be the test runner's own: killing that group killed ctest."""
        groups = set()
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                pgrp = int(fields[2])
                if int(fields[1]) == self.proc.pid and pgrp == int(d) and pgrp != os.getpgrp():
                    groups.add(pgrp)
            except (OSError, ValueError, IndexError):
                pass
        return groups

    def kill_servers(self):
        """SIGKILLs the process groups of the servers this hub started itself (the local
        spawner's children, each a group of its own): nbhub leaves servers running when it
        stops, for the next nbhub to adopt, so a test that is done with them ends them. Also
        after the hub stopped (a cleanup registered inside `with Hub(...)` runs then): its
        children were noted at the stop, before they went to init."""
        if not self.proc:
            return
        groups = self._server_groups() if self.proc.poll() is None else set()
        for g in groups | self._groups_at_stop:
            try:
                os.killpg(g, signal.SIGKILL)
            except OSError:
                pass
        self._groups_at_stop = set()

    def stop(self, cleanup=True):
        if self.proc and self.proc.poll() is None:
            self._groups_at_stop = self._server_groups()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if cleanup and self._own_dir and self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        # A sanitized hub that printed a report fails the test that ran it, at its end.
        report = sanitizer.find_report(self.log()) if self.proc else None
        if report:
            raise HubError("nbhub printed a sanitizer report:\n" + report)


def run_nbhub(args, *, cwd, env=None, timeout=20):
    """Runs the binary to completion (config errors, --version, ...)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("NBHUB_", "OAUTH", "JUPYTERHUB_"))}
    e.update(root_opt_in())
    e.update(env or {})
    return subprocess.run([nbhub_bin(), *args], cwd=cwd, env=e, capture_output=True, text=True,
                          timeout=timeout)
