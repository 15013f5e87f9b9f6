"""Server-side printing: Table objects for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (spec §3.2)."""
import time

from .store import parse_rfc3339


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 24 * 8:
        return f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    return f"{h // 24 // 365}y"


def _col(name, typ="string", fmt="", desc="", priority=0):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


def _age(obj):
    ts = (obj.get("metadata") or {}).get("creationTimestamp")
    return human_duration(time.time() - parse_rfc3339(ts)) if ts else "<unknown>"


def pod_status(pod):
    """The STATUS column of `kubectl get pods` (printers.go printPod, simplified)."""
    meta, st = pod.get("metadata", {}), pod.get("status", {})
    reason = st.get("reason") or st.get("phase", "Unknown")
    for cs in st.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated"):
            t = state["terminated"]
            reason = t.get("reason") or (f"Signal:{t['signal']}" if t.get("signal") else f"ExitCode:{t.get('exitCode')}")
    if meta.get("deletionTimestamp"):
        reason = "Terminating"
    return reason


COLUMNS = {
    "pods": [_col("Name", fmt="name"), _col("Ready"), _col("Status"), _col("Restarts"), _col("Age"),
             _col("IP", priority=1), _col("Node", priority=1), _col("Nominated Node", priority=1),
             _col("Readiness Gates", priority=1)],
    "namespaces": [_col("Name", fmt="name"), _col("Status"), _col("Age")],
    "persistentvolumeclaims": [_col("Name", fmt="name"), _col("Status"), _col("Volume"), _col("Capacity"),
                               _col("Access Modes"), _col("StorageClass"), _col("Age")],
    "services": [_col("Name", fmt="name"), _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"),
                 _col("Age")],
    "events": [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")],
}
DEFAULT_COLUMNS = [_col("Name", fmt="name"), _col("Age")]


def cells(plural, o):
    meta, spec, st = o.get("metadata", {}), o.get("spec") or {}, o.get("status") or {}
    if plural == "pods":
        cs = st.get("containerStatuses") or []
        ready = sum(1 for c in cs if c.get("ready"))
        restarts = sum(int(c.get("restartCount", 0)) for c in cs)
        return [meta.get("name"), f"{ready}/{len(spec.get('containers', []))}", pod_status(o), str(restarts),
                _age(o), st.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
                st.get("nominatedNodeName") or "<none>", "<none>"]
    if plural == "namespaces":
        return [meta.get("name"), st.get("phase", ""), _age(o)]
    if plural == "persistentvolumeclaims":
        return [meta.get("name"), st.get("phase", ""), spec.get("volumeName", ""),
                (st.get("capacity") or {}).get("storage", ""), ",".join(spec.get("accessModes", [])),
                spec.get("storageClassName") or "<unset>", _age(o)]
    if plural == "services":
        ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports", []))
        return [meta.get("name"), spec.get("type", ""), spec.get("clusterIP", ""), "<none>", ports or "<none>",
                _age(o)]
    if plural == "events":
        ts = o.get("lastTimestamp") or o.get("eventTime")
        seen = human_duration(time.time() - parse_rfc3339(ts)) if ts else "<unknown>"
        io = o.get("involvedObject") or {}
        return [seen, o.get("type", ""), o.get("reason", ""), f"{io.get('kind', '').lower()}/{io.get('name', '')}",
                o.get("message", "")]
    return [meta.get("name"), _age(o)]


def row(plural, o, include="Metadata"):
    r = {"cells": cells(plural, o)}
    if include == "Object":
        r["object"] = o
    elif include != "None":
        r["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata", {})}
    return r


def table(plural, objs, rv, version="v1", include="Metadata", cont=None, omit_headers=False):
    meta = {"resourceVersion": str(rv)}
    if cont:
        meta["continue"] = cont
    t = {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}", "metadata": meta,
         "columnDefinitions": [] if omit_headers else COLUMNS.get(plural, DEFAULT_COLUMNS),
         "rows": [row(plural, o, include) for o in objs]}
    return t
