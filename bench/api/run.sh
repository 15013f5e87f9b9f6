#!/usr/bin/env bash
# REST API throughput (issue 5): GET /hub/api/users/<name> with a config service token and with
# a user-generated token, and GET /hub/api/, with wrk (2 threads, 32 connections). When
# Debian's jupyterhub (3.0, with configurable-http-proxy) is installed it is measured side by
# side in the same run, through its proxy (configurable-http-proxy, or `nbhub proxy` when CHP
# does not run), and the ratios are printed.
#
#   bench/api/run.sh                     # uses build/nbhub
#   NBHUB_BIN=build-x/nbhub DURATION=5 bench/api/run.sh
#
# Everything listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
NBHUB_BIN=${NBHUB_BIN:-$root/build/nbhub}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
SERVICE_TOKEN=bench-service-token-0123456789abcdef

command -v wrk >/dev/null || { echo "bench/api: wrk is not installed" >&2; exit 2; }
[[ -x $NBHUB_BIN ]] || { echo "bench/api: $NBHUB_BIN not found (set NBHUB_BIN)" >&2; exit 2; }

work=$(mktemp -d /tmp/nbhub-bench-api.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # url log
  for _ in $(seq 300); do
    curl --noproxy '*' -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "bench/api: $1 did not answer; its log:" >&2
  tail -20 "$2" >&2
  return 1
}
user_token() {  # base_url -> a new token for user "bench", made with the service token
  curl --noproxy '*' -fs -X POST -H "Authorization: token $SERVICE_TOKEN" -d '{"note": "bench"}' \
    "$1/hub/api/users/bench/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
rps() {  # url [token] -> requests/s
  local args=(-t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s")
  [[ -n ${2:-} ]] && args+=(-H "Authorization: token $2")
  wrk "${args[@]}" "$1" | awk '/Requests\/sec/ {print int($2)}'
}

# --- nbhub ---------------------------------------------------------------------------------------
nb_port=$(free_port)
mkdir -p "$work/nbhub"
cat > "$work/nbhub/nbhub.toml" <<TOML
ip = "127.0.0.1"
port = $nb_port
hub_bind_url = "http://127.0.0.1:0"
db_url = "sqlite:///nbhub.sqlite"
log_level = "warning"
services = [{ name = "bench", api_token = "$SERVICE_TOKEN", admin = true }]
[auth]
allowed_users = ["bench"]
TOML
(cd "$work/nbhub" && exec "$NBHUB_BIN" -f nbhub.toml >nbhub.log 2>&1) &
pids+=($!)
nb=http://127.0.0.1:$nb_port
wait_http "$nb/hub/api/" "$work/nbhub/nbhub.log"
nb_user=$(user_token "$nb")

declare -A result
result[nbhub,service]=$(rps "$nb/hub/api/users/bench" "$SERVICE_TOKEN")
result[nbhub,user]=$(rps "$nb/hub/api/users/bench" "$nb_user")
result[nbhub,root]=$(rps "$nb/hub/api/")

# --- JupyterHub, when installed ------------------------------------------------------------------
have_jh=0
if command -v jupyterhub >/dev/null && command -v configurable-http-proxy >/dev/null; then
  have_jh=1
  jh_port=$(free_port); jh_hub_port=$(free_port); jh_api_port=$(free_port)
  # Debian's configurable-http-proxy when it runs, else nbhub's drop-in (`nbhub proxy`).
  if configurable-http-proxy --version >/dev/null 2>&1; then jh_proxy_cmd='["configurable-http-proxy"]'
  else jh_proxy_cmd="[\"$NBHUB_BIN\", \"proxy\"]"; echo "bench/api: configurable-http-proxy does not run here; JupyterHub uses nbhub proxy" >&2; fi
  mkdir -p "$work/jh"
  cat > "$work/jh/jupyterhub_config.py" <<PY
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = $jh_port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = $jh_hub_port
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:$jh_api_port"
c.ConfigurableHTTPProxy.command = $jh_proxy_cmd
c.JupyterHub.db_url = "sqlite:///$work/jh/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "$work/jh/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {"bench"}
c.JupyterHub.services = [{"name": "bench", "api_token": "$SERVICE_TOKEN", "admin": True}]
c.JupyterHub.log_level = "WARN"
c.JupyterHub.pid_file = "$work/jh/jupyterhub.pid"
PY
  (cd "$work/jh" && exec jupyterhub -f jupyterhub_config.py >jupyterhub.log 2>&1) &
  pids+=($!)
  jh=http://127.0.0.1:$jh_port
  wait_http "$jh/hub/api/" "$work/jh/jupyterhub.log"
  jh_user=$(user_token "$jh")
  result[jh,service]=$(rps "$jh/hub/api/users/bench" "$SERVICE_TOKEN")
  result[jh,user]=$(rps "$jh/hub/api/users/bench" "$jh_user")
  result[jh,root]=$(rps "$jh/hub/api/")
fi

printf '%-40s %12s' "case (wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s)" "nbhub req/s"
(( have_jh )) && printf ' %14s %8s' "JupyterHub" "ratio"
printf '\n'
for case in service user root; do
  case $case in
    service) label="GET /hub/api/users/bench (service token)";;
    user) label="GET /hub/api/users/bench (user token)";;
    root) label="GET /hub/api/";;
  esac
  printf '%-40s %12s' "$label" "${result[nbhub,$case]}"
  if (( have_jh )); then
    jhv=${result[jh,$case]}
    printf ' %14s %7sx' "$jhv" "$(python3 -c "print(round(${result[nbhub,$case]}/max(1,$jhv),1))")"
  fi
  printf '\n'
done
