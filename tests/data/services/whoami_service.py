"""A small managed service for the integration tests (issue 21): nbhub starts it with
JupyterHub's service environment. It serves HTTP on the port of JUPYTERHUB_SERVICE_URL and
answers every GET with JSON: its pid, the request's path and X-Request-Id, the JUPYTERHUB_*
variables it was given (the token only as its length), and the user names it read from
JUPYTERHUB_API_URL/users with its own token, so a test sees that it used the API.

Modes (argv[1]): "serve" (default); "exit:N" exits with code N at once; "ignore-term" serves
and ignores SIGTERM (the hub must SIGKILL it).
"""
import json
import os
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1] if len(sys.argv) > 1 else "serve"


def api(path):
    req = urllib.request.Request(os.environ["JUPYTERHUB_API_URL"] + path)
    req.add_header("Authorization", "token " + os.environ["JUPYTERHUB_API_TOKEN"])
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, None


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, users = api("/users")
        env = {k: v for k, v in os.environ.items() if k.startswith(("JUPYTERHUB_", "JPY_"))}
        for k in ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"):
            if k in env:
                env[k] = "<%d characters>" % len(env[k])
        body = json.dumps({
            "pid": os.getpid(),
            "path": self.path,
            "request_id": self.headers.get("X-Request-Id"),
            "env": env,
            "api_status": status,
            "users": sorted(u["name"] for u in users) if users else None,
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        # An id of its own, as some servers set: the hub's proxy must answer with the hub's.
        self.send_header("X-Request-Id", "set-by-the-service")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("whoami: " + (fmt % args) + "\n")


def main():
    if MODE.startswith("exit:"):
        print("whoami: exiting as asked", flush=True)
        sys.exit(int(MODE.split(":", 1)[1]))
    if MODE == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    url = urllib.parse.urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
    server = ThreadingHTTPServer((url.hostname, url.port), Handler)
    print("whoami: serving on %s:%d" % (url.hostname, url.port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
