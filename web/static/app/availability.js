// Available land for ASM (POST /analysis/available-land): the map's view minus the layers the
// planner excludes (each with its buffer in metres), near the deposits of a chosen layer and
// minerals, in pieces of a least size. The pieces are drawn on the map and listed with their
// hectares and what was excluded next to them; an editor turns one into a draft zone in one
// click, which opens in the zone editor with its screening and lifecycle. A large view runs
// as a job on the server: its progress is shown until the pieces arrive.
import { getJSON, postJSON } from "./api.js";
import { t, formatNumber, onLanguageChange } from "./i18n.js";
import { layerTitle } from "./popup.js";
import { el, showError, showMessage } from "./ui.js";
import { ZONES } from "./zones.js";

const PIECE_STYLE = { color: "#e6550d", weight: 2, fillColor: "#fdae6b", fillOpacity: 0.45 };
const CHOSEN_STYLE = { color: "#a63603", weight: 4, fillColor: "#fd8d3c", fillOpacity: 0.6 };
const JOB_POLL_MS = 300;

export class Availability {
  constructor(map, layers, zones) {
    this.map = map;
    this.layers = layers;
    this.zones = zones;
    this.result = null;
    this.drawn = L.featureGroup().addTo(map);
    this.busy = false;
    this.render();
    layers.addEventListener("change", () => this.render());
    onLanguageChange(() => this.render());
  }

  vectorLayers() {
    return (this.layers.layers || []).filter((l) => l.storage === "vector");
  }

  // The form keeps what was typed when it is drawn again (new layers, another language).
  values() {
    const box = document.getElementById("land-panel");
    const read = (sel) => box.querySelector(sel)?.value ?? "";
    const excluded = {};
    for (const row of box.querySelectorAll(".land-exclude")) {
      excluded[row.dataset.layer] = { on: row.querySelector("input[type=checkbox]").checked, buffer: row.querySelector("input[type=number]").value };
    }
    return { minerals: read("#land-minerals"), near: read("#land-near"), within: read("#land-within"), minArea: read("#land-min-area"), excluded };
  }

  render() {
    const box = document.getElementById("land-panel");
    if (!box) return;
    const was = box.childElementCount ? this.values() : { minerals: "", near: "", within: "5000", minArea: "0", excluded: {} };
    const layers = this.vectorLayers();
    const rows = layers.map((l) => {
      const kept = was.excluded[l.slug] || {};
      return el("li", { class: "land-exclude", dataset: { layer: l.slug } },
        el("label", {}, el("input", { type: "checkbox", checked: kept.on || false }), " ", layerTitle(l)),
        el("input", { type: "number", min: 0, step: 50, value: kept.buffer ?? "0", "aria-label": t("land.buffer_m", { layer: layerTitle(l) }), class: "buffer" }));
    });
    const near = el("select", { id: "land-near" }, el("option", { value: "" }, t("land.near_none")),
      layers.map((l) => el("option", { value: l.slug }, layerTitle(l))));
    near.value = was.near;
    box.replaceChildren(
      el("p", { class: "hint" }, t("land.hint")),
      el("div", { class: "form-grid" },
        el("label", { for: "land-minerals" }, t("land.minerals")), el("input", { id: "land-minerals", value: was.minerals, placeholder: t("land.minerals_example") }),
        el("label", { for: "land-near" }, t("land.near")), near,
        el("label", { for: "land-within" }, t("land.within_m")), el("input", { id: "land-within", type: "number", min: 0, step: 100, value: was.within }),
        el("label", { for: "land-min-area" }, t("land.min_area_ha")), el("input", { id: "land-min-area", type: "number", min: 0, step: 1, value: was.minArea })),
      el("h4", {}, t("land.exclude")),
      el("ul", { class: "land-excludes" }, rows),
      el("div", { class: "buttons" },
        el("button", { type: "button", class: "primary", id: "land-find", onclick: () => this.find() }, t("land.find")),
        el("button", { type: "button", id: "land-clear", onclick: () => this.clear() }, t("land.clear"))),
      el("div", { id: "land-progress", class: "hint", "aria-live": "polite" }),
      el("div", { id: "land-results" }));
    this.renderResults();
  }

  body() {
    const v = this.values();
    const b = this.map.getBounds();
    const region = { type: "Polygon", coordinates: [[[b.getWest(), b.getSouth()], [b.getEast(), b.getSouth()], [b.getEast(), b.getNorth()], [b.getWest(), b.getNorth()], [b.getWest(), b.getSouth()]]] };
    const body = { region, min_area_ha: Number(v.minArea) || 0 };
    body.exclude = Object.entries(v.excluded).filter(([, x]) => x.on).map(([layer, x]) => ({ layer, buffer_m: Number(x.buffer) || 0 }));
    const minerals = v.minerals.split(/[;,]/).map((m) => m.trim()).filter(Boolean);
    if (v.near) {
      body.near = { layer: v.near, within_m: Number(v.within) || 0 };
      if (minerals.length) body.minerals = minerals;
    }
    return body;
  }

  async find() {
    if (this.busy) return;
    this.busy = true;
    const progress = document.getElementById("land-progress");
    progress.textContent = t("land.searching");
    try {
      let answer = await postJSON("/analysis/available-land", this.body());
      if (answer.job) answer = await this.follow(answer.href, progress);
      this.result = answer;
      this.draw();
      this.renderResults();
      progress.textContent = "";
    } catch (error) {
      progress.textContent = "";
      showError(error);
    } finally {
      this.busy = false;
    }
  }

  // A large region's search runs as a job: its progress is shown until it ends.
  async follow(href, progress) {
    for (;;) {
      const job = await getJSON(href);
      if (job.status === "done") return job.result;
      if (job.status === "failed") throw Object.assign(new Error(job.error?.detail || "job failed"), { problem: job.error || {} });
      progress.textContent = t("land.job", { pct: formatNumber((job.progress || 0) * 100, 0) });
      await new Promise((r) => setTimeout(r, JOB_POLL_MS));
    }
  }

  clear() {
    this.result = null;
    this.drawn.clearLayers();
    this.renderResults();
  }

  draw() {
    this.drawn.clearLayers();
    for (const piece of this.result?.features || []) {
      const layer = L.geoJSON(piece, { style: PIECE_STYLE, pmIgnore: true });
      layer.bindTooltip(t("land.piece", { n: piece.properties.piece, ha: formatNumber(piece.properties.area_ha, 2) }));
      layer.on("click", () => this.choose(piece.properties.piece));
      piece.drawn = layer;
      this.drawn.addLayer(layer);
    }
  }

  choose(n) {
    for (const piece of this.result?.features || []) piece.drawn?.setStyle(piece.properties.piece === n ? CHOSEN_STYLE : PIECE_STYLE);
    document.querySelector(`#land-results li[data-piece="${n}"]`)?.scrollIntoView({ block: "nearest" });
  }

  renderResults() {
    const box = document.getElementById("land-results");
    if (!box) return;
    if (!this.result) {
      box.replaceChildren();
      return;
    }
    const pieces = this.result.features;
    const titles = Object.fromEntries(this.vectorLayers().map((l) => [l.slug, layerTitle(l)]));
    const items = pieces.map((piece) => {
      const p = piece.properties;
      const nearby = Object.entries(p.excluded_nearby).filter(([, list]) => list.length).map(([slug, list]) => el("li", { class: "nearby", dataset: { layer: slug } },
        t("land.nearby", { layer: titles[slug] || slug, names: list.slice(0, 3).map((x) => t("land.at", { name: x.name || `#${x.id}`, m: formatNumber(x.distance_m, 0) })).join(", ") })));
      return el("li", { class: "land-piece", dataset: { piece: p.piece } },
        el("button", { type: "button", class: "link", onclick: () => {
          this.choose(p.piece);
          this.map.fitBounds(piece.drawn.getBounds(), { maxZoom: 14 });
        } }, t("land.piece", { n: p.piece, ha: formatNumber(p.area_ha, 2) })),
        nearby.length ? el("ul", {}, nearby) : null,
        this.zones.canEdit ? el("button", { type: "button", class: "small primary land-to-zone", onclick: () => this.toZone(piece) }, t("land.to_zone")) : null);
    });
    box.replaceChildren(
      el("p", { class: "land-summary" }, t("land.summary", { n: pieces.length, ha: formatNumber(this.result.available_area_ha, 2), region: formatNumber(this.result.region_area_ha, 2) })),
      el("ol", { class: "land-pieces" }, items));
  }

  // One call makes the piece a draft zone (store/layers.py: validated, screened, on record).
  async toZone(piece) {
    try {
      const made = await postJSON("/analysis/available-land/zone", {
        layer: ZONES,
        geometry: piece.geometry,
        name: t("land.zone_name", { n: piece.properties.piece }),
        minerals: this.result.minerals || [],
        comment: t("land.zone_comment"),
      });
      showMessage(t("land.zone_made", { id: made.id }), "notice");
      await Promise.all([this.layers.load(), this.zones.loadList()]);
      await this.zones.open(made.id);
    } catch (error) {
      showError(error);
    }
  }
}
