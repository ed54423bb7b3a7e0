#!/usr/bin/env bash
# The Docker suite beside a Synapse: docker-compose.synapse.yml (regauth in Synapse mode
# next to an unmodified registry, every setting from environment variables) with the
# test-only tests/docker/synapse.override.yml, which adds the contract server of
# tests/synapse as a container built here (local/fake-synapse:test). Then the docker CLI,
# as a user: docker login with a password and with a personal access token, docker push
# to an existing and to a new repository (the push reaches Synapse's registry listener
# through regauth), docker rmi and docker pull, and the refusals: a wrong password, a
# user without access, an uncertified user. Each check prints "ok" or "FAIL"; the last
# lines are "N passed, M failed" and the seconds taken; the exit status is non-zero when
# anything failed. Everything it starts is removed at the end, and that is checked.
#
# Usage: tests/docker/synapse.sh [PATH/TO/regauth]   (default target/debug/regauth)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
started=$SECONDS
binary=${1:-target/debug/regauth}
[ -x "$binary" ] || cargo build --bin regauth || exit 1
# The contract server as a process (a no-op when `cargo build --all-targets` made it).
cargo build --quiet --example fake-synapse || exit 1
fake_binary=target/debug/examples/fake-synapse
bash tests/docker/build-images.sh "$binary" || exit 1
build_fake_image() {
  local ctx out
  ctx=$(mktemp -d /tmp/regauth-fake-synapse-ctx.XXXXXX) || return 1
  cp "$fake_binary" "$ctx/fake-synapse" && strip "$ctx/fake-synapse" 2>/dev/null
  cp tests/docker/fake-synapse.Dockerfile "$ctx/Dockerfile" &&
    out=$(docker build -q -t local/fake-synapse:test "$ctx" 2>&1)
  local rc=$?
  rm -rf "$ctx"
  ((rc == 0)) || { printf 'synapse: building local/fake-synapse:test failed\n%s\n' "$out"; return 1; }
}
build_fake_image || exit 1
images_built=$SECONDS

# ---------------------------------------------------------------- harness
# check, capture, prints, eventually, http_status, free_port... (tests/docker/harness.sh).
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
# refused NAME KIND CMD...: CMD fails with the refusal KIND as the user sees it (copied
# from e2e.sh, which keeps it to itself): a permission refusal must not read as bad
# credentials, nor the other way round.
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
work=$(mktemp -d /tmp/regauth-synapse.XXXXXX) || exit 1
project=regauthsyn$$
RP=$(free_port)
AP=$(free_port)
while [ "$AP" = "$RP" ]; do AP=$(free_port); done
[[ $RP =~ ^[0-9]+$ && $AP =~ ^[0-9]+$ ]] || { echo "synapse: no free port ($RP, $AP)"; exit 1; }
reg=127.0.0.1:$RP
api=http://127.0.0.1:$AP
synapse=http://fake-synapse:8080
admin_pw=admin-$RANDOM-$RANDOM-synapse
pw_alice="bench password" # bench/fake_synapse.rs's alice
pw_bob=bob-$RANDOM-outsider
pw_carol=carol-$RANDOM-uncertified

export COMPOSE_PROJECT_NAME=$project
export REGAUTH_IMAGE=local/regauth:test REGISTRY_IMAGE=local/registry:2
export REGISTRY_PORT=$RP REGAUTH_PORT=$AP REGAUTH_REALM=$api/token REGISTRY_HOSTS=$reg
export REGAUTH_ADMIN_PASSWORD=$admin_pw
REGAUTH_NOTIFY_SECRET=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
export REGAUTH_NOTIFY_SECRET
# docker-compose.synapse.yml's Synapse settings; the listener's key and secret are the
# contract server's (tests/synapse/mod.rs LISTENER_KEY, LISTENER_SECRET).
export SYNAPSE_BASE_URL=$synapse SYNAPSE_REGISTRY_HOST=$reg
export SYNAPSE_LISTENER_URL=$synapse/dockerRegistryListener/v1/events
export SYNAPSE_LISTENER_KEY=regauth SYNAPSE_LISTENER_SECRET=listener-secret
# Short enough that a changed permission shows within the suite; within its bounds.
export SYNAPSE_PERMISSION_TTL=1s
export FAKE_SYNAPSE_OUTSIDER=bob:$pw_bob FAKE_SYNAPSE_UNCERTIFIED=carol:$pw_carol
export DOCKER_CONFIG=$work/docker-config
mkdir -p "$DOCKER_CONFIG"

compose() {
  docker-compose -f "$ROOT/docker-compose.synapse.yml" -f "$ROOT/tests/docker/synapse.override.yml" \
    --project-directory "$ROOT" "$@"
}

torn_down=0
teardown() {
  ((torn_down)) && return
  torn_down=1
  compose down -v --remove-orphans >/dev/null 2>&1
  docker images -q --filter "reference=$reg/*/*" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1
  rm -rf "$work"
}
trap teardown EXIT
trap 'exit 130' INT TERM

finish() {
  echo "$passed passed, $failed failed"
  echo "synapse: $((SECONDS - started)) s ($((images_built - started)) s building, $((SECONDS - images_built)) s the suite)"
  [ "$failed" -eq 0 ]
  exit
}

echo "synapse: compose project $project, registry $reg, regauth $api, Synapse $synapse"
if ! out=$(compose up -d --no-build 2>&1); then
  fail "docker-compose -f docker-compose.synapse.yml -f synapse.override.yml up -d" "$out"
  finish
fi
ok "docker-compose up -d: regauth (Synapse mode), the registry and the contract server"

# The contract server's first line on stdout: BASE_URL PROJECT PAT.
fake_line() {
  local c out
  c=$(compose ps -q fake-synapse) && [ -n "$c" ] || { echo "no fake-synapse container"; return 1; }
  out=$(docker logs "$c" 2>/dev/null | head -1) && [ -n "$out" ] || { echo "no line on its stdout"; return 1; }
  echo "$out"
}
line=""
check "the contract server is up" eventually 30 fake_line
capture line "it prints its base URL, project and PAT" fake_line
read -r fake_url P pat <<<"$line"
[ -n "${pat:-}" ] || finish
check "it is known as $synapse (its tokens' issuer)" prints "$synapse" echo "${fake_url:-}"
check "its project is a Synapse id (${P:-none})" grep -qxE 'syn[0-9]+' <<<"${P:-}"
# What Synapse's side logged (stderr): user ids and the listener's batches.
fake_log() {
  local c
  c=$(compose ps -q fake-synapse) && [ -n "$c" ] || return 1
  docker logs "$c" 2>&1 >/dev/null
}
alice_id() { fake_log | sed -n 's/^fake-synapse: user alice id \([0-9]*\)$/\1/p'; }
alice=""
capture alice "the contract server names alice's user id" alice_id

# regauth's /readyz is 200 only while Synapse's discovery document answers.
ready() {
  local body
  body=$(curl -s -w ' HTTP %{http_code}' "$api/readyz") || { echo "curl failed"; return 1; }
  grep -q ' HTTP 200$' <<<"$body" || { echo "regauth /readyz: $body (regauth cannot reach Synapse at $SYNAPSE_BASE_URL?)"; return 1; }
}
if ! eventually 60 ready >/dev/null; then
  fail "regauth reaches Synapse at $SYNAPSE_BASE_URL (/readyz 200)" "$(ready)"
  finish
fi
ok "regauth reaches Synapse at $SYNAPSE_BASE_URL (/readyz 200)"
registry_up() { http_status 401 "http://$reg/v2/"; }
check "the registry answers 401 with regauth's realm" eventually 60 registry_up
# Synapse owns users in this mode: the API refuses to add one (405 UNSUPPORTED), which
# only happens when REGAUTH__DIRECTORY__BACKEND reached regauth.
synapse_mode() {
  local body
  body=$(curl -s -w ' HTTP %{http_code}' -u "admin:$admin_pw" -H 'content-type: application/json' \
    "$api/api/v1/users" -d '{"name":"eve","password":"a long passphrase"}') || return 1
  grep -q 'UNSUPPORTED.* HTTP 405$' <<<"$body" || { echo "$body"; return 1; }
}
check "regauth runs in Synapse mode (adding a user: 405 UNSUPPORTED)" synapse_mode

login() { docker login -u "$1" --password-stdin "$reg" <<<"$2"; }
# tiny NAME IMAGE: a tiny image with unique content, made without pulling anything.
tiny() {
  mkdir -p "$work/ctx-$1" &&
    echo "$1 $RANDOM $(date +%s%N)" >"$work/ctx-$1/hello.txt" &&
    tar -C "$work/ctx-$1" -c hello.txt | docker import - "$2"
}
# pushed_digest IMAGE: docker push, printing the digest it reports.
pushed_digest() {
  local out
  out=$(docker push "$1" 2>&1) || { echo "$out"; return 1; }
  grep -oE 'digest: sha256:[0-9a-f]{64}' <<<"$out" | cut -d' ' -f2
}
# listener_has REPO TAG [ACTOR]: Synapse's registry listener took a manifest push of
# REPO:TAG by ACTOR (a user id; default alice's, "*" anyone) from this registry's host.
listener_has() {
  local log
  log=$(fake_log) || return 1
  python3 -c '
import json, sys
repo, tag, actor, host = sys.argv[1:]
prefix = "fake-synapse: listener batch "
for line in sys.stdin:
    if not line.startswith(prefix):
        continue
    for e in json.loads(line[len(prefix):]).get("events", []):
        if (e.get("action") == "push" and e["target"].get("repository") == repo
                and e["target"].get("tag") == tag and actor in ("*", e["actor"].get("name"))
                and e["request"].get("host") == host):
            sys.exit(0)
print(f"no push of {repo}:{tag} by {actor} from {host} in the listener log")
sys.exit(1)' "$1" "$2" "${3:-$alice}" "$reg" <<<"$log"
}
# pulled_is IMAGE DIGEST: the local image came from the registry with that digest.
pulled_is() {
  local digests
  is_digest "$2" || return 1
  digests=$(docker image inspect --format '{{join .RepoDigests " "}}' "$1") || return 1
  grep -qF -- "${1%:*}@$2" <<<"$digests" || { echo "$digests"; return 1; }
}

# ---------------------------------------------------------------- alice, password
check "docker login -u alice (Synapse password, login2)" login alice "$pw_alice"
tool=$reg/$P/tool
check "image $P/tool:1 made locally" tiny tool "$tool:1"
d1=""
capture d1 "docker push $P/tool:1 (an existing Synapse repository)" pushed_digest "$tool:1"
check "the push printed a digest" is_digest "$d1"
check "the push reached Synapse's listener through regauth (actor alice's id)" \
  eventually 20 listener_has "$P/tool" 1
check "docker rmi $P/tool:1" docker rmi "$tool:1"
check "docker pull $P/tool:1" docker pull "$tool:1"
check "the pull gave the pushed image" pulled_is "$tool:1" "$d1"

fresh=$reg/$P/fresh
check "image $P/fresh:1 made locally" tiny fresh "$fresh:1"
d2=""
capture d2 "docker push $P/fresh:1 (a new repository: certified, CREATE)" pushed_digest "$fresh:1"
check "that push reached Synapse's listener too" eventually 20 listener_has "$P/fresh" 1
check "docker rmi $P/fresh:1" docker rmi "$fresh:1"
docker logout "$reg" >/dev/null 2>&1

# ---------------------------------------------------------------- alice, personal access token
# A pull needs a repository Synapse knows: pulling fresh proves the listener created it.
check "docker login with alice's personal access token" login alice "${pat:-no-pat}"
check "docker pull $P/fresh:1 (Synapse created it from the forwarded push)" \
  eventually 20 docker pull "$fresh:1"
check "the pull gave the pushed image" pulled_is "$fresh:1" "$d2"
check "image $P/tool:2 made locally" tiny tool2 "$tool:2"
check "docker push $P/tool:2 with the PAT (view, download, modify)" docker push "$tool:2"
check "that push reached Synapse's listener" eventually 20 listener_has "$P/tool" 2
check "docker rmi $P/tool:2" docker rmi "$tool:2"
check "docker pull $P/tool:2 with the PAT" docker pull "$tool:2"
docker logout "$reg" >/dev/null 2>&1

# ---------------------------------------------------------------- refusals
refused "a wrong password: 'unauthorized: invalid username or password'" unauthorized \
  login alice "not-$pw_alice"
refused "an unknown user gets the same answer" unauthorized login nobody "$pw_alice"
check "docker login -u bob (certified, no access to $P)" login bob "$pw_bob"
check "image for bob made locally" tiny bob "$tool:bob"
refused "bob cannot push to $P/tool: 'denied: ...'" denied docker push "$tool:bob"
docker rmi "$tool:1" >/dev/null 2>&1
refused "bob cannot pull $P/tool: 'pull access denied'" pull-denied docker pull "$tool:1"
docker logout "$reg" >/dev/null 2>&1
check "docker login -u carol (uncertified, CREATE and UPDATE on $P)" login carol "$pw_carol"
check "image $P/carols:1 made locally" tiny carol "$reg/$P/carols:1"
refused "an uncertified user cannot create a repository: 'denied: ...'" denied \
  docker push "$reg/$P/carols:1"
check "carol, with DOWNLOAD, pulls $P/tool:1" docker pull "$tool:1"
docker logout "$reg" >/dev/null 2>&1
# The listener's log is read first (it must show alice's pushes), then searched.
refused_absent() {
  listener_has "$P/tool" 1 || return 1
  ! listener_has "$P/tool" bob "*" >/dev/null && ! listener_has "$P/carols" 1 "*" >/dev/null
}
check "no refused push reached Synapse's listener" refused_absent

# ---------------------------------------------------------------- tear-down
teardown
check "tear-down: no container of $project is left" \
  lists_nothing docker ps -aq --filter "label=com.docker.compose.project=$project"
check "tear-down: no volume of $project is left" \
  lists_nothing docker volume ls -q --filter "label=com.docker.compose.project=$project"
check "tear-down: no network of $project is left" \
  lists_nothing docker network ls -q --filter "label=com.docker.compose.project=$project"
check "tear-down: no pulled image is left" lists_nothing docker images -q --filter "reference=$reg/*/*"
finish
