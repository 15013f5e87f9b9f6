"""PATCH bodies: JSON merge patch, strategic merge patch (the parts kubectl sends), JSON patch.

nbhub must never PATCH (the z2jh Role has no patch verb); these exist so kubectl apply works.
"""
import copy

from .status import bad_request

# Strategic-merge list keys of the core types kubectl patches (from the Go struct tags).
MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
              "env": "name", "volumeMounts": "mountPath", "ports": "containerPort", "imagePullSecrets": "name",
              "ownerReferences": "uid", "hostAliases": "ip", "conditions": "type", "envFrom": None}
PRIMITIVE_MERGE = {"finalizers"}


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strategic_merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k in ("$retainKeys", "$patch"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            out[field] = [x for x in out.get(field, []) if x not in v]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and MERGE_KEYS.get(k) and isinstance(out.get(k), list):
            out[k] = _merge_list(out[k], v, MERGE_KEYS[k])
        elif isinstance(v, list) and k in PRIMITIVE_MERGE and isinstance(out.get(k), list):
            out[k] = out[k] + [x for x in v if x not in out[k]]
        elif isinstance(v, dict):
            r = strategic_merge_patch(out.get(k), v)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        else:
            out[k] = copy.deepcopy(v)
    return out


def _merge_list(cur, patch, key):
    out = [copy.deepcopy(x) for x in cur]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            return copy.deepcopy(patch)            # not a keyed list after all: replace
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
        elif idx is None:
            out.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            out[idx] = strategic_merge_patch(out[idx], item)
    return out


def json_patch(target, ops):
    """RFC 6902 (add, remove, replace, test, copy, move)."""
    doc = copy.deepcopy(target)
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")

    def parts(path):
        if path == "":
            return []
        return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]

    def walk(path):
        ps = parts(path)
        cur = doc
        for p in ps[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur, ps[-1]

    for op in ops:
        try:
            kind, path = op["op"], op["path"]
            if kind in ("add", "replace"):
                parent, last = walk(path)
                if isinstance(parent, list):
                    if last == "-":
                        parent.append(copy.deepcopy(op["value"]))
                    elif kind == "add":
                        parent.insert(int(last), copy.deepcopy(op["value"]))
                    else:
                        parent[int(last)] = copy.deepcopy(op["value"])
                else:
                    if kind == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = copy.deepcopy(op["value"])
            elif kind == "remove":
                parent, last = walk(path)
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    del parent[last]
            elif kind == "test":
                parent, last = walk(path)
                if (parent[int(last)] if isinstance(parent, list) else parent.get(last)) != op["value"]:
                    raise bad_request(f"testing value {path} failed")
            elif kind in ("copy", "move"):
                sp, sl = walk(op["from"])
                val = sp[int(sl)] if isinstance(sp, list) else sp[sl]
                if kind == "move":
                    if isinstance(sp, list):
                        sp.pop(int(sl))
                    else:
                        del sp[sl]
                parent, last = walk(path)
                if isinstance(parent, list):
                    parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(val))
                else:
                    parent[last] = copy.deepcopy(val)
            else:
                raise bad_request(f"unknown json patch operation {kind}")
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise bad_request(f"the server rejected our request due to an error in our request: json patch "
                              f"{op}: {e!r}")
    return doc
