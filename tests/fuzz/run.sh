#!/usr/bin/env bash
# Fuzzes regauth's input parsers: tests/fuzz/run.sh [seconds-per-target] (default 30).
#
# Tool: cargo-fuzz, i.e. libFuzzer (built from the libfuzzer-sys crate) with rustc's
# SanitizerCoverage instrumentation, run with `--sanitizer none`. Why: with no sanitizer
# cargo-fuzz passes rustc only stable flags (-Cpasses=sancov-module, -Cllvm-args=...,
# --cfg fuzzing), so it builds and runs on the stable toolchain with no nightly and no
# RUSTC_BOOTSTRAP; libFuzzer then gives coverage guidance, a per-input `-timeout` (the
# repository-name matcher must stay linear-time) and crash artifacts. AddressSanitizer
# needs nightly's -Zsanitizer, but these targets are safe Rust (memory bugs there would
# be in dependencies' unsafe code); the fuzzers look for panics, failed properties and
# slow inputs. cargo-afl would also work on stable but needs AFL++ built from source and
# a persistent-mode harness per target; libFuzzer needs only a C++ compiler.
#
# Each target runs against a copy of its committed seed corpus (fuzz/corpus/<target>/)
# in a temporary directory, so a run never modifies the repository. Exits non-zero if
# any target crashed, failed a property or timed out, printing the input's path (the
# temporary directory is then kept) and its hex.
#
# Environment: FUZZ_JOBS (targets fuzzed at once; default: the number of cores),
# FUZZ_KEEP=1 keeps the temporary directory (grown corpora, logs) even when all passed.
set -euo pipefail

secs="${1:-30}"
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ]; then
    echo "usage: $0 [seconds-per-target]" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fuzz="$root/fuzz"
targets=(basic_header scope repo_name token_form notification_envelope)
CARGO_FUZZ_VERSION=0.13.2

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# libfuzzer-sys compiles libFuzzer's C++ sources with the cc crate.
if ! command -v c++ >/dev/null 2>&1; then
    echo "fuzz: installing a C++ compiler (g++)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

host="$(rustc -vV | sed -n 's/^host: //p')"
start=$SECONDS
# --codegen-units 16: cargo-fuzz's default of 1 makes the cold build of regauth's whole
# dependency tree several times slower, for a few percent more executions per second.
(cd "$fuzz" && cargo fuzz build --sanitizer none --codegen-units 16 --target "$host")
echo "fuzz: built ${#targets[@]} targets in $((SECONDS - start)) s"
bin="$fuzz/target/$host/release"

work="$(mktemp -d "${TMPDIR:-/tmp}/regauth-fuzz.XXXXXX")"
keep="${FUZZ_KEEP:-0}"
cleanup() { if [ "$keep" != 1 ]; then rm -rf "$work"; fi; }
trap cleanup EXIT

# Per-target libFuzzer options. repo_name gets a short per-input timeout and inputs well
# past the 255-character limit: a super-linear matcher shows up as a timeout crash.
options() {
    case "$1" in
        repo_name) echo "-timeout=2 -max_len=1024" ;;
        basic_header | scope) echo "-timeout=10 -max_len=1024" ;;
        token_form) echo "-timeout=10 -max_len=2048" ;;
        notification_envelope) echo "-timeout=10 -max_len=8192" ;;
    esac
}

fuzz_one() {
    local t="$1" dir="$work/$1"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp -R "$fuzz/corpus/$t/." "$dir/corpus/"
    local rc=0
    # shellcheck disable=SC2046
    "$bin/$t" "$dir/corpus" $(options "$t") \
        -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/" >"$dir/log" 2>&1 || rc=$?
    echo "$rc" >"$dir/rc"
}

jobs_max="${FUZZ_JOBS:-$(nproc)}"
running=0
for t in "${targets[@]}"; do
    if [ "$running" -ge "$jobs_max" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    fuzz_one "$t" &
    running=$((running + 1))
done
wait

crashes=0
for t in "${targets[@]}"; do
    dir="$work/$t"
    rc="$(cat "$dir/rc")"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)"
    took="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$dir/log" | tail -1)"
    found=()
    while IFS= read -r -d '' f; do found+=("$f"); done \
        < <(find "$dir/artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' \
            -o -name 'oom-*' -o -name 'leak-*' \) -print0)
    if [ "$rc" != 0 ] || [ "${#found[@]}" -gt 0 ]; then
        crashes=$((crashes + 1))
        keep=1
        echo "fuzz: $t: CRASH (libFuzzer exit $rc) after ${execs:-?} executions"
        { grep -A1 -m1 "panicked at" "$dir/log" || true
          grep -E -m 3 "^==[0-9]+== ERROR|out-of-memory" "$dir/log" || true
        } | sed 's/^/    /'
        for f in "${found[@]}"; do
            echo "    input: $f"
            echo "    hex:   $(od -An -v -tx1 "$f" | tr -d ' \n' | cut -c1-512)"
            echo "    rerun: $bin/$t $f"
        done
        echo "    log:   $dir/log"
    else
        echo "fuzz: $t: ${execs:-?} executions in ${took:-?} s, corpus $(find "$fuzz/corpus/$t" -type f | wc -l) -> $(find "$dir/corpus" -type f | wc -l) inputs, no crash"
    fi
done
if [ "$keep" = 1 ]; then
    echo "fuzz: kept $work"
fi
echo "fuzz: ${#targets[@]} targets, $crashes crashes"
[ "$crashes" -eq 0 ]
