"""Issue 19: nbhub serves https itself (ssl_cert/ssl_key) and renews its certificate without a
restart. A person signs in over https through the test IdP, runs a kernel of Debian's real
jupyterhub-singleuser over wss://, and the kernel WebSocket stays open while the certificate
is renewed the Kubernetes way (the `..data` symlink swap of a mounted Secret) and by a rename
over the file; new connections get the new certificate's serial, a bad pair is refused and
the old one stays. Start-up refuses a key that does not match, an unreadable file and an
expired certificate with exit 2 naming the file. Certificates are made per test (harness/certs).
"""
import os
import re
import shutil
import socket
import ssl
import tempfile
import time
import unittest
import urllib.request

from harness import browserless
from harness.certs import TestCA, served_serial
from harness.hub import Hub, run_nbhub
from harness.idp import TestIdp
from harness.session import cookie_header, follow, free_port, sign_in, wait_ready, xsrf
from harness.websocket import WebSocket, run_code
from test_server_contract import hub_config as contract_hub_config

SINGLEUSER = shutil.which("jupyterhub-singleuser")


def hub_config(issuer, port, cert, key, redirect_port=0):
    """test_server_contract's hub (alice allowed, the test IdP) on `port`, serving https."""
    tls = (f'port = {port}\nssl_cert = "{cert}"\nssl_key = "{key}"\nhsts_max_age_seconds = 600\n'
           f'redirect_port = {redirect_port}')
    return contract_hub_config(issuer).replace("\nport = 0\n", f"\n{tls}\n", 1)


def secret_dir(root, stamp, ca, serial, key=None):
    """A Kubernetes Secret volume's timestamped data directory with a new pair in it."""
    d = os.path.join(root, f"..2026_12_07_{stamp}")
    ca.issue(d, serial, key=key)
    return d


def swap_data(root, target):
    """What the kubelet does on a Secret update: a new `..data` link renamed over the old one."""
    tmp = os.path.join(root, "..data_tmp")
    os.symlink(os.path.basename(target), tmp)
    os.rename(tmp, os.path.join(root, "..data"))


def wait_serial(port, ca, serial, timeout=15):
    deadline = time.time() + timeout
    seen = None
    while time.time() < deadline:
        seen = served_serial(port, ca)
        if seen == serial:
            return seen
        time.sleep(0.2)
    return seen


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class HubOverHttps(unittest.TestCase):
    def test_sign_in_kernel_over_wss_and_renewals_keep_the_websocket(self):
        workdir = tempfile.mkdtemp(prefix="nbhub-tls-")
        self.addCleanup(shutil.rmtree, workdir, True)
        ca = TestCA(workdir)
        # A Secret mounted the Kubernetes way: tls.crt -> ..data/tls.crt, ..data -> ..<stamp>.
        secret = os.path.join(workdir, "secret")
        os.makedirs(secret)
        first = secret_dir(secret, "a", ca, 1001)
        os.symlink(os.path.basename(first), os.path.join(secret, "..data"))
        for f in ("tls.crt", "tls.key"):
            os.symlink(os.path.join("..data", f), os.path.join(secret, f))
        port, redirect_port = free_port(), free_port()
        ctx = ca.ssl_context()
        with TestIdp("generic", redirect_uris=[f"https://127.0.0.1:{port}/hub/oauth_callback"]) as idp:
            cfg = hub_config(idp.issuer, port, os.path.join(secret, "tls.crt"), os.path.join(secret, "tls.key"),
                             redirect_port)
            hub = Hub(cfg, workdir=os.path.join(workdir, "hub"))
            os.makedirs(hub.workdir)
            hub.start()
            self.addCleanup(hub.stop, False)
            self.addCleanup(hub.kill_servers)
            self.assertEqual(hub.scheme, "https")
            self.assertEqual(served_serial(port, ca), 1001)

            # Plain http on the redirect port goes to https.
            r = browserless.Client().get(f"http://127.0.0.1:{redirect_port}/hub/login?next=%2Fx")
            self.assertEqual(r.status, 301)
            self.assertEqual(r.headers["Location"], f"https://127.0.0.1:{port}/hub/login?next=%2Fx")

            # Sign in over https: the hub's cookies are Secure, HSTS is sent.
            c = browserless.Client(ssl_context=ctx)
            r = c.get(hub.url(f"/hub/oauth_login?provider=idp"))
            self.assertEqual(r.status, 302)
            self.assertIn("Secure", " ".join(r.headers.get_all("Set-Cookie")))
            self.assertEqual(r.headers["Strict-Transport-Security"], "max-age=600")
            alice = sign_in(hub, "alice", "alice-pw", ssl_context=ctx)
            hub_cookies = [(k.name, k.secure) for k in alice.cookies if k.name.startswith("nbhub")]
            self.assertIn(("nbhub-hub-login", True), hub_cookies)
            self.assertTrue(all(secure for _, secure in hub_cookies), hub_cookies)
            self.assertEqual(alice.get(hub.url("/hub/spawn")).status, 302)
            wait_ready(alice, hub)
            r = follow(alice, hub, alice.get(hub.url("/user/alice/tree")))
            self.assertEqual(r.status, 200, r.text[:300] + hub.log()[-2000:])

            # A kernel, and code run over wss:// through the proxy.
            r = alice.post(hub.url("/user/alice/api/kernels"), json_body={},
                           headers={"X-XSRFToken": xsrf(alice)})
            self.assertEqual(r.status, 201, r.text[:500])
            kernel = r.json()["id"]
            ws_url = f"wss://127.0.0.1:{port}/user/alice/api/kernels/{kernel}/channels?session_id=t1"
            ws = WebSocket(ws_url, headers={"Cookie": cookie_header(alice)}, ssl_context=ctx)
            self.assertEqual(run_code(ws, "print(6*7)"), "42\n")

            # Renewal 1: the Secret is updated (..data swapped); new connections get serial
            # 1002, the open kernel WebSocket carries on.
            swap_data(secret, secret_dir(secret, "b", ca, 1002))
            self.assertEqual(wait_serial(port, ca, 1002), 1002, hub.log()[-2000:])
            self.assertEqual(run_code(ws, "print(7*7)"), "49\n")
            self.assertIn("certificate renewed without restart", hub.log())

            # Renewal 2: a new pair renamed over the files (what `mv` and most tools do).
            current = os.path.realpath(os.path.join(secret, "..data"))
            staged = os.path.join(workdir, "staged")
            crt, key = ca.issue(staged, 1003)
            os.rename(key, os.path.join(current, "tls.key"))
            os.rename(crt, os.path.join(current, "tls.crt"))
            self.assertEqual(wait_serial(port, ca, 1003), 1003, hub.log()[-2000:])
            self.assertEqual(run_code(ws, "print(8*7)"), "56\n")

            # A bad renewal (a key that is not the certificate's) is refused; 1003 stays.
            bad = secret_dir(secret, "c", ca, 1004)
            ca.key_pem(os.path.join(bad, "tls.key"))
            swap_data(secret, bad)
            deadline = time.time() + 10
            while "new certificate refused" not in hub.log() and time.time() < deadline:
                time.sleep(0.2)
            self.assertIn("the private key does not match the certificate; keeping the current certificate",
                          hub.log())
            self.assertEqual(served_serial(port, ca), 1003)
            self.assertEqual(run_code(ws, "print(9*7)"), "63\n")

            # New wss connections work under the renewed certificate too.
            ws2 = WebSocket(ws_url.replace("t1", "t2"), headers={"Cookie": cookie_header(alice)}, ssl_context=ctx)
            self.assertEqual(run_code(ws2, "print(1+1)"), "2\n")
            ws2.close()
            ws.close()
            self.assertNotIn("BEGIN", hub.log())  # no key material in the log


TESTS = os.environ.get("NBHUB_TESTS_DIR") or os.path.join(os.path.dirname(__file__), "..")
CHROMIUM_READY = (os.path.exists("/usr/bin/chromium") and shutil.which("node")
                  and os.path.isdir(os.path.join(TESTS, "node_modules", "playwright-core")))


@unittest.skipUnless(SINGLEUSER and CHROMIUM_READY, "jupyterhub-singleuser, chromium or playwright-core missing")
class BrowserOverHttps(unittest.TestCase):
    """Headless Chromium signs in over https and runs a kernel over wss (tests/browser/https_kernel.mjs)."""

    def test_chromium_signs_in_and_runs_a_kernel(self):
        import subprocess
        workdir = tempfile.mkdtemp(prefix="nbhub-tls-browser-")
        self.addCleanup(shutil.rmtree, workdir, True)
        ca = TestCA(workdir)
        crt, key = ca.issue(os.path.join(workdir, "tls"), 3001)
        port = free_port()
        with TestIdp("generic", redirect_uris=[f"https://127.0.0.1:{port}/hub/oauth_callback"]) as idp:
            hub = Hub(hub_config(idp.issuer, port, crt, key), workdir=os.path.join(workdir, "hub"))
            os.makedirs(hub.workdir)
            hub.start()
            self.addCleanup(hub.stop, False)
            self.addCleanup(hub.kill_servers)
            env = dict(os.environ, HUB_URL=hub.url("/"))
            r = subprocess.run(["node", os.path.join(TESTS, "browser", "https_kernel.mjs")], cwd=TESTS, env=env,
                               capture_output=True, text=True, timeout=300)
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 0, f"{out}\n--- hub log ---\n{hub.log()[-4000:]}")
            self.assertIn("HTTPS KERNEL OK", out)


class StartupRefusals(unittest.TestCase):
    """A pair that cannot be served stops start-up with exit 2 and names the file."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nbhub-tls-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.ca = TestCA(self.dir)

    def start(self, cert, key):
        with open(os.path.join(self.dir, "nbhub.toml"), "w") as f:
            f.write(f'ip = "127.0.0.1"\nport = 0\nhub_bind_url = "http://127.0.0.1:0"\n'
                    f'ssl_cert = "{cert}"\nssl_key = "{key}"\n')
        r = run_nbhub(["-f", "nbhub.toml"], cwd=self.dir)
        return r.returncode, r.stdout + r.stderr

    def test_key_that_does_not_match(self):
        crt, _ = self.ca.issue(os.path.join(self.dir, "a"), 1)
        _, other = self.ca.issue(os.path.join(self.dir, "b"), 2)
        code, out = self.start(crt, other)
        self.assertEqual(code, 2, out)
        self.assertIn(crt, out)
        self.assertIn(other, out)
        self.assertIn("the private key does not match the certificate", out)

    def test_unreadable_file(self):
        crt, _ = self.ca.issue(os.path.join(self.dir, "a"), 1)
        missing = os.path.join(self.dir, "no-such-key.pem")
        code, out = self.start(crt, missing)
        self.assertEqual(code, 2, out)
        self.assertIn(f"ssl_key {missing}: cannot read the file", out)

    def test_expired_certificate(self):
        crt, key = self.ca.issue_expired(os.path.join(self.dir, "x"))
        code, out = self.start(crt, key)
        self.assertEqual(code, 2, out)
        self.assertIn(crt, out)
        self.assertIn("expired on 2020-01-02", out)

    def test_cognito_jupyterhub_config_with_ssl_starts_unchanged(self):
        """tests/data/cognito_jupyterhub_config.py, pointed at the test IdP as in
        test_login_jupyterhub_config, plus the two lines of the guide's HTTPS step."""
        from harness.login import CLIENT_ID, CLIENT_SECRET
        from test_login_jupyterhub_config import replace_all, sample
        crt, key = self.ca.issue(os.path.join(self.dir, "a"), 7)
        port = free_port()
        with TestIdp(mode="cognito") as idp:
            text = replace_all(sample("cognito_jupyterhub_config.py"), [
                ("https://unity-test.auth.us-west-2.amazoncognito.com", idp.issuer),
                ("'http://localhost:8000/hub/oauth_callback'", f"'https://127.0.0.1:{port}/hub/oauth_callback'"),
                ("c.OAuthenticator.client_id = '...'", f"c.OAuthenticator.client_id = '{CLIENT_ID}'"),
                ("c.OAuthenticator.client_secret = '...'", f"c.OAuthenticator.client_secret = '{CLIENT_SECRET}'"),
            ]) + f"c.JupyterHub.ssl_cert = '{crt}'\nc.JupyterHub.ssl_key = '{key}'\n"
            hub = Hub(text, config_name="jupyterhub_config.py", env={"NBHUB_HUB_BIND_URL": "http://127.0.0.1:0"},
                      args=["--ip", "127.0.0.1", "--port", str(port)])
            hub.start()
            self.addCleanup(hub.stop)
            self.assertEqual((hub.scheme, hub.port), ("https", port))
            self.assertEqual(served_serial(port, self.ca), 7)
            c = browserless.Client(ssl_context=self.ca.ssl_context())
            self.assertIn("Sign in with Unity Common Services", c.get(hub.url("/hub/login")).text)
            r = c.get(hub.url("/hub/oauth_login"))
            self.assertEqual(r.status, 302)
            self.assertTrue(r.location.startswith(idp.issuer + "/oauth2/authorize?"), r.location)
            self.assertIn("redirect_uri=https%3A%2F%2F127.0.0.1", r.location)


class ProxyOverHttps(unittest.TestCase):
    """`nbhub proxy` with configurable-http-proxy's --ssl-cert, --ssl-key, --redirect-port and
    --redirect-to, renewing its certificate when a new pair is renamed over the files."""

    def test_https_redirect_and_renewal_by_rename(self):
        import http.server
        import subprocess
        import threading
        from harness.hub import nbhub_bin
        d = tempfile.mkdtemp(prefix="nbhub-tls-proxy-")
        self.addCleanup(shutil.rmtree, d, True)
        ca = TestCA(d)
        crt, key = ca.issue(os.path.join(d, "live"), 2001)

        class Hello(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = f"hello {self.path} {self.headers.get('X-Forwarded-Proto')}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
        threading.Thread(target=backend.serve_forever, daemon=True).start()
        self.addCleanup(backend.server_close)
        self.addCleanup(backend.shutdown)
        port, api, rport = free_port(), free_port(), free_port()
        proc = subprocess.Popen(
            [nbhub_bin(), "proxy", "--ip", "127.0.0.1", "--port", str(port), "--api-port", str(api),
             "--default-target", f"http://127.0.0.1:{backend.server_address[1]}", "--ssl-cert", crt,
             "--ssl-key", key, "--redirect-port", str(rport), "--redirect-to", "8443", "--threads", "1",
             "--ssl-check-interval", "1", "--ssl-ticket-key-rotation", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(proc.wait, 10)
        self.addCleanup(proc.terminate)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", rport), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        c = browserless.Client(ssl_context=ca.ssl_context())
        r = c.get(f"https://127.0.0.1:{port}/some/path")
        self.assertEqual((r.status, r.text), (200, "hello /some/path https"))
        r = browserless.Client().get(f"http://127.0.0.1:{rport}/some/path?x=1")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.headers["Location"], "https://127.0.0.1:8443/some/path?x=1")
        self.assertEqual(served_serial(port, ca), 2001)
        staged = os.path.join(d, "staged")
        new_crt, new_key = ca.issue(staged, 2002)
        os.rename(new_key, key)
        os.rename(new_crt, crt)
        self.assertEqual(wait_serial(port, ca, 2002), 2002)
        self.assertEqual(c.get(f"https://127.0.0.1:{port}/again").status, 200)

    def test_tls_timing_flags_are_checked(self):
        """--ssl-check-interval and --ssl-ticket-key-rotation take the hub's [tls] ranges; a value
        outside them stops start-up with exit 2 and a message naming the flag."""
        import subprocess
        from harness.hub import nbhub_bin
        for flag, bad in (("--ssl-check-interval", "0"), ("--ssl-check-interval", "3601"),
                          ("--ssl-ticket-key-rotation", "59"), ("--ssl-ticket-key-rotation", "302401")):
            r = subprocess.run([nbhub_bin(), "proxy", "--port", str(free_port()), flag, bad],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 2, (flag, bad, r.stdout, r.stderr))
            self.assertIn(flag, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
