// The layer panel: layers grouped by kind, drawn from vector tiles, styled by attribute,
// with a legend, filters and popups that fetch a feature's full attributes.
import { authHeaders, getJSON, withKey } from "./api.js";
import { t, label, fieldLabel, onLanguageChange, formatNumber } from "./i18n.js";
import { STYLE_BY_KIND, CONCESSION_STATUS, featureStyle, colourOf, THEME_COLOURS } from "./styles.js";
import { el, showError } from "./ui.js";

const KIND_ORDER = ["asm_zone", "mine_site", "concession", "tailings_facility", "abandoned_mine", "reference"];
// Points above polygons, planning zones above titles, reference layers at the bottom.
const Z_INDEX = { reference: 10, concession: 20, asm_zone: 30, tailings_facility: 40, abandoned_mine: 50, mine_site: 60 };

export class Layers extends EventTarget {
  constructor(map) {
    super();
    this.map = map;
    this.layers = [];
    this.overlays = {};
    this.visible = new Set();
    this.known = new Set(); // layers ever listed: a new one (an import, a sign-in) is shown
    this.filters = {};
    this.legendFolded = window.innerHeight < 700;
    this.legend = L.control({ position: "bottomright" });
    this.legend.onAdd = () => {
      const box = L.DomUtil.create("div", "legend leaflet-control");
      box.hidden = true;
      return box;
    };
    this.legend.addTo(map);
    L.DomEvent.disableScrollPropagation(this.legend.getContainer());
    onLanguageChange(() => this.render());
  }

  bySlug(slug) {
    return this.layers.find((layer) => layer.slug === slug);
  }

  // (Re)read GET /layers. A layer whose version changed (an edit, an import) is rebuilt on tile
  // URLs that carry the new version, so the edit shows at once and no cached tile is stale.
  async load() {
    this.layers = await getJSON("/layers");
    for (const layer of this.layers) {
      if (!this.known.has(layer.slug)) {
        this.known.add(layer.slug);
        this.visible.add(layer.slug);
      }
      const overlay = this.overlays[layer.slug];
      if (overlay && overlay.version !== layer.version) {
        const shown = this.map.hasLayer(overlay);
        if (shown) this.map.removeLayer(overlay);
        delete this.overlays[layer.slug];
      }
    }
    for (const slug of Object.keys(this.overlays)) {
      if (!this.bySlug(slug)) {
        this.map.removeLayer(this.overlays[slug]);
        delete this.overlays[slug];
      }
    }
    this.syncMap();
    this.render();
    this.dispatchEvent(new Event("change"));
    return this.layers;
  }

  // After a sign-in or sign-out: every overlay is rebuilt, its tiles fetched with the new key.
  async reload() {
    for (const overlay of Object.values(this.overlays)) this.map.removeLayer(overlay);
    this.overlays = {};
    return this.load();
  }

  overlayFor(layer) {
    if (this.overlays[layer.slug]) return this.overlays[layer.slug];
    const z = 100 + (Z_INDEX[layer.kind] ?? 10);
    // `v` (the layer's version) only busts caches: the server ignores it, and a tile cached by
    // the browser under one version is never shown for another.
    const v = `v=${layer.version}`;
    let overlay;
    if (layer.storage === "raster") {
      // An image sends no header: the key goes in the URL, only where it is needed (a URL
      // ends up in logs, and a public tile is the same for everyone).
      const url = `/tiles/${layer.slug}/{z}/{x}/{y}.png?colormap=viridis&${v}`;
      overlay = L.tileLayer(layer.visibility === "public" ? url : withKey(url), {
        opacity: 0.7,
        zIndex: z,
        attribution: layer.attribution || "",
      });
    } else {
      // Any other query parameter would filter the tile's features server-side.
      overlay = L.vectorGrid.protobuf(`/tiles/${layer.slug}/{z}/{x}/{y}.mvt?${v}`, {
        vectorTileLayerStyles: { [layer.slug]: (properties, _zoom, dimension) => this.styleFor(layer, properties, dimension) },
        interactive: true,
        maxNativeZoom: 16,
        maxZoom: 19,
        zIndex: z,
        attribution: layer.attribution || "",
        getFeatureId: (feature) => feature.properties.id,
        fetchOptions: { headers: authHeaders() },
      });
      overlay.on("click", (e) => this.openPopup(layer, e.layer.properties, e.latlng));
    }
    overlay.version = layer.version;
    overlay.slug = layer.slug;
    this.overlays[layer.slug] = overlay;
    return overlay;
  }

  styleFor(layer, properties, dimension) {
    const filter = this.filters[layer.slug];
    if (filter && String(properties[filter.field]) !== filter.value) return [];
    return featureStyle(layer, properties, dimension);
  }

  syncMap() {
    for (const layer of this.layers) {
      const shown = this.visible.has(layer.slug);
      const overlay = shown ? this.overlayFor(layer) : this.overlays[layer.slug];
      if (shown && !this.map.hasLayer(overlay)) overlay.addTo(this.map);
      if (!shown && overlay && this.map.hasLayer(overlay)) this.map.removeLayer(overlay);
    }
  }

  setVisible(slug, shown) {
    if (shown) this.visible.add(slug);
    else this.visible.delete(slug);
    this.syncMap();
    this.renderLegend();
  }

  setFilter(slug, field, value) {
    if (value) this.filters[slug] = { field, value };
    else delete this.filters[slug];
    const overlay = this.overlays[slug];
    if (overlay && overlay.redraw) overlay.redraw();
  }

  zoomTo(layer) {
    if (!layer.extent) return;
    const [minx, miny, maxx, maxy] = layer.extent;
    this.map.fitBounds([[miny, minx], [maxy, maxx]], { maxZoom: 14 });
  }

  render() {
    this.renderPanel();
    this.renderLegend();
  }

  renderPanel() {
    const root = document.getElementById("layer-groups");
    root.replaceChildren();
    for (const kind of KIND_ORDER) {
      const members = this.layers.filter((layer) => layer.kind === kind);
      if (!members.length) continue;
      const group = el("fieldset", { class: "layer-group", dataset: { kind } }, el("legend", {}, t(`kind.${kind}`)));
      for (const layer of members) group.append(this.layerRow(layer));
      root.append(group);
    }
    if (!this.layers.length) root.append(el("p", { class: "hint" }, t("layers.none")));
  }

  layerRow(layer) {
    const id = `layer-${layer.slug}`;
    const checkbox = el("input", {
      type: "checkbox",
      id,
      checked: this.visible.has(layer.slug),
      dataset: { slug: layer.slug },
      onchange: (e) => this.setVisible(layer.slug, e.target.checked),
    });
    const count = layer.feature_count != null ? el("span", { class: "count" }, formatNumber(layer.feature_count, 0)) : null;
    const zoom = el("button", {
      type: "button",
      class: "icon",
      title: t("layers.zoom_to"),
      "aria-label": t("layers.zoom_to"),
      onclick: () => this.zoomTo(layer),
    }, el("span", { class: "zoom-icon" }));
    const row = el("div", { class: "layer-row", dataset: { slug: layer.slug } },
      el("label", { for: id }, checkbox, el("span", { class: "swatch", style: `background:${this.swatchColour(layer)}` }), el("span", { class: "title" }, layer.title),
        layer.visibility && layer.visibility !== "public" ? el("span", { class: `visibility visibility-${layer.visibility}`, title: t(`layers.seen_by.${layer.visibility}`) }, label("visibility", layer.visibility)) : null),
      count, zoom);
    const rule = STYLE_BY_KIND[layer.kind];
    if (!rule) return row;
    const current = this.filters[layer.slug]?.value || "";
    const select = el("select", {
      class: "filter",
      "aria-label": `${t("layers.filter")} ${fieldLabel(rule.field)}`,
      dataset: { slug: layer.slug },
      onchange: (e) => this.setFilter(layer.slug, rule.field, e.target.value),
    },
    el("option", { value: "" }, t("label.pair", { field: fieldLabel(rule.field), value: t("layers.all") })),
    Object.keys(rule.colours).map((value) => el("option", { value, selected: value === current }, label(rule.field, value))));
    return el("div", { class: "layer-item" }, row, select);
  }

  swatchColour(layer) {
    const rule = STYLE_BY_KIND[layer.kind];
    return rule ? Object.values(rule.colours)[0] : THEME_COLOURS[layer.theme] || THEME_COLOURS.other;
  }

  renderLegend() {
    const box = this.legend.getContainer();
    const toggle = el("button", {
      type: "button",
      class: "legend-toggle",
      "aria-expanded": String(!this.legendFolded),
      onclick: () => {
        this.legendFolded = !this.legendFolded;
        this.renderLegend();
      },
    }, t("legend.title"), el("span", {}, this.legendFolded ? " ▸" : " ▾"));
    box.replaceChildren(el("h4", {}, toggle));
    box.classList.toggle("folded", Boolean(this.legendFolded));
    for (const kind of KIND_ORDER) {
      for (const layer of this.layers.filter((l) => l.kind === kind && this.visible.has(l.slug))) {
        const rule = STYLE_BY_KIND[layer.kind];
        if (this.legendFolded) continue;
        const section = el("div", { class: "legend-layer" }, el("strong", {}, layer.title));
        if (rule) {
          section.append(el("div", { class: "legend-field" }, fieldLabel(rule.field)));
          for (const [value, colour] of Object.entries(rule.colours)) {
            section.append(el("div", { class: "legend-item" }, el("span", { class: "swatch", style: `background:${colour}` }), label(rule.field, value)));
          }
          if (layer.kind === "concession") {
            section.append(el("div", { class: "legend-field" }, fieldLabel("status")));
            for (const [value, style] of Object.entries(CONCESSION_STATUS)) {
              const border = style.dashArray ? "dashed" : "solid";
              section.append(el("div", { class: "legend-item" }, el("span", { class: "swatch outline", style: `border-style:${border};opacity:${style.opacity ?? 1}` }), label("status", value)));
            }
          }
        } else {
          section.firstChild.prepend(el("span", { class: "swatch", style: `background:${colourOf(layer, {})}` }));
        }
        box.append(section);
      }
    }
    box.hidden = !this.layers.some((l) => this.visible.has(l.slug));
  }

  // Tiles carry only the styling fields; the popup asks for the whole feature.
  async openPopup(layer, properties, latlng) {
    if (this.map.pm && (this.map.pm.globalDrawModeEnabled() || this.map.pm.globalEditModeEnabled())) return;
    const popup = L.popup({ maxWidth: 360, maxHeight: 320 }).setLatLng(latlng).setContent(el("div", { class: "popup" }, t("popup.loading"))).openOn(this.map);
    try {
      const feature = await getJSON(`/collections/${layer.slug}/items/${properties.id}`);
      popup.setContent(this.popupContent(layer, feature));
    } catch (error) {
      popup.close();
      showError(error);
    }
  }

  popupContent(layer, feature) {
    const props = feature.properties || {};
    const rows = Object.entries(props)
      .filter(([, value]) => value !== null && value !== "" && !(Array.isArray(value) && !value.length))
      .map(([key, value]) => el("tr", {}, el("th", {}, fieldLabel(key)), el("td", {}, displayValue(key, value))));
    const box = el("div", { class: "popup" },
      el("div", { class: "popup-layer" }, layer.title),
      el("h3", {}, props.name || props.code || `#${feature.id}`),
      el("table", {}, rows));
    if (layer.kind === "asm_zone") {
      box.append(el("button", {
        type: "button",
        class: "primary",
        onclick: () => this.dispatchEvent(new CustomEvent("open-zone", { detail: { id: feature.id } })),
      }, t("zones.open")));
    }
    return box;
  }
}

export function displayValue(field, value) {
  if (Array.isArray(value)) return value.map((v) => label(field, v)).join(", ");
  if (typeof value === "boolean") return value ? t("value.yes") : t("value.no");
  if (typeof value === "number") return formatNumber(value, 3);
  if (typeof value === "object") return JSON.stringify(value);
  return label(field, value);
}
