#!/usr/bin/env python3
"""bench/stress: nbhub's proxy under hostile load, next to nginx doing the same job in the same run.

Starts one upstream (upstream.mjs: small answers, large bodies both ways, a WebSocket echo),
`nbhub proxy` and Debian's nginx as a reverse proxy in front of it, all on 127.0.0.1 with
free ports, and measures on each proxy (see README.md for the rows and the limits they show):
  idle      N idle keep-alive connections (each after one request): RSS growth per connection
  slow      slowloris heads and slow readers: when each is closed (against the configured
            head and stall timeouts), and normal requests' latency during the attack vs before
  bulk      a 1 GiB upload and a 1 GiB download: throughput, the proxy's peak RSS and CPU
  flood     64 KiB request heads: the status answered, and memory before/after/peak
  routes    100,000 routes through the routes API (nbhub only: nginx has no such API):
            add rate, memory per route, lookup cost per request with and without them
  ws        1,000 kernel-like WebSockets at one message a second: round trip p50/p99, CPU

    bench/stress/run.sh                      # every row
    bench/stress/run.sh --rows idle,flood    # some rows
    bench/stress/run.sh --quick              # smaller counts (a smoke run)
"""
import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024

# ---------------------------------------------------------------- processes and /proc


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"bench/stress: {what} does not listen on port {port}")


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss(pid):
    return status_kib(pid, "VmRSS") * 1024


def reset_peak(pid):
    """Starts VmHWM (peak RSS) again from the current RSS (proc(5): clear_refs 5)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak(pid):
    return status_kib(pid, "VmHWM") * 1024


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def quantile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


class Proxy:
    """One proxy under test: where to send requests, which process to watch."""

    def __init__(self, name, port, pid):
        self.name, self.port, self.pid = name, port, pid


# ---------------------------------------------------------------- set-up


NGINX_CONF = """worker_processes 1;
worker_rlimit_nofile {nofile};
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections {worker_connections}; }}
http {{
  access_log off;
  client_body_temp_path {work}/nginx-tmp/body;
  proxy_temp_path {work}/nginx-tmp/proxy;
  fastcgi_temp_path {work}/nginx-tmp/fastcgi;
  uwsgi_temp_path {work}/nginx-tmp/uwsgi;
  scgi_temp_path {work}/nginx-tmp/scgi;
  # The bounds nbhub gets from its flags, set alike (README.md lists the pairs).
  keepalive_timeout {idle_s}s;
  keepalive_requests 1000000;
  client_header_timeout {head_s}s;
  send_timeout {stall_s}s;
  large_client_header_buffers 4 {header_k}k;
  client_max_body_size 0;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}
  upstream up {{ server 127.0.0.1:{upstream}; keepalive 64; keepalive_requests 1000000; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      # Stream both ways, as nbhub does (nginx's default spools a whole upload to disk first).
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_send_timeout {stall_s}s;
      proxy_read_timeout 3600s;
    }}
  }}
}}
"""


class Rig:
    def __init__(self, args):
        self.args = args
        self.procs = []
        self.work = tempfile.mkdtemp(prefix="nbhub-bench-stress.")
        os.chmod(self.work, 0o755)  # nginx's worker runs as another user
        os.makedirs(os.path.join(self.work, "nginx-tmp"))
        self.token = "stress-" + os.urandom(8).hex()

    def spawn(self, argv, log, env=None):
        p = subprocess.Popen(argv, stdout=open(os.path.join(self.work, log), "w"), stderr=subprocess.STDOUT,
                             env=env, cwd=self.work)
        self.procs.append(p)
        return p

    def start(self):
        a = self.args
        self.upstream = free_port()
        self.spawn(["node", os.path.join(HERE, "upstream.mjs"), "server", str(self.upstream)], "upstream.log")
        wait_port(self.upstream, "the upstream")

        nb_port, self.api_port = free_port(), free_port()
        env = dict(os.environ, CONFIGPROXY_AUTH_TOKEN=self.token)
        nb = self.spawn([a.nbhub, "proxy", "--ip", "127.0.0.1", "--port", str(nb_port), "--api-ip", "127.0.0.1",
                         "--api-port", str(self.api_port), "--log-level", "warn", "--threads", "1",
                         "--keep-alive-timeout", str(a.idle_timeout * 1000), "--timeout", str(a.stall_timeout * 1000),
                         "--request-timeout", str(a.head_timeout * 1000), "--header-limit", str(a.header_limit),
                         "--max-connections", str(a.max_connections)], "nbhub.log", env=env)
        wait_port(nb_port, "nbhub proxy")
        self.api("POST", "/api/routes/stress", {"target": f"http://127.0.0.1:{self.upstream}"})
        self.nbhub = Proxy("nbhub", nb_port, nb.pid)

        ng_port = free_port()
        conf = os.path.join(self.work, "nginx.conf")
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(work=self.work, nofile=soft, worker_connections=min(a.max_connections * 2, soft - 64),
                                      idle_s=a.idle_timeout, head_s=a.head_timeout, stall_s=a.stall_timeout,
                                      header_k=a.header_limit // 1024, upstream=self.upstream, port=ng_port))
        master = self.spawn(["nginx", "-c", conf, "-p", self.work], "nginx.log")
        wait_port(ng_port, "nginx")
        worker = None
        for _ in range(50):
            kids = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True).stdout.split()
            if kids:
                worker = int(kids[0])
                break
            time.sleep(0.05)
        if worker is None:
            raise SystemExit("bench/stress: nginx started no worker")
        self.nginx = Proxy("nginx", ng_port, worker)
        for p in (self.nbhub, self.nginx):
            status, body = http_get(p.port, "/stress/small")
            if status != 200 or body != b"ok":
                raise SystemExit(f"bench/stress: {p.name} answers {status} {body[:200]!r} on /stress/small")

    def api(self, method, path, body=None):
        c = socket.create_connection(("127.0.0.1", self.api_port))
        try:
            return http_exchange(c, method, path, body, {"Authorization": f"token {self.token}"})
        finally:
            c.close()

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.work, ignore_errors=True)

    def log_tail(self, name, n=5):
        try:
            with open(os.path.join(self.work, name)) as f:
                return f.readlines()[-n:]
        except OSError:
            return []


# ---------------------------------------------------------------- HTTP/1.1 by hand (blocking)


def request_bytes(method, path, body=None, headers=None):
    h = {"Host": "127.0.0.1"}
    h.update(headers or {})
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    if data or method in ("POST", "PUT"):
        h["Content-Length"] = str(len(data))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    return head.encode() + data


def read_response(sock_file):
    """(status, body) of one response with a Content-Length (or none) from a buffered socket file."""
    line = sock_file.readline()
    if not line:
        raise ConnectionError("closed before a response")
    status = int(line.split()[1])
    length = 0
    while True:
        h = sock_file.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    return status, sock_file.read(length) if length else b""


def http_exchange(sock, method, path, body=None, headers=None):
    sock.sendall(request_bytes(method, path, body, headers))
    return read_response(sock.makefile("rb"))


def http_get(port, path):
    with socket.create_connection(("127.0.0.1", port)) as c:
        return http_exchange(c, "GET", path)


def hard_close(sock):
    """Closes with a reset: no TIME_WAIT left on the client's ports, which 20,000 would use up."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    sock.close()


# ---------------------------------------------------------------- async helpers

SMALL = b"GET /stress/small HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def read_small_response(loop, sock):
    """Reads one response to SMALL (a 2-byte body); returns its status."""
    data = b""
    while not (b"\r\n\r\n" in data and data.endswith(b"ok")):
        chunk = await loop.sock_recv(sock, 4096)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return int(data.split(b" ", 2)[1])


async def connect(loop, port):
    s = socket.socket()
    s.setblocking(False)
    await loop.sock_connect(s, ("127.0.0.1", port))
    return s


async def prober(port, stop, out, gap=0.005):
    """Normal requests on one kept-alive connection until `stop`: latency in ms into `out`."""
    loop = asyncio.get_running_loop()
    s = None
    errors = 0
    while not stop.is_set():
        try:
            if s is None:
                s = await connect(loop, port)
            t0 = time.perf_counter()
            await loop.sock_sendall(s, SMALL)
            await asyncio.wait_for(read_small_response(loop, s), 10)
            out.append((time.perf_counter() - t0) * 1000)
        except (OSError, ConnectionError, asyncio.TimeoutError):
            errors += 1
            if s is not None:
                s.close()
            s = None
        await asyncio.sleep(gap)
    if s is not None:
        s.close()
    return errors


# ---------------------------------------------------------------- rows


async def row_idle(p, n):
    """RSS growth per idle keep-alive connection, each after one request."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.5)
    rss0, fds0 = rss(p.pid), open_fds(p.pid)
    socks = []
    failed = 0

    # Connections are opened 250 at a time, but their requests go 8 at a time: what stays is
    # then what an idle connection holds, not the buffers of 250 exchanges at once, which the
    # allocator keeps for the next burst (the second round shows they are reused).
    gate = asyncio.Semaphore(8)

    async def one():
        nonlocal failed
        try:
            s = await connect(loop, p.port)
            socks.append(s)
            async with gate:
                await loop.sock_sendall(s, SMALL)
                await asyncio.wait_for(read_small_response(loop, s), 30)
        except (OSError, ConnectionError, asyncio.TimeoutError):
            failed += 1

    t0 = time.monotonic()
    for i in range(0, n, 250):
        await asyncio.gather(*(one() for _ in range(min(250, n - i))))
    opened = time.monotonic() - t0
    await asyncio.sleep(1.0)
    rss1, fds1 = rss(p.pid), open_fds(p.pid)
    # Still served: a sample of the idle connections asks again.
    alive = 0
    for s in socks[:: max(1, len(socks) // 100)]:
        try:
            await loop.sock_sendall(s, SMALL)
            await asyncio.wait_for(read_small_response(loop, s), 10)
            alive += 1
        except (OSError, ConnectionError, asyncio.TimeoutError):
            pass
    sample = len(socks[:: max(1, len(socks) // 100)])
    for s in socks:
        hard_close(s)
    await asyncio.sleep(1.0)
    return {"n": n, "failed": failed, "bytes_per_conn": (rss1 - rss0) / max(1, n - failed),
            "rss0": rss0, "rss1": rss1, "rss_after": rss(p.pid), "fds": fds1 - fds0, "open_s": opened,
            "alive": f"{alive}/{sample}"}


async def row_slow(p, args):
    """Slowloris heads and slow readers against the head and stall timeouts; normal latency."""
    loop = asyncio.get_running_loop()
    # Without attack.
    base, stop = [], asyncio.Event()
    task = asyncio.create_task(prober(p.port, stop, base))
    await asyncio.sleep(args.probe_s)
    stop.set()
    base_err = await task

    closed_at = {}
    stop_attack = asyncio.Event()

    async def loris(i):
        try:
            s = await connect(loop, p.port)
        except OSError:
            closed_at[("loris", i)] = None
            return
        t0 = time.monotonic()
        try:
            await loop.sock_sendall(s, b"GET /stress/small HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            while not stop_attack.is_set():
                # A header byte every few seconds; the close shows as EOF or an error on the read.
                try:
                    # EOF, or an error answer (408) before the close: either way the head is refused.
                    await asyncio.wait_for(loop.sock_recv(s, 4096), args.loris_gap)
                    closed_at[("loris", i)] = time.monotonic() - t0
                    return
                except asyncio.TimeoutError:
                    await loop.sock_sendall(s, b"a")
        except OSError:
            closed_at[("loris", i)] = time.monotonic() - t0
        finally:
            hard_close(s)

    readers = {}

    async def slow_reader(i):
        s = socket.socket()
        # A small receive buffer, as a phone on a bad network: the proxy's writes stall soon.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.setblocking(False)
        try:
            await loop.sock_connect(s, ("127.0.0.1", p.port))
            readers[s.getsockname()[1]] = (time.monotonic(), i)
            await loop.sock_sendall(s, f"GET /stress/big?bytes={args.slow_bytes} HTTP/1.1\r\n"
                                       "Host: 127.0.0.1\r\n\r\n".encode())
            await stop_attack.wait()  # never reads
        except OSError:
            pass
        finally:
            hard_close(s)

    during, stop = [], asyncio.Event()
    fds0 = open_fds(p.pid)
    cpu0 = cpu_seconds(p.pid)
    tasks = [asyncio.create_task(loris(i)) for i in range(args.slowloris)]
    tasks += [asyncio.create_task(slow_reader(i)) for i in range(args.slow_readers)]
    probe = asyncio.create_task(prober(p.port, stop, during))
    t_start = time.monotonic()
    limit = max(args.head_timeout, args.stall_timeout) * 3 + 5
    reader_closed = {}
    # Normal requests are timed over the same window on both proxies: the attack's first
    # seconds, while every slow connection is still held, and the closing.
    window = max(args.head_timeout, args.stall_timeout) + 2
    while time.monotonic() - t_start < limit:
        await asyncio.sleep(0.25)
        if time.monotonic() - t_start >= window:
            stop.set()
        # A slow reader's connection, closed by the proxy, leaves ESTABLISHED on the proxy's
        # side (FIN-WAIT-1 with the unsent bytes): the client, not reading, cannot see it yet.
        out = subprocess.run(["ss", "-Htan", f"( sport = :{p.port} )"], capture_output=True, text=True).stdout
        now = time.monotonic()
        for line in out.splitlines():
            f = line.split()
            if len(f) < 5 or not f[4].rsplit(":", 1)[-1].isdigit():
                continue  # the listening socket
            peer_port = int(f[4].rsplit(":", 1)[1])
            if peer_port in readers and peer_port not in reader_closed and f[0] != "ESTAB":
                reader_closed[peer_port] = now - readers[peer_port][0]
        lorises_done = sum(1 for k in closed_at if k[0] == "loris") >= args.slowloris
        if lorises_done and len(reader_closed) >= len(readers) and stop.is_set():
            break
    fds_peak_gone = open_fds(p.pid) - fds0
    stop.set()
    during_err = await probe
    stop_attack.set()
    await asyncio.gather(*tasks)
    cpu = cpu_seconds(p.pid) - cpu0
    loris_times = [v for k, v in closed_at.items() if k[0] == "loris" and v is not None]
    return {
        "loris_closed": len(loris_times), "loris_n": args.slowloris,
        "loris_p50": quantile(loris_times, 0.5), "loris_max": max(loris_times) if loris_times else float("nan"),
        "readers_closed": len(reader_closed), "readers_n": args.slow_readers,
        "readers_p50": quantile(list(reader_closed.values()), 0.5),
        "readers_max": max(reader_closed.values()) if reader_closed else float("nan"),
        "base_p50": quantile(base, 0.5), "base_p99": quantile(base, 0.99), "base_n": len(base), "base_err": base_err,
        "att_p50": quantile(during, 0.5), "att_p99": quantile(during, 0.99), "att_n": len(during),
        "att_err": during_err, "fds_left": fds_peak_gone, "cpu_s": cpu,
    }


def curl_bulk(url, kind, args, big_file):
    """One transfer of args.bulk_bytes with curl: its seconds."""
    if kind == "download":
        argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}",
                f"{url}/stress/big?bytes={args.bulk_bytes}"]
    else:
        argv = ["curl", "-sS", "-o", "/dev/null", "-T", big_file, "-w",
                "%{http_code} %{size_upload} %{time_total}", f"{url}/stress/sink"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    fields = r.stdout.split()
    if r.returncode != 0 or len(fields) != 3 or fields[0] != "200" or int(fields[1]) != args.bulk_bytes:
        raise SystemExit(f"bench/stress: {url} {kind}: curl said {r.stdout!r} {r.stderr.strip()!r}")
    return float(fields[2])


def row_bulk(p, args, big_file):
    """1 GiB down and up through the proxy with curl: MB/s, peak RSS, CPU per GiB."""
    out = {}
    for kind in ("download", "upload"):
        reset_ok = reset_peak(p.pid)
        rss0 = rss(p.pid)
        cpu0 = cpu_seconds(p.pid)
        secs = curl_bulk(f"http://127.0.0.1:{p.port}", kind, args, big_file)
        out[kind] = {"mb_s": args.bulk_bytes / MIB / secs, "peak": peak(p.pid) if reset_ok else None,
                     "rss0": rss0, "cpu_per_gib": (cpu_seconds(p.pid) - cpu0) * (1 << 30) / args.bulk_bytes}
    return out


def rows_bulk(rig, proxies, args, big_file):
    """row_bulk for each proxy, args.bulk_rounds times in alternating order, after a warm-up.

    The upstream (Node) runs its first transfers several times slower than later ones (its JIT
    warms up): without the warm-up straight to it, whichever proxy went first measured that,
    not itself (an upload read 250 MiB/s first, 900 second, for either proxy). Each figure is
    the median of the rounds (CPU and peak too, each on its own)."""
    for kind in ("download", "upload"):
        for _ in range(2):
            curl_bulk(f"http://127.0.0.1:{rig.upstream}", kind, args, big_file)
    runs = {p.name: [] for p in proxies}
    for i in range(args.bulk_rounds):
        for p in (proxies if i % 2 == 0 else tuple(reversed(proxies))):
            runs[p.name].append(row_bulk(p, args, big_file))
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    res = {}
    for p in proxies:
        res[p.name] = {}
        for kind in ("download", "upload"):
            rs = [r[kind] for r in runs[p.name]]
            res[p.name][kind] = {
                "mb_s": med([r["mb_s"] for r in rs]), "all_mb_s": [round(r["mb_s"]) for r in rs],
                "peak": None if any(r["peak"] is None for r in rs) else max(r["peak"] - r["rss0"] for r in rs) + rs[0]["rss0"],
                "rss0": rs[0]["rss0"], "cpu_per_gib": med([r["cpu_per_gib"] for r in rs])}
    return res


async def row_flood(p, args):
    """Requests with a 64 KiB head: status answered, memory before/after/peak."""
    loop = asyncio.get_running_loop()
    flood = (b"GET /stress/small HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: " + b"a" * args.flood_bytes + b"\r\n\r\n")
    statuses = {}
    reset_ok = reset_peak(p.pid)
    rss0 = rss(p.pid)
    lat = []

    async def one():
        t0 = time.perf_counter()
        try:
            s = await connect(loop, p.port)
        except OSError:
            statuses["connect failed"] = statuses.get("connect failed", 0) + 1
            return
        sender = asyncio.create_task(loop.sock_sendall(s, flood))
        key = "closed without an answer"
        try:
            data = b""
            while b"\r\n" not in data:
                chunk = await asyncio.wait_for(loop.sock_recv(s, 4096), 15)
                if not chunk:
                    break
                data += chunk
            if data.startswith(b"HTTP/"):
                key = data.split(b" ", 2)[1].decode()
                lat.append((time.perf_counter() - t0) * 1000)
        except (OSError, asyncio.TimeoutError) as e:
            key = "reset before an answer" if isinstance(e, ConnectionResetError) else type(e).__name__
        statuses[key] = statuses.get(key, 0) + 1
        sender.cancel()
        try:
            await sender
        except (OSError, asyncio.CancelledError):
            pass
        hard_close(s)

    t0 = time.monotonic()
    for i in range(0, args.floods, args.flood_conc):
        await asyncio.gather(*(one() for _ in range(min(args.flood_conc, args.floods - i))))
    took = time.monotonic() - t0
    await asyncio.sleep(0.5)
    return {"statuses": statuses, "rss0": rss0, "rss1": rss(p.pid), "peak": peak(p.pid) if reset_ok else None,
            "per_s": args.floods / took, "p50": quantile(lat, 0.5)}


def wrk_cpu_per_request(p, path, seconds):
    """wrk on `path`: requests/s and the proxy's CPU µs per request."""
    url = f"http://127.0.0.1:{p.port}{path}"
    subprocess.run(["wrk", "-t1", "-c16", "-d1s", url], capture_output=True)
    cpu0 = cpu_seconds(p.pid)
    out = subprocess.run(["wrk", "-t1", "-c16", f"-d{seconds}s", url], capture_output=True, text=True).stdout
    cpu = cpu_seconds(p.pid) - cpu0
    n = rps = 0.0
    for line in out.splitlines():
        if "requests in" in line:
            n = float(line.split()[0])
        if line.startswith("Requests/sec"):
            rps = float(line.split()[1])
        if "Non-2xx" in line:
            raise SystemExit(f"bench/stress: wrk on {url}: {line.strip()}")
    return rps, cpu * 1e6 / max(1.0, n)


def row_routes(rig, args):
    """100,000 routes through the CHP API: add rate, RSS per route, lookup cost with and without."""
    p = rig.nbhub
    target = json.dumps({"target": f"http://127.0.0.1:{rig.upstream}"}).encode()
    probe_prefix = f"/user/u{args.routes // 2:06d}"
    rig.api("POST", f"/api/routes{probe_prefix}", {"target": f"http://127.0.0.1:{rig.upstream}"})
    path = f"{probe_prefix}/small"
    rps0, us0 = wrk_cpu_per_request(p, path, args.wrk_s)
    time.sleep(0.5)
    rss0 = rss(p.pid)
    # Added over a few kept-alive connections, pipelined in batches: the API's cost, not Python's.
    conns = [socket.create_connection(("127.0.0.1", rig.api_port)) for _ in range(4)]
    files = [c.makefile("rb") for c in conns]
    added = 0
    t0 = time.monotonic()
    deadline = t0 + args.routes_budget_s
    batch = 100
    while added < args.routes and time.monotonic() < deadline:
        for c, f in zip(conns, files):
            reqs = []
            for j in range(added, min(args.routes, added + batch)):
                reqs.append(f"POST /api/routes/user/u{j:06d} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            f"Authorization: token {rig.token}\r\nContent-Type: application/json\r\n"
                            f"Content-Length: {len(target)}\r\n\r\n".encode() + target)
            c.sendall(b"".join(reqs))
            for _ in reqs:
                status, _ = read_response(f)
                if status != 201:
                    raise SystemExit(f"bench/stress: POST /api/routes answered {status}")
            added += len(reqs)
            if added >= args.routes:
                break
    took = time.monotonic() - t0
    for c in conns:
        c.close()
    time.sleep(0.5)
    rss1 = rss(p.pid)
    t1 = time.monotonic()
    status, body = rig.api("GET", "/api/routes")
    list_ms = (time.monotonic() - t1) * 1000
    listed = len(json.loads(body)) if status == 200 else -1
    rps1, us1 = wrk_cpu_per_request(p, path, args.wrk_s)
    return {"added": added, "wanted": args.routes, "add_s": took, "per_route": (rss1 - rss0) / max(1, added),
            "rps0": rps0, "us0": us0, "rps1": rps1, "us1": us1, "list_ms": list_ms, "listed": listed}


def row_ws(p, args):
    """1,000 WebSockets, one 128-byte message a second each: round trips and the proxy's CPU."""
    argv = ["node", os.path.join(HERE, "upstream.mjs"), "ws-paced", f"ws://127.0.0.1:{p.port}/stress/ws",
            str(args.websockets), str(args.ws_s), "128"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    rss0 = rss(p.pid)
    ready = proc.stdout.readline()
    if not ready.startswith("ready"):
        proc.kill()
        raise SystemExit(f"bench/stress: ws client on {p.name}: {ready!r}")
    cpu0, t0, rss_open = cpu_seconds(p.pid), time.monotonic(), rss(p.pid)
    line = proc.stdout.readline()
    cpu, secs = cpu_seconds(p.pid) - cpu0, time.monotonic() - t0
    proc.wait(timeout=30)
    r = json.loads(line)
    r.update({"cpu_pct": cpu / secs * 100, "us_per_msg": cpu * 1e6 / max(1, r["echoed"]),
              "rss_per_ws": (rss_open - rss0) / max(1, r["open"])})
    return r


# ---------------------------------------------------------------- the table


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if v != v:
            return "n/a"
        return f"{v:.1f}{unit}" if abs(v) < 100 else f"{v:.0f}{unit}"
    return f"{v}{unit}"


def ratio(a, b):
    try:
        return f"{a / b:.2f}" if a is not None and b and a == a and b == b else "n/a"
    except ZeroDivisionError:
        return "n/a"


class Table:
    def __init__(self):
        self.lines = []

    def row(self, name, nb, ng, r, limit):
        self.lines.append((name, nb, ng, r, limit))

    def print(self):
        w = [max(len(str(l[i])) for l in self.lines + [("row", "nbhub", "nginx", "nbhub/nginx", "")])
             for i in range(4)]
        print(f"{'row':<{w[0]}}  {'nbhub':>{w[1]}}  {'nginx':>{w[2]}}  {'nbhub/nginx':>{w[3]}}  bounded by")
        for name, nb, ng, r, limit in self.lines:
            print(f"{name:<{w[0]}}  {nb:>{w[1]}}  {ng:>{w[2]}}  {r:>{w[3]}}  {limit}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nbhub", default=os.environ.get("NBHUB_BIN", os.path.join(ROOT, "build", "nbhub")))
    ap.add_argument("--rows", default="idle,slow,bulk,flood,routes,ws")
    ap.add_argument("--quick", action="store_true", help="a tenth of the counts, a quarter of the bytes")
    ap.add_argument("--idle", type=int, default=10_000, help="idle keep-alive connections")
    ap.add_argument("--slowloris", type=int, default=1000)
    ap.add_argument("--slow-readers", type=int, default=100)
    ap.add_argument("--loris-gap", type=float, default=2.0, help="seconds between a slowloris head's bytes")
    ap.add_argument("--slow-bytes", type=int, default=256 * MIB, help="what each slow reader asks for")
    ap.add_argument("--probe-s", type=float, default=3.0, help="seconds of normal requests before the attack")
    ap.add_argument("--bulk-bytes", type=int, default=1 << 30)
    ap.add_argument("--bulk-rounds", type=int, default=3, help="transfers each way per proxy (the median is shown)")
    ap.add_argument("--floods", type=int, default=2000)
    ap.add_argument("--flood-conc", type=int, default=100)
    ap.add_argument("--flood-bytes", type=int, default=64 * 1024)
    ap.add_argument("--routes", type=int, default=100_000)
    ap.add_argument("--routes-budget-s", type=float, default=90.0, help="stop adding routes after this long")
    ap.add_argument("--wrk-s", type=int, default=3)
    ap.add_argument("--websockets", type=int, default=1000)
    ap.add_argument("--ws-s", type=int, default=20)
    # The limits both proxies get (nbhub's flags, nginx's directives; README.md).
    ap.add_argument("--head-timeout", type=int, default=5, help="s: whole request head (slowloris)")
    ap.add_argument("--stall-timeout", type=int, default=5, help="s: a write to the client without progress")
    ap.add_argument("--idle-timeout", type=int, default=120, help="s: kept-alive connection without a request")
    ap.add_argument("--header-limit", type=int, default=16 * 1024, help="bytes of request head")
    ap.add_argument("--max-connections", type=int, default=12_000)
    args = ap.parse_args()
    args.nbhub = os.path.abspath(args.nbhub)  # the processes run in a temporary directory
    if args.quick:
        args.idle, args.slowloris, args.slow_readers = 1000, 100, 20
        args.bulk_bytes, args.floods, args.routes, args.websockets, args.ws_s = 256 * MIB, 200, 10_000, 100, 5
    rows = set(args.rows.split(","))
    for tool in ("nginx", "node", "curl", "wrk", "ss"):
        if not shutil.which(tool):
            raise SystemExit(f"bench/stress: {tool} is not installed")
    if not os.access(args.nbhub, os.X_OK):
        raise SystemExit(f"bench/stress: {args.nbhub} not found (set NBHUB_BIN)")
    if not os.path.isdir(os.path.join(ROOT, "tests", "node_modules", "ws")):
        raise SystemExit("bench/stress: run npm ci in tests/ first")
    # Every connection is a descriptor in the client and in the proxy: raise the soft limit as
    # far as the hard one allows (children inherit it), and say so when it is too low.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = args.idle + 1000
    if "idle" in rows and hard < need:
        args.idle = max(100, hard - 1000)
        print(f"(ulimit -Hn is {hard}: idle connections cut to {args.idle})")

    # SIGTERM (a timeout, a Ctrl-C elsewhere) ends the run through the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rig = Rig(args)
    t_all = time.monotonic()
    try:
        rig.start()
        proxies = (rig.nbhub, rig.nginx)
        print(f"bench/stress on {os.cpu_count()} cores, load average {open('/proc/loadavg').read().split()[:3]}; "
              f"nbhub proxy --threads 1 vs nginx {nginx_version()} (1 worker); ulimit -n {hard}")
        print(f"limits: head {args.head_timeout} s, stall {args.stall_timeout} s, idle {args.idle_timeout} s, "
              f"head size {args.header_limit} B, {args.max_connections} connections")
        t = Table()
        res = {}
        # First: memory other rows freed (and the allocator kept) would hide what routes cost.
        if "routes" in rows:
            r = row_routes(rig, args)
            print(f"  routes nbhub: {r}", file=sys.stderr)
            t.row(f"{r['added']} routes added through the API: s", fmt(r["add_s"]), "n/a", "",
                  "none: the table holds what the API adds (RAM)"
                  + ("" if r["added"] >= r["wanted"] else f"; stopped after {args.routes_budget_s:g} s"))
            t.row("  RSS per route", fmt(r["per_route"], " B"), "n/a", "", "")
            t.row("  GET /api/routes (all of them)", fmt(r["list_ms"], " ms"), "n/a", "", "")
            t.row("  proxied GET, CPU/request, 2 routes", fmt(r["us0"], " µs"), "n/a", "", "")
            t.row(f"  proxied GET, CPU/request, {r['added'] + 2} routes", fmt(r["us1"], " µs"), "n/a",
                  ratio(r["us1"], r["us0"]) + " (to 2 routes)", "")
        if "idle" in rows:
            again = {}
            for p in proxies:
                res[p.name] = asyncio.run(row_idle(p, args.idle))
                print(f"  idle {p.name}: {res[p.name]}", file=sys.stderr)
                # A second round: memory freed by the first is reused, not added to.
                again[p.name] = asyncio.run(row_idle(p, args.idle))
                print(f"  idle {p.name}, again: {again[p.name]}", file=sys.stderr)
            a, b = res["nbhub"], res["nginx"]
            t.row(f"{args.idle} idle keep-alive conns: RSS/conn", fmt(a["bytes_per_conn"] / 1024, " KiB"),
                  fmt(b["bytes_per_conn"] / 1024, " KiB"), ratio(a["bytes_per_conn"], b["bytes_per_conn"]),
                  "--max-connections / http.max_connections; --keep-alive-timeout / http.idle_timeout_seconds")
            t.row("  RSS with them open", fmt(a["rss1"] / MIB, " MiB"), fmt(b["rss1"] / MIB, " MiB"),
                  ratio(a["rss1"], b["rss1"]), "")
            t.row("  RSS after they closed", fmt(a["rss_after"] / MIB, " MiB"), fmt(b["rss_after"] / MIB, " MiB"),
                  ratio(a["rss_after"], b["rss_after"]), "")
            a2, b2 = again["nbhub"], again["nginx"]
            t.row("  RSS with them open, second round", fmt(a2["rss1"] / MIB, " MiB"), fmt(b2["rss1"] / MIB, " MiB"),
                  ratio(a2["rss1"], b2["rss1"]), "")
            t.row("  RSS after they closed, second round", fmt(a2["rss_after"] / MIB, " MiB"),
                  fmt(b2["rss_after"] / MIB, " MiB"), ratio(a2["rss_after"], b2["rss_after"]), "")
            t.row("  failed / still served (sample)", f"{a['failed'] + a2['failed']} / {a['alive']}, {a2['alive']}",
                  f"{b['failed'] + b2['failed']} / {b['alive']}, {b2['alive']}", "", "")
        if "slow" in rows:
            for p in proxies:
                res[p.name] = asyncio.run(row_slow(p, args))
                print(f"  slow {p.name}: {res[p.name]}", file=sys.stderr)
            a, b = res["nbhub"], res["nginx"]
            t.row(f"{args.slowloris} slowloris heads: closed after (p50/max)",
                  f"{fmt(a['loris_p50'])}/{fmt(a['loris_max'])} s ({a['loris_closed']})",
                  f"{fmt(b['loris_p50'])}/{fmt(b['loris_max'])} s ({b['loris_closed']})",
                  ratio(a["loris_max"], b["loris_max"]),
                  f"--request-timeout / http.request_timeout_seconds ({args.head_timeout} s here)")
            t.row(f"{args.slow_readers} slow readers: closed after (p50/max)",
                  f"{fmt(a['readers_p50'])}/{fmt(a['readers_max'])} s ({a['readers_closed']})",
                  f"{fmt(b['readers_p50'])}/{fmt(b['readers_max'])} s ({b['readers_closed']})",
                  ratio(a["readers_max"], b["readers_max"]),
                  f"--timeout / proxy.stall_timeout_seconds ({args.stall_timeout} s here)")
            t.row("  normal GET p50/p99 without attack", f"{fmt(a['base_p50'])}/{fmt(a['base_p99'])} ms",
                  f"{fmt(b['base_p50'])}/{fmt(b['base_p99'])} ms", ratio(a["base_p99"], b["base_p99"]), "")
            t.row("  normal GET p50/p99 during attack", f"{fmt(a['att_p50'])}/{fmt(a['att_p99'])} ms",
                  f"{fmt(b['att_p50'])}/{fmt(b['att_p99'])} ms", ratio(a["att_p99"], b["att_p99"]), "")
            t.row("  normal GETs during attack (errors)", f"{a['att_n']} ({a['att_err']})",
                  f"{b['att_n']} ({b['att_err']})", "", "")
        if "bulk" in rows:
            big = os.path.join(rig.work, "upload.bin")
            with open(big, "wb") as f:
                f.truncate(args.bulk_bytes)  # sparse: reading it costs no disk
            res = rows_bulk(rig, proxies, args, big)
            for p in proxies:
                print(f"  bulk {p.name}: {res[p.name]}", file=sys.stderr)
            os.unlink(big)
            gib = f"{args.bulk_bytes / (1 << 30):g} GiB"
            for kind in ("download", "upload"):
                a, b = res["nbhub"][kind], res["nginx"][kind]
                t.row(f"{gib} {kind}: MiB/s", fmt(a["mb_s"]), fmt(b["mb_s"]), ratio(a["mb_s"], b["mb_s"]),
                      "")
                grow = lambda r: r["peak"] and (r["peak"] - r["rss0"]) / MIB  # noqa: E731
                t.row(f"  peak RSS during it (growth)", f"{fmt(a['peak'] and a['peak'] / MIB)} (+{fmt(grow(a))}) MiB",
                      f"{fmt(b['peak'] and b['peak'] / MIB)} (+{fmt(grow(b))}) MiB", ratio(a["peak"], b["peak"]),
                      "proxy.buffer_bytes (64 KiB a direction; not a flag of nbhub proxy)")
                t.row(f"  CPU per GiB", fmt(a["cpu_per_gib"], " s"), fmt(b["cpu_per_gib"], " s"),
                      ratio(a["cpu_per_gib"], b["cpu_per_gib"]), "")
        if "flood" in rows:
            for p in proxies:
                res[p.name] = asyncio.run(row_flood(p, args))
                print(f"  flood {p.name}: {res[p.name]}", file=sys.stderr)
            a, b = res["nbhub"], res["nginx"]
            st = lambda r: ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))  # noqa: E731
            t.row(f"{args.floods} x {args.flood_bytes // 1024} KiB heads: answers", st(a), st(b), "",
                  f"--header-limit / http.header_limit_bytes ({args.header_limit} B here)")
            t.row("  RSS before / after", f"{fmt(a['rss0'] / MIB)}/{fmt(a['rss1'] / MIB)} MiB",
                  f"{fmt(b['rss0'] / MIB)}/{fmt(b['rss1'] / MIB)} MiB", ratio(a["rss1"], b["rss1"]), "")
            t.row("  peak RSS (growth)", f"{fmt(a['peak'] and a['peak'] / MIB)} (+{fmt(a['peak'] and (a['peak'] - a['rss0']) / MIB)}) MiB",
                  f"{fmt(b['peak'] and b['peak'] / MIB)} (+{fmt(b['peak'] and (b['peak'] - b['rss0']) / MIB)}) MiB",
                  ratio(a["peak"], b["peak"]), "")
            t.row("  answers/s", fmt(a["per_s"]), fmt(b["per_s"]), ratio(a["per_s"], b["per_s"]), "")
        if "ws" in rows:
            for p in proxies:
                res[p.name] = row_ws(p, args)
                print(f"  ws {p.name}: {res[p.name]}", file=sys.stderr)
            a, b = res["nbhub"], res["nginx"]
            t.row(f"{args.websockets} WebSockets at 1 msg/s: RTT p50", fmt(a["p50_ms"], " ms"), fmt(b["p50_ms"], " ms"),
                  ratio(a["p50_ms"], b["p50_ms"]), "proxy.idle_timeout_seconds (an idle tunnel; --timeout in nbhub proxy)")
            t.row("  RTT p99", fmt(a["p99_ms"], " ms"), fmt(b["p99_ms"], " ms"), ratio(a["p99_ms"], b["p99_ms"]), "")
            t.row("  proxy CPU", fmt(a["cpu_pct"], " %"), fmt(b["cpu_pct"], " %"), ratio(a["cpu_pct"], b["cpu_pct"]), "")
            t.row("  CPU per message", fmt(a["us_per_msg"], " µs"), fmt(b["us_per_msg"], " µs"),
                  ratio(a["us_per_msg"], b["us_per_msg"]), "")
            t.row("  RSS per open WebSocket", fmt(a["rss_per_ws"] / 1024, " KiB"), fmt(b["rss_per_ws"] / 1024, " KiB"),
                  ratio(a["rss_per_ws"], b["rss_per_ws"]), "")
            t.row("  echoed / sent (errors)", f"{a['echoed']}/{a['sent']} ({a['errors']})",
                  f"{b['echoed']}/{b['sent']} ({b['errors']})", "", "")
        print()
        t.print()
        print(f"(whole run {time.monotonic() - t_all:.0f} s; load average now "
              f"{open('/proc/loadavg').read().split()[:3]})")
        for name in ("nbhub.log", "nginx-error.log"):
            tail = [l for l in rig.log_tail(name, 5) if l.strip()]
            if tail:
                print(f"{name} (last lines):")
                sys.stdout.write("".join("  " + l for l in tail))
    finally:
        rig.stop()


def nginx_version():
    r = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
    return r.stderr.strip().rsplit("/", 1)[-1]


if __name__ == "__main__":
    main()
