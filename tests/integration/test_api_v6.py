"""Issue 23 item 2: what JupyterHub 5.x and 6.0 added to the REST API, against the real binary
with Debian's jupyterhub-singleuser as the servers.

- 6.0 server endpoints: GET /users/{name}/servers/{server} (and /server), with `display_name`
  beside the strict server name, and `user_options` under their own key in a start's body (the
  3.0/5.x body, the options themselves, still accepted, with 3.0's lax names);
- 6.0's `start:servers` scope and `extra_user_scopes`;
- 5.0's `token_expires_in_max_seconds`, `sort` in GET /users, `full_url`, `token_id`;
- CORS for /hub/api with configured origins (tornado_settings' Access-Control-Allow-Origin);
- `named_server_limit_per_user` (z2jh's hub.namedServerLimitPerUser);
- stopped defined servers in GET /users (include_stopped_servers) and shared like running ones;
- `allow_existing_invalid_named_servers` other than "allow-start" refuses starts of lax names.

Model keys and statuses are JupyterHub's (docs/source/reference/rest-api.yml on main, 6.0.0b2).
"""
import json
import os
import shutil
import time
import unittest
import urllib.error
import urllib.request

from harness.hub import Hub
from harness.login import hub_toml

SINGLEUSER = shutil.which("jupyterhub-singleuser")
ADMIN = "api6-admin-" + os.urandom(8).hex()
ALLOWED_ORIGIN = "https://app.example.org"
PUBLIC_URL = "https://hub.example.org"
MAX_EXPIRY = 3600
SERVER_KEYS = {"name", "display_name", "full_name", "last_activity", "started", "pending", "ready", "stopped",
               "url", "user_options", "progress_url", "full_url", "full_progress_url"}


def call(hub, method, path, body=None, token=ADMIN, headers=None):
    """(status, parsed JSON or text, headers) of /hub/api + path."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(hub.url("/hub/api" + path), data=data, method=method)
    if token:
        req.add_header("Authorization", f"token {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, raw, hdrs = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, raw, hdrs = e.code, e.read(), e.headers
    try:
        return status, (json.loads(raw) if raw else None), hdrs
    except ValueError:
        return status, raw.decode(errors="replace"), hdrs


class Api6Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(hub_toml(
            [{"kind": "null"}],
            top={"public_url": PUBLIC_URL, "token_expires_in_max_seconds": MAX_EXPIRY,
                 "cors_allow_origins": [ALLOWED_ORIGIN], "extra_user_scopes": ["list:users"],
                 "services": [{"name": "admin-svc", "api_token": ADMIN, "admin": True}]},
            tables={"spawner": {"allow_named_servers": True, "named_server_limit_per_user": 2,
                                "start_timeout_seconds": 60}}))
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)
        for name in ("alice", "bob", "carol", "dave", "erin", "frank", "gina"):
            s, body, _ = call(cls.hub, "POST", f"/users/{name}")
            assert s == 201, (s, body)

    def token_for(self, user, **spec):
        s, body, _ = call(self.hub, "POST", f"/users/{user}/tokens", {"note": self.id(), **spec})
        self.assertEqual(s, 201, body)
        return body

    def stop_later(self, user, server=""):
        path = f"/users/{user}/servers/{server}" if server else f"/users/{user}/server"
        self.addCleanup(call, self.hub, "DELETE", path)

    def wait_ready(self, user, server=""):
        deadline = time.time() + 60
        while time.time() < deadline:
            s, model, _ = call(self.hub, "GET", f"/users/{user}/servers/{server}" if server else f"/users/{user}/server")
            if s == 200 and model["ready"]:
                return model
            time.sleep(0.3)
        self.fail(f"{user}/{server} never became ready:\n" + self.hub.log()[-3000:])

    # --- GET /users/{name}/servers/{server} -------------------------------------------------

    def test_get_a_stopped_default_server(self):
        s, model, _ = call(self.hub, "GET", "/users/carol/server")
        self.assertEqual(s, 200, model)
        self.assertEqual(set(model), SERVER_KEYS | {"state"}, model)  # admin: admin:server_state
        self.assertEqual((model["name"], model["display_name"], model["full_name"]), ("", "", "carol/"))
        self.assertEqual((model["ready"], model["stopped"], model["pending"]), (False, True, None))
        self.assertEqual(model["url"], "/user/carol/")
        self.assertEqual(model["full_url"], PUBLIC_URL + "/user/carol/")
        self.assertEqual(model["full_progress_url"], PUBLIC_URL + "/hub/api/users/carol/server/progress")

    def test_get_unknown_servers_and_users(self):
        s, body, _ = call(self.hub, "GET", "/users/carol/servers/nope")
        self.assertEqual(s, 404, body)
        self.assertEqual(body["status"], 404)
        s, body, _ = call(self.hub, "GET", "/users/nobody-here/server")
        self.assertEqual(s, 404, body)

    def test_get_server_needs_read_servers(self):
        tok = self.token_for("carol", scopes=["read:users:name!user=carol"])["token"]
        s, body, _ = call(self.hub, "GET", "/users/carol/server", token=tok)
        self.assertEqual(s, 403, body)
        self.assertIn("read:servers", body["message"])
        tok = self.token_for("carol", scopes=["read:servers!server=carol/"])["token"]
        s, model, _ = call(self.hub, "GET", "/users/carol/server", token=tok)
        self.assertEqual(s, 200, model)
        self.assertNotIn("state", model)  # admin:server_state only

    # --- starts: 6.0 and 5.x bodies, display_name, strict names, limit --------------------

    @unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
    def test_start_with_the_6_0_body(self):
        s, body, _ = call(self.hub, "POST", "/users/alice/servers/gpu-1",
                          {"display_name": "GPU One ✓", "user_options": {"size": "xl"}})
        self.assertIn(s, (201, 202), body)
        self.stop_later("alice", "gpu-1")
        model = self.wait_ready("alice", "gpu-1")
        self.assertEqual(set(model), SERVER_KEYS | {"state"})
        self.assertEqual((model["name"], model["display_name"]), ("gpu-1", "GPU One ✓"))
        self.assertEqual(model["user_options"], {"size": "xl"})
        self.assertEqual(model["full_name"], "alice/gpu-1")
        self.assertEqual(model["full_url"], PUBLIC_URL + "/user/alice/gpu-1/")
        s, user, _ = call(self.hub, "GET", "/users/alice")
        self.assertEqual(user["servers"]["gpu-1"]["display_name"], "GPU One ✓")

    @unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
    def test_start_with_the_5_x_body_keeps_lax_names(self):
        # The whole body is user_options, and a 3.0/5.x client keeps the names it could use.
        s, body, _ = call(self.hub, "POST", "/users/bob/servers/Old_Name", {"size": "s"})
        self.assertIn(s, (201, 202), body)
        self.stop_later("bob", "Old_Name")
        model = self.wait_ready("bob", "Old_Name")
        self.assertEqual((model["display_name"], model["user_options"]), ("Old_Name", {"size": "s"}))

    def test_the_6_0_body_needs_a_strict_name(self):
        for name in ("Bad_Name", "x" * 31, "9lives", "a--b", "end-"):
            with self.subTest(name=name):
                s, body, _ = call(self.hub, "POST", f"/users/carol/servers/{name}", {"user_options": {}})
                self.assertEqual(s, 400, body)
                self.assertEqual(body["message"], f"Invalid server_name: {name}")
        s, body, _ = call(self.hub, "POST", "/users/carol/servers/ok", {"display_name": " padded"})
        self.assertEqual(s, 400, body)
        self.assertIn("Invalid display_name", body["message"])

    def test_bad_start_bodies(self):
        for payload, message in [({"display_name": 3}, "display_name must be a string"),
                                 ({"user_options": [1]}, "user_options must be an object or null"),
                                 (b"{nope", "Invalid JSON in body of request")]:
            with self.subTest(message=message):
                s, body, _ = call(self.hub, "POST", "/users/carol/servers/x1", payload)
                self.assertEqual((s, body["message"]), (400, message), body)

    @unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
    def test_named_server_limit_per_user(self):
        for name in ("one", "two"):
            s, body, _ = call(self.hub, "POST", f"/users/carol/servers/{name}", {"user_options": {}})
            self.assertIn(s, (201, 202), body)
            self.stop_later("carol", name)
        s, body, _ = call(self.hub, "POST", "/users/carol/servers/three", {"user_options": {}})
        self.assertEqual(s, 400, body)
        self.assertEqual(body["message"], "User carol already has the maximum of 2 named servers.  One must be "
                                          "deleted before a new server can be created")

    # --- PUT and PATCH: named servers defined before they run -------------------------

    def test_put_defines_a_server_without_starting_it(self):
        s, model, _ = call(self.hub, "PUT", "/users/dave/servers/notes",
                           {"display_name": "My notes", "user_options": {"image": "small"}})
        self.assertEqual(s, 201, model)
        self.assertEqual(set(model), SERVER_KEYS | {"state"})
        self.assertEqual((model["name"], model["display_name"], model["user_options"]),
                         ("notes", "My notes", {"image": "small"}))
        self.assertEqual((model["stopped"], model["ready"], model["pending"], model["started"]), (True, False, None, None))
        s, again, _ = call(self.hub, "GET", "/users/dave/servers/notes")
        self.assertEqual((s, again), (200, model))
        s, user, _ = call(self.hub, "GET", "/users/dave?include_stopped_servers=1")
        self.assertEqual(user["servers"]["notes"], model)
        s, user, _ = call(self.hub, "GET", "/users/dave")
        self.assertNotIn("notes", user["servers"])  # stopped: listed only on request
        s, body, _ = call(self.hub, "PUT", "/users/dave/servers/notes", {})
        self.assertEqual((s, body["message"]), (409, "User dave already has server notes"))
        s, body, _ = call(self.hub, "PUT", "/users/dave/server", {})
        self.assertEqual((s, body["message"]), (409, "User dave already has a default server"))
        s, body, _ = call(self.hub, "PUT", "/users/dave/servers/Notes_2", {})
        self.assertEqual((s, body["message"]), (400, "Invalid server_name: Notes_2"))
        s, body, _ = call(self.hub, "PUT", "/users/nobody-here/servers/x", {})
        self.assertEqual(s, 404, body)
        s, model, _ = call(self.hub, "PUT", "/users/dave/servers/plain")  # no body: its name, no options
        self.assertEqual((s, model["display_name"], model["user_options"]), (201, "plain", {}), model)
        # Defined servers count toward the limit of 2.
        s, body, _ = call(self.hub, "PUT", "/users/dave/servers/third", {})
        self.assertEqual(s, 400, body)
        self.assertIn("already has the maximum of 2 named servers", body["message"])
        s, body, _ = call(self.hub, "DELETE", "/users/dave/servers/plain", {"remove": True})
        self.assertEqual(s, 204, body)
        s, body, _ = call(self.hub, "GET", "/users/dave/servers/plain")
        self.assertEqual(s, 404, body)

    def test_patch_edits_a_stopped_server(self):
        s, model, _ = call(self.hub, "PUT", "/users/erin/servers/draft", {"user_options": {"a": 1}})
        self.assertEqual(s, 201, model)
        s, model, _ = call(self.hub, "PATCH", "/users/erin/servers/draft", {"display_name": "First draft"})
        self.assertEqual((s, model["display_name"], model["user_options"]), (200, "First draft", {"a": 1}), model)
        s, model, _ = call(self.hub, "PATCH", "/users/erin/servers/draft", {"name": "final", "user_options": {"b": 2}})
        self.assertEqual((s, model["name"], model["display_name"], model["user_options"]),
                         (200, "final", "First draft", {"b": 2}), model)
        self.assertEqual(call(self.hub, "GET", "/users/erin/servers/draft")[0], 404)
        for body, status, message in [({}, 400, "Must specify at least one field to modify."),
                                      ({"colour": "red"}, 400, "Unexpected fields"),
                                      ({"user_options": 3}, 400, "user_options must be a dict"),
                                      ({"display_name": 3}, 400, "display_name must be a string"),
                                      ({"name": "Bad Name"}, 400, "Invalid server_name: Bad Name")]:
            with self.subTest(body=body):
                s, answer, _ = call(self.hub, "PATCH", "/users/erin/servers/final", body)
                self.assertEqual(s, status, answer)
                self.assertIn(message, answer["message"])
        s, answer, _ = call(self.hub, "PATCH", "/users/erin/servers/ghost", {"display_name": "x"})
        self.assertEqual((s, answer["message"]), (404, "User erin has no such server ghost"))
        s, answer, _ = call(self.hub, "PUT", "/users/erin/servers/other", {})
        self.assertEqual(s, 201, answer)
        s, answer, _ = call(self.hub, "PATCH", "/users/erin/servers/final", {"name": "other"})
        self.assertEqual((s, answer["message"]), (409, "User erin already has server 'other'"))

    def test_get_users_lists_stopped_defined_servers(self):
        # JupyterHub 5.5 lists every server the user has (each orm.Spawner) with
        # include_stopped_servers, in GET /users as in GET /users/{name}.
        s, model, _ = call(self.hub, "PUT", "/users/frank/servers/listed", {"display_name": "Listed ✓"})
        self.assertEqual(s, 201, model)
        s, users, _ = call(self.hub, "GET", "/users?include_stopped_servers=1")
        self.assertEqual(s, 200, users)
        frank = next(u for u in users if u["name"] == "frank")
        listed = frank["servers"]["listed"]
        self.assertEqual(set(listed), SERVER_KEYS | {"state"})
        self.assertEqual((listed["display_name"], listed["stopped"], listed["ready"]), ("Listed ✓", True, False))
        s, users, _ = call(self.hub, "GET", "/users")
        self.assertNotIn("listed", next(u for u in users if u["name"] == "frank")["servers"])
        s, single, _ = call(self.hub, "GET", "/users/frank?include_stopped_servers=1")
        self.assertEqual(single["servers"]["listed"], listed)

    def test_a_defined_stopped_server_can_be_shared(self):
        # JupyterHub shares any server it has a Spawner for, running or not.
        s, model, _ = call(self.hub, "PUT", "/users/gina/servers/shared-one", {})
        self.assertEqual(s, 201, model)
        s, share, _ = call(self.hub, "POST", "/shares/gina/shared-one", {"user": "dave"})
        self.assertEqual(s, 200, share)
        self.assertEqual((share["server"]["name"], share["user"]["name"]), ("shared-one", "dave"))
        self.addCleanup(call, self.hub, "DELETE", "/shares/gina/shared-one")
        s, body, _ = call(self.hub, "POST", "/shares/gina/never-defined", {"user": "dave"})
        self.assertEqual((s, body["message"]), (404, "No such server: gina/never-defined"), body)

    def test_put_and_patch_need_start_servers(self):
        tok = self.token_for("erin", scopes=["read:servers!user=erin"])["token"]
        s, body, _ = call(self.hub, "PUT", "/users/erin/servers/nope", {}, token=tok)
        self.assertEqual(s, 403, body)
        self.assertIn("start:servers", body["message"])
        s, body, _ = call(self.hub, "PATCH", "/users/erin/servers/nope", {"display_name": "x"}, token=tok)
        self.assertEqual(s, 403, body)

    @unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
    def test_a_defined_server_starts_with_its_options_and_cannot_be_patched_while_running(self):
        s, model, _ = call(self.hub, "PUT", "/users/alice/servers/lab", {"display_name": "Lab", "user_options": {"k": "v"}})
        self.assertEqual(s, 201, model)
        s, body, _ = call(self.hub, "POST", "/users/alice/servers/lab")
        self.assertIn(s, (201, 202), body)
        self.stop_later("alice", "lab")
        model = self.wait_ready("alice", "lab")
        self.assertEqual((model["display_name"], model["user_options"]), ("Lab", {"k": "v"}))
        s, body, _ = call(self.hub, "PATCH", "/users/alice/servers/lab", {"display_name": "Other"})
        self.assertEqual(s, 400, body)
        self.assertIn("is active. Please stop it before modifying it.", body["message"])
        s, body, _ = call(self.hub, "DELETE", "/users/alice/servers/lab")
        self.assertEqual(s, 204, body)
        s, model, _ = call(self.hub, "GET", "/users/alice/servers/lab")  # stopped, still defined
        self.assertEqual((s, model["stopped"], model["display_name"]), (200, True, "Lab"), model)

    # --- scopes ------------------------------------------------------------------------

    @unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
    def test_start_servers_starts_but_does_not_stop_or_read(self):
        tok = self.token_for("bob", scopes=["start:servers!user=bob"])["token"]
        s, body, _ = call(self.hub, "GET", "/user", token=tok)
        self.assertIn("start:servers!user=bob", body["scopes"])
        s, body, _ = call(self.hub, "POST", "/users/bob/server", token=tok)
        self.assertIn(s, (201, 202), body)
        self.stop_later("bob")
        self.wait_ready("bob")
        s, body, _ = call(self.hub, "DELETE", "/users/bob/server", token=tok)
        self.assertEqual(s, 403, body)
        s, body, _ = call(self.hub, "GET", "/users/bob/server", token=tok)
        self.assertEqual(s, 403, body)
        s, body, _ = call(self.hub, "POST", "/users/alice/server", token=tok)
        self.assertEqual(s, 403, body)

    def test_servers_implies_start_servers(self):
        tok = self.token_for("alice")["token"]  # the `token` role: everything alice may do
        s, me, _ = call(self.hub, "GET", "/user", token=tok)
        self.assertIn("start:servers!user=alice", me["scopes"])
        self.assertEqual(me["token_id"][0], "a")

    def test_extra_user_scopes_reach_every_user(self):
        tok = self.token_for("carol")["token"]
        s, me, _ = call(self.hub, "GET", "/user", token=tok)
        self.assertIn("list:users", me["scopes"])
        s, users, _ = call(self.hub, "GET", "/users", token=tok)
        self.assertEqual(s, 200, users)
        self.assertTrue({"alice", "bob", "carol"} <= {u["name"] for u in users}, users)

    # --- tokens ------------------------------------------------------------------------

    def test_token_expiry_is_capped(self):
        s, body, _ = call(self.hub, "POST", "/users/alice/tokens", {"expires_in": MAX_EXPIRY + 1})
        self.assertEqual(s, 400, body)
        self.assertEqual(body["message"], f"token expires_in: {MAX_EXPIRY + 1} must not exceed {MAX_EXPIRY}")
        for spec, expected in [({}, MAX_EXPIRY), ({"expires_in": 60}, 60), ({"expires_in": MAX_EXPIRY}, MAX_EXPIRY)]:
            with self.subTest(spec=spec):
                t = self.token_for("alice", **spec)
                created = time.mktime(time.strptime(t["created"][:19], "%Y-%m-%dT%H:%M:%S"))
                expires = time.mktime(time.strptime(t["expires_at"][:19], "%Y-%m-%dT%H:%M:%S"))
                self.assertAlmostEqual(expires - created, expected, delta=5)

    # --- GET /users sort -----------------------------------------------------------------

    def test_sort_users(self):
        s, users, _ = call(self.hub, "GET", "/users?sort=-name")
        names = [u["name"] for u in users]
        self.assertEqual(names, sorted(names, reverse=True))
        s, users, _ = call(self.hub, "GET", "/users?sort=name")
        self.assertEqual([u["name"] for u in users], sorted(names))
        s, body, _ = call(self.hub, "GET", "/users?sort=age")
        self.assertEqual(s, 400, body)

    # --- CORS ----------------------------------------------------------------------------

    def test_cors_allowed_origin(self):
        s, body, h = call(self.hub, "GET", "/users/alice", headers={"Origin": ALLOWED_ORIGIN})
        self.assertEqual(s, 200, body)
        self.assertEqual(h["Access-Control-Allow-Origin"], ALLOWED_ORIGIN)
        self.assertIn("Origin", h["Vary"])
        self.assertIsNone(h["Access-Control-Allow-Credentials"])  # tokens, never cookies

    def test_cors_refused_origin(self):
        s, body, h = call(self.hub, "GET", "/users/alice", headers={"Origin": "https://evil.example.org"})
        self.assertEqual(s, 200, body)
        self.assertIsNone(h["Access-Control-Allow-Origin"])
        s, body, h = call(self.hub, "GET", "/users/alice")  # no Origin: not a CORS request
        self.assertIsNone(h["Access-Control-Allow-Origin"])

    def test_cors_preflight(self):
        ask = {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "PATCH",
               "Access-Control-Request-Headers": "authorization, content-type"}
        s, body, h = call(self.hub, "OPTIONS", "/users/alice/servers/x", token=None, headers=ask)
        self.assertEqual(s, 204, body)
        self.assertEqual(h["Access-Control-Allow-Origin"], ALLOWED_ORIGIN)
        self.assertIn("PATCH", h["Access-Control-Allow-Methods"])
        self.assertIn("authorization", h["Access-Control-Allow-Headers"])
        self.assertIn("content-type", h["Access-Control-Allow-Headers"])
        s, body, h = call(self.hub, "OPTIONS", "/users/alice", token=None,
                          headers={**ask, "Origin": "https://evil.example.org"})
        self.assertIsNone(h["Access-Control-Allow-Origin"])
        self.assertIsNone(h["Access-Control-Allow-Methods"])
        # Pages are not the API: no preflight answer there.
        req = urllib.request.Request(self.hub.url("/hub/login"), method="OPTIONS", headers=ask)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        self.assertIsNone(e.exception.headers["Access-Control-Allow-Origin"])

    def test_cors_root_answers_any_origin(self):
        s, body, h = call(self.hub, "GET", "", token=None, headers={"Origin": "https://anyone.example"})
        self.assertEqual(s, 200, body)
        self.assertEqual(h["Access-Control-Allow-Origin"], "*")


class InvalidNamedServersTest(unittest.TestCase):
    def test_allow_delete_refuses_to_start_a_lax_name(self):
        toml = hub_toml([{"kind": "null"}], top={"services": [{"name": "admin-svc", "api_token": ADMIN, "admin": True}]},
                        tables={"spawner": {"allow_named_servers": True,
                                            "allow_existing_invalid_named_servers": "allow-delete"}})
        with Hub(toml) as hub:
            self.assertEqual(call(hub, "POST", "/users/olga")[0], 201)
            # A 3.0/5.x body (the options themselves), which "allow-start" would accept.
            s, body, _ = call(hub, "POST", "/users/olga/servers/Old_Name", {"size": "s"})
            self.assertEqual((s, body["message"]),
                             (400, "Starting invalid server_name Old_Name is disabled, contact your administrator"))
            s, model, _ = call(hub, "GET", "/users/olga")
            self.assertEqual(model["servers"], {})


if __name__ == "__main__":
    unittest.main()
