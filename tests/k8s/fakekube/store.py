"""Object storage with one global resourceVersion counter and a bounded event history.

Every change gets the next resourceVersion and lands in the history window that watches resume
from; a watch or an Exact list older than the window gets 410 Expired, as from a compacted etcd.
"""
import collections
import copy
import datetime
import re
import threading
import time
import uuid

from . import status as st
from .catalog import BY_PATH

Change = collections.namedtuple("Change", "rv rkey type ns name obj prev")

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                   "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
LABEL_NAMED_KINDS = {"namespaces", "services"}   # names that must be DNS-1123 labels (<= 63)


def now_rfc3339(t=None):
    t = time.time() if t is None else t
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro(t=None):
    t = time.time() if t is None else t
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(s):
    return datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def _validate(res, obj, name):
    causes = []
    meta = obj.get("metadata") or {}
    if res.plural in LABEL_NAMED_KINDS:
        if len(name) > 63 or not DNS_LABEL.fullmatch(name):
            causes.append(("metadata.name", "FieldValueInvalid",
                           f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of lower case '
                           "alphanumeric characters or '-', and must start and end with an alphanumeric character"))
    elif len(name) > 253 or not DNS_SUBDOMAIN.fullmatch(name):
        causes.append(("metadata.name", "FieldValueInvalid",
                       f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
                       "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"))
    for k, v in (meta.get("labels") or {}).items():
        prefix, _, lname = k.rpartition("/")
        if (prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.fullmatch(prefix))) or len(lname) > 63 \
                or not LABEL_NAME.fullmatch(lname):
            causes.append(("metadata.labels", "FieldValueInvalid", f'Invalid value: "{k}": name part must consist '
                           "of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                           "character"))
        if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.fullmatch(v):
            causes.append(("metadata.labels", "FieldValueInvalid",
                           f'Invalid value: "{v}": ' + ("must be no more than 63 characters"
                                                        if isinstance(v, str) and len(v) > 63 else LABEL_VALUE_MSG)))
    for k, v in (meta.get("annotations") or {}).items():
        if not isinstance(v, str):
            causes.append(("metadata.annotations", "FieldValueInvalid", f'Invalid value: "{k}": must be a string'))
    if res.plural == "pods":
        spec = obj.get("spec") or {}
        cs = spec.get("containers")
        if not cs:
            causes.append(("spec.containers", "FieldValueRequired", "Required value"))
        for i, c in enumerate(cs or []):
            cname = c.get("name", "")
            if not cname:
                causes.append((f"spec.containers[{i}].name", "FieldValueRequired", "Required value"))
            elif len(cname) > 63 or not DNS_LABEL.fullmatch(cname):
                causes.append((f"spec.containers[{i}].name", "FieldValueInvalid", f'Invalid value: "{cname}": '
                               "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"))
            if not c.get("image"):
                causes.append((f"spec.containers[{i}].image", "FieldValueRequired", "Required value"))
        host = spec.get("hostname")
        if host and (len(host) > 63 or not DNS_LABEL.fullmatch(host)):
            causes.append(("spec.hostname", "FieldValueInvalid", f'Invalid value: "{host}": must be no more than 63 '
                           "characters and a lowercase RFC 1123 label"))
    if causes:
        raise st.invalid(res.kind, name, causes)


class Store:
    def __init__(self, history_window=5000):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 1000
        self.objects = {}                    # (rkey, ns, name) -> stored object
        self.history = collections.deque()   # Change, oldest first
        self.window = history_window
        self.compacted = self.rv             # a watch/list from an rv below this gets 410
        self.listeners = []                  # fn(change), called under the lock; must not block
        self.graceful = None                 # fn(res, obj): the kubelet's hook for pods being deleted
        self.grace_scale = 1.0               # test time scale for grace periods without a kubelet
        self.cluster_ip = 0

    # ---- helpers -----------------------------------------------------------------------
    def _commit(self, res, typ, ns, name, obj, prev):
        ch = Change(self.rv, res.key, typ, ns, name, copy.deepcopy(obj), prev)
        self.history.append(ch)
        while len(self.history) > self.window:
            self.compacted = self.history.popleft().rv
        for fn in list(self.listeners):
            fn(ch)
        self.cond.notify_all()

    def _bump(self, obj):
        self.rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)

    def current_rv(self):
        with self.lock:
            return self.rv

    def compact(self):
        """Forgets the history: every watch resumed from an older rv now gets 410."""
        with self.lock:
            self.history.clear()
            self.compacted = self.rv

    def changes_since(self, rv):
        """Changes with resourceVersion > rv, oldest first; 410 when they were compacted away."""
        with self.lock:
            if rv < self.compacted:
                raise st.expired(rv, self.compacted + 1)
            return [c for c in self.history if c.rv > rv]

    def namespace_exists(self, ns):
        return ("/namespaces", "", ns) in self.objects

    # ---- verbs ---------------------------------------------------------------------------
    def create(self, res, ns, body, internal=False):
        with self.lock:
            obj = copy.deepcopy(body)
            meta = obj.setdefault("metadata", {})
            if res.namespaced:
                if meta.get("namespace") not in (None, "", ns):
                    raise st.bad_request("the namespace of the provided object does not match the namespace sent "
                                         "on the request")
                meta["namespace"] = ns
                if not self.namespace_exists(ns):
                    raise st.not_found("namespaces", ns)
            else:
                meta.pop("namespace", None)
                ns = ""
            name = meta.get("name")
            if not name and meta.get("generateName"):
                name = meta["generateName"] + uuid.uuid4().hex[:5]
                meta["name"] = name
            if not name:
                raise st.invalid(res.kind, "", [("metadata.name", "FieldValueRequired",
                                                  "Required value: name or generateName is required")])
            if body.get("kind") not in (None, res.kind):
                raise st.bad_request(f'the API version in the data ({body.get("apiVersion")}) does not match the '
                                     f'expected API version ({res.api_version})' if body.get("apiVersion") not in
                                     (None, res.api_version) else f'kind {body.get("kind")} does not match {res.kind}')
            if not internal:
                _validate(res, obj, name)
            key = (res.key, ns, name)
            if key in self.objects:
                raise st.already_exists(res.plural, name, res.group)
            obj["kind"], obj["apiVersion"] = res.kind, res.api_version
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta.pop("deletionTimestamp", None)
            meta.pop("deletionGracePeriodSeconds", None)
            if "generation" not in meta and res.plural not in ("pods", "events", "namespaces", "secrets",
                                                               "configmaps"):
                meta["generation"] = 1
            self._defaults(res, obj)
            self._bump(obj)
            self.objects[key] = obj
            self._commit(res, "ADDED", ns, name, obj, None)
            return copy.deepcopy(obj)

    def _defaults(self, res, obj):
        spec = obj.get("spec")
        if res.plural == "pods":
            spec.setdefault("restartPolicy", "Always")
            spec.setdefault("terminationGracePeriodSeconds", 30)
            spec.setdefault("dnsPolicy", "ClusterFirst")
            spec.setdefault("schedulerName", "default-scheduler")
            for c in spec.get("containers", []):
                c.setdefault("terminationMessagePath", "/dev/termination-log")
                c.setdefault("imagePullPolicy", "Always" if c.get("image", "").endswith(":latest")
                             or ":" not in c.get("image", "") else "IfNotPresent")
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif res.plural == "persistentvolumeclaims":
            obj.setdefault("status", {"phase": "Pending"})
        elif res.plural == "namespaces":
            obj["status"] = {"phase": "Active"}
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        elif res.plural == "services":
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            if spec.get("clusterIP") not in ("None",) and not spec.get("clusterIP"):
                self.cluster_ip += 1
                spec["clusterIP"] = f"10.96.{self.cluster_ip // 250}.{self.cluster_ip % 250 + 1}"
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            obj.setdefault("status", {"loadBalancer": {}})
        elif res.plural == "secrets":
            obj.setdefault("type", "Opaque")

    def get(self, res, ns, name):
        with self.lock:
            obj = self.objects.get((res.key, ns if res.namespaced else "", name))
            if obj is None:
                raise st.not_found(res.plural, name, res.group)
            return copy.deepcopy(obj)

    def find(self, res, ns, name):
        with self.lock:
            o = self.objects.get((res.key, ns if res.namespaced else "", name))
            return copy.deepcopy(o) if o is not None else None

    def snapshot(self, res, ns, at_rv=None):
        """Objects of one resource (one namespace, or all with ns None) sorted by key, as of at_rv."""
        with self.lock:
            objs = {k: v for k, v in self.objects.items() if k[0] == res.key and (ns is None or k[1] == ns)}
            if at_rv is not None and at_rv < self.rv:
                if at_rv < self.compacted:
                    raise st.expired(at_rv, self.compacted + 1)
                for ch in reversed(self.history):
                    if ch.rv <= at_rv:
                        break
                    if ch.rkey != res.key or (ns is not None and ch.ns != ns):
                        continue
                    k = (ch.rkey, ch.ns, ch.name)
                    if ch.prev is None:
                        objs.pop(k, None)
                    else:
                        objs[k] = ch.prev
            rv = self.rv if at_rv is None else min(at_rv, self.rv)
            return [copy.deepcopy(objs[k]) for k in sorted(objs)], rv

    def replace(self, res, ns, name, body, subresource=None):
        """PUT: the whole object (or only .status for the status subresource)."""
        with self.lock:
            key = (res.key, ns if res.namespaced else "", name)
            cur = self.objects.get(key)
            if cur is None:
                raise st.not_found(res.plural, name, res.group)
            want_rv = (body.get("metadata") or {}).get("resourceVersion")
            if want_rv and want_rv != cur["metadata"]["resourceVersion"]:
                raise st.conflict(res.plural, name)
            if (body.get("metadata") or {}).get("name", name) != name:
                raise st.bad_request("the name of the object does not match the name on the URL")
            if subresource == "status":
                new = copy.deepcopy(cur)
                new["status"] = copy.deepcopy(body.get("status"))
            else:
                new = copy.deepcopy(body)
                new.setdefault("metadata", {})
                for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace"):
                    if k in cur["metadata"]:
                        new["metadata"][k] = cur["metadata"][k]
                new["kind"], new["apiVersion"] = res.kind, res.api_version
                if "status" in cur:
                    new["status"] = cur["status"]
                _validate(res, new, name)
            return self._store_update(res, key, cur, new)

    def _store_update(self, res, key, cur, new):
        new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
        if new == cur:
            return copy.deepcopy(cur)          # a no-op update keeps the resourceVersion, as the real server
        if res.plural not in ("pods", "events") and new.get("spec") != cur.get("spec") and "generation" in cur["metadata"]:
            new["metadata"]["generation"] = cur["metadata"]["generation"] + 1
        self._bump(new)
        self.objects[key] = new
        self._commit(res, "MODIFIED", key[1], key[2], new, copy.deepcopy(cur))
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers") \
                and cur["metadata"].get("finalizers"):
            self._remove(res, key)
        return copy.deepcopy(new)

    def mutate(self, res, ns, name, fn, expect_uid=None):
        """Applies fn to a copy of the object and stores the result if it changed (PATCH, kubelet)."""
        with self.lock:
            key = (res.key, ns if res.namespaced else "", name)
            cur = self.objects.get(key)
            if cur is None or (expect_uid and cur["metadata"]["uid"] != expect_uid):
                raise st.not_found(res.plural, name, res.group)
            new = copy.deepcopy(cur)
            new = fn(new) or new
            for k in ("uid", "creationTimestamp", "namespace", "name"):
                if k in cur["metadata"]:
                    new.setdefault("metadata", {})[k] = cur["metadata"][k]
            new["kind"], new["apiVersion"] = res.kind, res.api_version
            return self._store_update(res, key, cur, new)

    def delete(self, res, ns, name, grace=None, preconditions=None, dry_run=False):
        with self.lock:
            key = (res.key, ns if res.namespaced else "", name)
            cur = self.objects.get(key)
            if cur is None:
                raise st.not_found(res.plural, name, res.group)
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != cur["metadata"]["uid"]:
                raise st.conflict(res.plural, name, f'Precondition failed: UID in precondition: {pre["uid"]}, '
                                  f'UID in object meta: {cur["metadata"]["uid"]}')
            if pre.get("resourceVersion") and pre["resourceVersion"] != cur["metadata"]["resourceVersion"]:
                raise st.conflict(res.plural, name, "Precondition failed: resourceVersion")
            if dry_run:
                return copy.deepcopy(cur)
            if res.plural == "pods":
                if grace is None:
                    grace = cur["spec"].get("terminationGracePeriodSeconds", 30)
                # Real behaviour: a pod never bound to a node, or already finished, goes at once.
                if not cur["spec"].get("nodeName") or cur.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                    grace = 0
                old_grace = cur["metadata"].get("deletionGracePeriodSeconds")
                if grace > 0 and (old_grace is None or grace < old_grace):
                    new = copy.deepcopy(cur)
                    new["metadata"]["deletionTimestamp"] = now_rfc3339(time.time() + grace)
                    new["metadata"]["deletionGracePeriodSeconds"] = grace
                    out = self._store_update(res, key, cur, new)
                    if self.graceful:
                        self.graceful(res, out)
                    else:
                        self._timer(grace * self.grace_scale, res, key, out["metadata"]["uid"])
                    return out
                if grace > 0:
                    return copy.deepcopy(cur)           # already terminating with a shorter grace
                return self._remove(res, key)
            if cur["metadata"].get("finalizers"):
                if cur["metadata"].get("deletionTimestamp"):
                    return copy.deepcopy(cur)
                new = copy.deepcopy(cur)
                new["metadata"]["deletionTimestamp"] = now_rfc3339()
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                return self._store_update(res, key, cur, new)
            return self._remove(res, key)

    def _timer(self, delay, res, key, uid):
        def fire():
            self.finalize_delete(res, key[1], key[2], uid)
        t = threading.Timer(delay, fire)
        t.daemon = True
        t.start()

    def finalize_delete(self, res, ns, name, uid=None):
        """Removes the object for good (the kubelet's last step of a graceful delete)."""
        with self.lock:
            key = (res.key, ns if res.namespaced else "", name)
            cur = self.objects.get(key)
            if cur is None or (uid and cur["metadata"]["uid"] != uid):
                return None
            return self._remove(res, key)

    def _remove(self, res, key):
        cur = self.objects.pop(key)
        out = copy.deepcopy(cur)
        self._bump(out)
        self._commit(res, "DELETED", key[1], key[2], out, copy.deepcopy(cur))
        uid = cur["metadata"]["uid"]
        # Garbage collection: dependents owned by the removed object go too (background propagation).
        for k, o in list(self.objects.items()):
            if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences", [])):
                if k in self.objects:
                    r2 = _res_for_key(k[0])
                    if r2:
                        self.delete(r2, k[1], k[2], grace=0)
        if res.plural == "namespaces":
            for k in [k for k in self.objects if k[1] == key[2]]:
                if k in self.objects:
                    r2 = _res_for_key(k[0])
                    if r2:
                        self.delete(r2, k[1], k[2], grace=0)
        return out


def _res_for_key(rkey):
    group, plural = rkey.split("/", 1)
    for (g, _v, p), r in BY_PATH.items():
        if g == group and p == plural:
            return r
    return None
