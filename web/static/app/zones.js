// Planner tools: draw, edit and delete ASM zones (Leaflet-Geoman) with a screening report that
// follows the drawing, conflicts on the map, save as draft, lifecycle moves and history.
// Every change names the version it was made on (If-Match): a zone someone else changed
// meanwhile is reloaded rather than overwritten.
import { getJSON, postJSON, request } from "./api.js";
import { t, has, label, fieldLabel, formatNumber, onLanguageChange, currentLang } from "./i18n.js";
import { el, debounce, showError, showMessage, openBlob } from "./ui.js";

const ZONES = "asm-zones";
const CONFLICT_STYLE = { color: "#d7191c", weight: 3, fillColor: "#d7191c", fillOpacity: 0.45, dashArray: "4 3", pmIgnore: true, interactive: false };
const ZONE_STYLE = { color: "#0868ac", weight: 3, fillColor: "#43a2ca", fillOpacity: 0.2 };
const GEOMAN_CONTROLS = {
  position: "topleft",
  drawMarker: false,
  drawCircleMarker: false,
  drawPolyline: false,
  drawCircle: false,
  drawText: false,
  cutPolygon: false,
  rotateMode: false,
  drawRectangle: true,
  drawPolygon: true,
  editMode: true,
  dragMode: true,
  removalMode: true,
};
const FORM_FIELDS = ["name", "code", "authority"];
// Conflict groups in the order a planner reads them, with the columns each shows.
const GROUPS = [
  ["concessions", ["code", "holder", "title_type", "status"], "overlap"],
  ["protected_areas", [], "overlap"],
  ["asm_zones", ["code", "status"], "overlap"],
  ["tailings", ["consequence"], "distance"],
  ["abandoned_mines", ["hazards"], "distance"],
  ["mine_sites", ["code", "qualification"], null],
  ["rivers", [], "distance"],
  ["settlements", [], "distance"],
];
// Decimal places of a rule's numeric parameters, as the server writes them (analysis/messages.py).
const REASON_DIGITS = { area_ha: 2, max_ha: 2, distance_m: 0, limit_m: 0, within_m: 0, count: 0 };

// A rule's reason in the current language from its code and parameters, so that switching
// language needs no new request; the server's sentence when the code is not known here.
export function ruleReason(rule) {
  const key = `reason.${rule.code}`;
  if (!rule.code || !has(key)) return rule.reason || "";
  const vars = { n: rule.params?.count };
  for (const [name, value] of Object.entries(rule.params || {})) {
    vars[name] = name in REASON_DIGITS ? formatNumber(value, REASON_DIGITS[name]) : value;
  }
  return t(key, vars);
}

export class Zones {
  constructor(map, layers, config) {
    this.map = map;
    this.layers = layers;
    this.transitions = config.zone_transitions;
    this.zone = { id: null, status: null, layer: null, etag: null };
    this.canEdit = false;
    this.moving = null; // the lifecycle move whose comment is being written: { status, comment }
    this.report = null;
    this.saved = [];
    this.screenSeq = 0;
    this.group = L.featureGroup().addTo(map);
    this.conflicts = L.featureGroup().addTo(map);
    this.screenSoon = debounce(() => this.screen(), 400);
    this.initGeoman();
    this.bindForm();
    layers.addEventListener("open-zone", (e) => this.open(e.detail.id));
    onLanguageChange((lang) => {
      map.pm.setLang(lang);
      this.renderReport();
      this.renderStatus();
      this.renderList();
      if (this.zone.id) this.loadHistory();
    });
  }

  initGeoman() {
    const { map } = this;
    map.pm.setLang(currentLang());
    map.pm.setGlobalOptions({ allowSelfIntersection: false, pathOptions: ZONE_STYLE, templineStyle: { color: "#0868ac" }, hintlineStyle: { color: "#0868ac", dashArray: "5 5" } });
    // A new drawing is a new zone: the one on screen (saved or not) leaves the editor.
    map.on("pm:drawstart", ({ workingLayer }) => {
      this.clearZone();
      document.querySelector('[data-tab="zones"]').click();
      workingLayer.on("pm:vertexadded", () => {
        const ring = workingLayer.getLatLngs();
        if (ring.length >= 3) this.screen(polygonOf(ring));
      });
    });
    map.on("pm:create", ({ layer }) => {
      this.clearZone();
      this.zone = { id: null, status: null, layer, etag: null };
      this.group.addLayer(layer);
      this.watch(layer);
      this.renderStatus();
      this.screen();
    });
    map.on("pm:remove", ({ layer }) => {
      if (layer !== this.zone.layer) return;
      if (this.zone.id) this.remove(layer);
      else this.clearZone();
    });
  }

  // Drawing, editing and saving for editors; the others may open a zone, its report and history.
  applyRole(canEdit) {
    this.canEdit = canEdit;
    const { pm } = this.map;
    if (canEdit && !pm.controlsVisible()) pm.addControls(GEOMAN_CONTROLS);
    if (!canEdit) {
      pm.disableDraw();
      pm.disableGlobalEditMode();
      pm.disableGlobalDragMode();
      pm.disableGlobalRemovalMode();
      this.zone.layer?.pm?.disable();
      pm.removeControls();
      this.moving = null;
    }
    for (const field of FORM_FIELDS) document.getElementById(`zone-${field}`).readOnly = !canEdit;
    this.renderStatus();
  }

  watch(layer) {
    layer.on("pm:edit pm:dragend", () => this.screenSoon());
    layer.on("pm:markerdrag", () => this.screenSoon());
  }

  bindForm() {
    document.getElementById("zone-draw").addEventListener("click", () => this.map.pm.enableDraw("Polygon"));
    document.getElementById("zone-edit").addEventListener("click", () => {
      if (this.zone.layer) this.zone.layer.pm.toggleEdit({ allowSelfIntersection: false });
    });
    document.getElementById("zone-save").addEventListener("click", () => this.save());
    document.getElementById("zone-delete").addEventListener("click", () => this.zone.layer && this.remove(this.zone.layer));
    document.getElementById("zone-print").addEventListener("click", () => this.print());
    document.getElementById("zone-refresh").addEventListener("click", () => this.loadList());
  }

  geometry(drawing) {
    if (drawing) return drawing;
    return this.zone.layer ? this.zone.layer.toGeoJSON().geometry : null;
  }

  screenBody(geometry) {
    const body = { geometry };
    if (this.zone.id) body.exclude_id = this.zone.id;
    return body;
  }

  // Only the latest answer is shown: a slow reply to an older shape must not overwrite it.
  async screen(drawing) {
    const geometry = this.geometry(drawing);
    if (!geometry) return;
    const seq = ++this.screenSeq;
    document.getElementById("screening").classList.add("busy");
    try {
      const report = await postJSON("/analysis/screen", this.screenBody(geometry));
      if (seq !== this.screenSeq) return;
      this.report = report;
      this.renderReport();
      this.drawConflicts();
    } catch (error) {
      if (seq === this.screenSeq) showError(error);
    } finally {
      if (seq === this.screenSeq) document.getElementById("screening").classList.remove("busy");
    }
  }

  drawConflicts() {
    this.conflicts.clearLayers();
    for (const key of ["concessions", "protected_areas", "asm_zones"]) {
      for (const item of this.report?.conflicts?.[key] || []) {
        if (item.geometry) this.conflicts.addLayer(L.geoJSON(item.geometry, { style: CONFLICT_STYLE, pmIgnore: true, interactive: false }));
      }
    }
  }

  renderReport() {
    const box = document.getElementById("screening");
    const report = this.report;
    if (!report) {
      box.replaceChildren(el("p", { class: "hint" }, t("screen.empty")));
      return;
    }
    const parts = [
      el("div", { class: "report-head" },
        el("span", { class: "area" }, t("screen.area", { ha: formatNumber(report.area_ha, 2) })),
        el("span", { class: `verdict verdict-${report.verdict}` }, t(`verdict.${report.verdict}`))),
    ];
    if (report.rules?.length) {
      parts.push(el("h4", {}, t("screen.rules")), el("ul", { class: "rules" }, report.rules.map((rule) =>
        el("li", { class: `verdict-${rule.verdict}`, dataset: { rule: rule.id } },
          el("span", { class: `verdict verdict-${rule.verdict}` }, t(`verdict.${rule.verdict}`)),
          el("span", { class: "rule-id" }, has(`rule.${rule.id}`) ? t(`rule.${rule.id}`) : rule.id),
          el("span", { class: "reason", dataset: { code: rule.code || "" } }, ruleReason(rule))))));
    }
    for (const [key, fields, measure] of GROUPS) {
      const items = report.conflicts?.[key] || [];
      const section = el("section", { class: "conflicts", dataset: { group: key } }, el("h4", {}, `${t(`conflict.${key}`)} (${items.length})`));
      if (!items.length) {
        section.append(el("p", { class: "none" }, t("screen.none")));
      } else {
        section.append(el("ul", {}, items.map((item) => el("li", { class: "conflict", dataset: { id: item.id } },
          el("strong", {}, item.name || item.code || `#${item.id}`),
          fields.filter((f) => item[f] != null && item[f] !== item.name).map((f) => el("span", { class: "attr" }, t("label.pair", { field: fieldLabel(f), value: Array.isArray(item[f]) ? item[f].map((v) => label(f, v)).join(", ") : label(f, item[f]) }))),
          measure === "overlap" && item.overlap_ha != null
            ? el("span", { class: "measure overlap" }, t("screen.overlap", { ha: formatNumber(item.overlap_ha, 2), pct: formatNumber(item.overlap_pct, 1) }))
            : null,
          (measure === "distance" || (measure === "overlap" && !item.overlap_ha)) && item.distance_m != null
            ? el("span", { class: "measure distance" }, t("screen.distance", { km: formatNumber(item.distance_m / 1000, 2) }))
            : null))));
      }
      parts.push(section);
    }
    box.replaceChildren(...parts);
  }

  renderStatus() {
    const box = document.getElementById("zone-status");
    const { id, status } = this.zone;
    if (!this.zone.layer) {
      box.replaceChildren(el("p", { class: "hint" }, t(this.canEdit ? "zones.hint" : "zones.hint_read")));
      return;
    }
    const head = el("div", { class: "status-line" },
      el("span", {}, id ? t("zones.saved", { id }) : t("zones.unsaved")),
      status ? el("span", { class: `status status-${status}`, id: "zone-current-status" }, label("status", status)) : null);
    const moves = id && status && this.canEdit ? this.transitions[status] || [] : [];
    const buttons = moves.map((next) => el("button", {
      type: "button",
      class: "move",
      dataset: { status: next },
      "aria-pressed": String(this.moving?.status === next),
      onclick: () => this.askComment(next),
    }, `→ ${label("status", next)}`));
    box.replaceChildren(head);
    if (moves.length) box.append(el("div", { class: "moves" }, el("span", {}, t("zones.move")), buttons));
    if (this.moving && moves.includes(this.moving.status)) box.append(this.moveForm());
    document.getElementById("zone-save").textContent = id ? t("zones.save") : t("zones.save_draft");
  }

  askComment(status) {
    this.moving = { status, comment: this.moving?.comment || "" };
    this.renderStatus();
    document.getElementById("move-comment").focus();
  }

  // A move of a zone along its lifecycle says why: the reason is kept in its history.
  moveForm() {
    const { status, comment } = this.moving;
    const text = el("textarea", { id: "move-comment", rows: 3, maxlength: 2000, required: true, oninput: () => {
      this.moving.comment = text.value;
      text.setCustomValidity("");
    } });
    text.value = comment;
    const submit = (e) => {
      e.preventDefault();
      if (!text.value.trim()) {
        text.setCustomValidity(t("zones.comment_needed"));
        text.reportValidity();
        return;
      }
      this.move(status, text.value.trim());
    };
    return el("form", { class: "move-form", id: "move-form", onsubmit: submit },
      el("label", { for: "move-comment" }, t("zones.move_why", { status: label("status", status) })),
      text,
      el("div", { class: "buttons" },
        el("button", { type: "submit", class: "primary", id: "move-confirm" }, t("zones.move_confirm", { status: label("status", status) })),
        el("button", { type: "button", id: "move-cancel", onclick: () => {
          this.moving = null;
          this.renderStatus();
        } }, t("action.cancel"))));
  }

  formProperties() {
    const props = {};
    for (const field of FORM_FIELDS) {
      const value = document.getElementById(`zone-${field}`).value.trim();
      if (value) props[field] = value;
    }
    return props;
  }

  async save() {
    if (!this.zone.layer) {
      showMessage(t("zones.nothing"), "error");
      return;
    }
    const geometry = this.geometry();
    const properties = this.formProperties();
    await this.change(async () => {
      if (this.zone.id) {
        this.took(await this.write("PATCH", { type: "Feature", geometry, properties }));
      } else {
        this.took(await request("POST", `/collections/${ZONES}/items`, {
          json: { type: "Feature", geometry, properties: { ...properties, status: "draft" } },
          as: "tagged",
        }));
      }
      showMessage(t("zones.saved_ok"), "notice");
    });
  }

  async move(status, comment) {
    await this.change(async () => {
      this.took(await this.write("PATCH", { type: "Feature", properties: { status }, comment }));
      this.moving = null;
      showMessage(t("zones.moved", { status: label("status", this.zone.status) }), "notice");
    });
  }

  async remove(layer) {
    if (!window.confirm(t("zones.confirm_delete"))) {
      if (!this.group.hasLayer(layer)) this.group.addLayer(layer);
      return;
    }
    await this.change(async () => {
      await this.write("DELETE");
      this.clearZone();
      showMessage(t("zones.deleted"), "notice");
    });
  }

  // A change of the zone on screen, made on the version it was read at.
  write(method, json) {
    return request(method, `/collections/${ZONES}/items/${this.zone.id}`, {
      json,
      as: "tagged",
      headers: this.zone.etag ? { "If-Match": this.zone.etag } : {},
    });
  }

  took({ data, etag }) {
    this.zone.id = data.id;
    this.zone.status = data.properties.status;
    this.zone.etag = etag;
  }

  // Someone else changed the zone since it was read (412): their version is shown, with why.
  async change(action) {
    try {
      await action();
      await this.afterChange();
    } catch (error) {
      if (error.status !== 412 || !this.zone.id) {
        showError(error);
        return;
      }
      showMessage(t("zones.stale", { detail: error.problem?.detail || error.message }), "error");
      await Promise.all([this.open(this.zone.id), this.layers.load(), this.loadList()]);
    }
  }

  async afterChange() {
    this.renderStatus();
    await Promise.all([this.layers.load(), this.loadList(), this.zone.id ? this.loadHistory() : null]);
  }

  clearZone() {
    this.group.clearLayers();
    this.conflicts.clearLayers();
    this.zone = { id: null, status: null, layer: null, etag: null };
    this.moving = null;
    this.report = null;
    this.renderReport();
    this.renderStatus();
    document.getElementById("zone-history").replaceChildren();
  }

  async open(id) {
    try {
      const { data: feature, etag } = await request("GET", `/collections/${ZONES}/items/${id}`, { as: "tagged" });
      this.map.closePopup();
      this.clearZone();
      const layer = L.geoJSON(feature, { style: ZONE_STYLE }).getLayers()[0];
      this.zone = { id: feature.id, status: feature.properties.status, layer, etag };
      this.group.addLayer(layer);
      this.watch(layer);
      for (const field of FORM_FIELDS) {
        document.getElementById(`zone-${field}`).value = feature.properties[field] || "";
      }
      document.querySelector('[data-tab="zones"]').click();
      this.map.fitBounds(layer.getBounds(), { maxZoom: 14 });
      this.renderStatus();
      await Promise.all([this.screen(), this.loadHistory()]);
    } catch (error) {
      showError(error);
    }
  }

  async loadList() {
    try {
      this.saved = (await getJSON(`/collections/${ZONES}/items?limit=500`)).features;
      this.renderList();
    } catch (error) {
      showError(error);
    }
  }

  renderList() {
    document.getElementById("zone-list").replaceChildren(...this.saved.map((f) => el("li", {},
      el("button", { type: "button", class: "zone-link", dataset: { id: f.id }, onclick: () => this.open(f.id) },
        el("span", {}, f.properties.name || f.properties.code || `#${f.id}`),
        el("span", { class: `status status-${f.properties.status}` }, label("status", f.properties.status))))));
  }

  async loadHistory() {
    const box = document.getElementById("zone-history");
    try {
      const { versions } = await getJSON(`/collections/${ZONES}/items/${this.zone.id}/history`);
      // The panel is narrow: who and when share a cell, and each version's name is its tooltip.
      const when = { dateStyle: "short", timeStyle: "short" };
      const locale = currentLang() === "fr" ? "fr-FR" : "en-GB";
      const rows = versions.slice().reverse().map((v) => el("tr", { dataset: { version: v.version }, title: v.name || "" },
        el("td", {}, v.version),
        el("td", { class: "change" }, label("change", v.change)),
        el("td", {}, label("status", v.properties?.status)),
        el("td", {}, el("span", { class: "by" }, v.changed_by || "—"), el("span", { class: "when" }, new Date(v.valid_from).toLocaleString(locale, when))),
        el("td", { class: "comment" }, v.comment || "")));
      box.replaceChildren(el("div", { class: "table-wrap" }, el("table", { class: "history" },
        el("thead", {}, el("tr", {},
          el("th", {}, t("history.version")),
          el("th", {}, t("history.change")),
          el("th", {}, t("field.status")),
          el("th", {}, el("span", { class: "by" }, t("history.by")), el("span", { class: "when" }, t("history.when"))),
          el("th", {}, t("history.comment")))),
        el("tbody", {}, rows))));
    } catch (error) {
      showError(error);
    }
  }

  // The folium page from the server, in the interface's language: a static map and the rules
  // a planner attaches to a file.
  async print() {
    const geometry = this.geometry();
    if (!geometry) {
      showMessage(t("zones.nothing"), "error");
      return;
    }
    try {
      const url = `/analysis/screen?format=html&lang=${currentLang()}`;
      openBlob(await request("POST", url, { json: this.screenBody(geometry), as: "blob" }));
    } catch (error) {
      showError(error);
    }
  }
}

function polygonOf(latlngs) {
  const ring = latlngs.map((p) => [p.lng, p.lat]);
  ring.push(ring[0]);
  return { type: "Polygon", coordinates: [ring] };
}
