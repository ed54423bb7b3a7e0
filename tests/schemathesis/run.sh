#!/usr/bin/env bash
# Schemathesis against the real regauth binary: the /api/v1 OpenAPI document it serves is the contract.
#
# Usage: tests/schemathesis/run.sh [PATH/TO/regauth]   (default target/debug/regauth)
#
# Installs the pinned schemathesis (requirements.txt) into a venv under
# ${XDG_CACHE_HOME:-$HOME/.cache}/regauth-schemathesis (reused while requirements.txt is
# unchanged), starts the binary on a fresh SQLite directory in a temp dir, seeds it with
# the CLI (an admin, a plain user, each with an access token, projects, a repository with
# tags, an ACL, an access request), then runs schemathesis twice, as the admin and as the
# plain user, with a fixed seed and a bounded number of examples per operation. Checks:
# no server error, every status code documented, every content type documented, every
# body as its schema says. Any failure is a non-zero exit. Prints how long it took.
set -euo pipefail

started=$(date +%s)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${1:-$root/target/debug/regauth}
[ -x "$binary" ] || { echo "schemathesis: no binary at $binary (cargo build first)" >&2; exit 1; }
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-30}
SEED=${SCHEMATHESIS_SEED:-20261207}

# The venv, keyed by the Python ($PYTHON, or python3) and the pinned set.
python=${PYTHON:-python3}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/regauth-schemathesis
key=$({ "$python" --version; cat "$here/requirements.txt"; } | sha256sum | cut -c1-16)
venv=$cache/venv-$key
if [ ! -e "$venv/.installed" ]; then
  echo "schemathesis: installing the pinned set into $venv"
  rm -rf "$venv"
  mkdir -p "$cache"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$here/requirements.txt"
  "$venv/bin/pip" check >/dev/null
  touch "$venv/.installed"
fi
py=$venv/bin/python

work=$(mktemp -d /tmp/regauth-schemathesis.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

password=schemathesis-Password-1
secret=schemathesis-webhook-secret-of-forty-bytes-xx
service=registry.test
config=$work/regauth.toml

# A free port (taken again by another process between here and the bind: then retry).
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_server() {
  port=$(free_port)
  cat >"$config" <<EOF
[server]
listen = "127.0.0.1:$port"
workers = 2
[token]
issuer = "regauth-schemathesis"
services = ["$service"]
realm = "http://127.0.0.1:$port/token"
ttl_seconds = 300
[keys]
dir = "$work/keys"
generate = true
bundle = "$work/keys/bundle.pem"
[directory]
path = "$work/regauth.db"
[notifications]
secret = "$secret"
registry_hosts = ["registry.test:5000"]
[auth]
failed_logins_per_user_and_address = 100000
failed_logins_per_address = 100000
[log]
format = "json"
level = "warn"
[bootstrap]
admin_name = "root"
admin_password = "$password"
EOF
  "$binary" --config "$config" serve >>"$work/regauth.log" 2>&1 &
  server_pid=$!
  base=http://127.0.0.1:$port
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || { server_pid=""; return 1; }
    sleep 0.1
  done
  echo "schemathesis: regauth never became ready" >&2
  cat "$work/regauth.log" >&2
  exit 1
}
for attempt in 1 2 3 4 5; do
  start_server && break
  [ "$attempt" = 5 ] && { echo "schemathesis: regauth did not start" >&2; cat "$work/regauth.log" >&2; exit 1; }
done

ra() { "$binary" --config "$config" "$@"; }
# A push of REPO:TAG by USER as the registry reports it: a push token, then the event.
push() {
  local repo=$1 tag=$2 user=$3
  curl -fsS -o /dev/null -u "$user:$password" \
    "$base/token?service=$service&scope=repository:$repo:push,pull"
  local now; now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  curl -fsS -o /dev/null -X POST "$base/notifications" \
    -H "Authorization: Bearer $secret" \
    -H "Content-Type: application/vnd.docker.distribution.events.v1+json" \
    --data "{\"events\":[{\"id\":\"evt-$repo-$tag\",\"timestamp\":\"$now\",\"action\":\"push\",
      \"target\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",
      \"digest\":\"sha256:$(printf '%064d' "${#tag}")\",\"size\":400,\"repository\":\"$repo\",\"tag\":\"$tag\"},
      \"actor\":{\"name\":\"$user\"}}]}"
}

# The seeded directory.
ra user add alice --certified --email alice@example.org <<<"$password" >/dev/null
ra user add bob --certified <<<"$password" >/dev/null
ra team add devs >/dev/null
ra team member add devs bob >/dev/null
tools=$(ra project add tools --owner alice)
bobs=$(ra project add bobs --owner bob)
ra acl grant "$tools" bob READ,DOWNLOAD,UPDATE >/dev/null
ra acl grant "$tools" team:devs READ >/dev/null
push "$tools/tool" v1 alice
push "$tools/tool" v2 alice
push "$tools/tool" v1 alice
push "$bobs/app" latest bob
admin_token=$(ra token create root --scopes view,download,modify,authorize)
user_token=$(ra token create bob --scopes view,download,modify,authorize)
ra acl grant "$bobs" alice READ >/dev/null
curl -fsS -o /dev/null -u "alice:$password" -X POST "$base/api/v1/entities/$bobs/access-requests" \
  -H "Content-Type: application/json" --data '{"message": "seeded"}'
seeded=$(($(date +%s) - started))
echo "schemathesis: regauth at $base, seeded in ${seeded}s (projects $tools, $bobs)"

run_as() {
  local who=$1 credential=$2
  echo "schemathesis: as $who ($EXAMPLES examples per operation, seed $SEED)"
  (cd "$work" && "$venv/bin/st" --no-color run "$base/api/v1/openapi.json" \
    --auth "$credential" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "$EXAMPLES" \
    --seed "$SEED" \
    --workers 1 \
    --request-timeout 10)
}
status=0
run_as "the plain user bob" "bob:$user_token" || status=1
run_as "the admin root" "root:$admin_token" || status=1
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "schemathesis: regauth died during the run" >&2
  status=1
fi
if [ "$status" != 0 ]; then
  echo "schemathesis: server log (last 50 lines):" >&2
  tail -n 50 "$work/regauth.log" >&2
fi
echo "schemathesis: $([ "$status" = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - started))s"
exit "$status"
