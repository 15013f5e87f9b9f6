"""Startup failures a user meets first: they end with one line saying what to do, never an abort."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from harness.hub import nbhub_bin, run_nbhub
from harness.session import free_port


class PortInUse(unittest.TestCase):
    def test_taken_public_port_is_named_and_exit_code_is_1(self):
        with socket.socket() as holder, tempfile.TemporaryDirectory() as work:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            with open(f"{work}/nbhub.toml", "w") as f:
                f.write(f'ip = "127.0.0.1"\nport = {port}\nhub_bind_url = "http://127.0.0.1:0"\n')
            r = run_nbhub(["-f", "nbhub.toml"], cwd=work)
        self.assertEqual(r.returncode, 1, r.stderr)  # not -6 (SIGABRT from unjoined threads)
        self.assertIn(f"cannot bind 127.0.0.1:{port}", r.stderr)
        self.assertIn("another program holds that port", r.stderr)
        self.assertNotIn("terminate called", r.stderr)

    def test_taken_hub_api_port_is_named(self):
        with socket.socket() as holder, tempfile.TemporaryDirectory() as work:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            with open(f"{work}/nbhub.toml", "w") as f:
                f.write(f'ip = "127.0.0.1"\nport = 0\nhub_bind_url = "http://127.0.0.1:{port}"\n')
            r = run_nbhub(["-f", "nbhub.toml"], cwd=work)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"hub API listener: cannot bind 127.0.0.1:{port}", r.stderr)


class KubernetesWithoutApiAccess(unittest.TestCase):
    """spawner.kind = "kubernetes" where nbhub can find no Kubernetes API (not in a pod, no
    kubeconfig, no k8s_api_host): start-up stops and says what to set, rather than running
    servers on the local spawner or forgetting recorded servers."""

    def test_start_up_stops_and_names_what_to_set(self):
        with tempfile.TemporaryDirectory() as work:
            with open(f"{work}/nbhub.toml", "w") as f:
                f.write('ip = "127.0.0.1"\nport = 0\nhub_bind_url = "http://127.0.0.1:0"\n'
                        '[auth]\nallowed_users = ["alice"]\n[spawner]\nkind = "kubernetes"\n')
            r = run_nbhub(["-f", "nbhub.toml"], cwd=work, env={"HOME": work, "KUBECONFIG": ""})
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        out = r.stdout + r.stderr
        self.assertIn("cannot reach the Kubernetes API", out)
        self.assertIn("KUBECONFIG", out)
        self.assertIn("KubeSpawner.k8s_api_host", out)
        self.assertNotIn("nbhub is listening", out)
        self.assertNotIn("terminate called", out)




class ProxyCommandFlags(unittest.TestCase):
    def test_busy_poll_beyond_its_bound_is_refused_with_the_range(self):
        with tempfile.TemporaryDirectory() as work:
            r = run_nbhub(["proxy", "--ip", "127.0.0.1", "--port", "0", "--busy-poll-us", "20000"], cwd=work)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--busy-poll-us: Value 20000 not in range 0 to 10000", r.stdout + r.stderr)


def stop_with(argv, sig, env=None):
    """Starts a proxy, waits until its routes API answers, sends `sig`: its exit code."""
    api = free_port()
    proc = subprocess.Popen(argv + ["--ip", "127.0.0.1", "--port", str(free_port()),
                                    "--api-ip", "127.0.0.1", "--api-port", str(api)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{api}/api/routes", timeout=1)
            except urllib.error.HTTPError:
                break  # answering (403 without the token): it is up
            except OSError:
                time.sleep(0.1)
                continue
            break
        proc.send_signal(sig)
        return proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class ProxyCommandExitCodes(unittest.TestCase):
    """What supervises configurable-http-proxy (JupyterHub, a container runtime) sees the same
    exit codes from `nbhub proxy`, measured against Debian's real CHP when it is installed."""

    def test_sigterm_and_sigint_exit_2_as_chp(self):
        real = shutil.which("configurable-http-proxy")
        env = dict(os.environ, NODE_PATH="/usr/share/nodejs")
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name):
                ours = stop_with([nbhub_bin(), "proxy"], sig)
                self.assertEqual(ours, 2)
                if real:
                    self.assertEqual(stop_with([real], sig, env), ours)


if __name__ == "__main__":
    unittest.main()
