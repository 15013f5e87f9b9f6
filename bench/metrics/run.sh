#!/usr/bin/env bash
# Scrape cost with 10,000 users (issue 21); see bench_metrics.py. Everything on 127.0.0.1.
#   bench/metrics/run.sh                 # uses build/nbhub
#   NBHUB_BIN=build-x/nbhub USERS=10000 ROUNDS=300 bench/metrics/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export NBHUB_BIN=${NBHUB_BIN:-$root/build/nbhub}
exec python3 "$here/bench_metrics.py"
