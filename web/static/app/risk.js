// Country risk and regions: a choropleth of countries by risk level for a chosen category,
// mineral and stage (GET /country-risk/choropleth; levels, labels and colours from the served
// registry), regions of several countries (the Mano River Union) zoomed to, outlined and
// reported on as one (GET /regions/{code}/summary), their diamond features flagged for the
// Kimberley Process (GET /analysis/kimberley), and a feature's country context in its popup.
import { getJSON } from "./api.js";
import { currentLang, onLanguageChange, t } from "./i18n.js";
import { COUNTRY_RISK, GREY } from "./styles.js";
import { el, showError } from "./ui.js";

const REGION_STYLE = { color: "#08306b", weight: 3, fill: false, dashArray: "6 4" };
const KIMBERLEY_STYLE = { radius: 7, color: "#00bcd4", weight: 3, fillColor: "#e0f7fa", fillOpacity: 0.9 };

// A level, category or stage in the interface's language, as the registry words it.
export function riskLabel(value) {
  return COUNTRY_RISK.labels[value]?.[currentLang()] || value;
}

function levelColour(level) {
  return COUNTRY_RISK.colours[level] || GREY;
}

function legend() {
  return el("ul", { class: "legend-items risk-legend" },
    [...COUNTRY_RISK.levels, null].map((level) => el("li", { dataset: { level: level || "none" } },
      el("span", { class: "swatch", style: `background:${levelColour(level)}` }), " ",
      level ? riskLabel(level) : t("risk.not_rated"))));
}

// Each rating on a line: "category · mineral · stage: level", with the level's colour.
function ratingsList(ratings) {
  if (!ratings.length) return el("p", { class: "hint" }, t("risk.no_ratings"));
  return el("ul", { class: "risk-ratings" }, ratings.map((r) => el("li", { dataset: { level: r.level } },
    el("span", { class: "swatch", style: `background:${levelColour(r.level)}` }), " ",
    `${riskLabel(r.category)} · ${r.mineral || t("risk.all_minerals")} · ${r.stage ? riskLabel(r.stage) : t("risk.all_stages")}: `,
    el("strong", {}, riskLabel(r.level)))));
}

// The popup's country block, asked for when the popup opens.
export function countryContextBox(layer, id) {
  const box = el("div", { class: "popup-country" }, el("p", { class: "hint" }, t("popup.loading")));
  getJSON(`/layers/${layer.slug}/features/${id}/context`).then((context) => {
    const country = context.country;
    box.replaceChildren(
      el("h4", {}, country ? t("risk.country", { name: country.name || country.iso3, iso3: country.iso3 }) : t("risk.no_country")),
      context.kimberley_process ? el("p", { class: "kimberley-flag" }, t("risk.kimberley")) : "",
      country ? ratingsList(country.ratings) : "");
  }).catch((error) => box.replaceChildren(el("p", { class: "hint" }, error.message)));
  return box;
}

export class Risk {
  constructor(map, layers) {
    this.map = map;
    this.layers = layers;
    map.createPane("risk").style.zIndex = 350; // under the data, over the basemap
    this.choropleth = null;
    this.regionOutline = null;
    this.kimberley = null;
    this.regions = [];
    this.summary = null;
    this.render();
    onLanguageChange(() => this.render());
    layers.popupExtras.push((layer, feature) => (layer.kind === "reference" ? null : countryContextBox(layer, feature.id)));
    this.load().catch(showError); // regions are public: no need to wait for the sign-in
  }

  async load() {
    this.regions = (await getJSON("/regions")).regions;
    this.render();
  }

  values() {
    const box = document.getElementById("risk-panel");
    const read = (sel) => box.querySelector(sel)?.value ?? "";
    return { category: read("#risk-category") || COUNTRY_RISK.categories[0], mineral: read("#risk-mineral"),
      stage: read("#risk-stage"), region: read("#risk-region"), shown: box.querySelector("#risk-show")?.checked || false };
  }

  render() {
    const box = document.getElementById("risk-panel");
    if (!box) return;
    const was = box.childElementCount ? this.values() : { category: COUNTRY_RISK.categories[0], mineral: "", stage: "", region: "", shown: false };
    const options = (values, chosen, all) => [
      ...(all ? [el("option", { value: "" }, all)] : []),
      ...values.map((v) => el("option", { value: v, selected: v === chosen }, riskLabel(v)))];
    const regionName = (r) => (currentLang() === "fr" ? r.name_fr : r.name_en);
    box.replaceChildren(
      el("div", { class: "form-grid" },
        el("label", { for: "risk-category" }, t("risk.category")), el("select", { id: "risk-category", onchange: () => this.refresh() }, options(COUNTRY_RISK.categories, was.category)),
        el("label", { for: "risk-mineral" }, t("risk.mineral")), el("input", { id: "risk-mineral", value: was.mineral, placeholder: t("risk.mineral_example"), onchange: () => this.refresh() }),
        el("label", { for: "risk-stage" }, t("risk.stage")), el("select", { id: "risk-stage", onchange: () => this.refresh() }, options(COUNTRY_RISK.stages, was.stage, t("risk.all"))),
        el("label", { for: "risk-region" }, t("risk.region")), el("select", { id: "risk-region", onchange: () => this.chooseRegion() },
          el("option", { value: "" }, t("risk.no_region")),
          this.regions.map((r) => el("option", { value: r.code, selected: r.code === was.region }, `${regionName(r)} (${r.code})`)))),
      el("label", { class: "check" }, el("input", { type: "checkbox", id: "risk-show", checked: was.shown, onchange: () => this.refresh() }), " ", t("risk.show")),
      el("h4", {}, t("risk.legend")), legend(),
      el("div", { id: "risk-summary" }));
    this.renderSummary();
  }

  query(values) {
    const params = new URLSearchParams({ category: values.category });
    if (values.mineral.trim()) params.set("mineral", values.mineral.trim());
    if (values.stage) params.set("stage", values.stage);
    if (values.region) params.set("region", values.region);
    return params;
  }

  async refresh() {
    const values = this.values();
    this.renderSummary();
    if (this.choropleth) this.choropleth.remove();
    this.choropleth = null;
    if (!values.shown) return;
    try {
      const countries = await getJSON(`/country-risk/choropleth?${this.query(values)}`);
      this.choropleth = L.geoJSON(countries, {
        pane: "risk",
        style: (f) => ({ color: "#636363", weight: 1, fillColor: levelColour(f.properties.level), fillOpacity: 0.6 }),
        onEachFeature: (f, shape) => shape.bindTooltip(`${f.properties.name} (${f.id}): ${f.properties.level ? riskLabel(f.properties.level) : t("risk.not_rated")}`),
      }).addTo(this.map);
      for (const shape of this.choropleth.getLayers()) shape.getElement()?.setAttribute("data-iso3", shape.feature.id);
    } catch (error) {
      showError(error);
    }
  }

  // A region chosen: zoomed to and outlined, the choropleth kept to its members, its summary
  // shown and its Kimberley Process features marked.
  async chooseRegion() {
    const { region } = this.values();
    for (const drawn of [this.regionOutline, this.kimberley]) drawn?.remove();
    this.regionOutline = this.kimberley = this.summary = null;
    try {
      if (region) {
        const [shape, summary, diamonds] = await Promise.all([
          getJSON(`/regions/${region}`), getJSON(`/regions/${region}/summary`), getJSON(`/analysis/kimberley?region=${region}`)]);
        this.summary = summary;
        if (shape.geometry) this.regionOutline = L.geoJSON(shape.geometry, { pane: "risk", style: REGION_STYLE, interactive: false }).addTo(this.map);
        this.kimberley = L.geoJSON(diamonds, {
          pointToLayer: (f, latlng) => L.circleMarker(latlng, KIMBERLEY_STYLE),
          style: () => ({ color: KIMBERLEY_STYLE.color, weight: 4, dashArray: "2 6" }),
          onEachFeature: (f, drawn) => drawn.bindTooltip(`${f.properties.name || `#${f.id}`}: ${t("risk.kimberley")}`),
        }).addTo(this.map);
        if (shape.bbox) this.map.fitBounds([[shape.bbox[1], shape.bbox[0]], [shape.bbox[3], shape.bbox[2]]]);
      }
      this.renderSummary();
      await this.refresh();
    } catch (error) {
      showError(error);
    }
  }

  renderSummary() {
    const box = document.getElementById("risk-summary");
    if (!box) return;
    const s = this.summary;
    if (!s) {
      box.replaceChildren();
      return;
    }
    const counts = Object.entries(s.counts).map(([name, n]) => el("tr", { dataset: { count: name } }, el("th", {}, t(`risk.count.${name}`)), el("td", {}, n)));
    const { category } = this.values();
    const members = s.members.map((iso3) => {
      const rated = s.risk[iso3].filter((r) => r.category === category && !r.mineral && !r.stage)[0];
      return el("tr", { dataset: { iso3 } }, el("th", {}, iso3), el("td", {}, rated ? riskLabel(rated.level) : t("risk.not_rated")));
    });
    box.replaceChildren(
      el("h4", {}, currentLang() === "fr" ? s.name_fr : s.name_en),
      el("table", { class: "risk-counts" }, el("tbody", {}, counts)),
      el("h4", {}, t("risk.members", { category: riskLabel(category) })),
      el("table", { class: "risk-members" }, el("tbody", {}, members)));
  }
}
