#!/usr/bin/env bash
# Runs bench/stress against build/nbhub (make bench-stress): nbhub proxy next to nginx under
# hostile load. Arguments go to bench_stress.py (--rows, --quick, the counts and limits).
set -euo pipefail
cd "$(dirname "$0")/../.."
NBHUB_BIN=${NBHUB_BIN:-build/nbhub} exec python3 bench/stress/bench_stress.py "$@"
