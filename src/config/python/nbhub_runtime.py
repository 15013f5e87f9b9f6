"""nbhub's runtime for jupyterhub_config.py (issue 22).

nbhub embeds this file in its binary and runs it as `python3 -I -c <this source> MODE`:

  eval   runs the configuration once and prints one JSON document: every trait it set, with
         the file and line of the assignment, or the error with the traceback's file:line.
  serve  runs the configuration, then answers hook calls, one JSON object per line, on
         stdin/stdout, until stdin closes (nbhub's long-lived hook helper).

stdin's first line is the context nbhub gives: {"files": [[name, path-or-null, text], ...],
"values": {z2jh values} | null, "dir": the config directory, "initial": [assignments]}.
Secrets can be in it, which is why it comes on a pipe and never on the command line.

The configuration sees a `c` that behaves like traitlets' Config, stand-ins for the modules
hub configurations import (JupyterHub, OAuthenticator, DockerSpawner, KubeSpawner,
traitlets, z2jh), and the real standard library. Nothing of JupyterHub is installed or needed.
Whatever the configuration prints goes to stderr: stdout carries only nbhub's protocol.
"""
import json
import os
import sys
import types

# ---- where an assignment happened -------------------------------------------------------

_CONFIG_FILES = {}  # code filename -> name nbhub uses in messages


def _site():
    """(file, line) of the innermost frame that runs configuration code."""
    f = sys._getframe(1)
    while f is not None:
        name = _CONFIG_FILES.get(f.f_code.co_filename)
        if name is not None:
            return name, f.f_lineno
        f = f.f_back
    return "", 0


# ---- values as JSON ----------------------------------------------------------------------

class Unsupported(Exception):
    pass


def _dotted(cls):
    """A class as its import name; a configuration's own subclass as its nearest stand-in."""
    for k in cls.__mro__:
        if k.__dict__.get("_nbhub_standin"):
            return k.__module__ + "." + k.__name__, (k is not cls)
    return cls.__module__ + "." + cls.__qualname__, False


def encode(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise Unsupported(f"{v!r} is not a number JSON can carry")
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    if isinstance(v, (set, frozenset)):
        items = [encode(x) for x in v]
        try:
            items.sort(key=lambda x: json.dumps(x, sort_keys=True))
        except TypeError:
            pass
        return items
    if isinstance(v, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in v):
            return {k: encode(x) for k, x in v.items()}
        return {"$dict": [[encode(k), encode(x)] for k, x in v.items()]}
    if isinstance(v, LazyValue):
        return encode(v.result())
    if isinstance(v, type):
        name, subclass = _dotted(v)
        out = {"$class": name}
        if subclass:
            out["subclass"] = v.__qualname__
            out["methods"] = sorted({m for k in v.__mro__ if not k.__dict__.get("_nbhub_standin")
                                     and k is not object for m, f in k.__dict__.items()
                                     if callable(f) and not m.startswith("__")})
        return out
    if callable(v):
        code = getattr(v, "__code__", None) or getattr(getattr(v, "__call__", None), "__code__", None)
        return {"$callable": getattr(v, "__qualname__", type(v).__name__),
                "file": _CONFIG_FILES.get(code.co_filename, code.co_filename) if code else "",
                "line": code.co_firstlineno if code else 0}
    if isinstance(v, Section):
        return {k: encode(x) for k, x in v._values.items()}
    raise Unsupported(f"a {type(v).__name__} ({repr(v)[:60]}) is not a value nbhub can read")


def _snapshot(v):
    try:
        return json.dumps(encode(v), sort_keys=True)
    except Unsupported:
        return None


# ---- traitlets' Config -------------------------------------------------------------------

class LazyValue:
    """An unset trait that was .update()d, .append()ed, ...: traitlets' LazyConfigValue. The
    operations are kept, each with its line, and merged into the default by nbhub."""

    def __init__(self, section, trait):
        self._section, self._trait, self.ops = section, trait, []

    def _op(self, op, value):
        self.ops.append((op, value, _site()))
        self._section._lazy[self._trait] = self

    def update(self, other=(), **kw):
        d = dict(other)
        d.update(kw)
        self._op("update", d)

    def append(self, x):
        self._op("append", x)

    def extend(self, xs):
        self._op("extend", list(xs))

    def prepend(self, xs):
        self._op("prepend", list(xs))

    def insert(self, i, x):
        self._op("prepend" if i == 0 else "append", [x] if i == 0 else x)

    def add(self, x):
        self._op("add", x)

    def __iadd__(self, xs):
        self._op("extend", list(xs))
        return self

    def result(self):
        out = None
        for op, v, _ in self.ops:
            if op == "update":
                out = dict(out or {})
                out.update(v)
            elif op in ("append", "add"):
                out = list(out or []) + [v]
            elif op == "extend":
                out = list(out or []) + list(v)
            elif op == "prepend":
                out = list(v) + list(out or [])
        return out

    def __repr__(self):
        return f"<LazyConfigValue {self._section._name}.{self._trait}>"


class Section:
    """c.JupyterHub, c.Spawner, ...: its traits are set, read and modified like attributes."""

    def __init__(self, name):
        d = self.__dict__
        d["_name"], d["_values"], d["_sites"], d["_touches"], d["_lazy"] = name, {}, {}, {}, {}

    def __getattr__(self, trait):
        if trait.startswith("__"):
            raise AttributeError(trait)
        if trait in self._values:
            v = self._values[trait]
            if isinstance(v, (list, dict, set)):
                # In-place changes (c.X.y.append(...) on a value set earlier) are found by
                # comparing with this snapshot at the end.
                self._touches[trait].append((_site(), _snapshot(v)))
            return v
        return self._lazy.get(trait) or LazyValue(self, trait)

    def __setattr__(self, trait, value):
        if isinstance(value, LazyValue) and value._section is self and value._trait == trait:
            return  # `c.X.y += [...]` on an unset trait: already recorded as an extend
        self._values[trait] = value
        self._sites[trait] = _site()
        self._touches[trait] = []
        self._lazy.pop(trait, None)

    __getitem__ = __getattr__
    __setitem__ = __setattr__

    def __contains__(self, trait):
        return trait in self._values or trait in self._lazy

    def get(self, trait, default=None):
        return self._values.get(trait, default)

    def keys(self):
        return list(self._values) + list(self._lazy)

    def update(self, other=(), **kw):
        for k, v in dict(other, **kw).items():
            setattr(self, k, v)

    def __repr__(self):
        return f"<Config section {self._name}>"


class Config:
    """The `c` of jupyterhub_config.py."""

    def __init__(self):
        self.__dict__["_sections"] = {}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        s = self._sections.get(name)
        if s is None:
            s = self._sections[name] = Section(name)
        return s

    def __setattr__(self, name, value):
        if not isinstance(value, (dict, Section, Config)):
            raise TypeError(f"c.{name} must be set trait by trait (c.{name}.trait = value)")
        items = value._values.items() if isinstance(value, Section) else dict(value).items()
        section = getattr(self, name)
        for k, v in items:
            setattr(section, k, v)

    __getitem__ = __getattr__
    __setitem__ = __setattr__

    def __contains__(self, name):
        return name in self._sections

    def merge(self, other):
        for name, sec in (other._sections.items() if isinstance(other, Config) else dict(other).items()):
            setattr(self, name, sec)

    def assignments(self, only_files=None):
        """Each trait's final value with the line that last set or changed it."""
        out = []
        for sname, sec in self._sections.items():
            for trait, value in sec._values.items():
                file, line = sec._sites[trait]
                final = _snapshot(value)
                for where, snap in sec._touches.get(trait, []):
                    if snap != final:
                        file, line = where
                if only_files is not None and file not in only_files:
                    continue
                out.append({"section": sname, "trait": trait, "op": "assign", "file": file,
                            "line": line, "value": value})
            for trait, lazy in sec._lazy.items():
                for op, v, (file, line) in lazy.ops:
                    if only_files is not None and file not in only_files:
                        continue
                    out.append({"section": sname, "trait": trait, "op": op, "file": file,
                                "line": line, "value": v})
        return out


# ---- stand-in modules --------------------------------------------------------------------

class StandIn:
    """Base of the stand-in classes: configurations may subclass them, call nothing of them."""
    _nbhub_standin = True

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _module(name, **attrs):
    m = sys.modules.get(name)
    if m is None:
        m = types.ModuleType(name)
        m.__path__ = []  # a package: submodules import
        m.__nbhub_standin__ = True
        sys.modules[name] = m
        if "." in name:
            parent, _, leaf = name.rpartition(".")
            setattr(_module(parent), leaf, m)
    for k, v in attrs.items():
        setattr(m, k, v)
    return m


def _classes(module, *spec):
    """spec: ("Name", "Base") pairs; Base is looked up among classes made so far."""
    made = {}
    for name, base in spec:
        b = _ALL.get(base, StandIn) if base else StandIn
        cls = type(name, (b,), {"_nbhub_standin": True, "__module__": module})
        _ALL[name] = made[name] = cls
    _module(module, **made)
    return made


_ALL = {}


def _url_path_join(*pieces):
    initial = pieces[0].startswith("/") if pieces else False
    final = pieces[-1].endswith("/") if pieces else False
    s = "/".join(p.strip("/") for p in pieces if p.strip("/"))
    return ("/" if initial else "") + s + ("/" if final and s else "")


def _verdict_allowed(self, username, authentication=None):
    return bool(self.__dict__.get("_nbhub_verdict", {}).get("allowed", True))


async def _verdict_allowed_async(self, username, authentication=None):
    return _verdict_allowed(self, username, authentication)


def _verdict_not_blocked(self, username, authentication=None):
    return not self.__dict__.get("_nbhub_verdict", {}).get("blocked", False)


async def _maybe_future(x):
    if hasattr(x, "__await__"):
        return await x
    return x


def install_stand_ins(ctx):
    _classes("jupyterhub.auth", ("Authenticator", None), ("LocalAuthenticator", "Authenticator"),
             ("PAMAuthenticator", "LocalAuthenticator"), ("DummyAuthenticator", "Authenticator"),
             ("NullAuthenticator", "Authenticator"))
    _classes("jupyterhub.authenticators.shared", ("SharedPasswordAuthenticator", "Authenticator"))
    # The base classes' allow checks answer nbhub's own verdict, so a subclass's
    # check_allowed / check_blocked_users may defer to super() as in JupyterHub.
    _ALL["Authenticator"].check_allowed = _verdict_allowed
    _ALL["Authenticator"].check_blocked_users = _verdict_not_blocked
    _classes("jupyterhub.spawner", ("Spawner", None), ("LocalProcessSpawner", "Spawner"),
             ("SimpleLocalProcessSpawner", "LocalProcessSpawner"))
    _classes("jupyterhub.app", ("JupyterHub", None))
    _classes("jupyterhub.proxy", ("Proxy", None), ("ConfigurableHTTPProxy", "Proxy"))
    _classes("jupyterhub.crypto", ("CryptKeeper", None))
    _classes("jupyterhub.handlers", ("BaseHandler", None))
    _module("jupyterhub.handlers.base", BaseHandler=_ALL["BaseHandler"])
    _module("jupyterhub.utils", url_path_join=_url_path_join, maybe_future=_maybe_future)
    _module("jupyterhub", __version__="5.2.1", version_info=(5, 2, 1))
    _classes("oauthenticator.oauth2", ("OAuthenticator", "Authenticator"),
             ("OAuthLoginHandler", "BaseHandler"), ("OAuthCallbackHandler", "BaseHandler"))
    _ALL["OAuthenticator"].check_allowed = _verdict_allowed_async  # OAuthenticator's is async
    for mod, name in [("generic", "GenericOAuthenticator"), ("github", "GitHubOAuthenticator"),
                      ("gitlab", "GitLabOAuthenticator"), ("google", "GoogleOAuthenticator"),
                      ("cilogon", "CILogonOAuthenticator"), ("azuread", "AzureAdOAuthenticator"),
                      ("auth0", "Auth0OAuthenticator"), ("openshift", "OpenShiftOAuthenticator"),
                      ("bitbucket", "BitbucketOAuthenticator"), ("globus", "GlobusOAuthenticator"),
                      ("mediawiki", "MWOAuthenticator")]:
        cls = _classes("oauthenticator." + mod, (name, "OAuthenticator"))
        _module("oauthenticator", **cls)
    _module("oauthenticator", OAuthenticator=_ALL["OAuthenticator"], __version__="17.1.0")
    _classes("custosauthenticator.custos", ("CustosOAuthenticator", "OAuthenticator"))
    _module("custosauthenticator", CustosOAuthenticator=_ALL["CustosOAuthenticator"])
    _classes("dockerspawner.dockerspawner", ("DockerSpawner", "Spawner"))
    _classes("dockerspawner.swarmspawner", ("SwarmSpawner", "DockerSpawner"))
    _classes("dockerspawner.systemuserspawner", ("SystemUserSpawner", "DockerSpawner"))
    _module("dockerspawner", DockerSpawner=_ALL["DockerSpawner"], SwarmSpawner=_ALL["SwarmSpawner"],
            SystemUserSpawner=_ALL["SystemUserSpawner"])
    _classes("kubespawner.spawner", ("KubeSpawner", "Spawner"))
    _module("kubespawner", KubeSpawner=_ALL["KubeSpawner"])
    _install_kubernetes_models()

    # traitlets: configurations import a few names; the trait types are inert here.
    trait_types = {n: type(n, (StandIn,), {"__module__": "traitlets"}) for n in
                   ["Unicode", "Integer", "Float", "Bool", "List", "Dict", "Set", "Tuple", "Any",
                    "Instance", "Type", "Union", "Callable", "CUnicode", "CInt", "Enum", "CaselessStrEnum"]}
    ident = lambda *a, **k: (lambda f: f)  # noqa: E731  @default("x"), @observe("x"), @validate
    _module("traitlets", default=ident, observe=ident, validate=ident, HasTraits=StandIn, **trait_types)
    _module("traitlets.config", Config=Config, get_config=lambda: _C,
            Configurable=StandIn, LoggingConfigurable=StandIn, SingletonConfigurable=StandIn)

    # z2jh's helpers (the chart's z2jh.py), over the values nbhub read from secret/values.yaml.
    values = ctx.get("values") or {}
    cfg_dir = ctx.get("dir") or "."
    missing = object()

    def get_config(key, default=None):
        v = values
        for part in key.split("."):
            if not isinstance(v, dict) or part not in v:
                return default
            v = v[part]
        return v

    def get_secret_value(key, default="never-explicitly-set"):
        path = os.path.join(cfg_dir, "secret", key)
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            if default != "never-explicitly-set":
                return default
            raise KeyError(f"{key} not found in the secret {path}")

    def _config_value(key):
        try:
            with open(os.path.join(cfg_dir, "config", key)) as f:
                return f.read()
        except OSError:
            return key

    def get_name(name):
        return _config_value(name)

    def get_name_env(name, suffix=""):
        return os.environ[(_config_value(name) + suffix).upper().replace("-", "_")]

    def set_config_if_not_none(cparent, name, key):
        data = get_config(key, missing)
        if data is not missing and data is not None:
            setattr(cparent, name, data)

    _module("z2jh", get_config=get_config, get_secret_value=get_secret_value, get_name=get_name,
            get_name_env=get_name_env, set_config_if_not_none=set_config_if_not_none)


# ---- Kubernetes objects for modify_pod_hook ---------------------------------------------

def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class K8sDict(dict):
    """A pod manifest (or part of one) as KubeSpawner's modify_pod_hook sees a V1Pod:
    attributes in snake_case (pod.spec.node_selector) over the API's camelCase keys, and a
    dict all the same (pod.metadata.labels["x"] = "y"). Unset fields read as None, as in the
    kubernetes client."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        key = name if name in self else _camel(name)
        return self.get(key)

    def __setattr__(self, name, value):
        self[name if name in self else _camel(name)] = _k8s(value)

    def to_dict(self):
        return self


def _k8s(v):
    if isinstance(v, dict) and not isinstance(v, K8sDict):
        return K8sDict((k, _k8s(x)) for k, x in v.items())
    if isinstance(v, list):
        return [_k8s(x) for x in v]
    return v


class _Models(types.ModuleType):
    """kubernetes(_asyncio).client(.models): V1EnvVar(name=..., value=...) and the like make
    K8sDicts with the API's camelCase keys."""

    def __getattr__(self, name):
        if not name[:1] == "V" or not name[1:2].isdigit():
            raise AttributeError(name)

        def model(**kw):
            return K8sDict((_camel(k), _k8s(v)) for k, v in kw.items() if v is not None)
        model.__name__ = name
        return model


def _install_kubernetes_models():
    for root in ("kubernetes", "kubernetes_asyncio"):
        for name in (root, root + ".client", root + ".client.models"):
            if name not in sys.modules:
                m = _Models(name)
                m.__path__ = []
                sys.modules[name] = m
        sys.modules[root].client = sys.modules[root + ".client"]
        sys.modules[root + ".client"].models = sys.modules[root + ".client.models"]


# ---- running the configuration -----------------------------------------------------------

_C = Config()


def _seed(initial):
    """Values set before the Python (z2jh: the chart's own settings), readable by snippets."""
    for a in initial or []:
        sec = getattr(_C, a["section"])
        sec._values[a["trait"]] = _decode(a["value"])
        sec._sites[a["trait"]] = (a.get("file") or "", a.get("line") or 0)
        sec._touches[a["trait"]] = []


def _decode(v):
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if isinstance(v, dict):
        if "$dict" in v:
            return {_decode(k): _decode(x) for k, x in v["$dict"]}
        if "$class" in v:
            return v["$class"]
        return {k: _decode(x) for k, x in v.items()}
    return v


def run_config(ctx):
    install_stand_ins(ctx)
    _seed(ctx.get("initial"))
    for name, path, text in ctx["files"]:
        code_name = path or name
        _CONFIG_FILES[code_name] = name
        if text is None:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        ns = {"c": _C, "get_config": lambda: _C, "__file__": code_name, "__name__": "__main__"}

        def load_subconfig(fname, _dir=os.path.dirname(code_name)):
            p = fname if os.path.isabs(fname) else os.path.join(_dir, fname)
            _CONFIG_FILES[p] = p
            with open(p, encoding="utf-8") as f:
                exec(compile(f.read(), p, "exec"), dict(ns, __file__=p))

        ns["load_subconfig"] = load_subconfig
        exec(compile(text, code_name, "exec"), ns)


def error_document(exc):
    """The exception with the deepest traceback frame in configuration code."""
    file, line = "", 0
    if isinstance(exc, SyntaxError) and exc.filename in _CONFIG_FILES:
        file, line = _CONFIG_FILES[exc.filename], exc.lineno or 0
    tb = exc.__traceback__
    while tb is not None:
        name = _CONFIG_FILES.get(tb.tb_frame.f_code.co_filename)
        if name is not None:
            file, line = name, tb.tb_lineno
        tb = tb.tb_next
    msg = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, SyntaxError):
        msg = f"SyntaxError: {exc.msg}"
    return {"error": {"file": file, "line": line, "message": msg}}


def main_eval(ctx, out):
    try:
        run_config(ctx)
        only = set(n for n, _, _ in ctx["files"]) if ctx.get("initial") else None
        doc = {"assignments": []}
        for a in _C.assignments(only):
            try:
                a["value"] = encode(a["value"])
            except Unsupported as e:
                a["value"] = None
                a["unsupported"] = str(e)
            doc["assignments"].append(a)
    except BaseException as e:  # noqa: B902 - SystemExit in a config is an error too
        doc = error_document(e)
    out.write(json.dumps(doc))
    out.write("\n")
    out.flush()
    return 0 if "error" not in doc else 1


# ---- serve: hook calls -------------------------------------------------------------------

class Group:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<Group {self.name}>"


class User:
    def __init__(self, d, auth_state):
        self.name = d.get("name", "")
        self.admin = bool(d.get("admin", False))
        self.groups = [Group(g) for g in d.get("groups", [])]
        self.escaped_name = self.name
        self._auth_state = auth_state

    async def get_auth_state(self):
        return self._auth_state

    def __repr__(self):
        return f"<User {self.name}>"


class SpawnerStandIn:
    """What hooks get as `spawner`: the spawner's traits from the configuration (its class
    and bases, in traitlets' order), user, name, environment, user_options."""

    def __init__(self, req, auth_state):
        import logging
        self.log = logging.getLogger("nbhub.hook")
        for section in req.get("sections", ["Spawner"]):
            sec = _C._sections.get(section)
            if sec is not None:
                for k, v in sec._values.items():
                    if not callable(v):
                        setattr(self, k, _copy(v))
        self.user = User(req.get("user", {}), auth_state)
        self.name = req.get("server_name", "")
        self.user_options = dict(req.get("user_options") or {})
        env = getattr(self, "environment", None)
        self.environment = dict(env) if isinstance(env, dict) else {}

    def traits(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("log", "user")}


class AuthenticatorStandIn:
    """What authenticator hooks get as `authenticator`: the authenticator class's traits from
    the configuration (non-function ones) and `log`."""

    def __init__(self, sections):
        import logging
        self.log = logging.getLogger("nbhub.hook")
        for section in sections:
            sec = _C._sections.get(section)
            if sec is not None:
                for k, v in sec._values.items():
                    if not callable(v):
                        setattr(self, k, _copy(v))


class Headers(dict):
    """handler.request.headers: looked up without regard to case, as Tornado's."""

    def __init__(self, d):
        super().__init__((str(k).title(), v) for k, v in (d or {}).items())

    def __getitem__(self, k):
        return super().__getitem__(str(k).title())

    def __contains__(self, k):
        return super().__contains__(str(k).title())

    def get(self, k, default=None):
        return super().get(str(k).title(), default)


class RequestStandIn:
    """handler.request: Tornado's HTTPServerRequest attributes a hook reads."""

    def __init__(self, d):
        self.method = d.get("method", "GET")
        self.uri = d.get("uri", "/")
        self.path = d.get("path", "/")
        self.query = self.uri.partition("?")[2]
        self.remote_ip = d.get("remote_ip", "")
        self.host = d.get("host", "")
        self.protocol = d.get("protocol", "http")
        self.headers = Headers(d.get("headers"))

    def full_url(self):
        return f"{self.protocol}://{self.host}{self.uri}"


class HandlerStandIn:
    """What hooks get as `handler`: handler.current_user (a user, or None) and handler.request
    for JupyterHub.default_url and named_server_limit_per_user; post_auth_hook's handler has
    the sign-in provider's name and no request (nbhub signs in outside Tornado)."""

    def __init__(self, provider="", user=None, request=None):
        import logging
        self.provider = provider
        self.log = logging.getLogger("nbhub.hook")
        self.current_user = user
        self.request = RequestStandIn(request) if request is not None else None

    def get_current_user(self):
        return self.current_user


def _authenticator(sections, verdict):
    """The `authenticator` hooks get: an instance of the configuration's own subclass when
    JupyterHub.authenticator_class is one (its methods run), else of the stand-in base; the
    traits from the configuration; nbhub's allow verdict for the base allow checks."""
    hub = _C._sections.get("JupyterHub")
    cls = hub._values.get("authenticator_class") if hub is not None else None
    if not (isinstance(cls, type) and issubclass(cls, _ALL["Authenticator"])):
        cls = _ALL["Authenticator"]
    obj = object.__new__(cls)
    obj.__dict__.update(AuthenticatorStandIn(sections).__dict__)
    obj._nbhub_verdict = verdict
    return obj


async def _access_checks(loop, authenticator, sections, username, authentication):
    """JupyterHub's check_blocked_users then check_allowed: a function given to the trait, or
    the authenticator's method (the subclass's, or the base's answering nbhub's verdict).
    Returns (the name of the check that refused or None, an error message or None)."""
    import inspect
    for method in ("check_blocked_users", "check_allowed"):
        fn = _hook(sections, method)
        try:
            if fn is not None:
                result = await _call(loop, fn, authenticator, username, authentication)
            else:
                result = getattr(authenticator, method)(username, authentication)
                if inspect.isawaitable(result):
                    result = await result
        except (Exception, SystemExit) as e:  # not CancelledError: that is the timeout
            return None, f"{method}: {_hook_error(e)}"
        if not result:
            return method, None
    return None, None


def _copy(v):
    import copy
    return copy.deepcopy(v)


def _hook(section_names, trait):
    for s in reversed(section_names):  # sections come base first; the subclass's wins
        sec = _C._sections.get(s)
        if sec is not None and callable(sec._values.get(trait)):
            return sec._values[trait]
    return None


async def _call(loop, fn, *args):
    import asyncio
    import inspect
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    r = await loop.run_in_executor(None, lambda: fn(*args))
    if inspect.isawaitable(r):
        r = await r
    return r


def _hook_error(e):
    d = error_document(e)["error"]
    where = f" ({d['file']}:{d['line']})" if d["file"] else ""
    return d["message"] + where


async def handle(loop, req):
    """One call. `spawn`: auth_state_hook then pre_spawn_hook, as JupyterHub's User.spawn."""
    kind = req.get("call")
    sections = req.get("sections") or ["Spawner"]
    if kind == "spawn":
        auth_state = req.get("auth_state")
        spawner = SpawnerStandIn(req, auth_state)
        before = _snapshot(spawner.traits())
        before_traits = {k: _snapshot(v) for k, v in spawner.traits().items()}
        env_before = dict(spawner.environment)
        for trait, args in (("auth_state_hook", (spawner, auth_state)), ("pre_spawn_hook", (spawner,))):
            fn = _hook(sections, trait)
            if fn is None:
                continue
            try:
                await _call(loop, fn, *args)
            except (Exception, SystemExit) as e:  # not CancelledError: that is the timeout
                return {"ok": False, "error": f"{trait}: {_hook_error(e)}"}
        # Callable traits read at spawn time: JupyterHub's default_url(spawner) and DockerSpawner's
        # extra_create_kwargs(spawner); what they return is applied like a changed trait.
        computed = {}
        for trait in ("default_url", "extra_create_kwargs"):
            fn = _hook(sections, trait)
            if fn is None:
                continue
            try:
                computed[trait] = await _call(loop, fn, spawner)
            except (Exception, SystemExit) as e:
                return {"ok": False, "error": f"{trait}: {_hook_error(e)}"}
        env = spawner.environment if isinstance(spawner.environment, dict) else {}
        changed = {}
        for k, v in env.items():
            if env_before.get(k) != v or k not in env_before:
                changed[str(k)] = v if isinstance(v, str) else str(v)
        removed = [k for k in env_before if k not in env]
        traits = {}
        if _snapshot(spawner.traits()) != before:
            for k, v in spawner.traits().items():
                if k in ("environment", "user_options", "name"):
                    continue
                if before_traits.get(k) != _snapshot(v):
                    try:
                        traits[k] = encode(v)
                    except Unsupported as e:
                        traits[k] = {"$unsupported": str(e)}
        for k, v in computed.items():
            try:
                traits[k] = encode(v)
            except Unsupported as e:
                return {"ok": False, "error": f"{k}: {e}"}
        return {"ok": True, "environment": changed, "removed": removed,
                "user_options": encode(spawner.user_options), "traits": traits}
    if kind in ("profile_list", "options_form", "post_stop"):
        # profile_list(spawner) and options_form(spawner) at form time; post_stop_hook(spawner)
        # after a stop. The stand-in carries the same attributes as for pre_spawn_hook.
        trait = {"post_stop": "post_stop_hook"}.get(kind, kind)
        fn = _hook(sections, trait)
        if fn is None:
            return {"ok": False, "error": f"no {trait} function is configured"}
        spawner = SpawnerStandIn(req, req.get("auth_state"))
        try:
            result = await _call(loop, fn, spawner)
        except (Exception, SystemExit) as e:
            return {"ok": False, "error": f"{trait}: {_hook_error(e)}"}
        if kind == "post_stop":
            return {"ok": True}
        if kind == "options_form":
            if result is None:
                result = ""
            if not isinstance(result, str):
                return {"ok": False, "error": f"options_form returned {type(result).__name__}, not a string of HTML"}
            return {"ok": True, "form": result}
        try:
            return {"ok": True, "profile_list": encode(result if result is not None else [])}
        except Unsupported as e:
            return {"ok": False, "error": f"profile_list: {e}"}
    if kind == "options_from_form":
        # JupyterHub's run_options_from_form: (formdata) or (formdata, spawner=spawner).
        import inspect
        fn = _hook(sections, "options_from_form")
        if fn is None:
            return {"ok": False, "error": "no options_from_form function is configured"}
        formdata = {k: list(v) for k, v in (req.get("formdata") or {}).items()}
        spawner = SpawnerStandIn(req, req.get("auth_state"))
        try:
            takes_spawner = "spawner" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            takes_spawner = False
        try:
            if takes_spawner:
                result = await _call(loop, lambda f: fn(f, spawner=spawner), formdata)
            else:
                result = await _call(loop, fn, formdata)
        except (Exception, SystemExit) as e:
            return {"ok": False, "error": f"options_from_form: {_hook_error(e)}"}
        if not isinstance(result, dict):
            return {"ok": False, "error": f"options_from_form returned {type(result).__name__}, not a dict"}
        try:
            return {"ok": True, "user_options": encode(result)}
        except Unsupported as e:
            return {"ok": False, "error": f"options_from_form: {e}"}
    if kind == "modify_pod":
        fn = _hook(sections, "modify_pod_hook")
        if fn is None:
            return {"ok": False, "error": "no modify_pod_hook function is configured"}
        spawner = SpawnerStandIn(req, req.get("auth_state"))
        pod = _k8s(req.get("pod") or {})
        try:
            result = await _call(loop, fn, spawner, pod)
        except (Exception, SystemExit) as e:
            return {"ok": False, "error": f"modify_pod_hook: {_hook_error(e)}"}
        if result is None:
            return {"ok": False, "error": "modify_pod_hook returned None; it must return the pod"}
        try:
            return {"ok": True, "pod": encode(result)}
        except Unsupported as e:
            return {"ok": False, "error": f"modify_pod_hook: {e}"}
    if kind == "username_claim":
        # OAuthenticator 16's callable username_claim(user_info) -> str.
        fn = _hook(sections, "username_claim")
        if fn is None:
            return {"ok": False, "error": "no username_claim function is configured"}
        try:
            name = await _call(loop, fn, dict(req.get("user_info") or {}))
        except (Exception, SystemExit) as e:
            return {"ok": False, "error": f"username_claim: {_hook_error(e)}"}
        if not isinstance(name, str) or not name:
            return {"ok": False, "error": f"username_claim returned {type(name).__name__} {name!r:.40}, not a name"}
        return {"ok": True, "username": name}
    if kind == "post_auth":
        # OAuthenticator's modify_auth_state_hook(authenticator, auth_state) -> auth_state, then
        # Authenticator.post_auth_hook(authenticator, handler, authentication) -> dict or None.
        # JupyterHub's order: (OAuthenticator's authenticate, with modify_auth_state_hook),
        # check_blocked_users, check_allowed, post_auth_hook.
        authenticator = _authenticator(sections, req.get("verdict") or {})
        handler = HandlerStandIn(provider=req.get("provider", ""))
        authentication = dict(req.get("authentication") or {})
        fn = _hook(sections, "modify_auth_state_hook")
        if fn is not None:
            try:
                authentication["auth_state"] = await _call(loop, fn, authenticator, authentication.get("auth_state"))
            except (Exception, SystemExit) as e:
                return {"ok": False, "error": f"modify_auth_state_hook: {_hook_error(e)}"}
        refused_by, error = await _access_checks(loop, authenticator, sections, authentication.get("name", ""),
                                                 authentication)
        if error:
            return {"ok": False, "error": error}
        if refused_by:
            return {"ok": True, "refused": True, "refused_by": refused_by}
        fn = _hook(sections, "post_auth_hook")
        if fn is not None:
            try:
                result = await _call(loop, fn, authenticator, handler, authentication)
            except (Exception, SystemExit) as e:
                return {"ok": False, "error": f"post_auth_hook: {_hook_error(e)}"}
            if result is None:
                return {"ok": True, "refused": True, "refused_by": "post_auth_hook"}
            if not isinstance(result, dict) or not isinstance(result.get("name"), str):
                return {"ok": False, "error": "post_auth_hook must return the authentication dict (with its name) or None"}
            authentication = result
        try:
            return {"ok": True, "authentication": encode(authentication)}
        except Unsupported as e:
            return {"ok": False, "error": f"post_auth_hook: {e}"}
    if kind == "handler":
        # JupyterHub.default_url(handler) and named_server_limit_per_user(handler), per request.
        trait = req.get("trait")
        if trait not in ("default_url", "named_server_limit_per_user"):
            return {"ok": False, "error": f"JupyterHub.{trait} is not a handler hook"}
        fn = _hook(["JupyterHub"], trait)
        if fn is None:
            return {"ok": False, "error": f"no JupyterHub.{trait} function is configured"}
        user = User(req["user"], req.get("auth_state")) if req.get("user") else None
        handler = HandlerStandIn(user=user, request=req.get("request") or {})
        try:
            value = await _call(loop, fn, handler)
        except (Exception, SystemExit) as e:
            return {"ok": False, "error": f"JupyterHub.{trait}: {_hook_error(e)}"}
        if trait == "default_url":
            if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
                return {"ok": False, "error": f"JupyterHub.default_url returned {value!r:.60}, "
                                              "not a path on this hub such as '/hub/home'"}
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return {"ok": False, "error": f"JupyterHub.named_server_limit_per_user returned {value!r:.60}, "
                                          "not a whole number >= 0"}
        return {"ok": True, "value": value}
    if kind == "ping":
        return {"ok": True, "pid": os.getpid()}
    return {"ok": False, "error": f"unknown call {kind!r}"}


def main_serve(ctx, out):
    import asyncio
    import threading

    try:
        run_config(ctx)
    except BaseException as e:  # noqa: B902
        out.write(json.dumps(error_document(e)) + "\n")
        out.flush()
        return 1
    out.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    out.flush()
    timeout = float(ctx.get("timeout") or 10)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    done = loop.create_future()

    def reply(rid, doc):
        doc["id"] = rid
        out.write(json.dumps(doc) + "\n")
        out.flush()

    async def one(line):
        try:
            req = json.loads(line)
        except ValueError:
            return
        rid = req.get("id")
        try:
            doc = await asyncio.wait_for(handle(loop, req), timeout)
        except asyncio.TimeoutError:
            doc = {"ok": False, "error": f"the hook did not finish within {timeout:g} s "
                                         "(python.hook_timeout_seconds)"}
        except (Exception, SystemExit) as e:
            doc = {"ok": False, "error": _hook_error(e)}
        reply(rid, doc)

    def reader():
        for line in sys.stdin:
            loop.call_soon_threadsafe(lambda l=line: loop.create_task(one(l)))
        loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))

    threading.Thread(target=reader, daemon=True).start()
    loop.run_until_complete(done)
    return 0


def main():
    # The protocol gets its own copy of stdout; print() in the configuration goes to stderr.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    ctx = json.loads(sys.stdin.readline() or "{}")
    if ctx.get("dir"):
        sys.path.insert(0, ctx["dir"])
    mode = sys.argv[1] if len(sys.argv) > 1 else "eval"
    code = main_serve(ctx, out) if mode == "serve" else main_eval(ctx, out)
    out.close()
    os._exit(code)  # skip waiting for hook threads still sleeping


if __name__ == "__main__":
    main()
