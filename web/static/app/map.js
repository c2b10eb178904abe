// The Leaflet map: basemaps (configured XYZ, offline Natural Earth), scale bar, coordinates.
import { t, onLanguageChange } from "./i18n.js";
import { showMessage } from "./ui.js";

const REGION = [[11.4, -9.6], [13.0, -7.4]]; // the demo region (lat/lon) until layers say more

export function createMap(config) {
  const map = L.map("map", { zoomControl: true, minZoom: 2, maxZoom: 19 });
  map.fitBounds(REGION);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');

  const offline = L.tileLayer(config.fallback_basemap_url, {
    maxZoom: 19,
    maxNativeZoom: 10,
    attribution: "Natural Earth",
  });
  const sameAsOffline = config.basemap_url === config.fallback_basemap_url;
  const configured = sameAsOffline
    ? offline
    : L.tileLayer(config.basemap_url, { maxZoom: 19, attribution: t("basemap.attribution") });
  configured.addTo(map);

  // A slow or absent connection: after a few failed tiles, fall back to the basemap we serve.
  let failures = 0;
  if (!sameAsOffline) {
    configured.on("tileerror", () => {
      failures += 1;
      if (failures === 4 && map.hasLayer(configured)) {
        map.removeLayer(configured);
        offline.addTo(map);
        showMessage(t("basemap.fallback"), "notice");
      }
    });
  }

  const basemaps = {};
  const control = L.control.layers(null, null, { position: "topright", collapsed: true }).addTo(map);
  const renderBasemaps = () => {
    if (!sameAsOffline) {
      const shown = map.hasLayer(configured);
      if (shown) map.attributionControl.removeAttribution(configured.getAttribution());
      configured.options.attribution = t("basemap.attribution");
      if (shown) map.attributionControl.addAttribution(configured.getAttribution());
    }
    for (const layer of Object.values(basemaps)) control.removeLayer(layer);
    for (const key of Object.keys(basemaps)) delete basemaps[key];
    if (!sameAsOffline) basemaps[t("basemap.default")] = configured;
    basemaps[t("basemap.offline")] = offline;
    for (const [name, layer] of Object.entries(basemaps)) control.addBaseLayer(layer, name);
  };
  renderBasemaps();

  const scale = L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  const coordinates = L.control({ position: "bottomleft" });
  coordinates.onAdd = () => {
    const div = L.DomUtil.create("div", "coordinates leaflet-control");
    div.id = "coordinates";
    div.textContent = t("map.coordinates_hint");
    return div;
  };
  coordinates.addTo(map);
  map.on("mousemove", (e) => {
    const { lat, lng } = e.latlng;
    document.getElementById("coordinates").textContent =
      `${lat.toFixed(5)}°, ${lng.toFixed(5)}°  (${t("map.zoom")} ${map.getZoom()})`;
  });
  // Leaflet's own controls carry English titles (read aloud by screen readers, shown on hover).
  const renderControlTitles = () => {
    const container = map.getContainer();
    for (const [selector, key] of [[".leaflet-control-zoom-in", "map.zoom_in"], [".leaflet-control-zoom-out", "map.zoom_out"], [".leaflet-control-layers-toggle", "map.basemaps"]]) {
      const button = container.querySelector(selector);
      if (!button) continue;
      button.title = t(key);
      button.setAttribute("aria-label", t(key));
    }
  };
  renderControlTitles();
  map.on("popupopen", ({ popup }) => {
    popup.getElement()?.querySelector(".leaflet-popup-close-button")?.setAttribute("aria-label", t("action.close"));
  });
  onLanguageChange(() => {
    renderBasemaps();
    renderControlTitles();
  });
  return { map, scale };
}
