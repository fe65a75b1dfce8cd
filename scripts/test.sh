#!/usr/bin/env bash
# Run the whole test suite: start a throwaway PostGIS server, run pytest, stop the server.
set -uo pipefail
cd "$(dirname "$0")/.."
export WARD_GEO_REFERENCE_DIR="${WARD_GEO_REFERENCE_DIR:-$(cd .. && pwd)/shared/data}"

pg_url=""
if [ -x scripts/postgis.sh ] || [ -f scripts/postgis.sh ]; then
    pg_url=$(bash scripts/postgis.sh start) || { echo "test: could not start PostGIS" >&2; exit 1; }
    export WARD_GEO_TEST_DATABASE_URL="$pg_url"
    trap 'bash scripts/postgis.sh stop >/dev/null 2>&1 || true' EXIT
fi

.venv/bin/python -m pytest -p no:cacheprovider "$@"
