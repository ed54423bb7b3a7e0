#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian bookworm machine (root):
# Debian's docker-registry (distribution v2.8), skopeo and umoci (real clients, no daemon),
# debootstrap (local base images), curl, python3, binutils, wrk and openssl (the bench
# smoke run), chromium and chromium-driver (the web pages' browser test, tests/web_ui.rs),
# postgresql (the directory suite's second backend: the tests initdb a throw-away cluster),
# glewlwyd (a real OpenID Connect provider: tests/setup/oidc-provider/start.sh) with sqlite3,
# e2fsprogs (a small ext4 file system the full and read-only disk test mounts, tests/full_disk.rs),
# prometheus (promtool) and systemd (systemd-analyze) for the deployment files' checks,
# and the Docker engine, docker-compose and containerd's ctr if missing.
# Idempotent: installs only what is absent.
set -euo pipefail
need=()
for pair in docker-registry:docker-registry skopeo:skopeo umoci:umoci debootstrap:debootstrap \
  curl:curl python3:python3 strip:binutils xz:xz-utils ip:iproute2 \
  wrk:wrk openssl:openssl chromium:chromium chromedriver:chromium-driver \
  systemd-analyze:systemd \
  mkfs.ext4:e2fsprogs e2fsck:e2fsprogs findmnt:util-linux; do
  cmd=${pair%%:*}; pkg=${pair##*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v docker >/dev/null 2>&1 || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v ctr >/dev/null 2>&1 || need+=(containerd)
# promtool (the Prometheus rules' checks, tests/deploy/check.sh) comes with Debian's
# prometheus package; its recommends (exporters, disk tools) are not needed, and its
# postinst starts no server where systemd is not PID 1.
if ! command -v promtool >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
if ((${#need[@]})); then
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# glewlwyd: its debconf question answered "No configuration" (so its postinst sets up no
# system database) with dbconfig-no-thanks for its database-framework dependency, and
# services kept from starting while it installs (a policy-rc.d of our own, only if the
# machine has none): the tests make their own SQLite database and start it themselves,
# unprivileged, so nothing is left running.
if [[ $(dpkg-query -W -f='${Status}' glewlwyd 2>/dev/null) != "install ok installed" ]] ||
  ! command -v sqlite3 >/dev/null 2>&1; then
  echo "install-deps: installing glewlwyd"
  export DEBIAN_FRONTEND=noninteractive
  ((${#need[@]})) || apt-get update -qq
  echo "glewlwyd glewlwyd/config_type select No configuration" | debconf-set-selections
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
  fi
  rc=0
  apt-get install -y -qq --no-install-recommends glewlwyd dbconfig-no-thanks sqlite3 >/dev/null || rc=$?
  [[ -z $own_policy ]] || rm -f "$policy"
  ((rc == 0)) || exit "$rc"
fi
# Compose v2 (`docker compose`), so the suite runs the compose files with both versions.
# Debian packages it from trixie on as a static binary; bookworm's apt has only v1, so take
# the plugin out of trixie's .deb (found through the suite's package index), fetched from
# the archive apt already uses here (or $DEBIAN_MIRROR): see tests/setup/debian-archive.sh.
if ! docker compose version >/dev/null 2>&1; then
  echo "install-deps: installing Compose v2 (Debian trixie's docker-compose package)"
  mirror=$(bash "$(dirname "$0")/debian-archive.sh")
  tmp=$(mktemp -d)
  curl -fsS "$mirror/dists/trixie/main/binary-amd64/Packages.xz" -o "$tmp/Packages.xz"
  deb=$(xz -dc "$tmp/Packages.xz" |
    awk '/^Package: docker-compose$/{p=1} p&&/^Filename:/&&!f{f=$2} /^$/{p=0} END{print f}')
  curl -fsS "$mirror/$deb" -o "$tmp/compose.deb"
  dpkg-deb -x "$tmp/compose.deb" "$tmp/x"
  install -D -m 0755 "$tmp/x/usr/libexec/docker/cli-plugins/docker-compose" \
    /usr/local/lib/docker/cli-plugins/docker-compose
  rm -rf "$tmp"
  docker compose version
fi
if ! docker info >/dev/null 2>&1; then
  echo "install-deps: starting dockerd"
  (dockerd >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
fi
echo "install-deps: ok"
