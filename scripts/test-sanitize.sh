#!/usr/bin/env bash
# Builds nbhub and the unit-test binaries with ASan + UBSan (GCC) into their own build directory
# and runs the unit suite, and with `all` also the integration suite, against them.
# Usage: test-sanitize.sh [unit|all]   (NBHUB_SANITIZE_BUILD: build dir, default build-sanitize;
#                                       JOBS: parallel compile and test jobs, default nproc)
# Any sanitizer report fails: ASan and UBSan stop the process with a non-zero status (a unit test
# fails), and the integration harness (harness/run.py) collects every report that an nbhub
# process it started wrote under log_path, and fails the module that caused it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${NBHUB_SANITIZE_BUILD:-$root/build-sanitize}
what=${1:-all}
jobs=${JOBS:-$(nproc)}
case "$what" in unit|all) ;; *) echo "usage: $0 [unit|all]" >&2; exit 2 ;; esac

mkdir -p "$(dirname "$out")"
# One configure+build at a time (ctest and `make test-sanitize` may share the directory).
exec 9>"$out.lock"
flock 9
# -O1 -g1: ASan's usual optimisation level, with line tables for the stack traces but no full
# debug info (the sanitized objects are large and this machine class has two cores).
# Only what the suites run: no benchmarks, no fuzz targets (those have their own clang build).
[ -f "$out/build.ninja" ] || cmake -S "$root" -B "$out" -G Ninja -DNBHUB_SANITIZE=ON \
  -DNBHUB_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" >/dev/null
if ! cmake --build "$out" -j "$jobs" >"$out.build.log" 2>&1; then
  echo "sanitize: the build failed:" >&2; tail -60 "$out.build.log" >&2; exit 1
fi
flock -u 9

# halt_on_error: the first report ends the process with exitcode, so it cannot be missed.
# detect_leaks: LeakSanitizer at exit. UBSan findings abort (-fno-sanitize-recover).
export ASAN_OPTIONS="halt_on_error=1:exitcode=86:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=0${ASAN_EXTRA:+:$ASAN_EXTRA}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87"
export LSAN_OPTIONS="suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0"
export NBHUB_SANITIZE=1

cd "$out"
status=0
ctest -L unit -j "$jobs" --output-on-failure --timeout 900 || status=1
if [ "$what" = all ]; then
  ctest -L integration -j "$jobs" --output-on-failure --timeout 2400 || status=1
fi
exit $status
