"""Status bodies in the form kube-apiserver sends them (spec kubernetes.md §3.6)."""


class ApiError(Exception):
    """An API failure carrying the Status body the client will see."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self):
        return status_body(self.code, self.reason, self.message, self.details)


def status_body(code, reason, message, details=None):
    b = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason}
    if details:
        b["details"] = details
    b["code"] = code
    return b


def not_found(plural, name, group=""):
    d = {"name": name, "kind": plural}
    if group:
        d["group"] = group
    return ApiError(404, "NotFound", f'{plural}{"." + group if group else ""} "{name}" not found', d)


def already_exists(plural, name, group=""):
    d = {"name": name, "kind": plural}
    if group:
        d["group"] = group
    return ApiError(409, "AlreadyExists", f'{plural}{"." + group if group else ""} "{name}" already exists', d)


def conflict(plural, name, why="the object has been modified; please apply your changes to the latest version and try again"):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {plural} "{name}": {why}',
                    {"name": name, "kind": plural})


def invalid(kind, name, causes):
    """causes: [(field, reason, message)], e.g. ("spec.containers", "FieldValueRequired", "Required value")."""
    text = ", ".join(f"{f}: {m}" for f, _, m in causes)
    if len(causes) > 1:
        text = "[" + text + "]"
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {text}',
                    {"name": name, "kind": kind,
                     "causes": [{"reason": r, "message": m, "field": f} for f, r, m in causes]})


def expired(rv, oldest):
    return ApiError(410, "Expired", f"too old resource version: {rv} ({oldest})")


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(user, verb, plural, group, namespace, name=None):
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    d = {"kind": plural}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    return ApiError(403, "Forbidden",
                    f'{plural}{"." + group if group else ""}{" " + chr(34) + name + chr(34) if name else ""} is forbidden: '
                    f'User "{user}" cannot {verb} resource "{plural}" in API group "{group}" {where}', d)


def unsupported_media_type(ct):
    return ApiError(415, "UnsupportedMediaType",
                    f'the body of the request was in an unknown format - accepted media types include: '
                    f'application/json, application/merge-patch+json, application/strategic-merge-patch+json, '
                    f'application/json-patch+json, application/apply-patch+yaml (this fake reads JSON only; got "{ct}")')


def too_large(limit):
    return ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")


def generic(code, message=None, retry_after=None):
    reasons = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
               409: "Conflict", 410: "Expired", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
               503: "ServiceUnavailable", 504: "Timeout"}
    msgs = {500: "Internal error occurred: fault injected by the fake API server",
            503: "the server is currently unable to handle the request",
            429: "the server has received too many requests and has asked us to try again later",
            410: "too old resource version: 1 (2)", 504: "the server was unable to return a response in the time allotted"}
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    details = {"retryAfterSeconds": int(retry_after)} if retry_after is not None else None
    return ApiError(code, reasons.get(code, "Unknown"), message or msgs.get(code, f"fault {code}"), details, headers)
