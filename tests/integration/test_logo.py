"""Issue 18, point 6: <base_url>hub/logo, which the notebook page's header links.

nbhub's own SVG mark by default; `logo_file` (JupyterHub.logo_file) serves another image; a
logo_file that cannot be read stops startup with an error naming the file.
"""
import os
import shutil
import tempfile
import unittest

from harness.browserless import Client
from harness.hub import Hub, run_nbhub

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(64)  # only the type matters to the hub


def config(extra=""):
    return ('ip = "127.0.0.1"\nport = 0\nhub_bind_url = "http://127.0.0.1:0"\n'
            'base_url = "/@/space%20word/"\n' + extra + "\n")


class LogoTest(unittest.TestCase):
    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="nbhub-test-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def start(self, text, **kw):
        hub = Hub(text, **kw)
        hub.start()
        self.addCleanup(hub.stop)
        return hub

    def test_default_logo_is_an_svg_under_base_url(self):
        hub = self.start(config())
        r = Client().get(hub.url("/@/space%20word/hub/logo"))
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.headers["Content-Type"], "image/svg+xml")
        self.assertTrue(r.text.startswith("<svg "), r.text[:100])
        self.assertEqual(r.headers["Cache-Control"], "public, max-age=3600")
        etag = r.headers["ETag"]
        again = Client().get(hub.url("/@/space%20word/hub/logo"), headers={"If-None-Match": etag})
        self.assertEqual(again.status, 304)

    def test_logo_file_from_toml_and_from_jupyterhub_config(self):
        workdir = self.tmpdir()
        with open(os.path.join(workdir, "our-logo.png"), "wb") as f:
            f.write(PNG)
        hub = self.start(config('logo_file = "our-logo.png"'), workdir=workdir)
        r = Client().get(hub.url("/@/space%20word/hub/logo"))
        self.assertEqual((r.status, r.headers["Content-Type"], r.body), (200, "image/png", PNG))
        hub.stop(cleanup=False)
        py = self.start("c.JupyterHub.bind_url = 'http://127.0.0.1:0'\n"
                        "c.JupyterHub.hub_bind_url = 'http://127.0.0.1:0'\n"
                        "c.JupyterHub.logo_file = 'our-logo.png'\n",
                        config_name="jupyterhub_config.py", workdir=workdir)
        r = Client().get(py.url("/hub/logo"))
        self.assertEqual((r.status, r.headers["Content-Type"], r.body), (200, "image/png", PNG))

    def test_missing_logo_file_stops_startup_naming_it(self):
        workdir = self.tmpdir()
        with open(os.path.join(workdir, "nbhub.toml"), "w") as f:
            f.write(config('logo_file = "no-such-logo.png"'))
        r = run_nbhub(["-f", "nbhub.toml"], cwd=workdir)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn('logo_file "no-such-logo.png": no such file', r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
