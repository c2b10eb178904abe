// The embeddable map: the layers named in ?layers= over the basemap, every vector layer from one
// vector tile per tile (in the order named, the last on top), raster layers as images, with a
// legend and popups in French or English. Reads its settings from #embed-config; colours, words
// and popups are the map app's own (styles.js, popup.js and the messages the server inlines).
import { getJSON } from "/static/app/api.js";
import { initLanguage, label, t } from "/static/app/i18n.js";
import { featurePopup, layerTitle, zoomToFeature } from "/static/app/popup.js";
import { drawStyles, legendOf } from "/static/app/styles.js";
import { el, localiseControls, motionOptions } from "/static/app/ui.js";
import { layerOf, vectorTiles } from "/static/app/vectortiles.js";

const config = JSON.parse(document.getElementById("embed-config").textContent);
initLanguage(config.lang, config.messages);

const bySlug = Object.fromEntries(config.layers.map((layer) => [layer.slug, layer]));
const vectors = config.layers.filter((layer) => layer.storage !== "raster");
// The key of the page's URL, which the server put in the tile URLs (an iframe sends no header),
// is what the popups' requests carry too.
const passed = new URLSearchParams(vectors.length ? new URL(vectors[0].tiles, window.location.href).search : "");
const keyQuery = ["key", "access_token"].filter((name) => passed.get(name)).map((name) => `${name}=${encodeURIComponent(passed.get(name))}`).join("&");
const withKey = (url) => (keyQuery ? `${url}?${keyQuery}` : url);

function legendSection(layer) {
  const { swatch, sections } = legendOf(layer);
  const swatchOf = (item) => el("span", item.outline ? { class: "swatch outline", style: item.outline } : { class: "swatch", style: `background:${item.colour}` });
  const section = el("div", {}, el("h4", {}, layerTitle(layer)));
  if (swatch) section.append(el("div", { class: "row" }, swatchOf({ colour: swatch }), label("theme", layer.theme || "other")));
  for (const { field, items } of sections) {
    section.append(el("div", { class: "field" }, field));
    for (const item of items) section.append(el("div", { class: "row" }, swatchOf(item), item.text));
  }
  return section;
}

const map = L.map("map", { zoomControl: true, attributionControl: true, ...motionOptions() });
const ours = config.basemap.startsWith("/basemap/");
L.tileLayer(ours ? `${config.basemap}?lang=${config.lang}` : config.basemap, {
  maxZoom: 19,
  attribution: ours ? t("basemap.offline_attribution") : "",
}).addTo(map);
localiseControls(map);

// The whole feature, measured, with its history; only the tile's attributes when the page's key
// may not read features (a key for tiles only).
async function openPopup(layer, properties, latlng) {
  const popup = L.popup({ maxWidth: 320, maxHeight: 300 }).setLatLng(latlng).setContent(el("div", { class: "popup-loading" }, t("popup.loading"))).openOn(map);
  const url = `/collections/${layer.slug}/items/${properties.id}`;
  let feature;
  try {
    if (config.features === false) throw new Error("tiles only");
    feature = await getJSON(withKey(url));
  } catch {
    popup.setContent(featurePopup(layer, { id: properties.id, properties }, { className: "popup embed-popup" }));
    return;
  }
  popup.setContent(featurePopup(layer, feature, {
    className: "popup embed-popup",
    history: async () => (await getJSON(withKey(`${url}/history`))).versions,
    zoom: (shape) => zoomToFeature(map, shape),
  }));
}

let bounds = null;
for (const layer of config.layers) {
  const layerBounds = L.latLngBounds([layer.bounds[1], layer.bounds[0]], [layer.bounds[3], layer.bounds[2]]);
  bounds = bounds ? bounds.extend(layerBounds) : layerBounds;
  if (layer.storage === "raster") L.tileLayer(layer.tiles, { attribution: layer.attribution, opacity: 0.8 }).addTo(map);
}
if (vectors.length) {
  const slugs = vectors.map((layer) => layer.slug).join(",");
  const grid = vectorTiles(`/tiles/${slugs}/{z}/{x}/{y}.mvt${passed.size ? `?${passed}` : ""}`, {
    vectorTileLayerStyles: Object.fromEntries(vectors.map((layer) => [layer.slug, (properties) => drawStyles(layer, properties)])),
    maxNativeZoom: 18,
    zIndex: 10,
    attribution: [...new Set(vectors.map((layer) => layer.attribution).filter(Boolean))].join(", "),
  });
  grid.on("click", (event) => {
    const layer = bySlug[layerOf(event.layer)];
    if (layer) openPopup(layer, event.layer.properties, event.latlng);
  });
  grid.addTo(map);
}

if (config.bbox) {
  map.fitBounds([[config.bbox[1], config.bbox[0]], [config.bbox[3], config.bbox[2]]]);
} else if (bounds && bounds.isValid()) {
  map.fitBounds(bounds, { maxZoom: 14 });
} else {
  map.setView([0, 0], 2);
}

const legend = L.control({ position: "bottomright" });
legend.onAdd = () => {
  const box = el("div", { class: "embed-legend", "aria-label": t("legend.title") }, config.layers.map(legendSection));
  L.DomEvent.disableClickPropagation(box);
  L.DomEvent.disableScrollPropagation(box);
  return box;
};
legend.addTo(map);
window.embedMap = map;
