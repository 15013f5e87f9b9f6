"""Startup failures a user meets first: they end with one line saying what to do, never an abort."""
import json
import socket
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from harness.hub import Hub, run_nbhub


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


class SpawnerNotBuilt(unittest.TestCase):
    """spawner.kind = "kubernetes" (a z2jh-style jupyterhub_config.py): sign-in must keep
    working, and every start fails saying why, never silently on the local spawner."""

    def test_kubernetes_spawner_starts_fail_with_the_reason(self):
        toml = ('ip = "127.0.0.1"\nport = 0\nhub_bind_url = "http://127.0.0.1:0"\n'
                'services = [{ name = "admin-svc", api_token = "startup-test-admin-token", admin = true }]\n'
                '[auth]\nallowed_users = ["alice"]\n[spawner]\nkind = "kubernetes"\n')
        with Hub(toml) as hub:
            self.assertIn('spawner.kind = "kubernetes" (KubeSpawner) is not built into nbhub yet', hub.log())
            req = urllib.request.Request(hub.url("/hub/api/users/alice/server"), method="POST", data=b"",
                                         headers={"Authorization": "token startup-test-admin-token"})
            # The API answers with the reason, or accepts and the spawn fails with it (logged).
            message = ""
            try:
                urllib.request.urlopen(req, timeout=20)
            except urllib.error.HTTPError as e:
                message = json.loads(e.read()).get("message", "")
            deadline = time.time() + 20
            while "servers cannot be started" not in message and time.time() < deadline:
                time.sleep(0.2)
                message = hub.log()
            self.assertIn("not built into nbhub yet: servers cannot be started", message)
            self.assertNotIn("Server process started", hub.log())


if __name__ == "__main__":
    unittest.main()
