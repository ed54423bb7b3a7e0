#!/usr/bin/env bash
# Which signing stack: ring vs aws-lc-rs (and the RustCrypto crates regauth used before),
# signatures and key generations per second on one core, with `openssl speed` in the same
# sitting as the machine's ceiling. Figures: docs/performance.md.
# Usage: bash bench/signing.sh [seconds-per-row]
set -euo pipefail
cd "$(dirname "$0")/signing"
cargo build --release --quiet
./target/release/regauth-signing-bench "${1:-2}"
echo "--- openssl speed (one core) ---"
openssl speed -seconds "${1:-2}" rsa2048 ecdsap256 2>/dev/null | grep -E '^(rsa|ecdsa|[ ]+256 bits|rsa 2048)' || true
