#!/usr/bin/env bash
# Backup, restore and check on a large directory, and the token throughput while backups
# run back to back (issue 24): prints each command's wall clock and, per round, the
# access-token rate without backups, with them, and the ratio.
# Usage: [REGAUTH_BIN=path] [USERS=100000] [ACLS=1000000] bash bench/backup.sh [rounds] [seconds]
# REGAUTH_BIN measures another build (say main's) the same way; compare ratios from one
# sitting, since absolute rates on this shared machine drift.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
SECS=${2:-6}
USERS=${USERS:-100000}
ACLS=${ACLS:-1000000}
command -v wrk >/dev/null || { echo "bench: installing wrk"; apt-get install -y -qq wrk >/dev/null; }
if [ -n "${REGAUTH_BIN:-}" ]; then BIN=$REGAUTH_BIN; else
  cargo build --release --quiet
  BIN=$PWD/target/release/regauth
fi
WORK=$(mktemp -d)
PID=
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
config() {
  cat > "$1" <<TOML
[server]
listen = "127.0.0.1:$PORT"
[token]
services = ["registry"]
[keys]
dir = "$WORK/keys"
bundle = "$WORK/keys/bundle.pem"
[directory]
path = "$2"
[log]
level = "warn"
[bootstrap]
admin_password = "bench-admin-password"
TOML
}
config "$WORK/regauth.toml" "$WORK/dir/regauth.db"
config "$WORK/restored.toml" "$WORK/restored/regauth.db"
export REGAUTH_CONFIG=$WORK/regauth.toml
"$BIN" migrate >/dev/null
python3 bench/seed.py "$WORK/dir/regauth.db" "$USERS" 1000 1000 10000 "$ACLS" </dev/null
"$BIN" acl grant syn10000000 u0 READ,DOWNLOAD >/dev/null
TOKEN=$("$BIN" token create u0 --scopes download)
clock() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); awk "BEGIN {printf \"%.2f\", $t1 - $t0}"; }
echo "on $(nproc) cores, $(du -h "$WORK/dir/regauth.db" | cut -f1) directory; $BIN"
printf '%-44s %8s s\n' "directory backup (server stopped)" "$(clock "$BIN" directory backup --to "$WORK/b1.backup")"
printf '%-44s %8s s\n' "directory restore (into an empty SQLite one)" "$(clock "$BIN" --config "$WORK/restored.toml" directory restore --from "$WORK/b1.backup")"
printf '%-44s %8s s\n' "directory check" "$(clock "$BIN" directory check)"
"$BIN" serve 2>"$WORK/log" & PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT/token?service=registry&scope=repository:syn10000000/repo1:pull"
AUTH="Authorization: Basic $(printf 'x:%s' "$TOKEN" | base64 -w0)"
curl -sf -H "$AUTH" "$URL" | python3 -c 'import base64, json, sys
claims = json.load(sys.stdin)["token"].split(".")[1]
access = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["access"]
sys.exit(0 if access and "pull" in access[0]["actions"] else 1)' || { echo "bench: the seeded token is not granted pull"; exit 1; }
rate() { wrk -t2 -c16 -d"${SECS}s" -H "$AUTH" "$URL" | awk '/Requests\/sec/ {print $2}'; }
echo "access-token pull, wrk 16 connections, ${SECS}s; backups run back to back in the 'with' column"
printf '%-6s %10s %10s %8s %8s\n' round without with ratio backups
for r in $(seq "$ROUNDS"); do
  without=$(rate)
  : >"$WORK/done"
  ( n=0; while [ ! -s "$WORK/done" ]; do "$BIN" directory backup --to "$WORK/loop.backup" >/dev/null; n=$((n+1)); done; echo $n >"$WORK/count" ) &
  LOOP=$!
  with=$(rate)
  echo stop >"$WORK/done"; wait $LOOP
  printf '%-6s %10s %10s %7s%% %8s\n' "$r" "$without" "$with" "$(awk "BEGIN {printf \"%.0f\", 100 * $with / $without}")" "$(cat "$WORK/count")"
done
