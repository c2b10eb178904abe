// How each kind of layer is drawn: one attribute picks the colour, the same table feeds the legend.
const GREY = "#8c8c8c";

// kind -> the attribute that colours it and a colour per value (order = legend order).
export const STYLE_BY_KIND = {
  mine_site: {
    field: "qualification",
    colours: { green: "#1a9641", yellow: "#e6b800", red: "#d7191c", not_assessed: GREY },
  },
  concession: {
    field: "title_type",
    colours: {
      reconnaissance: "#9ecae1",
      exploration: "#4292c6",
      exploitation: "#08306b",
      small_scale_exploitation: "#807dba",
      asm_authorisation: "#54278f",
      quarry: "#a6761d",
    },
  },
  tailings_facility: {
    field: "consequence",
    colours: {
      low: "#1a9850",
      significant: "#e6b800",
      high: "#fc8d59",
      very_high: "#d73027",
      extreme: "#67001f",
    },
  },
  abandoned_mine: { field: "rehabilitation", colours: { none: "#8c510a", planned: "#bf812d", in_progress: "#dfc27d", completed: "#80cdc1" } },
  asm_zone: {
    field: "status",
    colours: {
      draft: "#969696",
      proposed: "#fd8d3c",
      in_consultation: "#9e58c7",
      gazetted: "#238b45",
      suspended: "#cb181d",
      retired: "#252525",
    },
  },
};

// Concession status draws the outline: live titles solid, applications dashed, dead ones faint.
export const CONCESSION_STATUS = {
  application: { dashArray: "6 4", fillOpacity: 0.15 },
  active: { dashArray: null, fillOpacity: 0.3 },
  force_majeure: { dashArray: "2 3", fillOpacity: 0.3 },
  renewal: { dashArray: "8 3 2 3", fillOpacity: 0.3 },
  expired: { dashArray: null, fillOpacity: 0.05, opacity: 0.45 },
  revoked: { dashArray: null, fillOpacity: 0.05, opacity: 0.45 },
  relinquished: { dashArray: null, fillOpacity: 0.05, opacity: 0.45 },
};

export const THEME_COLOURS = {
  protected_area: "#2ca25f",
  biodiversity: "#66c2a4",
  forest: "#006d2c",
  river: "#2b8cbe",
  water_body: "#74a9cf",
  settlement: "#3f3f3f",
  road: "#8c6d31",
  admin_boundary: "#6a51a3",
  other: "#e7298a",
};

export function colourOf(layer, properties) {
  const rule = STYLE_BY_KIND[layer.kind];
  if (rule) return rule.colours[properties[rule.field]] || GREY;
  return THEME_COLOURS[layer.theme] || THEME_COLOURS.other;
}

// Leaflet path options for one feature of a vector tile (points get a circle radius). A line
// (VectorGrid's geometry dimension 2) is never filled: SVG would fill the open path's hull.
export function featureStyle(layer, properties, dimension) {
  const colour = colourOf(layer, properties);
  const style = { color: colour, fillColor: colour, weight: 1.5, opacity: 0.9, fill: true, fillOpacity: 0.3, radius: 5 };
  if (layer.kind === "concession") Object.assign(style, CONCESSION_STATUS[properties.status] || {});
  if (layer.kind === "asm_zone") Object.assign(style, { weight: 2.5, fillOpacity: 0.25, dashArray: properties.status === "retired" ? "4 4" : null });
  if (layer.theme === "protected_area") Object.assign(style, { fillOpacity: 0.15, weight: 2, dashArray: "5 3" });
  if (layer.theme === "river") Object.assign(style, { fill: false, weight: 2 });
  if (dimension === 2) style.fill = false;
  if (layer.kind === "mine_site" || layer.kind === "abandoned_mine" || layer.theme === "settlement") {
    Object.assign(style, { fillOpacity: 0.85, color: "#ffffff", weight: 1, radius: 6 });
  }
  return style;
}
