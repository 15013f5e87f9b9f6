"""Small helpers shared by the login integration tests (test_login_*.py).

A login test drives the whole sign-in over real HTTP: the hub's /hub/oauth_login redirect,
the test IdP's login form, the hub's /hub/oauth_callback, then /hub/api/user with the cookie.
These helpers only spell those hops once; every assertion stays in the tests.
Standard library only.
"""

from __future__ import annotations

import html
import json
import re
import time
import unittest
import urllib.parse

from harness.browserless import Client, Response, login_at_idp
from harness.hub import Hub
from harness.idp import TestIdp

CLIENT_ID, CLIENT_SECRET = "nbhub-test", "nbhub-test-secret"
CUSTOS_CLIENT_ID, CUSTOS_SECRET = "custos-abc123-10000000", "custos-secret"
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}
DEFAULT_403 = ("Sorry, you are not currently authorized to use this hub. "
               "Please contact the hub administrator.")


# --- configuration -------------------------------------------------------------------------

def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple, set)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML form for {v!r}")


def hub_toml(providers: list[dict], auth: dict | None = None, top: dict | None = None,
             tables: dict | None = None) -> str:
    """nbhub.toml text: hub-wide keys (`top`; both listeners on free loopback ports by
    default), `[auth]`, other tables (`{"http_client": {...}}`) and one `[[auth.providers]]`
    per dict in `providers`."""
    lines = []
    # hub_bind_url defaults to port 8081: tests running side by side would collide on it.
    for k, v in {"port": 0, "ip": "127.0.0.1", "hub_bind_url": "http://127.0.0.1:0", **(top or {})}.items():
        lines.append(f"{k} = {toml_value(v)}")
    for name, table in (tables or {}).items():
        lines.append(f"\n[{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
    lines.append("\n[auth]")
    lines += [f"{k} = {toml_value(v)}" for k, v in (auth or {}).items()]
    for p in providers:
        lines.append("\n[[auth.providers]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in p.items()]
    return "\n".join(lines) + "\n"


def module_idp(module_globals: dict, mode: str = "generic"):
    """setUpModule and tearDownModule for a test module sharing one test IdP, kept as its
    module-level IDP: `setUpModule, tearDownModule = module_idp(globals())`."""
    def set_up():
        module_globals["IDP"] = TestIdp(mode=mode)
        module_globals["IDP"].start()

    def tear_down():
        module_globals["IDP"].stop()
    return set_up, tear_down


def oidc_provider(idp: TestIdp, name: str = "test", **kw) -> dict:
    """A `kind = "oidc"` provider on the test IdP's client nbhub-test (discovery)."""
    return {"name": name, "kind": "oidc", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "issuer": idp.issuer, **kw}


# --- hops ----------------------------------------------------------------------------------

def begin(hub: Hub, client: Client, provider: str | None = "test", next_url: str | None = None,
          base: str = "/") -> Response:
    """GET /hub/oauth_login; returns the hub's answer (normally a redirect to the IdP)."""
    q = {}
    if provider is not None:
        q["provider"] = provider
    if next_url is not None:
        q["next"] = next_url
    return client.get(hub.url(base + "hub/oauth_login" + ("?" + urllib.parse.urlencode(q) if q else "")))


def callback_url(hub: Hub, client: Client, username: str, provider: str | None = "test",
                 next_url: str | None = None, base: str = "/") -> str:
    """Starts a login and signs in at the IdP; returns the callback URL, not yet visited."""
    r = begin(hub, client, provider, next_url, base)
    if r.status != 302:
        raise AssertionError(f"oauth_login answered {r.status}: {r.text[:1000]}\nhub log:\n{hub.log()[-3000:]}")
    return login_at_idp(client, r.location, username, PASSWORDS.get(username, username + "-pw"))


def login(hub: Hub, client: Client, username: str, provider: str | None = "test",
          next_url: str | None = None, base: str = "/") -> Response:
    """The whole login; returns the hub's answer to the callback (a redirect when it worked)."""
    return client.get(callback_url(hub, client, username, provider, next_url, base))


def api_user(hub: Hub, client: Client, base: str = "/") -> Response:
    return client.get(hub.url(base + "hub/api/user"))


def page_text(resp: Response) -> str:
    """The visible text of an HTML page, tags stripped and entities decoded, whitespace collapsed."""
    text = re.sub(r"<[^>]+>", " ", resp.text)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def set_cookies(resp: Response) -> dict[str, str]:
    """Set-Cookie headers of a response by cookie name (the whole header line as value)."""
    out = {}
    for line in resp.headers.get_all("Set-Cookie") or []:
        out[line.split("=", 1)[0].strip()] = line
    return out


def cookie_attrs(set_cookie_line: str) -> dict[str, str]:
    """Attributes of one Set-Cookie line, names lower-cased ("httponly" → "")."""
    attrs = {}
    for part in set_cookie_line.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        attrs[k.lower()] = v
    return attrs


def cookie_value(client: Client, name: str) -> str | None:
    for c in client.cookies:
        if c.name == name:
            return c.value
    return None


def wait_for_log(hub: Hub, pattern: str, timeout: float = 5.0) -> re.Match:
    """Waits until a line of the hub's log matches `pattern` (a regex); fails with the log."""
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern)
    while True:
        m = rx.search(hub.log())
        if m:
            return m
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line matches {pattern!r}; hub log:\n{hub.log()[-4000:]}")
        time.sleep(0.05)


class LoginCase(unittest.TestCase):
    """Assertions every login test repeats."""

    def assertLoggedInAs(self, hub: Hub, client: Client, name: str, *, admin: bool | None = None,
                         groups: list[str] | None = None, base: str = "/") -> dict:
        r = api_user(hub, client, base)
        self.assertEqual(r.status, 200, f"{r.text}\nhub log:\n{hub.log()[-3000:]}")
        model = r.json()
        self.assertEqual(model["kind"], "user")
        self.assertEqual(model["name"], name)
        if admin is not None:
            self.assertIs(model["admin"], admin)
        if groups is not None:
            self.assertEqual(sorted(model["groups"]), sorted(groups))
        return model

    def assertNotLoggedIn(self, hub: Hub, client: Client, base: str = "/"):
        r = api_user(hub, client, base)
        self.assertEqual(r.status, 403, r.text)

    def assertLoginRedirect(self, hub: Hub, resp: Response, location: str = "/hub/spawn"):
        """The callback worked: 302 to `location` (by default /hub/spawn, which starts and opens
        the server: JupyterHub's redirect_to_server) with a fresh session cookie."""
        self.assertEqual(resp.status, 302, f"{page_text(resp)}\nhub log:\n{hub.log()[-3000:]}")
        self.assertEqual(resp.headers["Location"], location)
        self.assertIn("nbhub-hub-login", set_cookies(resp))

    def assertErrorPage(self, hub: Hub, resp: Response, status: int, *fragments: str):
        """An HTML error page with `status` whose visible text contains every fragment."""
        self.assertEqual(resp.status, status, f"{page_text(resp)}\nhub log:\n{hub.log()[-3000:]}")
        self.assertTrue(resp.headers.get("Content-Type", "").startswith("text/html"),
                        resp.headers.get("Content-Type"))
        text = page_text(resp)
        for f in fragments:
            self.assertIn(f, text)
        live = [k for k, v in set_cookies(resp).items() if "Max-Age=0" not in v]
        self.assertNotIn("nbhub-hub-login", live, "an error page must not sign anyone in")
        return text
