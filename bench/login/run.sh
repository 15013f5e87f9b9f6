#!/usr/bin/env bash
# Runs bench/login against build/nbhub (make bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
NBHUB_BIN=${NBHUB_BIN:-build/nbhub} python3 bench/login/bench_login.py "$@"
