# The Docker suites' harness (sourced by e2e.sh and ha.sh). Every check runs its command
# and looks at its exit status and output, never at a value captured beforehand in an
# argument (`test "$(cmd)" = x` would pass or fail on an empty string when cmd itself
# failed). Helpers that capture output do it with `out=$(cmd) || return 1`, and pipefail
# (set by the suites) is inherited by every function. Each check prints "ok" or "FAIL";
# the suites end with "N passed, M failed".
# shellcheck shell=bash
passed=0
failed=0
ok() {
  passed=$((passed + 1))
  echo "  ok    $1"
}
fail() {
  failed=$((failed + 1))
  echo "  FAIL  $1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | tail -15 | sed 's/^/        | /'; fi
}
# check NAME CMD...: CMD succeeds.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "$out"; fi
}
# capture VAR NAME CMD...: VAR=$(CMD), carriage returns and trailing newlines removed. A
# failing CMD or an empty result is a FAIL and leaves VAR empty.
capture() {
  local var=$1 name=$2 out err
  shift 2
  err=$(mktemp)
  if out=$("$@" 2>"$err") && out=$(tr -d '\r' <<<"$out") && [ -n "$out" ]; then
    printf -v "$var" '%s' "$out"
    ok "$name"
  else
    printf -v "$var" '%s' ""
    fail "$name" "$(cat "$err")${out:-(no output)}"
  fi
  rm -f "$err"
}
# prints EXPECTED CMD...: CMD succeeds and its output (carriage returns removed) is EXPECTED.
prints() {
  local want=$1 out
  shift
  out=$("$@") || return 1
  out=$(tr -d '\r' <<<"$out")
  [ "$out" = "$want" ] || { echo "printed '$out', not '$want'"; return 1; }
}
# lists_nothing CMD...: CMD succeeds and prints nothing (a tear-down listing).
lists_nothing() {
  local out
  out=$("$@") || return 1
  [ -z "$out" ] || { printf 'left: %s\n' "$out"; return 1; }
}
is_digest() { [[ $1 =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "not a digest: '$1'"; return 1; }; }
# eventually SECONDS CMD...: retries CMD; when time is up, one last run shows what it says.
eventually() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      "$@"
      return
    fi
    sleep 0.5
  done
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# http_status WANT CURL-ARGS...: curl reaches the server and the HTTP status is WANT.
http_status() {
  local want=$1 code
  shift
  code=$(curl -s -o /dev/null -w '%{http_code}' "$@") || { echo "curl failed (status $?)"; return 1; }
  [ "$code" = "$want" ] || { echo "HTTP $code, not $want"; return 1; }
}
