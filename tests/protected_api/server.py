#!/usr/bin/env python3
"""A tiny protected REST API, as an organisation's service secured by the same identity
provider as the hub (issue 6): it accepts `Authorization: Bearer <JWT access token>` and
validates it locally with the provider's JWKS (RS256 signature, `iss`, `exp`/`nbf`, and `aud`
or `client_id` against an allow-list). Python standard library only.

    python3 server.py --issuer http://127.0.0.1:PORT [--audience A]... [--client-id C]...

Prints one line `{"ready": true, "port": N}` when listening on 127.0.0.1 (port 0 = free).
Routes:
    GET /api/whoami   200 {"sub", "username", "client_id", "scope", "exp"} or 401 with
                      {"error": "invalid_token", "error_description": why}
    GET /__stats      {"accepted": n, "refused": n, "reasons": [...], "tokens": [sha256 prefixes]}
"""
import argparse
import base64
import hashlib
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# DER prefix of DigestInfo(SHA-256), RFC 8017 §9.2 note 1.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
LEEWAY = 5


def b64url(seg):
    return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))


def fetch_json(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as r:
        return json.load(r)


class Verifier:
    def __init__(self, issuer, audiences, client_ids):
        self.issuer = issuer
        self.audiences = set(audiences)
        self.client_ids = set(client_ids)
        self.jwks_uri = fetch_json(issuer + "/.well-known/openid-configuration")["jwks_uri"]
        self.keys = {}
        self.fetched = 0.0
        self.lock = threading.Lock()

    def key(self, kid):
        with self.lock:
            # Refetch on an unknown kid, at most every 30 s.
            if kid not in self.keys and time.time() - self.fetched > 30:
                self.keys = {k["kid"]: k for k in fetch_json(self.jwks_uri)["keys"] if k.get("kty") == "RSA"}
                self.fetched = time.time()
            return self.keys.get(kid)

    def verify(self, token):
        """Returns the claims, or raises ValueError with the reason."""
        try:
            h64, p64, s64 = token.split(".")
            header, claims = json.loads(b64url(h64)), json.loads(b64url(p64))
        except Exception:
            raise ValueError("not a JWT")
        if header.get("alg") != "RS256":
            raise ValueError(f"alg {header.get('alg')!r} not accepted")
        k = self.key(header.get("kid"))
        if k is None:
            raise ValueError("unknown kid")
        n, e = int.from_bytes(b64url(k["n"]), "big"), int.from_bytes(b64url(k["e"]), "big")
        size = (n.bit_length() + 7) // 8
        em = pow(int.from_bytes(b64url(s64), "big"), e, n).to_bytes(size, "big")
        t = SHA256_DIGEST_INFO + hashlib.sha256(f"{h64}.{p64}".encode()).digest()
        if em != b"\x00\x01" + b"\xff" * (size - len(t) - 3) + b"\x00" + t:
            raise ValueError("bad signature")
        if claims.get("iss") != self.issuer:
            raise ValueError("wrong issuer")
        now = time.time()
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] + LEEWAY < now:
            raise ValueError("expired")
        if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] - LEEWAY > now:
            raise ValueError("not yet valid")
        if claims.get("token_use", "access") != "access":
            raise ValueError("not an access token")
        aud = claims.get("aud")
        auds = set([aud] if isinstance(aud, str) else aud or [])
        ok = (self.audiences and auds & self.audiences) or (self.client_ids and claims.get("client_id") in self.client_ids)
        if not ok:
            raise ValueError("audience/client not accepted")
        return claims


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--audience", action="append", default=[])
    ap.add_argument("--client-id", action="append", default=[])
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    verifier = Verifier(args.issuer, args.audience, args.client_id)
    stats = {"accepted": 0, "refused": 0, "reasons": [], "tokens": []}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            sys.stderr.write("protected-api: " + fmt % a + "\n")

        def reply(self, status, body, extra=None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/__stats":
                with lock:
                    return self.reply(200, stats)
            if self.path != "/api/whoami":
                return self.reply(404, {"error": "not_found"})
            auth = self.headers.get("Authorization", "")
            scheme, _, token = auth.partition(" ")
            try:
                if scheme.lower() != "bearer" or not token:
                    raise ValueError("no bearer token")
                claims = verifier.verify(token.strip())
            except ValueError as e:
                with lock:
                    stats["refused"] += 1
                    stats["reasons"].append(str(e))
                return self.reply(401, {"error": "invalid_token", "error_description": str(e)},
                                  {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{e}"'})
            with lock:
                stats["accepted"] += 1
                stats["tokens"].append(hashlib.sha256(token.encode()).hexdigest()[:12])
            self.reply(200, {k: claims.get(k) for k in ("sub", "username", "client_id", "scope", "exp")})

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(json.dumps({"ready": True, "port": srv.server_address[1]}), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
