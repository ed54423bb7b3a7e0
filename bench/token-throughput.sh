#!/usr/bin/env bash
# Token endpoint throughput, measured with wrk against a release build on loopback.
#
# Prints requests/s and latency for the request shapes real clients send:
#   anonymous login, password pull (docker without identity token), access-token pull,
#   refresh-token POST (docker with identity token), wrong password (a push burst with a
#   bad password: must not hammer argon2).
# Usage: [ALG=ES256] [REGAUTH_BIN=path] bash bench/token-throughput.sh [seconds-per-scenario] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
CONNS=${2:-16}
command -v wrk >/dev/null || { echo "bench: installing wrk"; apt-get install -y -qq wrk >/dev/null; }
# REGAUTH_BIN compares another build (e.g. main's) in the same sitting: figures are only
# comparable as ratios from one run on this shared machine.
if [ -n "${REGAUTH_BIN:-}" ]; then BIN=$REGAUTH_BIN; else
  cargo build --release --quiet
  BIN=$PWD/target/release/regauth
fi
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ALG=${ALG:-RS256}
cat > "$WORK/regauth.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
[token]
services = ["registry"]
algorithm = "$ALG"
[keys]
dir = "$WORK/keys"
bundle = "$WORK/keys/bundle.pem"
[directory]
path = "$WORK/regauth.db"
[log]
level = "warn"
[bootstrap]
admin_password = "bench-admin-password"
TOML
export REGAUTH_CONFIG=$WORK/regauth.toml
"$BIN" serve 2>"$WORK/log" & PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
echo "bench password" | "$BIN" user add alice --certified
P=$("$BIN" project add bench --owner alice)
TOKEN=$("$BIN" token create alice --scopes download,modify)
REFRESH=$(curl -sf -u "alice:bench password" "http://127.0.0.1:$PORT/token?service=registry&offline_token=true&client_id=docker" | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])')
B64() { printf '%s' "$1" | base64 -w0; }
Q="service=registry&scope=repository:$P/tool:pull,push"
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=refresh_token&service=registry&client_id=docker&refresh_token=$REFRESH&scope=repository:$P/tool:pull,push"
LUA
run() {
  local name=$1; shift
  local out rps lat
  out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$@")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  lat=$(awk '/ 99%/ {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%-34s %10s req/s   p99 %8s   non-2xx %s\n' "$name" "$rps" "$lat" "${non2xx:-0}"
}
echo "regauth token endpoint, $ALG, ${SECS}s per scenario, $CONNS connections, $(nproc) cores"
run "anonymous login (no scope)" "http://127.0.0.1:$PORT/token?service=registry"
run "password, pull+push scope" -H "Authorization: Basic $(B64 "alice:bench password")" "http://127.0.0.1:$PORT/token?$Q"
run "access token, pull+push scope" -H "Authorization: Basic $(B64 "x:$TOKEN")" "http://127.0.0.1:$PORT/token?$Q"
run "refresh token POST" -s "$WORK/post.lua" "http://127.0.0.1:$PORT/token"
run "wrong password (401s)" -H "Authorization: Basic $(B64 "alice:wrong")" "http://127.0.0.1:$PORT/token?$Q"
