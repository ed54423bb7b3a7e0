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
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
binary=${1:-target/debug/regauth}
[ -x "$binary" ] || cargo build --bin regauth || exit 1
bash tests/docker/build-images.sh "$binary" || exit 1

# ---------------------------------------------------------------- harness
# check, capture, prints, eventually, http_status... (tests/docker/harness.sh), and:
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
# refused NAME KIND CMD...: CMD fails with the refusal KIND, as the user sees it:
#   denied        a missing permission: "denied: requested access to the resource is denied"
#                 (docker push, skopeo) -- the registry's answer to a token without the action
#   pull-denied   the same for docker pull and ctr: "pull access denied"
#   unauthorized  bad credentials: regauth's "unauthorized: invalid username or password"
# A permission refusal must not read as bad credentials and the other way round, so the
# other kind's words must be absent. A non-zero exit alone is not a refusal.
refused() {
  local name=$1 kind=$2 out want not
  shift 2
  case $kind in
    denied) want='denied: requested access to the resource is denied' not='invalid username' ;;
    pull-denied) want='pull access denied' not='invalid username' ;;
    unauthorized) want='unauthorized: invalid username or password' not='denied' ;;
    *) fail "$name (refused: unknown kind $kind)"; return ;;
  esac
  if out=$("$@" 2>&1); then
    fail "$name (it succeeded)" "$out"
  elif ! grep -qF -- "$want" <<<"$out"; then
    fail "$name (no \"$want\")" "$out"
  elif grep -qiF -- "$not" <<<"$out"; then
    fail "$name (\"$not\": the wrong refusal)" "$out"
  else
    ok "$name"
  fi
}

# ---------------------------------------------------------------- the stack
work=$(mktemp -d /tmp/regauth-e2e.XXXXXX) || exit 1
project=regauthe2e$$
RP=$(free_port)
AP=$(free_port)
while [ "$AP" = "$RP" ]; do AP=$(free_port); done
[[ $RP =~ ^[0-9]+$ && $AP =~ ^[0-9]+$ ]] || { echo "e2e: no free port ($RP, $AP)"; exit 1; }
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
# Set by `capture` below (each one a check of its own).
regauth_container="" admin_pw="" P="" token_rw="" token_ro="" TP=""
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

registry_up() { http_status 401 "http://$reg/v2/"; }

echo "e2e: compose project $project, registry $reg, regauth $api ($(docker-compose version --short), $(docker compose version --short))"
if ! out=$(compose up -d --no-build 2>&1); then
  fail "docker-compose up -d" "$out"
  echo "$passed passed, $failed failed"
  exit 1
fi
ok "docker-compose up -d starts regauth and an unmodified registry"
check "the registry answers 401 with regauth's realm" eventually 30 registry_up
challenge() {
  local head
  head=$(curl -si "http://$reg/v2/") || return 1
  grep -qiF "www-authenticate: Bearer realm=\"$api/token\",service=\"registry\"" <<<"$head"
}
check "the registry's challenge names regauth's realm and service" challenge

capture regauth_container "compose ps -q names regauth's container" compose ps -q regauth
healthy() { prints healthy docker inspect --format '{{.State.Health.Status}}' "$1"; }
check "regauth's container is healthy (its HEALTHCHECK runs 'regauth healthcheck')" \
  healthy "$regauth_container"
check "regauth runs as a non-root user" prints 10001 compose exec -T regauth id -u
webhook_hidden() { http_status 404 -X POST "$api/notifications"; }
check "the webhook is not served on the published port (404)" webhook_hidden
# `docker port` lists what is published: 5001 must be there (so the listing is real), 5002 not.
webhook_unpublished() {
  local ports
  ports=$(docker port "$regauth_container") || return 1
  grep -qx "5001/tcp -> 127.0.0.1:$AP" <<<"$ports" || { echo "5001 not published: $ports"; return 1; }
  ! grep -q '^5002/' <<<"$ports" || { echo "published: $ports"; return 1; }
}
check "the webhook's port is not published" webhook_unpublished

# ---------------------------------------------------------------- first admin
capture admin_pw "a first admin exists, its generated password in the data volume" \
  compose exec -T regauth cat /var/lib/regauth/data/bootstrap-admin-password
admin_pw_private() {
  [ -n "$admin_pw" ] &&
    prints 600 compose exec -T regauth stat -c %a /var/lib/regauth/data/bootstrap-admin-password
}
# The log is read first (it must be readable and not empty), then searched.
admin_pw_unlogged() {
  local logs
  [ -n "$admin_pw" ] || { echo "no admin password to look for"; return 1; }
  logs=$(docker logs "$regauth_container" 2>&1) || { echo "$logs"; return 1; }
  [ -n "$logs" ] || { echo "empty log"; return 1; }
  ! grep -qF -- "$admin_pw" <<<"$logs"
}
check "the generated admin password file has mode 0600" admin_pw_private
check "the generated admin password never reaches the log" admin_pw_unlogged

login() { docker login -u "$1" --password-stdin "$reg" <<<"$2"; }
check "docker login as the first admin" login admin "$admin_pw"
docker logout "$reg" >/dev/null 2>&1

# ---------------------------------------------------------------- directory set-up (CLI)
pw_alice=alice-$RANDOM-correct-horse
pw_bob=bob-$RANDOM-battery-staple
pw_carol=carol-$RANDOM-tr0ub4dor
check "user alice added (certified)" ra user add alice --certified <<<"$pw_alice"
check "user bob added" ra user add bob <<<"$pw_bob"
check "user carol added (certified)" ra user add carol --certified <<<"$pw_carol"
capture P "the CLI creates project tools" ra project add tools --owner alice
check "project created by the CLI (id $P)" grep -qxE 'syn[0-9]+' <<<"$P"
check "grant bob (uncertified) CREATE,UPDATE,READ,DOWNLOAD" ra acl grant "$P" bob CREATE,UPDATE,READ,DOWNLOAD
check "grant carol READ only" ra acl grant "$P" carol READ

# tiny NAME IMAGE: a tiny image with unique content, made without pulling anything.
tiny() {
  mkdir -p "$work/ctx-$1" &&
    echo "$1 $RANDOM $(date +%s%N)" >"$work/ctx-$1/hello.txt" &&
    tar -C "$work/ctx-$1" -c hello.txt | docker import - "$2"
}
# log_count KEY=VALUE...: regauth log lines (JSON) whose fields equal the given values.
log_count() {
  local c logs
  c=$(compose ps -q regauth) && [ -n "$c" ] || return 1
  logs=$(docker logs "$c" 2>&1) || return 1
  python3 -c '
import json, sys
want = dict(a.split("=", 1) for a in sys.argv[1:])
n = 0
for line in sys.stdin:
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    if isinstance(rec, dict) and all(str(rec.get(k)) == v for k, v in want.items()):
        n += 1
print(n)' "$@" <<<"$logs"
}
# log_grew BEFORE KEY=VALUE...: more log lines match now than BEFORE (a count).
log_grew() {
  local before=$1 now
  shift
  [[ $before =~ ^[0-9]+$ ]] || { echo "no count before: '$before'"; return 1; }
  now=$(log_count "$@") || { echo "could not read regauth's log"; return 1; }
  if ! [[ $now =~ ^[0-9]+$ ]] || ((now <= before)); then
    echo "$*: $before before, $now now"
    return 1
  fi
}

# ---------------------------------------------------------------- docker: password login
check "docker login -u alice (password)" login alice "$pw_alice"
check "the CLI stored an identity token, not the password" python3 - "$DOCKER_CONFIG/config.json" "$reg" "$pw_alice" <<'PY'
import base64, json, sys
cfg, reg, pw = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
entry = cfg["auths"][reg]
assert entry.get("identitytoken", "").startswith("rgr_"), entry
assert pw not in base64.b64decode(entry.get("auth", "")).decode(), "password stored"
assert pw not in open(sys.argv[1]).read(), "password stored"
PY

check "image tool:v1 made locally" tiny tool "$reg/$P/tool:v1"
refresh_before=$(log_count method=POST grant=refresh_token user=alice) || refresh_before=unreadable
if push_out=$(docker push "$reg/$P/tool:v1" 2>&1); then
  ok "docker push of a new repository by a certified user with CREATE"
else
  fail "docker push new repository (certified, CREATE)" "$push_out"
fi
digest=$(grep -oE 'digest: sha256:[0-9a-f]{64}' <<<"$push_out" | cut -d' ' -f2)
check "the push printed a digest (sha256:<64 hex>)" is_digest "$digest"
check "the push used the POST refresh-token flow (log: method=POST grant=refresh_token)" \
  log_grew "$refresh_before" method=POST grant=refresh_token user=alice

# tags_have_digest USER PASSWORD: the read API, as USER, lists tag v1 of tool with the digest.
tags_have_digest() {
  local body
  is_digest "$digest" || return 1
  body=$(curl -sf -u "$1:$2" "$api/api/v1/repository/tags?path=$P/tool") || return 1
  grep -qF "\"$digest\"" <<<"$body" || { echo "$body"; return 1; }
}
check "the read API lists tag v1 with the pushed digest" eventually 15 tags_have_digest alice "$pw_alice"
repo_tags_have_digest() {
  local tags
  is_digest "$digest" || return 1
  tags=$(ra repo tags "$P/tool") || return 1
  grep -qF -- "$digest" <<<"$tags" || { echo "$tags"; return 1; }
}
check "the CLI lists it too (repo tags)" repo_tags_have_digest

docker rmi "$reg/$P/tool:v1" >/dev/null 2>&1
refresh_before=$(log_count method=POST grant=refresh_token user=alice) || refresh_before=unreadable
check "docker pull by tag" docker pull "$reg/$P/tool:v1"
check "the pull used the POST refresh-token flow too" \
  log_grew "$refresh_before" method=POST grant=refresh_token user=alice
pull_by_digest() { is_digest "$digest" && docker pull "$reg/$P/tool@$digest"; }
check "docker pull by the digest printed at push" pull_by_digest
pulled_digest() {
  local digests
  is_digest "$digest" || return 1
  digests=$(docker image inspect --format '{{join .RepoDigests " "}}' "$reg/$P/tool:v1") || return 1
  grep -qF -- "$reg/$P/tool@$digest" <<<"$digests" || { echo "$digests"; return 1; }
}
check "the pull by digest gave the pushed image" pulled_digest

# ---------------------------------------------------------------- docker: access token
capture token_rw "access token created (view,download,modify)" \
  ra token create alice --scopes view,download,modify --name e2e-rw
capture token_ro "access token created (view,download)" \
  ra token create alice --scopes view,download --name e2e-ro
docker logout "$reg" >/dev/null 2>&1
check "docker login -u anything -p <access token>" login anything "$token_rw"
check "image tool:v2 made locally" tiny v2 "$reg/$P/tool:v2"
check "push with a download+modify access token" docker push "$reg/$P/tool:v2"
docker rmi "$reg/$P/tool:v2" >/dev/null 2>&1
check "pull with the access token" docker pull "$reg/$P/tool:v2"
docker logout "$reg" >/dev/null 2>&1
check "docker login with a download-only access token" login whoever "$token_ro"
check "image tool:v3 made locally" tiny v3 "$reg/$P/tool:v3"
refused "a download-only token cannot push: 'denied: ...'" denied docker push "$reg/$P/tool:v3"
docker logout "$reg" >/dev/null 2>&1

# ---------------------------------------------------------------- self-service over HTTP
# After the first admin nothing needs a shell: the admin adds a user with curl, the user
# logs in with its e-mail address, mints an access token over HTTP and logs in with it.
pw_erin=erin-$RANDOM-horse-staple
api_json() { # USER:PASSWORD METHOD PATH [BODY]: prints the answer, fails on a non-2xx
  curl -sf -u "$1" -X "$2" -H 'content-type: application/json' ${4:+-d "$4"} "$api$3"
}
check "the admin adds user erin with an e-mail address over HTTP" \
  api_json "admin:$admin_pw" POST /api/v1/users \
  "{\"name\":\"erin\",\"password\":\"$pw_erin\",\"certified\":true,\"email\":\"erin@example.org\"}"
check "docker login -u erin@example.org (the e-mail address)" login erin@example.org "$pw_erin"
docker logout "$reg" >/dev/null 2>&1
mint_token() {
  api_json "erin@example.org:$pw_erin" POST /api/v1/me/tokens \
    '{"name":"ci","scopes":["view","download","modify"],"expires_in":"1d"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
capture token_erin "erin mints an access token over HTTP" mint_token
erin_project() {
  api_json "erin:$pw_erin" POST /api/v1/projects '{"name":"erin-tools"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
capture erin_p "erin creates a project over HTTP" erin_project
check "docker login with erin's HTTP-minted token" login anything "$token_erin"
check "image erin:v1 made locally" tiny erin "$reg/$erin_p/erin:v1"
check "push to erin's own project with the token" docker push "$reg/$erin_p/erin:v1"
docker logout "$reg" >/dev/null 2>&1
# The web pages through the deployment: erin signs in with her e-mail address, creates
# a token in the page, and docker logs in with it.
jar=$work/web-cookies
csrf_in() { python3 -c 'import re,sys; m=re.search(r"name=\"csrf\" value=\"([^\"]+)\"", sys.stdin.read()); print(m.group(1) if m else "")'; }
web_sign_in() {
  local csrf
  csrf=$(curl -sf -c "$jar" "$api/ui/signin" | csrf_in) && [ -n "$csrf" ] || { echo "no sign-in form"; return 1; }
  curl -sf -o /dev/null -w '%{http_code} %{redirect_url}\n' -b "$jar" -c "$jar" \
    --data-urlencode user=erin@example.org --data-urlencode "password=$pw_erin" \
    --data-urlencode "csrf=$csrf" "$api/ui/signin" | grep -q '^303 .*/ui/tokens$'
}
check "erin signs in to the web page (e-mail address)" web_sign_in
web_token() {
  local csrf page
  csrf=$(curl -sf -b "$jar" "$api/ui/tokens" | csrf_in) && [ -n "$csrf" ] || return 1
  page=$(curl -sf -b "$jar" --data-urlencode name=web-made -d scopes=view -d scopes=download \
    -d expires_in=1d --data-urlencode "csrf=$csrf" "$api/ui/tokens") || return 1
  python3 -c 'import re,sys; m=re.search(r"id=\"token-secret\">(rga_[A-Za-z0-9_-]+)<", sys.stdin.read()); print(m.group(1) if m else "")' <<<"$page"
}
capture token_web "erin creates an access token in the web page" web_token
check "docker login with the token made in the web page" login anything "$token_web"
check "pull erin's image with it" docker pull "$reg/$erin_p/erin:v1"
docker logout "$reg" >/dev/null 2>&1

explains_push() {
  curl -sf -u "bob:$pw_bob" "$api/api/v1/me/explain?scope=repository:$P/bobs:push" |
    grep -q '"reason":"not_certified"'
}
check "explain tells bob (uncertified) why his push is refused" explains_push

# ---------------------------------------------------------------- refusals as users see them
refused "a wrong password: 'unauthorized: invalid username or password'" unauthorized \
  login alice "not-$pw_alice"
refused "an unknown user gets the same answer" unauthorized login nobody "$pw_alice"
check "docker login -u bob (uncertified)" login bob "$pw_bob"
check "image bobs:v1 made locally" tiny bob "$reg/$P/bobs:v1"
refused "an uncertified user cannot create a repository: 'denied: ...'" denied docker push "$reg/$P/bobs:v1"
docker logout "$reg" >/dev/null 2>&1
# READ without DOWNLOAD, on tool:v1 that alice pushed: carol sees it exists and is refused
# the download, so the refusal is about the permission, not about a missing repository.
check "docker login -u carol (READ, no DOWNLOAD)" login carol "$pw_carol"
check "carol (READ) sees tool:v1 and its digest in the read API" tags_have_digest carol "$pw_carol"
docker rmi "$reg/$P/tool:v1" >/dev/null 2>&1
refused "a user without DOWNLOAD cannot pull: 'pull access denied'" pull-denied docker pull "$reg/$P/tool:v1"
docker logout "$reg" >/dev/null 2>&1
check "docker login -u alice again" login alice "$pw_alice"
check "the CLI moves the repository to the trash" ra trash "$P/tool"
refused "a trashed repository cannot be pulled: 'pull access denied'" pull-denied docker pull "$reg/$P/tool:v1"
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
  refused "skopeo push by an uncertified user: 'denied: ...'" denied skopeo copy --quiet \
    --dest-creds "bob:$pw_bob" --dest-tls-verify=false "oci:$work/oci:tiny" "docker://$reg/$P/bobs2:v1"
  refused "skopeo with a wrong password: 'unauthorized: invalid username or password'" unauthorized \
    skopeo inspect --creds "alice:wrong" --tls-verify=false "docker://$reg/$P/tool:v1"
else
  fail "umoci could not build the OCI test image"
fi

# ---------------------------------------------------------------- containerd's own client
if [ -S "$sock" ]; then
  post_before=$(log_count method=POST grant=password user=alice client_id=containerd-client) ||
    post_before=unreadable
  check "ctr images pull --user (containerd, plain HTTP)" \
    ctr_ images pull --user "alice:$pw_alice" --plain-http "$reg/$P/tool:v1"
  check "containerd used the OAuth2 POST password grant" \
    log_grew "$post_before" method=POST grant=password user=alice client_id=containerd-client
  # Same repository, which ctr just pulled as alice: carol's refusal is about DOWNLOAD.
  refused "ctr pull without DOWNLOAD is refused: 'pull access denied'" pull-denied \
    ctr_ images pull --user "carol:$pw_carol" --plain-http "$reg/$P/tool:v1"
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
check "tags and digests survived in the volume" tags_have_digest alice "$pw_alice"
one_admin() {
  local users
  users=$(ra user list) || return 1
  [ "$(grep -c '^admin' <<<"$users")" = 1 ] || { echo "$users"; return 1; }
}
check "the first admin was not re-created" one_admin

# ---------------------------------------------------------------- key rotation, zero failed pulls
# While a loop of pulls runs: a key is added (keys rotate), the registry restarted (it
# trusts the old and the new certificate), then regauth (it signs with the new key).
# There is one container of each, so the loop waits while a service's own process is
# restarting (the registry reads its bundle only at start); a pull that fails while both
# answered before and after it is a failed pull. A token signed by the old key keeps
# working, and the old key cannot be retired while such tokens may live.
regauth_up() { http_status 200 "$api/readyz"; }
signing_kid() {
  local keys
  keys=$(ra keys list) || return 1
  awk -F'\t' '$4 == "signing" {print $1}' <<<"$keys"
}
old_kid="" new_kid="" old_token=""
capture old_kid "keys list names the key that signs" signing_kid
old_token_of() {
  local body
  body=$(curl -sf -u "alice:$pw_alice" "$api/token?service=registry&scope=repository:$P/tool:pull") || return 1
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$body"
}
capture old_token "a token signed by the old key, for later" old_token_of
pull_loop() {
  local start end rc
  while [ ! -e "$work/stop-pulls" ]; do
    until registry_up >/dev/null 2>&1 && regauth_up >/dev/null 2>&1; do sleep 0.2; done
    start=$(date +%s%N)
    docker pull -q "$reg/$P/tool:v1" >/dev/null 2>&1
    rc=$?
    end=$(date +%s%N)
    echo "$start $end $rc" >>"$work/pulls"
    sleep 0.1
  done
}
: >"$work/pulls"
: >"$work/restarts"
pull_loop &
pull_pid=$!
# restart SERVICE READY: restarts SERVICE and records the window until READY passes.
restart() {
  local start
  start=$(date +%s%N)
  compose restart "$1" >/dev/null 2>&1 || return 1
  eventually 60 "$2" || return 1
  echo "$start $(date +%s%N)" >>"$work/restarts"
}
sleep 2
capture new_kid "regauth keys rotate adds a key and rewrites the bundle" ra keys rotate
sleep 2
check "the registry restarts and trusts both certificates" restart registry registry_up
sleep 2
check "regauth restarts and signs with the new key" restart regauth regauth_up
sleep 3
touch "$work/stop-pulls"
wait "$pull_pid"
# Pulls that failed while no restart window overlapped them are failed pulls.
pulls_report() {
  python3 - "$work/pulls" "$work/restarts" <<'PY'
import sys
pulls = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
windows = [tuple(map(int, l.split())) for l in open(sys.argv[2]) if l.strip()]
overlaps = lambda s, e: any(s < we and e > ws for ws, we in windows)
failed = [p for p in pulls if p[2] != 0 and not overlaps(p[0], p[1])]
interrupted = [p for p in pulls if p[2] != 0 and overlaps(p[0], p[1])]
ok = [p for p in pulls if p[2] == 0]
print(f"{len(pulls)} pulls: {len(ok)} succeeded, {len(failed)} failed, {len(interrupted)} cut by a restart")
sys.exit(1 if failed or len(ok) < 5 or len(windows) != 2 else 0)
PY
}
check "pulls went on throughout the rotation: 0 failed ($(pulls_report 2>&1 | tail -1))" pulls_report
now_signing() { prints "$new_kid" signing_kid; }
check "keys list: the new key signs" now_signing
old_token_works() {
  http_status 200 -H "Authorization: Bearer $old_token" \
    -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
    -H "Accept: application/vnd.oci.image.manifest.v1+json" \
    "http://$reg/v2/$P/tool/manifests/v1"
}
check "a token signed by the old key still works at the restarted registry" old_token_works
retire_refused() {
  local out
  if out=$(ra keys retire "$old_kid" 2>&1); then echo "retired: $out"; return 1; fi
  grep -qF "may be valid until" <<<"$out" || { echo "$out"; return 1; }
}
check "the old key cannot be retired while its tokens may live" retire_refused

# ---------------------------------------------------------------- TLS on a non-loopback address
# docker only speaks plain HTTP to loopback; anywhere else it needs TLS. The host's address
# on docker's bridge is not loopback, so this is what a remote client goes through.
check "the first project is taken down (down -v)" compose down -v
# The host's address on docker0 (or any global IPv4 address): not loopback, always local.
hostip=$(ip -4 -o addr show scope global 2>/dev/null |
  awk '{sub("/.*", "", $4); print ($2 == "docker0" ? 0 : 1), $4}' | sort | head -1 | cut -d' ' -f2)
[[ $hostip =~ ^[0-9.]+$ ]] || fail "the host has no non-loopback IPv4 address for the TLS checks"
TRP=$(free_port)
TAP=$(free_port)
[[ $TRP =~ ^[0-9]+$ && $TAP =~ ^[0-9]+$ && $TRP != "$TAP" ]] ||
  fail "two free ports for the TLS project ($TRP, $TAP)"
treg=$hostip:$TRP
tls_admin_pw=admin-$RANDOM-from-the-environment
mkdir -p "$work/certs"
check "regauth certs self-signed (in the image) for $hostip" docker run --rm --user 0 \
  -v "$work/certs:/certs" "$REGAUTH_IMAGE" certs self-signed --out /certs --host "$hostip"
check "the key is readable by regauth's uid 10001" chown 10001:10001 "$work/certs/server.key"
certs_d=/etc/docker/certs.d/$treg
[ -d /etc/docker/certs.d ] || made_certs_root=1
trust_ca() { mkdir -p "$certs_d" && cp "$work/certs/ca.crt" "$certs_d/ca.crt"; }
check "docker trusts the CA for $treg ($certs_d)" trust_ca
if out=$(tls_compose up -d --no-build 2>&1); then
  ok "docker compose (v2) -f docker-compose.yml -f docker-compose.tls.yml up -d"
else
  fail "docker compose (v2) up with the TLS override" "$out"
fi
tls_registry_up() { http_status 401 --cacert "$work/certs/ca.crt" "https://$treg/v2/"; }
check "the registry answers over HTTPS with the self-signed chain" eventually 30 tls_registry_up
tls_challenge() {
  local head
  head=$(curl -si --cacert "$work/certs/ca.crt" "https://$treg/v2/") || return 1
  grep -qiF "realm=\"https://$hostip:$TAP/token\"" <<<"$head"
}
check "its challenge names regauth's HTTPS realm" tls_challenge
tls_health() { http_status 200 --cacert "$work/certs/ca.crt" "https://$hostip:$TAP/healthz"; }
check "regauth serves HTTPS on its published port" tls_health
# Plain HTTP to the same port, which serves HTTPS right now: no successful answer, and
# not because the port is unreachable (a refused connection would prove nothing).
plain_refused() {
  local code status
  tls_health || return 1
  code=$(curl -sf -o /dev/null -w '%{http_code}' "http://$hostip:$TAP/healthz")
  status=$?
  case $status in
    0) echo "plain HTTP answered $code"; return 1 ;;
    6 | 7 | 28) echo "curl could not reach the port (status $status)"; return 1 ;;
  esac
}
check "and no plain HTTP there" plain_refused
tls_regauth_healthy() {
  local c
  c=$(tls_compose ps -q regauth) && [ -n "$c" ] || return 1
  healthy "$c"
}
check "regauth's healthcheck passes with TLS on" tls_regauth_healthy
check "docker login over TLS as the first admin (password from REGAUTH_ADMIN_PASSWORD)" \
  docker login -u admin --password-stdin "$treg" <<<"$tls_admin_pw"
capture TP "the CLI creates project tls-tools over there" \
  tls_compose exec -T regauth regauth project add tls-tools --owner admin
check "image made locally for $treg" tiny tls "$treg/$TP/tool:v1"
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
    lists_nothing docker ps -aq --filter "label=com.docker.compose.project=$p"
  check "tear-down: no volume of $p is left" \
    lists_nothing docker volume ls -q --filter "label=com.docker.compose.project=$p"
  check "tear-down: no network of $p is left" \
    lists_nothing docker network ls -q --filter "label=com.docker.compose.project=$p"
done
no_image_left() {
  lists_nothing docker images -q --filter "reference=$reg/*/*" &&
    lists_nothing docker images -q --filter "reference=$treg/*/*"
}
check "tear-down: no pulled image is left" no_image_left
trust_gone() { [ -n "$certs_d" ] && [ ! -e "$certs_d" ]; }
check "tear-down: no docker trust directory is left" trust_gone
ns_gone() {
  local namespaces
  namespaces=$(ctr --address "$sock" namespaces ls -q) || return 1
  ! grep -qx -- "$ns" <<<"$namespaces"
}
check "tear-down: the containerd namespace is gone" ns_gone

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
