"""A cookie-keeping HTTP client that does not follow redirects, and an IdP login driver.

Tests walk OAuth flows hop by hop (hub → IdP → login form → IdP → hub callback) and often
need to inspect or tamper with one hop, so `Client.request` returns every response as it is,
redirects included; `Client.follow` walks them when a test does not care.
Standard library only.
"""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser

REDIRECT_STATUSES = (301, 302, 303, 307, 308)


@dataclass
class Response:
    status: int
    headers: Message  # case-insensitive; get_all() for repeated headers such as Set-Cookie
    body: bytes
    url: str  # the URL this response answered
    method: str = "GET"
    request_body: bytes | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)

    @property
    def is_redirect(self) -> bool:
        return self.status in REDIRECT_STATUSES and self.headers.get("Location") is not None

    @property
    def location(self) -> str | None:
        """The Location header resolved against this response's URL (handles relative ones)."""
        loc = self.headers.get("Location")
        return urllib.parse.urljoin(self.url, loc) if loc is not None else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError, which Client turns into a Response


class Client:
    """HTTP client with a cookie jar; never follows redirects by itself."""

    def __init__(self, timeout: float = 30.0, ssl_context=None):
        """`ssl_context`: for https URLs (e.g. one trusting a test CA)."""
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        handlers = [
            urllib.request.HTTPCookieProcessor(self.cookies),
            _NoRedirect(),
            # Loopback only: never route test traffic through an environment proxy.
            urllib.request.ProxyHandler({}),
        ]
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    def request(self, method: str, url: str, *, data=None, json_body=None,
                headers: dict | None = None, timeout: float | None = None) -> Response:
        """Sends one request. `data` may be a dict (sent form-encoded), str or bytes."""
        hdrs = dict(headers or {})
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(data, dict):
            body = urllib.parse.urlencode(data).encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(data, str):
            body = data.encode()
        elif data is not None:
            body = data
        req = urllib.request.Request(url, data=body, headers=hdrs, method=method)
        try:
            with self._opener.open(req, timeout=timeout or self.timeout) as r:
                return Response(r.status, r.headers, r.read(), url, method, body)
        except urllib.error.HTTPError as e:  # 3xx (not followed), 4xx, 5xx
            with e:
                return Response(e.code, e.headers, e.read(), url, method, body)

    def get(self, url: str, **kw) -> Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, data=None, **kw) -> Response:
        return self.request("POST", url, data=data, **kw)

    def follow(self, resp: Response, max_hops: int = 20) -> Response:
        """Follows redirects from `resp` and returns the first non-redirect response.

        303 (and 301/302, as browsers do) turn into GET; 307/308 repeat method and body.
        """
        for _ in range(max_hops):
            if not resp.is_redirect:
                return resp
            if resp.status in (307, 308):
                resp = self.request(resp.method, resp.location, data=resp.request_body)
            else:
                resp = self.get(resp.location)
        raise RuntimeError(f"more than {max_hops} redirects, last at {resp.url}")


def follow(client: Client, resp: Response, max_hops: int = 20) -> Response:
    """Module-level spelling of Client.follow."""
    return client.follow(resp, max_hops)


class _FormParser(HTMLParser):
    """Collects the first <form>: its action, method and named inputs with their values."""

    def __init__(self):
        super().__init__()
        self.form: dict | None = None
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form" and self.form is None:
            self.form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "inputs": {}}
            self._in_form = True
        elif tag == "input" and self._in_form and a.get("name"):
            self.form["inputs"][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False


def parse_form(html: str) -> dict | None:
    """The first form in `html` as {action, method, inputs}, or None."""
    p = _FormParser()
    p.feed(html)
    return p.form


class LoginError(AssertionError):
    pass


def _origin(url: str) -> tuple[str, str]:
    u = urllib.parse.urlsplit(url)
    return u.scheme, u.netloc


def login_at_idp(client: Client, authorize_location: str, username: str, password: str,
                 max_hops: int = 20) -> str:
    """Signs in at the IdP and returns the first redirect target off the IdP's origin.

    GETs `authorize_location` (the hub's redirect to the IdP), follows the IdP's redirects to
    its login form, posts `username` and `password` (plus any hidden inputs) to the form's
    action, and follows the IdP's redirects until one leaves the IdP origin: that Location
    (normally the client's callback URL with `code` and `state`) is returned unvisited.
    If the IdP session already exists, no form is shown and the callback comes at once.
    """
    idp = _origin(authorize_location)
    resp = client.get(authorize_location)
    submitted = False
    for _ in range(max_hops):
        if resp.is_redirect:
            target = resp.location
            if _origin(target) != idp:
                return target
            resp = client.get(target)
            continue
        form = parse_form(resp.text) if resp.status == 200 else None
        if form is None or "username" not in form["inputs"]:
            raise LoginError(f"IdP answered {resp.status} at {resp.url} without a login form:\n{resp.text[:2000]}")
        if submitted:
            raise LoginError(f"IdP rejected the login for {username!r}:\n{resp.text[:2000]}")
        fields = dict(form["inputs"], username=username, password=password)
        resp = client.post(urllib.parse.urljoin(resp.url, form["action"] or resp.url), fields)
        submitted = True
    raise LoginError(f"more than {max_hops} hops at the IdP, last at {resp.url}")
