#!/usr/bin/env bash
# CPU cost per request as instructions counted by valgrind's callgrind: repeatable on a
# shared machine where wall-clock throughput drifts by 10-20 % between runs. Each build
# serves the same seeded directory under callgrind twice, for N1 and N2 requests of a
# scenario on one keep-alive connection; (I(N2) - I(N1)) / (N2 - N1) is the cost of
# one request, start-up and first-request work (argon2, caches) cancelled out.
# Usage: REGAUTH_BIN=old [NEW_BIN=new] [N1=100] [N2=400] bash bench/instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${REGAUTH_BIN:?set REGAUTH_BIN to the build to compare against}"
N1=${N1:-100}
N2=${N2:-400}
if [ -z "${NEW_BIN:-}" ]; then
  cargo build --release --quiet
  NEW_BIN=$PWD/target/release/regauth
fi
command -v valgrind >/dev/null || { echo "bench: installing valgrind"; apt-get install -y -qq valgrind >/dev/null; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# seed NAME BIN: a directory with the bench user, project and access token (run
# natively: argon2 under valgrind would take minutes); prints "PROJECT TOKEN".
seed() {
  local dir=$WORK/$1 bin=$2 port
  mkdir -p "$dir"
  port=$(free_port)
  cat >"$dir/regauth.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
workers = 1
[token]
services = ["registry"]
algorithm = "ES256"
[keys]
dir = "$dir/keys"
bundle = "$dir/keys/bundle.pem"
[directory]
path = "$dir/regauth.db"
[log]
level = "error"
[bootstrap]
admin_password = "bench-admin-password"
TOML
  # Once natively: the key and the first admin (argon2) are made at the first start.
  REGAUTH_CONFIG=$dir/regauth.toml "$bin" serve 2>>"$dir/log" &
  local pid=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.01; done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "bench password" | REGAUTH_CONFIG=$dir/regauth.toml "$bin" user add alice --certified >/dev/null
  local p t
  p=$(REGAUTH_CONFIG=$dir/regauth.toml "$bin" project add bench --owner alice)
  REGAUTH_CONFIG=$dir/regauth.toml "$bin" acl grant "$p" public READ,DOWNLOAD >/dev/null
  t=$(REGAUTH_CONFIG=$dir/regauth.toml "$bin" token create alice --scopes download,modify)
  echo "$p $t"
}

# count NAME BIN SCENARIO N: instructions of a server run that answered N requests.
count() {
  local dir=$WORK/$1 bin=$2 scenario=$3 n=$4 port out pid
  port=$(awk -F'"' '/^listen/ {split($2, a, ":"); print a[2]}' "$dir/regauth.toml")
  out=$WORK/cg.$1.$scenario.$n
  REGAUTH_CONFIG=$dir/regauth.toml valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$bin" serve 2>>"$dir/valgrind.log" &
  pid=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  python3 - "$port" "$scenario" "$n" "$(cat "$dir/project")" "$(cat "$dir/token")" <<'PY'
import base64, http.client, sys
port, scenario, n, project, token = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
basic = lambda u, p: "Basic " + base64.b64encode(f"{u}:{p}".encode()).decode()
q = f"service=registry&scope=repository:{project}/tool:pull,push"
path, headers = {
    "healthz": ("/healthz", {}),
    "anonymous": (f"/token?service=registry&scope=repository:{project}/public:pull", {}),
    "password": (f"/token?{q}", {"Authorization": basic("alice", "bench password")}),
    "token": (f"/token?{q}", {"Authorization": basic("x", token)}),
}[scenario]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
for _ in range(n):
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
  awk '/^summary:/ {print $2}' "$out"
}

for which in old new; do
  bin=$REGAUTH_BIN; [ "$which" = new ] && bin=$NEW_BIN
  read -r p t < <(seed "$which" "$bin")
  echo "$p" >"$WORK/$which/project"; echo "$t" >"$WORK/$which/token"
done
echo "regauth instructions per request (callgrind, ($N2 - $N1) requests), $(date -u +%FT%TZ)"
printf '%-10s %14s %14s %8s\n' scenario old new new/old
for scenario in healthz anonymous password token; do
  declare -A per
  for which in old new; do
    bin=$REGAUTH_BIN; [ "$which" = new ] && bin=$NEW_BIN
    a=$(count "$which" "$bin" "$scenario" "$N1")
    b=$(count "$which" "$bin" "$scenario" "$N2")
    per[$which]=$(( (b - a) / (N2 - N1) ))
  done
  printf '%-10s %14d %14d %7.1f%%\n' "$scenario" "${per[old]}" "${per[new]}" \
    "$(python3 -c "print(100*${per[new]}/${per[old]})")"
done
