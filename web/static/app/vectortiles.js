// Vector tiles on a Leaflet map: one Leaflet.VectorGrid draws every layer of a tile URL (one MVT
// layer per slug), and its points answer clicks as its lines and polygons do.
//
// VectorGrid draws a point as a circle marker that knows only its place in its tile. On every
// mouse event over a circle marker of up to 10 px, Leaflet (Map._fireDOMEvent) asks it for its
// latitude and longitude to anchor the event there, got undefined, and threw "Cannot read
// properties of undefined (reading 'lat')": no click on a point ever reached a popup. Each point
// is given a getLatLng that finds its place from its tile's coordinates.

function pointLatLng() {
  const tile = this._renderer; // the L.SVG.Tile drawing this point
  const coords = tile.getCoord();
  return tile._map.unproject(coords.scaleBy(tile._size).add(this._point), coords.z);
}

const ClickableGrid = L.VectorGrid.Protobuf.extend({
  _createLayer(feature, pxPerExtent) {
    const symbol = L.VectorGrid.Protobuf.prototype._createLayer.call(this, feature, pxPerExtent);
    if (feature.type === 1) symbol.getLatLng = pointLatLng;
    return symbol;
  },
});

// A VectorGrid of `url` whose features are clickable and known by their id (feature ids are
// unique across layers, so `setFeatureStyle(id, ...)` finds one feature whatever its layer).
export function vectorTiles(url, options) {
  return new ClickableGrid(url, { interactive: true, getFeatureId: (feature) => feature.properties.id, ...options });
}

// The slug of the layer a clicked feature of the grid belongs to.
export function layerOf(symbol) {
  return symbol._renderer?._features?.[symbol.properties.id]?.layerName;
}
