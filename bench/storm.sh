#!/usr/bin/env bash
# Login storms against a release build: 1,000 parallel logins with unknown users, with
# distinct wrong passwords, and with one correct password from a cold cache, while a
# verified user keeps asking for tokens. Prints answers, peak and final RSS, and the
# verified user's p50/p99 (figures: docs/security.md).
# Usage: [REGAUTH_BIN=path] [N=1000] bash bench/storm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${REGAUTH_BIN:-}" ]; then BIN=$REGAUTH_BIN; else
  cargo build --release --quiet
  BIN=$PWD/target/release/regauth
fi
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/regauth.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
[auth]
# The storm comes from one address: the failed-login limits would answer it with 429s,
# which is not what this measures (tests/hardening.rs covers them).
failed_logins_per_user_and_address = 1000000
failed_logins_per_address = 1000000
[token]
services = ["registry"]
algorithm = "ES256"
[keys]
dir = "$WORK/keys"
bundle = "$WORK/keys/bundle.pem"
[directory]
path = "$WORK/regauth.db"
[log]
level = "error"
[bootstrap]
admin_password = "bench-admin-password"
TOML
export REGAUTH_CONFIG=$WORK/regauth.toml
"$BIN" serve 2>"$WORK/log" & PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
echo "cached password" | "$BIN" user add cached
echo "victim password" | "$BIN" user add victim
curl -sf -u "cached:cached password" "http://127.0.0.1:$PORT/token?service=registry" >/dev/null
ulimit -n 65536 2>/dev/null || true
python3 bench/storm.py "$PORT" "$PID" "${N:-1000}"
