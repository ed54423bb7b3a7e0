#!/usr/bin/env bash
# The Docker end-to-end suite: the top-level docker-compose.yml, started with
# docker-compose on locally built images (tests/docker/build-images.sh), driven by the
# real docker CLI, skopeo and containerd's ctr, as a user would. Each check prints
# "ok" or "FAIL"; the last line is "N passed, M failed" and the exit status is non-zero
# when anything failed. Everything it starts (containers, volumes, network, pulled
# images, the containerd namespace, a private DOCKER_CONFIG) is removed at the end,
# and the removal itself is checked.
#
# Usage: tests/docker/e2e.sh [PATH/TO/regauth]   (default target/debug/regauth)
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
binary=${1:-target/debug/regauth}
[ -x "$binary" ] || cargo build --bin regauth || exit 1
bash tests/docker/build-images.sh "$binary" || exit 1

# ---------------------------------------------------------------- harness
passed=0
failed=0
ok() {
  passed=$((passed + 1))
  echo "  ok    $1"
}
fail() {
  failed=$((failed + 1))
  echo "  FAIL  $1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | tail -15 | sed 's/^/        | /'; fi
}
# check NAME CMD...: CMD succeeds.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "$out"; fi
}
# refused NAME PATTERN CMD...: CMD fails and its output matches PATTERN (what the user sees).
refused() {
  local name=$1 pattern=$2 out
  shift 2
  if out=$("$@" 2>&1); then
    fail "$name (it succeeded)" "$out"
  elif grep -qE -- "$pattern" <<<"$out"; then
    ok "$name"
  else
    fail "$name (no \"$pattern\")" "$out"
  fi
}
# eventually SECONDS CMD...: retries CMD (registry notifications are asynchronous).
eventually() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- the stack
work=$(mktemp -d /tmp/regauth-e2e.XXXXXX)
project=regauthe2e$$
RP=$(free_port)
AP=$(free_port)
while [ "$AP" = "$RP" ]; do AP=$(free_port); done
reg=127.0.0.1:$RP
api=http://127.0.0.1:$AP
ns=regauth-e2e-$$
sock=/run/docker/containerd/containerd.sock
[ -S "$sock" ] || sock=/run/containerd/containerd.sock

export COMPOSE_PROJECT_NAME=$project
export REGAUTH_IMAGE=local/regauth:test REGISTRY_IMAGE=local/registry:2
export REGISTRY_PORT=$RP REGAUTH_PORT=$AP REGAUTH_REALM=$api/token REGISTRY_HOSTS=$reg
REGAUTH_NOTIFY_SECRET=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
export REGAUTH_NOTIFY_SECRET
# No REGAUTH_ADMIN_PASSWORD: the first admin's password is generated, as on a fresh deploy.
unset REGAUTH_ADMIN_PASSWORD
export DOCKER_CONFIG=$work/docker-config
mkdir -p "$DOCKER_CONFIG"

compose() { docker-compose -f "$ROOT/docker-compose.yml" --project-directory "$ROOT" "$@"; }
# The regauth CLI inside its container, as an operator runs it.
ra() { compose exec -T regauth regauth "$@"; }
ctr_() { ctr --address "$sock" -n "$ns" "$@"; }
# The same compose file with the TLS override, as a second project on the host's
# non-loopback address (set up in the TLS section below), run by Compose v2 (`docker
# compose`) where the first project runs on v1 (`docker-compose`): both must work.
tls_compose() {
  COMPOSE_PROJECT_NAME=$tls_project REGISTRY_PORT=${TRP:-0} REGAUTH_PORT=${TAP:-0} \
    BIND_ADDRESS=${hostip:-127.0.0.1} REGAUTH_REALM=https://${hostip:-127.0.0.1}:${TAP:-0}/token \
    REGISTRY_HOSTS=${treg:-} CERTS_DIR=$work/certs REGAUTH_ADMIN_PASSWORD=${tls_admin_pw:-unset} \
    docker compose -f "$ROOT/docker-compose.yml" -f "$ROOT/docker-compose.tls.yml" \
    --project-directory "$ROOT" "$@"
}

tls_project=${project}tls
certs_d=""
torn_down=0
teardown() {
  ((torn_down)) && return
  torn_down=1
  compose down -v --remove-orphans >/dev/null 2>&1
  tls_compose down -v --remove-orphans >/dev/null 2>&1
  for r in "$reg" "${treg:-}"; do
    [ -n "$r" ] || continue
    docker images -q --filter "reference=$r/*/*" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1
  done
  if ctr_ images ls -q >/dev/null 2>&1; then
    ctr_ images ls -q | xargs -r ctr --address "$sock" -n "$ns" images rm --sync >/dev/null 2>&1
    ctr --address "$sock" namespaces rm "$ns" >/dev/null 2>&1
  fi
  [ -n "$certs_d" ] && rm -rf "$certs_d"
  [ -n "${made_certs_root:-}" ] && rmdir /etc/docker/certs.d 2>/dev/null
  rm -rf "$work"
}
trap teardown EXIT
trap 'exit 130' INT TERM

registry_up() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$reg/v2/")" = 401 ]; }

echo "e2e: compose project $project, registry $reg, regauth $api ($(docker-compose version --short), $(docker compose version --short))"
if ! out=$(compose up -d --no-build 2>&1); then
  fail "docker-compose up -d" "$out"
  echo "$passed passed, $failed failed"
  exit 1
fi
ok "docker-compose up -d starts regauth and an unmodified registry"
check "the registry answers 401 with regauth's realm" eventually 30 registry_up
challenge() { curl -si "http://$reg/v2/" | grep -qiF "www-authenticate: Bearer realm=\"$api/token\",service=\"registry\""; }
check "the registry's challenge names regauth's realm and service" challenge

regauth_container=$(compose ps -q regauth)
check "regauth's container is healthy (its HEALTHCHECK runs 'regauth healthcheck')" \
  test "$(docker inspect --format '{{.State.Health.Status}}' "$regauth_container")" = healthy
check "regauth runs as a non-root user" test "$(compose exec -T regauth id -u)" = 10001
webhook_hidden() { [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/notifications")" = 404 ]; }
check "the webhook is not served on the published port (404)" webhook_hidden
check "the webhook's port is not published" test -z "$(compose port regauth 5002 2>/dev/null | grep -v '^:0$')"

# ---------------------------------------------------------------- first admin
admin_pw=$(compose exec -T regauth cat /var/lib/regauth/data/bootstrap-admin-password | tr -d '\r\n')
admin_pw_private() {
  [ -n "$admin_pw" ] &&
    [ "$(compose exec -T regauth stat -c %a /var/lib/regauth/data/bootstrap-admin-password | tr -d '\r')" = 600 ]
}
admin_pw_unlogged() { ! docker logs "$regauth_container" 2>&1 | grep -qF -- "$admin_pw"; }
check "a first admin exists, its generated password in the data volume (mode 0600)" admin_pw_private
check "the generated admin password never reaches the log" admin_pw_unlogged

login() { docker login -u "$1" --password-stdin "$reg" <<<"$2"; }
check "docker login as the first admin" login admin "$admin_pw"
docker logout "$reg" >/dev/null 2>&1

# ---------------------------------------------------------------- directory set-up (CLI)
pw_alice=alice-$RANDOM-correct-horse
pw_bob=bob-$RANDOM-battery-staple
pw_carol=carol-$RANDOM-tr0ub4dor
ra user add alice --certified <<<"$pw_alice" >/dev/null
ra user add bob <<<"$pw_bob" >/dev/null
ra user add carol --certified <<<"$pw_carol" >/dev/null
P=$(ra project add tools --owner alice | tr -d '\r')
check "project created by the CLI (id $P)" grep -qE '^syn[0-9]+$' <<<"$P"
check "grant bob (uncertified) CREATE,UPDATE,READ,DOWNLOAD" ra acl grant "$P" bob CREATE,UPDATE,READ,DOWNLOAD
check "grant carol READ only" ra acl grant "$P" carol READ

# A tiny image with unique content, made without pulling anything.
tiny() {
  mkdir -p "$work/ctx-$1"
  echo "$1 $RANDOM $(date +%s%N)" >"$work/ctx-$1/hello.txt"
  tar -C "$work/ctx-$1" -c hello.txt | docker import - "$2" >/dev/null
}
# log_count KEY=VALUE...: regauth log lines (JSON) whose fields equal the given values.
log_count() {
  docker logs "$(compose ps -q regauth)" 2>&1 | python3 -c '
import json, sys
want = dict(a.split("=", 1) for a in sys.argv[1:])
n = 0
for line in sys.stdin:
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    if all(str(rec.get(k)) == v for k, v in want.items()):
        n += 1
print(n)' "$@"
}

# ---------------------------------------------------------------- docker: password login
check "docker login -u alice (password)" login alice "$pw_alice"
check "the CLI stored an identity token, not the password" python3 - "$DOCKER_CONFIG/config.json" "$reg" "$pw_alice" <<'EOF'
import base64, json, sys
cfg, reg, pw = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
entry = cfg["auths"][reg]
assert entry.get("identitytoken", "").startswith("rgr_"), entry
assert pw not in base64.b64decode(entry.get("auth", "")).decode(), "password stored"
assert pw not in open(sys.argv[1]).read(), "password stored"
EOF

tiny tool "$reg/$P/tool:v1"
refresh_before=$(log_count method=POST grant=refresh_token user=alice)
push_out=$(docker push "$reg/$P/tool:v1" 2>&1)
if [ $? -eq 0 ]; then ok "docker push of a new repository by a certified user with CREATE"; else fail "docker push new repository (certified, CREATE)" "$push_out"; fi
digest=$(grep -oE 'digest: sha256:[0-9a-f]{64}' <<<"$push_out" | cut -d' ' -f2)
check "the push printed a digest" test -n "$digest"
check "the push used the POST refresh-token flow (log: method=POST grant=refresh_token)" \
  test "$(log_count method=POST grant=refresh_token user=alice)" -gt "$refresh_before"

tags_have_digest() {
  curl -sf -u "alice:$pw_alice" "$api/api/v1/repository/tags?path=$P/tool" | grep -qF "\"$digest\""
}
check "the read API lists tag v1 with the pushed digest" eventually 15 tags_have_digest
repo_tags_have_digest() { ra repo tags "$P/tool" | grep -qF "$digest"; }
check "the CLI lists it too (repo tags)" repo_tags_have_digest

docker rmi "$reg/$P/tool:v1" >/dev/null 2>&1
refresh_before=$(log_count method=POST grant=refresh_token user=alice)
check "docker pull by tag" docker pull "$reg/$P/tool:v1"
check "the pull used the POST refresh-token flow too" \
  test "$(log_count method=POST grant=refresh_token user=alice)" -gt "$refresh_before"
check "docker pull by the digest printed at push" docker pull "$reg/$P/tool@$digest"
pulled_digest() { docker image inspect --format '{{join .RepoDigests " "}}' "$reg/$P/tool:v1" | grep -qF "$digest"; }
check "the pull by digest gave the pushed image" pulled_digest

# ---------------------------------------------------------------- docker: access token
token_rw=$(ra token create alice --scopes view,download,modify --name e2e-rw | tr -d '\r')
token_ro=$(ra token create alice --scopes view,download --name e2e-ro | tr -d '\r')
docker logout "$reg" >/dev/null 2>&1
check "docker login -u anything -p <access token>" login anything "$token_rw"
tiny v2 "$reg/$P/tool:v2"
check "push with a download+modify access token" docker push "$reg/$P/tool:v2"
docker rmi "$reg/$P/tool:v2" >/dev/null 2>&1
check "pull with the access token" docker pull "$reg/$P/tool:v2"
docker logout "$reg" >/dev/null 2>&1
check "docker login with a download-only access token" login whoever "$token_ro"
tiny v3 "$reg/$P/tool:v3"
refused "a download-only token cannot push" 'denied' docker push "$reg/$P/tool:v3"
docker logout "$reg" >/dev/null 2>&1

# ---------------------------------------------------------------- refusals as users see them
refused "a wrong password: 'unauthorized: ...'" 'unauthorized: ' login alice "not-$pw_alice"
refused "an unknown user gets the same answer" 'unauthorized: invalid username or password' login nobody "$pw_alice"
check "docker login -u bob (uncertified)" login bob "$pw_bob"
tiny bob "$reg/$P/bobs:v1"
refused "an uncertified user cannot create a repository: 'denied: ...'" 'denied: ' docker push "$reg/$P/bobs:v1"
docker logout "$reg" >/dev/null 2>&1
check "docker login -u carol (READ, no DOWNLOAD)" login carol "$pw_carol"
docker rmi "$reg/$P/tool:v1" >/dev/null 2>&1
refused "a user without DOWNLOAD cannot pull: 'denied: ...'" 'denied: ' docker pull "$reg/$P/tool:v1"
docker logout "$reg" >/dev/null 2>&1
check "docker login -u alice again" login alice "$pw_alice"
check "the CLI moves the repository to the trash" ra trash "$P/tool"
refused "a trashed repository cannot be pulled" 'denied: ' docker pull "$reg/$P/tool:v1"
check "the CLI restores it" ra restore "$P/tool"
check "restored, it can be pulled again" docker pull "$reg/$P/tool:v1"

# ---------------------------------------------------------------- skopeo (podman's client library)
if umoci init --layout "$work/oci" >/dev/null 2>&1 &&
  umoci new --image "$work/oci:tiny" >/dev/null 2>&1 &&
  umoci unpack --rootless --image "$work/oci:tiny" "$work/bundle" >/dev/null 2>&1 &&
  echo "skopeo $RANDOM" >"$work/bundle/rootfs/hi.txt" &&
  umoci repack --image "$work/oci:tiny" "$work/bundle" >/dev/null 2>&1; then
  check "skopeo push (new repository, certified user)" skopeo copy --quiet --dest-creds "alice:$pw_alice" \
    --dest-tls-verify=false "oci:$work/oci:tiny" "docker://$reg/$P/skopeo:v1"
  check "skopeo pull" skopeo copy --quiet --src-creds "alice:$pw_alice" --src-tls-verify=false \
    "docker://$reg/$P/skopeo:v1" "dir:$work/pulled"
  refused "skopeo push by an uncertified user: denied" 'denied' skopeo copy --quiet \
    --dest-creds "bob:$pw_bob" --dest-tls-verify=false "oci:$work/oci:tiny" "docker://$reg/$P/bobs2:v1"
  refused "skopeo with a wrong password: unauthorized" 'unauthorized|invalid username' skopeo inspect \
    --creds "alice:wrong" --tls-verify=false "docker://$reg/$P/skopeo:v1"
else
  fail "umoci could not build the OCI test image"
fi

# ---------------------------------------------------------------- containerd's own client
if [ -S "$sock" ]; then
  post_before=$(log_count method=POST grant=password user=alice client_id=containerd-client)
  check "ctr images pull --user (containerd, plain HTTP)" \
    ctr_ images pull --user "alice:$pw_alice" --plain-http "$reg/$P/tool:v1"
  check "containerd used the OAuth2 POST password grant" \
    test "$(log_count method=POST grant=password user=alice client_id=containerd-client)" -gt "$post_before"
  refused "ctr pull without DOWNLOAD is refused" 'denied|403|401|unauthorized' \
    ctr_ images pull --user "carol:$pw_carol" --plain-http "$reg/$P/skopeo:v1"
else
  fail "no containerd socket at /run/docker/containerd or /run/containerd"
fi

# ---------------------------------------------------------------- data survives down / up
if out=$(compose down 2>&1) && out=$(compose up -d --no-build 2>&1); then
  ok "docker-compose down, then up -d again"
else
  fail "docker-compose down / up" "$out"
fi
check "the registry is back" eventually 30 registry_up
docker rmi "$reg/$P/tool:v1" >/dev/null 2>&1
check "the stored identity token still works after the restart (pull)" docker pull "$reg/$P/tool:v1"
check "tags and digests survived in the volume" tags_have_digest
check "the first admin was not re-created" \
  test "$(ra user list | grep -c '^admin')" = 1

# ---------------------------------------------------------------- TLS on a non-loopback address
# docker only speaks plain HTTP to loopback; anywhere else it needs TLS. The host's address
# on docker's bridge is not loopback, so this is what a remote client goes through.
compose down -v >/dev/null 2>&1
# The host's address on docker0 (or any global IPv4 address): not loopback, always local.
hostip=$(ip -4 -o addr show scope global 2>/dev/null |
  awk '{sub("/.*", "", $4); print ($2 == "docker0" ? 0 : 1), $4}' | sort | head -1 | cut -d' ' -f2)
[ -n "$hostip" ] || fail "the host has no non-loopback IPv4 address for the TLS checks"
TRP=$(free_port)
TAP=$(free_port)
treg=$hostip:$TRP
tls_admin_pw=admin-$RANDOM-from-the-environment
mkdir -p "$work/certs"
check "regauth certs self-signed (in the image) for $hostip" docker run --rm --user 0 \
  -v "$work/certs:/certs" "$REGAUTH_IMAGE" certs self-signed --out /certs --host "$hostip"
chown 10001:10001 "$work/certs/server.key"
certs_d=/etc/docker/certs.d/$treg
[ -d /etc/docker/certs.d ] || made_certs_root=1
mkdir -p "$certs_d" && cp "$work/certs/ca.crt" "$certs_d/ca.crt"
if out=$(tls_compose up -d --no-build 2>&1); then
  ok "docker compose (v2) -f docker-compose.yml -f docker-compose.tls.yml up -d"
else
  fail "docker compose (v2) up with the TLS override" "$out"
fi
tls_registry_up() {
  [ "$(curl -s --cacert "$work/certs/ca.crt" -o /dev/null -w '%{http_code}' "https://$treg/v2/")" = 401 ]
}
check "the registry answers over HTTPS with the self-signed chain" eventually 30 tls_registry_up
tls_challenge() {
  curl -si --cacert "$work/certs/ca.crt" "https://$treg/v2/" |
    grep -qiF "realm=\"https://$hostip:$TAP/token\""
}
check "its challenge names regauth's HTTPS realm" tls_challenge
tls_health() { curl -sf --cacert "$work/certs/ca.crt" "https://$hostip:$TAP/healthz" >/dev/null; }
check "regauth serves HTTPS on its published port" tls_health
plain_refused() { ! curl -sf "http://$hostip:$TAP/healthz" >/dev/null 2>&1; }
check "and no plain HTTP there" plain_refused
tls_regauth_healthy() {
  [ "$(docker inspect --format '{{.State.Health.Status}}' "$(tls_compose ps -q regauth)")" = healthy ]
}
check "regauth's healthcheck passes with TLS on" tls_regauth_healthy
check "docker login over TLS as the first admin (password from REGAUTH_ADMIN_PASSWORD)" \
  docker login -u admin --password-stdin "$treg" <<<"$tls_admin_pw"
TP=$(tls_compose exec -T regauth regauth project add tls-tools --owner admin | tr -d '\r')
tiny tls "$treg/$TP/tool:v1"
check "docker push over TLS to $treg" docker push "$treg/$TP/tool:v1"
docker rmi "$treg/$TP/tool:v1" >/dev/null 2>&1
check "docker pull over TLS" docker pull "$treg/$TP/tool:v1"
docker logout "$treg" >/dev/null 2>&1
check "skopeo over TLS, trusting only the CA" skopeo inspect --cert-dir "$certs_d" \
  --creds "admin:$tls_admin_pw" "docker://$treg/$TP/tool:v1"
if out=$(tls_compose down -v 2>&1); then ok "docker compose (v2) down -v"; else fail "docker compose (v2) down -v" "$out"; fi

# ---------------------------------------------------------------- tear-down
teardown
for p in "$project" "$tls_project"; do
  check "tear-down: no container of $p is left" \
    test -z "$(docker ps -aq --filter "label=com.docker.compose.project=$p")"
  check "tear-down: no volume of $p is left" \
    test -z "$(docker volume ls -q --filter "label=com.docker.compose.project=$p")"
  check "tear-down: no network of $p is left" \
    test -z "$(docker network ls -q --filter "label=com.docker.compose.project=$p")"
done
check "tear-down: no pulled image is left" \
  test -z "$(docker images -q --filter "reference=$reg/*/*")$(docker images -q --filter "reference=$treg/*/*")"
check "tear-down: no docker trust directory is left" test ! -e "$certs_d"
ns_gone() { ! ctr --address "$sock" namespaces ls -q | grep -qx "$ns"; }
check "tear-down: the containerd namespace is gone" ns_gone

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
