"""The resources this fake serves, and the discovery documents built from them (spec §3.1, §3.5)."""

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class Resource:
    def __init__(self, group, version, plural, kind, namespaced=True, short=(), singular=None, verbs=ALL_VERBS):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced = namespaced
        self.short = list(short)
        self.singular = singular or kind.lower()
        self.verbs = list(verbs)

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self):
        """Storage key prefix: group/plural (core group empty)."""
        return f"{self.group}/{self.plural}"


RESOURCES = [
    Resource("", "v1", "pods", "Pod", short=["po"]),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=["pvc"]),
    Resource("", "v1", "events", "Event", short=["ev"]),
    Resource("", "v1", "secrets", "Secret"),
    Resource("", "v1", "services", "Service", short=["svc"],
             verbs=["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]),
    Resource("", "v1", "configmaps", "ConfigMap", short=["cm"]),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", short=["sa"]),
    Resource("", "v1", "endpoints", "Endpoints", short=["ep"]),
    Resource("", "v1", "namespaces", "Namespace", namespaced=False, short=["ns"],
             verbs=["create", "delete", "get", "list", "patch", "update", "watch"]),
    Resource("", "v1", "nodes", "Node", namespaced=False, short=["no"]),
    Resource("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False, short=["pv"]),
    Resource("apps", "v1", "deployments", "Deployment", short=["deploy"]),
    Resource("apps", "v1", "statefulsets", "StatefulSet", short=["sts"]),
    Resource("apps", "v1", "daemonsets", "DaemonSet", short=["ds"]),
    Resource("apps", "v1", "replicasets", "ReplicaSet", short=["rs"]),
    Resource("batch", "v1", "jobs", "Job"),
    Resource("batch", "v1", "cronjobs", "CronJob", short=["cj"]),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False),
    Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short=["pdb"]),
    Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short=["netpol"]),
    Resource("networking.k8s.io", "v1", "ingresses", "Ingress", short=["ing"]),
    Resource("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", namespaced=False, short=["pc"]),
]

# Subresources listed in discovery (served: pods/status, pods/log, <any>/status).
SUBRESOURCES = {("", "pods"): ["status", "log"], ("", "persistentvolumeclaims"): ["status"],
                ("", "services"): ["status"], ("", "namespaces"): ["status"]}

BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}


def groups():
    out = {}
    for r in RESOURCES:
        if r.group:
            out.setdefault(r.group, []).append(r.version)
    return {g: sorted(set(v)) for g, v in out.items()}


def api_versions(host):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}


def api_group_list():
    gl = []
    for g, versions in groups().items():
        vs = [{"groupVersion": f"{g}/{v}", "version": v} for v in versions]
        gl.append({"name": g, "versions": vs, "preferredVersion": vs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": gl}


def api_group(group):
    versions = groups().get(group)
    if not versions:
        return None
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": vs, "preferredVersion": vs[0]}


def resource_list(group, version):
    rs = [r for r in RESOURCES if r.group == group and r.version == version]
    if not rs:
        return None
    out = []
    for r in rs:
        out.append({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                    "verbs": r.verbs, **({"shortNames": r.short} if r.short else {})})
        for sub in SUBRESOURCES.get((r.group, r.plural), []):
            out.append({"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                        "kind": r.kind, "verbs": ["get"] if sub == "log" else ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": out}


VERSION = {"major": "1", "minor": "35", "gitVersion": "v1.35.0-nbhub-fake", "gitCommit": "0" * 40,
           "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25.0",
           "compiler": "gc", "platform": "linux/amd64"}
