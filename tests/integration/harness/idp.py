"""Starts and drives the bundled test OpenID provider (tests/idp/server.mjs).

    with TestIdp(mode="cognito", redirect_uris=[hub + "/hub/oauth_callback"]) as idp:
        idp.issuer            # http://127.0.0.1:PORT
        idp.set_fault("token", "wrong_nonce")
        idp.requests()        # token-endpoint requests as received

decode_jwt() and verify_rs256() check tokens without a crypto package. Standard library only. See tests/idp/README.md for modes, users, clients and faults.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

READY_TIMEOUT_S = 20.0


def tests_dir() -> Path:
    """The tests/ directory: $NBHUB_TESTS_DIR (set by ctest) or relative to this file."""
    env = os.environ.get("NBHUB_TESTS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2]


class IdpError(RuntimeError):
    pass


def _b64url(seg: str) -> bytes:
    return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))


def decode_jwt(token: str) -> tuple[dict, dict]:
    """(header, payload) of a compact JWS, without verifying anything."""
    header, payload, _ = token.split(".")
    return json.loads(_b64url(header)), json.loads(_b64url(payload))


# DER prefix of DigestInfo(SHA-256), RFC 8017 §9.2 note 1.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def verify_rs256(token: str, jwks: dict) -> bool:
    """True if `token` is RS256-signed by the JWKS key named in its header (`kid`).

    Plain RSASSA-PKCS1-v1_5 with pow(), so tests need no crypto package; good enough to tell
    a real signature from the bad_signature fault, not a production verifier.
    """
    header, _ = decode_jwt(token)
    if header.get("alg") != "RS256":
        return False
    key = next((k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid") and k.get("kty") == "RSA"), None)
    if key is None:
        return False
    n = int.from_bytes(_b64url(key["n"]), "big")
    e = int.from_bytes(_b64url(key["e"]), "big")
    size = (n.bit_length() + 7) // 8
    signing_input, sig = token.rsplit(".", 1)
    em = pow(int.from_bytes(_b64url(sig), "big"), e, n).to_bytes(size, "big")
    t = _SHA256_DIGEST_INFO + hashlib.sha256(signing_input.encode()).digest()
    return em == b"\x00\x01" + b"\xff" * (size - len(t) - 3) + b"\x00" + t


class TestIdp:
    """The test IdP as a context manager; one process per instance on a free loopback port.

    Arguments left as None take the server's defaults (README.md). `users` and `clients`
    replace the default lists; `redirect_uris` sets the default clients' redirect URIs;
    `extra` is merged into the config JSON as is (e.g. {"rotate_refresh_tokens": True}).
    """

    __test__ = False  # not a test case, whatever pytest's name heuristics say

    def __init__(self, mode: str = "generic", *, users: list | None = None,
                 clients: list | None = None, redirect_uris: list | None = None,
                 access_token_ttl: int | None = None, id_token_ttl: int | None = None,
                 refresh_token_ttl: int | None = None, extra: dict | None = None,
                 port: int = 0, startup_timeout: float = READY_TIMEOUT_S):
        self.config = {"mode": mode, "port": port}
        for key, value in (("users", users), ("clients", clients), ("redirect_uris", redirect_uris),
                           ("access_token_ttl", access_token_ttl), ("id_token_ttl", id_token_ttl),
                           ("refresh_token_ttl", refresh_token_ttl)):
            if value is not None:
                self.config[key] = value
        self.config.update(extra or {})
        self.mode = mode
        self.startup_timeout = startup_timeout
        self.issuer: str | None = None
        self.port: int | None = None
        self._proc: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> "TestIdp":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise IdpError("node is not on PATH (scripts/install-deps.sh installs it)")
        tdir = tests_dir()
        server = tdir / "idp" / "server.mjs"
        if not (tdir / "node_modules" / "oidc-provider").is_dir():
            raise IdpError(f"{tdir}/node_modules lacks oidc-provider: run `cd {tdir} && npm ci`")

        self._tmp = tempfile.TemporaryDirectory(prefix="nbhub-idp-")
        tmp = Path(self._tmp.name)
        (tmp / "config.json").write_text(json.dumps(self.config))
        # Output goes to files, not pipes: nobody has to keep draining them while tests run.
        self._stdout_path, self._stderr_path = tmp / "stdout", tmp / "stderr"
        with open(self._stdout_path, "wb") as out, open(self._stderr_path, "wb") as err:
            self._proc = subprocess.Popen([node, str(server), "--config", str(tmp / "config.json")],
                                          stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            ready = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.issuer, self.port = ready["issuer"], ready["port"]

    def _wait_ready(self) -> dict:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            line = self._stdout_path.read_bytes().split(b"\n", 1)
            if len(line) == 2:  # a complete first line
                try:
                    ready = json.loads(line[0])
                except ValueError:
                    raise IdpError(f"IdP printed {line[0]!r} instead of its ready line; "
                                   f"stderr:\n{self.stderr()}") from None
                if ready.get("ready"):
                    return ready
            if self._proc.poll() is not None:
                raise IdpError(f"IdP exited with {self._proc.returncode} before it was ready; "
                               f"stderr:\n{self.stderr()}")
            time.sleep(0.05)
        raise IdpError(f"IdP not ready after {self.startup_timeout:.0f} s; stderr:\n{self.stderr()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def stderr(self) -> str:
        """Everything the IdP wrote to stderr so far (its log)."""
        try:
            return self._stderr_path.read_text(errors="replace")
        except (AttributeError, OSError):
            return ""

    # --- URLs and documents ----------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.issuer + path

    def discovery(self) -> dict:
        return self._call("GET", "/.well-known/openid-configuration")

    def jwks(self) -> dict:
        return self._call("GET", urllib.parse.urlsplit(self.discovery()["jwks_uri"]).path)

    # --- fault switchboard and request log -------------------------------------------------

    def set_fault(self, kind: str, fault: str | None) -> None:
        """kind is "token" or "userinfo"; fault a name from README.md, or None to clear it."""
        self._call("POST", "/__test/faults", {kind: fault})

    def reset_faults(self) -> None:
        self._call("POST", "/__test/faults/reset")

    def rotate_id_token_key(self) -> str:
        """Publishes a new ID-token signing key (kept with the old ones in the JWKS) and signs
        every later ID token with it; returns its kid."""
        return self._call("POST", "/__test/keys/rotate")["kid"]

    def requests(self) -> list[dict]:
        """Token-endpoint requests, oldest first (at most 100): method, path, query, headers
        (Authorization included), content_type, form, client_auth, status."""
        return self._call("GET", "/__test/requests")["requests"]

    def clear_requests(self) -> None:
        self._call("POST", "/__test/requests/reset")

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        if self.issuer is None:
            raise IdpError("IdP is not running")
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(self.url(path), data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise IdpError(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}") from None
