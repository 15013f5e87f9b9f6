#!/usr/bin/env python3
"""bench/login/idle_rss.py: idle RSS of nbhub binaries, side by side in the same run.

Starts each binary in turn with bench/login's configuration (SQLite database, one OIDC
provider pointing at the bundled test IdP, an admin service), waits for the first 200 from
GET /hub/api/ and one more second, then reads /proc/PID/status (VmRSS, RssAnon, RssFile) and
/proc/PID/smaps (resident KiB per mapped file). Rounds alternate the binaries so that page
cache and machine load affect them alike (each binary is read whole first, so its pages are
cached); medians are printed, with ratios to the first binary.

    bench/login/idle_rss.py [--rounds 3] [--top 15] [BINARY ...]   # default: build/nbhub
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
sys.path.insert(0, HERE)

from harness.idp import TestIdp  # noqa: E402
from hubs import Nbhub  # noqa: E402

MAX_ROUNDS = 20


def status_kib(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads"):
                out[key] = int(rest.split()[0])
    return out


def smaps_by_file(pid: int) -> dict:
    """Resident KiB per mapping name ([heap], [stack], [anon], or the file's path)."""
    per = defaultdict(int)
    name = "[anon]"
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            fields = line.split()
            if not fields:
                continue
            if "-" in fields[0] and ":" not in fields[0]:  # a mapping's header line
                name = fields[5] if len(fields) > 5 else "[anon]"
            elif fields[0] == "Rss:":
                per[name] += int(fields[1])
    return per


def one(binary: str, issuer: str, workdir: str) -> tuple[dict, dict]:
    hub = Nbhub(workdir, binary, issuer)
    try:
        hub.start()
        time.sleep(1.0)
        return status_kib(hub.proc.pid), smaps_by_file(hub.proc.pid)
    finally:
        hub.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="*", default=[os.environ.get("NBHUB_BIN", "build/nbhub")])
    ap.add_argument("--rounds", type=int, default=3, help=f"starts per binary (at most {MAX_ROUNDS})")
    ap.add_argument("--top", type=int, default=15, help="mappings listed per binary (0: none)")
    args = ap.parse_args()
    rounds = max(1, min(args.rounds, MAX_ROUNDS))
    status = defaultdict(list)
    maps = {}
    for b in args.binaries:
        # File-backed RSS counts only pages in the page cache when a neighbour is touched
        # (fault-around): read each binary whole first, so a freshly linked one and an older
        # copy are compared alike.
        with open(b, "rb") as f:
            while f.read(1 << 20):
                pass
    with TestIdp("generic", users=[]) as idp, tempfile.TemporaryDirectory(prefix="nbhub-idle-rss-") as tmp:
        for r in range(rounds):
            for i, b in enumerate(args.binaries):
                s, m = one(b, idp.issuer, os.path.join(tmp, f"{i}-{r}"))
                status[i].append(s)
                maps[i] = m  # the last round's mappings
    base = None
    print(f"{'binary':50} {'VmRSS':>10} {'RssAnon':>10} {'RssFile':>10}  ratio to first")
    for i, b in enumerate(args.binaries):
        med = {k: statistics.median(s[k] for s in status[i]) for k in ("VmRSS", "RssAnon", "RssFile")}
        base = base or med["VmRSS"]
        print(f"{b[-50:]:50} " + " ".join(f"{med[k] / 1024:7.1f} MiB" for k in ("VmRSS", "RssAnon", "RssFile"))
              + f"  {med['VmRSS'] / base:.2f}")
    print(f"(median of {rounds} starts each; one second after the first 200; {os.cpu_count()} cores)")
    for i, b in enumerate(args.binaries):
        if args.top <= 0:
            break
        print(f"\nresident KiB per mapping, {b} (last start):")
        for name, kib in sorted(maps[i].items(), key=lambda kv: -kv[1])[:args.top]:
            print(f"  {kib:8d}  {name}")


if __name__ == "__main__":
    main()
