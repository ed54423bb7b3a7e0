#!/usr/bin/env bash
# The Debian package in a clean bookworm container: built from the debug binary (deploy/debian/build.sh --profile dev), installed with apt into local/debian:bookworm (debootstrap's minbase, no regauth in it), used and removed there.
#
# Checks, each printing "ok" or "FAIL" (tests/docker/harness.sh), then "N passed, M failed":
#   install   apt-get install ./regauth_*.deb needs nothing minbase lacks (no apt-get update,
#             no network): the package's dependencies are all in minbase;
#   files     regauth --version is Cargo's version; user regauth is a system user with a
#             nologin shell; /var/lib/regauth 0700 regauth:regauth; /etc/regauth 0750 and
#             its regauth.toml 0640 root:regauth, a conffile; a random webhook secret; the
#             unit in place and enabled (deb-systemd-helper works without systemd); man
#             pages; completions (bash's loads and completes `regauth`); the README;
#   use       as user regauth in /var/lib/regauth: migrate, user add, serve in the
#             background; a token request from the host returns 200 with a JWT for the
#             user's password, 401 for a wrong one;
#   remove    apt-get remove keeps /var/lib/regauth (with the directory and keys), the
#             configuration and the user; installing again finds the user; dpkg --purge
#             deletes /etc/regauth but keeps the non-empty /var/lib/regauth and the user
#             (deploy/debian/postrm says why).
# Usage: tests/docker/deb.sh PATH/TO/debug/regauth   (the package is made from the binary's
# target directory: <target>/debug/regauth). Builds local/debian:bookworm when missing
# (tests/docker/build-images.sh). Removes its container on exit; prints the seconds taken.
# Single quotes keep ${...} and $(...) for dpkg-query's formats and the container's shell.
# shellcheck disable=SC2016
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS
bin=${1:?usage: tests/docker/deb.sh PATH/TO/debug/regauth}
base=local/debian:bookworm
source tests/docker/harness.sh

die() {
  echo "deb: $*" >&2
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
}

[[ -x $bin ]] || die "no binary at $bin (cargo build first)"
[[ $(basename "$(dirname "$bin")") == debug ]] || die "$bin is not a debug build (<target>/debug/regauth)"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
[[ -n $version ]] || die "no version in Cargo.toml"

docker image inspect "$base" >/dev/null 2>&1 || bash tests/docker/build-images.sh "$bin" \
  || die "cannot build $base"

# ---------------------------------------------------------------- the package
echo "deb: packaging $bin"
pkg_started=$SECONDS
deb=$(CARGO_TARGET_DIR=$(cd "$(dirname "$bin")/.." && pwd) \
  bash deploy/debian/build.sh --profile dev --fast) || die "deploy/debian/build.sh failed"
echo "deb: $deb ($(du -h "$deb" | cut -f1), $((SECONDS - pkg_started)) s)"
check "the package is regauth $version-1" \
  prints "regauth $version-1" dpkg-deb -W --showformat='${Package} ${Version}' "$deb"

# ---------------------------------------------------------------- a clean bookworm
c=regauth-deb-$$
cleanup() { docker rm -f "$c" >/dev/null 2>&1 || true; }
trap cleanup EXIT
docker run -d --name "$c" -p 127.0.0.1::5001 "$base" sleep infinity >/dev/null \
  || die "cannot start a container from $base"
in_c() { docker exec -i "$c" "$@"; }
# as_regauth CMD...: CMD as user regauth in /var/lib/regauth (the unit's User= and
# WorkingDirectory=).
as_regauth() { docker exec -i -w /var/lib/regauth "$c" runuser -u regauth -- "$@"; }
conf=(--config /etc/regauth/regauth.toml)

check "minbase has no regauth, no user regauth" \
  in_c sh -c '! command -v regauth && ! getent passwd regauth'
docker cp "$deb" "$c:/tmp/" || die "cannot copy the package in"
debname=$(basename "$deb")
install_out=$(in_c env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  "/tmp/$debname" 2>&1) || die "apt-get install failed: $install_out"
ok "apt-get install ./$debname in minbase, offline"

# ---------------------------------------------------------------- what it installed
check "regauth --version prints Cargo's version" prints "regauth $version" in_c regauth --version
system_user() {
  local entry uid shell home
  entry=$(in_c getent passwd regauth) || { echo "no user regauth"; return 1; }
  IFS=: read -r _ _ uid _ _ home shell <<<"$entry"
  ((uid > 0 && uid < 1000)) || { echo "uid $uid is not a system uid: $entry"; return 1; }
  [[ $shell == /usr/sbin/nologin && $home == /var/lib/regauth ]] || { echo "$entry"; return 1; }
  in_c getent group regauth >/dev/null || { echo "no group regauth"; return 1; }
}
check "user regauth: a system user, nologin shell, home /var/lib/regauth" system_user
check "/var/lib/regauth is 0700 regauth:regauth" \
  prints "700 regauth:regauth" in_c stat -c '%a %U:%G' /var/lib/regauth
check "/etc/regauth is 0750 root:regauth" \
  prints "750 root:regauth" in_c stat -c '%a %U:%G' /etc/regauth
check "/etc/regauth/regauth.toml is 0640 root:regauth" \
  prints "640 root:regauth" in_c stat -c '%a %U:%G' /etc/regauth/regauth.toml
conffile() {
  local out
  out=$(in_c dpkg-query -W -f='${Conffiles}' regauth) || return 1
  grep -q '^ /etc/regauth/regauth.toml [0-9a-f]\{32\}$' <<<"$out" || { echo "conffiles: '$out'"; return 1; }
}
check "/etc/regauth/regauth.toml is a conffile" conffile
secret() {
  prints "640 root:regauth" in_c stat -c '%a %U:%G' /etc/regauth/notifications.secret || return 1
  in_c grep -qx '[0-9a-f]\{64\}' /etc/regauth/notifications.secret || { echo "not 64 hex digits"; return 1; }
}
check "a random webhook secret, 0640 root:regauth" secret
unit_in_place() {
  in_c dpkg -L regauth | grep -qx /usr/lib/systemd/system/regauth.service || { echo "not in dpkg -L"; return 1; }
  in_c cat /lib/systemd/system/regauth.service | cmp - deploy/systemd/regauth.service
}
check "the unit is /usr/lib/systemd/system/regauth.service (= /lib/...)" unit_in_place
check "the unit is enabled (without systemd running)" \
  in_c test -L /etc/systemd/system/multi-user.target.wants/regauth.service
man_pages() {
  in_c sh -c 'zcat /usr/share/man/man1/regauth.1.gz | grep -q "trust\\\\-policy"' || { echo "regauth.1.gz"; return 1; }
  in_c test -f /usr/share/man/man1/regauth-user-add.1.gz || { echo "no regauth-user-add.1.gz"; return 1; }
}
check "man pages: regauth.1.gz names the subcommands; one per subcommand" man_pages
check "completions for bash, zsh and fish" in_c test -s /usr/share/bash-completion/completions/regauth \
  -a -s /usr/share/zsh/vendor-completions/_regauth -a -s /usr/share/fish/vendor_completions.d/regauth.fish
check "the bash completion loads and completes regauth" in_c bash -c \
  'source /usr/share/bash-completion/completions/regauth && complete -p regauth && grep -q directory /usr/share/bash-completion/completions/regauth'
check "README in /usr/share/doc/regauth" in_c test -s /usr/share/doc/regauth/README.md

# ---------------------------------------------------------------- used as the unit would
check "migrate as user regauth" \
  prints "the directory's schema is up to date" as_regauth regauth "${conf[@]}" migrate
check "the directory file belongs to regauth" \
  prints "regauth" in_c stat -c '%U' /var/lib/regauth/regauth.db
password=deb-$$-$RANDOM-secret
check "user add alice (password on stdin)" \
  as_regauth regauth "${conf[@]}" user add alice <<<"$password"
# serve: setpriv execs (runuser would stay as its parent), so the pid file is serve's own.
docker exec -d -w /var/lib/regauth -e REGAUTH__SERVER__LISTEN=0.0.0.0:5001 "$c" sh -c \
  'echo $$ >/tmp/serve.pid; exec setpriv --reuid=regauth --regid=regauth --init-groups \
     regauth --config /etc/regauth/regauth.toml serve >/tmp/serve.log 2>&1' \
  || die "cannot start serve"
if eventually 60 as_regauth regauth "${conf[@]}" healthcheck >/dev/null 2>&1; then
  ok "serve answers its health check"
else
  fail "serve answers its health check" "$(in_c cat /tmp/serve.log 2>&1)"
fi
port=$(docker port "$c" 5001/tcp | head -1) || die "no published port"
url="http://${port}/token?service=registry&scope=repository:syn1/tool:pull&account=alice"
token_for_alice() {
  local body
  body=$(curl -sf -u "alice:$password" "$url") || { echo "curl: $?"; return 1; }
  python3 -c '
import base64, json, sys
body = json.loads(sys.argv[1])
parts = body["token"].split(".")
assert len(parts) == 3, "not a JWT"
claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
assert claims["sub"] == "alice", claims
assert claims["iss"] == "regauth", claims
' "$body"
}
check "a token for alice's password: 200, a JWT with sub alice" token_for_alice
check "a wrong password: 401" http_status 401 -u "alice:not-$password" "$url"
check "the signing key was made in /var/lib/regauth/keys, 0700" \
  prints "700 regauth:regauth" in_c stat -c '%a %U:%G' /var/lib/regauth/keys
check "serve stops on SIGTERM" in_c sh -c \
  'pid=$(cat /tmp/serve.pid); kill $pid; i=0; while kill -0 $pid 2>/dev/null; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done'

# ---------------------------------------------------------------- remove, reinstall, purge
remove_out=$(in_c env DEBIAN_FRONTEND=noninteractive apt-get remove -y regauth 2>&1) \
  || die "apt-get remove failed: $remove_out"
check "removed: the binary is gone" in_c test ! -e /usr/bin/regauth
check "removed: config-files state" prints "deinstall ok config-files" \
  in_c dpkg-query -W -f='${Status}' regauth
check "removed: /var/lib/regauth keeps the directory and keys, 0700" in_c sh -c \
  'test -s /var/lib/regauth/regauth.db && ls /var/lib/regauth/keys/*.key >/dev/null &&
   test "$(stat -c %a /var/lib/regauth)" = 700'
check "removed: the configuration and its secret stay" \
  in_c test -f /etc/regauth/regauth.toml -a -f /etc/regauth/notifications.secret
check "removed: user regauth stays" in_c getent passwd regauth
secret_before=$(in_c cat /etc/regauth/notifications.secret) || die "no secret to compare"
reinstall_out=$(in_c env DEBIAN_FRONTEND=noninteractive apt-get install -y "/tmp/$debname" 2>&1) \
  || die "installing again failed: $reinstall_out"
alice_listed() {
  local out
  out=$(as_regauth regauth "${conf[@]}" user list) || return 1
  cut -f1 <<<"$out" | grep -qx alice || { echo "user list: $out"; return 1; }
}
check "installed again: alice is still there" alice_listed
check "installed again: the webhook secret is kept" \
  prints "$secret_before" in_c cat /etc/regauth/notifications.secret
purge_out=$(in_c dpkg --purge regauth 2>&1) || die "dpkg --purge failed: $purge_out"
purged() {
  local status
  status=$(in_c dpkg-query -W -f='${Status}' regauth 2>/dev/null) || return 0
  [[ $status == *not-installed ]] || { echo "status: $status"; return 1; }
}
check "purged: dpkg knows no regauth" purged
check "purged: /etc/regauth is gone" in_c test ! -e /etc/regauth
check "purged: /var/lib/regauth (directory, keys) and user regauth are kept" in_c sh -c \
  'test -s /var/lib/regauth/regauth.db && getent passwd regauth >/dev/null'
check "purged: it says so" grep -q "kept /var/lib/regauth" <<<"$purge_out"

cleanup
trap - EXIT
check "tear-down: the container is gone" lists_nothing docker ps -aq --filter "name=^$c\$"
echo "deb: $((SECONDS - started)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
