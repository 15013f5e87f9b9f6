"""A zero-to-jupyterhub hub pod laid out on the local disk, from `helm template` output.

`Z2jhPod(docs, root)` takes the rendered objects and writes what the hub container would see,
under `root` instead of `/` (ConfigMap `hub` -> /usr/local/etc/jupyterhub/jupyterhub_config.py,
z2jh.py and config/*; Secret `hub` -> secret/*; the PVC mount /srv/jupyterhub as an empty
directory), following the Deployment's volumeMounts. `env(...)` is the container's environment
with valueFrom (fieldRef, secretKeyRef, configMapKeyRef) resolved, plus the kubelet's service-link
variables for every rendered Service. `command()` is the container's args with the mount paths
moved under `root`; `workdir` is the image's WORKDIR (/srv/jupyterhub) under `root`.
"""
import base64
import os

CONFIG_DIR = "/usr/local/etc/jupyterhub"
WORKDIR = "/srv/jupyterhub"


def by_kind_name(docs):
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


class Z2jhPod:
    def __init__(self, docs, root, namespace="jhub"):
        self.objects = by_kind_name(docs)
        self.docs = docs
        self.root = root
        self.namespace = namespace
        self.deployment = self.objects[("Deployment", "hub")]
        self.spec = self.deployment["spec"]["template"]["spec"]
        self.container = next(c for c in self.spec["containers"] if c["name"] == "hub")
        self.workdir = self.path(WORKDIR)
        self._layout()

    def path(self, absolute):
        return os.path.join(self.root, absolute.lstrip("/"))

    def config_map(self, name):
        cm = self.objects.get(("ConfigMap", name))
        return dict(cm.get("data") or {}) if cm else None

    def secret(self, name):
        s = self.objects.get(("Secret", name))
        if s is None:
            return None
        out = {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}
        out.update(s.get("stringData") or {})
        return out

    def _layout(self):
        volumes = {v["name"]: v for v in self.spec.get("volumes", [])}
        for m in self.container.get("volumeMounts", []):
            v = volumes[m["name"]]
            target = self.path(m["mountPath"])
            if "configMap" in v or "secret" in v:
                files = (self.config_map(v["configMap"]["name"]) if "configMap" in v
                         else self.secret(v["secret"]["secretName"]))
                if files is None:  # an optional source that was not rendered (existingSecret)
                    continue
                items = (v.get("configMap") or v.get("secret")).get("items")
                if items:
                    files = {i["path"]: files[i["key"]] for i in items}
                if m.get("subPath"):
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "w") as f:
                        f.write(files[m["subPath"]])
                else:
                    for k, text in files.items():
                        p = os.path.join(target, k)
                        os.makedirs(os.path.dirname(p), exist_ok=True)
                        with open(p, "w") as f:
                            f.write(text)
            else:  # persistentVolumeClaim, emptyDir
                os.makedirs(target, exist_ok=True)
        os.makedirs(self.workdir, exist_ok=True)

    def service_links(self, ports=None):
        """The kubelet's variables for every rendered Service (host 127.0.0.1 here); `ports`
        overrides a Service's port (the test's free ports)."""
        env = {}
        for (kind, name), svc in self.objects.items():
            if kind != "Service":
                continue
            n = name.upper().replace("-", "_")
            port = (ports or {}).get(name, svc["spec"]["ports"][0]["port"])
            env[f"{n}_SERVICE_HOST"] = "127.0.0.1"
            env[f"{n}_SERVICE_PORT"] = str(port)
            for p in svc["spec"]["ports"]:
                if p.get("name"):
                    env[f"{n}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(
                        (ports or {}).get(name, p["port"]))
        return env

    def env(self, ports=None):
        env = self.service_links(ports)
        for e in self.container.get("env", []):
            if "value" in e:
                env[e["name"]] = str(e["value"])
                continue
            src = e["valueFrom"]
            if "fieldRef" in src:
                field = src["fieldRef"]["fieldPath"]
                env[e["name"]] = {"metadata.namespace": self.namespace, "metadata.name": "hub-0",
                                  "status.podIP": "127.0.0.1"}[field]
            elif "secretKeyRef" in src:
                ref = src["secretKeyRef"]
                env[e["name"]] = self.secret(ref["name"])[ref["key"]]
            elif "configMapKeyRef" in src:
                ref = src["configMapKeyRef"]
                env[e["name"]] = self.config_map(ref["name"])[ref["key"]]
        return env

    def command(self):
        """The container's args (the chart sets no command: the image's entrypoint runs them),
        absolute mount paths moved under root."""
        args = list(self.container.get("command", [])) + list(self.container.get("args", []))
        return [self.path(a) if a.startswith((CONFIG_DIR, WORKDIR)) else a for a in args]
