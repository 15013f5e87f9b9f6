#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (into build/fuzz) and runs each for a bounded time
# over its seed corpus: tests/fuzz/corpus/<target>/ plus, for next_url, every line of the
# open-redirect payload list, and for the configuration readers the example configurations.
# Usage: run.sh [seconds per target] [target...]
# A crash leaves its input in build/fuzz/crashes/; add it to the corpus once fixed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${NBHUB_FUZZ_BUILD:-$root/build/fuzz}
seconds=${1:-${FUZZ_SECONDS:-15}}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(next_url cookies jws jwks upstream_response request_head request_body form claims
                                     websocket_upgrade config_toml pyconfig pyeval_output z2jh_values api_bodies
                                     routes_api docker_answers kube_answers idp_answers)

command -v clang++ >/dev/null || { echo "fuzz: clang++ is not installed (scripts/install-deps.sh installs it)" >&2; exit 2; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# One configure+build at a time when several ctest entries start together.
# (Not `exec 9>... 2>/dev/null`: exec without a command keeps its redirections, and that
# silenced every later error message of this script.)
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
[ -f "$out/build.ninja" ] || cmake -S "$here" -B "$out" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
cmake --build "$out" >"$out.build.log" 2>&1 || { echo "fuzz: the build failed:" >&2; tail -60 "$out.build.log" >&2; exit 1; }
flock -u 9

status=0
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  mkdir -p "$corpus" "$out/crashes"
  cp -n "$here/corpus/$t/"* "$corpus/" 2>/dev/null || true
  if [ "$t" = next_url ]; then
    i=0
    while IFS= read -r line; do
      case "$line" in ''|'#'*) continue ;; esac
      printf '%s' "$line" >"$corpus/payload-$i"; i=$((i + 1))
    done <"$root/tests/data/open-redirect-payloads.txt"
  fi
  # The shipped example configurations seed the configuration readers.
  case "$t" in
    config_toml) for f in "$root"/docs/examples/*.toml; do cp -n "$f" "$corpus/example-$(basename "$f")"; done ;;
    pyconfig) for f in "$root"/docs/examples/*.py "$root"/tests/data/*.py; do cp -n "$f" "$corpus/example-$(basename "$f")"; done ;;
  esac
  echo "fuzz_$t: ${seconds}s over $(ls "$corpus" | wc -l) inputs"
  if ! "$out/fuzz_$t" -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=1024 -print_final_stats=1 \
       -artifact_prefix="$out/crashes/$t-" "$corpus" 2>"$out/fuzz_$t.log"; then
    echo "fuzz_$t FAILED: see $out/fuzz_$t.log and the input in $out/crashes/" >&2
    tail -40 "$out/fuzz_$t.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units" "$out/fuzz_$t.log" || true
  fi
done
exit $status
