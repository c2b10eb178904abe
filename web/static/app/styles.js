// How each layer is drawn: by its own style when it has one (a colour, colours by an attribute),
// else by its kind's colours for one attribute, its theme's colour or the palette colour the
// server gave it. The same rules feed the legends of the map and of the embed page.
import { fieldLabel, label, t } from "./i18n.js";

// The kinds and themes, their colours and order, are the server's registry
// (geo_service/domain/registry.py), inlined in the page; no copy of them lives here.
const REGISTRY = JSON.parse(document.getElementById("registry").textContent);
export const GREY = REGISTRY.grey;
// Country risk levels, categories and stages, their labels and colours (domain/country_risk.py).
export const COUNTRY_RISK = REGISTRY.country_risk;
// A layer described without a palette colour (a page from before layer styles).
const FALLBACK = "#e7298a";
const kinds = Object.entries(REGISTRY.kinds);

// kind -> the attribute that colours it and a colour per value (order = legend order).
export const STYLE_BY_KIND = Object.fromEntries(
  kinds.filter(([, kind]) => kind.colour_by).map(([name, kind]) => [name, { field: kind.colour_by, colours: kind.colours }]),
);

// Concession status draws the outline: live titles solid, applications dashed, dead ones faint.
export const CONCESSION_STATUS = Object.fromEntries(
  Object.entries(REGISTRY.kinds.concession?.outlines || {}).map(([status, look]) => [
    status,
    { dashArray: look.dash ? look.dash.join(" ") : null, fillOpacity: look.fill_opacity, ...("opacity" in look ? { opacity: look.opacity } : {}) },
  ]),
);

export const THEME_COLOURS = Object.fromEntries(
  Object.entries(REGISTRY.themes).filter(([, theme]) => theme.colour).map(([name, theme]) => [name, theme.colour]),
);

// The kinds in the layer panel's order, and how high each is drawn on the map.
export const KIND_ORDER = kinds.sort(([, a], [, b]) => a.order - b.order).map(([name]) => name);
export const Z_INDEX = Object.fromEntries(kinds.map(([name, kind]) => [name, kind.z_index]));

// The layer's one colour: its style's, its theme's, else its own from the server's palette.
export function baseColour(layer) {
  return layer.style?.colour || THEME_COLOURS[layer.theme] || layer.colour || FALLBACK;
}

// The attribute that colours a layer's features and a colour per value: the layer's own style
// when it names one (`own`: other values take the layer's colour), else its kind's.
export function colourRule(layer) {
  const style = layer.style || {};
  if (style.by) return { field: style.by, colours: style.categories || {}, own: true };
  return STYLE_BY_KIND[layer.kind] || null;
}

export function colourOf(layer, properties) {
  const rule = colourRule(layer);
  if (!rule) return baseColour(layer);
  const value = properties[rule.field];
  return (value !== undefined && rule.colours[String(value)]) || (rule.own ? baseColour(layer) : GREY);
}

// Leaflet path options for one feature of a vector tile (points get a circle radius; VectorGrid
// never fills a line).
export function featureStyle(layer, properties) {
  const colour = colourOf(layer, properties);
  const style = { color: colour, fillColor: colour, weight: 1.5, opacity: 0.9, fill: true, fillOpacity: 0.3, radius: 5 };
  if (layer.kind === "concession") Object.assign(style, CONCESSION_STATUS[properties.status] || {});
  if (layer.kind === "asm_zone") Object.assign(style, { weight: 2.5, fillOpacity: 0.25, dashArray: properties.status === "retired" ? "4 4" : null });
  if (layer.theme === "protected_area") Object.assign(style, { fillOpacity: 0.15, weight: 2, dashArray: "5 3" });
  if (layer.theme === "river") Object.assign(style, { weight: 2 });
  // Trade routes: thick, dashed where smuggling is known or suspected.
  if (layer.kind === "trade_route") Object.assign(style, { weight: 3, dashArray: ["illicit", "suspected"].includes(properties.legality) ? "8 4" : null });
  if (layer.kind === "mine_site" || layer.kind === "abandoned_mine" || layer.theme === "settlement") {
    Object.assign(style, { fillOpacity: 0.85, color: "#ffffff", weight: 1, radius: 6 });
  }
  return style;
}

// Whether a layer holds lines (rivers, roads, or lines only among its geometry types).
export function isLineal(layer) {
  const types = layer.geometry_types || [];
  return ["river", "road"].includes(layer.theme) || (types.length > 0 && types.every((type) => type.includes("LineString")));
}

// What VectorGrid draws for a feature. A line two pixels wide is hard to hit with a finger: an
// invisible stroke of 14 pixels drawn over it takes its clicks.
export function drawStyles(layer, properties) {
  const style = featureStyle(layer, properties);
  return isLineal(layer) ? [style, { ...style, opacity: 0, weight: 14 }] : [style];
}

// What a legend says of a layer: a swatch of its colour when one colour draws it, else a
// section per attribute with a swatch per value (a layer's own categories sorted by their
// words, then the colour of the other values).
export function legendOf(layer) {
  if (layer.storage === "raster") return { swatch: null, sections: [] };
  const rule = colourRule(layer);
  if (!rule) return { swatch: baseColour(layer), sections: [] };
  const items = Object.entries(rule.colours).map(([value, colour]) => ({ colour, text: label(rule.field, value) }));
  if (rule.own) {
    items.sort((a, b) => a.text.localeCompare(b.text));
    items.push({ colour: baseColour(layer), text: t("layers.legend.other") });
  }
  const sections = [{ field: fieldLabel(rule.field), items }];
  // A concession's fill says its title type, its outline its status.
  if (layer.kind === "concession") {
    sections.push({
      field: fieldLabel("status"),
      items: Object.entries(CONCESSION_STATUS).map(([value, style]) => ({
        outline: `border-style:${style.dashArray ? "dashed" : "solid"};opacity:${style.opacity ?? 1}`,
        text: label("status", value),
      })),
    });
  }
  return { swatch: null, sections };
}
