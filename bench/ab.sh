#!/usr/bin/env bash
# Side by side: this build against another (REGAUTH_BIN, e.g. the previous release) on
# the token scenarios, both servers up at once and measured in alternation (A B, then
# B A, ...) so that a shared machine's drift falls on both alike. Prints each
# scenario's median req/s per build over ROUNDS rounds and the ratio of the medians,
# with the spread of the per-round ratios.
# With AB_DIRECTORY=postgres both servers run on one throw-away PostgreSQL cluster
# (tests/setup/postgres.sh), each on a database of its own.
# Usage: REGAUTH_BIN=path/to/old/regauth [NEW_BIN=path] [SECS=3] [ROUNDS=5]
#        [AB_DIRECTORY=sqlite|postgres] bash bench/ab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${REGAUTH_BIN:?set REGAUTH_BIN to the build to compare against}"
SECS=${SECS:-3}
ROUNDS=${ROUNDS:-5}
if [ -z "${NEW_BIN:-}" ]; then
  cargo build --release --quiet
  NEW_BIN=$PWD/target/release/regauth
fi
command -v wrk >/dev/null || { echo "bench: installing wrk"; apt-get install -y -qq wrk >/dev/null; }
WORK=$(mktemp -d)
PIDS=()
PGDIR=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -n "$PGDIR" ] && bash tests/setup/postgres.sh stop "$PGDIR"
  rm -rf "$WORK"
}
trap cleanup EXIT
PG_URL=""
if [ "${AB_DIRECTORY:-sqlite}" = postgres ]; then
  PGDIR=$(mktemp -d /tmp/regauth-ab-pg.XXXXXX) # outside WORK: the postgres user reads it
  PG_URL=$(bash tests/setup/postgres.sh start "$PGDIR")
fi
# directory NAME: the [directory] lines of server NAME (a database of its own on
# PostgreSQL, made here).
directory() {
  if [ -z "$PG_URL" ]; then echo "path = \"$WORK/$1/regauth.db\""; return; fi
  local pgbin
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  "$pgbin/createdb" --maintenance-db="$PG_URL" "$1"
  echo "url = \"${PG_URL%/*}/$1\""
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
B64() { printf '%s' "$1" | base64 -w0; }

# serve NAME BIN: a server over its own fresh directory; prints its base URL and the
# bench user's project, access token and refresh token, space-separated.
serve() {
  local name=$1 bin=$2 dir=$WORK/$1 port nport p token refresh
  mkdir -p "$dir"
  port=$(free_port)
  nport=$(free_port)
  cat >"$dir/regauth.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
notifications_listen = "127.0.0.1:$nport"
[token]
services = ["registry"]
algorithm = "ES256"
[keys]
dir = "$dir/keys"
bundle = "$dir/keys/bundle.pem"
[directory]
$(directory "$name")
[notifications]
secret = "bench-notify-secret"
[log]
level = "error"
[bootstrap]
admin_password = "bench-admin-password"
TOML
  export REGAUTH_CONFIG=$dir/regauth.toml
  "$bin" serve 2>>"$dir/log" &
  echo $! >"$dir/pid"
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.01; done
  echo "bench password" | "$bin" user add alice --certified >/dev/null
  p=$("$bin" project add bench --owner alice)
  "$bin" acl grant "$p" public READ,DOWNLOAD >/dev/null
  token=$("$bin" token create alice --scopes download,modify)
  refresh=$(curl -sf -u "alice:bench password" \
    "http://127.0.0.1:$port/token?service=registry&offline_token=true&client_id=docker" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])')
  echo "http://127.0.0.1:$port $p $token $refresh"
}

read -r U_OLD P_OLD T_OLD R_OLD < <(serve old "$REGAUTH_BIN")
PIDS+=("$(cat "$WORK/old/pid")")
read -r U_NEW P_NEW T_NEW R_NEW < <(serve new "$NEW_BIN")
PIDS+=("$(cat "$WORK/new/pid")")

# run WHICH SCENARIO: one wrk run of SCENARIO against build WHICH; prints req/s.
run() {
  local which=$1 scenario=$2 u p t r
  if [ "$which" = old ]; then u=$U_OLD p=$P_OLD t=$T_OLD r=$R_OLD; else u=$U_NEW p=$P_NEW t=$T_NEW r=$R_NEW; fi
  local q="service=registry&scope=repository:$p/tool:pull,push" args=()
  case $scenario in
    healthz) args=("$u/healthz") ;;
    anonymous) args=("$u/token?service=registry&scope=repository:$p/public:pull") ;;
    password) args=(-H "Authorization: Basic $(B64 "alice:bench password")" "$u/token?$q") ;;
    token) args=(-H "Authorization: Basic $(B64 "x:$t")" "$u/token?$q") ;;
    refresh)
      cat >"$WORK/post-$which.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=refresh_token&service=registry&client_id=docker&refresh_token=$r&scope=repository:$p/tool:pull,push"
LUA
      args=(-s "$WORK/post-$which.lua" "$u/token") ;;
    scopes10)
      local s="" i
      for i in $(seq 10); do s="$s&scope=repository:$p/tool$i:pull,push"; done
      args=(-H "Authorization: Basic $(B64 "alice:bench password")" "$u/token?service=registry$s") ;;
  esac
  wrk -t2 -c16 -d"${SECS}s" "${args[@]}" | awk '/Requests\/sec/ {print $2}'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "regauth A/B, $(nproc) cores, ${SECS}s x $ROUNDS rounds per build and scenario, ${AB_DIRECTORY:-sqlite}, $(date -u +%FT%TZ)"
echo "old: $REGAUTH_BIN"
echo "new: $NEW_BIN"
printf '%-12s %12s %12s %8s %16s\n' scenario "old req/s" "new req/s" new/old "per-round range"
for scenario in healthz anonymous password token refresh scopes10; do
  : >"$WORK/old.$scenario"; : >"$WORK/new.$scenario"; : >"$WORK/ratio.$scenario"
  run old "$scenario" >/dev/null; run new "$scenario" >/dev/null   # warm both
  for round in $(seq "$ROUNDS"); do
    if ((round % 2)); then order="old new"; else order="new old"; fi
    for which in $order; do run "$which" "$scenario" >"$WORK/last.$which"; done
    cat "$WORK/last.old" >>"$WORK/old.$scenario"
    cat "$WORK/last.new" >>"$WORK/new.$scenario"
    python3 -c "print(float(open('$WORK/last.new').read()) / float(open('$WORK/last.old').read()))" >>"$WORK/ratio.$scenario"
  done
  o=$(median <"$WORK/old.$scenario"); n=$(median <"$WORK/new.$scenario")
  lo=$(sort -n "$WORK/ratio.$scenario" | head -1); hi=$(sort -n "$WORK/ratio.$scenario" | tail -1)
  printf '%-12s %12.0f %12.0f %7.1f%% %7.1f%%..%5.1f%%\n' "$scenario" "$o" "$n" \
    "$(python3 -c "print(100*$n/$o)")" "$(python3 -c "print(100*$lo)")" "$(python3 -c "print(100*$hi)")"
done
