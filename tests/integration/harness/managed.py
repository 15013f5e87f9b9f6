"""Helpers for the managed-service and log tests (issue 21): the whoami service's path, a
plain GET that never raises, polling, and whether a pid still runs."""
import os
import time
import urllib.error
import urllib.request

from harness.session import free_port  # noqa: F401  (re-exported for the tests)

TESTS = os.environ.get("NBHUB_TESTS_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
WHOAMI = os.path.abspath(os.path.join(TESTS, "data", "services", "whoami_service.py"))


def get(url, headers=None, timeout=10):
    """(status, body, headers); status None when nothing answered."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers
    except OSError:
        return None, b"", {}


def wait_for(fn, timeout=20, step=0.1):
    """fn()'s first truthy value within `timeout` seconds, else None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return None


def alive(pid):
    """Running (not gone, not a zombie waiting for its parent)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
