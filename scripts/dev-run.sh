#!/usr/bin/env bash
# `make run`: the bundled test identity provider plus nbhub with a development config
# (SQLite in .dev/, users alice and bob, bob is an admin). Everything listens on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .dev
port=${NBHUB_PORT:-8000}

idp_out=.dev/idp.out
: > "$idp_out"
node tests/idp/server.mjs --mode generic >"$idp_out" 2>.dev/idp.log &
idp_pid=$!
trap 'kill $idp_pid 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 100); do
  grep -q '"ready":true' "$idp_out" && break
  kill -0 $idp_pid 2>/dev/null || { echo "the test IdP failed to start:"; cat .dev/idp.log; exit 1; }
  sleep 0.1
done
issuer=$(sed -n 's/.*"issuer":"\([^"]*\)".*/\1/p' "$idp_out")
[ -n "$issuer" ] || { echo "the test IdP did not report its address"; cat .dev/idp.log; exit 1; }

cat > .dev/nbhub.toml <<TOML
# Development config written by scripts/dev-run.sh; see docs/config.md for every option.
ip = "127.0.0.1"
port = $port
db_url = "sqlite:///nbhub.sqlite"
cookie_secret_file = "cookie_secret"

[auth]
admin_users = ["bob"]
allowed_users = ["alice"]
enable_auth_state = true

[[auth.providers]]
name = "test-idp"
kind = "oidc"
issuer = "$issuer"
client_id = "nbhub-test"
client_secret = "nbhub-test-secret"
login_service = "the bundled test IdP"
idp_logout = true
TOML

# Servers run as the user running `make run`, each in its own home under .dev/homes/ (away
# from the hub's files here in .dev/). As root that needs an explicit opt-in: development only.
if [ "$(id -u)" = 0 ]; then
  cat >> .dev/nbhub.toml <<'TOML'

[spawner]
allow_root_servers = true   # make run as root: servers run as root too (development only)
TOML
fi

# A fixed development key so auth_state survives restarts of `make run` (never use in production).
export NBHUB_CRYPT_KEY=${NBHUB_CRYPT_KEY:-$(printf 'nbhub-dev-only-key' | sha256sum | cut -c1-64)}
cat <<MSG

  nbhub:       http://127.0.0.1:$port/
  test IdP:    $issuer   (its log: .dev/idp.log)
  Sign in as   alice / alice-pw   (a user)
          or   bob / bob-pw       (an admin)
  Stop with Ctrl-C.

MSG
(cd .dev && ../build/nbhub -f nbhub.toml)
