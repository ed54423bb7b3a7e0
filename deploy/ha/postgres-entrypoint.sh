#!/bin/bash
# deploy/ha/postgres.Dockerfile's entrypoint: the official postgres image's behaviour for
# the variables docker-compose.ha.yml sets, on Debian's postgresql-15.
#   - started as root: owns PGDATA and the socket directory to postgres, then re-runs
#     itself as postgres (setpriv, util-linux);
#   - PGDATA without PG_VERSION: initdb (POSTGRES_USER with POSTGRES_PASSWORD), TCP password
#     authentication (scram-sha-256) from anywhere, listen on '*', POSTGRES_DB created,
#     /docker-entrypoint-initdb.d/*.sql|*.sh run, by a temporary server that listens on a
#     private socket only (so nothing, pg_isready included, sees it as ready);
#   - then exec postgres as PID 1 (STOPSIGNAL SIGINT: fast shutdown).
# Arguments: "postgres [OPTIONS]" or only options ("-c key=value ..."); anything else runs as is.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
  exec "$@"
fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [ "$(id -u)" = 0 ]; then
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
  chown -R postgres:postgres "$PGDATA"
  chmod 0700 "$PGDATA"
  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_USER:=postgres}"
  : "${POSTGRES_DB:=$POSTGRES_USER}"
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "postgres: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options, as upstream.
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} >/dev/null
  rm -f "$pwfile"
  {
    echo
    echo "# docker-entrypoint.sh: password authentication over TCP from anywhere"
    echo "host all all all scram-sha-256"
  } >>"$PGDATA/pg_hba.conf"
  sed -ri "s/^#?(listen_addresses)\s*=.*/\1 = '*'/" "$PGDATA/postgresql.conf"
  grep -qx "listen_addresses = '\*'" "$PGDATA/postgresql.conf"

  # A temporary server on a private socket directory, no TCP.
  sockdir=$(mktemp -d)
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=$sockdir" \
    -w -t 60 -l "$sockdir/init.log" start >/dev/null || { cat "$sockdir/init.log" >&2; exit 1; }
  psql_() { psql -v ON_ERROR_STOP=1 -X -q -h "$sockdir" -U "$POSTGRES_USER" "$@"; }
  if [ "$POSTGRES_DB" != postgres ]; then
    psql_ -d postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sql) echo "postgres: running $f"; psql_ -d "$POSTGRES_DB" -f "$f" ;;
      *.sh) echo "postgres: running $f"; . "$f" ;;
      *) ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  rm -rf "$sockdir"
  echo "postgres: initialized $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
fi

exec "$@"
