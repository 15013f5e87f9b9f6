"""Debian's `pebble` (Let's Encrypt's test ACME server) on loopback, for the ACME tests.

`Pebble(...)` makes a private CA and a certificate for pebble's own https listener (pebble
ships none: `tls.acme.ca_file` points nbhub at `ca_file`), starts `pebble-challtestsrv` as a
DNS server answering 127.0.0.1 for every name (and nothing for AAAA), and pebble resolving
through it, so that pebble validates challenges against the loopback ports the test chose
(`http_port` for HTTP-01, `tls_port` for TLS-ALPN-01). Validation is real:
PEBBLE_VA_NOSLEEP=1 only removes pebble's artificial delays; PEBBLE_VA_ALWAYS_VALID is never
set. Ports are picked free at run time; every process is killed on stop().
"""
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.request

from harness.session import free_port

PEBBLE = shutil.which("pebble") or "/usr/bin/pebble"
CHALLTESTSRV = shutil.which("pebble-challtestsrv") or "/usr/bin/pebble-challtestsrv"


def available():
    return os.access(PEBBLE, os.X_OK) and os.access(CHALLTESTSRV, os.X_OK) and shutil.which("openssl")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Pebble:
    def __init__(self, *, cert_validity_seconds=None, env=None):
        self.cert_validity_seconds = cert_validity_seconds
        self.extra_env = dict(env or {})
        self.dir = None
        self.procs = []
        self.http_port = free_port()  # where pebble sends HTTP-01 validations
        self.tls_port = free_port()   # where pebble sends TLS-ALPN-01 validations
        self.port = free_port()
        self.mgmt_port = free_port()
        self.dns_port = free_port()
        self.challtest_mgmt_port = free_port()

    @property
    def directory_url(self):
        return f"https://127.0.0.1:{self.port}/dir"

    @property
    def ca_file(self):
        return os.path.join(self.dir, "ca.pem")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _make_certs(self):
        d = self.dir
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=nbhub test ACME CA",
                 cwd=d)
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", "key.pem", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=d)
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="nbhub-pebble-")
        self._make_certs()
        cfg = {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
            "certificate": os.path.join(self.dir, "cert.pem"),
            "privateKey": os.path.join(self.dir, "key.pem"),
            "httpPort": self.http_port,
            "tlsPort": self.tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
        if self.cert_validity_seconds:
            cfg["certificateValidityPeriod"] = self.cert_validity_seconds
        with open(os.path.join(self.dir, "pebble.json"), "w") as f:
            json.dump({"pebble": cfg}, f)
        with open(os.path.join(self.dir, "challtestsrv.log"), "w") as log:
            self.procs.append(subprocess.Popen(
                [CHALLTESTSRV, "-dns01", f"127.0.0.1:{self.dns_port}", "-http01", "", "-https01", "",
                 "-tlsalpn01", "", "-management", f"127.0.0.1:{self.challtest_mgmt_port}",
                 "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""],
                stdout=log, stderr=subprocess.STDOUT))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLE_")}
        env["PEBBLE_VA_NOSLEEP"] = "1"
        env.update(self.extra_env)
        self.pebble_log = os.path.join(self.dir, "pebble.log")
        with open(self.pebble_log, "w") as log:
            self.procs.append(subprocess.Popen(
                [PEBBLE, "-config", os.path.join(self.dir, "pebble.json"),
                 "-dnsserver", f"127.0.0.1:{self.dns_port}"],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.dir))
        ctx = ssl.create_default_context(cafile=self.ca_file)
        deadline = time.time() + 20
        while True:
            try:
                with urllib.request.urlopen(self.directory_url, context=ctx, timeout=2) as r:
                    json.load(r)
                return self
            except OSError:
                if time.time() > deadline or any(p.poll() is not None for p in self.procs):
                    self.stop(cleanup=False)
                    raise RuntimeError("pebble did not start:\n" + self.log())
                time.sleep(0.2)

    def log(self):
        try:
            with open(self.pebble_log) as f:
                return f.read()
        except OSError:
            return ""

    def root_pem(self):
        """The root pebble signs issued certificates under (its management API)."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        with urllib.request.urlopen(f"https://127.0.0.1:{self.mgmt_port}/roots/0", context=ctx,
                                    timeout=5) as r:
            return r.read().decode()

    def stop(self, cleanup=True):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        self.procs = []
        if cleanup and self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
