"""The HTTP front of the fake API server: routing, auth, faults, the request log and watches."""
import base64
import json
import os
import re
import select
import socket
import ssl
import struct
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import catalog
from . import patch as patches
from . import status as st
from . import tables
from .kubelet import Kubelet
from .selectors import FieldSelector, LabelSelector
from .store import Store

MAX_BODY = 3 * 1024 * 1024          # kube-apiserver's request body limit
LOG_LIMIT = 200_000                 # request log entries kept
LOG_BODY_LIMIT = 64 * 1024          # request bodies kept in the log up to this size

# The z2jh hub Role (spec §1.6): what `rbac` mode allows the hub's token.
Z2JH_HUB_ROLE = [
    {"apiGroups": [""], "resources": ["pods", "persistentvolumeclaims", "secrets", "services"],
     "verbs": ["get", "watch", "list", "create", "delete"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "watch", "list"]},
]


def make_test_cert(directory, ip="127.0.0.1"):
    """A throw-away self-signed certificate for 127.0.0.1 (needs the openssl CLI): returns (cert, key).
    The certificate is its own CA, so it doubles as ca.crt for clients."""
    import subprocess
    crt, key = os.path.join(directory, "fakekube-tls.crt"), os.path.join(directory, "fakekube-tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=fakekube", "-addext", f"subjectAltName=IP:{ip}"],
                   check=True, capture_output=True)
    return crt, key


def _bool(v):
    """kube-apiserver's query boolean: absent is false, anything but 0/f/false is true."""
    if v is None:
        return False
    return not (v == "0" or v.lower() in ("f", "false"))


class Request:
    """What a request asks for, once its path is parsed."""

    def __init__(self):
        self.kind = None        # "discovery", "resource", "unknown"
        self.res = None
        self.ns = None
        self.name = None
        self.sub = None
        self.verb = None
        self.watch = False
        self.doc = None         # discovery document


class FakeKube:
    """A fake Kubernetes API server on 127.0.0.1 (see ../README.md).

    namespaces   -- namespaces that exist at start ("default" is always there)
    token_file   -- if set, requests need `Authorization: Bearer <a line of this file>`; re-read when it changes
    admin_token  -- a token with full access (for kubectl in tests); also enables auth
    rbac         -- {"user", "namespace", "rules"}: token_file tokens get only these rules (Z2JH_HUB_ROLE)
    tls          -- (certfile, keyfile): serve https
    grace_scale  -- multiplies pod termination grace periods (tests: 0.05 makes 30 s into 1.5 s)
    """

    def __init__(self, namespaces=(), token_file=None, admin_token=None, rbac=None, tls=None, port=0,
                 history_window=5000, bookmark_interval=60.0, default_watch_timeout=1800, grace_scale=1.0,
                 kubelet=True, workdir=None, host="127.0.0.1"):
        self.store = Store(history_window)
        self.store.grace_scale = grace_scale
        self.token_file, self.admin_token, self.rbac, self.tls = token_file, admin_token, rbac, tls
        self.bookmark_interval = bookmark_interval
        self.default_watch_timeout = default_watch_timeout
        self.host, self.port = host, port
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fakekube-")
            workdir = self._tmp.name
        self.workdir = workdir
        self.lock = threading.Lock()
        self.log = []
        self.seq = 0
        self.faults = []
        self.fault_seq = 0
        self.down_until = 0.0
        self.watch_epoch = 0            # bumped to drop every open watch
        self.open_watches = {}          # id -> {"path", "query", "resource"}
        self.stopping = threading.Event()
        self._token_cache = (None, set())
        for ns in ("default", "kube-system", "kube-public", *namespaces):
            if not self.store.namespace_exists(ns):
                self.store.create(catalog.BY_PATH[("", "v1", "namespaces")], "", {"metadata": {"name": ns}})
        self.httpd = None
        self.kubelet = None
        self._want_kubelet = kubelet
        self.grace_scale = grace_scale

    # ---- life cycle ----------------------------------------------------------------------
    def start(self):
        fake = self

        class Handler(_Handler):
            pass
        Handler.fake = fake
        self.httpd = _Server((self.host, self.port), Handler)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        if self._want_kubelet:
            self.kubelet = Kubelet(self.store, self.workdir, self.host, self.port, time_scale=self.grace_scale)
            # Pod processes run in their own sessions: make sure they die with us even if a test forgets stop().
            import atexit
            atexit.register(self.kubelet.stop)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        if self.kubelet:
            self.kubelet.stop()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
        if self._tmp:
            self._tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def kubeconfig(self, path, token=None, namespace="default", token_file=None):
        """Writes a kubeconfig (block YAML, as `kubectl config` writes them) pointing at this server.

        token_file writes `tokenFile:` instead of an inline token (re-read by clients, like in-cluster)."""
        lines = ["apiVersion: v1", "kind: Config", "current-context: fake", "clusters:", "- name: fake",
                 "  cluster:", f"    server: {self.url}"]
        if self.tls:
            lines.append(f"    certificate-authority: {self.tls[0]}")
        lines += ["users:", "- name: fake", "  user:" + ("" if token or token_file else " {}")]
        if token:
            lines.append(f'    token: "{token}"')
        if token_file:
            lines.append(f"    tokenFile: {token_file}")
        lines += ["contexts:", "- name: fake", "  context:", "    cluster: fake", "    user: fake",
                  f"    namespace: {namespace}", ""]
        with open(path, "w") as f:
            f.write("\n".join(lines))
        return path

    def in_cluster(self, directory, token, namespace="default"):
        """Lays out a pod's service-account files (token, namespace, ca.crt when TLS) in `directory` and
        returns the environment an in-cluster client reads (KUBERNETES_SERVICE_HOST/PORT)."""
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "token"), "w") as f:
            f.write(token)
        with open(os.path.join(directory, "namespace"), "w") as f:
            f.write(namespace)
        if self.tls:
            with open(self.tls[0]) as src, open(os.path.join(directory, "ca.crt"), "w") as dst:
                dst.write(src.read())
        return {"KUBERNETES_SERVICE_HOST": self.host, "KUBERNETES_SERVICE_PORT": str(self.port),
                "KUBERNETES_SERVICE_PORT_HTTPS": str(self.port)}

    def store_res(self, plural, group=""):
        """The catalog entry of a resource, for direct store access in tests."""
        return next(r for r in catalog.RESOURCES if r.plural == plural and r.group == group)

    # ---- switchboard (Python side; HTTP side under /__fake/) ------------------------------
    def add_fault(self, **rule):
        """Rule keys: match on method, verb, resource, namespace, name, path_regex, watch; then one action:
        status=<code> (+message, retry_after), delay=<s>, stall=<s>, drop=True, watch_drop_after=<n events>,
        watch_error_410_after=<n events>, watch_stall_after=<n events>, duplicate=True. count=<n> limits how
        often it fires."""
        with self.lock:
            self.fault_seq += 1
            rule = dict(rule, id=self.fault_seq, fired=0)
            self.faults.append(rule)
            return rule["id"]

    def clear_faults(self):
        with self.lock:
            self.faults.clear()

    def set_down(self, seconds=None):
        """API down: every request gets its connection reset, open watches are cut. None = until up()."""
        with self.lock:
            self.down_until = time.time() + seconds if seconds is not None else float("inf")
            self.watch_epoch += 1

    def up(self):
        with self.lock:
            self.down_until = 0.0

    def is_down(self):
        return time.time() < self.down_until

    def drop_watches(self):
        with self.lock:
            self.watch_epoch += 1

    def compact(self):
        self.store.compact()

    def requests(self, since=0, **match):
        with self.lock:
            out = [dict(e) for e in self.log if e["seq"] > since]
        return [e for e in out if all(e.get(k) == v for k, v in match.items())]

    def clear_requests(self):
        with self.lock:
            self.log.clear()

    def watches(self):
        with self.lock:
            return [dict(w) for w in self.open_watches.values()]

    def pod_fault(self, ns, name, action, exit_code=None):
        self.kubelet.fault(ns, name, action, exit_code)

    def set_kubelet(self, defaults=None, rules=None):
        if defaults:
            self.kubelet.defaults.update(defaults)
        if rules is not None:
            self.kubelet.rules = list(rules)

    # ---- internals used by the handler ---------------------------------------------------
    def tokens(self):
        if not self.token_file:
            return set()
        try:
            stt = os.stat(self.token_file)
        except OSError:
            return set()
        key = (stt.st_mtime_ns, stt.st_size)
        if self._token_cache[0] != key:
            with open(self.token_file) as f:
                self._token_cache = (key, {ln.strip() for ln in f if ln.strip()})
        return self._token_cache[1]

    def authenticate(self, header):
        """-> (user, limited) or raises 401."""
        if not self.token_file and not self.admin_token:
            return "system:anonymous-admin", False
        m = re.fullmatch(r"bearer\s+(\S+)", (header or "").strip(), re.I)   # scheme is case-insensitive
        if m:
            tok = m.group(1)
            if self.admin_token and tok == self.admin_token:
                return "kubernetes-admin", False
            if tok in self.tokens():
                return (self.rbac or {}).get("user", "system:serviceaccount:default:test"), bool(self.rbac)
        raise st.unauthorized()

    def authorize(self, user, req):
        rules = self.rbac.get("rules", Z2JH_HUB_ROLE)
        ns_allowed = self.rbac.get("namespace")
        res = req.res.plural + (f"/{req.sub}" if req.sub else "")
        ok = req.ns is not None and (ns_allowed is None or req.ns == ns_allowed) and any(
            req.res.group in r.get("apiGroups", []) and (res in r.get("resources", []) or "*" in r["resources"])
            and (req.verb in r.get("verbs", []) or "*" in r["verbs"]) for r in rules)
        if not ok:
            raise st.forbidden(user, req.verb, res, req.res.group, req.ns, req.name)

    def find_fault(self, method, req, path):
        with self.lock:
            for f in self.faults:
                if f.get("count") is not None and f["fired"] >= f["count"]:
                    continue
                if f.get("method") and f["method"] != method:
                    continue
                if f.get("verb") and f["verb"] != req.verb:
                    continue
                if f.get("resource") and (req.res is None or f["resource"] != req.res.plural):
                    continue
                if f.get("namespace") and f["namespace"] != req.ns:
                    continue
                if f.get("name") and f["name"] != req.name:
                    continue
                if f.get("watch") is not None and bool(f["watch"]) != req.watch:
                    continue
                if f.get("path_regex") and not re.search(f["path_regex"], path):
                    continue
                f["fired"] += 1
                return dict(f)
        return None

    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.log.append(entry)
            if len(self.log) > LOG_LIMIT:
                del self.log[: len(self.log) - LOG_LIMIT]
            return entry


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass    # clients that hang up mid-watch are normal


def parse_path(path, method, q):
    parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/") if p]
    r = Request()
    if parts in ([], ["api"]):
        r.kind, r.doc = "discovery", "api"
        return r
    if parts == ["apis"]:
        r.kind, r.doc = "discovery", "apis"
        return r
    if parts == ["version"]:
        r.kind, r.doc = "discovery", "version"
        return r
    if parts and parts[0] in ("healthz", "livez", "readyz"):
        r.kind, r.doc = "discovery", "health"
        return r
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) == 2:
        r.kind, r.doc = "discovery", ("group", parts[1])
        return r
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        r.kind = "unknown"
        return r
    if not rest:
        r.kind, r.doc = "discovery", ("resources", group, version)
        return r
    if rest[0] == "watch":
        r.watch = True
        rest = rest[1:]
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in catalog.BY_PATH:
        ns, rest = rest[1], rest[2:]
    res = catalog.BY_PATH.get((group, version, rest[0])) if rest else None
    if res is None or len(rest) > 3 or (ns is not None and not res.namespaced):
        r.kind = "unknown"
        return r
    r.kind, r.res, r.ns = "resource", res, ns
    r.name = rest[1] if len(rest) > 1 else None
    r.sub = rest[2] if len(rest) > 2 else None
    if res.namespaced and ns is None and r.name is not None:
        r.kind = "unknown"
        return r
    if not res.namespaced:
        r.ns = None
    r.watch = r.watch or (method == "GET" and _bool(q.get("watch")))
    if method == "GET":
        r.verb = "watch" if r.watch else ("get" if r.name else "list")
    else:
        r.verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                  "DELETE": "delete" if r.name else "deletecollection"}.get(method, method.lower())
    return r


class _DropConnection(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nbhub-fake-kube-apiserver/1.35"
    fake = None

    def log_message(self, *a):
        pass

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # ---- plumbing ------------------------------------------------------------------------
    def _reset(self):
        """Closes the connection with a TCP reset (API down / drop fault)."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(n)
                self.rfile.readline()
                if len(data) > MAX_BODY:
                    raise st.too_large(MAX_BODY)
            return data
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            self.rfile.read(n)
            raise st.too_large(MAX_BODY)
        return self.rfile.read(n) if n else b""

    def _send(self, code, body, ctype="application/json", headers=None):
        data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode() if ctype == "application/json" \
            else body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.entry["code"] = code

    def _error(self, e):
        self._send(e.code, e.body(), headers=e.headers)

    # ---- main path -----------------------------------------------------------------------
    def _serve(self):
        fake = self.fake
        u = urllib.parse.urlsplit(self.path)
        qs = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        q = {k: v[0] for k, v in qs.items()}
        self.entry = {"code": None}
        if u.path.startswith("/__fake/"):
            return self._switchboard(u.path, q)
        if fake.is_down():
            fake.record({"time": time.time(), "method": self.command, "path": u.path, "query": u.query,
                         "verb": None, "dropped": "api down"})
            return self._reset()
        req = parse_path(u.path, self.command, q)
        self.entry = fake.record({
            "time": time.time(), "method": self.command, "path": u.path, "query": u.query, "params": q,
            "verb": req.verb if req.kind == "resource" else req.kind, "watch": req.watch,
            "resource": req.res.plural if req.res else None, "group": req.res.group if req.res else None,
            "namespace": req.ns, "name": req.name, "subresource": req.sub, "user": None,
            "accept": self.headers.get("Accept"), "content_type": self.headers.get("Content-Type"),
            "user_agent": self.headers.get("User-Agent"), "code": None,
            "headers": {k: v for k, v in self.headers.items() if k.lower() != "authorization"}})
        try:
            body = self._read_body()
            if body and len(body) <= LOG_BODY_LIMIT:
                try:
                    self.entry["body"] = json.loads(body)
                except ValueError:
                    self.entry["body"] = body[:LOG_BODY_LIMIT].decode("utf-8", "replace")
            user, limited = fake.authenticate(self.headers.get("Authorization"))
            self.entry["user"] = user
            if limited and req.kind == "resource":
                fake.authorize(user, req)
            fault = fake.find_fault(self.command, req, u.path)
            if fault:
                self.entry["fault"] = fault["id"]
                if fault.get("drop"):
                    return self._reset()
                if fault.get("stall"):
                    end = time.time() + float(fault["stall"])
                    while time.time() < end and not fake.stopping.is_set():
                        time.sleep(0.1)
                    return self._reset()
                if fault.get("delay"):
                    time.sleep(float(fault["delay"]))
                if fault.get("status"):
                    raise st.generic(int(fault["status"]), fault.get("message"), fault.get("retry_after"))
            if req.kind == "discovery":
                return self._discovery(req)
            if req.kind != "resource":
                return self._send(404, "404 page not found\n", "text/plain; charset=utf-8")
            return self._resource(req, q, body, fault)
        except st.ApiError as e:
            return self._error(e)
        except (BrokenPipeError, ConnectionResetError, _DropConnection):
            self.close_connection = True
        except json.JSONDecodeError as e:
            return self._error(st.bad_request(f"the body of the request could not be decoded as JSON: {e}"))

    def _discovery(self, req):
        doc = req.doc
        host = f"{self.fake.host}:{self.fake.port}"
        if doc == "api":
            return self._send(200, catalog.api_versions(host))
        if doc == "apis":
            return self._send(200, catalog.api_group_list())
        if doc == "version":
            return self._send(200, catalog.VERSION)
        if doc == "health":
            return self._send(200, "ok", "text/plain; charset=utf-8")
        if doc[0] == "group":
            g = catalog.api_group(doc[1])
            return self._send(200, g) if g else self._send(404, "404 page not found\n", "text/plain; charset=utf-8")
        rl = catalog.resource_list(doc[1], doc[2])
        if rl is None:
            return self._send(404, "404 page not found\n", "text/plain; charset=utf-8")
        return self._send(200, rl)

    def _table_version(self):
        acc = self.headers.get("Accept", "")
        for part in acc.split(","):
            if "as=Table" in part:
                m = re.search(r"v=(v1beta1|v1)", part)
                return m.group(1) if m else "v1"
            if part.strip().split(";")[0] in ("application/json", "*/*"):
                return None
        return None

    def _parse_json(self, body):
        ct = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if not body:
            return {}, ct
        if ct not in ("application/json", "application/merge-patch+json", "application/strategic-merge-patch+json",
                      "application/json-patch+json", "application/apply-patch+yaml", "*/*"):
            raise st.unsupported_media_type(ct)
        try:
            return json.loads(body), ct
        except ValueError:
            if ct == "application/apply-patch+yaml":
                raise st.unsupported_media_type(ct + " (YAML that is not JSON)")
            raise

    def _resource(self, req, q, body, fault):
        fake, store, res = self.fake, self.fake.store, req.res
        if req.sub == "log" and req.verb == "get":
            store.get(res, req.ns, req.name)
            return self._send(200, fake.kubelet.pod_log(req.ns, req.name) if fake.kubelet else "",
                              "text/plain")
        if req.sub not in (None, "status"):
            raise st.not_found(f"{res.plural}/{req.sub}", req.name or "")
        if req.verb in ("create", "update", "patch", "delete", "deletecollection") and res.namespaced \
                and req.ns is None:
            raise st.ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                              "resource")
        if req.verb == "get":
            obj = store.get(res, req.ns, req.name)
            tv = self._table_version()
            if tv:
                return self._send(200, tables.table(res.plural, [obj], obj["metadata"]["resourceVersion"], tv,
                                                    q.get("includeObject", "Metadata")))
            return self._send(200, obj)
        if req.verb == "list":
            return self._list(req, q)
        if req.verb == "watch":
            return self._watch(req, q, fault)
        if req.verb == "create":
            obj, _ = self._parse_json(body)
            if q.get("dryRun") == "All":
                return self._send(201, obj)
            return self._send(201, store.create(res, req.ns or "", obj))
        if req.verb == "update":
            obj, _ = self._parse_json(body)
            return self._send(200, store.replace(res, req.ns, req.name, obj, req.sub))
        if req.verb == "patch":
            return self._patch(req, q, body)
        if req.verb == "delete":
            opts, _ = self._parse_json(body) if body else ({}, None)
            grace = q.get("gracePeriodSeconds", opts.get("gracePeriodSeconds"))
            grace = int(grace) if grace not in (None, "") else None
            dry = q.get("dryRun") == "All" or opts.get("dryRun") == ["All"]
            return self._send(200, store.delete(res, req.ns, req.name, grace, opts.get("preconditions"), dry))
        if req.verb == "deletecollection":
            items = self._select(req, q, store.snapshot(res, req.ns)[0])
            out = []
            for o in items:
                try:
                    out.append(store.delete(res, o["metadata"].get("namespace"), o["metadata"]["name"]))
                except st.ApiError:
                    pass
            return self._send(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                                    "metadata": {"resourceVersion": str(store.current_rv())}, "items": out})
        raise st.ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _patch(self, req, q, body):
        store, res = self.fake.store, req.res
        doc, ct = self._parse_json(body)
        if ct == "application/apply-patch+yaml":
            if not q.get("fieldManager"):
                raise st.bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                                     "is required for apply patch")
            if store.find(res, req.ns, req.name) is None:
                doc.setdefault("metadata", {})["name"] = req.name
                return self._send(201, store.create(res, req.ns or "", doc))
            fn = lambda o: patches.strategic_merge_patch(o, doc)  # noqa: E731  (apply approximated as a merge)
        elif ct == "application/merge-patch+json":
            fn = lambda o: patches.merge_patch(o, doc)  # noqa: E731
        elif ct == "application/strategic-merge-patch+json":
            fn = lambda o: patches.strategic_merge_patch(o, doc)  # noqa: E731
        elif ct == "application/json-patch+json":
            fn = lambda o: patches.json_patch(o, doc)  # noqa: E731
        else:
            raise st.unsupported_media_type(ct)
        if req.sub == "status":
            inner = fn
            fn = lambda o: dict(o, status=inner(o).get("status"))  # noqa: E731
        return self._send(200, store.mutate(res, req.ns, req.name, fn))

    def _select(self, req, q, items):
        ls = LabelSelector(q.get("labelSelector"))
        fs = FieldSelector(q.get("fieldSelector"), req.res.plural)
        return [o for o in items if ls.matches(o["metadata"].get("labels")) and fs.matches(o)]

    def _list(self, req, q):
        store, res = self.fake.store, req.res
        LabelSelector(q.get("labelSelector"))
        FieldSelector(q.get("fieldSelector"), res.plural)
        rv_s, match = q.get("resourceVersion", ""), q.get("resourceVersionMatch")
        at = None
        cont = q.get("continue")
        start_after = None
        if cont:
            try:
                c = json.loads(base64.urlsafe_b64decode(cont + "=" * (-len(cont) % 4)))
                at, start_after = int(c["rv"]), tuple(c["start"])
            except (ValueError, KeyError, TypeError):
                raise st.bad_request("continue key is not valid")
        elif match == "Exact":
            if not rv_s or rv_s == "0":
                raise st.invalid("ListOptions", "", [("resourceVersionMatch", "FieldValueForbidden",
                                                      "Forbidden: resourceVersionMatch \"exact\" is forbidden for "
                                                      "resourceVersion \"0\"")])
            at = int(rv_s)
        elif rv_s not in ("", "0"):
            want = int(rv_s)
            deadline = time.time() + 3
            while store.current_rv() < want:
                if time.time() > deadline:
                    raise st.ApiError(504, "Timeout", f"Too large resource version: {want}, current: "
                                      f"{store.current_rv()}", {"causes": [{"reason": "ResourceVersionTooLarge",
                                                                             "message": "Too large resource version"}],
                                                                 "retryAfterSeconds": 1})
                time.sleep(0.05)
        items, rv = store.snapshot(res, req.ns, at)
        items = self._select(req, q, items)
        if start_after:
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start_after]
        limit = int(q.get("limit") or 0)
        next_cont = None
        remaining = None
        if limit and len(items) > limit:
            last = items[limit - 1]["metadata"]
            next_cont = base64.urlsafe_b64encode(json.dumps(
                {"rv": rv, "start": [last.get("namespace", ""), last["name"]]}).encode()).decode().rstrip("=")
            remaining = len(items) - limit
            items = items[:limit]
        tv = self._table_version()
        if tv:
            return self._send(200, tables.table(res.plural, items, rv, tv, q.get("includeObject", "Metadata"),
                                                next_cont))
        meta = {"resourceVersion": str(rv)}
        if next_cont:
            meta["continue"] = next_cont
            meta["remainingItemCount"] = remaining
        for o in items:      # list items carry no kind/apiVersion, as from the real server
            o.pop("kind", None)
            o.pop("apiVersion", None)
        return self._send(200, {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": meta,
                                "items": items})

    # ---- watch ---------------------------------------------------------------------------
    def _client_gone(self):
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if r:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True
        return False

    def _chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _watch(self, req, q, fault):
        fake, store, res = self.fake, self.fake.store, req.res
        ls = LabelSelector(q.get("labelSelector"))
        fs = FieldSelector(q.get("fieldSelector"), res.plural)
        bookmarks = _bool(q.get("allowWatchBookmarks"))
        initial = q.get("sendInitialEvents")
        send_initial = _bool(initial) if initial is not None else None
        match = q.get("resourceVersionMatch")
        if send_initial is not None:
            if match != "NotOlderThan":
                raise st.invalid("ListOptions", "", [("resourceVersionMatch", "FieldValueForbidden", "Forbidden: "
                                                      "sendInitialEvents requires setting resourceVersionMatch to "
                                                      "NotOlderThan")])
            if not bookmarks:
                raise st.invalid("ListOptions", "", [("allowWatchBookmarks", "FieldValueForbidden",
                                                      "Forbidden: sendInitialEvents requires allowWatchBookmarks=true")])
        elif match:
            raise st.invalid("ListOptions", "", [("resourceVersionMatch", "FieldValueForbidden",
                                                  "Forbidden: resourceVersionMatch is forbidden for watch unless "
                                                  "sendInitialEvents is provided")])
        timeout = float(q.get("timeoutSeconds") or fake.default_watch_timeout)
        table_v = self._table_version()
        include = q.get("includeObject", "Metadata")
        rv_s = q.get("resourceVersion", "")

        def sel(o):   # (a watch on one named object, the legacy form, selects by name too)
            return o is not None and ls.matches(o["metadata"].get("labels")) and fs.matches(o) \
                and (req.name is None or o["metadata"]["name"] == req.name)

        def render(typ, o):
            if table_v and typ != "BOOKMARK":
                o = tables.table(res.plural, [o], o["metadata"]["resourceVersion"], table_v, include)
            return {"type": typ, "object": o}

        def bookmark(rv, end=False):
            meta = {"resourceVersion": str(rv)}
            if end:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            return {"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version, "metadata": meta}}

        pending, error = [], None
        with store.lock:
            epoch = fake.watch_epoch
            if send_initial or (send_initial is None and rv_s in ("", "0")):
                objs, last = store.snapshot(res, req.ns)
                pending = [render("ADDED", o) for o in objs if sel(o)]
                if send_initial:
                    pending.append(bookmark(last, end=True))
            else:
                last = int(rv_s)
                try:
                    store.changes_since(last)
                except st.ApiError as e:
                    error = {"type": "ERROR", "object": e.body()}
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.entry["code"] = 200
        wid = id(self)
        with fake.lock:
            fake.open_watches[wid] = {"path": self.path, "resource": res.plural, "namespace": req.ns,
                                      "since": time.time()}
        sent = 0
        fault = fault or {}

        def check_fault():
            if fault.get("watch_drop_after") is not None and sent >= int(fault["watch_drop_after"]):
                raise _DropConnection()
            if fault.get("watch_error_410_after") is not None and sent >= int(fault["watch_error_410_after"]):
                self._chunk({"type": "ERROR", "object": st.expired(last, store.compacted + 1).body()})
                raise _Done()

        def emit(ev):
            nonlocal sent
            if fault.get("watch_stall_after") is not None and sent >= int(fault["watch_stall_after"]):
                return
            self._chunk(ev)
            if fault.get("duplicate") and ev["type"] != "BOOKMARK":
                self._chunk(ev)
            sent += 1
            check_fault()

        try:
            if error:
                self._chunk(error)
                raise _Done()
            check_fault()
            for ev in pending:
                emit(ev)
            start = time.time()
            next_bm = start + fake.bookmark_interval
            while True:
                now = time.time()
                if now >= start + timeout:
                    raise _Done()
                if fake.stopping.is_set() or fake.watch_epoch != epoch or fake.is_down():
                    raise _DropConnection()
                if fault.get("watch_stall_after") is not None and sent >= int(fault["watch_stall_after"]):
                    # A frozen stream: open, silent (no events, no bookmarks) until it times out or is cut.
                    time.sleep(min(0.5, max(0.01, start + timeout - now)))
                    if self._client_gone():
                        raise _DropConnection()
                    continue
                with store.lock:
                    if store.rv == last:
                        store.cond.wait(min(0.5, start + timeout - now, max(0.01, next_bm - now)))
                try:
                    changes = store.changes_since(last)
                except st.ApiError as e:
                    self._chunk({"type": "ERROR", "object": e.body()})
                    raise _Done()
                for ch in changes:
                    if ch.rkey == res.key and (req.ns is None or ch.ns == req.ns):
                        old, new = sel(ch.prev), ch.type != "DELETED" and sel(ch.obj)
                        typ = None
                        if ch.type == "DELETED":
                            typ = "DELETED" if old or sel(ch.obj) else None
                        elif old and new:
                            typ = "MODIFIED"
                        elif new:
                            typ = "ADDED"
                        elif old:
                            typ = "DELETED"
                        if typ:
                            emit(render(typ, ch.obj))
                    last = ch.rv
                if bookmarks and time.time() >= next_bm:
                    emit(bookmark(last))
                    next_bm = time.time() + fake.bookmark_interval
                if self._client_gone():
                    raise _DropConnection()
        except _Done:
            try:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except OSError:
                pass
        except (_DropConnection, OSError):
            self._reset()
        finally:
            with fake.lock:
                fake.open_watches.pop(wid, None)
        self.close_connection = True

    # ---- switchboard ---------------------------------------------------------------------
    def _switchboard(self, path, q):
        fake = self.fake
        try:
            body = self._read_body()
            data = json.loads(body) if body else {}
        except (ValueError, st.ApiError) as e:
            return self._send(400, {"error": f"bad JSON: {e}"})
        m, p = self.command, path[len("/__fake"):]
        try:
            if p == "/requests" and m == "GET":
                return self._send(200, fake.requests(int(q.get("since", 0))))
            if p == "/requests" and m == "DELETE":
                fake.clear_requests()
                return self._send(200, {})
            if p == "/faults" and m == "GET":
                return self._send(200, fake.faults)
            if p == "/faults" and m == "POST":
                rules = data if isinstance(data, list) else [data]
                return self._send(200, {"ids": [fake.add_fault(**r) for r in rules]})
            if p == "/faults" and m == "DELETE":
                fake.clear_faults()
                return self._send(200, {})
            if p == "/down" and m == "POST":
                fake.set_down(data.get("seconds"))
                return self._send(200, {})
            if p == "/up" and m == "POST":
                fake.up()
                return self._send(200, {})
            if p == "/watches" and m == "GET":
                return self._send(200, fake.watches())
            if p == "/watches/drop" and m == "POST":
                fake.drop_watches()
                return self._send(200, {})
            if p == "/compact" and m == "POST":
                fake.compact()
                return self._send(200, {"compacted": fake.store.compacted})
            if p == "/bookmarks" and m == "POST":
                fake.bookmark_interval = float(data["interval"])
                return self._send(200, {})
            if p == "/kubelet" and m == "GET":
                return self._send(200, {"defaults": fake.kubelet.defaults, "rules": fake.kubelet.rules})
            if p == "/kubelet" and m == "POST":
                fake.set_kubelet(data.get("defaults"), data.get("rules"))
                return self._send(200, {})
            mm = re.fullmatch(r"/pods/([^/]+)/([^/]+)/(oom|crash|evict)", p)
            if mm and m == "POST":
                fake.pod_fault(mm.group(1), mm.group(2), mm.group(3), data.get("exit_code"))
                return self._send(200, {})
        except (KeyError, TypeError, ValueError) as e:
            return self._send(400, {"error": str(e)})
        return self._send(404, {"error": f"no switchboard endpoint {m} {path}"})


class _Done(Exception):
    pass


def main():
    import argparse
    ap = argparse.ArgumentParser(description="fake Kubernetes API server (tests only)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--namespace", action="append", default=[])
    ap.add_argument("--token-file")
    ap.add_argument("--admin-token")
    ap.add_argument("--rbac-z2jh", metavar="NAMESPACE", help="token-file tokens get only z2jh's hub Role there")
    ap.add_argument("--grace-scale", type=float, default=1.0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    rbac = {"user": f"system:serviceaccount:{a.rbac_z2jh}:hub", "namespace": a.rbac_z2jh,
            "rules": Z2JH_HUB_ROLE} if a.rbac_z2jh else None
    fake = FakeKube(a.namespace, a.token_file, a.admin_token, rbac, (a.tls_cert, a.tls_key) if a.tls_cert else None,
                    a.port, grace_scale=a.grace_scale).start()
    print(fake.url, flush=True)
    import signal
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())     # stop cleanly: pod processes are killed too
    try:
        done.wait()
    finally:
        fake.stop()
