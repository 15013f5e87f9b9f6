#!/usr/bin/env python3
"""bench/spawn: N servers started at once through the REST API, until each one answers.

Starts nbhub on loopback with its defaults for the local spawner (Debian's
jupyterhub-singleuser 3.0, concurrent_spawn_limit, start_timeout 60 s, http_timeout 30 s) and a
config service holding an admin token. For each N (20, 50, 80 by default):
  1. creates N users and a token for each (POST /hub/api/users, POST /users/<u>/tokens);
  2. at t=0 sends the N `POST /hub/api/users/<u>/server` at once (one thread each);
  3. polls `GET /user/<u>/api/status` through nbhub's proxy with the user's token until it
     answers 200 (the server's own API, behind the route nbhub added when it was ready);
  4. reports time to all-ready, the median and slowest user, and failures: a POST refused, a
     spawn reported as failed by the hub, or no answer within --limit seconds;
  5. stops the N servers (DELETE ..., all at once) before the next N.
Nothing is left behind: at exit every server process that nbhub started (the process groups of
its children) is killed, whatever happened.

JupyterHub 3.0 with its defaults on this kind of machine, as quoted in issue 4: 20 in 17.1 s,
50 in 29.3 s, 80 -> 8 failures.
"""
import argparse
import concurrent.futures
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

from harness.hub import Hub  # noqa: E402

JUPYTERHUB = {20: "17.1 s", 50: "29.3 s", 80: "8 failures"}
ADMIN_TOKEN = "bench-spawn-admin-" + os.urandom(8).hex()


def config(extra):
    return f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
log_level = "warn"
services = [ {{ name = "bench", api_token = "{ADMIN_TOKEN}", admin = true }} ]
[auth]
allowed_users = []
{extra}
"""


class NoRedirect(urllib.request.HTTPRedirectHandler):
    # /user/<u>/... redirects to the hub while the server is not routed: that is not an answer.
    def redirect_request(self, *args, **kwargs):
        return None


class Api:
    def __init__(self, hub):
        self.hub = hub
        self.opener = urllib.request.build_opener(NoRedirect)

    def call(self, method, path, body=None, token=ADMIN_TOKEN, timeout=30):
        url = self.hub.url(path)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if token:
            req.add_header("Authorization", f"token {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(req, timeout=timeout) as r:
                raw = r.read()
                return r.status, raw
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except (urllib.error.URLError, OSError) as e:
            return 0, str(e).encode()


def children(pid):
    """PIDs whose parent is `pid` (the servers nbhub forked)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(d))
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_round(api, n, limit, tag):
    users = [f"b{tag}-{i:03d}" for i in range(n)]
    s, body = api.call("POST", "/hub/api/users", {"usernames": users})
    if s != 201:
        raise SystemExit(f"creating users: HTTP {s} {body[:300]!r}")
    tokens = {}
    for u in users:
        s, body = api.call("POST", f"/hub/api/users/{u}/tokens", {"note": "bench/spawn"})
        if s != 201:
            raise SystemExit(f"token for {u}: HTTP {s} {body[:300]!r}")
        tokens[u] = json.loads(body)["token"]

    ready_at, failed, posted = {}, {}, set()
    lock = threading.Lock()
    t0 = time.monotonic()
    deadline = t0 + limit

    def post(u):
        s, body = api.call("POST", f"/hub/api/users/{u}/server")
        with lock:
            if s in (201, 202):
                posted.add(u)
            else:
                failed[u] = f"POST server: HTTP {s} {body[:200]!r}"

    # One watcher instead of N pollers: the bench's own requests must not take the CPU the
    # servers need to start. Every 0.2 s it lists the round's ready users (?state=ready) and
    # asks each new one for /user/<u>/api/status through the proxy.
    posters = concurrent.futures.ThreadPoolExecutor(max_workers=n)
    for u in users:
        posters.submit(post, u)
    waiting = set(users)
    while waiting and time.monotonic() < deadline:
        time.sleep(0.2)
        with lock:
            waiting -= set(failed)
        s, body = api.call("GET", "/hub/api/users?state=ready&limit=1000")
        ready_now = {m["name"] for m in json.loads(body)} if s == 200 else set()
        for u in sorted(waiting & ready_now):
            s, body = api.call("GET", f"/user/{u}/api/status", token=tokens[u], timeout=10)
            if s == 200 and b'"started"' in body:  # the server's own /api/status
                ready_at[u] = time.monotonic() - t0
                waiting.discard(u)
        # A spawn that failed: POSTed, and now neither pending nor ready.
        if time.monotonic() - t0 > 2:
            s, body = api.call("GET", "/hub/api/users?state=active&limit=1000")
            active = {m["name"] for m in json.loads(body)} if s == 200 else set(users)
            with lock:
                for u in waiting & posted - active - set(ready_at):
                    failed[u] = "the spawn failed (see the nbhub log lines below)"
                waiting -= set(failed)
    posters.shutdown(wait=True)
    for u in waiting:
        failed.setdefault(u, f"no answer within {limit} s")
    return users, ready_at, failed


def stop_all(api, users):
    def one(u):
        s, body = api.call("DELETE", f"/hub/api/users/{u}/server", timeout=60)
        if s not in (202, 204, 400):  # 400: not running (its spawn failed)
            print(f"    DELETE {u}'s server: HTTP {s} {body[:200]!r}", flush=True)
        return s
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(users)) as ex:
        list(ex.map(one, users))
    # DELETE may answer 202 while the stop goes on: wait until no server is left.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pending = 0
        for u in users:
            s, body = api.call("GET", f"/hub/api/users/{u}")
            if s == 200:
                m = json.loads(body)
                if m.get("servers") or m.get("pending"):
                    pending += 1
        if not pending:
            return
        time.sleep(0.5)


def alive(pid):
    """Running (not gone, not a zombie waiting for its parent)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_groups(pids):
    for p in pids:
        try:
            os.killpg(p, signal.SIGKILL)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("counts", nargs="*", type=int, default=[20, 50, 80])
    ap.add_argument("--limit", type=float, default=180, help="seconds each round may take (default 180)")
    ap.add_argument("--spawner", default="", help="extra lines for the [spawner] table, e.g. 'concurrent_spawn_limit = 4'")
    args = ap.parse_args()

    workdir = tempfile.mkdtemp(prefix="nbhub-bench-spawn-")
    extra = "[spawner]\n" + args.spawner.replace(";", "\n") if args.spawner else ""
    hub = Hub(config(extra), workdir=workdir, startup_timeout=30)
    hub.start()
    seen = set()  # every server process nbhub started, for the final clean-up
    api = Api(hub)
    rows = []
    try:
        print(f"bench/spawn on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
              f"jupyterhub-singleuser through nbhub's REST API and proxy", flush=True)
        for tag, n in enumerate(args.counts):
            cpu0 = cpu_seconds(hub.proc.pid)
            users, ready_at, failed = run_round(api, n, args.limit, tag)
            cpu = cpu_seconds(hub.proc.pid) - cpu0
            seen.update(children(hub.proc.pid))
            times = sorted(ready_at.values())
            all_ready = f"{times[-1]:.1f} s" if len(times) == n else "-"
            rows.append((n, all_ready, len(failed),
                         f"{statistics.median(times):.1f} s" if times else "-",
                         f"{times[0]:.1f} s" if times else "-", f"{cpu:.2f} s", JUPYTERHUB.get(n, "")))
            print(f"  N={n}: {len(times)} ready, {len(failed)} failed, all ready after {all_ready}", flush=True)
            for u, why in sorted(failed.items())[:5]:
                print(f"    {u}: {why}", flush=True)
            stop_all(api, users)
            still = [p for p in children(hub.proc.pid) if alive(p)]
            if still:
                print(f"    {len(still)} server processes still run after the servers were stopped", flush=True)
    finally:
        seen.update(children(hub.proc.pid) if hub.proc and hub.proc.poll() is None else [])
        hub.stop(cleanup=False)
        kill_groups(seen)
        left = []
        for _ in range(50):
            left = [p for p in seen if alive(p)]
            if not left:
                break
            time.sleep(0.1)
        if left:
            print(f"bench/spawn: processes still there after clean-up: {left}", file=sys.stderr)
        log = hub.log()
        bad = [l for l in log.splitlines() if "error" in l.lower() or "failed" in l.lower()]
        if bad:
            print(f"nbhub log: {len(bad)} error/failure lines, the first ones:")
            for line in bad[:10]:
                print("  " + line[:300])
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n{'N':>4} {'all ready':>10} {'failures':>9} {'median':>8} {'first':>8} {'nbhub CPU':>10}   JupyterHub 3.0")
    for n, all_ready, nfail, med, first, cpu, jh in rows:
        print(f"{n:>4} {all_ready:>10} {nfail:>9} {med:>8} {first:>8} {cpu:>10}   {jh}")
    return 1 if any(r[2] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
