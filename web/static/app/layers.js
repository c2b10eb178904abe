// The layer panel and the layers on the map. Every shown vector layer is drawn from one vector
// tile per tile (the server puts one MVT layer per slug in it), styled by the layer's own style
// or its kind's, with a legend built from those styles, filters, and popups that fetch a
// feature's whole answer. Those allowed (an admin, a layer's owner) retitle, restyle, reorder,
// share and delete a layer from a small panel of its own.
import { authHeaders, getJSON, request, withKey } from "./api.js";
import { currentLang, t, label, fieldLabel, onLanguageChange, formatNumber } from "./i18n.js";
import { KIND_ORDER, STYLE_BY_KIND, Z_INDEX, baseColour, drawStyles, legendOf } from "./styles.js";
import { featurePopup, layerTitle, zoomToFeature } from "./popup.js";
import { layerOf, vectorTiles } from "./vectortiles.js";
import { el, showError, showMessage } from "./ui.js";

const VISIBILITIES = ["private", "internal", "public"]; // narrowest first, as for an upload
const ORDER_STEP = 1000; // the server spaces new layers' sort orders so; a move goes in between

function sameStyle(a = {}, b = {}) {
  return (a.colour || null) === (b.colour || null) && (a.by || null) === (b.by || null)
    && JSON.stringify(a.categories || null) === JSON.stringify(b.categories || null);
}

export class Layers extends EventTarget {
  // `shownAtStart`: the slugs ticked at the first load (the page's `layers` parameter), or null
  // for every layer.
  constructor(map, shownAtStart = null) {
    super();
    this.map = map;
    this.layers = [];
    this.visible = new Set();
    this.known = new Set(); // layers ever listed: a new one (an import, a sign-in) is shown
    this.shownAtStart = shownAtStart ? new Set(shownAtStart) : null;
    this.filters = {};
    this.grid = null; // the one VectorGrid of every shown vector layer
    this.gridUrl = null;
    this.retiring = []; // grids replaced by `grid`, kept on the map until its tiles have come
    this.rasters = {};
    this.popupExtras = []; // (layer, feature) -> an element for its popup, or null
    this.managing = null; // the slug whose manage panel is open
    this.confirming = null; // the slug whose deletion awaits confirmation
    this.legendFolded = window.innerHeight < 700;
    this.legend = L.control({ position: "bottomright" });
    this.legend.onAdd = () => {
      const box = L.DomUtil.create("div", "legend leaflet-control");
      box.hidden = true;
      return box;
    };
    this.legend.addTo(map);
    L.DomEvent.disableScrollPropagation(this.legend.getContainer());
    this.asOf = null; // a past day (YYYY-MM-DD): the layers drawn as they stood then
    this.initAsOf();
    onLanguageChange(() => this.render());
  }

  // The map at a past date: every vector layer drawn from its history (tiles' `as_of`), the
  // popups showing each feature's version of then.
  initAsOf() {
    const input = document.getElementById("map-as-of");
    if (!input) return;
    input.max = new Date().toISOString().slice(0, 10);
    input.addEventListener("change", () => this.setAsOf(input.value));
    document.getElementById("map-as-of-clear")?.addEventListener("click", () => this.setAsOf(null));
  }

  setAsOf(day) {
    this.asOf = day && day < new Date().toISOString().slice(0, 10) ? day : null;
    const input = document.getElementById("map-as-of");
    if (input) input.value = this.asOf || "";
    document.body.classList.toggle("as-of", Boolean(this.asOf));
    const note = document.getElementById("map-as-of-note");
    if (note) note.hidden = !this.asOf;
    const clear = document.getElementById("map-as-of-clear");
    if (clear) clear.hidden = !this.asOf;
    this.renderAsOfNote();
    this.map.closePopup();
    this.syncVectors();
    this.dispatchEvent(new Event("as-of"));
  }

  renderAsOfNote() {
    const note = document.getElementById("map-as-of-note");
    if (!note || !this.asOf) return;
    const day = new Date(`${this.asOf}T00:00:00Z`).toLocaleDateString(currentLang() === "fr" ? "fr-FR" : "en-GB", { timeZone: "UTC", dateStyle: "long" });
    note.textContent = t("layers.as_of_note", { day });
  }

  bySlug(slug) {
    return this.layers.find((layer) => layer.slug === slug);
  }

  // The map layer that draws each shown layer: the one grid for every vector layer.
  get overlays() {
    const drawn = {};
    for (const layer of this.layers) {
      if (!this.visible.has(layer.slug)) continue;
      const overlay = layer.storage === "raster" ? this.rasters[layer.slug] : this.grid;
      if (overlay) drawn[layer.slug] = overlay;
    }
    return drawn;
  }

  // (Re)read GET /layers. A layer whose version changed (an edit, an import, a new style) is
  // drawn from tile URLs that carry the new version, so the change shows at once. Only the
  // latest read counts: a sign-out during the read a sign-in started must not draw the
  // signed-in list's private layers without the key (each of their tiles would be a 404); an
  // earlier caller waits for the latest read.
  load() {
    const read = (this.reads = (this.reads || 0) + 1);
    this.latest = getJSON("/layers").then((listed) => (read === this.reads ? this.apply(listed) : this.latest));
    return this.latest;
  }

  apply(listed) {
    this.layers = listed;
    const first = this.known.size === 0;
    for (const layer of this.layers) {
      if (!this.known.has(layer.slug)) {
        this.known.add(layer.slug);
        if (!first || !this.shownAtStart || this.shownAtStart.has(layer.slug)) this.visible.add(layer.slug);
      }
    }
    for (const [slug, raster] of Object.entries(this.rasters)) {
      if (this.bySlug(slug)?.version !== raster.version) {
        this.map.removeLayer(raster);
        delete this.rasters[slug];
      }
    }
    if (!this.bySlug(this.managing)) this.managing = null;
    this.syncMap();
    this.render();
    this.dispatchEvent(new Event("change"));
    return this.layers;
  }

  // After a sign-in or sign-out: every overlay is rebuilt, its tiles fetched with the new key.
  // Nothing drawn with the old key stands in meanwhile (a signed-out page shows no private tile).
  async reload() {
    for (const overlay of [...Object.values(this.rasters), ...this.retiring, this.grid]) {
      if (overlay) this.map.removeLayer(overlay);
    }
    this.rasters = {};
    this.retiring = [];
    this.grid = null;
    this.gridUrl = null;
    return this.load();
  }

  rasterFor(layer) {
    // An image sends no header: the key goes in the URL, only where it is needed (a URL ends
    // up in logs, and a public tile is the same for everyone). `v` only busts caches.
    const url = `/tiles/${layer.slug}/{z}/{x}/{y}.png?colormap=viridis&v=${layer.version}`;
    const raster = L.tileLayer(layer.visibility === "public" ? url : withKey(url), {
      opacity: 0.7,
      zIndex: 105,
      attribution: layer.attribution || "",
    });
    raster.version = layer.version;
    return raster;
  }

  // The shown vector layers from the bottom up: by kind, and within a kind the panel's first
  // layer on top.
  drawn() {
    const position = new Map(this.layers.map((layer, i) => [layer.slug, i]));
    return this.layers
      .filter((layer) => layer.storage !== "raster" && this.visible.has(layer.slug))
      .sort((a, b) => (Z_INDEX[a.kind] ?? 10) - (Z_INDEX[b.kind] ?? 10) || position.get(b.slug) - position.get(a.slug));
  }

  // One tile URL for every shown vector layer, drawn by the tile in this order. `v` carries
  // their versions (the server ignores it): a change of any of them is a new URL, so no tile
  // the browser keeps is shown stale. The attributes that colour layers are asked for (else a
  // tile carries only the kinds' own styling fields).
  tileUrl(drawn) {
    const slugs = drawn.map((layer) => layer.slug).join(",");
    const versions = drawn.map((layer) => layer.version).join("-");
    const fields = [...new Set(drawn.map((layer) => layer.style?.by).filter(Boolean))].sort();
    const properties = fields.length ? `&properties=${fields.map(encodeURIComponent).join(",")}` : "";
    const asOf = this.asOf ? `&as_of=${this.asOf}` : "";
    return `/tiles/${slugs}/{z}/{x}/{y}.mvt?v=${versions}${properties}${asOf}`;
  }

  syncVectors() {
    const drawn = this.drawn();
    const url = drawn.length ? this.tileUrl(drawn) : null;
    if (url === this.gridUrl) return;
    this.gridUrl = url;
    // A grid still loading while an older one stands in for it goes at once: at most two
    // grids fetch tiles, however fast layers are toggled.
    if (this.grid && this.grid.isLoading() && this.retiring.length) this.map.removeLayer(this.grid);
    else if (this.grid) this.retiring.push(this.grid);
    this.grid = null;
    if (!url) {
      this.retire(this.retiring.splice(0));
      return;
    }
    const grid = vectorTiles(url, {
      vectorTileLayerStyles: Object.fromEntries(drawn.map((layer) => [layer.slug, (properties) => this.styleFor(layer.slug, properties)])),
      maxNativeZoom: 16,
      maxZoom: 19,
      zIndex: 110,
      attribution: [...new Set(drawn.map((layer) => layer.attribution).filter(Boolean))].join(", "),
      fetchOptions: { headers: authHeaders() },
    });
    grid.on("click", (e) => {
      const layer = this.bySlug(layerOf(e.layer));
      if (layer) this.openPopup(layer, e.layer.properties, e.latlng);
    });
    // The grids it replaces stay until its tiles have come: on a slow connection, toggling a
    // layer never leaves the map empty meanwhile. They go after Leaflet has finished with the
    // event (a grid removed while it fires "load" fails on its own tiles).
    grid.on("load", () => {
      if (grid !== this.grid || !this.retiring.length) return;
      const old = this.retiring.splice(0);
      L.Util.requestAnimFrame(() => this.retire(old));
    });
    grid.addTo(this.map);
    this.grid = grid;
  }

  retire(grids) {
    for (const old of grids) this.map.removeLayer(old);
  }

  styleFor(slug, properties) {
    const layer = this.bySlug(slug);
    if (!layer || !this.visible.has(slug)) return [];
    const filter = this.filters[slug];
    if (filter && String(properties[filter.field]) !== filter.value) return [];
    return drawStyles(layer, properties);
  }

  syncMap() {
    for (const layer of this.layers.filter((l) => l.storage === "raster")) {
      const shown = this.visible.has(layer.slug);
      if (shown && !this.rasters[layer.slug]) this.rasters[layer.slug] = this.rasterFor(layer).addTo(this.map);
      if (!shown && this.rasters[layer.slug]) {
        this.map.removeLayer(this.rasters[layer.slug]);
        delete this.rasters[layer.slug];
      }
    }
    this.syncVectors();
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
    if (this.grid) this.grid.redraw();
  }

  zoomTo(layer) {
    if (!layer.extent) return;
    const [minx, miny, maxx, maxy] = layer.extent;
    this.map.fitBounds([[miny, minx], [maxy, maxx]], { maxZoom: 14 });
  }

  render() {
    this.renderPanel();
    this.renderLegend();
    this.renderAsOfNote();
  }

  renderPanel() {
    const root = document.getElementById("layer-groups");
    root.replaceChildren();
    for (const kind of KIND_ORDER) {
      const members = this.layers.filter((layer) => layer.kind === kind);
      if (!members.length) continue;
      const group = el("fieldset", { class: "layer-group", dataset: { kind } }, el("legend", {}, t(`kind.${kind}`)));
      for (const layer of members) group.append(this.layerItem(layer));
      root.append(group);
    }
    if (!this.layers.length) root.append(el("p", { class: "hint" }, t("layers.none")));
  }

  layerItem(layer) {
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
    const open = this.managing === layer.slug;
    const manage = layer.can_manage ? el("button", {
      type: "button",
      class: "icon manage-toggle",
      title: t("layers.manage.open"),
      "aria-label": `${t("layers.manage.open")}: ${layerTitle(layer)}`,
      "aria-expanded": String(open),
      onclick: () => {
        this.managing = open ? null : layer.slug;
        this.confirming = null;
        this.renderPanel();
      },
    }, "⚙") : null;
    const row = el("div", { class: "layer-row", dataset: { slug: layer.slug } },
      el("label", { for: id }, checkbox, el("span", { class: "swatch", style: `background:${this.swatchColour(layer)}` }), el("span", { class: "title" }, layerTitle(layer)),
        layer.visibility && layer.visibility !== "public" ? el("span", { class: `visibility visibility-${layer.visibility}`, title: t(`layers.seen_by.${layer.visibility}`) }, label("visibility", layer.visibility)) : null),
      count, zoom, manage);
    const item = el("div", { class: "layer-item", dataset: { slug: layer.slug } }, row);
    const rule = STYLE_BY_KIND[layer.kind];
    if (rule) {
      const current = this.filters[layer.slug]?.value || "";
      item.append(el("select", {
        class: "filter",
        "aria-label": `${t("layers.filter")} ${fieldLabel(rule.field)}`,
        dataset: { slug: layer.slug },
        onchange: (e) => this.setFilter(layer.slug, rule.field, e.target.value),
      },
      el("option", { value: "" }, t("label.pair", { field: fieldLabel(rule.field), value: t("layers.all") })),
      Object.keys(rule.colours).map((value) => el("option", { value, selected: value === current }, label(rule.field, value)))));
    }
    if (open) item.append(this.managePanel(layer));
    return item;
  }

  swatchColour(layer) {
    const { swatch, sections } = legendOf(layer);
    return swatch || sections[0]?.items[0]?.colour || baseColour(layer);
  }

  // Titles in French and English, a colour, colours by an attribute (categories from the
  // layer's values, made by the server), an order, who sees it, and deletion once confirmed.
  managePanel(layer) {
    const field = (name, key, input) => el("label", { class: `manage-field manage-${name}-field` }, el("span", {}, t(key)), input);
    const inputs = {
      titleFr: el("input", { class: "manage-title-fr", value: layer.title_fr || "", placeholder: layer.title, maxlength: 500, lang: "fr" }),
      titleEn: el("input", { class: "manage-title-en", value: layer.title_en || "", placeholder: layer.title, maxlength: 500, lang: "en" }),
      colour: el("input", { type: "color", class: "manage-colour", value: baseColour(layer) }),
      by: el("select", { class: "manage-by" },
        el("option", { value: "" }, t("layers.manage.by_none")),
        Object.keys(layer.attributes || {}).sort().map((name) => el("option", { value: name, selected: name === layer.style?.by }, fieldLabel(name)))),
      visibility: el("select", { class: "manage-visibility" },
        VISIBILITIES.map((value) => el("option", { value, selected: value === layer.visibility }, label("visibility", value)))),
    };
    const group = this.layers.filter((l) => l.kind === layer.kind);
    const at = group.indexOf(layer);
    const step = (name, delta, arrow) => el("button", {
      type: "button",
      class: `small manage-${name}`,
      title: t(`layers.manage.${name}`),
      "aria-label": t(`layers.manage.${name}`),
      disabled: !group[at + delta],
      onclick: () => this.move(layer, delta),
    }, arrow);
    const panel = el("div", { class: "layer-manage", dataset: { slug: layer.slug } },
      field("title-fr", "layers.manage.title_fr", inputs.titleFr),
      field("title-en", "layers.manage.title_en", inputs.titleEn),
      field("colour", "layers.manage.colour", inputs.colour),
      field("by", "layers.manage.by", inputs.by),
      field("visibility", "layers.manage.visibility", inputs.visibility),
      el("div", { class: "manage-order" }, el("span", {}, t("layers.manage.order")), step("up", -1, "↑"), step("down", 1, "↓")),
      el("div", { class: "buttons" },
        el("button", { type: "button", class: "primary manage-save", onclick: () => this.save(layer, inputs) }, t("layers.manage.save")),
        el("button", {
          type: "button",
          class: "danger manage-delete",
          onclick: () => {
            this.confirming = layer.slug;
            this.renderPanel();
          },
        }, t("layers.manage.delete"))));
    if (this.confirming === layer.slug) {
      panel.append(el("div", { class: "manage-confirm", role: "alert" },
        el("p", {}, t("layers.manage.confirm_delete", { layer: layerTitle(layer), n: layer.feature_count, count: formatNumber(layer.feature_count ?? 0, 0) })),
        el("div", { class: "buttons" },
          el("button", { type: "button", class: "danger manage-confirm-delete", onclick: () => this.remove(layer) }, t("layers.manage.delete")),
          el("button", {
            type: "button",
            class: "manage-cancel",
            onclick: () => {
              this.confirming = null;
              this.renderPanel();
            },
          }, t("action.cancel")))));
    }
    return panel;
  }

  async change(layer, body) {
    await request("PATCH", `/layers/${encodeURIComponent(layer.slug)}`, { json: body });
    await this.load();
  }

  // Only what differs is sent: an unchanged layer keeps its version, and its tiles.
  async save(layer, inputs) {
    const style = {};
    const colour = inputs.colour.value.toLowerCase();
    if (layer.style?.colour || colour !== baseColour(layer).toLowerCase()) style.colour = colour;
    if (inputs.by.value) {
      style.by = inputs.by.value;
      // The same attribute keeps its colours; another one gets categories of its own.
      if (style.by === layer.style?.by && layer.style?.categories) style.categories = layer.style.categories;
    }
    const wanted = { title_fr: inputs.titleFr.value.trim(), title_en: inputs.titleEn.value.trim(), visibility: inputs.visibility.value };
    const body = Object.fromEntries(Object.entries(wanted).filter(([key, value]) => value !== (layer[key] || "")));
    if (!sameStyle(style, layer.style)) body.style = style;
    try {
      if (Object.keys(body).length) await this.change(layer, body);
      this.managing = null;
      this.renderPanel();
      showMessage(t("layers.manage.saved", { layer: layerTitle(this.bySlug(layer.slug) || layer) }), "notice");
    } catch (error) {
      showError(error);
    }
  }

  // One place up (-1) or down (+1) among the layers of its kind: the layer takes a sort order
  // between those of its new neighbours, so no other layer (perhaps someone else's) changes.
  async move(layer, delta) {
    const others = this.layers.filter((l) => l.kind === layer.kind && l !== layer);
    const at = this.layers.filter((l) => l.kind === layer.kind).indexOf(layer) + delta;
    const above = others[at - 1]?.sort_order;
    const below = others[at]?.sort_order;
    let order;
    if (above === undefined) order = below - ORDER_STEP;
    else if (below === undefined) order = above + ORDER_STEP;
    else order = below - above >= 2 ? Math.floor((above + below) / 2) : (delta < 0 ? below - 1 : above + 1);
    try {
      await this.change(layer, { sort_order: order });
    } catch (error) {
      showError(error);
    }
  }

  async remove(layer) {
    try {
      await request("DELETE", `/layers/${encodeURIComponent(layer.slug)}`);
      this.managing = null;
      this.confirming = null;
      this.visible.delete(layer.slug);
      await this.load();
      showMessage(t("layers.manage.deleted", { layer: layerTitle(layer) }), "notice");
    } catch (error) {
      showError(error);
    }
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
    const shown = KIND_ORDER.flatMap((kind) => this.layers.filter((l) => l.kind === kind && this.visible.has(l.slug)));
    for (const layer of this.legendFolded ? [] : shown) {
      const { swatch, sections } = legendOf(layer);
      const section = el("div", { class: "legend-layer", dataset: { slug: layer.slug } },
        el("strong", {}, swatch ? el("span", { class: "swatch", style: `background:${swatch}` }) : null, layerTitle(layer)));
      for (const { field, items } of sections) {
        section.append(el("div", { class: "legend-field" }, field));
        for (const item of items) {
          const sample = item.outline ? el("span", { class: "swatch outline", style: item.outline }) : el("span", { class: "swatch", style: `background:${item.colour}` });
          section.append(el("div", { class: "legend-item" }, sample, item.text));
        }
      }
      box.append(section);
    }
    box.hidden = !shown.length;
  }

  // Tiles carry only the styling fields; the popup asks for the whole feature, measured.
  async openPopup(layer, properties, latlng) {
    if (this.map.pm && (this.map.pm.globalDrawModeEnabled() || this.map.pm.globalEditModeEnabled())) return;
    const popup = L.popup({ maxWidth: 360, maxHeight: 320 }).setLatLng(latlng).setContent(el("div", { class: "popup" }, t("popup.loading"))).openOn(this.map);
    const url = `/collections/${layer.slug}/items/${properties.id}`;
    if (this.asOf) return this.openPastPopup(popup, layer, url);
    try {
      const feature = await getJSON(url);
      const zone = layer.kind === "asm_zone" ? el("button", {
        type: "button",
        class: "primary",
        onclick: () => this.dispatchEvent(new CustomEvent("open-zone", { detail: { id: feature.id } })),
      }, t("zones.open")) : null;
      popup.setContent(featurePopup(layer, feature, {
        history: async () => (await getJSON(`${url}/history`)).versions,
        zoom: (shape) => zoomToFeature(this.map, shape),
        extra: [zone, ...this.popupExtras.map((extra) => extra(layer, feature))].filter(Boolean),
      }));
    } catch (error) {
      popup.close();
      showError(error);
    }
  }

  // A feature as it stood at the map's date: its version in force then, from its history.
  async openPastPopup(popup, layer, url) {
    const end = new Date(`${this.asOf}T00:00:00Z`).getTime() + 86400000; // the day's end, UTC
    try {
      const versions = (await getJSON(`${url}/history`)).versions;
      const then = versions.find((v) => Date.parse(v.valid_from) < end && (v.valid_to === null || Date.parse(v.valid_to) >= end));
      if (!then) throw new Error(t("layers.as_of_missing"));
      const feature = { type: "Feature", id: Number(url.split("/").pop()), geometry: then.geometry, properties: { name: then.name, ...then.properties } };
      const note = el("p", { class: "hint popup-as-of" }, t("layers.as_of_version", { version: then.version }));
      popup.setContent(featurePopup(layer, feature, {
        history: async () => versions,
        zoom: (shape) => zoomToFeature(this.map, shape),
        extra: [note, ...this.popupExtras.map((extra) => extra(layer, feature))].filter(Boolean),
      }));
    } catch (error) {
      popup.close();
      showError(error);
    }
  }
}
