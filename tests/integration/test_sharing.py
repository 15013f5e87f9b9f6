"""Sharing (JupyterHub 5.0) and runtime services (5.2), issue 23 items 1 and 3, against the real
nbhub binary: every REST endpoint with JupyterHub 5.5's model keys and status codes, the scope
checks (who may share, who may accept, what a share grants and what it does not), share codes
(expiry, use counts, the accept page with its xsrf form), and a shared server used through the
proxy by a second user's browser session with Debian's real jupyterhub-singleuser, which loses
access on its next request once the share is revoked.

Sign-ins go through the `dummy` provider's form, as a browser would.
"""
import calendar
import json
import re
import shutil
import time
import unittest
import urllib.parse

from harness.browserless import Client, parse_form
from harness.hub import Hub
from harness.login import hub_toml, page_text
from harness.session import follow, xsrf

PASSWORD = "sharing-shared-password"
ADMIN_TOKEN = "sharing-admin-service-token-0123456789"
SINGLEUSER = shutil.which("jupyterhub-singleuser")

CONFIG = hub_toml(
    [{"name": "default", "kind": "dummy", "password": PASSWORD}],
    auth={"admin_users": ["root"]},
    top={
        "db_url": "sqlite:///nbhub.sqlite",
        "services": [{"name": "admin-svc", "api_token": ADMIN_TOKEN, "admin": True}],
        "load_roles": [
            # alice and dave may share their servers with anyone by name; erin may share only
            # through invitation links (no read:users:name); bob and carol hold `self` alone.
            {"name": "sharer", "scopes": ["shares!user", "read:users:name", "read:groups:name"],
             "users": ["alice", "dave"]},
            {"name": "code-sharer", "scopes": ["shares!user"], "users": ["erin"]},
            {"name": "service-manager", "scopes": ["admin:services"], "users": ["erin"]},
        ],
    })

SHARE_KEYS = {"server", "scopes", "user", "group", "kind", "created_at"}
SERVER_KEYS = {"user", "name", "url", "full_url", "ready"}
CODE_KEYS = {"server", "scopes", "id", "created_at", "expires_at", "exchange_count", "last_exchanged_at", "max_exchanges"}
PAGE = {"Accept": "application/jupyterhub-pagination+json"}


def api(hub, method, path, body=None, token=ADMIN_TOKEN, headers=None):
    c = Client()
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"token {token}"
    r = c.request(method, hub.url("/hub/api" + path), json_body=body, headers=h)
    try:
        payload = r.json() if r.body else None
    except ValueError:
        payload = r.text
    return r.status, payload


class SharingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(CONFIG)
        cls.hub.start()
        cls.addClassCleanup(cls.hub.stop)
        cls.addClassCleanup(cls.hub.kill_servers)
        for name in ("root", "alice", "bob", "carol", "dave", "erin"):
            s, body = api(cls.hub, "POST", f"/users/{name}")
            assert s in (201, 409), (s, body)
        s, body = api(cls.hub, "POST", "/groups/lab", {"users": ["bob", "carol"]})
        assert s in (201, 409), (s, body)
        cls.tokens = {}
        for name in ("alice", "bob", "carol", "dave", "erin"):
            s, tok = api(cls.hub, "POST", f"/users/{name}/tokens", {"note": "sharing test"})
            assert s == 201, (s, tok)
            cls.tokens[name] = tok["token"]

    def as_(self, user, method, path, body=None, headers=None):
        return api(self.hub, method, path, body, token=self.tokens[user], headers=headers)

    def sign_in(self, username):
        c = Client()
        r = c.get(self.hub.url("/hub/login"))
        form = parse_form(r.text)
        self.assertIsNotNone(form, page_text(r))
        r = c.post(urllib.parse.urljoin(self.hub.url("/hub/login"), form["action"]),
                   data=dict(form["inputs"], username=username, password=PASSWORD))
        self.assertIn(r.status, (302, 303), page_text(r))
        return c

    def form_xsrf(self, c):
        page = c.get(self.hub.url("/hub/token"))
        m = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        self.assertIsNotNone(m, page.text[:2000])
        return m.group(1)

    def clean(self, owner, server=""):
        self.addCleanup(api, self.hub, "DELETE", f"/shares/{owner}/{server}")
        self.addCleanup(api, self.hub, "DELETE", f"/share-codes/{owner}/{server}")

    # --- shares ---------------------------------------------------------------------------------

    def test_grant_models_and_every_list(self):
        self.clean("alice")
        s, share = self.as_("alice", "POST", "/shares/alice/", {"user": "bob"})
        self.assertEqual(s, 200, share)
        self.assertEqual(set(share), SHARE_KEYS)
        self.assertEqual(set(share["server"]), SERVER_KEYS)
        self.assertEqual(share["server"]["user"], {"name": "alice"})
        self.assertEqual(share["server"]["name"], "")
        self.assertEqual(share["server"]["url"], "/user/alice/")
        self.assertEqual(share["scopes"], ["access:servers!server=alice/"])
        self.assertEqual(share["user"], {"name": "bob"})
        self.assertIsNone(share["group"])
        self.assertEqual(share["kind"], "user")
        self.assertRegex(share["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        # Granting more scopes adds to the share.
        s, more = self.as_("alice", "POST", "/shares/alice/", {"user": "bob", "scopes": ["read:servers"]})
        self.assertEqual(s, 200, more)
        self.assertEqual(more["scopes"], ["access:servers!server=alice/", "read:servers!server=alice/"])
        # Lists are paginated, with or without the Accept header (JupyterHub's share lists).
        for path in ("/shares/alice", "/shares/alice/"):
            s, page = self.as_("alice", "GET", path)
            self.assertEqual(s, 200, page)
            self.assertEqual(set(page), {"items", "_pagination"})
            self.assertEqual(page["_pagination"]["total"], 1)
            self.assertEqual(page["items"][0]["user"], {"name": "bob"})
        s, page = self.as_("bob", "GET", "/users/bob/shared")
        self.assertEqual(s, 200, page)
        self.assertEqual([i["server"]["user"]["name"] for i in page["items"]], ["alice"])
        s, one = self.as_("bob", "GET", "/users/bob/shared/alice/")
        self.assertEqual(s, 200, one)
        self.assertEqual(set(one), SHARE_KEYS)
        # What bob may not read: alice's shares, carol's shared list.
        s, body = self.as_("bob", "GET", "/shares/alice/")
        self.assertEqual(s, 403, body)
        s, body = self.as_("bob", "GET", "/users/carol/shared")
        self.assertEqual(s, 403, body)
        self.assertIn("read:users:shares", body["message"])
        # Unknown things.
        s, body = self.as_("bob", "GET", "/users/bob/shared/carol/")
        self.assertEqual((s, body["message"]), (404, "No such share for user bob on carol/"))
        s, body = api(self.hub, "GET", "/shares/nobody")
        self.assertEqual(s, 404, body)
        s, body = api(self.hub, "GET", "/shares/alice/nope")
        self.assertEqual((s, body["message"]), (404, "No such server: alice/nope"))

    def test_who_may_share_and_what_they_may_grant(self):
        self.clean("alice")
        self.clean("bob")
        # Users do not share by default; nobody shares another user's server without `shares` on it.
        s, body = self.as_("bob", "POST", "/shares/bob/", {"user": "carol"})
        self.assertEqual(s, 403, body)
        self.assertEqual(body["message"], "Action is not authorized with current scopes; requires any of [shares]")
        s, body = self.as_("alice", "POST", "/shares/bob/", {"user": "carol"})
        self.assertEqual(s, 403, body)
        # Only scopes the sharer holds on the server, and only with its filter.
        s, body = self.as_("alice", "POST", "/shares/alice/", {"user": "bob", "scopes": ["admin:servers"]})
        self.assertEqual((s, body["message"]),
                         (403, "Do not have permission to grant share with scope admin:servers!server=alice/"))
        s, body = self.as_("alice", "POST", "/shares/alice/", {"user": "bob", "scopes": ["access:servers!user=alice"]})
        self.assertEqual((s, body["message"]),
                         (400, "!user=alice not allowed on sharing access:servers!user=alice, only !server=alice/"))
        s, body = self.as_("alice", "POST", "/shares/alice/", {"user": "bob", "scopes": ["no:such:scope"]})
        self.assertEqual(s, 400, body)
        # The body as JupyterHub's model reads it.
        for bad, msg in (({"user": "bob", "group": "lab"}, "Expected exactly one of `user` or `group`, not both."),
                         ({}, "Specify exactly one of `user` or `group`"),
                         ({"user": "bob", "colour": "red"}, "colour: Extra inputs are not permitted"),
                         ({"user": "nobody"}, "No such user: nobody"),
                         ({"group": "nogroup"}, "No such group: nogroup")):
            s, body = self.as_("alice", "POST", "/shares/alice/", bad)
            self.assertEqual((s, body["message"]), (400, msg), bad)
        # /shares/{owner} without a server only lists.
        s, body = self.as_("alice", "POST", "/shares/alice", {"user": "bob"})
        self.assertEqual(s, 405, body)
        # Sharing by name needs the name: erin may share only through codes.
        s, body = self.as_("erin", "POST", "/shares/erin/", {"user": "bob"})
        self.assertEqual((s, body["message"]), (403, "Need scope 'read:users:name' to share with users by name"))
        s, body = self.as_("erin", "POST", "/share-codes/erin/", {})
        self.assertEqual(s, 200, body)
        self.addCleanup(api, self.hub, "DELETE", "/share-codes/erin/")
        # What a share grants, and not: bob may reach alice's server, not start or stop it, nor
        # share it on, nor read her other servers.
        s, body = self.as_("alice", "POST", "/shares/alice/", {"user": "bob"})
        self.assertEqual(s, 200, body)
        s, who = self.as_("bob", "GET", "/user")
        self.assertIn("access:servers!server=alice/", who["scopes"])
        self.assertNotIn("access:servers!user=alice", who["scopes"])
        s, body = self.as_("bob", "POST", "/users/alice/server")
        self.assertEqual(s, 403, body)
        s, body = self.as_("bob", "POST", "/shares/alice/", {"user": "carol"})
        self.assertEqual(s, 403, body)

    def test_revoke_patch_delete_and_leave(self):
        self.clean("alice")
        self.as_("alice", "POST", "/shares/alice/", {"user": "bob", "scopes": ["access:servers", "read:servers"]})
        s, left = self.as_("alice", "PATCH", "/shares/alice/", {"user": "bob", "scopes": ["read:servers!server=alice/"]})
        self.assertEqual(s, 200, left)
        self.assertEqual(left["scopes"], ["access:servers!server=alice/"])
        # An unknown user revokes nothing: {} as in JupyterHub.
        s, body = self.as_("alice", "PATCH", "/shares/alice/", {"user": "nobody"})
        self.assertEqual((s, body), (200, {}))
        s, body = self.as_("alice", "PATCH", "/shares/alice/", {"user": "bob"})
        self.assertEqual((s, body), (200, {}))
        s, page = self.as_("alice", "GET", "/shares/alice/")
        self.assertEqual(page["items"], [])
        # DELETE drops every share of the server.
        self.as_("alice", "POST", "/shares/alice/", {"user": "bob"})
        self.as_("alice", "POST", "/shares/alice/", {"group": "lab"})
        s, body = self.as_("alice", "DELETE", "/shares/alice/")
        self.assertEqual(s, 204, body)
        self.assertEqual(self.as_("alice", "GET", "/shares/alice/")[1]["_pagination"]["total"], 0)
        # The one shared with may leave (users:shares on themself), not remove others.
        self.as_("alice", "POST", "/shares/alice/", {"user": "bob"})
        self.as_("alice", "POST", "/shares/alice/", {"user": "carol"})
        s, body = self.as_("bob", "DELETE", "/users/carol/shared/alice/")
        self.assertEqual(s, 403, body)
        s, body = self.as_("bob", "DELETE", "/users/bob/shared/alice/")
        self.assertEqual(s, 204, body)
        s, body = self.as_("bob", "GET", "/users/bob/shared/alice/")
        self.assertEqual(s, 404, body)
        self.assertNotIn("access:servers!server=alice/", self.as_("bob", "GET", "/user")[1]["scopes"])

    def test_group_shares(self):
        self.clean("dave")
        s, share = self.as_("dave", "POST", "/shares/dave/", {"group": "lab"})
        self.assertEqual(s, 200, share)
        self.assertEqual((share["kind"], share["group"], share["user"]), ("group", {"name": "lab"}, None))
        # Members hold the access; others do not.
        self.assertIn("access:servers!server=dave/", self.as_("carol", "GET", "/user")[1]["scopes"])
        self.assertNotIn("access:servers!server=dave/", self.as_("erin", "GET", "/user")[1]["scopes"])
        s, page = self.as_("carol", "GET", "/users/carol/shared")
        self.assertEqual([i["kind"] for i in page["items"]], ["group"])
        s, page = api(self.hub, "GET", "/groups/lab/shared")
        self.assertEqual((s, page["_pagination"]["total"]), (200, 1))
        s, body = self.as_("carol", "GET", "/groups/lab/shared")
        self.assertEqual(s, 403, body)
        s, one = api(self.hub, "GET", "/groups/lab/shared/dave/")
        self.assertEqual((s, one["group"]), (200, {"name": "lab"}))
        s, body = api(self.hub, "GET", "/groups/nogroup/shared")
        self.assertEqual((s, body["message"]), (404, "No such group: nogroup"))
        s, body = api(self.hub, "DELETE", "/groups/lab/shared/dave/")
        self.assertEqual(s, 204, body)
        self.assertNotIn("access:servers!server=dave/", self.as_("carol", "GET", "/user")[1]["scopes"])

    # --- share codes ----------------------------------------------------------------------------

    def new_code(self, owner="alice", **body):
        s, model = self.as_(owner, "POST", f"/share-codes/{owner}/", body)
        self.assertEqual(s, 200, model)
        return model

    def accept(self, c, code, next_url=None):
        q = {"code": code}
        if next_url is not None:
            q["next"] = next_url
        page = c.get(self.hub.url("/hub/accept-share?" + urllib.parse.urlencode(q)))
        if page.status != 200:
            return page, None
        form = parse_form(page.text)
        self.assertIsNotNone(form, page.text[:2000])
        r = c.post(urllib.parse.urljoin(self.hub.url("/hub/accept-share"), form["action"]), data=form["inputs"])
        return page, r

    def test_code_models_list_and_delete(self):
        self.clean("alice")
        s, body = self.as_("alice", "POST", "/share-codes/alice/", {"expires_in": 30})
        self.assertEqual(s, 400, body)
        s, body = self.as_("alice", "POST", "/share-codes/alice/", {"expires_in": 400 * 86400})
        self.assertEqual(s, 400, body)
        s, body = self.as_("bob", "POST", "/share-codes/bob/", {})
        self.assertEqual(s, 403, body)
        s, body = self.as_("alice", "POST", "/share-codes/alice", {})
        self.assertEqual(s, 405, body)
        before = time.time()
        model = self.new_code()
        self.assertEqual(set(model), CODE_KEYS | {"code", "accept_url", "full_accept_url"})
        self.assertRegex(model["id"], r"^sc_\d+$")
        self.assertEqual(model["accept_url"], "/hub/accept-share?code=" + urllib.parse.quote(model["code"], safe=""))
        self.assertIsNone(model["full_accept_url"])  # no public_url configured
        self.assertEqual((model["exchange_count"], model["last_exchanged_at"]), (0, None))
        expires = calendar.timegm(time.strptime(model["expires_at"][:19], "%Y-%m-%dT%H:%M:%S"))
        self.assertAlmostEqual(expires - before, 86400, delta=30)
        second = self.new_code(expires_in=3600)
        s, page = self.as_("alice", "GET", "/share-codes/alice/")
        self.assertEqual(s, 200, page)
        self.assertEqual(page["_pagination"]["total"], 2)
        for item in page["items"]:
            self.assertEqual(set(item), CODE_KEYS)  # never the code again
        # Delete by id, by code, then the rest; unknown ones answer 404.
        s, body = self.as_("alice", "DELETE", "/share-codes/alice/?id=" + second["id"])
        self.assertEqual(s, 204, body)
        s, body = self.as_("alice", "DELETE", "/share-codes/alice/?id=" + second["id"])
        self.assertEqual((s, body["message"]), (404, f"No code found matching id={second['id']}"))
        s, body = self.as_("alice", "DELETE", "/share-codes/alice/?id=bogus")
        self.assertEqual(s, 404, body)
        s, body = self.as_("alice", "DELETE", "/share-codes/alice/?code=not-a-code")
        self.assertEqual((s, body["message"]), (404, "No matching code found"))
        s, body = self.as_("alice", "DELETE", "/share-codes/alice/?code=" + urllib.parse.quote(model["code"]))
        self.assertEqual(s, 204, body)
        self.assertEqual(self.as_("alice", "GET", "/share-codes/alice")[1]["_pagination"]["total"], 0)

    def test_accept_page_flow(self):
        self.clean("alice")
        model = self.new_code()
        bob = self.sign_in("bob")
        # Signed out: to the login page, and back here after it.
        anon = Client()
        r = anon.get(self.hub.url("/hub/accept-share?code=" + urllib.parse.quote(model["code"])))
        self.assertEqual(r.status, 302)
        self.assertIn("/hub/login?next=", r.location)
        page, r = self.accept(bob, model["code"])
        self.assertEqual(page.status, 200, page.text[:2000])
        self.assertIn("Accept sharing invitation", page.text)
        self.assertIn("alice", page.text)
        self.assertIn("Access user servers via API or browser", page.text)
        self.assertEqual(r.status, 302, page_text(r))
        self.assertEqual(urllib.parse.urlparse(r.location).path, "/user/alice/")
        s, one = self.as_("bob", "GET", "/users/bob/shared/alice/")
        self.assertEqual(s, 200, one)
        s, page = self.as_("alice", "GET", "/share-codes/alice/")
        item = page["items"][0]
        self.assertEqual(item["exchange_count"], 1)
        self.assertIsNotNone(item["last_exchanged_at"])
        # The owner cannot accept their own code; unknown codes are 404; the form needs _xsrf.
        alice = self.sign_in("alice")
        page, _ = self.accept(alice, model["code"])
        self.assertEqual(page.status, 403)
        self.assertIn("You can&#39;t share with yourself!", page.text.replace("&#x27;", "&#39;"))
        page, _ = self.accept(bob, "no-such-code")
        self.assertEqual(page.status, 404)
        carol = self.sign_in("carol")
        r = carol.post(self.hub.url("/hub/accept-share"), data={"code": model["code"]})
        self.assertEqual(r.status, 403)
        self.assertNotIn("access:servers!server=alice/", self.as_("carol", "GET", "/user")[1]["scopes"])

    def test_used_up_and_expired_codes(self):
        self.clean("alice")
        once = self.new_code(max_exchanges=1)
        self.assertEqual(once["max_exchanges"], 1)
        short = self.new_code(expires_in=60)
        made = time.time()
        _, r = self.accept(self.sign_in("bob"), once["code"])
        self.assertEqual(r.status, 302)
        page, _ = self.accept(self.sign_in("carol"), once["code"])
        self.assertEqual(page.status, 403)
        self.assertIn("used as many times", page.text)
        self.assertNotIn("access:servers!server=alice/", self.as_("carol", "GET", "/user")[1]["scopes"])
        # The shortest lifetime JupyterHub allows is a minute: wait it out once.
        time.sleep(max(0.0, made + 61 - time.time()))
        page, _ = self.accept(self.sign_in("dave"), short["code"])
        self.assertEqual(page.status, 404)
        self.assertIn("Share not found or expired", page.text)
        self.assertEqual(self.as_("alice", "GET", "/share-codes/alice/")[1]["_pagination"]["total"], 1)

    # --- pages ----------------------------------------------------------------------------------

    def test_home_page_shares_lists_and_revokes(self):
        self.clean("alice")
        alice = self.sign_in("alice")
        home = alice.get(self.hub.url("/hub/home"))
        self.assertIn("Share your server", home.text)
        token = self.form_xsrf(alice)
        r = alice.post(self.hub.url("/hub/home/share-code"), data={"_xsrf": token, "expires_in": "3600"})
        self.assertEqual(r.status, 200, page_text(r))
        m = re.search(r'id="share-link"[^>]*value="([^"]+)"', r.text)
        self.assertIsNotNone(m, r.text[:3000])
        link = m.group(1).replace("&amp;", "&")
        code = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["code"][0]
        _, accepted = self.accept(self.sign_in("carol"), code)
        self.assertEqual(accepted.status, 302)
        home = alice.get(self.hub.url("/hub/home"))
        self.assertIn("Who has access", home.text)
        self.assertIn("carol", home.text)
        carol_home = self.sign_in("carol").get(self.hub.url("/hub/home"))
        self.assertIn("Servers shared with you", carol_home.text)
        self.assertNotIn("Share your server", carol_home.text)  # carol holds `self` alone
        r = alice.post(self.hub.url("/hub/home/share/revoke"), data={"_xsrf": token, "user": "carol"})
        self.assertEqual(r.status, 303)
        self.assertNotIn("access:servers!server=alice/", self.as_("carol", "GET", "/user")[1]["scopes"])
        # A forged form (no xsrf) changes nothing.
        self.as_("alice", "POST", "/shares/alice/", {"user": "carol"})
        r = alice.post(self.hub.url("/hub/home/share/revoke"), data={"user": "carol"})
        self.assertEqual(r.status, 403)
        self.assertIn("access:servers!server=alice/", self.as_("carol", "GET", "/user")[1]["scopes"])

    def test_home_page_shares_by_name(self):
        self.clean("alice")
        self.clean("erin")
        alice = self.sign_in("alice")
        home = alice.get(self.hub.url("/hub/home"))
        self.assertIn('id="share-with"', home.text)
        token = self.form_xsrf(alice)
        r = alice.post(self.hub.url("/hub/home/share"), data={"_xsrf": token, "kind": "user", "name": " bob "})
        self.assertEqual(r.status, 303, page_text(r))
        s, one = self.as_("bob", "GET", "/users/bob/shared/alice/")
        self.assertEqual((s, one["scopes"]), (200, ["access:servers!server=alice/"]))
        r = alice.post(self.hub.url("/hub/home/share"), data={"_xsrf": token, "kind": "group", "name": "lab"})
        self.assertEqual(r.status, 303, page_text(r))
        self.assertIn("access:servers!server=alice/", self.as_("carol", "GET", "/user")[1]["scopes"])
        # Mistakes say what was wrong; nothing is shared by them.
        for fields, status, msg in (({"kind": "user", "name": "nobody"}, 400, "No such user: nobody"),
                                    ({"kind": "group", "name": "nogroup"}, 400, "No such group: nogroup"),
                                    ({"kind": "user", "name": "alice"}, 400, "share with yourself"),
                                    ({"kind": "user", "name": ""}, 400, "Name the user or group")):
            r = alice.post(self.hub.url("/hub/home/share"), data=dict(fields, _xsrf=token))
            self.assertEqual(r.status, status, fields)
            self.assertIn(msg, r.text.replace("&#39;", "'").replace("&#x27;", "'"))
        r = alice.post(self.hub.url("/hub/home/share"), data={"kind": "user", "name": "dave"})
        self.assertEqual(r.status, 403)
        self.assertEqual(self.as_("dave", "GET", "/users/dave/shared/alice/")[0], 404)
        # erin may share only through links: no form, and the POST is refused without saying
        # whether the name exists.
        erin = self.sign_in("erin")
        self.assertNotIn('id="share-with"', erin.get(self.hub.url("/hub/home")).text)
        r = erin.post(self.hub.url("/hub/home/share"), data={"_xsrf": self.form_xsrf(erin), "kind": "user", "name": "bob"})
        self.assertEqual(r.status, 403)
        self.assertIn("invitation link", r.text)
        # bob holds `self` alone: no sharing at all.
        bob = self.sign_in("bob")
        r = bob.post(self.hub.url("/hub/home/share"), data={"_xsrf": self.form_xsrf(bob), "kind": "user", "name": "carol"})
        self.assertEqual(r.status, 403)

    # --- runtime services -----------------------------------------------------------------------

    def test_runtime_services(self):
        tok = "runtime-service-token-0123456789"
        self.addCleanup(api, self.hub, "DELETE", "/services/announce")
        s, body = self.as_("bob", "POST", "/services/announce", {"url": "http://127.0.0.1:9"})
        self.assertEqual(s, 403, body)
        s, body = api(self.hub, "POST", "/services/announce", {"command": ["sleep", "100"]})
        self.assertEqual((s, body["message"]), (400, "Can not create managed service announce at runtime"))
        s, body = api(self.hub, "POST", "/services/announce", None)
        self.assertEqual((s, body["message"]), (400, "Invalid service data"))
        s, model = api(self.hub, "POST", "/services/announce",
                       {"url": "http://127.0.0.1:9", "api_token": tok, "info": {"what": "news"}})
        self.assertEqual(s, 201, model)
        self.assertEqual(set(model), {"kind", "name", "roles", "admin", "url", "prefix", "command", "pid", "info", "display"})
        self.assertEqual((model["name"], model["prefix"], model["info"]), ("announce", "/services/announce/", {"what": "news"}))
        s, body = api(self.hub, "POST", "/services/announce", {"url": "http://127.0.0.1:9"})
        self.assertEqual((s, body["message"]), (409, "Service announce already exists"))
        s, all_ = api(self.hub, "GET", "/services")
        self.assertIn("announce", all_)
        # Its token works as a configured service's, and its HubOAuth client exists.
        s, me = api(self.hub, "GET", "/user", token=tok)
        self.assertEqual((s, me["kind"], me["name"]), (200, "service", "announce"))
        bob = self.sign_in("bob")
        r = bob.get(self.hub.url("/hub/api/oauth2/authorize?" + urllib.parse.urlencode(
            {"client_id": "service-announce", "redirect_uri": "/services/announce/oauth_callback",
             "response_type": "code", "state": "s"})))
        self.assertNotIn("Unknown OAuth client", r.text)
        s, routes = api(self.hub, "GET", "/proxy")
        self.assertIn("/services/announce/", routes)
        # A config service cannot be deleted; the runtime one can, and its token stops working.
        s, body = api(self.hub, "DELETE", "/services/admin-svc")
        self.assertEqual((s, body["message"]), (405, "Service admin-svc is not modifiable at runtime"))
        s, body = self.as_("bob", "DELETE", "/services/announce")
        self.assertEqual(s, 403, body)
        s, body = api(self.hub, "DELETE", "/services/announce")
        self.assertEqual(s, 200, body)
        s, body = api(self.hub, "GET", "/user", token=tok)
        self.assertEqual(s, 403, body)
        s, body = api(self.hub, "DELETE", "/services/announce")
        self.assertEqual((s, body["message"]), (404, "Service announce does not exist"))
        self.assertNotIn("/services/announce/", api(self.hub, "GET", "/proxy")[1])

    def test_runtime_service_needs_the_scopes_it_would_get(self):
        s, body = self.as_("alice", "POST", "/services/x", {"url": "http://127.0.0.1:9"})
        self.assertEqual(s, 403, body)
        # erin holds admin:services but not admin's scopes, nor read:metrics.
        s, body = self.as_("erin", "POST", "/services/x", {"admin": True})
        self.assertEqual(s, 400, body)
        self.assertRegex(body["message"], r"^Not assigning requested scopes \S+ not held by erin$")
        s, body = self.as_("erin", "POST", "/services/x", {"oauth_client_allowed_scopes": ["read:metrics"]})
        self.assertEqual((s, body["message"]), (400, "Not assigning requested scopes read:metrics not held by erin"))
        self.addCleanup(api, self.hub, "DELETE", "/services/x")
        s, body = self.as_("erin", "POST", "/services/x", {"oauth_client_allowed_scopes": ["read:users!user=erin"]})
        self.assertEqual(s, 201, body)

    # --- the shared server through the proxy ----------------------------------------------------

    @unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
    def test_shared_server_through_the_proxy_and_revocation(self):
        self.clean("alice")
        s, body = api(self.hub, "POST", "/users/alice/server")
        self.assertIn(s, (201, 202), body)
        self.addCleanup(api, self.hub, "DELETE", "/users/alice/server")
        deadline = time.time() + 60
        while time.time() < deadline:
            s, body = self.as_("alice", "GET", "/users/alice")
            if body.get("server"):
                break
            time.sleep(0.3)
        self.assertTrue(body.get("server"), self.hub.log()[-3000:])
        bob = self.sign_in("bob")
        # Before any share, the hub refuses bob at alice's server's OAuth step.
        r = follow(bob, self.hub, bob.get(self.hub.url("/user/alice/tree")))
        self.assertEqual(r.status, 403, r.text[:500])
        # Shared: the same browser session reaches the notebook server, API included.
        s, body = self.as_("alice", "POST", "/shares/alice/", {"user": "bob"})
        self.assertEqual(s, 200, body)
        r = follow(bob, self.hub, bob.get(self.hub.url("/user/alice/tree")))
        self.assertEqual(r.status, 200, r.text[:500])
        r = bob.get(self.hub.url("/user/alice/api/contents"), headers={"X-XSRFToken": xsrf(bob)})
        self.assertEqual(r.status, 200, r.text[:500])
        # Revoked: the very next request of that session is refused.
        s, body = self.as_("alice", "DELETE", "/shares/alice/")
        self.assertEqual(s, 204, body)
        r = bob.get(self.hub.url("/user/alice/api/contents"), headers={"X-XSRFToken": xsrf(bob)})
        self.assertEqual(r.status, 403, r.text[:500])
        r = follow(bob, self.hub, bob.get(self.hub.url("/user/alice/tree")))
        self.assertEqual(r.status, 403, r.text[:500])
        # A share code brings it back through the accept page.
        code = self.new_code()["code"]
        _, r = self.accept(bob, code)
        self.assertEqual(urllib.parse.urlparse(r.location).path, "/user/alice/")
        r = follow(bob, self.hub, bob.get(self.hub.url("/user/alice/tree")))
        self.assertEqual(r.status, 200, r.text[:500])


if __name__ == "__main__":
    unittest.main()
