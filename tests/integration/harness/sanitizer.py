"""Sanitizer reports of a sanitized nbhub (scripts/test-sanitize.sh, `make test-sanitize`).

ASan and UBSan print to stderr, which a test may capture and never read, and an nbhub started by
another program (`nbhub proxy` behind the configurable-http-proxy shim) has stderr nobody sees.
So, when the run is sanitized (ASAN_OPTIONS set), harness.run points log_path of both sanitizers at
a private directory for the module: every process inherits it and writes `report.<pid>` there on
a finding. The module fails when any report is found. `Hub.stop()` also fails a test whose hub
printed a report on its own output (a run whose options have no log_path).
"""
import os
import re
import shutil
import tempfile

# The first line of every report of ASan, LSan and UBSan.
REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |"
                    r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")


def find_report(text):
    """The part of `text` from the first sanitizer report on, or None."""
    m = REPORT.search(text)
    if not m:
        return None
    start = text.rfind("\n", 0, m.start()) + 1
    return text[start:start + 20000]


class _Reports:
    def __init__(self, directory):
        self.dir = directory

    def finish(self):
        if not self.dir:
            return []
        found = []
        for name in sorted(os.listdir(self.dir)):
            with open(os.path.join(self.dir, name), errors="replace") as f:
                found.append((name, f.read()))
        shutil.rmtree(self.dir, ignore_errors=True)
        return found


def _with_log_path(options, path):
    kept = [o for o in options.split(":") if o and not o.startswith("log_path=")]
    return ":".join(kept + [f"log_path={path}"])


def collect_reports():
    """When the run is sanitized, sends every report to a fresh directory; returns its reader."""
    if not os.environ.get("ASAN_OPTIONS") and not os.environ.get("NBHUB_SANITIZE"):
        return _Reports(None)
    directory = tempfile.mkdtemp(prefix="nbhub-sanitizer-")
    prefix = os.path.join(directory, "report")
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        os.environ[var] = _with_log_path(os.environ.get(var, ""), prefix)
    return _Reports(directory)
