#!/usr/bin/env bash
# The test command (README, CI): installs what it needs, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup/install-deps.sh
cargo build --all-targets
cargo test --all-targets
