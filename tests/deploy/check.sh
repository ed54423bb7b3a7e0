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

# deploy/grafana/regauth.json, the Grafana dashboard (not loaded into a Grafana here): JSON
# whose panels all use the ${DS_PROMETHEUS} input as data source; every regauth series its
# expressions name is exported by regauth (a metrics macro in src/) or recorded by
# regauth-rules.yml; every series an alert watches is on it (itself or through a recording
# rule); and its expressions, Grafana's variables filled in, parse (promtool check rules, as
# recording rules of a throw-away file).
dashboard=deploy/grafana/regauth.json
dashboard_series() {
  python3 - "$dashboard" "$prom/regauth-rules.yml" src "$1" <<'PY'
import json, pathlib, re, sys
dash_file, rules_file, src, out = sys.argv[1:]
d = json.load(open(dash_file))
problems = []
if not any(i.get("name") == "DS_PROMETHEUS" and i.get("pluginId") == "prometheus" for i in d.get("__inputs", [])):
    problems.append("no __inputs entry DS_PROMETHEUS (a prometheus data source)")
ids = [p.get("id") for p in d["panels"]]
if len(set(ids)) != len(ids):
    problems.append(f"panel ids repeat: {ids}")
exprs = []
for p in d["panels"]:
    for t in [p] + p.get("targets", []):
        if t.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
            problems.append(f"panel {p['title']!r}: data source {t.get('datasource')}, not ${{DS_PROMETHEUS}}")
    exprs += [(p["title"], t["expr"]) for t in p.get("targets", [])]
    if not p.get("targets"):
        problems.append(f"panel {p['title']!r} has no query")
names = lambda text: set(re.findall(r"\b(?:regauth[_:][A-Za-z0-9_:]*|up)\b(?=\s*[{\[)])", re.sub(r'"[^"]*"', '""', text)))
exported = set()
for f in pathlib.Path(src).rglob("*.rs"):
    for kind, n in re.findall(r"(counter|gauge|histogram)!\(\s*\"(regauth_[a-z0-9_]+)\"", f.read_text()):
        exported |= {n} | ({n + "_bucket", n + "_sum", n + "_count"} if kind == "histogram" else set())
recorded, alerts, rule = {}, {}, None
for line in open(rules_file):
    m = re.match(r"      - (record|alert): (\S+)", line)
    if m:
        rule = (recorded if m[1] == "record" else alerts).setdefault(m[2], [])
    elif rule is not None and not re.match(r"\s+(for|labels|annotations):", line):
        rule.append(line)
    else:
        rule = None
used = set()
for title, e in exprs:
    n = names(e)
    used |= n
    if not n:
        problems.append(f"panel {title!r}: no regauth series in {e!r}")
    for x in sorted(n - exported - set(recorded) - {"up"}):
        problems.append(f"panel {title!r}: {x} is neither exported in {src}/ nor recorded in {rules_file}")
through = used | {x for r in used & set(recorded) for x in names("".join(recorded[r]))}
for a, text in alerts.items():
    for x in sorted(names("".join(text)) - through):
        problems.append(f"alert {a} watches {x}, on no panel")
with open(out, "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (_, e) in enumerate(exprs):
        e = e.replace("$__rate_interval", "5m").replace("$job", "regauth")
        f.write(f"      - record: dashboard:query_{i}\n        expr: {json.dumps(e)}\n")
if problems:
    sys.exit("\n".join(problems))
print(f"{len(d['panels'])} panels, {len(exprs)} queries, series {sorted(used)}")
PY
}
dashboard_check() {
  local tmp
  tmp=$(mktemp) || return 1
  dashboard_series "$tmp" && promtool check rules "$tmp"
  local rc=$?
  rm -f "$tmp"
  return "$rc"
}
if need promtool prometheus; then
  check "$dashboard: data source, series exported or recorded, every alert's series shown, queries parse" \
    dashboard_check
fi

if ((failed)); then
  echo "deploy checks: FAILED"
  exit 1
fi
echo "deploy checks: ok"
