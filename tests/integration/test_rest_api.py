"""Issue 5: the JupyterHub REST API (spec/jupyterhub-contract.md §4) against a real nbhub, with
a config service token, user tokens with scopes, roles from load_roles, and base_url /jh/.

Plain urllib, as the tools written for JupyterHub use it.
"""
import json
import unittest
import urllib.error
import urllib.request

from harness.hub import Hub

ADMIN_TOKEN = "admin-service-token-0123456789"
READER_TOKEN = "reader-service-token-0123456789"

CONFIG = f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
base_url = "/jh/"
services = [
  {{ name = "admin-svc", api_token = "{ADMIN_TOKEN}", admin = true }},
  {{ name = "reader", api_token = "{READER_TOKEN}", url = "http://127.0.0.1:1", info = {{ about = "reads" }} }},
]
load_roles = [
  {{ name = "group-reader", scopes = ["read:users!group=students", "list:users!group=students", "delete:servers!group=students"], services = ["reader"] }},
]
[auth]
allowed_users = ["alice"]
admin_users = ["root"]
"""


class Api:
    def __init__(self, hub, token=None):
        self.hub = hub
        self.token = token

    def call(self, method, path, body=None, headers=None, token=None):
        url = path if path.startswith("http") else self.hub.url("/jh/hub/api" + path)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        tok = token or self.token
        if tok:
            req.add_header("Authorization", f"token {tok}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None), r.headers
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw), e.headers
            except ValueError:
                return e.code, raw.decode(errors="replace"), e.headers


class RestApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(CONFIG)
        cls.hub.start()
        cls.admin = Api(cls.hub, ADMIN_TOKEN)
        cls.reader = Api(cls.hub, READER_TOKEN)
        cls.anon = Api(cls.hub)

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def test_root_info_and_errors(self):
        s, body, h = self.anon.call("GET", "/")
        self.assertEqual(s, 200)
        self.assertIn("version", body)
        self.assertTrue(h["X-JupyterHub-Version"])
        s, body, _ = self.anon.call("GET", "/info")
        self.assertEqual(s, 403)
        self.assertEqual(body["status"], 403)
        self.assertIn("read:hub", body["message"])
        s, body, _ = self.admin.call("GET", "/info")
        self.assertEqual(s, 200)
        for k in ("version", "python", "sys_executable", "spawner", "authenticator"):
            self.assertIn(k, body)
        s, body, _ = self.admin.call("GET", "/no/such/thing")
        self.assertEqual((s, body["status"]), (404, 404))
        s, body, _ = self.admin.call("POST", "/authorizations/token")
        self.assertEqual(s, 404)
        req = urllib.request.Request(self.hub.url("/jh/hub/api/users"), data=b"{not json", method="POST")
        req.add_header("Authorization", f"token {ADMIN_TOKEN}")
        try:
            urllib.request.urlopen(req, timeout=10)
            self.fail("bad JSON accepted")
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 400)
            self.assertEqual(json.loads(e.read())["message"], "Invalid JSON in body of request")

    def test_config_users_exist_and_identity(self):
        s, body, _ = self.admin.call("GET", "/users/alice")
        self.assertEqual(s, 200, body)
        self.assertEqual(set(body) >= {"kind", "name", "admin", "roles", "groups", "server", "pending",
                                       "created", "last_activity", "servers"}, True, body)
        self.assertEqual((body["kind"], body["admin"], body["roles"]), ("user", False, ["user"]))
        s, root, _ = self.admin.call("GET", "/users/root")
        self.assertTrue(root["admin"])
        self.assertIn("admin", root["roles"])
        s, me, _ = self.admin.call("GET", "/user")
        self.assertEqual(s, 200)
        self.assertEqual((me["kind"], me["name"]), ("service", "admin-svc"))

    def test_users_crud_pagination_and_filters(self):
        names = [f"pg-{i:02d}" for i in range(7)]
        s, body, _ = self.admin.call("POST", "/users", {"usernames": names})
        self.assertEqual(s, 201, body)
        self.assertEqual(sorted(u["name"] for u in body), names)
        s, body, _ = self.admin.call("POST", "/users", {"usernames": names})
        self.assertEqual(s, 409)
        s, body, _ = self.admin.call("POST", "/users", {"usernames": ["bad/name"]})
        self.assertEqual(s, 400)

        # Envelope, following next.url exactly as given.
        seen = []
        url = "/users?name_filter=PG-&limit=3"
        pages = 0
        while url:
            s, body, _ = self.admin.call("GET", url, headers={"Accept": "application/jupyterhub-pagination+json"})
            self.assertEqual(s, 200, body)
            pages += 1
            self.assertEqual(body["_pagination"]["total"], 7)
            seen += [u["name"] for u in body["items"]]
            nxt = body["_pagination"]["next"]
            url = nxt["url"] if nxt else None
            if nxt:
                self.assertTrue(nxt["url"].startswith("http://127.0.0.1:"), nxt)
        self.assertEqual((pages, seen), (3, names))
        # Without the header: a bare list.
        s, body, _ = self.admin.call("GET", "/users?name_filter=pg-&offset=5")
        self.assertEqual([u["name"] for u in body], names[5:])
        s, body, _ = self.admin.call("GET", "/users?limit=x")
        self.assertEqual(s, 400)
        s, body, _ = self.admin.call("GET", "/users?state=bogus")
        self.assertEqual(s, 400)
        s, body, _ = self.admin.call("GET", "/users?state=active&name_filter=pg-")
        self.assertEqual(body, [])
        s, body, _ = self.admin.call("GET", "/users?state=inactive&name_filter=pg-&sort=-name")
        self.assertEqual([u["name"] for u in body], names[::-1])

        s, body, _ = self.admin.call("POST", "/users/newbie", {"admin": True})
        self.assertEqual((s, body["admin"]), (201, True))
        s, body, _ = self.admin.call("POST", "/users/newbie")
        self.assertEqual(s, 409)
        s, body, _ = self.admin.call("PATCH", "/users/newbie", {"name": "renamed", "admin": False})
        self.assertEqual((s, body["name"], body["admin"]), (200, "renamed", False), body)
        s, body, _ = self.admin.call("PATCH", "/users/renamed", {"name": "alice"})
        self.assertEqual(s, 400)
        s, body, _ = self.admin.call("PATCH", "/users/renamed", {"bogus": 1})
        self.assertEqual(s, 400)
        s, _, _ = self.admin.call("DELETE", "/users/renamed")
        self.assertEqual(s, 204)
        s, body, _ = self.admin.call("GET", "/users/renamed")
        self.assertEqual(s, 404)

    def test_tokens_scopes_and_intersection(self):
        self.admin.call("POST", "/users/tok-user")
        s, body, _ = self.admin.call("POST", "/users/tok-user/tokens",
                                     {"note": "for a script", "expires_in": 3600, "scopes": ["read:users", "list:users"]})
        self.assertEqual(s, 201, body)
        token, tid = body["token"], body["id"]
        self.assertTrue(tid.startswith("a"))
        self.assertEqual((body["kind"], body["note"], body["user"], body["roles"]), ("api_token", "for a script", "tok-user", []))
        self.assertIsNotNone(body["expires_at"])
        # Cut down to the owner's own: read:users!user=tok-user, and no list:users at all.
        self.assertIn("read:users!user=tok-user", body["scopes"])
        self.assertNotIn("read:users", body["scopes"])
        self.assertFalse(any(s.startswith("list:users") for s in body["scopes"]))
        user = Api(self.hub, token)
        s, me, _ = user.call("GET", "/user")
        self.assertEqual((s, me["name"], me["token_id"]), (200, "tok-user", tid))
        s, _, _ = user.call("GET", "/users/alice")
        self.assertEqual(s, 403)
        s, _, _ = user.call("GET", "/users")
        self.assertEqual(s, 403)
        s, _, _ = user.call("POST", "/users/tok-user/tokens", {})
        self.assertEqual(s, 403)  # the token holds no `tokens` scope

        s, body, _ = self.admin.call("POST", "/users/tok-user/tokens", {"scopes": ["read:userz"]})
        self.assertEqual(s, 400)
        s, body, _ = self.admin.call("POST", "/users/tok-user/tokens", {"expires_in": -5})
        self.assertEqual(s, 400)
        # A full token (role `token` = inherit) may make more tokens for its owner.
        s, body, _ = self.admin.call("POST", "/users/tok-user/tokens", {})
        full = Api(self.hub, body["token"])
        s, body, _ = full.call("POST", "/users/tok-user/tokens", {"note": "child"})
        self.assertEqual(s, 201)
        s, body, _ = full.call("GET", "/users/tok-user/tokens")
        self.assertEqual(s, 200)
        notes = [t["note"] for t in body["api_tokens"]]
        self.assertIn("for a script", notes)
        self.assertIn("child", notes)
        s, body, _ = full.call("GET", f"/users/tok-user/tokens/{tid}")
        self.assertEqual((s, body["id"]), (200, tid))
        s, _, _ = full.call("DELETE", f"/users/tok-user/tokens/{tid}")
        self.assertEqual(s, 204)
        s, _, _ = user.call("GET", "/user")
        self.assertEqual(s, 403)
        s, _, _ = full.call("GET", "/users/tok-user/tokens/a999999")
        self.assertEqual(s, 404)
        # Another user's tokens: 403, not 404.
        s, _, _ = full.call("GET", "/users/alice/tokens")
        self.assertEqual(s, 403)
        # Legacy lookup of a token's owner.
        s, body, _ = self.admin.call("POST", "/users/tok-user/tokens", {"note": "legacy"})
        s, owner, _ = self.reader.call("GET", "/authorizations/token/" + body["token"])
        self.assertEqual((s, owner["name"]), (200, "tok-user"))
        s, _, _ = self.reader.call("GET", "/authorizations/token/not-a-token-at-all")
        self.assertEqual(s, 404)

    def test_groups_and_group_filtered_roles(self):
        self.admin.call("POST", "/users", {"usernames": ["stu-1", "stu-2", "teacher"]})
        s, body, _ = self.admin.call("POST", "/groups", {"groups": ["students"], "users": ["stu-1"]})
        self.assertEqual(s, 201, body)
        self.assertEqual(body[0], {"kind": "group", "name": "students", "users": ["stu-1"], "properties": {}, "roles": []})
        s, _, _ = self.admin.call("POST", "/groups", {"groups": ["students"]})
        self.assertEqual(s, 409)
        s, body, _ = self.admin.call("POST", "/groups/students/users", {"users": ["stu-2"]})
        self.assertEqual((s, body["users"]), (200, ["stu-1", "stu-2"]))
        s, _, _ = self.admin.call("POST", "/groups/students/users", {"users": ["nobody"]})
        self.assertEqual(s, 400)
        s, body, _ = self.admin.call("PUT", "/groups/students/properties", {"course": "cs101"})
        self.assertEqual((s, body["properties"]), (200, {"course": "cs101"}))
        s, _, _ = self.admin.call("PUT", "/groups/students/properties", [1])
        self.assertEqual(s, 400)
        s, body, _ = self.admin.call("GET", "/groups", headers={"Accept": "application/jupyterhub-pagination+json"})
        self.assertIn("students", [g["name"] for g in body["items"]])

        # The reader service holds read:users!group=students via load_roles.
        s, body, _ = self.reader.call("GET", "/users/stu-1")
        self.assertEqual((s, body["name"]), (200, "stu-1"))
        s, _, _ = self.reader.call("GET", "/users/teacher")
        self.assertEqual(s, 403)
        s, body, _ = self.reader.call("GET", "/users")
        self.assertEqual(sorted(u["name"] for u in body), ["stu-1", "stu-2"])
        # Server endpoints resolve !group= too: past the scope check, stu-1's server is simply
        # not running (400); the teacher's is out of scope (403).
        s, body, _ = self.reader.call("DELETE", "/users/stu-1/server")
        self.assertEqual((s, body["message"]), (400, "stu-1's server is not running"))
        s, _, _ = self.reader.call("DELETE", "/users/teacher/server")
        self.assertEqual(s, 403)
        s, body, _ = self.admin.call("DELETE", "/groups/students/users", {"users": ["stu-2"]})
        self.assertEqual(body["users"], ["stu-1"])
        s, body, _ = self.reader.call("GET", "/users")
        self.assertEqual([u["name"] for u in body], ["stu-1"])
        s, _, _ = self.admin.call("DELETE", "/groups/students")
        self.assertEqual(s, 204)
        s, _, _ = self.admin.call("GET", "/groups/students")
        self.assertEqual(s, 404)

    def test_services_and_proxy(self):
        s, body, _ = self.admin.call("GET", "/services")
        self.assertEqual(s, 200)
        self.assertEqual(set(body), {"admin-svc", "reader"})
        r = body["reader"]
        self.assertEqual((r["kind"], r["url"], r["prefix"], r["info"]),
                         ("service", "http://127.0.0.1:1", "/jh/services/reader/", {"about": "reads"}))
        s, body, _ = self.admin.call("GET", "/services/nope")
        self.assertEqual(s, 404)
        s, _, _ = self.reader.call("GET", "/services")
        self.assertEqual(s, 403)
        s, body, _ = self.admin.call("GET", "/proxy")
        self.assertEqual(s, 200)
        self.assertIsInstance(body, dict)
        s, _, _ = self.admin.call("POST", "/proxy")
        self.assertEqual(s, 200)
        s, _, _ = self.reader.call("GET", "/proxy")
        self.assertEqual(s, 403)

    def test_proxy_error_page(self):
        try:
            urllib.request.urlopen(self.hub.url("/jh/hub/error/503"), timeout=10)
            self.fail("error page answered 2xx")
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 503)
            body = e.read().decode()
            self.assertIn("appears to be down", body)
            self.assertIn('href="/jh/hub/home"', body)
            self.assertIn("script-src 'self'", e.headers["Content-Security-Policy"])

    def test_zz_shutdown(self):
        s, _, _ = self.reader.call("POST", "/shutdown")
        self.assertEqual(s, 403)
        s, _, _ = self.admin.call("POST", "/shutdown", {"servers": "yes"})
        self.assertEqual(s, 400)
        s, body, _ = self.admin.call("POST", "/shutdown")
        self.assertEqual((s, body), (202, {"message": "Shutting down Hub"}))
        self.assertEqual(self.hub.wait_exit(10), 0)


if __name__ == "__main__":
    unittest.main()
