"""Issue 5: a client written like jupyterhub-idle-culler (Python standard library only) drives a
real nbhub with an admin service token from config: it pages through users with the
pagination envelope (following `next.url`), reads each server's last_activity and stops the
idle ones; real jupyterhub-singleuser servers run underneath.
"""
import datetime
import json
import shutil
import time
import unittest
import urllib.error
import urllib.request

from harness.hub import Hub

SINGLEUSER = shutil.which("jupyterhub-singleuser")
TOKEN = "culler-service-token-0123456789"

CONFIG = f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
services = [{{ name = "idle-culler", api_token = "{TOKEN}", admin = true }}]
[auth]
allowed_users = ["busy", "idle", "never"]
"""


def parse_date(s):
    # The culler's parse_date: ISO 8601 with a Z suffix.
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


class Culler:
    """The request pattern of jupyterhub_idle_culler.cull_idle, minus tornado."""

    def __init__(self, api_url, token, timeout, page_size=2):
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.page_size = page_size
        self.requests = []

    def fetch(self, method, url, body=None, paginated=False):
        if not url.startswith("http"):
            url = self.api_url + url
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        if paginated:
            req.add_header("Accept", "application/jupyterhub-pagination+json")
        self.requests.append((method, url))
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def users(self):
        url = f"{self.api_url}/users?state=ready&limit={self.page_size}"
        while url:
            status, page = self.fetch("GET", url, paginated=True)
            assert status == 200, page
            if isinstance(page, list):  # a hub without pagination
                yield from page
                return
            yield from page["items"]
            nxt = page["_pagination"]["next"]
            url = nxt["url"] if nxt else None

    def cull(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        stopped = []
        for user in self.users():
            for name, server in user["servers"].items():
                if server["pending"] or not server["ready"]:
                    continue
                last = server["last_activity"] or server["started"]
                idle = (now - parse_date(last)).total_seconds()
                if idle <= self.timeout:
                    continue
                path = f"/users/{user['name']}/server" + (f"s/{name}" if name else "")
                status, body = self.fetch("DELETE", path)
                assert status in (202, 204), (status, body)
                if status == 202:  # stopping: wait as the culler does
                    for _ in range(100):
                        _, u = self.fetch("GET", f"/users/{user['name']}")
                        if name not in u["servers"]:
                            break
                        time.sleep(0.2)
                stopped.append(user["name"])
        return stopped


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class IdleCullerClientTest(unittest.TestCase):
    def setUp(self):
        self.hub = Hub(CONFIG)
        self.hub.start()
        self.api = self.hub.url("/hub/api")
        self.culler = Culler(self.api, TOKEN, timeout=3)

    def tearDown(self):
        for name in ("busy", "idle"):
            try:
                self.culler.fetch("DELETE", f"/users/{name}/server")
            except Exception:
                pass
        self.hub.stop()

    def wait_ready(self, name, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            _, u = self.culler.fetch("GET", f"/users/{name}")
            if u.get("server"):
                return u
            time.sleep(0.3)
        raise AssertionError(f"{name}'s server did not become ready:\n" + self.hub.log()[-3000:])

    def test_culls_only_the_idle_server(self):
        for name in ("busy", "idle"):
            status, body = self.culler.fetch("POST", f"/users/{name}/server")
            self.assertIn(status, (201, 202), body)
        for name in ("busy", "idle"):
            self.wait_ready(name)
        # Extra users so the listing spans pages.
        self.culler.fetch("POST", "/users", {"usernames": [f"extra-{i}" for i in range(3)]})
        time.sleep(4)
        now = datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
        status, body = self.culler.fetch("POST", "/users/busy/activity",
                                         {"servers": {"": {"last_activity": now}}})
        self.assertEqual(status, 200, body)

        stopped = self.culler.cull()
        self.assertEqual(stopped, ["idle"])
        # It paged: state=ready lists two users, one page of two.
        pages = [u for m, u in self.culler.requests if m == "GET" and "/users?" in u]
        self.assertGreaterEqual(len(pages), 1)

        _, active = self.culler.fetch("GET", "/users?state=active")
        self.assertEqual([u["name"] for u in active], ["busy"])
        _, idle = self.culler.fetch("GET", "/users/idle")
        self.assertIsNone(idle["server"])
        self.assertEqual(idle["servers"], {})
        # Paging through everyone follows next.url across pages.
        self.culler.page_size = 2
        everyone = []
        url = f"{self.api}/users?limit=2"
        while url:
            _, page = self.culler.fetch("GET", url, paginated=True)
            everyone += [u["name"] for u in page["items"]]
            url = page["_pagination"]["next"]["url"] if page["_pagination"]["next"] else None
        self.assertEqual(sorted(everyone), sorted(["busy", "idle", "never", "extra-0", "extra-1", "extra-2"]))


if __name__ == "__main__":
    unittest.main()
