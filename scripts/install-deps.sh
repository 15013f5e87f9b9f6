#!/usr/bin/env bash
# Installs what building, running and testing nbhub needs on Debian 12.
# Idempotent: packages already present are skipped, so `make run` / `make test` stay quick.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libssl-dev libcjose-dev libjansson-dev libsqlite3-dev libpq-dev postgresql libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev
  libyaml-cpp-dev  # z2jh mode: the zero-to-jupyterhub chart's values.yaml
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  lld  # links nbhub with its start-up code grouped (CMakeLists.txt: NBHUB_STARTUP_ORDER)
  jupyterhub python3 curl ca-certificates nginx wrk
  docker.io  # dockerd for the Docker spawner tests (a private daemon per test process)
  python3-kubernetes
  openssl  # the openssl command: test certificates (tests/integration/harness/certs.py), bench/proxy TLS rows
  python3-prometheus-client  # tests/integration/test_metrics.py parses /hub/metrics with its parser
  pebble  # tests/integration/test_acme_pebble.py: Let's Encrypt's test ACME server and its DNS (pebble-challtestsrv)
  # JupyterHub 3.0's own test suite, run against nbhub proxy (tests/integration/test_jupyterhub_suite.py)
  python3-pytest python3-pytest-asyncio python3-pytest-timeout
)
if [[ "${NBHUB_BROWSER_TESTS:-1}" == 1 ]]; then apt_packages+=(chromium); fi

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq nodejs npm >/dev/null
fi

# npm packages from the committed lock file (test IdP, browser tests).
if [[ ! -d tests/node_modules || tests/package-lock.json -nt tests/node_modules/.package-lock.json ]]; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi

# kubectl 1.20 (Debian's kubernetes-client) for the fake Kubernetes API server tests (tests/k8s). It cannot
# be installed: /usr/bin/kubectl belongs to another preinstalled package, so it is extracted into tests/k8s/.tools.
k120=tests/k8s/.tools/kubectl-1.20
if [[ ! -x $k120/usr/bin/kubectl ]]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq kubernetes-client 2>/dev/null) && mkdir -p "$k120" \
    && dpkg -x "$tmp"/kubernetes-client_*.deb "$k120" \
    || echo "install-deps: could not fetch Debian's kubernetes-client; the kubectl 1.20 tests will be skipped"
  rm -rf "$tmp"
fi
