"""Cost of a /hub/metrics scrape on a hub with 10,000 users (issue 21: under 5 ms).

Starts nbhub on 127.0.0.1 with a SQLite database, creates USERS users through the REST API
(half of them with a last_activity spread over 60 days, written into the database, so that
active_users has something to count), then times ROUNDS scrapes and, in the same run and
the same way, ROUNDS plain `GET /hub/health` requests, alternating, over one kept-alive
connection each. Prints medians, 90th percentiles and their ratio: the ratio is the
meaningful figure on a shared machine.

  NBHUB_BIN=build/nbhub python3 bench/metrics/bench_metrics.py
"""
import http.client
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

NBHUB_BIN = os.path.abspath(os.environ.get("NBHUB_BIN") or os.path.join(os.path.dirname(__file__), "../../build/nbhub"))
USERS = int(os.environ.get("USERS", "10000"))
ROUNDS = int(os.environ.get("ROUNDS", "300"))
TOKEN = "bench-metrics-token-0123456789abcdef"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    work = tempfile.mkdtemp(prefix="nbhub-bench-metrics-")
    port = free_port()
    with open(os.path.join(work, "nbhub.toml"), "w") as f:
        f.write(f"""
ip = "127.0.0.1"
port = {port}
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
log_level = "warn"
services = [{{ name = "bench", api_token = "{TOKEN}", admin = true }}]
[auth]
allowed_users = []
""")
    proc = subprocess.Popen([NBHUB_BIN, "-f", "nbhub.toml"], cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={k: v for k, v in os.environ.items()
                                                            if not k.startswith(("NBHUB_", "JUPYTERHUB_"))})
    try:
        conn = None
        for _ in range(200):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/hub/health")
                conn.getresponse().read()
                break
            except OSError:
                conn = None
                time.sleep(0.05)
        if conn is None:
            sys.exit("bench/metrics: nbhub did not start")
        auth = {"Authorization": f"token {TOKEN}", "Content-Type": "application/json"}
        t0 = time.time()
        for start in range(0, USERS, 1000):
            names = [f"user{i:05d}" for i in range(start, min(USERS, start + 1000))]
            conn.request("POST", "/hub/api/users", body=json.dumps({"usernames": names}), headers=auth)
            r = conn.getresponse()
            r.read()
            assert r.status == 201, r.status
        now_us = int(time.time() * 1e6)
        db = sqlite3.connect(os.path.join(work, "nbhub.sqlite"), timeout=30)
        rnd = random.Random(21)
        db.executemany("UPDATE users SET last_activity = ? WHERE name = ?",
                       [(now_us - rnd.randrange(60 * 86400 * 10**6), f"user{i:05d}") for i in range(0, USERS, 2)])
        db.commit()
        db.close()
        print(f"created {USERS} users in {time.time() - t0:.1f} s")

        def timed(path, headers):
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            body = r.read()
            took = time.perf_counter() - t
            assert r.status == 200, (path, r.status)
            return took, body

        _, body = timed("/hub/metrics", auth)
        text = body.decode()
        total = next(l for l in text.splitlines() if l.startswith("jupyterhub_total_users "))
        active = [l for l in text.splitlines() if l.startswith("jupyterhub_active_users{")]
        assert float(total.split()[1]) == USERS, total
        print(f"scrape: {len(body)} bytes; {total}; {' '.join(a.split('{')[1] for a in active)}")
        for _ in range(20):  # warm both paths
            timed("/hub/metrics", auth)
            timed("/hub/health", {})
        scrape, health = [], []
        for _ in range(ROUNDS):
            scrape.append(timed("/hub/metrics", auth)[0])
            health.append(timed("/hub/health", {})[0])

        def q(xs, p):
            return sorted(xs)[int(p * (len(xs) - 1))] * 1000

        ms, mh = statistics.median(scrape) * 1000, statistics.median(health) * 1000
        print(f"{'case':<28}{'median ms':>10}{'p90 ms':>10}")
        print(f"{'GET /hub/metrics (10k users)':<28}{ms:>10.3f}{q(scrape, 0.9):>10.3f}")
        print(f"{'GET /hub/health':<28}{mh:>10.3f}{q(health, 0.9):>10.3f}")
        print(f"ratio metrics/health (medians): {ms / mh:.1f}x; target: scrape under 5 ms: "
              f"{'met' if ms < 5 else 'NOT met'}")
    finally:
        proc.terminate()
        proc.wait(10)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
