#!/usr/bin/env bash
# The test command (README, CI): installs what it needs, runs every Rust test (unit, HTTP,
# and end-to-end against the real registry binary and skopeo), the benchmark's smoke run,
# then the Docker suites (docker-compose.yml on locally built images, driven by docker,
# skopeo and ctr; then the high-availability override: PostgreSQL, two replicas behind
# HAProxy, one killed during 200 pulls, PostgreSQL stopped for 10 s, a real Prometheus
# scraping both), regauth beside the contract Synapse (docker-compose.synapse.yml), the
# Debian package in a clean bookworm container, then the fuzzers (cargo-fuzz on stable,
# 30 s per target). The Rust tests start their own throw-away
# PostgreSQL cluster (Debian's postgresql, initdb in a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup/install-deps.sh
cargo build --all-targets
cargo test --all-targets
bash tests/deploy/check.sh
bash tests/schemathesis/run.sh target/debug/regauth
# The benchmark's smoke run (seconds): fails on errors (non-2xx, failed batches, a
# server that does not start), never on timing.
REGAUTH_BIN=target/debug/regauth bash bench/run.sh --smoke
bash tests/docker/e2e.sh target/debug/regauth
bash tests/docker/ha.sh target/debug/regauth
bash tests/docker/synapse.sh target/debug/regauth
bash tests/docker/deb.sh target/debug/regauth
bash tests/fuzz/run.sh 30
