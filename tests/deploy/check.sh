#!/usr/bin/env bash
# Checks the deployment files with the operators' own tools (the test command runs it,
# tests/run-all.sh; tests/setup/install-deps.sh installs the tools; this installs nothing):
#   deploy/prometheus/regauth-rules.yml       promtool check rules
#   deploy/prometheus/regauth-rules.test.yml  promtool test rules (every alert fires on a
#                                             series that should fire it, silent on a healthy one)
#   deploy/prometheus/prometheus.yml          promtool check config (with the rules it loads)
#   deploy/systemd/regauth.service            systemd-analyze verify, silent: it exits 0 on
#                                             an unknown key or a bad value and only warns,
#                                             so any output is a failure; and
#                                             systemd-analyze security --offline (overall
#                                             exposure at most 2.0 of 10); and its ExecStart
#                                             command line parsed by the built binary (`--help`).
# No systemd as PID 1 is needed: verify runs with --root on a throw-away directory holding
# the unit, a copy of the host's /usr/lib/systemd/system (the targets a service's default
# dependencies name) and the built binary at /usr/bin/regauth, ExecStart's path (verify
# refuses a unit whose command is not executable). The binary: $REGAUTH_BIN, else
# ${CARGO_TARGET_DIR:-target}/debug/regauth (the test command has built it by then).
# Prints one line per check; exits non-zero when any fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
# systemd-analyze security's --threshold, in tenths of its 0-10 exposure scale (the unit
# scores 1.2 with systemd 252).
EXPOSURE_MAX=20
bin=${REGAUTH_BIN:-${CARGO_TARGET_DIR:-target}/debug/regauth}
prom=deploy/prometheus
unit=deploy/systemd/regauth.service
failed=0

# check NAME COMMAND...: runs COMMAND, prints "ok" or "FAIL" and, on failure, the first
# 40 lines of its output (promtool repeats a rule file's error once per test).
check() {
  local name=$1 out lines
  shift
  if out=$("$@" 2>&1); then
    echo "ok    $name"
  else
    echo "FAIL  $name"
    lines=$(printf '%s\n' "$out" | wc -l)
    printf '%s\n' "$out" | head -n 40 | sed 's/^/      /'
    ((lines <= 40)) || echo "      ... ($((lines - 40)) more lines)"
    failed=1
  fi
}

# silent COMMAND...: COMMAND must exit 0 and print nothing.
silent() {
  local out
  out=$("$@" 2>&1) || { printf '%s\n' "$out"; return 1; }
  [[ -z $out ]] || { printf '%s\n' "$out"; return 1; }
}

# need TOOL: present, or a failure naming what installs it.
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "FAIL  $1 not found (tests/setup/install-deps.sh installs Debian's $2)"
  failed=1
  return 1
}

if need promtool prometheus; then
  check "promtool check rules $prom/regauth-rules.yml" \
    promtool check rules "$prom/regauth-rules.yml"
  check "promtool test rules $prom/regauth-rules.test.yml" \
    promtool test rules "$prom/regauth-rules.test.yml"
  check "promtool check config $prom/prometheus.yml" \
    promtool check config "$prom/prometheus.yml"
fi

if need systemd-analyze systemd; then
  if [[ ! -x $bin ]]; then
    echo "FAIL  systemd-analyze verify $unit: no regauth binary at $bin (build it, or set REGAUTH_BIN)"
    failed=1
  else
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root/usr/bin" "$root/usr/lib/systemd" "$root/etc/systemd/system"
    ln -s usr/lib "$root/lib"
    ln -s usr/bin "$root/bin"
    cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
    ln "$bin" "$root/usr/bin/regauth" 2>/dev/null || cp "$bin" "$root/usr/bin/regauth"
    cp "$unit" "$root/etc/systemd/system/regauth.service"
    placed=$root/etc/systemd/system/regauth.service
    check "systemd-analyze verify $unit" \
      silent systemd-analyze verify --root="$root" "$placed"
    check "systemd-analyze security $unit (exposure at most 2.0)" \
      systemd-analyze security --offline=yes --root="$root" --threshold="$EXPOSURE_MAX" \
      --no-pager "$placed"
    # ExecStart's command line, as the built binary parses it (`--help` after it: the
    # flags and subcommand are checked, nothing starts).
    exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
    read -r -a argv <<<"$exec_start"
    if [[ ${argv[0]:-} != /usr/bin/regauth ]]; then
      echo "FAIL  ExecStart runs ${argv[0]:-nothing}, not /usr/bin/regauth"
      failed=1
    else
      check "ExecStart parses: ${argv[*]}" "$bin" "${argv[@]:1}" --help
    fi
  fi
fi

if ((failed)); then
  echo "deploy checks: FAILED"
  exit 1
fi
echo "deploy checks: ok"
