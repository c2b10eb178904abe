// Researcher tools: import a file as a layer (drag and drop or file picker) with its report,
// and overlap or proximity between two layers as a sortable table, on the map and as downloads.
import { request } from "./api.js";
import { t, label, formatNumber, currentLang, onLanguageChange } from "./i18n.js";
import { el, showError, showMessage, saveBlob, openBlob, saveResponse } from "./ui.js";
import { layerTitle } from "./popup.js";
import { MappingEditor } from "./mapping.js";
import { KIND_ORDER } from "./styles.js";

// What an upload may be: a reference layer first (most files are), then the registry's kinds.
const KINDS = ["reference", ...KIND_ORDER.filter((kind) => kind !== "reference")];
const SIDES = ["source", "target"];
// Each result on the map has a colour of its own, none of the layers' (styles.js): every one is
// at least 40 CIELAB ΔE from every layer colour, so a result never reads as a layer. As many
// results stay on the map as there are colours; a new one beyond that replaces the oldest.
export const RESULT_COLOURS = ["#ff00ff", "#0000ff", "#00ff00", "#99cc00"];
const HOVER = { weight: 5, fillOpacity: 0.55 };
const SELECTED = { color: "#111111", weight: 4, opacity: 1, fillOpacity: 0.6 };
// The selected pair's own features, outlined in their layers (never filled: a line would be
// filled across its hull).
const FEATURE_HIGHLIGHT = { color: "#111111", weight: 3, opacity: 1, fill: false, radius: 8 };

function resultStyle(colour) {
  return { color: colour, fillColor: colour, weight: 3, opacity: 0.9, fillOpacity: 0.35 };
}

// A row's key: its pair of feature ids, the same in the JSON rows and the GeoJSON properties.
function rowKey(row) {
  return `${row.source?.id ?? ""}:${row.target?.id ?? ""}`;
}

function featureKey(properties) {
  return `${properties.source_id ?? ""}:${properties.target_id ?? ""}`;
}

const blank = (value) => value === null || value === undefined || value === "";

// Table order: numbers as numbers, text as a reader sorts it ("PE-9" before "PE-10", accents
// aside), empty cells last whichever the direction.
function compareCells(a, b, direction, collator) {
  if (blank(a) || blank(b)) return blank(a) - blank(b);
  let order;
  if (typeof a === "number" && typeof b === "number") order = a - b;
  else if (typeof a === "number" || typeof b === "number") order = typeof a === "number" ? -1 : 1;
  else order = collator.compare(String(a), String(b));
  return direction === "descending" ? -order : order;
}

export function slugify(filename) {
  const stem = filename.replace(/\.(geo)?json$|\.[^.]+$/i, "");
  const slug = stem.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return slug.slice(0, 60) || "layer";
}

export class Research {
  constructor(map, layers, config) {
    this.map = map;
    this.layers = layers;
    this.maxBytes = config.max_upload_mb * 1024 * 1024;
    this.visibilities = config.visibilities;
    this.file = null;
    this.lastImport = null;
    this.runs = [];
    this.current = null; // the run whose table is shown
    this.selected = null; // { run, key } of the row chosen in the table or on the map
    this.showAttributes = false;
    this.results = L.featureGroup().addTo(map);
    this.bindUpload();
    this.bindAnalysis();
    layers.addEventListener("change", () => this.fillLayerSelects());
    onLanguageChange(() => {
      this.fillKinds();
      this.fillVisibilities();
      this.fillLayerSelects();
      this.renderImport();
      this.renderAnalysis();
      if (this.mapping.report) this.preview(); // the server says its messages in the new language
    });
    this.fillKinds();
    this.fillVisibilities();
  }

  fillKinds() {
    const select = document.getElementById("upload-kind");
    const current = select.value || "reference";
    select.replaceChildren(...KINDS.map((kind) => el("option", { value: kind, selected: kind === current }, t(`kind.${kind}`))));
  }

  // A new layer is private unless its importer says otherwise: a draft of a researcher's data
  // is not published by accident.
  fillVisibilities() {
    const select = document.getElementById("upload-visibility");
    const current = select.value || "private";
    select.replaceChildren(...this.visibilities.map((value) => el("option", { value, selected: value === current }, label("visibility", value))));
    document.getElementById("upload-visibility-hint").textContent = t(`layers.seen_by.${select.value}`);
  }

  fillLayerSelects() {
    for (const [id, fallback] of [["analysis-source", "mine-sites"], ["analysis-target", "protected-areas"]]) {
      const select = document.getElementById(id);
      const current = select.value || fallback;
      const vectors = this.layers.layers.filter((layer) => layer.storage !== "raster");
      select.replaceChildren(...vectors.map((layer) => el("option", { value: layer.slug, selected: layer.slug === current }, layerTitle(layer))));
    }
    for (const side of SIDES) this.fillLabelSelect(side);
  }

  // The attributes a side's features may be named by, from the layer's description (GET /layers
  // lists them, as GET /layers/{slug} does): no request of its own. "" lets the server choose.
  fillLabelSelect(side) {
    const select = document.getElementById(`analysis-${side}-label`);
    const layer = this.layers.bySlug(document.getElementById(`analysis-${side}`).value);
    const collator = new Intl.Collator(currentLang(), { numeric: true, sensitivity: "base" });
    const names = Object.keys(layer?.attributes || {}).sort(collator.compare);
    const current = names.includes(select.value) ? select.value : "";
    select.replaceChildren(
      el("option", { value: "", selected: current === "" }, t("research.label_auto")),
      ...names.map((name) => el("option", { value: name, selected: name === current }, name)));
  }

  bindUpload() {
    const zone = document.getElementById("drop-zone");
    const input = document.getElementById("upload-file");
    for (const type of ["dragenter", "dragover"]) {
      zone.addEventListener(type, (e) => {
        e.preventDefault();
        zone.classList.add("over");
      });
    }
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      if (e.dataTransfer.files.length) this.choose(e.dataTransfer.files[0]);
    });
    input.addEventListener("change", () => input.files.length && this.choose(input.files[0]));
    document.getElementById("upload-go").addEventListener("click", () => this.upload());
    document.getElementById("upload-visibility").addEventListener("change", () => this.fillVisibilities());
    // What the page has no place for: a preview of the file's fields, the mapping it leads to,
    // and the choice of a table when the file holds several.
    const go = document.getElementById("upload-go");
    go.before(el("button", { type: "button", id: "upload-preview", disabled: true, dataset: { i18n: "upload.preview" }, onclick: () => this.preview() }, t("upload.preview")));
    this.tables = el("div", { id: "upload-tables", class: "form-grid", hidden: true });
    go.parentElement.before(this.tables);
    this.mapping = new MappingEditor(() => this.preview());
    document.getElementById("upload-report").before(this.mapping.box);
    document.getElementById("upload-kind").addEventListener("change", () => this.mapping.report && this.preview(false));
    // FlatGeobuf and GeoParquet are read too (the page's picker lists the formats it knew).
    for (const suffix of [".kml", ".fgb", ".parquet"]) if (!input.accept.includes(suffix)) input.accept += `,${suffix}`;
  }

  // The tables a file holds, when the server asked which one: a choice, or each as its own layer.
  showTables(tables) {
    const select = el("select", { id: "upload-table" }, tables.map((name) => el("option", { value: name }, name)));
    const each = el("input", { type: "checkbox", id: "upload-each-table" });
    each.addEventListener("change", () => { select.disabled = each.checked; });
    this.tables.replaceChildren(
      el("label", { for: "upload-table" }, t("upload.table")), select,
      el("label", { for: "upload-each-table" }, t("upload.each_table")), each);
    this.tables.hidden = false;
  }

  // The import's form: the file and the panel's choices; `mapping` (the editor's) when shown.
  form(withMapping = true) {
    const form = new FormData();
    form.append("file", this.file, this.file.name);
    form.append("kind", document.getElementById("upload-kind").value);
    form.append("visibility", document.getElementById("upload-visibility").value);
    if (!this.tables.hidden) {
      if (document.getElementById("upload-each-table").checked) form.append("each_table", "true");
      else form.append("table", document.getElementById("upload-table").value);
    }
    const mapping = withMapping ? this.mapping.mapping() : null;
    if (mapping) form.append("mapping", JSON.stringify(mapping));
    return form;
  }

  // Ask the server what the file's fields become (the mapping shown so far, unless `keep` is
  // false: a new kind has other fields), and show it.
  async preview(keep = true) {
    if (!this.file) return;
    const slug = document.getElementById("upload-slug").value.trim();
    const button = document.getElementById("upload-preview");
    button.classList.add("busy");
    try {
      const report = await request("POST", `/layers/${encodeURIComponent(slug)}/import/preview`, { form: this.form(keep) });
      this.mapping.show(report.layers ? report.layers[0] : report);
    } catch (error) {
      if (error.problem?.tables) this.showTables(error.problem.tables);
      showError(error);
    } finally {
      button.classList.remove("busy");
    }
  }

  choose(file) {
    this.file = file;
    this.mapping.clear();
    this.tables.hidden = true;
    this.tables.replaceChildren();
    document.getElementById("upload-preview").disabled = false;
    document.getElementById("upload-file-name").textContent = t("upload.file", { name: file.name, kb: formatNumber(file.size / 1024, 1) });
    const slug = document.getElementById("upload-slug");
    slug.value = slugify(file.name);
    document.getElementById("upload-go").disabled = false;
  }

  async upload() {
    if (!this.file) {
      showMessage(t("upload.no_file"), "error");
      return;
    }
    if (this.file.size > this.maxBytes) {
      showMessage(t("upload.too_large", { mb: this.maxBytes / 1048576 }), "error");
      return;
    }
    const slug = document.getElementById("upload-slug").value.trim();
    const form = this.form();
    const button = document.getElementById("upload-go");
    button.disabled = true;
    button.classList.add("busy");
    try {
      this.lastImport = await request("POST", `/layers/${encodeURIComponent(slug)}/import`, { form });
      this.renderImport();
      await this.layers.load();
      const first = this.lastImport.layers ? this.lastImport.layers[0] : this.lastImport;
      const layer = this.layers.bySlug(first?.layer?.slug || first?.layer || slug);
      if (layer) {
        this.layers.setVisible(layer.slug, true);
        this.layers.renderPanel();
        this.layers.zoomTo(layer);
      }
    } catch (error) {
      if (error.problem?.tables) this.showTables(error.problem.tables);
      showError(error);
    } finally {
      button.disabled = false;
      button.classList.remove("busy");
    }
  }

  renderImport() {
    const box = document.getElementById("upload-report");
    const report = this.lastImport;
    if (!report) return;
    const list = (items, key) => items?.length
      ? [el("h4", {}, t(key, { n: items.length })), el("ul", {}, items.map((item) => el("li", {}, `#${item.index}: ${item.reason}`)))]
      : [];
    // One summary per layer the file went into (several when each of its tables has its own).
    box.replaceChildren(...(report.layers || [report]).flatMap((part) => [
      el("p", { class: "import-summary" }, t("upload.imported", { n: part.imported, layer: part.layer?.slug || part.layer })),
      ...list(part.repaired, "upload.repaired"),
      ...list(part.rejected, "upload.rejected")]));
  }

  bindAnalysis() {
    const type = document.getElementById("analysis-type");
    const sync = () => {
      for (const id of ["within-row", "within-row-label"]) document.getElementById(id).hidden = type.value !== "proximity";
    };
    type.addEventListener("change", sync);
    sync();
    // A label choice per side, under the side's layer (the page has a place for neither).
    for (const side of SIDES) {
      const layerSelect = document.getElementById(`analysis-${side}`);
      const id = `analysis-${side}-label`;
      layerSelect.after(
        el("label", { for: id, dataset: { i18n: `research.${side}_label` } }, t(`research.${side}_label`)),
        el("select", { id }));
      layerSelect.addEventListener("change", () => this.fillLabelSelect(side));
    }
    document.getElementById("analysis-table").before(el("ul", { id: "analysis-runs", class: "analysis-runs", hidden: true }));
    document.getElementById("analysis-run").addEventListener("click", () => this.run());
    for (const format of ["csv", "geojson", "html", "pdf"]) {
      document.getElementById(`analysis-${format}`).addEventListener("click", () => this.download(format));
    }
  }

  analysisRequest() {
    const type = document.getElementById("analysis-type").value;
    const body = {
      source: document.getElementById("analysis-source").value,
      target: document.getElementById("analysis-target").value,
    };
    for (const side of SIDES) {
      const field = document.getElementById(`analysis-${side}-label`).value;
      if (field) body[`${side}_label`] = field;
    }
    if (type === "proximity") {
      const within = document.getElementById("analysis-within").value;
      if (within) body.within_m = Number(within);
    }
    return { type, body };
  }

  // The table's rows carry every attribute of both sides (for its attribute columns); the map's
  // GeoJSON only the ids and figures that tie a shape to its row.
  async run() {
    const { type, body } = this.analysisRequest();
    const button = document.getElementById("analysis-run");
    button.classList.add("busy");
    try {
      const [result, geojson] = await Promise.all([
        request("POST", `/analysis/${type}`, { json: { ...body, source_fields: "*", target_fields: "*" } }),
        request("POST", `/analysis/${type}?format=geojson`, { json: body }),
      ]);
      const run = this.addRun(type, body, result, geojson);
      this.show(run);
      const bounds = run.shapes.getBounds();
      if (bounds.isValid()) this.map.fitBounds(bounds, { maxZoom: 11, padding: [40, 40] });
    } catch (error) {
      showError(error);
    } finally {
      button.classList.remove("busy");
    }
  }

  addRun(type, body, result, geojson) {
    if (this.runs.length >= RESULT_COLOURS.length) this.removeRun(this.runs[0], false);
    const colour = RESULT_COLOURS.find((c) => !this.runs.some((r) => r.colour === c));
    const titleOf = (slug) => {
      const layer = this.layers.bySlug(slug);
      return layer ? layerTitle(layer) : slug;
    };
    const run = { type, body, result, colour, shapes: null, byKey: new Map(), sort: null, titles: { source: titleOf(body.source), target: titleOf(body.target) } };
    const style = resultStyle(colour);
    run.shapes = L.geoJSON(geojson, {
      style: () => style,
      pmIgnore: true,
      pointToLayer: (feature, latlng) => L.circleMarker(latlng, { ...style, radius: 7, pmIgnore: true }),
      onEachFeature: (feature, shape) => {
        const key = featureKey(feature.properties);
        run.byKey.set(key, shape);
        shape.on("click", (e) => {
          L.DomEvent.stopPropagation(e);
          this.show(run);
          this.select(run, key, { zoom: false, scroll: true });
        });
        shape.on("mouseover", () => this.hover(run, key, true));
        shape.on("mouseout", () => this.hover(run, key, false));
      },
    });
    this.results.addLayer(run.shapes);
    this.runs.push(run);
    return run;
  }

  removeRun(run, render = true) {
    if (this.selected?.run === run) this.unselect();
    this.results.removeLayer(run.shapes);
    this.runs = this.runs.filter((r) => r !== run);
    if (this.current === run) this.current = this.runs.at(-1) || null;
    if (render) this.renderAnalysis();
  }

  show(run) {
    if (this.current === run) return;
    this.current = run;
    this.renderAnalysis();
  }

  // The table's columns for a run: both sides by their labels, the figures, then (when asked
  // for) every carried attribute. `value` sorts, `text` is shown.
  columns(run) {
    const { type, result } = run;
    const lang = currentLang() === "fr" ? "fr-FR" : "en-GB";
    const plain = new Intl.NumberFormat(lang, { useGrouping: false, maximumFractionDigits: 10 });
    const side = (name) => {
      const field = result[`${name}_label`];
      return {
        id: name,
        head: field || run.titles[name],
        title: field ? `${run.titles[name]}: ${field}` : run.titles[name],
        value: (row) => row[name]?.name ?? null,
        text: (row) => (row[name] ? row[name].name ?? `#${row[name].id}` : ""),
      };
    };
    const figure = (id, head, digits) => ({
      id, head, numeric: true,
      value: (row) => row[id] ?? null,
      text: (row) => (row[id] == null ? "" : formatNumber(row[id], digits)),
    });
    const columns = [side("source"), side("target")];
    if (type === "overlap") {
      columns.push({
        ...figure("overlap_ha", t("analysis.overlap_ha"), 2),
        text: (row) => (row.inside !== undefined ? (row.inside ? t("analysis.inside") : "") : formatNumber(row.overlap_ha, 2)),
      }, figure("source_pct", t("analysis.source_pct"), 1), figure("target_pct", t("analysis.target_pct"), 1));
    } else {
      columns.push(figure("distance_m", t("analysis.distance_m"), 0));
    }
    if (!this.showAttributes) return columns;
    for (const name of SIDES) {
      for (const field of result[`${name}_fields`] || []) {
        const valueOf = (row) => row[name]?.properties?.[field] ?? null;
        columns.push({
          id: `${name}.${field}`,
          head: t("research.side_field", { field, side: t(`research.${name}`) }),
          numeric: false,
          value: valueOf,
          text: (row) => {
            const value = valueOf(row);
            if (typeof value === "number") return plain.format(value);
            return value !== null && typeof value === "object" ? JSON.stringify(value) : value ?? "";
          },
        });
      }
    }
    return columns;
  }

  sortBy(run, id) {
    const same = run.sort?.id === id;
    run.sort = { id, direction: same && run.sort.direction === "ascending" ? "descending" : "ascending" };
    this.renderAnalysis();
  }

  sortedRows(run, columns) {
    const rows = (run.result.rows || []).map((row, index) => ({ row, index, key: rowKey(row) }));
    const column = run.sort && columns.find((c) => c.id === run.sort.id);
    if (!column) return rows;
    const collator = new Intl.Collator(currentLang(), { numeric: true, sensitivity: "base" });
    return rows.sort((a, b) => compareCells(column.value(a.row), column.value(b.row), run.sort.direction, collator) || a.index - b.index);
  }

  renderRuns() {
    const list = document.getElementById("analysis-runs");
    list.hidden = this.runs.length < 2;
    list.replaceChildren(...this.runs.map((run) => {
      const { source, target } = run.titles;
      const name = t(`research.run_${run.type}`, { source, target, n: run.result.rows?.length ?? 0 });
      return el("li", { class: run === this.current ? "current" : null },
        el("button", { type: "button", class: "run-show", "aria-pressed": String(run === this.current), onclick: () => this.show(run) },
          el("span", { class: "swatch", style: `background:${run.colour}` }), name),
        el("button", { type: "button", class: "icon run-remove", title: t("research.remove"), "aria-label": t("research.remove"), onclick: () => this.removeRun(run) }, "×"));
    }));
  }

  renderAnalysis() {
    this.renderRuns();
    const box = document.getElementById("analysis-table");
    const run = this.current;
    document.getElementById("analysis-downloads").hidden = !run;
    if (!run) {
      box.replaceChildren();
      return;
    }
    const { type, result } = run;
    const rows = result.rows || [];
    const columns = this.columns(run);
    const summary = type === "overlap" && result.total_overlap_ha != null
      ? t("analysis.total", { n: rows.length, ha: formatNumber(result.total_overlap_ha, 2) })
      : t("analysis.count", { n: rows.length });
    const toggle = el("label", { class: "analysis-attributes" },
      el("input", { type: "checkbox", id: "analysis-attributes", checked: this.showAttributes, onchange: (e) => {
        this.showAttributes = e.target.checked;
        this.renderAnalysis();
      } }), t("research.attributes"));
    const heads = columns.map((column) => {
      const sorted = run.sort?.id === column.id ? run.sort.direction : null;
      return el("th", { scope: "col", "aria-sort": sorted, class: column.numeric ? "num" : null, title: column.title, dataset: { column: column.id } },
        el("button", { type: "button", class: "sort", title: t("research.sort", { column: column.head }), onclick: () => this.sortBy(run, column.id) }, column.head));
    });
    const body = this.sortedRows(run, columns).map(({ row, key }) => {
      const selected = this.selected?.run === run && this.selected.key === key;
      return el("tr", {
        tabindex: 0,
        class: selected ? "selected" : null,
        "aria-selected": String(selected),
        dataset: { key },
        onclick: () => this.select(run, key),
        onkeydown: (e) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            this.select(run, key);
          }
        },
        onmouseenter: () => this.hover(run, key, true),
        onmouseleave: () => this.hover(run, key, false),
      }, columns.map((column) => el("td", { class: column.numeric ? "num" : null }, column.text(row))));
    });
    box.replaceChildren(
      el("p", { class: "analysis-summary" }, el("span", { class: "swatch", style: `background:${run.colour}` }), summary),
      el("div", { class: "analysis-tools" }, toggle, rows.length ? el("span", { class: "hint" }, t("research.row_hint")) : null),
      el("div", { class: "table-wrap" }, el("table", { class: "results", dataset: { type } },
        el("thead", {}, el("tr", {}, heads)),
        el("tbody", {}, body))));
  }

  rowElement(key) {
    return document.querySelector(`#analysis-table tr[data-key="${CSS.escape(key)}"]`);
  }

  restyle(run, key) {
    const shape = run.byKey.get(key);
    if (!shape) return;
    const selected = this.selected?.run === run && this.selected.key === key;
    shape.setStyle({ ...resultStyle(run.colour), ...(selected ? SELECTED : {}), ...(shape.hovered ? HOVER : {}) });
    if (selected || shape.hovered) shape.bringToFront();
  }

  hover(run, key, on) {
    const shape = run.byKey.get(key);
    if (shape) {
      shape.hovered = on;
      this.restyle(run, key);
    }
    if (run === this.current) this.rowElement(key)?.classList.toggle("hover", on);
  }

  // The pair's own features, outlined in their layers' vector tiles (when those are shown).
  outlineFeatures(run, key, on) {
    const row = (run.result.rows || []).find((r) => rowKey(r) === key);
    if (!row) return;
    for (const side of SIDES) {
      const overlay = this.layers.overlays[run.body[side]];
      if (!row[side] || !overlay?.setFeatureStyle) continue;
      if (on) overlay.setFeatureStyle(row[side].id, FEATURE_HIGHLIGHT);
      else overlay.resetFeatureStyle(row[side].id);
    }
  }

  unselect() {
    const previous = this.selected;
    if (!previous) return;
    this.selected = null;
    this.restyle(previous.run, previous.key);
    this.outlineFeatures(previous.run, previous.key, false);
    const tr = previous.run === this.current ? this.rowElement(previous.key) : null;
    tr?.classList.remove("selected");
    tr?.setAttribute("aria-selected", "false");
  }

  // A row chosen in the table (or its shape on the map): highlighted in both, the map zoomed to
  // the pair's shape (the overlap itself, or the shortest line between the two).
  select(run, key, { zoom = true, scroll = false } = {}) {
    this.unselect();
    this.selected = { run, key };
    this.restyle(run, key);
    this.outlineFeatures(run, key, true);
    const tr = run === this.current ? this.rowElement(key) : null;
    tr?.classList.add("selected");
    tr?.setAttribute("aria-selected", "true");
    if (scroll) tr?.scrollIntoView({ block: "nearest" });
    const shape = run.byKey.get(key);
    if (!zoom || !shape) return;
    const bounds = shape.getLatLng ? L.latLngBounds([shape.getLatLng()]) : shape.getBounds();
    if (bounds.isValid()) this.map.fitBounds(bounds, { maxZoom: 15, padding: [60, 60] });
  }

  // Downloads carry every attribute of both sides next to the labels, to be joined back.
  async download(format) {
    if (!this.current) return;
    const { type, body } = this.current;
    const report = format === "html" || format === "pdf";
    const json = report ? body : { ...body, source_fields: "*", target_fields: "*" };
    const url = `/analysis/${type}?format=${format}&lang=${currentLang()}`;
    try {
      const name = `${type}-${body.source}-${body.target}.${format}`;
      if (format === "pdf") await saveResponse(await request("POST", url, { json, as: "response" }), name);
      else if (format === "html") openBlob(await request("POST", url, { json, as: "blob" }));
      else saveBlob(await request("POST", url, { json, as: "blob" }), name);
    } catch (error) {
      showError(error);
    }
  }
}
