#!/usr/bin/env bash
# A throw-away PostgreSQL server for the benchmark and manual runs (the Rust tests start
# their own, see tests/support/throwaway.rs): Debian's binaries, `initdb` into DIR
# (as the postgres user when run as root), loopback only, password auth.
#
#   tests/setup/postgres.sh start DIR   prints postgres://regauth:PASSWORD@127.0.0.1:PORT/regauth
#   tests/setup/postgres.sh stop DIR    stops it and removes DIR
set -euo pipefail
cmd=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}
bin=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
[ -x "$bin/initdb" ] || { echo "postgres.sh: no initdb (install postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case $cmd in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  printf '%s\n' "$password" >"$dir/pw"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/pw"
  as_pg "$bin/initdb" -D "$dir/data" -U regauth --auth=scram-sha-256 --pwfile="$dir/pw" \
    -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=300" start >/dev/null
  PGPASSWORD=$password "$bin/createdb" -h 127.0.0.1 -p "$port" -U regauth regauth
  echo "postgres://regauth:$password@127.0.0.1:$port/regauth"
  ;;
stop)
  [ -d "$dir/data" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*) echo "usage: postgres.sh start|stop DIR" >&2; exit 2 ;;
esac
