// Researcher tools: import a file as a layer (drag and drop or file picker) with its report,
// and overlap or proximity between two layers as a table, on the map and as downloads.
import { request } from "./api.js";
import { t, label, formatNumber, onLanguageChange } from "./i18n.js";
import { el, showError, showMessage, saveBlob, openBlob } from "./ui.js";

const KINDS = ["reference", "mine_site", "concession", "tailings_facility", "abandoned_mine", "asm_zone"];
const RESULT_STYLE = { color: "#ff00aa", weight: 3, fillOpacity: 0.35, pmIgnore: true };

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
    this.lastAnalysis = null;
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
      select.replaceChildren(...vectors.map((layer) => el("option", { value: layer.slug, selected: layer.slug === current }, layer.title)));
    }
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
  }

  choose(file) {
    this.file = file;
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
    const form = new FormData();
    form.append("file", this.file, this.file.name);
    form.append("kind", document.getElementById("upload-kind").value);
    form.append("visibility", document.getElementById("upload-visibility").value);
    const button = document.getElementById("upload-go");
    button.disabled = true;
    button.classList.add("busy");
    try {
      this.lastImport = await request("POST", `/layers/${encodeURIComponent(slug)}/import`, { form });
      this.renderImport();
      await this.layers.load();
      const layer = this.layers.bySlug(this.lastImport.layer?.slug || this.lastImport.layer || slug);
      if (layer) {
        this.layers.setVisible(layer.slug, true);
        this.layers.renderPanel();
        this.layers.zoomTo(layer);
      }
    } catch (error) {
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
    const slug = report.layer?.slug || report.layer;
    const list = (items, key) => items?.length
      ? [el("h4", {}, t(key, { n: items.length })), el("ul", {}, items.map((item) => el("li", {}, `#${item.index}: ${item.reason}`)))]
      : [];
    box.replaceChildren(
      el("p", { class: "import-summary" }, t("upload.imported", { n: report.imported, layer: slug })),
      ...list(report.repaired, "upload.repaired"),
      ...list(report.rejected, "upload.rejected"));
  }

  bindAnalysis() {
    const type = document.getElementById("analysis-type");
    const sync = () => {
      for (const id of ["within-row", "within-row-label"]) document.getElementById(id).hidden = type.value !== "proximity";
    };
    type.addEventListener("change", sync);
    sync();
    document.getElementById("analysis-run").addEventListener("click", () => this.run());
    for (const format of ["csv", "geojson", "html"]) {
      document.getElementById(`analysis-${format}`).addEventListener("click", () => this.download(format));
    }
  }

  analysisRequest() {
    const type = document.getElementById("analysis-type").value;
    const body = {
      source: document.getElementById("analysis-source").value,
      target: document.getElementById("analysis-target").value,
    };
    if (type === "proximity") {
      const within = document.getElementById("analysis-within").value;
      if (within) body.within_m = Number(within);
    }
    return { type, body };
  }

  async run() {
    const { type, body } = this.analysisRequest();
    const button = document.getElementById("analysis-run");
    button.classList.add("busy");
    try {
      const [result, geojson] = await Promise.all([
        request("POST", `/analysis/${type}`, { json: body }),
        request("POST", `/analysis/${type}?format=geojson`, { json: body }),
      ]);
      this.lastAnalysis = { type, body, result };
      this.renderAnalysis();
      this.results.clearLayers();
      const shapes = L.geoJSON(geojson, {
        style: RESULT_STYLE,
        pmIgnore: true,
        pointToLayer: (feature, latlng) => L.circleMarker(latlng, { ...RESULT_STYLE, radius: 7 }),
      });
      this.results.addLayer(shapes);
      if (shapes.getLayers().length) this.map.fitBounds(shapes.getBounds(), { maxZoom: 11, padding: [40, 40] });
    } catch (error) {
      showError(error);
    } finally {
      button.classList.remove("busy");
    }
  }

  renderAnalysis() {
    const box = document.getElementById("analysis-table");
    const last = this.lastAnalysis;
    if (!last) return;
    const { type, result } = last;
    const rows = result.rows || [];
    const heads = type === "overlap"
      ? ["analysis.source", "analysis.target", "analysis.overlap_ha", "analysis.source_pct", "analysis.target_pct"]
      : ["analysis.source", "analysis.target", "analysis.distance_m"];
    const cells = (row) => type === "overlap"
      ? [row.source.name, row.target.name, row.inside ? t("analysis.inside") : formatNumber(row.overlap_ha, 2), row.source_pct == null ? "" : formatNumber(row.source_pct, 1), row.target_pct == null ? "" : formatNumber(row.target_pct, 1)]
      : [row.source.name, row.target.name, formatNumber(row.distance_m, 0)];
    const summary = type === "overlap" && result.total_overlap_ha != null
      ? t("analysis.total", { n: rows.length, ha: formatNumber(result.total_overlap_ha, 2) })
      : t("analysis.count", { n: rows.length });
    box.replaceChildren(
      el("p", { class: "analysis-summary" }, summary),
      el("div", { class: "table-wrap" }, el("table", { class: "results" },
        el("thead", {}, el("tr", {}, heads.map((k) => el("th", {}, t(k))))),
        el("tbody", {}, rows.map((row) => el("tr", {}, cells(row).map((c) => el("td", {}, c ?? ""))))))));
    document.getElementById("analysis-downloads").hidden = false;
  }

  async download(format) {
    if (!this.lastAnalysis) return;
    const { type, body } = this.lastAnalysis;
    try {
      const blob = await request("POST", `/analysis/${type}?format=${format}`, { json: body, as: "blob" });
      if (format === "html") openBlob(blob);
      else saveBlob(blob, `${type}-${body.source}-${body.target}.${format}`);
    } catch (error) {
      showError(error);
    }
  }
}

