"""The two hubs bench/login compares: nbhub, and Debian's JupyterHub 3.0 with OAuthenticator.

Both run as real processes on loopback against the same test IdP, each with its own free
ports, SQLite database and admin service token. `start()` returns the seconds from exec until
the public port answers `GET /hub/api/` with 200; `stop()` ends the process tree.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

SERVICE_TOKEN = "bench-login-service-token-0123456789"
CRYPT_KEY = "42" * 32
CLIENT_ID = "nbhub-test"
CLIENT_SECRET = "nbhub-test-secret"
READY_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def process_tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            pass
    return total / ticks


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _no_proxy_opener():
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BenchHub:
    """A hub process driven by the bench. Subclasses write their config and command."""

    name = "hub"
    login_path = "/hub/oauth_login"

    def __init__(self, workdir: str):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._opener = _no_proxy_opener()

    # -- to override ---------------------------------------------------------------------------
    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict:
        return dict(os.environ)

    # -- process -------------------------------------------------------------------------------
    def start(self) -> float:
        log = open(os.path.join(self.workdir, "hub.log"), "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.command(), cwd=self.workdir, env=self.env(),
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return self._wait_ready(t0)
        except BaseException:
            self.stop()  # never leave a hub behind holding its port
            raise

    def _wait_ready(self, t0: float) -> float:
        deadline = t0 + READY_TIMEOUT_S
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                with self._opener.open(self.base + "/hub/api/", timeout=5) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.002)
        raise SystemExit(f"{self.name} did not answer within {READY_TIMEOUT_S:.0f} s:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # JupyterHub stops its proxy on exit; anything left in the session goes now.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log(self) -> str:
        try:
            with open(os.path.join(self.workdir, "hub.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pids())

    def rss(self) -> tuple[float, float]:
        """(MiB of the hub process, MiB of the whole tree: the proxy included)."""
        pids = self.pids()
        return rss_mib(pids[0]), sum(rss_mib(p) for p in pids)

    # -- REST ----------------------------------------------------------------------------------
    def api(self, method: str, path: str, body=None, timeout: float = 300.0):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + "/hub/api" + path, data=data, method=method,
                                     headers={"Authorization": f"token {SERVICE_TOKEN}",
                                              "Content-Type": "application/json"})
        try:
            with self._opener.open(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()


class Nbhub(BenchHub):
    name = "nbhub"
    login_path = "/hub/oauth_login?provider=idp"

    def __init__(self, workdir: str, binary: str, issuer: str, extra: str = "", top: str = ""):
        """`extra`: TOML lines added at the end of the configuration, `top`: at its top,
        where top-level keys go (for experiments)."""
        super().__init__(workdir)
        self.binary = os.path.abspath(binary)
        with open(os.path.join(workdir, "nbhub.toml"), "w") as f:
            f.write(f"""{top}
ip = "127.0.0.1"
port = {self.port}
hub_bind_url = "http://127.0.0.1:0"
log_level = "warn"
db_url = "sqlite:///bench.sqlite"
services = [{{ name = "bench", api_token = "{SERVICE_TOKEN}", admin = true }}]
[auth]
allow_all = true
enable_auth_state = true
[[auth.providers]]
name = "idp"
kind = "oidc"
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
{extra}
""")

    def command(self):
        return [self.binary, "-f", "nbhub.toml"]

    def env(self):
        return {**os.environ, "NBHUB_CRYPT_KEY": CRYPT_KEY}


class JupyterHub(BenchHub):
    """Debian's JupyterHub 3.0 (/usr/bin/jupyterhub, its Python) with GenericOAuthenticator
    from an OAuthenticator source tree (16.x runs on JupyterHub 3.0 with Debian's packages),
    and Debian's configurable-http-proxy as its proxy, as a JupyterHub deployment runs."""

    name = "JupyterHub 3.0"

    def __init__(self, workdir: str, oauthenticator_src: str, discovery: dict):
        super().__init__(workdir)
        self.src = os.path.abspath(oauthenticator_src)
        hub_port, api_port = free_port(), free_port()
        with open(os.path.join(workdir, "jupyterhub_config.py"), "w") as f:
            f.write(f"""
from oauthenticator.generic import GenericOAuthenticator
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.JupyterHub.db_url = "sqlite:///jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "cookie_secret"
c.JupyterHub.log_level = "WARN"
c.JupyterHub.services = [{{"name": "bench", "api_token": "{SERVICE_TOKEN}"}}]
c.JupyterHub.load_roles = [{{"name": "bench", "scopes": ["admin:users"], "services": ["bench"]}}]
c.JupyterHub.authenticator_class = GenericOAuthenticator
c.GenericOAuthenticator.client_id = "{CLIENT_ID}"
c.GenericOAuthenticator.client_secret = "{CLIENT_SECRET}"
c.GenericOAuthenticator.oauth_callback_url = "{self.base}/hub/oauth_callback"
c.GenericOAuthenticator.authorize_url = "{discovery['authorization_endpoint']}"
c.GenericOAuthenticator.token_url = "{discovery['token_endpoint']}"
c.GenericOAuthenticator.userdata_url = "{discovery['userinfo_endpoint']}"
c.GenericOAuthenticator.scope = ["openid", "profile", "email"]
c.GenericOAuthenticator.username_claim = "preferred_username"
c.GenericOAuthenticator.allow_all = True
c.GenericOAuthenticator.enable_auth_state = True
""")

    def command(self):
        return ["/usr/bin/jupyterhub", "-f", "jupyterhub_config.py"]

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env.update(PYTHONPATH=self.src, JUPYTERHUB_CRYPT_KEY=CRYPT_KEY,
                   CONFIGPROXY_AUTH_TOKEN="bench-login-proxy-token",
                   # Debian's configurable-http-proxy finds its modules (commander, ...) only
                   # on Debian's Node path, not on the path of a newer node on $PATH.
                   NODE_PATH="/usr/share/nodejs:/usr/lib/nodejs")
        return env


def jupyterhub_unavailable(oauthenticator_src: str | None) -> str | None:
    """Why the JupyterHub side cannot run here, or None."""
    if not oauthenticator_src:
        return ("no OAuthenticator source tree given (--oauthenticator DIR or $OAUTHENTICATOR_SRC, "
                "a checkout of jupyterhub/oauthenticator 16.x)")
    if not os.path.isfile(os.path.join(oauthenticator_src, "oauthenticator", "generic.py")):
        return f"{oauthenticator_src} has no oauthenticator/generic.py"
    if not os.access("/usr/bin/jupyterhub", os.X_OK):
        return "Debian's jupyterhub package is not installed"
    if shutil.which("configurable-http-proxy") is None:
        return "configurable-http-proxy is not installed"
    probe = subprocess.run(["/usr/bin/python3", "-c", "import oauthenticator.generic"],
                           env={"PYTHONPATH": oauthenticator_src, "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"OAuthenticator does not import with Debian's Python: {probe.stderr.strip()[-300:]}"
    return None
