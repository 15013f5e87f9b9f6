"""Starts tests/protected_api/server.py (a REST API that validates the IdP's JWT access tokens
with its JWKS) on a free loopback port, as a context manager."""
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from harness.idp import tests_dir


class ProtectedApi:
    __test__ = False

    def __init__(self, issuer, audiences=(), client_ids=()):
        self.args = [sys.executable, str(tests_dir() / "protected_api" / "server.py"), "--issuer", issuer]
        for a in audiences:
            self.args += ["--audience", a]
        for c in client_ids:
            self.args += ["--client-id", c]
        self.proc = None
        self.port = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise RuntimeError("protected API did not start")
        self.port = json.loads(line)["port"]
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/api/whoami"

    def call(self, token):
        """(status, json) of GET /api/whoami with the bearer token."""
        req = urllib.request.Request(self.url, headers={"Authorization": f"Bearer {token}"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            with e:
                return e.code, json.load(e)

    def stats(self):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{self.port}/__stats", timeout=10) as r:
            return json.load(r)
