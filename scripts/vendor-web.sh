#!/usr/bin/env bash
# Copies the npm-installed front-end libraries into web/static/vendor (committed).
set -euo pipefail
cd "$(dirname "$0")/../web"
v=static/vendor
mkdir -p $v/leaflet $v/geoman $v/vectorgrid
cp -r node_modules/leaflet/dist/{leaflet.js,leaflet.css,images} node_modules/leaflet/LICENSE $v/leaflet/
cp node_modules/@geoman-io/leaflet-geoman-free/dist/{leaflet-geoman.min.js,leaflet-geoman.css} $v/geoman/
cp node_modules/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js $v/vectorgrid/
echo "vendored into web/$v"
