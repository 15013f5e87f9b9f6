#!/usr/bin/env python3
"""bench/login: wall time of /hub/oauth_callback and hub CPU per login.

Starts the bundled test IdP and a release nbhub on loopback, then signs in N times as new
users (each login creates the user) and N times as a returning user, through the real
OAuth2 flow (authorize -> IdP login form -> callback). Measures, per login kind:
  * the callback's wall time as the client sees it (median and p95);
  * nbhub's CPU time (utime+stime from /proc/<pid>/stat) over the whole sign-in, divided by N.
The first login (JWKS fetch, cold caches) is excluded from both.

JupyterHub 3.0 + GenericOAuthenticator cannot be installed on this kind of machine (no PyPI),
so its figures are the ones measured on this kind of machine and quoted in the issue:
callback 22.6 ms, hub CPU 30 ms per returning-user login and 100 ms per new-user login.
Ratios are printed against them.
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

from harness import browserless  # noqa: E402
from harness.hub import Hub  # noqa: E402
from harness.idp import TestIdp  # noqa: E402

JUPYTERHUB = {"callback_ms": 22.6, "cpu_returning_ms": 30.0, "cpu_new_ms": 100.0}


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def one_login(hub, username, password):
    c = browserless.Client()
    r = c.get(hub.url("/hub/oauth_login?provider=idp"))
    callback = browserless.login_at_idp(c, r.location, username, password)
    cpu0 = cpu_seconds(hub.proc.pid)
    t0 = time.perf_counter()
    r = c.get(callback)
    wall = time.perf_counter() - t0
    cpu_cb = cpu_seconds(hub.proc.pid) - cpu0
    if r.status != 302 or not r.location.endswith("/hub/home"):
        raise SystemExit(f"login of {username} failed: HTTP {r.status}\n{r.text[:500]}\n{hub.log()[-2000:]}")
    return wall, cpu_cb


def run(kind, hub, users, password_of):
    walls = []
    cpu0 = cpu_seconds(hub.proc.pid)
    for u in users:
        wall, _ = one_login(hub, u, password_of(u))
        walls.append(wall * 1000)
    cpu = (cpu_seconds(hub.proc.pid) - cpu0) * 1000 / len(users)
    walls.sort()
    p95 = walls[min(len(walls) - 1, int(len(walls) * 0.95))]
    return {"kind": kind, "n": len(users), "median_ms": statistics.median(walls), "p95_ms": p95,
            "cpu_ms": cpu}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=60, help="logins per kind (bounded: at most 500)")
    args = ap.parse_args()
    n = max(5, min(args.n, 500))
    users = [{"username": f"user{i:04d}", "password": "pw", "groups": ["users"]} for i in range(n + 1)]
    users.append({"username": "alice", "password": "alice-pw", "groups": ["users"]})
    with TestIdp("generic", users=users) as idp:
        cfg = f"""
ip = "127.0.0.1"
port = 0
log_level = "warn"
db_url = "sqlite:///bench.sqlite"
[auth]
allow_all = true
enable_auth_state = true
[[auth.providers]]
name = "idp"
kind = "oidc"
issuer = "{idp.issuer}"
client_id = "nbhub-test"
client_secret = "nbhub-test-secret"
"""
        with Hub(cfg, env={"NBHUB_CRYPT_KEY": "42" * 32}) as hub:
            one_login(hub, "alice", "alice-pw")  # warm-up: discovery, JWKS, first user
            new = run("new user", hub, [u["username"] for u in users[1:n + 1]], lambda u: "pw")
            ret = run("returning user", hub, ["alice"] * n, lambda u: "alice-pw")
    print(f"bench/login: {n} logins per kind, nbhub {os.path.basename(os.environ.get('NBHUB_BIN', 'build/nbhub'))}, "
          f"{os.cpu_count()} cores")
    print(f"{'':16} {'callback median':>16} {'callback p95':>13} {'hub CPU/login':>14} {'JupyterHub 3.0':>16} {'ratio (JH/nbhub)':>17}")
    for r, jh_cpu in ((new, JUPYTERHUB["cpu_new_ms"]), (ret, JUPYTERHUB["cpu_returning_ms"])):
        print(f"{r['kind']:16} {r['median_ms']:13.1f} ms {r['p95_ms']:10.1f} ms {r['cpu_ms']:11.2f} ms "
              f"{JUPYTERHUB['callback_ms']:6.1f}/{jh_cpu:5.0f} ms "
              f"{JUPYTERHUB['callback_ms'] / r['median_ms']:7.1f}x / {jh_cpu / max(r['cpu_ms'], 0.01):5.1f}x")
    print("JupyterHub columns: callback ms / hub CPU ms per login, from the issue (same machine kind).")


if __name__ == "__main__":
    main()
