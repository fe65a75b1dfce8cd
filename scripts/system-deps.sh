#!/usr/bin/env bash
# Install the Debian packages the test suite needs: headless Chromium for the map tests and
# PostgreSQL with the PostGIS extension that matches the machine's PostgreSQL version
# (Debian 12 ships 15, Debian 13 ships 17), and GDAL's ogrinfo for the OGC API client test.
# Skips what is already installed.
set -euo pipefail

have_pg() { ls /usr/lib/postgresql/*/lib/postgis-3.so >/dev/null 2>&1; }
if command -v chromium >/dev/null 2>&1 && command -v ogrinfo >/dev/null 2>&1 && have_pg; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "system-deps: need root to apt-get install chromium and PostGIS (or install them yourself)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
pgver=$(apt-cache show postgresql | sed -n 's/^Depends: .*postgresql-\([0-9][0-9]*\).*/\1/p' | head -n 1)
if [ -z "$pgver" ]; then
    echo "system-deps: cannot tell which PostgreSQL version this machine's packages provide" >&2
    exit 1
fi
apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core gdal-bin \
    "postgresql-$pgver" "postgresql-$pgver-postgis-3" postgresql-client >/dev/null
echo "system-deps: chromium and PostgreSQL $pgver with PostGIS installed"
