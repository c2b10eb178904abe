// The Leaflet map: basemaps (ours, drawn offline, and any online ones configured), scale bar,
// coordinates.
import { t, onLanguageChange, currentLang } from "./i18n.js";
import { localiseControls, motionOptions, showMessage } from "./ui.js";

const REGION = [[11.4, -9.6], [13.0, -7.4]]; // the demo region (lat/lon) until layers say more
// The offline basemap is drawn by the server at every zoom to here (labels stay sharp);
// Leaflet enlarges its tiles beyond.
const OFFLINE_MAX_NATIVE_ZOOM = 16;
// An online basemap that fails this many tiles while shown gives way to the offline one.
const FAILURES_BEFORE_FALLBACK = 4;

export function createMap(config) {
  const map = L.map("map", { zoomControl: true, minZoom: 2, maxZoom: 19, ...motionOptions() });
  map.fitBounds(REGION);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');

  // Country names and the graticule's figures are drawn in the page's language.
  const offlineUrl = () => `${config.fallback_basemap_url}?lang=${currentLang()}`;
  const offline = L.tileLayer(offlineUrl(), {
    maxZoom: 19,
    maxNativeZoom: OFFLINE_MAX_NATIVE_ZOOM,
    attribution: t("basemap.offline_attribution"),
  });
  // The online basemaps: those configured (GEO_SERVICE_BASEMAPS), and GEO_SERVICE_BASEMAP_URL
  // when it names another one. Each knows its name and credit in the page's language.
  const online = (config.basemaps || []).map((b) => ({
    url: b.url,
    layer: L.tileLayer(b.url, { maxZoom: 19, maxNativeZoom: b.max_zoom, attribution: b.attribution }),
    name: () => b.name[currentLang()] || b.name.en,
    attribution: () => b.attribution,
  }));
  const configuredUrl = config.basemap_url;
  if (configuredUrl !== config.fallback_basemap_url && !online.some((b) => b.url === configuredUrl)) {
    online.unshift({
      url: configuredUrl,
      layer: L.tileLayer(configuredUrl, { maxZoom: 19, attribution: t("basemap.attribution") }),
      name: () => t("basemap.default"),
      attribution: () => t("basemap.attribution"),
    });
  }
  const basemaps = [
    ...online,
    { url: config.fallback_basemap_url, layer: offline, name: () => t("basemap.offline"), attribution: () => t("basemap.offline_attribution") },
  ];
  (basemaps.find((b) => b.url === configuredUrl) || basemaps[basemaps.length - 1]).layer.addTo(map);

  // A slow or absent connection: after a few failed tiles, fall back to the basemap we serve.
  for (const { layer } of online) {
    let failures = 0;
    layer.on("add", () => {
      failures = 0;
    });
    layer.on("tileerror", () => {
      failures += 1;
      if (failures === FAILURES_BEFORE_FALLBACK && map.hasLayer(layer)) {
        map.removeLayer(layer);
        offline.addTo(map);
        showMessage(t("basemap.fallback"), "notice");
      }
    });
  }

  const control = L.control.layers(null, null, { position: "topright", collapsed: true }).addTo(map);
  const renderBasemaps = () => {
    for (const b of basemaps) {
      const shown = map.hasLayer(b.layer);
      if (shown) map.attributionControl.removeAttribution(b.layer.getAttribution());
      b.layer.options.attribution = b.attribution();
      if (shown) map.attributionControl.addAttribution(b.layer.getAttribution());
      control.removeLayer(b.layer);
      control.addBaseLayer(b.layer, b.name());
    }
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
  const renderControlTitles = localiseControls(map);
  onLanguageChange(() => {
    offline.setUrl(offlineUrl());
    renderBasemaps();
    renderControlTitles();
  });
  return { map, scale };
}
