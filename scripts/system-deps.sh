#!/usr/bin/env bash
# Installs the system packages geo-service needs when they are missing (as root), or prints the
# exact command to run (as a normal user). Usage: system-deps.sh [run|test]
set -euo pipefail
want=${1:-run}
pg_major=15
missing=()

have_pg() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }
have_postgis() { ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; }

have_pg || missing+=("postgresql-$pg_major")
have_postgis || missing+=("postgresql-$pg_major-postgis-3")
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=("python3-venv")
if [ "$want" = test ]; then
  [ -x /usr/bin/chromium ] || missing+=("chromium")
  command -v ogrinfo >/dev/null 2>&1 || missing+=("gdal-bin")
fi
command -v npm >/dev/null 2>&1 || [ -f web/static/vendor/leaflet/leaflet.js ] || missing+=("npm")

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "system-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "system-deps: missing ${missing[*]}; run as root:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
