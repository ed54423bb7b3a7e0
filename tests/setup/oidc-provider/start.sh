#!/usr/bin/env bash
# Starts a real OpenID Connect provider for regauth's tests: Debian's glewlwyd (2.7),
# installed by tests/setup/install-deps.sh, as an unprivileged process on 127.0.0.1 at a
# free port, with its own state (SQLite database made from the package's own SQL script,
# config, an RS256 key generated now with openssl, log) in a temporary directory.
#
# Usage: start.sh --redirect-uri URI [--redirect-uri URI ...]
#
# Through glewlwyd's admin API it sets up: an OIDC plugin instance "oidc" (issuer
# http://127.0.0.1:PORT/api/oidc, code flow only, PKCE S256 allowed, RS256 ID tokens with
# name and email claims), a password user and a confidential client (client_secret_basic
# or _post) allowed the given redirect URIs. The user has already consented to the client's
# "openid" scope, so a browser sees only the login page. The admin account's default
# password is replaced by a random one.
#
# Prints KEY=VALUE lines (ISSUER, PORT, CLIENT_ID, CLIENT_SECRET, USERNAME, PASSWORD, EMAIL,
# NAME, STATE_DIR, LOG) and then READY once the discovery document answers. It then stays
# in the foreground: when its standard input is a pipe it stops as soon as that pipe closes
# (the test process ended, however it ended); otherwise when glewlwyd exits or on a signal.
# Stopping is killing its process group; the temporary directory is removed on the way out.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
redirects=()
while (($#)); do
  case $1 in
    --redirect-uri) redirects+=("$2"); shift 2 ;;
    *) echo "start.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
((${#redirects[@]})) || { echo "start.sh: at least one --redirect-uri is needed" >&2; exit 2; }
for cmd in glewlwyd sqlite3 curl openssl python3; do
  command -v "$cmd" >/dev/null || { echo "start.sh: $cmd is missing (run tests/setup/install-deps.sh)" >&2; exit 1; }
done
schema=/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3
[[ -r $schema ]] || { echo "start.sh: $schema is missing (glewlwyd not installed?)" >&2; exit 1; }

state=$(mktemp -d "${TMPDIR:-/tmp}/regauth-glewlwyd.XXXXXX")
pid=
cleanup() {
  # A second signal (the process group's stop after the pipe closed) must not cut this short.
  trap '' INT TERM
  trap - EXIT
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  [[ -n ${KEEP_STATE:-} ]] || rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Root runs glewlwyd as nobody: the state directory is handed over to that user.
run_as=()
if ((EUID == 0)); then
  run_as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi

random() { openssl rand -hex "$1"; }
json() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The web pages (login.html, its scripts) from the package, with the package's own
# config.json template, so a browser can sign in through them. Copied: glewlwyd serves
# no symbolic link.
mkdir -p "$state/webapp"
for f in /usr/share/glewlwyd/webapp/*; do
  [[ $(basename "$f") == config.json ]] || cp -RL "$f" "$state/webapp/"
done
cp /usr/share/glewlwyd/templates/config.json "$state/webapp/config.json"
sqlite3 "$state/glewlwyd.db" <"$schema"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$state/key.pem" 2>/dev/null
openssl pkey -in "$state/key.pem" -pubout -out "$state/pub.pem"
chmod 600 "$state/key.pem"
((EUID == 0)) && chown -R nobody:nogroup "$state"

# A free port, taken again if another process grabbed it before glewlwyd bound it.
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  sed -e "s|@PORT@|$port|g" -e "s|@STATE@|$state|g" "$here/glewlwyd.conf.in" >"$state/glewlwyd.conf"
  : >"$state/glewlwyd.log"
  ((EUID == 0)) && chown nobody:nogroup "$state/glewlwyd.conf" "$state/glewlwyd.log"
  "${run_as[@]}" glewlwyd --config-file="$state/glewlwyd.conf" >>"$state/stdout.log" 2>&1 &
  pid=$!
  base="http://127.0.0.1:$port/api"
  up=
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    if curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/config" 2>/dev/null; then up=1; break; fi
    sleep 0.1
  done
  [[ -n $up ]] && break
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=
  echo "start.sh: glewlwyd did not answer on port $port (attempt $attempt)" >&2
done
[[ -n $pid ]] || { cat "$state/glewlwyd.log" "$state/stdout.log" >&2; exit 1; }

issuer="$base/oidc"
admin_jar="$state/admin.cookies"
# api METHOD PATH JSON [JAR]: one admin API call, failing with glewlwyd's answer.
api() {
  local out code
  out=$(curl -sS --max-time 10 -X "$1" -c "${4:-$admin_jar}" -b "${4:-$admin_jar}" -H 'Content-Type: application/json' \
    --data-binary "$3" -w '\n%{http_code}' "$base$2")
  code=${out##*$'\n'}
  if [[ $code != 200 ]]; then
    echo "start.sh: $1 $2 answered $code: ${out%$'\n'*}" >&2
    exit 1
  fi
}

# The package's database comes with admin/password (GETTING_STARTED.md).
api POST /auth/ '{"username":"admin","password":"password"}'
key=$(json "$(cat "$state/key.pem")")
cert=$(json "$(cat "$state/pub.pem")")
api POST /mod/plugin/ "$(
  cat <<JSON
{"module":"oidc","name":"oidc","display_name":"regauth test provider","enabled":true,
 "parameters":{"iss":"$issuer","jwt-type":"rsa","jwt-key-size":"256","key":$key,"cert":$cert,
  "jwks-show":true,"subject-type":"public",
  "access-token-duration":3600,"refresh-token-duration":3600,"code-duration":600,
  "refresh-token-rolling":false,"allow-non-oidc":false,
  "auth-type-code-enabled":true,"auth-type-token-enabled":false,"auth-type-id-token-enabled":false,
  "auth-type-password-enabled":false,"auth-type-client-enabled":false,
  "auth-type-refresh-enabled":true,"auth-type-device-enabled":false,
  "pkce-allowed":true,"pkce-method-plain-allowed":false,
  "name-claim":"mandatory","email-claim":"mandatory","scope-claim":"no","claims":[],
  "request-parameter-allow":false,"session-management-allowed":false}}
JSON
)"
# "openid" needs the user's password (the package ships it as needing none).
api PUT /scope/openid '{"name":"openid","display_name":"Open ID","description":"Open ID Connect scope","password_required":true,"password_max_age":0,"scheme":{}}'

username=alice
name="Alice Example"
email=alice@example.org
password=$(random 12)
client_id=regauth-test
client_secret=$(random 16)
api POST /user/ "{\"username\":\"$username\",\"name\":$(json "$name"),\"email\":\"$email\",\"password\":\"$password\",\"scope\":[\"openid\"],\"enabled\":true}"
uris=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${redirects[@]}")
api POST /client/ "{\"client_id\":\"$client_id\",\"name\":\"regauth\",\"confidential\":true,\"password\":\"$client_secret\",\"enabled\":true,\"scope\":[\"openid\"],\"redirect_uri\":$uris,\"authorization_type\":[\"code\",\"refresh_token\"],\"token_endpoint_auth_method\":[\"client_secret_basic\",\"client_secret_post\"]}"
api PUT /user/admin "{\"name\":\"The Administrator\",\"email\":\"\",\"password\":\"$(random 16)\",\"scope\":[\"g_admin\",\"g_profile\"],\"enabled\":true}"

# The user's consent to the client, given once here as the login page would ask for it.
user_jar="$state/user.cookies"
api POST /auth/ "{\"username\":\"$username\",\"password\":\"$password\"}" "$user_jar"
api PUT "/auth/grant/$client_id" '{"scope":"openid"}' "$user_jar"
rm -f "$admin_jar" "$user_jar"

for _ in $(seq 50); do
  curl -fsS --max-time 5 -o /dev/null "$issuer/.well-known/openid-configuration" && break
  sleep 0.1
done
curl -fsS --max-time 5 -o /dev/null "$issuer/.well-known/openid-configuration"

cat <<OUT
ISSUER=$issuer
PORT=$port
CLIENT_ID=$client_id
CLIENT_SECRET=$client_secret
USERNAME=$username
PASSWORD=$password
EMAIL=$email
NAME=$name
STATE_DIR=$state
LOG=$state/glewlwyd.log
READY
OUT

if [[ -p /dev/stdin ]]; then
  # Stop when the pipe closes; also when glewlwyd dies on its own.
  while kill -0 "$pid" 2>/dev/null; do
    rc=0
    read -r -t 1 _ || rc=$?
    ((rc == 0 || rc > 128)) || break
  done
else
  wait "$pid"
fi
