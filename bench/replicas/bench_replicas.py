"""bench/replicas (issue 20): nbhub replicas on one PostgreSQL behind one round-robin nginx.

Two parts, in one run:
  1. Throughput through 1, 2 and 3 replicas: the REST API (GET /hub/api/users/<name>) and a
     proxied request to a running single-user server (GET /user/<name>/api/status), with wrk.
     Ratios are to one replica.
  2. Failover: `kill -9` of the replica that started a server and carries a kernel WebSocket,
     then the time from the kill to the next successful sign-in, spawn and kernel message (the
     kernel keeps its state), each next to the same operation measured before the kill.

Everything listens on 127.0.0.1 and is stopped at the end. The rigs (PostgreSQL, nginx, the
test IdP, the replicas' configuration) are the integration tests' (tests/integration).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("NBHUB_TESTS_DIR", os.path.join(ROOT, "tests"))
os.environ.setdefault("NBHUB_BIN", os.path.join(ROOT, "build", "nbhub"))

from harness.hub import Hub  # noqa: E402
from harness.idp import TestIdp  # noqa: E402
from harness.session import cookie_header, free_port, sign_in, wait_ready, xsrf  # noqa: E402
from harness.websocket import WebSocket, run_code  # noqa: E402
from test_postgres_store import Postgres  # noqa: E402
from test_replicas import (ADMIN, CRYPT_KEY, Front, Nginx, call, kill_user_servers, make_user,  # noqa: E402
                           replica_config)


class Rig:
    """PostgreSQL, the IdP, n replicas and an nginx in front of them."""

    def __init__(self, n, idp, pg, shared):
        self.replicas, self.closers = [], []
        ports = [free_port() for _ in range(n)]
        api_ports = [free_port() for _ in range(n)]
        self.nginx = Nginx(ports)
        self.api_nginx = Nginx(api_ports)
        self.closers += [self.nginx.close, self.api_nginx.close]
        for i, (port, api_port) in enumerate(zip(ports, api_ports)):
            workdir = tempfile.mkdtemp(prefix=f"replica-{i}-", dir=shared)
            cfg = replica_config(idp.issuer, pg.url(), port, api_port, self.nginx.url("/"), self.api_nginx.url(""),
                                 os.path.join(shared, "cookie_secret"))
            hub = Hub(cfg, workdir=workdir, env={"NBHUB_CRYPT_KEY": CRYPT_KEY})
            hub.start()
            self.replicas.append(hub)
        self.front = Front(self.nginx, self.replicas)

    def close(self):
        for h in self.replicas:
            h.stop(False)
        for c in self.closers:
            c()


def wrk(url, token, seconds, connections):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-H", f"Authorization: token {token}",
                          url], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, int(non2xx.group(1)) if non2xx else 0


def wait_server(base, user, token, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s, _ = call(base, "GET", f"/user/{user}/api/status", token=token)
        if s == 200:
            return True
        time.sleep(0.05)
    return False


def throughput(n, idp, pg, shared, seconds, connections):
    rig = Rig(n, idp, pg, shared)
    try:
        user = f"tp{n}"
        token = make_user(rig.front.url(), user)
        s, body = call(rig.front.url(), "POST", f"/hub/api/users/{user}/server")
        assert s in (201, 202), body
        assert wait_server(rig.front.url(), user, token), rig.front.log()
        time.sleep(0.5)  # every replica has the route (NOTIFY), so no request meets a 404
        api = wrk(rig.front.url(f"/hub/api/users/{user}"), ADMIN, seconds, connections)
        proxied = wrk(rig.front.url(f"/user/{user}/api/status"), token, seconds, connections)
        call(rig.front.url(), "DELETE", f"/hub/api/users/{user}/server")
        return api, proxied
    finally:
        kill_user_servers(f"tp{n}")
        rig.close()


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def failover(idp, pg, shared):
    """Times of a sign-in, a spawn and a kernel message before a kill -9 and right after it."""
    rig = Rig(3, idp, pg, shared)
    a = rig.replicas[0]
    front = rig.front
    try:
        alice = sign_in(front, "alice", "alice-pw")
        # alice's server, started through replica a, and a kernel WebSocket carried by a.
        r = alice.get(a.url("/hub/spawn"))
        assert r.status == 302, r.text[:300]
        wait_ready(alice, a)
        r = alice.get(a.url("/user/alice/tree"))
        for _ in range(10):
            if not r.is_redirect:
                break
            r = alice.get(r.location if r.location.startswith("http") else a.url(r.location))
        r = alice.post(a.url("/user/alice/api/kernels"), json_body={}, headers={"X-XSRFToken": xsrf(alice)})
        assert r.status == 201, r.text[:300]
        kernel = r.json()["id"]
        ws_path = f"/user/alice/api/kernels/{kernel}/channels"
        ws = WebSocket(f"ws://127.0.0.1:{a.port}{ws_path}?session_id=on-a", headers={"Cookie": cookie_header(alice)})
        assert "41" in run_code(ws, "x = 41; print(x)")

        sessions = iter(range(1_000_000))

        def kernel_message():
            # A new session each time: the server makes a connection that reuses an open
            # session's id wait for the old one to close.
            w = WebSocket(f"ws://127.0.0.1:{rig.nginx.port}{ws_path}?session_id=s{next(sessions)}",
                          headers={"Cookie": cookie_header(alice)})
            try:
                out = run_code(w, "x += 1; print(x)")
            finally:
                w.close()
            return out

        def spawn(user, token):
            s, body = call(front.url(), "POST", f"/hub/api/users/{user}/server")
            assert s in (201, 202), body
            assert wait_server(front.url(), user, token), front.log()

        tokens = {u: make_user(front.url(), u) for u in ("sp1", "sp2")}
        before = {
            "sign-in": timed(lambda: sign_in(front, "bob", "bob-pw")),
            "spawn": timed(lambda: spawn("sp1", tokens["sp1"])),
            "kernel message": timed(kernel_message),
        }
        killed_at = time.monotonic()
        os.kill(a.proc.pid, signal.SIGKILL)
        a.proc.wait(10)
        after, failures = {}, {}

        # The three at once, each retried until it works; each time counts from the kill.
        def until_done(name, op, check=lambda out: True):
            deadline = time.monotonic() + 90
            while True:
                try:
                    out = op()
                    assert check(out), out
                    after[name] = time.monotonic() - killed_at
                    return
                except Exception as e:  # a request that met the dead replica: retry
                    if time.monotonic() > deadline:
                        failures[name] = repr(e)
                        return
                    time.sleep(0.05)

        threads = [threading.Thread(target=until_done, args=a_) for a_ in (
            ("sign-in", lambda: sign_in(front, "bob", "bob-pw")),
            # 41, +1 before the kill, +1 now: the kernel kept its state.
            ("kernel message", kernel_message, lambda out: "43" in out),
            ("spawn", lambda: spawn("sp2", tokens["sp2"])))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise RuntimeError(f"after the kill: {failures}\n{front.log()}")
        ws.close()
        return before, after
    finally:
        kill_user_servers("alice", "sp1", "sp2")
        rig.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=5, help="wrk duration per row (default 5)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    p.add_argument("--max-replicas", type=int, default=3)
    args = p.parse_args()
    for tool in ("wrk", "nginx", "jupyterhub-singleuser"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"bench/replicas: {tool} is not installed (scripts/install-deps.sh)")
    pg = Postgres()
    if pg.reason:
        sys.exit("bench/replicas: PostgreSQL unavailable: " + pg.reason)
    shared = tempfile.mkdtemp(prefix="nbhub-bench-replicas-")
    try:
        with TestIdp("generic") as idp:
            rows = {}
            for n in range(1, args.max_replicas + 1):
                rows[n] = throughput(n, idp, pg, shared, args.seconds, args.connections)
                print(f"measured {n} replica(s)", file=sys.stderr)
            before, after = failover(idp, pg, shared)
    finally:
        pg.close()
        shutil.rmtree(shared, True)

    print(f"\nThroughput through one nginx (wrk, 2 threads, {args.connections} connections, {args.seconds} s "
          f"per row; {os.cpu_count()} cores shared by everything)\n")
    print("| replicas | REST API req/s | vs 1 | proxied req/s | vs 1 | non-2xx |")
    print("|---|---|---|---|---|---|")
    api1, prox1 = rows[1][0][0], rows[1][1][0]
    for n, ((api, e1), (prox, e2)) in rows.items():
        print(f"| {n} | {api:.0f} | {api / api1:.2f} | {prox:.0f} | {prox / prox1:.2f} | {e1 + e2} |")
    print("\nFailover: kill -9 of the replica that started alice's server and carries her kernel WebSocket\n")
    print("| operation | before the kill | after the kill (from the kill) | after / before |")
    print("|---|---|---|---|")
    for name in ("sign-in", "kernel message", "spawn"):
        print(f"| {name} | {before[name] * 1000:.0f} ms | {after[name] * 1000:.0f} ms | {after[name] / before[name]:.2f} |")
    print(json.dumps({"throughput": {n: {"api": r[0][0], "proxied": r[1][0]} for n, r in rows.items()},
                      "before": before, "after": after}))


if __name__ == "__main__":
    main()
