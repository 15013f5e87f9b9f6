#!/usr/bin/env bash
# Runs bench/pyeval against the seed configurations (make bench): config loading with and
# without python3, and the cost of one hook call, in the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
${BENCH_PYEVAL_BIN:-build/bench/bench_pyeval} "${1:-tests/data}" "${2:-10}"
