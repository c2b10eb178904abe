// Hazards and permits on the map: tailings exposure (GET /analysis/tailings-exposure), the
// abandoned mines ranked by priority (GET /analysis/abandoned-mine-priority), drawn coloured by
// their priority class and sized by their score with a legend of the classes, and the permits'
// flags (GET /analysis/permit-flags), drawn as rings on the flagged permits. A zone's popup lists
// the permits that meet it with their flags. Tailings facilities are coloured by consequence
// class from the served registry (the layer's own style); the exposure list shows that colour.
import { getJSON } from "./api.js";
import { t, label, formatNumber, onLanguageChange } from "./i18n.js";
import { layerTitle } from "./popup.js";
import { STYLE_BY_KIND } from "./styles.js";
import { el, showError } from "./ui.js";

// The kinds whose popups show their inspections, findings, samples over a limit and sanctions.
const INSPECTED = new Set(["mine_site", "asm_permit", "tailings_facility", "abandoned_mine"]);
const FLAG_STYLE = { color: "#d7191c", weight: 3, fill: false, radius: 11 };
const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== "")).toString();

function centre(geometry) {
  const points = [];
  const walk = (c) => (typeof c[0] === "number" ? points.push(c) : c.forEach(walk));
  walk(geometry.coordinates);
  const lon = points.reduce((s, p) => s + p[0], 0) / points.length;
  const lat = points.reduce((s, p) => s + p[1], 0) / points.length;
  return [lat, lon];
}

export class Enforcement {
  constructor(map, layers) {
    this.map = map;
    this.layers = layers;
    this.drawn = L.featureGroup().addTo(map);
    this.exposure = null;
    this.priority = null;
    this.flags = null;
    this.legend = L.control({ position: "bottomleft" });
    this.legend.onAdd = () => L.DomUtil.create("div", "priority-legend leaflet-control");
    this.legend.addTo(map);
    this.legend.getContainer().hidden = true;
    layers.popupExtras.push((layer, feature) => (layer.kind === "asm_zone" ? this.zonePermits(layer, feature) : null));
    layers.popupExtras.push((layer, feature) => (INSPECTED.has(layer.kind) ? this.inspectionsOf(layer, feature) : null));
    layers.addEventListener("change", () => this.render());
    onLanguageChange(() => this.render());
    this.render();
  }

  ofKind(kind) {
    return (this.layers.layers || []).filter((l) => l.kind === kind);
  }

  select(id, kind) {
    const was = document.getElementById(id)?.value;
    const box = el("select", { id }, this.ofKind(kind).map((l) => el("option", { value: l.slug }, layerTitle(l))));
    if (was) box.value = was;
    return box;
  }

  distance(id, value) {
    return el("input", { id, type: "number", min: 1, step: 100, value: document.getElementById(id)?.value || value });
  }

  render() {
    const box = document.getElementById("hazards-panel");
    if (!box) return;
    const run = (key, action) => el("button", { type: "button", class: "primary", id: `hazards-${key}`, onclick: () => action().catch(showError) }, t(`hazards.${key}`));
    box.replaceChildren(
      el("h3", {}, t("hazards.tailings")),
      el("div", { class: "form-grid" },
        el("label", { for: "exposure-layer" }, t("hazards.layer")), this.select("exposure-layer", "tailings_facility"),
        el("label", { for: "exposure-within" }, t("hazards.within")), this.distance("exposure-within", 10000)),
      el("div", { class: "buttons" }, run("exposure", () => this.runExposure())),
      el("div", { id: "exposure-result" }, this.exposureList()),
      el("h3", {}, t("hazards.abandoned")),
      el("div", { class: "form-grid" },
        el("label", { for: "priority-layer" }, t("hazards.layer")), this.select("priority-layer", "abandoned_mine"),
        el("label", { for: "priority-within" }, t("hazards.within")), this.distance("priority-within", 5000)),
      el("div", { class: "buttons" }, run("priority", () => this.runPriority())),
      el("div", { id: "priority-result" }, this.priorityList()),
      el("h3", {}, t("hazards.permits")),
      el("div", { class: "form-grid" },
        el("label", { for: "flags-layer" }, t("hazards.layer")), this.select("flags-layer", "asm_permit")),
      el("div", { class: "buttons" }, run("flags", () => this.runFlags())),
      el("div", { id: "flags-result" }, this.flagList()),
    );
    this.renderLegend();
  }

  async runExposure() {
    const layer = document.getElementById("exposure-layer").value;
    this.exposure = await getJSON(`/analysis/tailings-exposure?${query({ layer, within_m: document.getElementById("exposure-within").value })}`);
    this.render();
  }

  exposureList() {
    if (!this.exposure) return [];
    const colours = STYLE_BY_KIND.tailings_facility?.colours || {};
    return el("ul", { class: "hazard-list exposure-list" }, this.exposure.facilities.map((f) => el("li", { dataset: { id: f.id } },
      el("span", { class: "swatch", style: `background:${colours[f.consequence] || "#8c8c8c"}` }),
      el("strong", {}, f.name), ` (${label("consequence", f.consequence) || "—"}) `,
      el("span", { class: "counts" }, t("hazards.counts", { settlements: f.counts.settlement, rivers: f.counts.river, parks: f.counts.protected_area })),
      el("ol", {}, f.exposed.map((e) => el("li", { class: e.downstream ? "downstream" : "" },
        `${e.name} — ${label("theme", e.theme)}, ${formatNumber(e.distance_m, 0)} m`, e.downstream ? ` (${t("hazards.downstream")})` : ""))))));
  }

  async runPriority() {
    const layer = document.getElementById("priority-layer").value;
    this.priority = await getJSON(`/analysis/abandoned-mine-priority?${query({ layer, within_m: document.getElementById("priority-within").value })}`);
    const colours = Object.fromEntries(this.priority.classes.map((c) => [c.class, c.colour]));
    this.drawn.clearLayers();
    const items = await getJSON(`/collections/${layer}/items?limit=1000`);
    const where = Object.fromEntries(items.features.map((f) => [f.id, f.geometry]));
    for (const row of this.priority.rows) {
      if (!where[row.id]) continue;
      L.circleMarker(centre(where[row.id]), { radius: 6 + Math.min(14, row.score / 2), color: "#333", weight: 1, fillColor: colours[row.class], fillOpacity: 0.85, className: `priority-${row.class}` })
        .bindTooltip(`${row.name}: ${formatNumber(row.score, 1)}`).addTo(this.drawn);
    }
    this.render();
  }

  priorityList() {
    if (!this.priority) return [];
    const term = (row, name) => `${t(`hazards.term_${name}`)} ${formatNumber(row.terms[name].value, 2)}`;
    return el("ol", { class: "hazard-list priority-list" }, this.priority.rows.map((row) => el("li", { dataset: { id: row.id, class: row.class } },
      el("strong", {}, row.name), ` — ${t("hazards.score")} ${formatNumber(row.score, 2)} (${t(`priority.${row.class}`)})`,
      el("div", { class: "hint" }, ["hazard", "people", "water"].map((n) => term(row, n)).join(" · ")))));
  }

  renderLegend() {
    const box = this.legend.getContainer();
    box.hidden = !this.priority;
    if (!this.priority) return;
    box.replaceChildren(el("div", { class: "legend-field" }, t("hazards.priority_legend")),
      ...this.priority.classes.map((c) => el("div", { class: "legend-item", dataset: { class: c.class } },
        el("span", { class: "swatch", style: `background:${c.colour}` }), t(`priority.${c.class}`))));
  }

  async runFlags() {
    const layer = document.getElementById("flags-layer").value;
    this.flags = await getJSON(`/analysis/permit-flags?${query({ layer, flagged_only: "true" })}`);
    const items = await getJSON(`/collections/${layer}/items?limit=1000`);
    const where = Object.fromEntries(items.features.map((f) => [f.id, f.geometry]));
    for (const row of this.flags.rows) {
      if (where[row.id]) L.circleMarker(centre(where[row.id]), { ...FLAG_STYLE, className: "permit-flag" }).addTo(this.drawn);
    }
    this.render();
  }

  flagRows(rows) {
    return rows.map((row) => el("li", { dataset: { id: row.id } },
      el("strong", {}, row.number || row.name), ` — ${label("category", row.category)}, ${row.holder || "—"}`,
      row.flags.length ? el("ul", { class: "flags" }, row.flags.map((f) => el("li", { class: `flag flag-${f.code}` }, t(`flag.${f.code}`))))
        : el("span", { class: "hint" }, ` ${t("flag.none")}`)));
  }

  flagList() {
    if (!this.flags) return [];
    return this.flags.rows.length ? el("ul", { class: "hazard-list flag-list" }, this.flagRows(this.flags.rows)) : el("p", { class: "hint" }, t("flag.no_flagged"));
  }

  // A site's or permit's popup: its inspections with their findings, the samples over their
  // limit and the sanctions on each finding (a closure with its next step).
  inspectionsOf(layer, feature) {
    const box = el("div", { class: "inspections" });
    const base = `/layers/${layer.slug}/features/${feature.id}`;
    Promise.all([getJSON(`${base}/inspections`), getJSON(`${base}/sanctions`)])
      .then(([{ inspections }, { sanctions }]) => {
        if (!inspections.length) return;
        const onFinding = (id) => sanctions.filter((s) => s.finding_id === id).map((s) => el("div", { class: "sanction" }, this.sanctionText(s)));
        box.append(el("h4", {}, t("inspections.title")), el("ul", { class: "hazard-list" }, inspections.map((i) => el("li", {},
          `${i.date} — ${i.team.join(", ")}`,
          el("ul", {},
            i.findings.map((f) => el("li", { class: `finding severity-${f.severity}` }, `${f.text} (${label("severity", f.severity)})`, ...onFinding(f.id))),
            i.samples.filter((x) => x.exceeded).map((x) => el("li", { class: "sample-exceeded" },
              t("inspections.exceeded", { parameter: x.parameter, value: formatNumber(x.value, 3), unit: x.unit, limit: formatNumber(x.limit, 3) }))))))));
      })
      .catch(showError);
    return box;
  }

  sanctionText(s) {
    const amount = s.amount != null ? ` ${formatNumber(s.amount, 0)} ${s.currency}` : "";
    const closure = s.kind !== "closure" ? "" : ` — ${s.next_step ? t("inspections.next_step", { step: label("closure_step", s.next_step) }) : t("inspections.closure_done")}`;
    return `${t("inspections.sanction")} ${label("sanction", s.kind)}${amount}${closure}`;
  }

  // A zone's popup: the permits of every permit layer that meet the zone, with their flags.
  zonePermits(layer, zone) {
    const box = el("div", { class: "zone-permits" }, el("h4", {}, t("hazards.zone_permits")));
    Promise.all(this.ofKind("asm_permit").map((p) => getJSON(`/analysis/permit-flags?${query({ layer: p.slug, zone_layer: layer.slug, zone: zone.id })}`)))
      .then((answers) => {
        const rows = answers.flatMap((a) => a.rows);
        box.append(rows.length ? el("ul", { class: "flag-list" }, this.flagRows(rows)) : el("p", { class: "hint" }, t("hazards.no_permits")));
      })
      .catch(showError);
    return box;
  }
}
