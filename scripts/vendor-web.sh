#!/usr/bin/env bash
# Copies the npm-installed front-end libraries into web/static/vendor (committed).
set -euo pipefail
cd "$(dirname "$0")/../web"
v=static/vendor
mkdir -p $v/leaflet $v/geoman $v/vectorgrid $v/maplibre $v/chartjs
cp -r node_modules/leaflet/dist/{leaflet.js,leaflet.css,images} node_modules/leaflet/LICENSE $v/leaflet/
cp node_modules/@geoman-io/leaflet-geoman-free/dist/{leaflet-geoman.min.js,leaflet-geoman.css} $v/geoman/
cp node_modules/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js $v/vectorgrid/
cp node_modules/maplibre-gl/dist/{maplibre-gl.js,maplibre-gl.css,LICENSE.txt} $v/maplibre/
cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/LICENSE.md $v/chartjs/
echo "vendored into web/$v"
