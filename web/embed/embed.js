// The embeddable map: the layers named in ?layers= as vector (or raster) tiles over the basemap,
// with a legend and popups in French or English. Reads its settings from #embed-config; colours
// and words are the map app's own (styles.js, i18n.js and the messages the server inlines).
import { fieldLabel, initLanguage, label, t } from "/static/app/i18n.js";
import { CONCESSION_STATUS, STYLE_BY_KIND, colourOf, featureStyle } from "/static/app/styles.js";
import { el } from "/static/app/ui.js";

const config = JSON.parse(document.getElementById("embed-config").textContent);
initLanguage(config.lang, config.messages);

// Tiles carry only id, name and the kind's styling fields: the popup shows all but the id.
function popupContent(layer, properties) {
  const rows = Object.entries(properties)
    .filter(([key, value]) => key !== "id" && key !== "name" && value !== undefined && value !== "")
    .map(([key, value]) => {
      // A list attribute arrives as "a, b": each value is a word of its own.
      const words = String(value).split(", ").map((v) => label(key, v)).join(", ");
      return el("tr", {}, el("th", {}, fieldLabel(key)), el("td", {}, words));
    });
  return el("div", { class: "embed-popup" },
    el("div", { class: "title" }, properties.name || `${layer.title} #${properties.id}`),
    el("div", {}, layer.title),
    el("table", {}, rows));
}

function legendRow(swatchStyle, text, outline = false) {
  return el("div", { class: "row" },
    el("span", { class: outline ? "swatch outline" : "swatch", style: swatchStyle }), text);
}

function legendSection(layer) {
  const section = el("div", {}, el("h4", {}, layer.title));
  const rule = STYLE_BY_KIND[layer.kind];
  if (rule) {
    section.append(el("div", { class: "field" }, fieldLabel(rule.field)));
    for (const [value, colour] of Object.entries(rule.colours)) {
      section.append(legendRow(`background:${colour}`, label(rule.field, value)));
    }
  } else if (layer.storage !== "raster") {
    section.append(legendRow(`background:${colourOf(layer, {})}`, label("theme", layer.theme || "other")));
  }
  // A concession's fill says its title type, its outline its status.
  if (layer.kind === "concession") {
    section.append(el("div", { class: "field" }, fieldLabel("status")));
    for (const [value, style] of Object.entries(CONCESSION_STATUS)) {
      const border = style.dashArray ? "dashed" : "solid";
      section.append(legendRow(`border-style:${border};opacity:${style.opacity ?? 1}`, label("status", value), true));
    }
  }
  return section;
}

const map = L.map("map", { zoomControl: true, attributionControl: true });
L.tileLayer(config.basemap, { maxZoom: 19, attribution: "Natural Earth" }).addTo(map);

let bounds = null;
for (const layer of config.layers) {
  const layerBounds = L.latLngBounds([layer.bounds[1], layer.bounds[0]], [layer.bounds[3], layer.bounds[2]]);
  bounds = bounds ? bounds.extend(layerBounds) : layerBounds;
  if (layer.storage === "raster") {
    L.tileLayer(layer.tiles, { attribution: layer.attribution, opacity: 0.8 }).addTo(map);
    continue;
  }
  const grid = L.vectorGrid.protobuf(layer.tiles, {
    vectorTileLayerStyles: { [layer.slug]: (properties, zoom, dimension) => featureStyle(layer, properties, dimension) },
    interactive: true,
    maxNativeZoom: 18,
    attribution: layer.attribution,
    getFeatureId: (feature) => feature.properties.id,
  });
  grid.on("click", (event) => {
    L.popup().setLatLng(event.latlng).setContent(popupContent(layer, event.layer.properties)).openOn(map);
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
