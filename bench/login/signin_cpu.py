#!/usr/bin/env python3
"""bench/login/signin_cpu.py: CPU and context switches per sign-in of nbhub binaries, same run.

Starts the bundled test IdP, then each binary in turn with bench/login's configuration, and
signs a returning user in N times through the real OAuth2 flow (hub login -> IdP -> hub
callback, as bench_login.py). For each binary it prints, per sign-in: CPU of the hub process
(utime+stime from /proc/PID/stat, clock ticks) and context switches of all its threads
(voluntary + involuntary, /proc/PID/task/*/status), medians over the rounds, with the ratio
to the first binary. Rounds alternate the binaries so that machine load affects them alike.
For the comparison with JupyterHub use bench_login.py; this one compares builds of nbhub.

    bench/login/signin_cpu.py [-n 200] [--rounds 3] [BINARY[::TOML] ...]   # default: build/nbhub

A BINARY may carry top-level configuration after `::`, e.g. `build/nbhub::hub_threads = 0`.
"""
import argparse
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
sys.path.insert(0, HERE)

from bench_login import one_login  # noqa: E402
from harness.idp import TestIdp  # noqa: E402
from hubs import Nbhub, cpu_seconds  # noqa: E402

MAX_LOGINS = 2000
MAX_ROUNDS = 20


def context_switches(pid: int) -> int:
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:
            pass  # a thread that ended meanwhile
    return total


def one(spec: str, issuer: str, workdir: str, n: int) -> tuple[float, float]:
    """(CPU ms, context switches) per returning sign-in."""
    binary, _, top = spec.partition("::")
    hub = Nbhub(workdir, binary, issuer, top=top)
    try:
        hub.start()
        one_login(hub, "alice", "alice-pw")  # discovery, JWKS, the user row
        one_login(hub, "alice", "alice-pw")
        pid = hub.proc.pid
        cpu0, cs0 = cpu_seconds([pid]), context_switches(pid)
        for _ in range(n):
            one_login(hub, "alice", "alice-pw")
        return (cpu_seconds([pid]) - cpu0) * 1000 / n, (context_switches(pid) - cs0) / n
    finally:
        hub.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="*", default=[os.environ.get("NBHUB_BIN", "build/nbhub")])
    ap.add_argument("-n", type=int, default=200, help=f"sign-ins per round (at most {MAX_LOGINS})")
    ap.add_argument("--rounds", type=int, default=3, help=f"rounds per binary (at most {MAX_ROUNDS})")
    args = ap.parse_args()
    n = max(10, min(args.n, MAX_LOGINS))
    rounds = max(1, min(args.rounds, MAX_ROUNDS))
    cpu = {i: [] for i in range(len(args.binaries))}
    cs = {i: [] for i in range(len(args.binaries))}
    users = [{"username": "alice", "password": "alice-pw", "groups": ["users"]}]
    with TestIdp("generic", users=users) as idp, tempfile.TemporaryDirectory(prefix="nbhub-signin-cpu-") as tmp:
        for r in range(rounds):
            for i, b in enumerate(args.binaries):
                c, s = one(b, idp.issuer, os.path.join(tmp, f"{i}-{r}"), n)
                cpu[i].append(c)
                cs[i].append(s)
    print(f"{'binary (::configuration)':50} {'CPU/sign-in':>12} {'ctx sw/sign-in':>15}  CPU ratio to first  (rounds)")
    base = None
    for i, b in enumerate(args.binaries):
        c, s = statistics.median(cpu[i]), statistics.median(cs[i])
        base = base or c
        rounds_txt = " ".join(f"{x:.2f}" for x in cpu[i])
        print(f"{b[-50:]:50} {c:9.3f} ms {s:15.1f}  {c / base:.2f}  ({rounds_txt})")
    print(f"(returning user, {n} sign-ins per round, median of {rounds} rounds; hub process only; "
          f"{os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
