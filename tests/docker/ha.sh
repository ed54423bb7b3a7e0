#!/usr/bin/env bash
# The high-availability Docker suite: docker-compose.yml with docker-compose.ha.yml on top
# (PostgreSQL, two regauth replicas sharing it and the key volumes, HAProxy in front), on
# locally built images (tests/docker/build-images.sh), driven by the real docker CLI.
# Besides the set-up it checks the two failures HA is for:
#   - a replica is killed (docker kill) while 200 docker pulls run: none of them fails, a
#     push made meanwhile reaches the surviving replica, and the killed one comes back;
#   - PostgreSQL stops for 10 s while pulls run: tokens are refused with regauth's own
#     503 UNAVAILABLE errcode JSON meanwhile, and pulls work again once it is back, with
#     nothing restarted.
# A Prometheus (the override's, on deploy/prometheus's configuration and rules with 2 s
# intervals) scrapes both replicas: both targets up, every rule loaded, RegauthReplicaDown
# pending while replica 1 is killed, and tokens counted on both replicas after the pulls.
# Each check prints "ok" or "FAIL"; the last line is "N passed, M failed" and the exit
# status is non-zero when anything failed. Everything it starts (containers, volumes,
# network, images, a private DOCKER_CONFIG) is removed at the end, and that is checked.
#
# Usage: tests/docker/ha.sh [PATH/TO/regauth]   (default target/debug/regauth; a binary
# with PostgreSQL support)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
binary=${1:-target/debug/regauth}
[ -x "$binary" ] || cargo build --bin regauth || exit 1
bash tests/docker/build-images.sh "$binary" || exit 1
suite_start=$SECONDS

# ---------------------------------------------------------------- harness
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

# ---------------------------------------------------------------- the stack
work=$(mktemp -d /tmp/regauth-ha.XXXXXX) || exit 1
project=regauthha$$
RP=$(free_port)
AP=$(free_port)
LP=$(free_port)
MP=$(free_port)
while [ "$AP" = "$RP" ]; do AP=$(free_port); done
while [ "$LP" = "$RP" ] || [ "$LP" = "$AP" ]; do LP=$(free_port); done
while [[ " $RP $AP $LP " == *" $MP "* ]]; do MP=$(free_port); done
[[ $RP =~ ^[0-9]+$ && $AP =~ ^[0-9]+$ && $LP =~ ^[0-9]+$ && $MP =~ ^[0-9]+$ ]] ||
  { echo "ha: no free port ($RP, $AP, $LP, $MP)"; exit 1; }
# A /24 for the compose network that no docker network and no route of the host overlaps
# (the override fixes the subnet: the load balancer has a fixed address, the one trusted).
net=$(python3 - <<'PY'
import ipaddress, json, subprocess
used = []
ids = subprocess.run(["docker", "network", "ls", "-q"], capture_output=True, text=True).stdout.split()
if ids:
    for n in json.loads(subprocess.run(["docker", "network", "inspect", *ids],
                                       capture_output=True, text=True).stdout or "[]"):
        for c in (n.get("IPAM") or {}).get("Config") or []:
            if c.get("Subnet"):
                used.append(ipaddress.ip_network(c["Subnet"], strict=False))
for line in subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout.splitlines():
    dest = line.split()[0] if line.split() else ""
    if dest and dest != "default":
        try:
            used.append(ipaddress.ip_network(dest, strict=False))
        except ValueError:
            pass
for n in range(254, 127, -1):
    cand = ipaddress.ip_network(f"172.31.{n}.0/24")
    if not any(cand.overlaps(u) for u in used if u.version == 4):
        print(f"172.31.{n}")
        break
PY
)
[[ $net =~ ^172\.31\.[0-9]+$ ]] || { echo "ha: no free /24 in 172.31.128.0/17 for the network"; exit 1; }
reg=127.0.0.1:$RP
api=http://127.0.0.1:$LP          # the load balancer: what clients use
direct=http://127.0.0.1:$AP       # replica 1's own published port (docker-compose.yml's)
prom=http://127.0.0.1:$MP         # Prometheus's HTTP API
lb_ip=$net.250
gateway=$net.1

export COMPOSE_PROJECT_NAME=$project
export REGAUTH_IMAGE=local/regauth:test REGISTRY_IMAGE=local/registry:2
export POSTGRES_IMAGE=local/postgres:15-debian LB_IMAGE=local/haproxy:debian
export PROMETHEUS_IMAGE=local/prometheus:debian PROMETHEUS_PORT=$MP PROMETHEUS_CONFIG=$work/prometheus.yml
export REGISTRY_PORT=$RP REGAUTH_PORT=$AP LB_PORT=$LP REGAUTH_REALM=$api/token REGISTRY_HOSTS=$reg
export REGAUTH_HA_NET=$net
rnd() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }
REGAUTH_NOTIFY_SECRET=$(rnd)
POSTGRES_PASSWORD=$(rnd)
REGAUTH_ADMIN_PASSWORD=admin-$(rnd)
export REGAUTH_NOTIFY_SECRET POSTGRES_PASSWORD REGAUTH_ADMIN_PASSWORD
export DOCKER_CONFIG=$work/docker-config
mkdir -p "$DOCKER_CONFIG"

compose() {
  docker-compose -f "$ROOT/docker-compose.yml" -f "$ROOT/docker-compose.ha.yml" \
    --project-directory "$ROOT" "$@"
}
# The regauth CLI inside replica 1 (ra) and replica 2 (ra2), as an operator runs it.
ra() { compose exec -T regauth regauth "$@"; }
ra2() { compose exec -T regauth2 regauth "$@"; }
cid() { compose ps -q "$1"; }

P="" r1="" r2="" lbc="" kid="" digest="" digest2=""
loop_pid=""
torn_down=0
teardown() {
  ((torn_down)) && return
  torn_down=1
  [ -n "$loop_pid" ] && kill "$loop_pid" 2>/dev/null && wait "$loop_pid" 2>/dev/null
  compose down -v --remove-orphans >/dev/null 2>&1
  docker images -q --filter "reference=$reg/*/*" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1
  rm -rf "$work"
}
trap teardown EXIT
trap 'exit 130' INT TERM
# The example configuration with 2 s scrape and evaluation intervals (15 s and 30 s there):
# the suite waits seconds, not minutes, for a scrape. Same targets, job and rules.
sed -e 's/^  scrape_interval: 15s$/  scrape_interval: 2s/' -e 's/^  evaluation_interval: 30s$/  evaluation_interval: 2s/' \
  deploy/prometheus/prometheus.yml >"$PROMETHEUS_CONFIG" && chmod 0644 "$PROMETHEUS_CONFIG"
[ "$(grep -cE '^  (scrape|evaluation)_interval: 2s$' "$PROMETHEUS_CONFIG")" = 2 ] ||
  { echo "ha: deploy/prometheus/prometheus.yml's global intervals are no longer 15s and 30s"; exit 1; }

echo "ha: compose project $project, registry $reg, load balancer $api, replica 1 $direct, Prometheus $prom, network $net.0/24 ($(docker-compose version --short))"
if ! out=$(compose up -d --no-build 2>&1); then
  fail "docker-compose -f docker-compose.yml -f docker-compose.ha.yml up -d" "$out"
  compose logs --no-color --tail 20 regauth regauth2 postgres 2>&1 | tail -40
  echo "$passed passed, $failed failed"
  exit 1
fi
ok "docker-compose -f docker-compose.yml -f docker-compose.ha.yml up -d"
v2_config() {
  docker compose -f "$ROOT/docker-compose.yml" -f "$ROOT/docker-compose.ha.yml" \
    --project-directory "$ROOT" config -q
}
check "Compose v2 reads the same two files (docker compose config)" v2_config
running() { prints true docker inspect --format '{{.State.Running}}' "$1"; }
healthy() { prints healthy docker inspect --format '{{.State.Health.Status}}' "$1"; }
for s in postgres regauth regauth2 lb registry prometheus; do
  c=$(cid "$s" 2>/dev/null)
  if [ -n "$c" ] && running "$c" >/dev/null 2>&1; then ok "service $s runs"; else fail "service $s runs" "$(compose ps 2>&1)"; fi
done
capture r1 "replica 1's container (service regauth)" cid regauth
capture r2 "replica 2's container (service regauth2)" cid regauth2
capture lbc "the load balancer's container (service lb)" cid lb
check "PostgreSQL is healthy (pg_isready)" eventually 30 healthy "$(cid postgres)"
check "replica 1 is healthy" eventually 60 healthy "$r1"
check "replica 2 is healthy" eventually 60 healthy "$r2"
registry_up() { http_status 401 "http://$reg/v2/"; }
check "the registry answers 401" eventually 30 registry_up
challenge() {
  local head
  head=$(curl -si "http://$reg/v2/") || return 1
  grep -qiF "www-authenticate: Bearer realm=\"$api/token\",service=\"registry\"" <<<"$head" ||
    { echo "$head"; return 1; }
}
check "the registry's challenge names the load balancer's realm" challenge
lb_ready() { http_status 200 "$api/readyz"; }
check "the load balancer answers (/readyz through it: 200)" eventually 30 lb_ready
check "the webhook is not served on the load balancer's public port (404)" \
  http_status 404 -X POST "$api/notifications"
lb_address() { prints "$lb_ip" docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$lbc"; }
check "the load balancer has its fixed address $lb_ip (the trusted proxy)" lb_address

# ---------------------------------------------------------------- Prometheus
# prom_json PATH [CURL-ARGS]: the "data" of Prometheus's HTTP API answer at PATH.
prom_json() {
  local body
  body=$(curl -sfG "${@:2}" "$prom$1") || { echo "Prometheus at $prom: no answer to $1"; return 1; }
  python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["status"] == "success", d; print(json.dumps(d["data"]))' <<<"$body"
}
# prom_py PATH PYTHON [ARGS]: PYTHON, given `d` (prom_json PATH) and `a` (ARGS), fails
# with a message naming what it saw (`sys.exit(message)`).
prom_py() {
  local data
  data=$(prom_json "$1") || { echo "$data"; return 1; }
  python3 -c "import json, re, sys; d = json.load(sys.stdin); a = sys.argv[1:]; $2" "${@:3}" <<<"$data"
}
# Job regauth's targets are the two replicas' internal listeners, both up.
targets_up() {
  prom_py /api/v1/targets '
t = {x["labels"]["instance"]: x["health"] + " " + x["lastError"] for x in d["activeTargets"] if x["labels"]["job"] == "regauth"}
sys.exit(0 if t == {"regauth:5002": "up ", "regauth2:5002": "up "} else f"job regauth: {t}")'
}
check "Prometheus scrapes both replicas' internal listener: targets regauth:5002, regauth2:5002 up" \
  eventually 30 targets_up
# Every group, recording rule and alert of regauth-rules.yml is loaded, evaluated without error.
rules_loaded() {
  prom_py /api/v1/rules '
want, g = {}, None
for line in open(a[0]):
    m = re.match(r"  - name: (\S+)$|      - (?:record|alert): (\S+)$", line)
    if m and m[1]: g = want.setdefault(m[1], [])
    elif m: g.append(m[2])
got = {x["name"]: [r["name"] for r in x["rules"]] for x in d["groups"]}
bad = [(r["name"], r["health"], r.get("lastError")) for x in d["groups"] for r in x["rules"] if r["health"] != "ok"]
sys.exit(0 if got == want and want and not bad else f"loaded {got}, not {want}; not ok: {bad}")' \
    deploy/prometheus/regauth-rules.yml
}
check "Prometheus loaded every rule of deploy/prometheus/regauth-rules.yml and evaluates them (/api/v1/rules)" \
  eventually 20 rules_loaded

# ---------------------------------------------------------------- one key, one directory
# keys list: kid, algorithm, stamp, state; exactly one key, the signing one.
one_key() {
  local keys
  keys=$("$@" keys list) || return 1
  keys=$(tr -d '\r' <<<"$keys")
  [ "$(grep -c . <<<"$keys")" = 1 ] && [ "$(cut -f4 <<<"$keys")" = signing ] ||
    { echo "$keys"; return 1; }
  cut -f1 <<<"$keys"
}
kid2=""
capture kid "replica 1: exactly one key in the shared key volume, and it signs" one_key ra
capture kid2 "replica 2: the same one key" one_key ra2
check "both replicas name the same kid ($kid)" test -n "$kid" -a "$kid" = "$kid2"
one_admin() {
  local users
  users=$(ra2 user list) || return 1
  [ "$(grep -c $'^admin\t' <<<"$users")" = 1 ] || { echo "$users"; return 1; }
}
check "one bootstrap admin although both replicas started at once" one_admin
check "the admin's password (REGAUTH_ADMIN_PASSWORD) is accepted through the load balancer" \
  http_status 200 -u "admin:$REGAUTH_ADMIN_PASSWORD" "$api/token?service=registry"

pw_alice=alice-$RANDOM-correct-horse
check "replica 1's CLI adds user alice (certified)" ra user add alice --certified <<<"$pw_alice"
capture P "replica 1's CLI creates project tools (owner alice)" ra project add tools --owner alice
check "project id $P" grep -qxE 'syn[0-9]+' <<<"$P"
replica2_sees_alice() {
  local users
  users=$(ra2 user list) || return 1
  grep -qE $'^alice\tcertified' <<<"$users" || { echo "$users"; return 1; }
}
check "replica 2 sees alice at once (one PostgreSQL)" replica2_sees_alice
replica2_sees_project() {
  local projects
  projects=$(ra2 project list) || return 1
  grep -qx "$P"$'\t'tools <<<"$projects" || { echo "$projects"; return 1; }
}
check "replica 2 sees project $P" replica2_sees_project

# Tokens through the load balancer come from both replicas (round robin), carry the one
# kid, and each replica's log has the jti of the ones it signed.
# token_of USER PW [CURL-ARGS]: "KID JTI" of a token for pulling tools, through the LB ($api).
token_of() {
  local body
  body=$(curl -sf -u "$1:$2" "${@:3}" "$api/token?service=registry&scope=repository:$P/tool:pull") || return 1
  python3 -c '
import base64, json, sys
t = json.load(sys.stdin)["token"]
h, p = (json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))) for s in t.split(".")[:2])
print(h.get("kid", ""), p["jti"])' <<<"$body"
}
# log_field CONTAINER JTI FIELD: FIELD of the token log line with that jti.
log_field() {
  local logs
  logs=$(docker logs "$1" 2>&1) || return 1
  python3 -c '
import json, sys
for line in sys.stdin:
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    if isinstance(rec, dict) and rec.get("jti") == sys.argv[1]:
        print(rec.get(sys.argv[2], "")); break' "$2" "$3" <<<"$logs"
}
both_sign() {
  local i t k j by1=0 by2=0
  for i in 1 2 3 4 5 6; do
    t=$(token_of alice "$pw_alice") || { echo "no token"; return 1; }
    read -r k j <<<"$t"
    [ "$k" = "$kid" ] || { echo "token kid '$k', not '$kid'"; return 1; }
    if [ -n "$(log_field "$r1" "$j" jti)" ]; then by1=$((by1 + 1)); fi
    if [ -n "$(log_field "$r2" "$j" jti)" ]; then by2=$((by2 + 1)); fi
  done
  ((by1 > 0 && by2 > 0 && by1 + by2 == 6)) || { echo "signed by replica 1: $by1, replica 2: $by2 of 6"; return 1; }
}
check "tokens through the load balancer come from both replicas, all with kid $kid" both_sign
# client_ip_seen URL-BASE XFF: the client address regauth logged for a token requested at
# URL-BASE with a forged X-Forwarded-For.
client_ip_seen() {
  local base=$1 t j
  t=$(api=$base token_of alice "$pw_alice" -H "X-Forwarded-For: $2") || return 1
  j=${t#* }
  { log_field "$r1" "$j" client_ip; log_field "$r2" "$j" client_ip; } | grep . |
    sed -E 's/^Some\((.*)\)$/\1/'
}
# The host's connections reach the LB (and replica 1's own port) through docker's proxy,
# from the network's gateway: that is the client. A forged header is not believed, and
# the LB's own address never shows (regauth believes the LB's X-Forwarded-For).
xff_lb() {
  local ip
  ip=$(client_ip_seen "$api" 203.0.113.7) || { echo "no client_ip logged"; return 1; }
  [ "$ip" = "$gateway" ] || { echo "client_ip '$ip', not $gateway"; return 1; }
}
check "through the LB regauth logs the client's address ($gateway), not the LB's nor a forged one" xff_lb
xff_direct() {
  local ip
  ip=$(client_ip_seen "$direct" 203.0.113.9) || { echo "no client_ip logged"; return 1; }
  [ "$ip" = "$gateway" ] || { echo "client_ip '$ip', not $gateway"; return 1; }
}
check "replica 1's own port does not believe a client's X-Forwarded-For" xff_direct

# ---------------------------------------------------------------- docker through the LB
tiny() {
  mkdir -p "$work/ctx-$1" &&
    echo "$1 $RANDOM $(date +%s%N)" >"$work/ctx-$1/hello.txt" &&
    tar -C "$work/ctx-$1" -c hello.txt | docker import - "$2"
}
login() { docker login -u "$1" --password-stdin "$reg" <<<"$2"; }
check "docker login -u alice (token from the load balancer)" login alice "$pw_alice"
identity_token() {
  python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["auths"][sys.argv[2]]
assert e.get("identitytoken", "").startswith("rgr_"), e' "$DOCKER_CONFIG/config.json" "$reg"
}
check "the CLI stored an identity token" identity_token
image=$reg/$P/tool
check "image tool:v1 made locally" tiny v1 "$image:v1"
push_digest() {
  local out
  out=$(docker push "$1" 2>&1) || { echo "$out"; return 1; }
  grep -oE 'digest: sha256:[0-9a-f]{64}' <<<"$out" | cut -d' ' -f2
}
capture digest "docker push $P/tool:v1" push_digest "$image:v1"
docker rmi "$image:v1" >/dev/null 2>&1
check "docker pull $P/tool:v1" docker pull -q "$image:v1"
# tag_is TAG DIGEST: the read API, through the LB, lists TAG with DIGEST.
tag_is() {
  local body
  is_digest "$2" || return 1
  body=$(curl -sf -u "alice:$pw_alice" "$api/api/v1/repository/tags?path=$P/tool") || return 1
  python3 -c '
import json, sys
tags = {t["tag"]: t["digest"] for t in json.load(sys.stdin)["tags"]}
sys.exit(0 if tags.get(sys.argv[1]) == sys.argv[2] else f"tags: {tags}")' "$1" "$2" <<<"$body"
}
check "the read API (through the LB) lists v1 with its digest" eventually 20 tag_is v1 "$digest"

# ---------------------------------------------------------------- kill test
# pull_loop FILE COUNT GAP: COUNT pulls of tool:v1 with the stored identity token, one line
# "i start_ns end_ns status" each in FILE; failures' output in FILE.err.
pull_loop() {
  local file=$1 n=$2 gap=$3 i s e rc out
  for ((i = 1; i <= n; i++)); do
    s=$(date +%s%N)
    out=$(docker pull -q "$image:v1" 2>&1)
    rc=$?
    e=$(date +%s%N)
    echo "$i $s $e $rc" >>"$file"
    ((rc == 0)) || printf '%s pull %s: %s\n' "$(date +%T.%N | cut -c1-12)" "$i" "$out" >>"$file.err"
    sleep "$gap"
  done
}
# wait_pulls FILE N: until FILE has N lines (or the loop ended, or 120 s passed).
wait_pulls() {
  local deadline=$((SECONDS + 120))
  while (($(wc -l <"$1") < $2)); do
    { [ -n "$loop_pid" ] && kill -0 "$loop_pid" 2>/dev/null; } || return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
pulls_failed() { awk '$4 != 0' "$1" | wc -l; }
kill_pulls=$work/pulls-kill
: >"$kill_pulls"
kill_start=$SECONDS
pull_loop "$kill_pulls" 200 0.05 &
loop_pid=$!
check "40 pulls done before the kill" wait_pulls "$kill_pulls" 40
check "docker kill replica 1" docker kill "$r1"
down_state() { prints false docker inspect --format '{{.State.Running}}' "$r1"; }
check "replica 1 is down" down_state
check "image tool:v2 made locally" tiny v2 "$image:v2"
capture digest2 "docker push $P/tool:v2 while replica 1 is down" push_digest "$image:v2"
check "its notification reached replica 2: the read API lists v2 with its digest" \
  eventually 20 tag_is v2 "$digest2"
replica_down_alert() {
  prom_py /api/v1/alerts '
s = {x["labels"]["instance"]: x["state"] for x in d["alerts"] if x["labels"]["alertname"] == "RegauthReplicaDown"}
sys.exit(0 if s.get("regauth:5002") in ("pending", "firing") and len(s) == 1 else f"RegauthReplicaDown: {s}")'
}
check "Prometheus: RegauthReplicaDown is pending for regauth:5002 (and for no other target)" \
  eventually 20 replica_down_alert
check "replica 1 was down all along" down_state
check "120 pulls done while replica 1 is down" wait_pulls "$kill_pulls" 120
check "docker-compose start regauth (replica 1 again)" compose start regauth
check "replica 1 is healthy again" eventually 60 healthy "$r1"
check "the load balancer takes replica 1 back in (tokens from both replicas again)" \
  eventually 20 both_sign
wait "$loop_pid"
loop_pid=""
kill_secs=$((SECONDS - kill_start))
# Requests the load balancer sent again to the other replica: httplog's connection counts
# field (actconn/feconn/beconn/srv_conn/retries) with "+N", N retries that redispatched.
lb_retried() {
  docker logs "$lbc" 2>&1 | grep -cE ' [0-9]+/[0-9]+/[0-9]+/[0-9]+/\+[0-9]+ '
}
n_kill=$(wc -l <"$kill_pulls")
f_kill=$(pulls_failed "$kill_pulls")
echo "        ($n_kill pulls in ${kill_secs}s, $f_kill failed; load balancer requests retried: $(lb_retried))"
zero_failed() {
  [ "$n_kill" = 200 ] && [ "$f_kill" = 0 ] || { echo "$n_kill pulls, $f_kill failed"; cat "$kill_pulls.err" 2>/dev/null; return 1; }
}
check "kill test: 0 failed pulls of 200 while a replica was killed and restarted" zero_failed
# issued_since T MIN: tokens issued per replica since SECONDS was T (increase() counts
# across replica 1's restart, a counter reset): both moved, MIN or more in all.
issued_since() {
  prom_py "/api/v1/query?query=sum+by+(instance)(increase(regauth_token_requests_total%7Boutcome%3D%22issued%22%7D%5B$((SECONDS - $1))s%5D))" '
v = {x["metric"]["instance"]: round(float(x["value"][1])) for x in d["result"]}
print(v)
sys.exit(0 if set(v) == {"regauth:5002", "regauth2:5002"} and min(v.values()) > 0 and sum(v.values()) >= int(a[0]) else f"issued per replica: {v}, not both > 0 and {a[0]} in all")' "$2"
}
check "Prometheus: both targets up again" eventually 20 targets_up
check "Prometheus: the token counter moved on both replicas over the kill test (issued >= $((n_kill * 3 / 4)))" \
  eventually 20 issued_since "$kill_start" $((n_kill * 3 / 4))
echo "        (regauth_token_requests_total{outcome=\"issued\"} increase per replica: $(issued_since "$kill_start" 0 2>&1))"
check "a pull of the tag pushed meanwhile (v2) works" docker pull -q "$image:v2"

# ---------------------------------------------------------------- PostgreSQL outage
# token_unavailable: a token request through the LB answers 503 with regauth's errcode JSON
# (errors[0].code UNAVAILABLE), no token.
token_unavailable() {
  local code body
  code=$(curl -s -o "$work/unavail" -w '%{http_code}' -u "alice:$pw_alice" \
    "$api/token?service=registry&scope=repository:$P/tool:pull") || { echo "curl failed"; return 1; }
  body=$(cat "$work/unavail")
  [ "$code" = 503 ] || { echo "HTTP $code: $body"; return 1; }
  python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["errors"][0]["code"] == "UNAVAILABLE", d
assert "token" not in d and "access_token" not in d, d' <<<"$body" || { echo "$body"; return 1; }
}
token_ok() { http_status 200 -u "alice:$pw_alice" "$api/token?service=registry&scope=repository:$P/tool:pull"; }
started_at() { docker inspect --format '{{.State.StartedAt}} {{.RestartCount}}' "$r1" "$r2"; }
before_outage=$(started_at)
lb_down_before=$(docker logs "$lbc" 2>&1 | grep -c ' is DOWN')
pg_pulls=$work/pulls-pg
: >"$pg_pulls"
pg_start=$SECONDS
pull_loop "$pg_pulls" 100 0.2 &
loop_pid=$!
check "10 pulls done before PostgreSQL stops" wait_pulls "$pg_pulls" 10
stop_at=$SECONDS
check "docker-compose stop postgres" compose stop postgres
check "during the outage a token request through the LB is regauth's 503 UNAVAILABLE JSON" \
  eventually 10 token_unavailable
readyz_down() { http_status 503 "$api/readyz"; }
check "during the outage /readyz through the LB answers 503" readyz_down
lb_kept_both() {
  local now
  now=$(docker logs "$lbc" 2>&1 | grep -c ' is DOWN')
  [ "$now" = "$lb_down_before" ] || { docker logs "$lbc" 2>&1 | grep ' is DOWN' | tail -3; return 1; }
}
check "the load balancer keeps both replicas in (their /healthz still answers)" lb_kept_both
sleep $((stop_at + 10 - SECONDS > 0 ? stop_at + 10 - SECONDS : 0))
check "docker-compose start postgres (after 10 s)" compose start postgres
back_at=$SECONDS
back_ns=$(date +%s%N)
check "tokens are issued again once PostgreSQL is back" eventually 30 token_ok
echo "        (tokens again $((SECONDS - back_at))s after docker-compose start postgres returned)"
wait "$loop_pid"
loop_pid=""
n_pg=$(wc -l <"$pg_pulls")
f_pg=$(pulls_failed "$pg_pulls")
first_ok=$(awk -v b="$back_ns" '$2 >= b && $4 == 0 {printf "%.1f", ($2 - b) / 1e9; exit}' "$pg_pulls")
echo "        ($n_pg pulls in $((SECONDS - pg_start))s, $f_pg failed during the outage; the first good" \
  "pull started ${first_ok:-?}s after docker-compose start postgres returned)"
last_ok() {
  local bad
  [ "$n_pg" = 100 ] || { echo "$n_pg pulls"; return 1; }
  bad=$(tail -n 20 "$pg_pulls" | awk '$4 != 0' | wc -l)
  [ "$bad" = 0 ] || { echo "$bad of the last 20 failed"; tail -5 "$pg_pulls.err"; return 1; }
}
check "the last 20 pulls of 100 all succeeded (PostgreSQL back, nothing restarted)" last_ok
check "a fresh docker pull succeeds" docker pull -q "$image:v1"
nothing_restarted() { prints "$before_outage" started_at; }
check "neither replica restarted during the outage" nothing_restarted

# ---------------------------------------------------------------- tear-down
docker logout "$reg" >/dev/null 2>&1
if out=$(compose down -v --remove-orphans 2>&1); then ok "docker-compose down -v"; else fail "docker-compose down -v" "$out"; fi
teardown
check "tear-down: no container of $project is left" \
  lists_nothing docker ps -aq --filter "label=com.docker.compose.project=$project"
check "tear-down: no volume of $project is left" \
  lists_nothing docker volume ls -q --filter "label=com.docker.compose.project=$project"
check "tear-down: no network of $project is left" \
  lists_nothing docker network ls -q --filter "label=com.docker.compose.project=$project"
check "tear-down: no image of $reg is left" lists_nothing docker images -q --filter "reference=$reg/*/*"
check "tear-down: the private DOCKER_CONFIG is gone" test ! -e "$work"

echo "ha: $((SECONDS - suite_start))s after the images were ready"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
