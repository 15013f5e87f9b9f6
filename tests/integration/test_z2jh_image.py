"""Issue 9 item 4: the hub image for the zero-to-jupyterhub chart, built without a Dockerfile and
without pulls (deploy/image/build.sh import) into a private dockerd (harness/docker_daemon.py),
then run as the chart runs it: `jupyterhub --version`, and the chart's own args with no config
mounted (nbhub must answer as jupyterhub under tini as PID 1, as uid 1000 in /srv/jupyterhub).

Skipped with the reason when dockerd cannot run here (not installed, not root).
"""
import json
import os
import subprocess
import unittest

from harness.docker_daemon import DockerDaemon
from harness.hub import nbhub_bin

TESTS_DIR = os.environ.get("NBHUB_TESTS_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BUILD = os.path.abspath(os.path.join(TESTS_DIR, "..", "deploy", "image", "build.sh"))
IMAGE = "nbhub/hub:test"


class Z2jhImage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docker = DockerDaemon()
        if cls.docker.reason:
            reason = cls.docker.reason
            cls.docker.close()
            raise unittest.SkipTest("Docker cannot run here: " + reason)
        env = dict(os.environ, DOCKER_HOST="unix://" + cls.docker.socket)
        r = subprocess.run([BUILD, "import", nbhub_bin(), IMAGE], capture_output=True, text=True,
                           timeout=300, env=env)
        if r.returncode != 0:
            cls.docker.close()
            raise AssertionError(f"build.sh import failed:\n{r.stdout}\n{r.stderr}")

    @classmethod
    def tearDownClass(cls):
        cls.docker.close()

    def run_image(self, *args):
        return self.docker.cli("run", "--rm", "--network", "host", IMAGE, *args)

    def test_image_config_is_the_charts_contract(self):
        r = self.docker.cli("image", "inspect", IMAGE)
        self.assertEqual(r.returncode, 0, r.stderr)
        cfg = json.loads(r.stdout)[0]["Config"]
        self.assertEqual(cfg["User"], "1000")
        self.assertEqual(cfg["WorkingDir"], "/srv/jupyterhub")
        self.assertEqual(cfg["Entrypoint"], ["tini", "--"] if os.path.exists("/usr/bin/tini-static") else None)
        self.assertEqual(cfg["Cmd"], ["jupyterhub", "--config", "/usr/local/etc/jupyterhub/jupyterhub_config.py"])

    def test_jupyterhub_version(self):
        r = self.run_image("jupyterhub", "--version")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"^\d+\.\d+\.\d+\n$")
        self.assertIn("nbhub ", r.stderr)
        self.assertIn("answering as jupyterhub", r.stderr)

    def test_charts_args_without_the_charts_files(self):
        """The chart's args, uid 1000, working directory /srv/jupyterhub; no ConfigMap mounted,
        so nbhub must say it cannot read the config file (exit 2), not fail to start at all."""
        r = self.run_image("jupyterhub", "--config", "/usr/local/etc/jupyterhub/jupyterhub_config.py",
                           "--upgrade-db", "--JupyterHub.log_level=DEBUG")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("cannot read the config file", r.stderr)
        self.assertIn("ignoring --JupyterHub.log_level", r.stderr)
        r = self.docker.cli("run", "--rm", "--network", "host", "--entrypoint", "/usr/local/bin/nbhub", IMAGE,
                            "--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("nbhub "), r.stdout)

    def test_postgresql_works_in_the_image(self):
        """nbhub loads libpq with dlopen (ldd does not list it); build.sh must still put libpq
        and its libraries in the image, as z2jh's hub.db.type: postgres needs them. Port 1 on
        loopback refuses the connection: libpq loaded and tried."""
        r = self.docker.cli("run", "--rm", "--network", "host", "--entrypoint", "/usr/local/bin/nbhub", IMAGE,
                            "db", "upgrade", "postgresql://nbhub@127.0.0.1:1/x")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("cannot connect to PostgreSQL at postgresql://nbhub@127.0.0.1:1/x", r.stderr)
        self.assertNotIn("could not be loaded", r.stderr)


if __name__ == "__main__":
    unittest.main()
