"""nbhub with spawner.kind = "kubernetes" against the fake API server (tests/k8s/fakekube).

`KubeRig()` starts the fake (z2jh hub Role enforced for the service-account token, an admin
token for the test itself, optional TLS), lays out the pod's service-account files and gives
the environment nbhub reads in a pod. `hub_toml(issuer, options)` is nbhub's config.
"""
import json
import os
import shutil
import sys
import tempfile
import time
import unittest
import urllib.request

TESTS_DIR = os.environ.get("NBHUB_TESTS_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(TESTS_DIR, "k8s"))
from fakekube import FakeKube, make_test_cert  # noqa: E402
from fakekube.server import Z2JH_HUB_ROLE  # noqa: E402

SA_TOKEN = "hub-sa-token-1"
ADMIN = "test-admin-token"
ALLOWED_VERBS = {"get", "list", "watch", "create", "delete"}


class KubeRig:
    def __init__(self, tls=True, **fake_args):
        self.dir = tempfile.mkdtemp(prefix="nbhub-kube-")
        os.chmod(self.dir, 0o711)  # pods run as uid 1000 and must reach their HOME below it
        self.token_file = os.path.join(self.dir, "tokens")
        with open(self.token_file, "w") as f:
            f.write(SA_TOKEN + "\n")
        tls_pair = make_test_cert(self.dir) if tls else None
        args = dict(namespaces=["jhub"], token_file=self.token_file, admin_token=ADMIN, grace_scale=0.05,
                    bookmark_interval=1.0,
                    rbac={"user": "system:serviceaccount:jhub:hub", "namespace": "jhub", "rules": Z2JH_HUB_ROLE},
                    tls=tls_pair, workdir=os.path.join(self.dir, "pods"))
        args.update(fake_args)
        self.fake = FakeKube(**args).start()
        self.sa_dir = os.path.join(self.dir, "serviceaccount")
        self.env = dict(self.fake.in_cluster(self.sa_dir, SA_TOKEN, "jhub"),
                        NBHUB_K8S_SERVICE_ACCOUNT_DIR=self.sa_dir)

    def close(self):
        self.fake.stop()

    def rotate_token(self, new):
        """The kubelet's rotation: the file in the pod changes, the API accepts only the new token."""
        with open(os.path.join(self.sa_dir, "token"), "w") as f:
            f.write(new)
        with open(self.token_file, "w") as f:
            f.write(new + "\n")

    def api(self, method, path, body=None):
        """A call with the admin token (the test's own view of the cluster)."""
        req = urllib.request.Request(self.fake.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": "Bearer " + ADMIN, "Content-Type": "application/json"})
        ctx = None
        if self.fake.url.startswith("https"):
            import ssl
            ctx = ssl._create_unverified_context()
        try:
            with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def pod(self, name, ns="jhub"):
        code, body = self.api("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
        return body if code == 200 else None

    def wait_pod_gone(self, name, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.pod(name) is None:
                return True
            time.sleep(0.1)
        return False

    def hub_requests(self, since=0):
        """Requests made with the hub's service-account identity."""
        return [r for r in self.fake.requests(since=since) if r.get("user") == "system:serviceaccount:jhub:hub"]


def hub_toml(issuer, options, spawner_extra="", hub_port=0):
    """nbhub's config. Pods keep the hub API URL they were started with, so tests that restart
    nbhub and then need a server to reach the hub give a fixed `hub_port`."""
    opts = "\n".join(f'"{k}" = {json.dumps(v) if isinstance(v, str) else json.dumps(json.dumps(v))}'
                     for k, v in options.items())
    return f"""
ip = "127.0.0.1"
port = 0
hub_bind_url = "http://127.0.0.1:{hub_port}"
db_url = "sqlite:///nbhub.sqlite"
log_level = "debug"
[auth]
allowed_users = ["alice", "bob"]
[[auth.providers]]
name = "idp"
kind = "oidc"
issuer = "{issuer}"
client_id = "nbhub-test"
client_secret = "nbhub-test-secret"
[spawner]
kind = "kubernetes"
{spawner_extra}
[spawner.options]
{opts}
"""


BASE_OPTIONS = {
    "KubeSpawner.namespace": "jhub",
    "KubeSpawner.image": "quay.io/jupyterhub/k8s-singleuser-sample:4.4.0",
    "KubeSpawner.uid": "1000",
    "KubeSpawner.fs_gid": "100",
    "KubeSpawner.extra_labels": {"hub.jupyter.org/network-access-hub": "true"},
    "KubeSpawner.watch_stall_timeout": "5",
}


class KubeHubTest(unittest.TestCase):
    """A test with the fake API server (`self.rig`), the test IdP (`self.idp`) and nbhub started
    by `self.hub(options, extra)` in one work dir, with a fixed hub API port: pods keep the hub
    API URL they were started with across nbhub restarts."""

    def setUp(self):
        from harness.idp import TestIdp
        from harness.session import free_port
        self.rig = KubeRig()
        self.addCleanup(self.rig.close)
        self.idp = TestIdp("generic")
        self.idp.start()
        self.addCleanup(self.idp.stop)
        self.workdir = tempfile.mkdtemp(prefix="nbhub-kube-hub-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.hub_port = free_port()

    def hub(self, options=None, extra="", env=None):
        from harness.hub import Hub
        opts = {k: v for k, v in dict(BASE_OPTIONS, **(options or {})).items() if v is not None}  # None: drop
        h = Hub(hub_toml(self.idp.issuer, opts, extra, self.hub_port), env=env or self.rig.env, workdir=self.workdir)
        h.start()
        self.addCleanup(h.stop, False)
        return h

    def assert_role_only(self, since=0):
        """No verb outside z2jh's hub Role and nothing the Role refused; returns the requests."""
        reqs = self.rig.hub_requests(since)
        verbs = {r["verb"] for r in reqs}
        self.assertTrue(verbs <= ALLOWED_VERBS, f"verbs outside z2jh's hub Role: {verbs - ALLOWED_VERBS}")
        self.assertFalse([r for r in reqs if r["code"] == 403 and r.get("fault") is None], "a request the Role refused")
        return reqs
