#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian bookworm machine (root):
# Debian's docker-registry (distribution v2.8), skopeo and umoci (real clients, no daemon),
# debootstrap (local base images), and the Docker engine + docker-compose if missing.
# Idempotent: installs only what is absent.
set -euo pipefail
need=()
for pair in docker-registry:docker-registry skopeo:skopeo umoci:umoci debootstrap:debootstrap; do
  cmd=${pair%%:*}; pkg=${pair##*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
command -v docker >/dev/null 2>&1 || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
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
