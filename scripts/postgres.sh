#!/usr/bin/env bash
# Start (or stop) a throwaway PostgreSQL server for the test suite, on 127.0.0.1 only.
#   scripts/postgres.sh start   -> prints the URL to use as BASSINET_TEST_POSTGRES_URL
#   scripts/postgres.sh stop
# Uses Debian's postgresql package (installed by scripts/test.sh). The data directory is
# under /tmp and is made anew on every start. PostgreSQL refuses to run as root, so as
# root the server runs as the 'postgres' user that Debian's package creates.
set -euo pipefail
PORT="${BASSINET_PG_PORT:-54329}"
DATA="${BASSINET_PG_DATA:-/tmp/bassinet-pg-$PORT}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$BIN/initdb" ] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    if [ -f "$DATA/postmaster.pid" ]; then as_pg "$BIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true; fi
    rm -rf "$DATA"; mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA"
    as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    as_pg "$BIN/pg_ctl" -D "$DATA" -w -l "$DATA/server.log" \
      -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DATA -c fsync=off -c max_connections=100" start >/dev/null
    as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres bassinet_test
    echo "postgresql://postgres@127.0.0.1:$PORT/bassinet_test"
    ;;
  stop)
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
