// A feature's popup, the same on the map and on the embed page: its attributes in the words of
// the interface, its area or length as the server measured it on the WGS84 spheroid, and links
// to its history, its GeoJSON and a view of it.
import { currentLang, fieldLabel, formatNumber, label, t } from "./i18n.js";
import { el, saveBlob } from "./ui.js";

// A layer's title in the language of the interface, else the title it was created with.
export function layerTitle(layer) {
  return layer[`title_${currentLang()}`] || layer.title;
}

export function displayValue(field, value) {
  if (Array.isArray(value)) return value.map((v) => label(field, v)).join(", ");
  if (typeof value === "boolean") return value ? t("value.yes") : t("value.no");
  if (typeof value === "number") return formatNumber(value, 3);
  if (typeof value === "object") return JSON.stringify(value);
  return label(field, value);
}

// Hectares for areas; kilometres for lengths from one kilometre on, else metres.
export function measures(geodesic) {
  if (!geodesic) return [];
  const rows = [];
  if (geodesic.area_ha != null) rows.push(["area", `${formatNumber(geodesic.area_ha, 2)} ha`]);
  if (geodesic.length_m != null) {
    const km = geodesic.length_m >= 1000;
    rows.push(["length", km ? `${formatNumber(geodesic.length_m / 1000, 2)} km` : `${formatNumber(geodesic.length_m, 0)} m`]);
  }
  return rows;
}

function shown(value) {
  return value !== null && value !== undefined && value !== "" && !(Array.isArray(value) && !value.length);
}

function historyTable(versions) {
  const when = { dateStyle: "short", timeStyle: "short" };
  const locale = currentLang() === "fr" ? "fr-FR" : "en-GB";
  return el("table", { class: "popup-history-table" },
    el("thead", {}, el("tr", {},
      el("th", {}, t("history.version")),
      el("th", {}, t("history.change")),
      el("th", {}, t("history.by")),
      el("th", {}, t("history.when")))),
    el("tbody", {}, versions.slice().reverse().map((v) => el("tr", { dataset: { version: v.version } },
      el("td", {}, v.version),
      el("td", {}, label("change", v.change)),
      el("td", {}, v.changed_by || "—"),
      el("td", {}, new Date(v.valid_from).toLocaleString(locale, when))))));
}

// The popup's content for `feature` (a GeoJSON answer of the server, or a vector tile's
// properties as { properties } when the server cannot be asked). `actions`:
//   history(): the feature's versions (GET .../history), shown in the popup on demand;
//   zoom(feature): shows the feature on the map;
//   extra: more buttons (a zone's "open").
export function featurePopup(layer, feature, { history, zoom, extra = [], className = "popup" } = {}) {
  const props = feature.properties || {};
  const rows = Object.entries(props)
    .filter(([key, value]) => key !== "id" && key !== "name" && shown(value)) // the name heads it
    .map(([key, value]) => el("tr", {}, el("th", {}, fieldLabel(key)), el("td", {}, displayValue(key, value))));
  for (const [kind, text] of measures(feature.geodesic)) {
    rows.push(el("tr", { class: `measure measure-${kind}` }, el("th", {}, t(`layers.popup.${kind}`)), el("td", {}, text)));
  }
  const id = feature.id ?? props.id;
  const box = el("div", { class: className, dataset: { layer: layer.slug, id } },
    el("div", { class: "popup-layer" }, layerTitle(layer)),
    el("h3", {}, props.name || props.code || `#${id}`),
    el("table", { class: "popup-fields" }, rows));
  const links = el("div", { class: "popup-links" });
  const past = el("div", { class: "popup-history", hidden: true });
  if (history) {
    links.append(el("button", {
      type: "button",
      class: "link popup-history-link",
      "aria-expanded": "false",
      onclick: async (e) => {
        const button = e.currentTarget;
        const open = past.hidden;
        past.hidden = !open;
        button.setAttribute("aria-expanded", String(open));
        if (!open || past.childElementCount) return;
        past.append(el("p", { class: "hint" }, t("popup.loading")));
        try {
          const versions = await history();
          past.replaceChildren(versions.length > 1 ? historyTable(versions) : el("p", { class: "hint" }, t("layers.popup.no_history")));
        } catch (error) {
          past.replaceChildren(el("p", { class: "hint" }, error.message));
        }
      },
    }, t("layers.popup.history")));
  }
  if (feature.geometry) {
    links.append(el("button", {
      type: "button",
      class: "link popup-export",
      onclick: () => saveBlob(new Blob([JSON.stringify(feature)], { type: "application/geo+json" }), `${layer.slug}-${id}.geojson`),
    }, t("layers.popup.export")));
    if (zoom) links.append(el("button", { type: "button", class: "link popup-zoom", onclick: () => zoom(feature) }, t("layers.popup.zoom")));
  }
  if (links.childElementCount) box.append(links);
  box.append(past, ...extra);
  return box;
}

// How far to zoom to show a feature: its bounds, or its point at street level.
export function zoomToFeature(map, feature) {
  const bounds = L.geoJSON(feature).getBounds();
  if (!bounds.isValid()) return;
  if (bounds.getNorthEast().equals(bounds.getSouthWest())) map.setView(bounds.getCenter(), Math.max(map.getZoom(), 16));
  else map.fitBounds(bounds, { maxZoom: 16, padding: [20, 20] });
}
