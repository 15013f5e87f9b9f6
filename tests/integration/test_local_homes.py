"""Issue 18 point 5: users must not see the hub's secrets.

With the local spawner and no system users, every server runs as nbhub's own user. Before,
each one ran in nbhub's working directory, so a user's file browser listed the cookie secret,
the database and the config file. Now each user has a private home of their own
(spawner.home_dir_template, homes/{username} under data_dir): a hub started with the default
layout, two users signed in through the test IdP, each with Debian's real
jupyterhub-singleuser, and each server's own contents API (with the user's token) shows its
user's files only. The servers' environments carry none of the hub's secrets.

As root, nbhub starts servers only with an explicit opt-in (spawner.allow_root_servers); the
harness gives it (harness/hub.py), and the last test checks the refusal without it.
"""
import os
import re
import shutil
import stat
import tempfile
import time
import unittest
import urllib.parse

from harness import browserless
from harness.hub import Hub
from harness.idp import TestIdp
from harness.session import sign_in

SINGLEUSER = shutil.which("jupyterhub-singleuser")
CRYPT_KEY = "ab" * 32
PROXY_TOKEN = "configproxy-token-" + os.urandom(6).hex()
# Everything the hub writes with the default layout, in its working directory.
HUB_FILES = {"nbhub.toml", "nbhub.sqlite", "nbhub_cookie_secret", "server-logs", "homes"}


def hub_config(issuer):
    # The default layout: no data_dir, db_url, cookie_secret_file, log_dir or [spawner].
    return f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
[auth]
allowed_users = ["alice", "bob"]
[[auth.providers]]
name = "idp"
kind = "oidc"
issuer = "{issuer}"
client_id = "nbhub-test"
client_secret = "nbhub-test-secret"
"""


def child_pids(parent):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == parent:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def environ(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)


class User:
    """A person signed in through the test IdP, with an API token of their own."""

    def __init__(self, hub, name):
        self.hub, self.name = hub, name
        self.client = sign_in(hub, name, name + "-pw")
        page = self.client.get(hub.url("/hub/token")).text
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
        r = self.client.post(hub.url(f"/hub/api/users/{name}/tokens"), json_body={"note": "homes"},
                             headers={"X-XSRFToken": xsrf})
        assert r.status == 201, r.text
        self.token = r.json()["token"]

    def api(self, method, path, body=None):
        """A request to this user's server with their token, no cookies."""
        return browserless.Client().request(
            method, self.hub.url(f"/user/{self.name}/{path}"), json_body=body,
            headers={"Authorization": f"token {self.token}"})

    def start(self):
        r = self.client.get(self.hub.url("/hub/spawn"))
        assert r.status == 302, (r.status, r.text[:300])

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.api("GET", "api/status")
            if r.status == 200 and "started" in r.json():
                return
            time.sleep(0.3)
        raise AssertionError(f"{self.name}'s server never answered:\n" + self.hub.log()[-3000:])

    def listing(self, path=""):
        r = self.api("GET", "api/contents/" + path)
        assert r.status == 200, (r.status, r.text[:300])
        return sorted(item["name"] for item in r.json()["content"])


@unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
class LocalHomes(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="nbhub-homes-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.idp = TestIdp("generic")
        self.idp.__enter__()
        self.addCleanup(self.idp.__exit__, None, None, None)

    def start_hub(self, env=None):
        hub = Hub(hub_config(self.idp.issuer), workdir=self.workdir,
                  env={"NBHUB_CRYPT_KEY": CRYPT_KEY, "CONFIGPROXY_AUTH_TOKEN": PROXY_TOKEN,
                       **(env or {})})
        hub.start()
        self.addCleanup(hub.stop, False)
        self.addCleanup(self.kill_servers, hub)
        return hub

    def kill_servers(self, hub):
        for pid in child_pids(hub.proc.pid):
            try:
                os.killpg(pid, 9)
            except OSError:
                pass

    def test_each_server_sees_its_own_home_and_none_of_the_hubs_files(self):
        hub = self.start_hub()
        alice, bob = User(hub, "alice"), User(hub, "bob")
        alice.start()
        bob.start()
        alice.wait_ready()
        bob.wait_ready()
        self.assertLessEqual(HUB_FILES - {"homes"}, set(os.listdir(self.workdir)),
                             "the hub wrote its files where this test expects them")

        # Each file browser starts empty: the home, not the hub's directory.
        self.assertEqual(alice.listing(), [])
        self.assertEqual(bob.listing(), [])

        # The hub's files are out of reach of the contents API, however they are named.
        secret = open(os.path.join(self.workdir, "nbhub_cookie_secret"), "rb").read().strip()
        # (Dots percent-encoded, so that they reach the server as they are, not resolved on
        # the way.)
        for path in ("%2E%2E", "%2E%2E/%2E%2E", "%2E%2E/%2E%2E/nbhub.toml",
                     "%2E%2E/%2E%2E/nbhub_cookie_secret",
                     urllib.parse.quote("../../nbhub.sqlite", safe="")):
            r = alice.api("GET", "api/contents/" + path)
            self.assertNotEqual(r.status, 200, f"{path}: {r.text[:300]}")
            self.assertNotIn(b"client_secret", r.body)
            self.assertNotIn(secret, r.body)

        # A file alice writes is hers: in her listing, not in bob's, not reachable from his.
        r = alice.api("PUT", "api/contents/notes.txt",
                      {"type": "file", "format": "text", "content": "alice only"})
        self.assertEqual(r.status, 201, r.text[:300])
        self.assertEqual(alice.listing(), ["notes.txt"])
        self.assertEqual(bob.listing(), [])
        for path in ("notes.txt", "%2E%2E/alice/notes.txt", "%2E%2E%2Falice%2Fnotes.txt"):
            r = bob.api("GET", "api/contents/" + path)
            self.assertNotEqual(r.status, 200, f"{path}: {r.text[:300]}")
            self.assertNotIn(b"alice only", r.body)
        # And bob's token does not open alice's server.
        r = browserless.Client().get(hub.url("/user/alice/api/contents/notes.txt"),
                                     headers={"Authorization": f"token {bob.token}"})
        self.assertNotEqual(r.status, 200)

        # On disk: homes/<name>, private, holding what the user wrote.
        homes = os.path.join(self.workdir, "homes")
        for d in (homes, os.path.join(homes, "alice"), os.path.join(homes, "bob")):
            self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700, d)
        with open(os.path.join(homes, "alice", "notes.txt")) as f:
            self.assertEqual(f.read(), "alice only")

        # The servers: working directory and HOME are the home; no secret of the hub in their
        # environment.
        servers = {}
        for pid in child_pids(hub.proc.pid):
            env = environ(pid)
            servers[env[b"JUPYTERHUB_USER"].decode()] = (pid, env)
        self.assertEqual(sorted(servers), ["alice", "bob"])
        for name, (pid, env) in servers.items():
            home = os.path.realpath(os.path.join(homes, name))
            self.assertEqual(os.readlink(f"/proc/{pid}/cwd"), home)
            self.assertEqual(env[b"HOME"].decode(), home)
            self.assertEqual(env[b"USER"].decode(), name)
            blob = b"\0".join(k + b"=" + v for k, v in env.items())
            for leak in (CRYPT_KEY.encode(), PROXY_TOKEN.encode(), secret, b"nbhub-test-secret"):
                self.assertNotIn(leak, blob, f"{name}'s server environment")
            self.assertFalse([k for k in env if k.startswith(b"NBHUB_")], name)

        for u in (alice, bob):
            r = browserless.Client().request(
                "DELETE", hub.url(f"/hub/api/users/{u.name}/server"),
                headers={"Authorization": f"token {u.token}"})
            self.assertIn(r.status, (202, 204), r.text)

    @unittest.skipUnless(os.geteuid() == 0, "only a hub running as root refuses root servers")
    def test_root_servers_are_refused_without_the_opt_in(self):
        hub = self.start_hub(env={"NBHUB_SPAWNER_ALLOW_ROOT_SERVERS": "false"})
        self.assertIn("every spawn will be refused", hub.log())
        alice = sign_in(hub, "alice", "alice-pw")
        alice.get(hub.url("/hub/spawn"))
        deadline = time.time() + 20
        while time.time() < deadline:
            r = alice.get(hub.url("/hub/spawn-pending/alice"))
            if r.status == 500:
                break
            time.sleep(0.2)
        self.assertEqual(r.status, 500, r.text[:500])
        self.assertIn("spawner.allow_root_servers = true", r.text)
        self.assertEqual(child_pids(hub.proc.pid), [], "no server process was started")
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "homes")))


if __name__ == "__main__":
    unittest.main()
