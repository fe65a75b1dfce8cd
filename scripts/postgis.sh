#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL + PostGIS server for the test suite.
#
#   bash scripts/postgis.sh start   # prints the database URL on stdout (nothing else)
#   bash scripts/postgis.sh stop    # stops the server and deletes its data directory
#   bash scripts/postgis.sh url     # prints the URL of the running server
#
# The cluster lives in a fresh temporary directory, is owned by the `postgres` user when run
# as root (initdb refuses to run as root), listens only on 127.0.0.1 on a non-default port
# (WARD_GEO_PG_PORT, default 55432) and accepts local connections without a password: it
# exists for the tests only and is deleted by `stop`. Use with
#
#   export WARD_GEO_TEST_DATABASE_URL=$(bash scripts/postgis.sh start)
#
# PostgreSQL and PostGIS come from Debian (scripts/system-deps.sh installs them:
# postgresql-$VER-postgis-3, where $VER is 15 on Debian 12 and 17 on Debian 13).
set -euo pipefail

PORT="${WARD_GEO_PG_PORT:-55432}"
DBNAME="${WARD_GEO_PG_DBNAME:-ward_geo_test}"
STATE="${TMPDIR:-/tmp}/ward_geo_postgis_${PORT}.dir"
URL="postgresql://postgres@127.0.0.1:${PORT}/${DBNAME}"

log() { echo "postgis.sh: $*" >&2; }

pg_bindir() {
    # The newest installed PostgreSQL major version that also has PostGIS.
    local ver best=""
    for dir in /usr/lib/postgresql/*/; do
        ver=$(basename "$dir")
        [ -x "$dir/bin/initdb" ] || continue
        [ -f "/usr/share/postgresql/$ver/extension/postgis.control" ] || continue
        if [ -z "$best" ] || [ "$ver" -gt "$best" ]; then best="$ver"; fi
    done
    if [ -z "$best" ]; then
        log "no PostgreSQL with PostGIS found under /usr/lib/postgresql;" \
            "install postgresql and postgresql-\$VER-postgis-3 (bash scripts/system-deps.sh)"
        return 1
    fi
    echo "/usr/lib/postgresql/$best/bin"
}

as_db_user() {
    if [ "$(id -u)" = "0" ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running() {
    [ -f "$STATE" ] || return 1
    local dir bindir
    dir=$(cat "$STATE")
    [ -d "$dir/data" ] || return 1
    bindir=$(pg_bindir) || return 1
    as_db_user "$bindir/pg_ctl" status -D "$dir/data" >/dev/null 2>&1
}

start() {
    if running; then
        log "already running on 127.0.0.1:$PORT"
        echo "$URL"
        return 0
    fi
    local bindir dir
    bindir=$(pg_bindir)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/ward_geo_pg.XXXXXX")
    if [ "$(id -u)" = "0" ]; then
        chown postgres: "$dir"
    fi
    echo "$dir" >"$STATE"
    log "initdb in $dir (PostgreSQL $(basename "$(dirname "$bindir")"))"
    as_db_user "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 --no-locale \
        --auth-local=trust --auth-host=trust >"$dir/initdb.log" 2>&1 || {
        log "initdb failed:"; cat "$dir/initdb.log" >&2; return 1;
    }
    as_db_user "$bindir/pg_ctl" start -w -t 60 -D "$dir/data" -l "$dir/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$dir -c max_connections=100" \
        >/dev/null || { log "server did not start:"; cat "$dir/server.log" >&2; return 1; }
    as_db_user "$bindir/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE $DBNAME" >/dev/null
    as_db_user "$bindir/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -d "$DBNAME" -v ON_ERROR_STOP=1 \
        -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
    log "PostGIS ready at $URL"
    echo "$URL"
}

stop() {
    if [ ! -f "$STATE" ]; then
        log "not running (no state file $STATE)"
        return 0
    fi
    local dir bindir
    dir=$(cat "$STATE")
    if bindir=$(pg_bindir) && [ -d "$dir/data" ]; then
        as_db_user "$bindir/pg_ctl" stop -D "$dir/data" -m fast -w >/dev/null 2>&1 || true
    fi
    case "$dir" in
        "${TMPDIR:-/tmp}"/ward_geo_pg.*) rm -rf "$dir" ;;
        *) log "not deleting unexpected directory $dir" ;;
    esac
    rm -f "$STATE"
    log "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) if running; then echo "$URL"; else log "not running"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
