"""Issue 4, the server lifecycle against Debian's real jupyterhub-singleuser 3.0, driven through
the REST API with a config service's admin token and per-user API tokens (no browser login):

  * restart after `kill -9` of nbhub: the running server is adopted and its kernel still
    answers over a WebSocket through the proxy;
  * named servers (allow_named_servers): start/stop /hub/api/users/<u>/servers/<name>, routed
    at /user/<u>/<name>/;
  * built-in idle culling: an idle server is stopped and its route removed, an active one kept;
  * a large download read slowly and a large upload through the proxy, with nbhub's resident
    memory bounded (the proxy relays through fixed buffers, it never holds a whole body).
"""
import json
import os
import shutil
import socket
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from harness.hub import Hub
from harness.websocket import WebSocket, run_code
from harness.session import free_port

SINGLEUSER = shutil.which("jupyterhub-singleuser")
ADMIN = "lifecycle-admin-token-" + os.urandom(6).hex()


def config(extra="", hub_port=0):
    # A server reaches the hub at the API URL it was started with: a test that restarts nbhub
    # under a starting server keeps the hub's API port, as a real deployment does.
    return f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:{hub_port}"
db_url = "sqlite:///nbhub.sqlite"
services = [ {{ name = "admin-svc", api_token = "{ADMIN}", admin = true }} ]
[auth]
allowed_users = []
{extra}
"""


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def call(hub, method, path, body=None, token=ADMIN, timeout=30, raw=None, headers=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(hub.url(path), data=data, method=method)
    req.add_header("Authorization", f"token {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def make_user(hub, name):
    s, body = call(hub, "POST", f"/hub/api/users/{name}")
    assert s == 201, (s, body)
    s, body = call(hub, "POST", f"/hub/api/users/{name}/tokens", {"note": "lifecycle test"})
    assert s == 201, (s, body)
    return json.loads(body)["token"]


def start_and_wait(hub, user, token, server="", timeout=60):
    path = f"/hub/api/users/{user}/server" + (f"s/{server}" if server else "")
    s, body = call(hub, "POST", path)
    assert s in (201, 202), (s, body, hub.log()[-2000:])
    prefix = f"/user/{user}/" + (f"{server}/" if server else "")
    deadline = time.time() + timeout
    while time.time() < deadline:
        s, body = call(hub, "GET", prefix + "api/status", token=token)
        if s == 200 and b'"started"' in body:
            return prefix
        time.sleep(0.3)
    raise AssertionError(f"{prefix} never answered:\n" + hub.log()[-3000:])


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def server_pids(hub_pid):
    """The servers nbhub forked (children), for the tests' own clean-up."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == hub_pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class ServerLifecycle(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="nbhub-lifecycle-")
        self.groups = set()
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.addCleanup(self.kill_groups)

    def kill_groups(self):
        # Whatever a failed test left running: the servers are their own process groups.
        for pgid in self.groups:
            try:
                os.killpg(pgid, 9)
            except OSError:
                pass

    def hub(self, extra="", hub_port=0):
        hub = Hub(config(extra, hub_port), workdir=self.workdir)
        hub.start()
        self.addCleanup(hub.stop, False)
        return hub

    def note_servers(self, hub):
        self.groups.update(server_pids(hub.proc.pid))

    def test_kill_9_restart_adopts_the_server_and_its_kernel(self):
        hub = self.hub()
        token = make_user(hub, "kim")
        prefix = start_and_wait(hub, "kim", token)
        self.note_servers(hub)
        s, body = call(hub, "POST", prefix + "api/kernels", {}, token=token)
        self.assertEqual(s, 201, body)
        kernel = json.loads(body)["id"]
        auth = {"Authorization": f"token {token}"}
        ws = WebSocket(f"ws://127.0.0.1:{hub.port}{prefix}api/kernels/{kernel}/channels?session_id=a", headers=auth)
        self.assertEqual(run_code(ws, "x = 6*7\nprint(x)"), "42\n")
        ws.close()

        hub.kill()  # SIGKILL: no clean shutdown, the server keeps running as an orphan
        hub2 = self.hub()
        self.assertIn("adopted running server /user/kim/", hub2.log())
        s, body = call(hub2, "GET", prefix + "api/status", token=token)
        self.assertEqual(s, 200, body)
        # The same kernel, its state intact, through the new nbhub's proxy.
        ws = WebSocket(f"ws://127.0.0.1:{hub2.port}{prefix}api/kernels/{kernel}/channels?session_id=b", headers=auth)
        self.assertEqual(run_code(ws, "print(x + 1)"), "43\n")
        ws.close()
        s, _ = call(hub2, "DELETE", "/hub/api/users/kim/server")
        self.assertIn(s, (202, 204))

    def test_kill_9_while_starting_adopts_the_pending_server(self):
        # The server answers 3 s after it was started (the API start answers 202 after 1 s):
        # nbhub dies in between.
        slow = '[spawner]\nslow_spawn_timeout_seconds = 1\ncmd = ["/bin/sh", "-c", "sleep 3; exec jupyterhub-singleuser \\"$@\\"", "sh"]\n'
        api_port = free_port()
        hub = self.hub(slow, api_port)
        token = make_user(hub, "pat")
        s, body = call(hub, "POST", "/hub/api/users/pat/server")
        self.assertEqual(s, 202, body)
        deadline = time.time() + 10
        while time.time() < deadline and not server_pids(hub.proc.pid):
            time.sleep(0.05)
        self.note_servers(hub)
        self.assertTrue(self.groups, "no server process was started:\n" + hub.log()[-2000:])
        time.sleep(0.5)  # the "started" record is written right after the launch
        hub.kill()
        hub2 = self.hub(slow, api_port)
        # Adoption runs once the listeners are open.
        deadline = time.time() + 10
        while time.time() < deadline and "adopted pending server /user/pat/" not in hub2.log():
            time.sleep(0.05)
        self.assertIn("adopted pending server /user/pat/", hub2.log())
        deadline = time.time() + 60
        while time.time() < deadline:
            self.assertIsNone(hub2.proc.poll(), "nbhub exited:\n" + hub2.log()[-3000:])
            s, body = call(hub2, "GET", "/user/pat/api/status", token=token)
            if s == 200:
                break
            time.sleep(0.3)
        self.assertEqual(s, 200, "\n".join(l for l in hub2.log().splitlines() if "access]" not in l)[-4000:])
        s, body = call(hub2, "GET", "/hub/api/users/pat")
        self.assertTrue(json.loads(body)["servers"][""]["ready"])
        s, _ = call(hub2, "DELETE", "/hub/api/users/pat/server")
        self.assertIn(s, (202, 204))

    def test_named_servers_through_the_api(self):
        hub = self.hub("[spawner]\nallow_named_servers = true\n")
        token = make_user(hub, "nia")
        prefix = start_and_wait(hub, "nia", token, server="lab1")
        self.note_servers(hub)
        self.assertEqual(prefix, "/user/nia/lab1/")
        s, body = call(hub, "GET", "/hub/api/users/nia")
        servers = json.loads(body)["servers"]
        self.assertTrue(servers["lab1"]["ready"], servers)
        self.assertEqual(servers["lab1"]["url"], "/user/nia/lab1/")
        self.assertNotIn("", servers)  # the default server was not started
        s, _ = call(hub, "DELETE", "/hub/api/users/nia/servers/lab1")
        self.assertIn(s, (202, 204))
        s, body = call(hub, "GET", "/hub/api/users/nia")
        self.assertNotIn("lab1", json.loads(body)["servers"])
        self.assertIn("stopped server pid", hub.log())
        self.assertNotIn("after SIGINT", hub.log())  # SIGINT stopped it: kernels shut down cleanly
        # No route any more: the hub answers for the prefix (a redirect to /hub/user/...).
        s, _ = call(hub, "GET", prefix + "api/status", token=token)
        self.assertEqual(s, 302)

    def test_named_servers_refused_when_not_allowed(self):
        hub = self.hub()
        make_user(hub, "ned")
        s, body = call(hub, "POST", "/hub/api/users/ned/servers/lab1")
        self.assertEqual(s, 400, body)
        self.assertIn(b"allow_named_servers", body)

    def test_idle_server_is_culled_and_active_one_kept(self):
        # Generous spawn timeouts: under ctest -j the machine is busy (fuzzers, other hubs), and
        # this test is about culling, not about how fast a server starts.
        hub = self.hub("[spawner]\npoll_interval_seconds = 1\nhttp_timeout_seconds = 120\n"
                       "[cull]\nenabled = true\ntimeout_seconds = 4\nevery_seconds = 1\n")
        idle_token = make_user(hub, "ida")
        busy_token = make_user(hub, "bea")
        idle = start_and_wait(hub, "ida", idle_token, timeout=150)
        busy = start_and_wait(hub, "bea", busy_token, timeout=150)
        self.note_servers(hub)
        deadline = time.time() + 30
        culled = False
        while time.time() < deadline:
            s, body = call(hub, "GET", busy + "api/status", token=busy_token)  # activity
            self.assertEqual(s, 200, "the active server must not be culled:\n" + hub.log()[-2000:])
            s, body = call(hub, "GET", "/hub/api/users/ida")
            if not json.loads(body)["servers"]:
                culled = True
                break
            time.sleep(0.5)
        self.assertTrue(culled, "the idle server was not culled:\n" + hub.log()[-2000:])
        self.assertIn("culling /user/ida/", hub.log())
        s, _ = call(hub, "GET", idle + "api/status", token=idle_token)
        self.assertEqual(s, 302)  # its route is gone
        s, body = call(hub, "GET", busy + "api/status", token=busy_token)
        self.assertEqual(s, 200)

    def test_slow_download_and_large_upload_keep_memory_bounded(self):
        hub = self.hub()
        token = make_user(hub, "max")
        prefix = start_and_wait(hub, "max", token)
        self.note_servers(hub)
        size = 48 * 1024 * 1024
        home = os.path.join(self.workdir, "homes", "max")  # the server's root dir (issue 18)
        with open(os.path.join(home, "big.bin"), "wb") as f:
            f.write(os.urandom(1024 * 1024) * 48)
        before = rss_kib(hub.proc.pid)

        # A client that reads 256 KiB, then stalls while the server has the whole file ready.
        sock = socket.create_connection(("127.0.0.1", hub.port), timeout=30)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall((f"GET {prefix}files/big.bin HTTP/1.1\r\nHost: 127.0.0.1:{hub.port}\r\n"
                      f"Authorization: token {token}\r\nConnection: close\r\n\r\n").encode())
        got = b""
        while len(got) < 256 * 1024:
            chunk = sock.recv(65536)
            self.assertTrue(chunk, "connection closed early")
            got += chunk
        time.sleep(3)
        during = rss_kib(hub.proc.pid)
        total = len(got)
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            total += len(chunk)
        sock.close()
        head, _, _ = got.partition(b"\r\n\r\n")
        self.assertIn(b" 200 ", head.split(b"\r\n")[0])
        self.assertGreaterEqual(total - len(head) - 4, size)  # chunked framing adds a little
        self.assertLess(during - before, 16 * 1024,
                        f"nbhub grew by {during - before} KiB while a slow client read a 48 MiB file")

        # A 32 MiB upload through the contents API (the body streams to the server).
        payload = json.dumps({"type": "file", "format": "text", "content": "a" * (32 * 1024 * 1024)}).encode()
        before = rss_kib(hub.proc.pid)
        s, body = call(hub, "PUT", prefix + "api/contents/upload.txt", raw=payload, token=token, timeout=120)
        after = rss_kib(hub.proc.pid)
        self.assertIn(s, (200, 201), body[:300])
        self.assertEqual(os.path.getsize(os.path.join(home, "upload.txt")), 32 * 1024 * 1024)
        self.assertLess(after - before, 16 * 1024,
                        f"nbhub grew by {after - before} KiB relaying a 32 MiB upload")


if __name__ == "__main__":
    unittest.main()
