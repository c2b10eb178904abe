// Planner tools: draw, edit and delete ASM zones (Leaflet-Geoman) with a screening report that
// follows the drawing, conflicts on the map, save as draft, lifecycle moves and history.
// Every change names the version it was made on (If-Match): a zone someone else changed
// meanwhile is reloaded rather than overwritten, and the planner told what changed. Gazetting
// a zone that fails a rule takes a reason to override it; a zone in force is retired.
import { getJSON, postJSON, request } from "./api.js";
import { t, has, label, fieldLabel, formatNumber, onLanguageChange, currentLang } from "./i18n.js";
import { sheetCover, touchTooltips } from "./phone.js";
import { el, debounce, showError, showMessage, openBlob, saveResponse, showTab, loadOnce } from "./ui.js";

export const ZONES = "asm-zones";
// The drawing library is fetched when an editor first draws or edits: those who only look at
// the map never download it.
const GEOMAN = ["/static/vendor/geoman/leaflet-geoman.css", "/static/vendor/geoman/leaflet-geoman.min.js"];
// A zone in force (ADMIN_DELETE_STATUSES of geo_service/domain/kinds.py): an admin may delete
// it, anyone else retires it.
const IN_FORCE = new Set(["gazetted", "suspended"]);
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
const FORM_FIELDS = ["name", "code", "authority", "manager", "capacity"];
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

// A zone as it was read: what a colleague's change is measured against.
const EMPTY = { id: null, status: null, layer: null, etag: null, base: null };

export class Zones {
  constructor(map, layers, config) {
    this.map = map;
    this.layers = layers;
    this.transitions = config.zone_transitions;
    this.zone = { ...EMPTY };
    this.canEdit = false;
    this.isAdmin = false;
    // The lifecycle move being written: { status, comment }, and once the server has refused
    // to gazette, the rules that fail (`failing`) and the reason to override them (`override`).
    this.moving = null;
    this.report = null;
    this.saved = [];
    this.versions = [];
    this.screenSeq = 0;
    this.tools = null; // the drawing library, loading or loaded
    this.group = L.featureGroup().addTo(map);
    this.conflicts = L.featureGroup().addTo(map);
    this.screenSoon = debounce(() => this.screen(), 400);
    this.starter = this.drawStarter();
    this.bindForm();
    layers.addEventListener("open-zone", (e) => this.open(e.detail.id));
    onLanguageChange(() => {
      if (map.pm) this.setToolsLanguage();
      this.renderStarter();
      this.renderReport();
      this.renderStatus();
      this.renderList();
      if (this.zone.id) this.loadHistory();
      this.renderLifecycle();
    });
  }

  // Until the library is here, the map's drawing button is ours: its first tap fetches Geoman,
  // whose toolbar then takes its place.
  drawStarter() {
    const control = L.control({ position: "topleft" });
    control.onAdd = () => {
      const bar = el("div", { class: "leaflet-bar leaflet-control zone-draw-start" },
        el("a", { href: "#", role: "button", class: "leaflet-buttons-control-button", onclick: (e) => {
          e.preventDefault();
          this.startDrawing();
        } }, el("div", { class: "control-icon leaflet-pm-icon-polygon" })));
      L.DomEvent.disableClickPropagation(bar);
      return bar;
    };
    return control;
  }

  renderStarter() {
    const button = this.starter.getContainer()?.querySelector("a");
    if (!button) return;
    button.title = t("zones.draw");
    button.setAttribute("aria-label", t("zones.draw"));
  }

  drawingTools() {
    if (!this.tools) {
      this.tools = Promise.all(GEOMAN.map(loadOnce)).then(() => this.initGeoman());
      this.tools.catch(() => {
        this.tools = null;
      });
    }
    return this.tools;
  }

  async startDrawing() {
    if (await this.withTools()) this.map.pm.enableDraw("Polygon");
  }

  async startEditing() {
    if (this.zone.layer && (await this.withTools())) this.zone.layer.pm.toggleEdit({ allowSelfIntersection: false });
  }

  async withTools() {
    try {
      await this.drawingTools();
    } catch {
      showMessage(t("zones.tools_failed"), "error");
      return false;
    }
    return this.canEdit;
  }

  setToolsLanguage() {
    const lang = currentLang();
    const touch = touchTooltips();
    if (touch) this.map.pm.setLang(`${lang}-touch`, touch, lang);
    else this.map.pm.setLang(lang);
  }

  initGeoman() {
    const { map } = this;
    // The map and any zone on it were made before the library came: they get its handle now.
    L.PM.reInitLayer(map);
    L.PM.reInitLayer(this.group);
    this.setToolsLanguage();
    map.pm.setGlobalOptions({ allowSelfIntersection: false, pathOptions: ZONE_STYLE, templineStyle: { color: "#0868ac" }, hintlineStyle: { color: "#0868ac", dashArray: "5 5" } });
    // A new drawing is a new zone: the one on screen (saved or not) leaves the editor. On a
    // phone the sheet gets out of the way of the drawing, and comes back with its report.
    // Two quick taps on a phone are a double tap: while drawing they place vertices, not zoom.
    map.on("pm:drawstart", ({ workingLayer }) => {
      map.doubleClickZoom.disable();
      this.clearZone();
      showTab("zones", "closed");
      workingLayer.on("pm:vertexadded", () => {
        const ring = workingLayer.getLatLngs();
        if (ring.length >= 3) this.screen(polygonOf(ring));
      });
    });
    map.on("pm:drawend", () => map.doubleClickZoom.enable());
    map.on("pm:create", ({ layer }) => {
      this.clearZone();
      this.zone = { ...EMPTY, layer };
      this.group.addLayer(layer);
      this.watch(layer);
      this.renderStatus();
      showTab("zones", "half");
      if (sheetCover()) this.fit(layer, this.map.getZoom()); // a phone: above its sheet
      this.screen();
    });
    map.on("pm:remove", ({ layer }) => {
      if (layer === this.zone.layer) this.remove(layer);
    });
    this.showTools();
  }

  // Drawing, editing and saving for editors (admins may also delete a zone in force); the
  // others may open a zone, its report and history.
  applyRole(canEdit, isAdmin = false) {
    this.canEdit = canEdit;
    this.isAdmin = canEdit && isAdmin;
    if (!canEdit) this.moving = null;
    this.showTools();
    for (const field of FORM_FIELDS) document.getElementById(`zone-${field}`).readOnly = !canEdit;
    this.renderStatus();
    this.renderLifecycle();
  }

  // The zone in view, above the phone's sheet when it is open.
  fit(layer, maxZoom) {
    this.map.fitBounds(layer.getBounds(), { maxZoom, paddingBottomRight: [0, sheetCover()] });
  }

  showTools() {
    const { pm } = this.map;
    if (this.canEdit && !pm) {
      this.starter.addTo(this.map);
      this.renderStarter();
    } else {
      this.starter.remove();
    }
    if (!pm) return;
    if (this.canEdit && !pm.controlsVisible()) pm.addControls(GEOMAN_CONTROLS);
    if (!this.canEdit) {
      pm.disableDraw();
      pm.disableGlobalEditMode();
      pm.disableGlobalDragMode();
      pm.disableGlobalRemovalMode();
      this.zone.layer?.pm?.disable();
      pm.removeControls();
    }
  }

  watch(layer) {
    layer.on("pm:edit pm:dragend", () => this.screenSoon());
    layer.on("pm:markerdrag", () => this.screenSoon());
  }

  bindForm() {
    document.getElementById("zone-draw").addEventListener("click", () => this.startDrawing());
    document.getElementById("zone-edit").addEventListener("click", () => this.startEditing());
    document.getElementById("zone-save").addEventListener("click", () => this.save());
    document.getElementById("zone-delete").addEventListener("click", () => this.zone.layer && this.remove(this.zone.layer));
    document.getElementById("zone-print").addEventListener("click", () => this.print("html"));
    document.getElementById("zone-pdf").addEventListener("click", () => this.print("pdf"));
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
      this.renderLifecycle(); // its consent form offers the titles the zone overlaps
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
    // A zone in force is retired (a move, with its reason), not deleted.
    document.getElementById("zone-delete").textContent = t(IN_FORCE.has(status) ? "zones.retire" : "zones.delete");
  }

  askComment(status) {
    const same = this.moving?.status === status;
    this.moving = { status, comment: this.moving?.comment || "", failing: same ? this.moving.failing : null, override: same ? this.moving.override : "", decree: same ? this.moving.decree : undefined };
    this.renderStatus();
    document.getElementById("move-comment").focus();
  }

  // A move of a zone along its lifecycle says why: the reason is kept in its history. Once the
  // server has refused to gazette the zone, the form names the rules it fails and gazettes it
  // only with a reason to override them; retiring a zone in force is where an admin may
  // delete it instead.
  moveForm() {
    const { status, comment, failing } = this.moving;
    const needed = (field, message) => {
      if (field.value.trim()) return true;
      field.setCustomValidity(message);
      field.reportValidity();
      return false;
    };
    const text = el("textarea", { id: "move-comment", rows: 3, maxlength: 2000, required: true, oninput: () => {
      this.moving.comment = text.value;
      text.setCustomValidity("");
    } });
    text.value = comment;
    const override = failing ? el("textarea", { id: "move-override", rows: 3, maxlength: 2000, required: true, oninput: () => {
      this.moving.override = override.value;
      override.setCustomValidity("");
    } }) : null;
    if (override) override.value = this.moving.override || "";
    // Gazetting is a legal act: it names its decree (kept with the zone and the transition).
    const decree = status === "gazetted" ? el("input", { id: "move-decree", maxlength: 500, required: true, oninput: () => {
      this.moving.decree = decree.value;
      decree.setCustomValidity("");
    } }) : null;
    if (decree) decree.value = this.moving.decree ?? (this.zone.base?.properties?.decree_ref || "");
    const submit = (e) => {
      e.preventDefault();
      if (!needed(text, t("zones.comment_needed")) || (decree && !needed(decree, t("zones.decree_needed"))) || (override && !needed(override, t("zones.override_needed")))) return;
      this.move(status, text.value.trim(), override ? override.value.trim() : null, decree ? decree.value.trim() : null);
    };
    const retiring = status === "retired" && IN_FORCE.has(this.zone.status);
    const confirm = failing ? t("zones.gazette_anyway") : t("zones.move_confirm", { status: label("status", status) });
    return el("form", { class: "move-form", id: "move-form", onsubmit: submit },
      el("label", { for: "move-comment" }, t(retiring ? "zones.retire_why" : "zones.move_why", { status: label("status", status) })),
      text,
      decree ? el("label", { for: "move-decree" }, t("zones.decree")) : null,
      decree,
      failing ? el("div", { class: "refused", id: "move-refused", role: "alert" },
        el("p", {}, t("zones.gazette_refused", { n: failing.length })),
        el("ul", { class: "rules" }, failing.map((rule) => el("li", { class: "verdict-fail", dataset: { rule: rule.id } },
          el("span", { class: "verdict verdict-fail" }, t("verdict.fail")),
          el("span", { class: "rule-id" }, has(`rule.${rule.id}`) ? t(`rule.${rule.id}`) : rule.id),
          el("span", { class: "reason" }, ruleReason(rule))))),
        el("label", { for: "move-override" }, t("zones.override_why")),
        override) : null,
      el("div", { class: "buttons" },
        el("button", { type: "submit", class: failing ? "primary danger-fill" : "primary", id: "move-confirm" }, confirm),
        el("button", { type: "button", id: "move-cancel", onclick: () => {
          this.moving = null;
          this.renderStatus();
        } }, t("action.cancel")),
        retiring && this.isAdmin ? el("button", { type: "button", class: "danger", id: "zone-destroy", onclick: () => this.destroy(text.value.trim()) }, t("zones.delete_admin")) : null));
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

  async move(status, comment, override, decree) {
    const json = { type: "Feature", properties: decree ? { status, decree_ref: decree } : { status }, comment };
    if (override) json.override = { reason: override };
    await this.change(async () => {
      this.took(await this.write("PATCH", json));
      this.moving = null;
      showMessage(t(override ? "zones.moved_override" : "zones.moved", { status: label("status", this.zone.status) }), "notice");
    });
  }

  // The delete button and the drawing tool's eraser: an unsaved drawing goes, a saved zone is
  // deleted once confirmed (history keeps it), a zone in force is retired instead.
  async remove(layer) {
    if (!this.zone.id) {
      this.clearZone();
      return;
    }
    if (!this.map.hasLayer(layer)) { // the eraser took it off the map: back until the server agrees
      this.group.removeLayer(layer);
      this.group.addLayer(layer);
    }
    if (IN_FORCE.has(this.zone.status)) {
      this.askComment("retired");
      return;
    }
    if (!window.confirm(t("zones.confirm_delete"))) return;
    await this.destroy();
  }

  async destroy(comment = "") {
    if (IN_FORCE.has(this.zone.status) && !window.confirm(t("zones.confirm_delete_in_force"))) return;
    await this.change(async () => {
      await this.write("DELETE", undefined, comment ? `?comment=${encodeURIComponent(comment)}` : "");
      this.clearZone();
      showMessage(t("zones.deleted"), "notice");
    });
  }

  // A change of the zone on screen, made on the version it was read at.
  write(method, json, query = "") {
    return request(method, `/collections/${ZONES}/items/${this.zone.id}${query}`, {
      json,
      as: "tagged",
      headers: this.zone.etag ? { "If-Match": this.zone.etag } : {},
    });
  }

  took({ data, etag }) {
    this.zone.id = data.id;
    this.zone.status = data.properties.status;
    this.zone.etag = etag;
    this.zone.base = { properties: data.properties, geometry: data.geometry };
  }

  // A refused change wrote nothing: the zone is shown as the server has it, never as asked.
  // Someone else changed it since it was read (412): it is reloaded and what they changed said.
  // Gazetting refused for failing rules (409 with `rules`): the move form names them and asks
  // for a reason to override them.
  async change(action) {
    try {
      await action();
      await this.afterChange();
    } catch (error) {
      if (error.status === 412 && this.zone.id) {
        await this.reloadStale();
      } else if (error.status === 409 && error.problem?.rules && this.moving) {
        this.moving.failing = error.problem.rules;
        this.renderStatus();
        document.getElementById("move-override").focus();
      } else {
        showError(error);
        if (this.zone.id && error.status >= 400 && error.status < 500) await this.refresh();
      }
    }
  }

  async reloadStale() {
    const before = this.zone.base;
    const [opened] = await Promise.all([this.open(this.zone.id, { fit: false }), this.layers.load(), this.loadList()]);
    if (!opened) return;
    const last = this.versions.at(-1) || {};
    showMessage(t("zones.stale", { who: last.changed_by || "?", version: last.version ?? "?", changes: describeChanges(before, this.zone.base) }), "error");
  }

  async refresh() {
    try {
      this.took(await request("GET", `/collections/${ZONES}/items/${this.zone.id}`, { as: "tagged" }));
    } catch (error) {
      if (error.status !== 404) showError(error);
    }
    this.renderStatus();
  }

  async afterChange() {
    this.renderStatus();
    await Promise.all([this.layers.load(), this.loadList(), this.zone.id ? this.loadHistory() : null, this.loadLifecycle()]);
  }

  clearZone() {
    this.group.clearLayers();
    this.conflicts.clearLayers();
    this.zone = { ...EMPTY };
    this.versions = [];
    this.lifecycle = null;
    this.moving = null;
    this.report = null;
    this.renderReport();
    this.renderStatus();
    this.renderLifecycle();
    document.getElementById("zone-history").replaceChildren();
  }

  // The zone `id` in the editor; true once it is there.
  async open(id, { fit = true } = {}) {
    try {
      const answer = await request("GET", `/collections/${ZONES}/items/${id}`, { as: "tagged" });
      const feature = answer.data;
      this.map.closePopup();
      this.clearZone();
      const layer = L.geoJSON(feature, { style: ZONE_STYLE }).getLayers()[0];
      this.zone = { ...EMPTY, layer };
      this.took(answer);
      this.group.addLayer(layer);
      this.watch(layer);
      for (const field of FORM_FIELDS) {
        document.getElementById(`zone-${field}`).value = feature.properties[field] || "";
      }
      showTab("zones", "open");
      if (fit) this.fit(layer, 14);
      this.renderStatus();
      await Promise.all([this.screen(), this.loadHistory(), this.loadLifecycle()]);
      return true;
    } catch (error) {
      showError(error);
      return false;
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

  // The zone's lifecycle as the server recorded it (store/zoning.py): each move with who,
  // when, why, its decree and its border flag, and the title holders' consents.
  async loadLifecycle() {
    if (!this.zone.id) return;
    try {
      this.lifecycle = await getJSON(`/layers/${ZONES}/features/${this.zone.id}/transitions`);
    } catch (error) {
      this.lifecycle = null;
      showError(error);
    }
    this.renderLifecycle();
  }

  renderLifecycle() {
    const box = document.getElementById("zone-lifecycle");
    if (!box) return;
    if (!this.zone.id || !this.lifecycle) {
      box.replaceChildren(el("p", { class: "hint" }, t("lifecycle.empty")));
      return;
    }
    const locale = currentLang() === "fr" ? "fr-FR" : "en-GB";
    const when = (iso) => new Date(iso).toLocaleString(locale, { dateStyle: "short", timeStyle: "short" });
    const moves = this.lifecycle.transitions.slice().reverse().map((m) => el("li", { class: "transition", dataset: { id: m.id, to: m.to } },
      el("strong", { class: "move-what" }, m.from ? `${label("status", m.from)} → ${label("status", m.to)}` : t("lifecycle.created", { status: label("status", m.to) })),
      el("span", { class: "by" }, t("lifecycle.by", { who: m.by, when: when(m.at) })),
      m.comment ? el("span", { class: "comment" }, m.comment) : null,
      m.decree_ref ? el("span", { class: "decree" }, t("lifecycle.decree", { ref: m.decree_ref })) : null,
      m.override ? el("span", { class: "override" }, t("zones.history_override", { reason: m.override.reason })) : null,
      m.border ? el("span", { class: "border-flag" }, borderFlag(m.border)) : null,
      m.verdict ? el("span", { class: `verdict verdict-${m.verdict}` }, t("lifecycle.screened", { verdict: t(`verdict.${m.verdict}`) })) : null));
    const consents = this.lifecycle.consents.map((c) => el("li", { class: "consent", dataset: { title: c.title_id } },
      t("lifecycle.consent", { holder: c.holder, title: c.title_id, date: c.date, doc: c.document_ref, who: c.recorded_by })));
    box.replaceChildren(
      el("ol", { class: "transitions", id: "zone-transitions" }, moves),
      el("h4", {}, t("lifecycle.consents")),
      consents.length ? el("ul", { class: "consents", id: "zone-consents" }, consents) : el("p", { class: "none" }, t("lifecycle.no_consents")),
      this.canEdit ? this.consentForm() : null);
  }

  // A holder's consent is recorded against one of the titles the zone overlaps (from its
  // screening report), with the date and the signed document's reference.
  consentForm() {
    const titles = this.report?.conflicts?.concessions || [];
    if (!titles.length) return null;
    const select = el("select", { id: "consent-title", required: true }, titles.map((c) => el("option", { value: c.id }, `${c.code || c.name || `#${c.id}`}${c.holder ? ` (${c.holder})` : ""}`)));
    const holder = el("input", { id: "consent-holder", required: true, maxlength: 2000, value: titles[0].holder || "" });
    select.addEventListener("change", () => {
      holder.value = titles.find((c) => String(c.id) === select.value)?.holder || "";
    });
    const day = el("input", { id: "consent-date", type: "date", required: true });
    const doc = el("input", { id: "consent-doc", required: true, maxlength: 2000 });
    const submit = async (e) => {
      e.preventDefault();
      try {
        await postJSON(`/layers/${ZONES}/features/${this.zone.id}/consents`, { title_id: Number(select.value), holder: holder.value.trim(), date: day.value, document_ref: doc.value.trim() });
        showMessage(t("lifecycle.consent_ok"), "notice");
        await this.loadLifecycle();
      } catch (error) {
        showError(error);
      }
    };
    return el("form", { class: "consent-form form-grid", id: "consent-form", onsubmit: submit },
      el("label", { for: "consent-title" }, t("lifecycle.title_field")), select,
      el("label", { for: "consent-holder" }, t("field.holder")), holder,
      el("label", { for: "consent-date" }, t("lifecycle.date")), day,
      el("label", { for: "consent-doc" }, t("lifecycle.document")), doc,
      el("button", { type: "submit", class: "primary", id: "consent-save" }, t("lifecycle.record_consent")));
  }

  async loadHistory() {
    const box = document.getElementById("zone-history");
    try {
      const { versions } = await getJSON(`/collections/${ZONES}/items/${this.zone.id}/history`);
      this.versions = versions;
      // The panel is narrow: who and when share a cell, and each version's name is its tooltip.
      const when = { dateStyle: "short", timeStyle: "short" };
      const locale = currentLang() === "fr" ? "fr-FR" : "en-GB";
      const rows = versions.slice().reverse().map((v) => el("tr", { dataset: { version: v.version }, title: v.name || "" },
        el("td", {}, v.version),
        el("td", { class: "change" }, label("change", v.change)),
        el("td", {}, label("status", v.properties?.status)),
        el("td", {}, el("span", { class: "by" }, v.changed_by || "—"), el("span", { class: "when" }, new Date(v.valid_from).toLocaleString(locale, when))),
        el("td", { class: "comment" }, v.comment || "",
          v.override ? el("span", { class: "override" }, t("zones.history_override", { reason: v.override.reason })) : null,
          v.border ? el("span", { class: "border-flag" }, borderFlag(v.border)) : null)));
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

  // The printable report from the server, in the interface's language: the zone's record, a
  // map with the basemap and the conflicts, the rules and the conflict tables; HTML to print
  // from the browser, or a PDF to file.
  async print(format) {
    const geometry = this.geometry();
    if (!geometry) {
      showMessage(t("zones.nothing"), "error");
      return;
    }
    try {
      const url = `/analysis/screen?format=${format}&lang=${currentLang()}`;
      const json = this.screenBody(geometry);
      if (format === "pdf") await saveResponse(await request("POST", url, { json, as: "response" }), "zone.pdf");
      else openBlob(await request("POST", url, { json, as: "blob" }));
    } catch (error) {
      showError(error);
    }
  }
}

// A zone flagged near an international border (store/zoning.py): which border, how far.
function borderFlag(border) {
  return t("lifecycle.border", {
    countries: border.borders[0].countries.join(" – "),
    km: formatNumber(border.distance_m / 1000, 1),
    limit: formatNumber(border.within_m / 1000, 0),
  });
}

// What a colleague changed between the version read and the one now stored, in words.
function describeChanges(before, after) {
  if (!before || !after) return t("zones.changed_nothing");
  const shown = (field, value) => {
    if (value === undefined || value === null || value === "") return t("zones.changed_empty");
    return Array.isArray(value) ? value.map((v) => label(field, v)).join(", ") : label(field, value);
  };
  const fields = new Set([...Object.keys(before.properties || {}), ...Object.keys(after.properties || {})]);
  const changes = [];
  for (const field of fields) {
    const was = before.properties?.[field];
    const now = after.properties?.[field];
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    changes.push(t("zones.changed_field", { field: fieldLabel(field), before: shown(field, was), after: shown(field, now) }));
  }
  if (JSON.stringify(before.geometry) !== JSON.stringify(after.geometry)) changes.push(t("zones.changed_outline"));
  return changes.join("; ") || t("zones.changed_nothing");
}

function polygonOf(latlngs) {
  const ring = latlngs.map((p) => [p.lng, p.lat]);
  ring.push(ring[0]);
  return { type: "Polygon", coordinates: [ring] };
}
