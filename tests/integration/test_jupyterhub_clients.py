"""Issue 18: nbhub as JupyterHub's clients use it, with Debian's real jupyterhub-singleuser 3.0.

  * the spawn progress stream stays open until the spawn ends, as JupyterHub's does: a plain HTTP
    reader takes the end of the stream as "ready", and three servers started together are all
    running when their streams end;
  * POST .../server waits up to slow_spawn_timeout and answers 201 when the server is ready, so
    the client can use it at once; a slower spawn gets 202, and an API request to the server
    meanwhile gets JupyterHub's JSON 424, never an HTML sign-in page;
  * signing in lands in the server (redirect_to_server, on by default): a requests session
    that follows redirects from the login page ends in the notebook; redirect_to_server = false
    and default_url send the person where JupyterHub would;
  * users named like an e-mail address and with non-ASCII letters sign in, get servers and are
    reached through the proxy.
"""
import http.client
import json
import os
import re
import shutil
import tempfile
import threading
import time
import unittest
import urllib.parse

import requests

from harness import browserless
from harness.hub import Hub
from harness.idp import TestIdp
from harness.login import hub_toml, oidc_provider
from harness.session import follow, sign_in

SINGLEUSER = shutil.which("jupyterhub-singleuser")
ADMIN = "clients-admin-token-" + os.urandom(6).hex()


def api_config(extra="", top=""):
    return f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
{top}
services = [ {{ name = "admin-svc", api_token = "{ADMIN}", admin = true }} ]
[auth]
allowed_users = []
{extra}
"""


def login_config(idp, top=None, **provider):
    return hub_toml([oidc_provider(idp, name="idp", **provider)], auth={"allow_all": True},
                    top={"db_url": "sqlite:///nbhub.sqlite", **(top or {})})


def call(hub, method, path, body=None, token=ADMIN, headers=None):
    """One request with a token, redirects not followed: (status, headers, body bytes)."""
    c = browserless.Client(timeout=60)
    h = {"Authorization": f"token {token}", **(headers or {})}
    r = c.request(method, hub.url(path), json_body=body, headers=h)
    return r.status, r.headers, r.body


def make_user(hub, name, base="/"):
    quoted = urllib.parse.quote(name, safe="")
    s, _, body = call(hub, "POST", f"{base}hub/api/users/{quoted}")
    assert s == 201, (s, body)
    s, _, body = call(hub, "POST", f"{base}hub/api/users/{quoted}/tokens", {"note": "clients test"})
    assert s == 201, (s, body)
    return json.loads(body)["token"]


def read_progress(hub, path, token=ADMIN, cookie=None, timeout=90):
    """Reads a progress stream with a plain HTTP client to its end, as tools do; the events and
    how long the stream stayed open."""
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=timeout)
    headers = {"Accept": "text/event-stream"}
    if token:
        headers["Authorization"] = f"token {token}"
    if cookie:
        headers["Cookie"] = cookie
    started = time.monotonic()
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    body = r.read().decode()  # to the end of the stream
    conn.close()
    events = [json.loads(line[len("data: "):]) for line in body.splitlines() if line.startswith("data: ")]
    return r.status, r.getheader("Content-Type"), events, time.monotonic() - started


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class SpawnApi(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="nbhub-clients-")
        self.addCleanup(shutil.rmtree, self.workdir, True)

    def hub(self, extra="", top=""):
        hub = Hub(api_config(extra, top), workdir=self.workdir)
        hub.start()
        self.addCleanup(hub.stop)
        self.addCleanup(hub.kill_servers)  # runs first
        return hub

    def test_progress_streams_of_three_servers_end_when_they_are_ready(self):
        # slow_spawn_timeout 0: the POSTs answer at once and the streams follow whole spawns.
        hub = self.hub("[spawner]\nslow_spawn_timeout_seconds = 0\n")
        users = ["p1", "p2", "p3"]
        tokens = {u: make_user(hub, u) for u in users}
        for u in users:
            s, _, body = call(hub, "POST", f"/hub/api/users/{u}/server")
            self.assertEqual(s, 202, body)
        results = {}

        def reader(u):
            results[u] = read_progress(hub, f"/hub/api/users/{u}/server/progress")

        threads = [threading.Thread(target=reader, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for u in users:
            status, ctype, events, _ = results[u]
            self.assertEqual(status, 200)
            self.assertTrue(ctype.startswith("text/event-stream"), ctype)
            self.assertGreaterEqual(len(events), 2, events)
            last = events[-1]
            self.assertEqual(last, {"progress": 100, "ready": True, "message": f"Server ready at /user/{u}/",
                                    "html_message": f'Server ready at <a href="/user/{u}/">/user/{u}/</a>',
                                    "url": f"/user/{u}/"}, events)
            self.assertFalse(any(e.get("ready") for e in events[:-1]), events)
            # The end of the stream means ready: the server answers at once, no retries.
            s, _, body = call(hub, "GET", f"/user/{u}/api/status", token=tokens[u])
            self.assertEqual(s, 200, body[:300])
        s, _, body = call(hub, "GET", "/hub/api/users")
        running = [u["name"] for u in json.loads(body) if u["server"]]
        self.assertEqual(sorted(running), users)

        # A ready server's stream: its ready event, then the end.
        status, _, events, _ = read_progress(hub, "/hub/api/users/p1/server/progress")
        self.assertEqual((status, [e.get("ready") for e in events]), (200, [True]))
        # A server that is not starting: 400, as JupyterHub.
        make_user(hub, "idle")
        status, _, _, _ = read_progress(hub, "/hub/api/users/idle/server/progress")
        self.assertEqual(status, 400)

    def test_servers_under_a_base_url_with_an_escaped_space(self):
        # JupyterHub's own tests run under /@/space%20word/: servers there are routed too.
        hub = self.hub(top='base_url = "/@/space%20word/"')
        token = make_user(hub, "sp", base="/@/space%20word/")
        s, _, body = call(hub, "POST", "/@/space%20word/hub/api/users/sp/server")
        self.assertEqual(s, 201, body + hub.log()[-2000:].encode())
        s, _, body = call(hub, "GET", "/@/space%20word/user/sp/api/kernels", token=token)
        self.assertEqual(s, 200, body[:300] + hub.log()[-2000:].encode())
        s, _, body = call(hub, "GET", "/@/space%20word/hub/api/users/sp")
        self.assertEqual(json.loads(body)["server"], "/@/space%20word/user/sp/")

    def test_failed_spawn_ends_the_stream_with_failed(self):
        hub = self.hub('[spawner]\nslow_spawn_timeout_seconds = 0\ncmd = ["/bin/sh", "-c", "sleep 1; exit 3"]\n')
        make_user(hub, "f1")
        s, _, body = call(hub, "POST", "/hub/api/users/f1/server")
        self.assertEqual(s, 202, body)
        status, _, events, _ = read_progress(hub, "/hub/api/users/f1/server/progress")
        self.assertEqual(status, 200)
        self.assertTrue(events[-1].get("failed"), events)
        self.assertTrue(events[-1]["message"].startswith("Spawn failed: "), events)

    def test_start_answers_201_when_ready_and_the_server_is_usable_at_once(self):
        hub = self.hub()
        token = make_user(hub, "quick")
        s, _, body = call(hub, "POST", "/hub/api/users/quick/server")
        self.assertEqual(s, 201, body + hub.log()[-2000:].encode())
        # What a client's test suite does next: list the kernels, through the proxy.
        s, h, body = call(hub, "GET", "/user/quick/api/kernels", token=token)
        self.assertEqual(s, 200, body[:300])
        self.assertEqual(json.loads(body), [])

    def test_slow_spawn_answers_202_and_api_calls_meanwhile_get_json_424(self):
        slow = ('[spawner]\nslow_spawn_timeout_seconds = 1\n'
                'cmd = ["/bin/sh", "-c", "sleep 4; exec jupyterhub-singleuser \\"$@\\"", "sh"]\n')
        hub = self.hub(slow)
        token = make_user(hub, "slow")
        started = time.monotonic()
        s, _, body = call(hub, "POST", "/hub/api/users/slow/server")
        self.assertEqual(s, 202, body)
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        # The proxy has no route yet: the hub answers for the server, as JupyterHub, with JSON
        # (a requests client keeps its Authorization header across the same-host redirect).
        rs = requests.Session()
        rs.trust_env = False
        r = rs.get(hub.url("/user/slow/api/kernels"), headers={"Authorization": f"token {token}"})
        self.assertEqual(r.status_code, 424, r.text[:300])
        self.assertEqual(r.headers["Content-Type"], "application/json")
        self.assertRegex(r.json()["message"], r"^JupyterHub server no longer running at /user/slow/api/kernels\. "
                                              r"Restart the server at http://127\.0\.0\.1:\d+/hub/spawn/slow$")
        # Other methods too (JupyterHub's non_get), and an Accept: application/json page request.
        c = browserless.Client()
        r = c.request("POST", hub.url("/hub/user/slow/api/kernels"), json_body={})
        self.assertEqual(r.status, 424)
        r = c.get(hub.url("/hub/user/slow/tree"), headers={"Authorization": f"token {token}",
                                                             "Accept": "application/json"})
        self.assertEqual(r.status, 424)
        # A browser-like request for a page goes to the progress page, keeping where it was going.
        r = c.get(hub.url("/hub/user/slow/tree"), headers={"Authorization": f"token {token}",
                                                             "Accept": "text/html,application/json;q=0.9"})
        self.assertEqual(r.status, 303)
        self.assertEqual(r.headers["Location"], "/hub/spawn-pending/slow?next=%2Fhub%2Fuser%2Fslow%2Ftree")
        # Without credentials: sign in first, as JupyterHub's @web.authenticated.
        r = browserless.Client().get(hub.url("/hub/user/slow/api/kernels"))
        self.assertEqual((r.status, r.headers["Location"]), (302, "/hub/login?next=%2Fhub%2Fuser%2Fslow%2Fapi%2Fkernels"))
        # Someone else's token may not ask about slow's server.
        other = make_user(hub, "other")
        r = browserless.Client().get(hub.url("/hub/user/slow/api/kernels"), headers={"Authorization": f"token {other}"})
        self.assertEqual(r.status, 403)
        status, _, events, _ = read_progress(hub, "/hub/api/users/slow/server/progress", token=token)
        self.assertTrue(events[-1].get("ready"), events)
        s, _, _ = call(hub, "GET", "/user/slow/api/kernels", token=token)
        self.assertEqual(s, 200)


def session_login(hub, start_path, user, password):
    """A requests session that signs in as a script would: from `start_path`, following every
    redirect, through the login page's button and the IdP's form. Returns (session, response)."""
    s = requests.Session()
    s.trust_env = False  # loopback only
    r = s.get(hub.url(start_path))
    m = re.search(r'href="([^"]*oauth_login[^"]*)"', r.text)
    assert m, f"no sign-in button at {r.url}:\n{r.text[:1000]}"
    r = s.get(urllib.parse.urljoin(r.url, m.group(1).replace("&amp;", "&")))
    form = browserless.parse_form(r.text)
    assert form and "username" in form["inputs"], r.text[:1000]
    fields = dict(form["inputs"], username=user, password=password)
    r = s.post(urllib.parse.urljoin(r.url, form["action"] or r.url), data=fields)
    return s, r


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class SignInLandsInTheServer(unittest.TestCase):
    USERS = [
        {"username": "alice", "password": "alice-pw", "email": "alice@example.org", "groups": []},
        {"username": "jürgen", "password": "jürgen-pw", "email": "jürgen.müller@example.org", "groups": []},
    ]

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="nbhub-landing-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.idp = TestIdp("generic", users=self.USERS)
        self.idp.start()
        self.addCleanup(self.idp.stop)

    def hub(self, **kw):
        hub = Hub(login_config(self.idp, **kw), workdir=self.workdir)
        hub.start()
        self.addCleanup(hub.stop)
        self.addCleanup(hub.kill_servers)  # runs first
        return hub

    def land_in_server(self, hub, user, password, prefix):
        s, r = session_login(hub, "/hub/", user, password)
        # JupyterHub's /hub/spawn waits a second, then shows the progress page; what its script
        # does, a script does: follow the progress stream to its end, then go to the URL it names.
        if "/hub/spawn-pending/" in r.url:
            m = re.search(r'data-progress-url="([^"]+)"', r.text)
            self.assertTrue(m, r.text[:1000])
            cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
            status, _, events, _ = read_progress(hub, m.group(1).replace("&amp;", "&"), token=None, cookie=cookie)
            self.assertEqual(status, 200)
            self.assertTrue(events[-1].get("ready"), events)
            self.assertEqual(events[-1]["url"], prefix)
            r = s.get(hub.url(events[-1]["url"]))
        self.assertEqual(r.status_code, 200, r.text[:500] + hub.log()[-3000:])
        self.assertRegex(urllib.parse.urlsplit(r.url).path, "^" + re.escape(prefix) + "(tree|lab)")
        return s

    def test_login_from_the_hub_root_ends_in_the_notebook(self):
        hub = self.hub()
        s = self.land_in_server(hub, "alice", "alice-pw", "/user/alice/")
        r = s.get(hub.url("/user/alice/api/status"))
        self.assertEqual(r.status_code, 200)
        # Signed in, /hub/ goes on to the running server.
        r = s.get(hub.url("/hub/"), allow_redirects=False)
        self.assertEqual(r.headers["Location"], "/hub/spawn")
        r = s.get(hub.url("/hub/spawn"), allow_redirects=False)
        self.assertEqual(r.headers["Location"], "/user/alice/")

    def test_email_and_non_ascii_user_names_get_servers(self):
        # username_claim = email: the Cognito/CILogon kind of name.
        hub = self.hub(username_claim="email")
        self.land_in_server(hub, "alice", "alice-pw", "/user/alice@example.org/")
        s = self.land_in_server(hub, "jürgen", "jürgen-pw",
                                "/user/" + urllib.parse.quote("jürgen.müller@example.org", safe="@") + "/")
        r = s.get(hub.url("/hub/api/user"))
        self.assertEqual(r.json()["name"], "jürgen.müller@example.org")
        self.assertEqual(r.json()["server"], "/user/" + urllib.parse.quote("jürgen.müller@example.org", safe="@") + "/")

    def test_redirect_to_server_false_and_default_url(self):
        hub = self.hub(top={"redirect_to_server": False})
        s, r = session_login(hub, "/hub/", "alice", "alice-pw")
        self.assertEqual(urllib.parse.urlsplit(r.url).path, "/hub/home")
        self.assertIn("Your server is not running", r.text)
        hub.stop()
        hub = self.hub(top={"default_url": "/hub/token"})
        r = browserless.Client().get(hub.url("/hub/"))
        self.assertEqual((r.status, r.headers["Location"]), (302, "/hub/token"))
        s, r = session_login(hub, "/hub/token", "alice", "alice-pw")
        self.assertEqual(urllib.parse.urlsplit(r.url).path, "/hub/token")


if __name__ == "__main__":
    unittest.main()
