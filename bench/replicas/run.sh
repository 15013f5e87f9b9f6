#!/usr/bin/env bash
# Runs bench/replicas against build/nbhub (make bench-replicas): 1, 2 and 3 replicas on one
# PostgreSQL behind one nginx, then a kill -9 of one. Arguments go to bench_replicas.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
NBHUB_BIN=${NBHUB_BIN:-$PWD/build/nbhub} exec python3 bench/replicas/bench_replicas.py "$@"
