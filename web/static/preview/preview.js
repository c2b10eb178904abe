// The MapLibre preview of a style of ours (/tiles/preview): the style as a partner's map loads
// it, from its URL, over our offline basemap.
const config = JSON.parse(document.getElementById("preview-config").textContent);

// The basemap the map app shows first: ours (offline, in the page's language) unless the service
// is set up with another. MapLibre wants whole tile URLs, with the template's braces as they are.
const ours = config.basemap.startsWith("/basemap/");
const basemapUrl = ours ? `${window.location.origin}${config.basemap}?lang=${config.lang}` : config.basemap;

// The basemap goes under the style's own layers, which stay as the style has them.
function withBasemap(previous, style) {
  const basemap = { type: "raster", tiles: [basemapUrl], tileSize: 256, maxzoom: 19, attribution: ours ? config.basemap_attribution : "" };
  return { ...style, sources: { basemap, ...style.sources }, layers: [{ id: "basemap", type: "raster", source: "basemap" }, ...style.layers] };
}

// The view is kept in the URL's hash (#zoom/lat/lon), to send someone the same map.
const map = new maplibregl.Map({
  container: "map",
  hash: true,
  attributionControl: { compact: false },
  locale: { "NavigationControl.ZoomIn": config.zoom_in, "NavigationControl.ZoomOut": config.zoom_out },
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
map.setStyle(config.style, { transformStyle: withBasemap });
// Drawn, tiles and all, once: as the map app says it is ready.
map.once("idle", () => document.body.classList.add("ready"));
window.previewMap = map;
