#!/usr/bin/env python3
"""Writes cmake/startup-order.txt: the functions of nbhub that run from exec until it idles.

The link puts these first in .text (`--symbol-ordering-file`, see src/app/CMakeLists.txt), so
that the code a hub touches at start-up, and keeps resident while idle, lies on a few hundred
KiB of pages instead of being spread over the whole binary (each fault maps 64 KiB around it).

How: starts BINARY under `valgrind --tool=callgrind` with bench/login's configuration (SQLite,
one OIDC provider at the bundled test IdP, an admin service), waits for the first 200 of
GET /hub/api/ and IDLE more seconds, stops it, and lists every function of the binary that ran,
in order of first appearance, by its mangled (symbol) name. Regenerate after larger changes to
start-up code; names that no longer exist are ignored by the linker, so a stale list only
makes the grouping less complete (bench/login/idle_rss.py shows by how much).

    scripts/startup-order.py [--idle 3] [BINARY]   # default build/nbhub; needs valgrind (apt install valgrind)
"""
import argparse
import os
import re
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench", "login"))

from harness.idp import TestIdp  # noqa: E402
from hubs import Nbhub  # noqa: E402

OUT = os.path.join(ROOT, "cmake", "startup-order.txt")
_NAMED = re.compile(r"(c?ob|c?fn)=\((\d+)\)(?: (.*))?")


class CallgrindHub(Nbhub):
    def __init__(self, workdir, binary, issuer, profile):
        super().__init__(workdir, binary, issuer)
        self.profile = profile

    def command(self):
        return ["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={self.profile}",
                self.binary, "-f", "nbhub.toml"]


def functions_of(profile: str, binary: str) -> list[str]:
    """Functions of `binary` in a callgrind profile, in order of first appearance.

    Callgrind compresses names: the first mention of an object or function is `ob=(N) name`
    (also in `cob=`/`cfn=` lines), later ones only `ob=(N)`."""
    objects, functions = {}, {}
    current, out, seen = None, [], set()
    with open(profile, errors="replace") as f:
        for line in f:
            m = _NAMED.match(line.rstrip("\n"))
            if not m:
                continue
            kind, key, name = m.groups()
            table = objects if kind.endswith("ob") else functions
            if name:
                table[key] = name
            if kind == "ob":
                current = objects.get(key)
            elif kind == "fn" and current == binary:
                fn = functions[key]
                if fn not in seen:
                    seen.add(fn)
                    out.append(fn)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", nargs="?", default=os.path.join(ROOT, "build", "nbhub"))
    ap.add_argument("--idle", type=float, default=3.0, help="seconds of idling after the first 200")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    binary = os.path.realpath(args.binary)
    with TestIdp("generic", users=[]) as idp, tempfile.TemporaryDirectory(prefix="nbhub-startup-order-") as tmp:
        profile = os.path.join(tmp, "callgrind.out")
        hub = CallgrindHub(os.path.join(tmp, "hub"), binary, idp.issuer, profile)
        try:
            hub.start()
            time.sleep(max(0.0, min(args.idle, 60.0)))
        finally:
            hub.stop()
        names = functions_of(profile, binary)
    if not names:
        raise SystemExit(f"no function of {binary} in the profile; hub log:\n{hub.log()[-2000:]}")
    with open(args.out, "w") as f:
        f.write("# nbhub's start-up functions, first in .text (written by scripts/startup-order.py)\n")
        f.write("".join(n + "\n" for n in names))
    print(f"{args.out}: {len(names)} functions")


if __name__ == "__main__":
    main()
