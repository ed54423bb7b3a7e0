#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian bookworm machine (root):
# Debian's docker-registry (distribution v2.8), skopeo and umoci (real clients, no daemon),
# debootstrap (local base images), curl, python3, binutils, and the Docker engine,
# docker-compose and containerd's ctr if missing.
# Idempotent: installs only what is absent.
set -euo pipefail
need=()
for pair in docker-registry:docker-registry skopeo:skopeo umoci:umoci debootstrap:debootstrap \
  curl:curl python3:python3 strip:binutils; do
  cmd=${pair%%:*}; pkg=${pair##*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
command -v docker >/dev/null 2>&1 || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v ctr >/dev/null 2>&1 || need+=(containerd)
if ((${#need[@]})); then
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "install-deps: starting dockerd"
  (dockerd >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
fi
echo "install-deps: ok"
