#!/usr/bin/env bash
# nbhub's proxy against nginx as a reverse proxy, side by side in one run (see README.md).
#
#   bench/proxy/run.sh                    # uses build/nbhub
#   NBHUB_BIN=build-x/nbhub DURATION=5 bench/proxy/run.sh
#   CASES=ws ROUNDS=3 bench/proxy/run.sh  # only the WebSocket echo
#   CASES=control bench/proxy/run.sh      # only the noise floor: nginx against a second nginx
#   CASES=nopoll bench/proxy/run.sh       # only nbhub without busy polling (--busy-poll-us 0)
#   CASES="1k rid" bench/proxy/run.sh     # nbhub with and without request ids (--request-ids)
#   CASES="tls1k tlshs tlsws" bench/proxy/run.sh  # only the TLS rows (both proxies terminate TLS)
#
# Everything listens on 127.0.0.1 and is stopped on exit. Needs nginx, wrk and node (with
# tests/node_modules installed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
NBHUB_BIN=${NBHUB_BIN:-$root/build/nbhub}
DURATION=${DURATION:-10}        # seconds per wrk / WebSocket measurement
CONNECTIONS=${CONNECTIONS:-32}  # wrk -c and WebSocket connections
THREADS=${THREADS:-1}           # nbhub proxy --threads; nginx runs worker_processes 1
WS_BYTES=${WS_BYTES:-128}       # WebSocket message size
ROUNDS=${ROUNDS:-5}             # runs per case and proxy; the median counts
CASES=${CASES:-1k 100k ws control nopoll rid tls1k tls100k tlshs tlsws}  # see the rows below
# TLS rows: nbhub proxy --ssl-cert/--ssl-key and nginx `listen ssl` with the same P-256
# certificate, TLS 1.2/1.3 and Mozilla's intermediate ciphers (both negotiate TLS 1.3,
# TLS_AES_256_GCM_SHA384 with wrk and node): tls1k/tls100k over kept-alive connections,
# tlshs one request per connection (a full handshake each: wrk does not resume sessions),
# tlsws the WebSocket echo over wss://.

for tool in nginx wrk node; do
  command -v "$tool" >/dev/null || { echo "bench/proxy: $tool is not installed" >&2; exit 2; }
done
[[ -x $NBHUB_BIN ]] || { echo "bench/proxy: $NBHUB_BIN not found (set NBHUB_BIN)" >&2; exit 2; }
[[ -d $root/tests/node_modules/ws ]] || { echo "bench/proxy: run npm ci in tests/ first" >&2; exit 2; }

work=$(mktemp -d /tmp/nbhub-bench-proxy.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench/proxy: nothing listens on port $1" >&2; exit 1
}

backend=$(free_port); ws_backend=$(free_port); nginx_proxy=$(free_port); control_proxy=$(free_port)
nbhub_port=$(free_port); nbhub_api=$(free_port); nopoll_port=$(free_port); nopoll_api=$(free_port)
rid_port=$(free_port); rid_api=$(free_port)
nginx_tls=$(free_port); tls_port=$(free_port); tls_api=$(free_port); control_tls=$(free_port)

# Files served by the backend, under the path both proxies forward unchanged.
mkdir -p "$work/www/user/bench" "$work/logs"
chmod 755 "$work"  # nginx workers run as an unprivileged user
head -c 1024 /dev/urandom >"$work/www/user/bench/1k.bin"
head -c 102400 /dev/urandom >"$work/www/user/bench/100k.bin"

common="worker_processes 1; daemon off; pid PIDFILE; error_log $work/logs/ERRLOG warn;
events { worker_connections 4096; }"

# One certificate for both TLS proxies (test-only, made for this run).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/tls.key" \
  -out "$work/tls.crt" -days 1 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
intermediate="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

# The backend: nginx serving files, keep-alive without a request cap so that neither proxy
# pays for reconnects.
cat >"$work/backend.conf" <<EOF
${common//PIDFILE/$work/backend.pid}
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server { listen 127.0.0.1:$backend; root $work/www; }
}
EOF
sed -i "s/ERRLOG/backend.log/" "$work/backend.conf"

# nginx as the reverse proxy to compare with: one worker, pooled keep-alive upstreams, the
# same X-Forwarded-* headers nbhub adds, WebSocket upgrades on /user/ws/; the same for its
# plain and its TLS server.
cat >"$work/proxying.conf" <<EOF
proxy_http_version 1.1;
proxy_set_header Host \$http_host;
proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto \$scheme;
proxy_set_header X-Forwarded-Host \$http_host;
proxy_set_header X-Forwarded-Port \$server_port;
location /user/ws/ {
  proxy_pass http://echo;
  proxy_set_header Upgrade \$http_upgrade;
  proxy_set_header Connection \$connection_upgrade;
  proxy_read_timeout 3600s;
}
location / { proxy_pass http://files; proxy_set_header Connection ""; }
EOF
cat >"$work/proxy.conf" <<EOF
${common//PIDFILE/$work/proxy.pid}
http {
  access_log off;
  keepalive_requests 1000000;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  upstream files { server 127.0.0.1:$backend; keepalive 64; keepalive_requests 1000000; }
  upstream echo { server 127.0.0.1:$ws_backend; }
  server {
    listen 127.0.0.1:$nginx_proxy;
    include $work/proxying.conf;
  }
  server {
    listen 127.0.0.1:$nginx_tls ssl;
    ssl_certificate $work/tls.crt;
    ssl_certificate_key $work/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers $intermediate;
    ssl_prefer_server_ciphers off;
    ssl_session_tickets on;
    include $work/proxying.conf;
  }
}
EOF
sed -i "s/ERRLOG/proxy.log/" "$work/proxy.conf"

nginx -c "$work/backend.conf" -p "$work" & backend_pid=$!; pids+=($!)
nginx -c "$work/proxy.conf" -p "$work" & nginx_pid=$!; pids+=($!)
# The control: a second nginx, configured as the first, measured in nbhub's place. Its ratio
# to the first is what this machine's noise alone makes of two equal proxies.
# (Its TLS server listens on no port of its own: only the plain 1k row uses the control.)
sed -e "s/listen 127.0.0.1:$nginx_proxy;/listen 127.0.0.1:$control_proxy;/" -e "s#$work/proxy.pid#$work/control.pid#" \
  -e "s/proxy.log/control.log/" -e "s/listen 127.0.0.1:$nginx_tls ssl;/listen 127.0.0.1:$control_tls ssl;/" \
  "$work/proxy.conf" >"$work/control.conf"
nginx -c "$work/control.conf" -p "$work" & control_pid=$!; pids+=($!)
node "$here/ws_echo.mjs" server "$ws_backend" >"$work/logs/ws.log" & pids+=($!)
token=bench-$RANDOM$RANDOM
CONFIGPROXY_AUTH_TOKEN=$token "$NBHUB_BIN" proxy --ip 127.0.0.1 --port "$nbhub_port" \
  --api-ip 127.0.0.1 --api-port "$nbhub_api" --log-level warn --threads "$THREADS" \
  2>"$work/logs/nbhub.log" & nbhub_pid=$!; pids+=($!)
# nopoll: the same nbhub without busy polling before it sleeps (http/io_loop.hpp), measured
# against nginx like nbhub, so that each run shows what the polling is worth.
CONFIGPROXY_AUTH_TOKEN=$token "$NBHUB_BIN" proxy --ip 127.0.0.1 --port "$nopoll_port" \
  --api-ip 127.0.0.1 --api-port "$nopoll_api" --log-level warn --threads "$THREADS" --busy-poll-us 0 \
  2>"$work/logs/nopoll.log" & nopoll_pid=$!; pids+=($!)
# rid: the same nbhub giving each request an id as the hub's proxy does (X-Request-Id to the
# backend and back in the response), so that each run shows what request ids cost.
CONFIGPROXY_AUTH_TOKEN=$token "$NBHUB_BIN" proxy --ip 127.0.0.1 --port "$rid_port" \
  --api-ip 127.0.0.1 --api-port "$rid_api" --log-level warn --threads "$THREADS" --request-ids \
  2>"$work/logs/rid.log" & rid_pid=$!; pids+=($!)
# TLS: nbhub proxy terminating TLS itself, as configurable-http-proxy's --ssl-cert/--ssl-key.
CONFIGPROXY_AUTH_TOKEN=$token "$NBHUB_BIN" proxy --ip 127.0.0.1 --port "$tls_port" \
  --api-ip 127.0.0.1 --api-port "$tls_api" --log-level warn --threads "$THREADS" \
  --ssl-cert "$work/tls.crt" --ssl-key "$work/tls.key" 2>"$work/logs/tls.log" & tls_pid=$!; pids+=($!)
for p in $backend $ws_backend $nginx_proxy $control_proxy $nbhub_port $nbhub_api $nopoll_port $nopoll_api $rid_port $rid_api \
  $nginx_tls $tls_port $tls_api; do
  wait_port "$p"
done

add_route() {  # API_PORT PREFIX TARGET
  curl -fsS -X POST -H "Authorization: token $token" -d "{\"target\": \"$3\"}" \
    "http://127.0.0.1:$1/api/routes$2"
}
for api in $nbhub_api $nopoll_api $rid_api $tls_api; do
  add_route "$api" /user/bench "http://127.0.0.1:$backend"
  add_route "$api" /user/ws "http://127.0.0.1:$ws_backend"
done
for url in "http://127.0.0.1:$nbhub_port/user/bench/1k.bin" "http://127.0.0.1:$nginx_proxy/user/bench/1k.bin"; do
  cmp -s <(curl -fsS "$url") "$work/www/user/bench/1k.bin" || { echo "bench/proxy: $url serves the wrong bytes" >&2; exit 1; }
done

# CPU time of one process, in clock ticks (utime + stime).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)

# measure PID URL: "<requests/s> <p99 ms> <PID's CPU µs per request>"
# (WRK_ARGS: extra wrk arguments, e.g. a Connection: close header.)
WRK_ARGS=()
measure() {
  local t0 t1 out
  wrk -t1 -c"$CONNECTIONS" -d2s "${WRK_ARGS[@]}" "$2" >/dev/null  # warm-up: connections and pools
  t0=$(cpu_ticks "$1")
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${WRK_ARGS[@]}" "$2")
  t1=$(cpu_ticks "$1")
  awk -v cpu=$((t1 - t0)) -v tck="$tck" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /requests in/ { n = $1 }
    /Requests\/sec/ { rps = $2 }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx|Socket errors/ { bad = bad $0 }
    END { if (bad != "") print "bench/proxy: " bad > "/dev/stderr"
          printf "%.0f %.2f %.1f\n", rps, p99, cpu * 1e6 / tck / n }' <<<"$out"
}
# measure_ws PID URL: "<round trips/s> <p99 ms> <PID's CPU µs per round trip>"
measure_ws() {
  local t0 t1 out
  node "$here/ws_echo.mjs" client "$2" "$CONNECTIONS" 2 "$WS_BYTES" >/dev/null
  t0=$(cpu_ticks "$1")
  out=$(node "$here/ws_echo.mjs" client "$2" "$CONNECTIONS" "$DURATION" "$WS_BYTES")
  t1=$(cpu_ticks "$1")
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); c=int(sys.argv[2])*1e6/int(sys.argv[3])
print("%.0f %.2f %.1f" % (d["per_second"], d["p99_ms"], c / d["round_trips"]))' "$out" $((t1 - t0)) "$tck"
}
# The median of ROUNDS runs, column by column, alternating the two proxies so that both see
# the same background load. (Three busy processes share two cores here: a single run's p99
# swings by 10x when the scheduler parks one of them, so no single run is quoted.)
median_cols() { python3 -c 'import sys, statistics as st
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
print(" ".join("%g" % st.median(c) for c in zip(*rows)))'; }
# medians FN PID URL NGINX_URL -> three lines: PID's medians, nginx's, the rounds' ratios
medians() {
  local a=() b=() r
  for ((r = 0; r < ROUNDS; r++)); do
    a+=("$("$1" "$2" "$3")")
    b+=("$("$1" "$nginx_worker" "$4")")
  done
  printf '%s\n' "${a[@]}" | median_cols
  printf '%s\n' "${b[@]}" | median_cols
  # Each round's throughput ratio to nginx, lowest to highest: how far one run can be trusted.
  paste -d' ' <(printf '%s\n' "${a[@]}") <(printf '%s\n' "${b[@]}") |
    awk '{ printf "%.2f\n", $1 / $4 }' | sort -n | paste -sd' '
}
row() {
  local a_rps a_p99 a_cpu b_rps b_p99 b_cpu
  read -r a_rps a_p99 a_cpu <<<"$2"; read -r b_rps b_p99 b_cpu <<<"$3"
  printf '%-16s %9s %9s %6.2f   %7sms %7sms %6.2f   %8s %8s   %s\n' "$1" "$a_rps" "$b_rps" \
    "$(bc -l <<<"$a_rps / $b_rps")" "$a_p99" "$b_p99" "$(bc -l <<<"$a_p99 / $b_p99")" "$a_cpu" "$b_cpu" "$4"
}

nginx_worker=$(pgrep -P "$nginx_pid" | head -1)
control_worker=$(pgrep -P "$control_pid" | head -1)
echo "bench/proxy on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); nbhub --threads $THREADS vs nginx $(nginx -v 2>&1 | sed 's/.*\///') (1 worker)"
echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s; WebSocket: $CONNECTIONS connections, ${WS_BYTES}-byte echo round trips for ${DURATION}s; median of $ROUNDS runs"
printf '%-16s %9s %9s %6s   %9s %9s %6s   %8s %8s   %s\n' case "nbhub/s" "nginx/s" ratio "nbhub p99" "nginx p99" ratio \
  "nbhub µs" "nginx µs" "ratio per round"
for f in $CASES; do
  [[ $f == ws || $f == control || $f == nopoll || $f == rid || $f == tls* ]] && continue
  mapfile -t res < <(medians measure "$nbhub_pid" "http://127.0.0.1:$nbhub_port/user/bench/$f.bin" \
                                  "http://127.0.0.1:$nginx_proxy/user/bench/$f.bin")
  row "HTTP GET $f" "${res[0]}" "${res[1]}" "${res[2]}"
done
if [[ " $CASES " == *" ws "* ]]; then
  mapfile -t res < <(medians measure_ws "$nbhub_pid" "ws://127.0.0.1:$nbhub_port/user/ws/echo" \
                                     "ws://127.0.0.1:$nginx_proxy/user/ws/echo")
  row "WebSocket echo" "${res[0]}" "${res[1]}" "${res[2]}"
fi
# row_1k CASE LABEL PID PORT: another proxy in nbhub's columns, 1 KiB against the same nginx.
row_1k() {
  [[ " $CASES " == *" $1 "* ]] || return 0
  mapfile -t res < <(medians measure "$3" "http://127.0.0.1:$4/user/bench/1k.bin" \
                                  "http://127.0.0.1:$nginx_proxy/user/bench/1k.bin")
  row "$2" "${res[0]}" "${res[1]}" "${res[2]}"
}
row_1k control "control (1k)" "$control_worker" "$control_proxy"
row_1k nopoll "no polling (1k)" "$nopoll_pid" "$nopoll_port"
row_1k rid "request ids (1k)" "$rid_pid" "$rid_port"
for f in 1k 100k; do
  [[ " $CASES " == *" tls$f "* ]] || continue
  mapfile -t res < <(medians measure "$tls_pid" "https://127.0.0.1:$tls_port/user/bench/$f.bin" \
                                  "https://127.0.0.1:$nginx_tls/user/bench/$f.bin")
  row "TLS GET $f" "${res[0]}" "${res[1]}" "${res[2]}"
done
if [[ " $CASES " == *" tlshs "* ]]; then
  WRK_ARGS=(-H "Connection: close")
  mapfile -t res < <(medians measure "$tls_pid" "https://127.0.0.1:$tls_port/user/bench/1k.bin" \
                                  "https://127.0.0.1:$nginx_tls/user/bench/1k.bin")
  WRK_ARGS=()
  row "TLS handshakes" "${res[0]}" "${res[1]}" "${res[2]}"
fi
if [[ " $CASES " == *" tlsws "* ]]; then
  export NODE_EXTRA_CA_CERTS=$work/tls.crt
  mapfile -t res < <(medians measure_ws "$tls_pid" "wss://127.0.0.1:$tls_port/user/ws/echo" \
                                     "wss://127.0.0.1:$nginx_tls/user/ws/echo")
  row "WebSocket TLS" "${res[0]}" "${res[1]}" "${res[2]}"
fi
echo "(µs: each proxy's own CPU time per request or round trip; lower is better."
echo " ratio per round: each round's nbhub/nginx requests/s, lowest first;"
echo " control: a second, identical nginx in nbhub's columns, so its ratios are this machine's noise;"
echo " no polling: nbhub --busy-poll-us 0, so its ratio shows what polling before sleeping is worth;"
echo " request ids: nbhub --request-ids (X-Request-Id to the backend and in the response, as the hub's"
echo " proxy), so its ratio next to HTTP GET 1k's shows what the ids cost;"
echo " TLS rows: both proxies terminate TLS with the same certificate; handshakes: one request per"
echo " connection, a full TLS handshake each)"
read -r d_rps d_p99 _ <<<"$(measure "$(pgrep -P "$backend_pid" | head -1)" "http://127.0.0.1:$backend/user/bench/1k.bin")"
echo "(backend direct, no proxy, 1k: $d_rps req/s, p99 ${d_p99}ms; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
if grep -q . "$work/logs/nbhub.log"; then echo "nbhub log:"; tail -5 "$work/logs/nbhub.log"; fi
if grep -q . "$work/logs/tls.log"; then echo "nbhub (TLS) log:"; tail -5 "$work/logs/tls.log"; fi
