"""Label and field selectors as kube-apiserver parses them (spec kubernetes.md §5.1 item 5)."""
import re

from .status import bad_request

_KEY = r"[A-Za-z0-9./_-]+"


class LabelSelector:
    """`=`, `==`, `!=`, `in (..)`, `notin (..)`, `key`, `!key`; comma means AND. Empty selects everything."""

    def __init__(self, text):
        self.reqs = []
        text = (text or "").strip()
        if not text:
            return
        for part in _split_top(text):
            part = part.strip()
            m = re.fullmatch(rf"({_KEY})\s+(in|notin)\s+\(([^)]*)\)", part)
            if m:
                self.reqs.append((m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}))
                continue
            m = re.fullmatch(rf"({_KEY})\s*(==|!=|=)\s*([A-Za-z0-9._-]*)", part)
            if m:
                op = {"=": "=", "==": "=", "!=": "!="}[m.group(2)]
                self.reqs.append((m.group(1), op, m.group(3)))
                continue
            m = re.fullmatch(rf"(!?)\s*({_KEY})", part)
            if m:
                self.reqs.append((m.group(2), "!exists" if m.group(1) else "exists", None))
                continue
            raise bad_request(f'unable to parse requirement: invalid label selector: "{text}"')

    def matches(self, labels):
        labels = labels or {}
        for key, op, val in self.reqs:
            have = key in labels
            v = labels.get(key)
            if op == "=" and (not have or v != val):
                return False
            if op == "!=" and have and v == val:
                return False
            if op == "in" and (not have or v not in val):
                return False
            if op == "notin" and have and v in val:
                return False
            if op == "exists" and not have:
                return False
            if op == "!exists" and have:
                return False
        return True


def _split_top(text):
    """Splits on commas that are not inside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


# Field selectors each resource supports (as the real server: others are a 400).
_FIELDS = {
    "pods": {"status.phase", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
             "status.podIP", "status.nominatedNodeName", "spec.hostNetwork"},
    "events": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
               "reason", "reportingComponent", "source", "type"},
    "secrets": {"type"},
    "namespaces": {"status.phase"},
    "persistentvolumeclaims": set(),
}


def _get(obj, dotted):
    cur = obj
    for p in dotted.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, dict):
        return cur.get("component", "")
    return str(cur)


class FieldSelector:
    def __init__(self, text, plural):
        self.reqs = []
        text = (text or "").strip()
        if not text:
            return
        allowed = {"metadata.name", "metadata.namespace"} | _FIELDS.get(plural, set())
        for part in text.split(","):
            m = re.fullmatch(r"\s*([A-Za-z.]+)\s*(==|!=|=)\s*(.*?)\s*", part)
            if not m:
                raise bad_request(f'invalid selector: \'{text}\'; can\'t understand \'{part}\'')
            field = m.group(1)
            if field not in allowed:
                raise bad_request(f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"'
                                  + "".join(f', "{f}"' for f in sorted(_FIELDS.get(plural, ()))))
            self.reqs.append((field, m.group(2) != "!=", m.group(3)))

    def matches(self, obj):
        for field, eq, val in self.reqs:
            if (_get(obj, field) == val) != eq:
                return False
        return True
