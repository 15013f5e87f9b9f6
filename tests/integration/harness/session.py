"""Helpers shared by the tests that sign a person in and use their server through nbhub:
sign in at the test IdP, follow the loopback OAuth dance, wait for the server, read cookies.
"""
import json
import socket
import time
import urllib.error
import urllib.request

from harness import browserless


def free_port():
    """A loopback port free right now. For a URL that must be known before a process starts
    (a callback URL in a config file); the tiny race until it binds is accepted in tests."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign_in(hub, user, password, provider="idp", ssl_context=None):
    """A browserless client signed in to `hub` as `user` through the test IdP.
    `ssl_context`: for a hub serving https (trusting its test CA)."""
    c = browserless.Client(ssl_context=ssl_context)
    r = c.get(hub.url(f"/hub/oauth_login?provider={provider}"))
    r = c.get(browserless.login_at_idp(c, r.location, user, password))
    assert r.status == 302, r.text
    return c


def follow(c, hub, r, hops=10):
    """Follows redirects on loopback (the OAuth dance between server and hub); relative
    locations are resolved against the hub."""
    for _ in range(hops):
        if not r.is_redirect:
            return r
        loc = r.location if r.location.startswith("http") else hub.url(r.location)
        r = c.get(loc)
    return r


def wait_ready(c, hub, timeout=60):
    """The user model once the default server is up; fails with the hub's log otherwise."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        model = c.get(hub.url("/hub/api/user")).json()
        if model.get("server"):
            return model
        time.sleep(0.3)
    raise AssertionError("server not ready:\n" + hub.log()[-3000:])


def cookie_header(c):
    return "; ".join(f"{k.name}={k.value}" for k in c.cookies)


def xsrf(c):
    return next((k.value for k in c.cookies if k.name == "_xsrf"), "")


def api_call(hub, method, path, body=None, token=None, timeout=30):
    """(status, body bytes) of a hub REST call with `Authorization: token <token>` (none when
    `token` is None) and `body` as JSON; error statuses are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(hub.url(path), data=data, method=method)
    if token:
        req.add_header("Authorization", f"token {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def start_and_open_kernel(test, hub, c, user):
    """Starts `user`'s default server through /hub/spawn, signs in to it through the hub's
    OAuth, opens a kernel and its WebSocket (closed at the test's cleanup); returns
    kernel(code) -> output, which fails the test on a traceback."""
    from harness.websocket import WebSocket, run_code
    test.assertEqual(c.get(hub.url("/hub/spawn")).status, 302)
    wait_ready(c, hub)
    r = c.get(hub.url(f"/user/{user}/tree"))
    for _ in range(10):
        if not r.is_redirect:
            break
        r = c.get(r.location if r.location.startswith("http") else hub.url(r.location))
    r = c.post(hub.url(f"/user/{user}/api/kernels"), json_body={}, headers={"X-XSRFToken": xsrf(c)})
    test.assertEqual(r.status, 201, r.text[:500])
    ws = WebSocket(f"ws://127.0.0.1:{hub.port}/user/{user}/api/kernels/{r.json()['id']}/channels?session_id=t",
                   headers={"Cookie": cookie_header(c)})
    test.addCleanup(ws.close)

    def kernel(code):
        out = run_code(ws, code)
        test.assertNotIn("Traceback", out, out)
        return out
    return kernel
