#!/usr/bin/env bash
# regauth's performance table in one run, as ratios to this machine's ceilings measured
# in the same sitting (the machine is shared; absolute figures drift):
#   - the ceilings: `openssl speed` (one core), GET /healthz on the same HTTP stack, and
#     a signed token's: 1 / (1/healthz + 1/(2 x P-256 signatures/s));
#   - token requests (ES256 and RS256): anonymous, password, access token, refresh POST,
#     at 16 and 64 connections, with p99, the server's peak RSS and its CPU per request;
#   - anonymous pulls again with pull auditing off (the audit trail's cost);
#   - token requests over HTTPS: a full handshake each (as docker makes them), a resumed
#     session each (wrk), kept alive; beside `openssl s_time -new` handshakes on
#     `openssl s_server` (one per core) with the same chain;
#   - with BENCH_PEER=path, another token server (distribution's reference one's flags)
#     under the same password and refresh requests, as regauth's multiple of it;
#   - scopes per request (1, 10, 100);
#   - notification ingest (batches of 100, each durable before its 2xx);
#   - directory size: small, medium and large (seeded by bench/seed.py: 100,000 users,
#     1,000 teams, 10,000 projects, 100,000 repositories, 1,000,000 ACL entries), with
#     seeding time, start-to-ready and throughput/p99 relative to the small one;
#   - the same token scenarios and ingest on the PostgreSQL directory (a throw-away
#     cluster, tests/setup/postgres.sh), as ratios to /healthz and to SQLite;
#   - beside a Synapse (the contract server of tests/synapse as a process,
#     bench/fake_synapse.rs): a personal access token (warm caches: no upstream call)
#     and a password (one login2 each), as ratios to the embedded directory's.
# Usage: [REGAUTH_BIN=path] [SECS=5] [BENCH_SIZES=""] [BENCH_ONLY="tls peer ..."]
#        [BENCH_PEER=path] bash bench/run.sh [--smoke|--soak]
#   --smoke: one second per scenario and small sizes; fails only on errors (non-2xx,
#   failed batches, a server that does not start), never on timing. The test command
#   runs it.
#   --soak: one server under the mixed workload (bench/soak.lua: password pushes to 200
#   repositories, access-token and refresh pulls over 20,000, anonymous pulls, with 1,000
#   notification events a second beside) until SOAK_TOKENS (10,000,000) tokens, nobody scraping /metrics;
#   RSS sampled every 2 s, throughput per 10 s round; prints RSS after the first million
#   and at the end, and draws both over time (SOAK_SVG, default docs/soak.svg). Fails
#   when the end is more than 10% above the first million or at 64 MB or more.
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=0
SOAK=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
[ "${1:-}" = "--soak" ] && SOAK=1
SECS=${SECS:-5}
((SMOKE)) && SECS=1
command -v wrk >/dev/null || { echo "bench: installing wrk"; apt-get install -y -qq wrk >/dev/null; }
if [ -n "${REGAUTH_BIN:-}" ]; then BIN=$REGAUTH_BIN; else
  cargo build --release --quiet
  BIN=$PWD/target/release/regauth
fi
cargo build --release --quiet --example fake-synapse
WORK=$(mktemp -d)
PID=""
PGDIR=""
FAKE=""
cleanup() {
  [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
  [ -n "$FAKE" ] && { kill "$FAKE" 2>/dev/null || true; wait "$FAKE" 2>/dev/null || true; }
  [ -n "$PGDIR" ] && bash tests/setup/postgres.sh stop "$PGDIR"
  rm -rf "$WORK"
}
trap cleanup EXIT
ERRORS=0
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo 0; }
# cpu_ticks PID: the process's user + system CPU so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
# cpu_per_request TICKS_BEFORE N: the server's CPU µs per request since TICKS_BEFORE.
cpu_per_request() { echo $(( ($(cpu_ticks "$PID") - $1) * TICK_US / $2 )); }
# want SECTION: whether BENCH_ONLY (a list of es256-extras, audit, rs256, tls, sizes,
# postgres, synapse, peer) asks for it; all of them when BENCH_ONLY is unset. The ES256
# basics and the ceilings always run: every ratio is to them.
want() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }
# token_counts: "all issued" from the server's token counter (the internal listener).
token_counts() {
  curl -sf "http://127.0.0.1:$NPORT/metrics" | awk '/^regauth_token_requests_total/ {all += $NF; if (/outcome="issued"/) ok += $NF}
    END {printf "%d %d\n", all, ok}'
}
B64() { printf '%s' "$1" | base64 -w0; }
B64URL() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

# ci_issuer DIR: an RSA key and its key set (a JWKS file, as a cluster's would be) for the
# workload scenario's issuer; the key set is what regauth reads, the key what mints.
ci_issuer() {
  local dir=$1 n
  [ -f "$dir/ci.key" ] || openssl genrsa -out "$dir/ci.key" 2048 2>/dev/null
  n=$(openssl rsa -in "$dir/ci.key" -noout -modulus 2>/dev/null | cut -d= -f2 |
    python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(bytes.fromhex(sys.stdin.read().strip())).decode().rstrip("="))')
  printf '{"keys":[{"kty":"RSA","kid":"ci-1","alg":"RS256","use":"sig","n":"%s","e":"AQAB"}]}' "$n" >"$dir/ci.jwks"
}
# ci_token DIR PROJECT: a CI job's OIDC token (RS256, an hour) that bench's trust policy
# admits: issuer https://ci.bench.test, audience regauth-bench, repository_id 1.
ci_token() {
  local dir=$1 now head body sig
  now=$(date +%s)
  head=$(printf '{"alg":"RS256","typ":"JWT","kid":"ci-1"}' | B64URL)
  body=$(printf '{"iss":"https://ci.bench.test","sub":"repo:org/tool:ref:refs/heads/main","aud":"regauth-bench","iat":%d,"nbf":%d,"exp":%d,"jti":"bench-%d","repository_id":"1","ref":"refs/heads/main"}' \
    "$now" "$now" "$((now + 3600))" "$now" | B64URL)
  sig=$(printf '%s.%s' "$head" "$body" | openssl dgst -sha256 -sign "$dir/ci.key" | B64URL)
  printf '%s.%s.%s' "$head" "$body" "$sig"
}

# start DIR ALG: a server on a fresh port over DIR's database; sets PORT, NPORT (the
# webhook's internal listener), PID, READY_MS.
start() {
  local dir=$1 alg=$2 t0 scheme=http tls_lines=""
  ci_issuer "$dir"
  # TLS_DIR (a `regauth certs self-signed` directory): the public listener on HTTPS.
  if [ -n "${TLS_DIR:-}" ]; then
    scheme=https
    tls_lines=$(printf 'tls_cert = "%s/server.crt"\ntls_key = "%s/server.key"' "$TLS_DIR" "$TLS_DIR")
  fi
  PORT=$(free_port)
  NPORT=$(free_port)
  cat >"$dir/regauth.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
$tls_lines
notifications_listen = "127.0.0.1:$NPORT"
[token]
services = ["registry"]
algorithm = "$alg"
[keys]
dir = "$dir/keys-$alg"
bundle = "$dir/keys-$alg/bundle.pem"
[directory]
path = "$dir/regauth.db"
url = "${PG_URL:-}"
[notifications]
secret = "bench-notify-secret"
[audit]
pulls = ${AUDIT_PULLS:-true}
[log]
level = "error"
[bootstrap]
admin_password = "bench-admin-password"
[[oidc.issuers]]
name = "ci"
issuer = "https://ci.bench.test"
jwks_file = "$dir/ci.jwks"
TOML
  if [ -n "${SYNAPSE_URL:-}" ]; then
    sed -i 's|^\[directory\]$|[directory]\nbackend = "synapse"|' "$dir/regauth.toml"
    printf '[synapse]\nbase_url = "%s"\nregistry_host = "docker.synapse.test"\n' \
      "$SYNAPSE_URL" >>"$dir/regauth.toml"
  fi
  export REGAUTH_CONFIG=$dir/regauth.toml
  t0=$(date +%s%N)
  "$BIN" serve 2>>"$dir/log" &
  PID=$!
  for _ in $(seq 600); do
    curl -sfk "$scheme://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.005
  done
  curl -sfk "$scheme://127.0.0.1:$PORT/readyz" >/dev/null || { echo "bench: the server did not start"; cat "$dir/log"; exit 1; }
  READY_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}
stop() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; }

# The bench user, project, access token and refresh token (sets P, TOKEN, REFRESH).
seed_user() {
  echo "bench password" | "$BIN" user add alice --certified >/dev/null 2>&1 || true
  P=$("$BIN" project list | awk '$2 == "bench" {print $1}')
  [ -n "$P" ] || P=$("$BIN" project add bench --owner alice)
  TOKEN=$("$BIN" token create alice --scopes download,modify)
  # A public repository for the anonymous scenario, recorded as the registry would:
  # alice's push token (the grant the event must match), then the event, stamped now.
  "$BIN" acl grant "$P" public READ,DOWNLOAD >/dev/null
  curl -sf -o /dev/null -u "alice:bench password" \
    "http://127.0.0.1:$PORT/token?service=registry&scope=repository:$P/public:pull,push"
  curl -sf -o /dev/null -H "Authorization: Bearer bench-notify-secret" \
    -H "Content-Type: application/vnd.docker.distribution.events.v1+json" \
    --data "{\"events\":[{\"id\":\"bench-public-1\",\"timestamp\":\"$(date -u +%FT%TZ)\",\"action\":\"push\",\"target\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$(printf 'a%.0s' $(seq 64))\",\"size\":400,\"repository\":\"$P/public\",\"tag\":\"v1\"},\"actor\":{\"name\":\"alice\"}}]}" \
    "http://127.0.0.1:$NPORT/notifications"
  REFRESH=$(curl -sf -u "alice:bench password" "http://127.0.0.1:$PORT/token?service=registry&offline_token=true&client_id=docker" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])')
}

# The grants the ingest's events must match: the admin's push token for each of the 50
# repositories bench/ingest.py pushes to (in its name, stamped now).
grant_ingest() {
  local i
  for i in $(seq 0 49); do
    curl -sf -o /dev/null -u "admin:bench-admin-password" \
      "http://127.0.0.1:$PORT/token?service=registry&scope=repository:$P/repo$i:pull,push"
  done
}

# load NAME CONNS wrk-args...: one wrk run; appends
# "NAME|req/s|p99|non2xx|peak RSS MB|server CPU µs per request".
load() {
  local name=$1 conns=$2 out rps p99 bad peak=0 sampler n c0 cpu=""
  shift 2
  ( while :; do rss_mb "$PID"; echo; sleep 0.1; done ) >"$WORK/rss" 2>/dev/null &
  sampler=$!
  c0=$(cpu_ticks "$PID")
  out=$(wrk -t2 -c"$conns" -d"${SECS}s" --latency "$@")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  [ "${n:-0}" -gt 0 ] && cpu=$(cpu_per_request "$c0" "$n")
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  peak=$(sort -n "$WORK/rss" | tail -1)
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '/ 99%/ {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  bad=${bad:-0}
  if [ "$bad" != 0 ] || [ -z "$rps" ]; then ERRORS=$((ERRORS + 1)); fi
  echo "$name|$rps|$p99|$bad|$peak|$cpu" >>"$WORK/results"
}
post_lua() {
  cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=refresh_token&service=registry&client_id=docker&refresh_token=$REFRESH&scope=repository:$P/tool:pull,push"
LUA
}
scopes() { local n=$1 i s=""; for i in $(seq "$n"); do s="$s&scope=repository:$P/tool$i:pull,push"; done; echo "$s"; }

# The soak (--soak): rounds of 10 s of the mixed workload, a notification client beside
# them, RSS every 2 s; the verdict and the picture at the end.
soak() {
  local target=${SOAK_TOKENS:-10000000} svg=${SOAK_SVG:-docs/soak.svg} total=0 t0 out n rps sampler
  mkdir -p "$WORK/soak"
  start "$WORK/soak" ES256
  seed_user
  export SOAK_PROJECT=$P SOAK_PASSWORD_B64 SOAK_TOKEN_B64 SOAK_REFRESH=$REFRESH
  SOAK_PASSWORD_B64=$(B64 "alice:bench password")
  SOAK_TOKEN_B64=$(B64 "x:$TOKEN")
  U="http://127.0.0.1:$PORT"
  t0=$(date +%s.%N)
  : >"$WORK/soak.rss"
  : >"$WORK/soak.rounds"
  ( while :; do echo "$(date +%s.%N) $(rss_mb "$PID")"; sleep 2; done ) >>"$WORK/soak.rss" 2>/dev/null &
  sampler=$!
  echo "soak: $target tokens, mixed workload, 16 connections, no /metrics scrape"
  while ((total < target)); do
    grant_ingest
    python3 bench/ingest.py "$NPORT" bench-notify-secret "$P" 10 1 1000 >>"$WORK/soak.ingest" &
    out=$(wrk -t2 -c16 -d10s -s bench/soak.lua "$U")
    wait $! || ERRORS=$((ERRORS + 1))
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    if grep -q "Non-2xx" <<<"$out" || [ -z "$n" ]; then ERRORS=$((ERRORS + 1)); echo "$out"; fi
    total=$((total + ${n:-0}))
    echo "$(date +%s.%N) $total $rps $(rss_mb "$PID")" >>"$WORK/soak.rounds"
    printf 'soak: %11d tokens, %8.0f req/s, RSS %s MB\n' "$total" "${rps:-0}" "$(rss_mb "$PID")"
    ((ERRORS)) && break
  done
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  stop
  python3 bench/soak_plot.py "$t0" "$WORK/soak.rss" "$WORK/soak.rounds" "$svg" || ERRORS=$((ERRORS + 1))
  tail -n 3 "$WORK/soak.ingest" | sed 's/^/soak: /'
}
if ((SOAK)); then
  soak
  if ((ERRORS)); then echo "bench: the soak failed"; exit 1; fi
  exit 0
fi

: >"$WORK/results"
echo "regauth performance, $(nproc) cores, ${SECS}s per scenario, $(date -u +%FT%TZ)"
# ---------------------------------------------------------------- ceilings
ossl=$(openssl speed -seconds "$SECS" rsa2048 ecdsap256 2>/dev/null)
RSA1=$(awk '/^rsa 2048 bits/ {print $6}' <<<"$ossl")
EC1=$(awk '/256 bits ecdsa \(nistp256\)/ {print $7}' <<<"$ossl")
echo "openssl speed, one core: RSA-2048 $RSA1 sign/s, P-256 $EC1 sign/s"

# ---------------------------------------------------------------- ES256, small directory
mkdir -p "$WORK/small"
start "$WORK/small" ES256
SMALL_READY=$READY_MS
seed_user
post_lua
U="http://127.0.0.1:$PORT"
PW="Authorization: Basic $(B64 "alice:bench password")"
AT="Authorization: Basic $(B64 "x:$TOKEN")"
Q="service=registry&scope=repository:$P/tool:pull,push"
curl -sf -H "$PW" "$U/token?$Q" >/dev/null   # the password verified once
load "healthz (ceiling)" 16 "$U/healthz"
load "ES256 anonymous pull (public)" 16 "$U/token?service=registry&scope=repository:$P/public:pull"
load "ES256 password pull+push" 16 -H "$PW" "$U/token?$Q"
load "ES256 access token pull+push" 16 -H "$AT" "$U/token?$Q"
load "ES256 refresh POST" 16 -s "$WORK/post.lua" "$U/token"
# A CI job's OIDC token under a trust policy, warm (verified once, then remembered).
"$BIN" trust-policy add "$P" --creator alice --issuer ci --audience regauth-bench \
  --repositories '*' --actions pull,push --claim repository_id=1 >/dev/null
WL="Authorization: Basic $(B64 "oidc:$(ci_token "$WORK/small")")"
curl -sf -H "$WL" "$U/token?$Q" >/dev/null || { echo "bench: the workload token was refused"; ERRORS=$((ERRORS + 1)); }
load "ES256 workload OIDC token pull+push" 16 -H "$WL" "$U/token?$Q"
if want es256-extras; then
  load "ES256 password, 64 connections" 64 -H "$PW" "$U/token?$Q"
  for n in 1 10 100; do
    load "ES256 password, $n scopes" 16 -H "$PW" "$U/token?service=registry$(scopes "$n")"
  done
fi
# ingest [PREFIX]: bench/ingest.py against the running server; prints its line and
# appends "PREFIXnotification ingest (events/s, batches of 100)|events/s|||" to the table.
ingest() {
  local out
  grant_ingest
  out=$(python3 bench/ingest.py "$NPORT" bench-notify-secret "$P" "$SECS" 4) || ERRORS=$((ERRORS + 1))
  echo "${1:-}$out"
  echo "${1:-}notification ingest (events/s, batches of 100)|$(sed -E 's/^notification ingest: ([0-9,]+) events.*/\1/; s/,//g' <<<"$out")|||" >>"$WORK/results"
}
ingest
stop
# The audit trail's cost: the same anonymous pulls with pull records off.
if want audit; then
  AUDIT_PULLS=false start "$WORK/small" ES256
  U="http://127.0.0.1:$PORT"
  load "ES256 anonymous pull, pull auditing off" 16 "$U/token?service=registry&scope=repository:$P/public:pull"
  stop
fi

# ---------------------------------------------------------------- RS256
if want rs256; then
  start "$WORK/small" RS256
  seed_user
  post_lua
  U="http://127.0.0.1:$PORT"
  curl -sf -H "$PW" "$U/token?$Q" >/dev/null
  load "RS256 password pull+push" 16 -H "$PW" "$U/token?$Q"
  load "RS256 password, 64 connections" 64 -H "$PW" "$U/token?$Q"
  stop
fi

# ---------------------------------------------------------------- TLS
# Token requests over HTTPS with the ECDSA P-256 pair `regauth certs self-signed` makes.
# docker (Go's crypto/tls, no session cache) makes a full handshake on every new
# connection; wrk resumes the session when it reconnects (a PSK handshake: no signature,
# no certificate), so the row "as docker does" is measured with `openssl s_time -new`,
# the client of the handshake ceiling too: 16 processes, each connection a full
# handshake, one HTTP/1.0 request, the close. s_time sends a request line only, so the
# Authorization header rides in its page argument after a CR LF. The ceiling: the same
# clients against `openssl s_server -www` with the same chain, one s_server per core
# (s_server serves one connection at a time), in the same run.
# stime NAME "PORT..." [PAGE]: 16 s_time clients spread over the ports; appends
# "NAME|connections/s||non-2xx||server CPU µs per connection" (the last two only when
# regauth is the server: its token counter says how many were not issued).
stime() {
  local name=$1 page=${3:-} pids=() args=() t0 i n rate c0=0 cpu="" bad="" before after
  local -a ports
  read -r -a ports <<<"$2"
  [ -n "$page" ] && args=(-www "$page")
  if [ -n "$PID" ]; then c0=$(cpu_ticks "$PID"); before=$(token_counts); fi
  rm -f "$WORK"/stime.*
  t0=$(date +%s.%N)
  for i in $(seq 16); do
    openssl s_time -connect "127.0.0.1:${ports[$((i % ${#ports[@]}))]}" -new -time "$SECS" "${args[@]}" \
      >"$WORK/stime.$i" 2>/dev/null &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || ERRORS=$((ERRORS + 1)); done
  n=$(cat "$WORK"/stime.* | awk '/connections in .* real seconds/ {n += $1} END {print n + 0}')
  rate=$(awk -v n="$n" -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN {printf "%.0f", n / (t1 - t0)}')
  if [ -n "$PID" ] && [ "$n" -gt 0 ]; then
    cpu=$(cpu_per_request "$c0" "$n")
    if [ -n "$page" ]; then
      after=$(token_counts)
      # every request a token issued, and as many as s_time counted (or more: a last one
      # each client had begun when its time ran out)
      bad=$(( (${after% *} - ${before% *}) - (${after#* } - ${before#* }) ))
      if [ "$bad" != 0 ] || [ $(( ${after#* } - ${before#* } )) -lt "$n" ]; then ERRORS=$((ERRORS + 1)); fi
    fi
  fi
  [ "$n" -gt 0 ] || ERRORS=$((ERRORS + 1))
  echo "$name|$rate||$bad||$cpu" >>"$WORK/results"
}
if want tls; then
  # Plain HTTP right before, for the kept-alive ratio (the machine drifts between sections).
  start "$WORK/small" ES256
  load "ES256 password, plain HTTP, beside TLS" 16 -H "$PW" "http://127.0.0.1:$PORT/token?$Q"
  stop
  "$BIN" certs self-signed --out "$WORK/tls" --host 127.0.0.1 >/dev/null
  TLS_DIR=$WORK/tls start "$WORK/small" ES256
  TU="https://127.0.0.1:$PORT"
  negotiated() {
    openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null |
      grep -E "^New, |^Server Temp Key|^Peer signature type" | sed 's/^New, //' | paste -sd ';' -
  }
  echo "TLS, regauth: $(negotiated "$PORT")"
  curl -sfk -H "$PW" "$TU/token?$Q" >/dev/null || ERRORS=$((ERRORS + 1))
  stime "ES256 password, TLS, full handshake each" "$PORT" \
    "/token?$Q HTTP/1.0"$'\r\n'"$PW"$'\r\n'"X-Bench:"
  stime "TLS handshake alone, regauth" "$PORT"
  load "ES256 password, TLS, session resumed each (wrk)" 16 -H "Connection: close" -H "$PW" "$TU/token?$Q"
  load "ES256 password, TLS, kept alive" 16 -H "$PW" "$TU/token?$Q"
  stop
  SPIDS=()
  SPORTS=""
  for _ in $(seq "$(nproc)"); do
    SPORT=$(free_port)
    openssl s_server -www -quiet -accept "$SPORT" -cert "$WORK/tls/server.crt" \
      -key "$WORK/tls/server.key" -cert_chain "$WORK/tls/ca.crt" >/dev/null 2>&1 &
    SPIDS+=($!)
    SPORTS="$SPORTS $SPORT"
    for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$SPORT") 2>/dev/null && break; sleep 0.05; done
  done
  echo "TLS, openssl s_server (x$(nproc)): $(negotiated "$SPORT")"
  stime "TLS handshakes, openssl s_server (ceiling)" "$SPORTS"
  kill "${SPIDS[@]}" 2>/dev/null || true; wait "${SPIDS[@]}" 2>/dev/null || true
fi

# ---------------------------------------------------------------- directory size
if ((SMOKE)); then
  SIZES="medium:2000:20:200:2000:20000"
else
  SIZES="medium:10000:100:1000:10000:100000 large:100000:1000:10000:100000:1000000"
fi
# BENCH_SIZES="" skips the directory sizes (e.g. to compare the two backends quickly).
SIZES=${BENCH_SIZES-$SIZES}
want sizes || SIZES=""
for spec in $SIZES; do
  IFS=: read -r name users teams projects repos acls <<<"$spec"
  mkdir -p "$WORK/$name"
  start "$WORK/$name" ES256   # creates the schema
  stop
  seeded=$(python3 bench/seed.py "$WORK/$name/regauth.db" "$users" "$teams" "$projects" "$repos" "$acls" </dev/null)
  echo "$name directory: $seeded"
  start "$WORK/$name" ES256
  echo "$name directory: start to ready $READY_MS ms (small: $SMALL_READY ms)"
  seed_user
  # alice in a few of the seeded teams, as a real user would be.
  for t in 1 2 3; do "$BIN" team member add "t$t" alice >/dev/null 2>&1 || true; done
  U="http://127.0.0.1:$PORT"
  curl -sf -H "$PW" "$U/token?$Q" >/dev/null
  load "ES256 password pull+push, $name directory" 16 -H "$PW" "$U/token?$Q"
  load "ES256 password, 64 connections, $name directory" 64 -H "$PW" "$U/token?$Q"
  stop
done

# ---------------------------------------------------------------- PostgreSQL directory
if want postgres; then
  PGDIR=$(mktemp -d /tmp/regauth-bench-pg.XXXXXX)
  PG_URL=$(bash tests/setup/postgres.sh start "$PGDIR")
  export PG_URL
  mkdir -p "$WORK/pg"
  start "$WORK/pg" ES256
  seed_user
  post_lua
  U="http://127.0.0.1:$PORT"
  AT="Authorization: Basic $(B64 "x:$TOKEN")"
  curl -sf -H "$PW" "$U/token?$Q" >/dev/null
  load "PostgreSQL: ES256 anonymous pull (public)" 16 "$U/token?service=registry&scope=repository:$P/public:pull"
  load "PostgreSQL: ES256 password pull+push" 16 -H "$PW" "$U/token?$Q"
  load "PostgreSQL: ES256 access token pull+push" 16 -H "$AT" "$U/token?$Q"
  load "PostgreSQL: ES256 refresh POST" 16 -s "$WORK/post.lua" "$U/token"
  load "PostgreSQL: ES256 password, 64 connections" 64 -H "$PW" "$U/token?$Q"
  ingest "PostgreSQL: "
  stop
  unset PG_URL
  bash tests/setup/postgres.sh stop "$PGDIR"
  PGDIR=""
fi

# ---------------------------------------------------------------- beside a Synapse
if want synapse; then
  target/release/examples/fake-synapse >"$WORK/fake-synapse" 2>>"$WORK/fake-synapse.log" &
  FAKE=$!
  for _ in $(seq 200); do [ -s "$WORK/fake-synapse" ] && break; sleep 0.05; done
  read -r SYNAPSE_URL SP PAT <"$WORK/fake-synapse" || { echo "bench: the fake Synapse did not start"; exit 1; }
  export SYNAPSE_URL
  mkdir -p "$WORK/synapse"
  start "$WORK/synapse" ES256
  U="http://127.0.0.1:$PORT"
  SQ="service=registry&scope=repository:$SP/tool:pull,push"
  SAT="Authorization: Basic $(B64 "x:$PAT")"
  SPW="Authorization: Basic $(B64 "alice:bench password")"
  curl -sf -H "$SAT" "$U/token?$SQ" >/dev/null || ERRORS=$((ERRORS + 1))
  load "Synapse: ES256 access token pull+push" 16 -H "$SAT" "$U/token?$SQ"
  load "Synapse: ES256 password pull+push" 16 -H "$SPW" "$U/token?$SQ"
  stop
  unset SYNAPSE_URL
  kill "$FAKE" 2>/dev/null || true; wait "$FAKE" 2>/dev/null || true; FAKE=""
fi

# ---------------------------------------------------------------- a peer token server
# BENCH_PEER=path: another token server beside regauth, for the ratio per credential kind.
# The bench starts it with the flags of distribution's reference server
# (contrib/token-server: -addr, -realm, -passwd an htpasswd file with bcrypt cost
# BENCH_PEER_BCRYPT_COST, default 5, its own P-256 key) and asks BENCH_PEER_PATH
# (/token/). It offers passwords (GET) and refresh tokens (POST); no anonymous pulls and
# no personal access tokens. Nothing is fetched or built here: bring the binary.
if [ -n "${BENCH_PEER:-}" ] && want peer; then
  command -v htpasswd >/dev/null || { echo "bench: installing apache2-utils (htpasswd)"; apt-get install -y -qq apache2-utils >/dev/null; }
  htpasswd -nbB -C "${BENCH_PEER_BCRYPT_COST:-5}" alice "bench password" >"$WORK/peer.htpasswd"
  PEER_PORT=$(free_port)
  PEER_URL="http://127.0.0.1:$PEER_PORT${BENCH_PEER_PATH:-/token/}"
  "$BENCH_PEER" -addr "127.0.0.1:$PEER_PORT" -realm "$PEER_URL" -passwd "$WORK/peer.htpasswd" \
    -issuer bench-peer 2>"$WORK/peer.log" &
  PID=$!
  for _ in $(seq 200); do (echo >"/dev/tcp/127.0.0.1/$PEER_PORT") 2>/dev/null && break; sleep 0.05; done
  PEER_REFRESH=$(curl -sf -H "$PW" "$PEER_URL?service=registry&offline_token=true&client_id=docker&$Q" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("refresh_token", ""))') || true
  if [ -z "$PEER_REFRESH" ]; then echo "bench: the peer did not issue a token"; cat "$WORK/peer.log"; ERRORS=$((ERRORS + 1)); else
    cat >"$WORK/peer-post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=refresh_token&service=registry&client_id=docker&refresh_token=$PEER_REFRESH&scope=repository:$P/tool:pull,push"
LUA
    load "peer: ES256 password pull+push" 16 -H "$PW" "$PEER_URL?$Q"
    load "peer: ES256 refresh POST" 16 -s "$WORK/peer-post.lua" "$PEER_URL"
  fi
  stop
fi

# ---------------------------------------------------------------- the table
python3 - "$WORK/results" "${RSA1:-0}" "${EC1:-0}" <<'PY'
import sys
rows = [(l.rstrip("\n").split("|") + [""] * 6)[:6] for l in open(sys.argv[1]) if l.strip()]
rsa1, ec1 = float(sys.argv[2] or 0), float(sys.argv[3] or 0)
by = {r[0]: r for r in rows}
def rate(name):
    return float(by[name][1]) if name in by and by[name][1] else 0.0
healthz = rate("healthz (ceiling)")
# A signed token's ceiling here: one /healthz round trip plus one P-256 signature, the
# signatures spread over both cores (issue 21).
signed = 1 / (1 / healthz + 1 / (2 * ec1)) if healthz and ec1 else 0.0
if signed:
    at = [r[0] for r in rows].index("healthz (ceiling)") + 1
    rows.insert(at, ["ES256 signed-token ceiling", f"{signed:.0f}", "", "", "", ""])
handshakes = rate("TLS handshakes, openssl s_server (ceiling)")
print()
print(f"{'scenario':<58} {'req/s':>9} {'p99':>9} {'non-2xx':>7} {'RSS MB':>7} {'CPU µs':>7}  ratio")
for name, rps, p99, bad, peak, cpu in rows:
    r = float(rps or 0)
    ratio = []
    if name.startswith("RS256"):
        ratio.append(f"{r / (2 * rsa1):.0%} of 2x openssl RSA-2048" if rsa1 else "")
    elif name.endswith("(ceiling)") or name == "ES256 signed-token ceiling":
        ratio.append("ceiling" if "handshakes" not in name else "ceiling of a new connection")
    elif "ingest" not in name and "TLS" not in name and healthz:
        ratio.append(f"{r / healthz:.0%} of /healthz")
    if signed and name in ("ES256 anonymous pull (public)", "ES256 password pull+push",
                           "ES256 access token pull+push", "ES256 refresh POST"):
        ratio.append(f"{r / signed:.0%} of the signed-token ceiling")
    for prefix, of in (("PostgreSQL: ", "SQLite"), ("Synapse: ", "embedded")):
        if name.startswith(prefix) and rate(name[len(prefix):]):
            ratio.append(f"{r / rate(name[len(prefix):]):.0%} of {of}")
    if name.startswith("peer: ") and r and rate(name[len("peer: "):]):
        ratio.append(f"regauth {rate(name[len('peer: '):]) / r:.1f}x the peer")
    for size in ("medium", "large"):
        if name.endswith(f", {size} directory"):
            base = name.replace(f", {size} directory", "")
            if base in by and r:
                ratio.append(f"{rate(base) / r:.2f}x slower than small" if rate(base) >= r else f"{r / rate(base):.2f}x faster than small")
    if handshakes and name in ("ES256 password, TLS, full handshake each", "TLS handshake alone, regauth"):
        ratio.append(f"{r / handshakes:.0%} of openssl's handshakes")
    plain = rate("ES256 password, plain HTTP, beside TLS")
    if name.startswith("ES256 password, TLS, ") and "handshake" not in name and plain:
        ratio.append(f"{r / plain:.0%} of plain HTTP beside")
    if name == "ES256 workload OIDC token pull+push" and rate("ES256 access token pull+push"):
        ratio.append(f"{r / rate('ES256 access token pull+push'):.0%} of access tokens")
    if name == "ES256 anonymous pull (public)" and rate("ES256 anonymous pull, pull auditing off"):
        ratio.append(f"{r / rate('ES256 anonymous pull, pull auditing off'):.0%} of unaudited")
    peak = f"{peak}" if peak else ""
    print(f"{name:<58} {r:>9,.0f} {p99:>9} {bad:>7} {peak:>7} {cpu:>7}  {'; '.join(x for x in ratio if x)}")
PY
if ((ERRORS)); then echo "bench: $ERRORS scenario(s) had errors"; exit 1; fi
