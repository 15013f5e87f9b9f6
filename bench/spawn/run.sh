#!/usr/bin/env bash
# Runs bench/spawn against build/nbhub: concurrent spawns through the REST API, 20, 50 and 80 at
# once by default (`bench/spawn/run.sh 5 10` for other counts; --help for options).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v jupyterhub-singleuser >/dev/null || { echo "bench/spawn: jupyterhub-singleuser is not installed" >&2; exit 2; }
NBHUB_BIN=${NBHUB_BIN:-build/nbhub} python3 bench/spawn/bench_spawn.py "$@"
