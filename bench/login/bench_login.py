#!/usr/bin/env python3
"""bench/login: cost per sign-in and per user, nbhub next to JupyterHub 3.0 in the same run.

Starts the bundled test IdP, then each hub in turn on loopback (nbhub from build/nbhub;
Debian's JupyterHub 3.0 with GenericOAuthenticator and configurable-http-proxy when an
OAuthenticator source tree is given), and measures on each:
  * start-up to a first answer of GET /hub/api/ on the public port, empty database;
  * idle RSS of the hub process, and of the process tree (JupyterHub's proxy included);
  * N sign-ins as new users and N as a returning user through the real OAuth2 flow (hub
    login -> IdP authorize -> IdP login form -> hub callback): callback wall time (median,
    p95) and CPU of the hub's process tree per sign-in, the whole flow included;
  * 1,000 users created through the REST API: one POST /hub/api/users with 1,000 names;
  * a restart with 10,000 users in the database: exec to a first 200 from GET /hub/api/,
    and idle RSS afterwards.
The first sign-in (discovery, JWKS, cold caches) is excluded. Ratios are JupyterHub / nbhub.

    bench/login/run.sh [-n 60] [--oauthenticator DIR]   # or OAUTHENTICATOR_SRC=DIR
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
sys.path.insert(0, HERE)

from harness import browserless  # noqa: E402
from harness.idp import TestIdp  # noqa: E402
from hubs import JupyterHub, Nbhub, jupyterhub_unavailable  # noqa: E402

MAX_LOGINS = 500
MAX_USERS = 20_000


def one_login(hub, username, password):
    c = browserless.Client()
    r = c.get(hub.base + hub.login_path)
    if not r.is_redirect:
        raise SystemExit(f"{hub.name}: login start answered {r.status}\n{r.text[:500]}")
    callback = browserless.login_at_idp(c, r.location, username, password)
    t0 = time.perf_counter()
    r = c.get(callback)
    wall = time.perf_counter() - t0
    if r.status != 302 or "/login" in (r.location or ""):
        raise SystemExit(f"{hub.name}: sign-in of {username} failed: HTTP {r.status} -> {r.location}\n"
                         f"{r.text[:500]}\n{hub.log()[-2000:]}")
    return wall


def sign_ins(hub, names, password_of):
    cpu0 = hub.cpu()
    walls = sorted(one_login(hub, u, password_of(u)) * 1000 for u in names)
    cpu_ms = (hub.cpu() - cpu0) * 1000 / len(names)
    return {"median_ms": statistics.median(walls),
            "p95_ms": walls[min(len(walls) - 1, int(len(walls) * 0.95))], "cpu_ms": cpu_ms}


def create_users(hub, names):
    """Seconds for one POST /hub/api/users with `names`."""
    t0 = time.perf_counter()
    status, body = hub.api("POST", "/users", {"usernames": names})
    took = time.perf_counter() - t0
    if status != 201:
        raise SystemExit(f"{hub.name}: POST /hub/api/users answered {status}: {body[:300]!r}")
    return took


def fill_users(hub, total, prefix):
    """Adds users in batches of 1,000 until the hub has about `total`."""
    i = 0
    while i < total:
        batch = [f"{prefix}{j:05d}" for j in range(i, min(total, i + 1000))]
        create_users(hub, batch)
        i += len(batch)


def measure(hub, idp_users, n, api_users, restart_users):
    out = {"start_s": hub.start()}
    time.sleep(1.0)  # let start-up work (JupyterHub's first proxy check, ...) settle
    out["idle_rss"] = hub.rss()
    one_login(hub, "alice", "alice-pw")  # warm-up: discovery, JWKS, first user
    out["new"] = sign_ins(hub, [u["username"] for u in idp_users[:n]], lambda u: "pw")
    out["returning"] = sign_ins(hub, ["alice"] * n, lambda u: "alice-pw")
    out["api_users_s"] = create_users(hub, [f"api{i:05d}" for i in range(api_users)])
    fill_users(hub, restart_users - api_users - n - 1, "fill")
    status, body = hub.api("GET", "/users?limit=1")  # both hubs answer a list here
    if status != 200:
        raise SystemExit(f"{hub.name}: GET /hub/api/users answered {status}")
    hub.stop()
    out["restart_s"] = hub.start()
    time.sleep(1.0)
    out["restart_rss"] = hub.rss()
    hub.stop()
    return out


def ratio(jh, nb):
    return f"{jh / nb:7.1f}x" if nb > 0 else "      -"


def report(n, api_users, restart_users, results):
    nb = results["nbhub"]
    jh = results.get("JupyterHub 3.0")
    cols = f"{'':44} {'nbhub':>12}"
    if jh:
        cols += f" {'JupyterHub 3.0':>15} {'JH/nbhub':>9}"
    print(cols)

    def row(label, nb_v, jh_v, fmt):
        line = f"{label:44} {fmt(nb_v):>12}"
        if jh:
            line += f" {fmt(jh_v):>15} {ratio(jh_v, nb_v):>9}"
        print(line)

    ms = lambda v: f"{v:.2f} ms"  # noqa: E731
    mib = lambda v: f"{v:.1f} MiB"  # noqa: E731
    sec = lambda v: f"{v * 1000:.0f} ms"  # noqa: E731
    for label, key, fmt in (
        ("start-up, empty database", ("start_s",), sec),
        ("idle RSS, hub process", ("idle_rss", 0), mib),
        ("idle RSS, hub + proxy processes", ("idle_rss", 1), mib),
        ("sign-in, new user: callback median", ("new", "median_ms"), ms),
        ("sign-in, new user: callback p95", ("new", "p95_ms"), ms),
        ("sign-in, new user: CPU per sign-in", ("new", "cpu_ms"), ms),
        ("sign-in, returning: callback median", ("returning", "median_ms"), ms),
        ("sign-in, returning: callback p95", ("returning", "p95_ms"), ms),
        ("sign-in, returning: CPU per sign-in", ("returning", "cpu_ms"), ms),
        (f"{api_users} users in one POST /hub/api/users", ("api_users_s",), sec),
        (f"restart with {restart_users} users to first 200", ("restart_s",), sec),
        (f"idle RSS after that restart, hub process", ("restart_rss", 0), mib),
    ):
        row(label, _dig(nb, key), _dig(jh, key) if jh else None, fmt)
    print(f"({n} sign-ins per kind; CPU is utime+stime of the hub's process tree over the whole flow; "
          f"{os.cpu_count()} cores)")


def _dig(r, keys):
    for k in keys:
        r = r[k]
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=60, help=f"sign-ins per kind (at most {MAX_LOGINS})")
    ap.add_argument("--api-users", type=int, default=1000, help="users in the one REST request")
    ap.add_argument("--restart-users", type=int, default=10_000,
                    help=f"users in the database at the restart (at most {MAX_USERS})")
    ap.add_argument("--oauthenticator", default=os.environ.get("OAUTHENTICATOR_SRC"),
                    help="a jupyterhub/oauthenticator 16.x source tree, for the JupyterHub side")
    args = ap.parse_args()
    n = max(5, min(args.n, MAX_LOGINS))
    restart_users = max(args.api_users + n + 1, min(args.restart_users, MAX_USERS))
    binary = os.environ.get("NBHUB_BIN", "build/nbhub")

    idp_users = [{"username": f"user{i:04d}", "password": "pw", "groups": ["users"]} for i in range(n)]
    idp_users.append({"username": "alice", "password": "alice-pw", "groups": ["users"]})
    why_not = jupyterhub_unavailable(args.oauthenticator)
    results = {}
    with TestIdp("generic", users=idp_users) as idp, tempfile.TemporaryDirectory(prefix="nbhub-bench-login-") as tmp:
        hubs = [Nbhub(os.path.join(tmp, "nbhub"), binary, idp.issuer)]
        if why_not is None:
            hubs.append(JupyterHub(os.path.join(tmp, "jupyterhub"), args.oauthenticator, idp.discovery()))
        for hub in hubs:
            try:
                results[hub.name] = measure(hub, idp_users, n, args.api_users, restart_users)
            finally:
                hub.stop()
    print(f"bench/login: nbhub {binary}" + ("" if why_not is None else f"; JupyterHub side skipped: {why_not}"))
    report(n, args.api_users, restart_users, results)


if __name__ == "__main__":
    main()
