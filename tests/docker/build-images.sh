#!/usr/bin/env bash
# Builds the images the Docker end-to-end suite runs, without pulling anything:
#   local/debian:bookworm   debootstrap (minbase) imported with `docker import`
#   local/registry:2        Debian's docker-registry (distribution v2.8) laid out like
#                           registry:2: config at /etc/docker/registry/config.yml, port 5000
#   local/regauth:test      the top-level Dockerfile, fed the binary cargo built on this host
#   local/postgres:15-debian  deploy/ha/postgres.Dockerfile: Debian's postgresql-15, run like
#                           the official postgres image (the HA suite, tests/docker/ha.sh)
#   local/haproxy:debian    deploy/ha/haproxy.Dockerfile: Debian's haproxy 2.6 (the HA suite)
#   local/prometheus:debian deploy/ha/prometheus.Dockerfile: Debian's prometheus 2.42 (the HA suite)
# Each image is rebuilt only when missing (the base) or when its inputs changed (docker's
# build cache). Usage: build-images.sh PATH/TO/regauth-binary
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${1:?usage: build-images.sh PATH/TO/regauth}
base=local/debian:bookworm

if ! docker image inspect "$base" >/dev/null 2>&1; then
  # The machine's own apt source (or $DEBIAN_MIRROR): see tests/setup/debian-archive.sh.
  mirror=$(bash tests/setup/debian-archive.sh)
  rootfs=$(mktemp -d /tmp/regauth-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  echo "build-images: debootstrap bookworm (minbase) from $mirror into $rootfs"
  log=$(mktemp /tmp/regauth-debootstrap.XXXXXX.log)
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$log" 2>&1 \
    || { tail -20 "$log"; exit 1; }
  rm -f "$log"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

# The registry: the host's Debian docker-registry binary (needs only glibc) in the base.
ctx=$(mktemp -d /tmp/regauth-registry-ctx.XXXXXX)
cp /usr/bin/docker-registry "$ctx/registry"
cp tests/docker/registry.Dockerfile "$ctx/Dockerfile"
docker build -q -t local/registry:2 "$ctx" >/dev/null
rm -rf "$ctx"

# regauth: the real Dockerfile, with the build stage reusing the host-built binary.
mkdir -p dist
cp "$binary" dist/regauth
strip dist/regauth 2>/dev/null || true
docker build -q -t local/regauth:test \
  --build-arg BUILD_IMAGE="$base" --build-arg RUNTIME_IMAGE="$base" \
  --build-arg PREBUILT=dist/regauth . >/dev/null
# The build stage's image is only a stepping stone; don't let them pile up.
docker image prune -f --filter label=io.regauth.stage=build >/dev/null

# The HA deployment's PostgreSQL, load balancer and Prometheus, from Debian's packages: apt
# inside the build uses the base image's sources, i.e. the archive debootstrap was given above.
for pair in postgres:local/postgres:15-debian haproxy:local/haproxy:debian \
  prometheus:local/prometheus:debian; do
  out=$(docker build -q -t "${pair#*:}" --build-arg BASE_IMAGE="$base" \
    -f "deploy/ha/${pair%%:*}.Dockerfile" deploy/ha 2>&1) || { printf '%s\n' "$out"; exit 1; }
done
echo "build-images: $base local/registry:2 local/regauth:test local/postgres:15-debian" \
  "local/haproxy:debian local/prometheus:debian ready"
