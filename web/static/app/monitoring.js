// Site monitoring on the map (issue 18): a layer's sites coloured by their qualification as of a
// chosen day (GET /monitoring/sites), the incidents that had occurred by then as markers, the
// unverified ones hollow and dashed (GET /monitoring/incidents?f=geojson&as_of=), and in a
// site's popup its status, its incident counts and its visits with their photos' thumbnails.
// The register is read with a viewer key; the same box joins the popups of mine-site layers.
import { accessKey, getJSON, request } from "./api.js";
import { currentLang, formatNumber, label, onLanguageChange, t } from "./i18n.js";
import { GREY, STYLE_BY_KIND } from "./styles.js";
import { el, showError } from "./ui.js";

const SITE_KIND = "mine_site";
const QUALIFICATIONS = ["green", "yellow", "red", "not_assessed"];
const SEVERITY_COLOURS = { low: "#fdd49e", medium: "#fc8d59", high: "#d7301f", critical: "#7f0000" };
const PHOTOS_SHOWN = 4; // thumbnails per popup: a few kilobytes each on a slow line

function today() {
  return new Date().toISOString().slice(0, 10);
}

export function qualificationColour(value) {
  return STYLE_BY_KIND[SITE_KIND]?.colours[value] || GREY;
}

function formatDay(day) {
  if (!day) return "—";
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(currentLang() === "fr" ? "fr-FR" : "en-GB", { timeZone: "UTC" });
}

// A thumbnail read with the signed-in key (an <img> cannot send it): the key stays out of URLs.
function thumbnail(photo) {
  const link = el("a", { href: "#", class: "monitoring-photo", dataset: { photo: photo.id }, title: t("monitoring.photo_open") });
  request("GET", photo.thumbnail_url, { as: "blob" }).then((blob) => {
    link.append(el("img", { src: URL.createObjectURL(blob), alt: t("monitoring.photo_alt", { id: photo.id }), width: 96 }));
  }).catch(() => link.append(t("monitoring.photo_missing")));
  link.addEventListener("click", async (e) => {
    e.preventDefault();
    const blob = await request("GET", photo.url, { as: "blob" }).catch(showError);
    if (blob) window.open(URL.createObjectURL(blob), "_blank", "noopener");
  });
  return link;
}

function visitRow(visit) {
  const counts = [
    visit.workers != null ? t("monitoring.workers", { n: visit.workers }) : null,
    visit.women != null ? t("monitoring.women", { n: visit.women }) : null,
    visit.children != null ? t("monitoring.children", { n: visit.children }) : null,
  ].filter(Boolean).join(" · ");
  const photos = visit.photos.slice(-PHOTOS_SHOWN);
  return el("li", { dataset: { visit: visit.id } },
    el("strong", {}, formatDay(visit.visited_on)), visit.team ? ` · ${visit.team}` : "",
    counts ? el("div", { class: "hint" }, counts) : "",
    visit.methods?.length ? el("div", { class: "hint" }, visit.methods.map((m) => t(`monitoring.method.${m}`)).join(", ")) : "",
    photos.length ? el("div", { class: "monitoring-photos" }, photos.map(thumbnail)) : "");
}

// The monitoring box of a site's popup: its status as of `asOf`, then its visits by then.
export function siteBox(slug, id, asOf = today()) {
  const box = el("div", { class: "popup-monitoring", dataset: { layer: slug, id } }, el("p", { class: "hint" }, t("popup.loading")));
  const query = new URLSearchParams({ layer: slug, feature_id: id, to: asOf });
  Promise.all([
    getJSON(`/monitoring/sites/${encodeURIComponent(slug)}/${id}/status?as_of=${asOf}`),
    getJSON(`/monitoring/visits?${query}`),
  ]).then(([status, { visits }]) => {
    const rows = [
      ["qualification", label("qualification", status.qualification)],
      ["operating", status.operating ? t(`monitoring.operating.${status.operating}`) : "—"],
      ["scheme", status.scheme || "—"],
    ];
    box.replaceChildren(
      el("h4", {}, t("monitoring.as_of_title", { day: formatDay(asOf) })),
      el("table", { class: "popup-monitoring-status" }, rows.map(([key, text]) => el("tr", { dataset: { field: key } },
        el("th", {}, t(`monitoring.${key}`)), el("td", {}, text)))),
      el("h4", {}, t("monitoring.visits_title", { n: visits.length })),
      visits.length
        ? el("ul", { class: "monitoring-visits" }, visits.slice(-3).reverse().map(visitRow))
        : el("p", { class: "hint" }, t("monitoring.no_visits")));
  }).catch((error) => box.replaceChildren(el("p", { class: "hint" }, error.message)));
  return box;
}

export class Monitoring {
  constructor(map, layers) {
    this.map = map;
    this.layers = layers;
    map.createPane("monitoring").style.zIndex = 640; // over the vector tiles, under popups
    this.sites = null; // the drawn GeoJSON layers
    this.incidents = null;
    this.vocabulary = null;
    this.state = { layer: "", asOf: today(), showSites: true, showIncidents: true };
    this.summary = null;
    this.active = false; // the register is read once the tab is first opened
    this.render();
    layers.addEventListener("change", () => {
      const had = this.state.layer;
      this.render();
      if (this.active && this.state.layer !== had) this.refresh();
    });
    onLanguageChange(() => {
      this.vocabulary = null;
      this.render();
      if (this.active) this.refresh();
    });
    // The map set to a past date takes the register to that date too.
    layers.addEventListener("as-of", () => {
      this.state.asOf = layers.asOf || today();
      this.render();
      if (this.active) this.refresh();
    });
    // A mine site's popup on the map shows its monitoring too, for whoever may read it.
    layers.popupExtras.push((layer, feature) => (layer.kind === SITE_KIND && accessKey() ? siteBox(layer.slug, feature.id, layers.asOf || today()) : null));
  }

  // The tab opened, or who is signed in changed: what is drawn is read again.
  activate() {
    this.active = true;
    this.render();
    return this.refresh();
  }

  signedInChanged() {
    this.render();
    if (this.active) this.refresh();
  }

  siteLayers() {
    return this.layers.layers.filter((l) => l.kind === SITE_KIND);
  }

  render() {
    const box = document.getElementById("monitoring-panel");
    if (!box) return;
    const choices = this.siteLayers();
    if (!choices.some((l) => l.slug === this.state.layer)) this.state.layer = choices[0]?.slug || "";
    const lang = currentLang();
    const check = (id, key, stateKey) => el("label", { class: "check" },
      el("input", { type: "checkbox", id, checked: this.state[stateKey], onchange: (e) => { this.state[stateKey] = e.target.checked; this.refresh(); } }),
      " ", t(key));
    box.replaceChildren(
      accessKey() ? "" : el("p", { class: "hint", id: "monitoring-sign-in" }, t("monitoring.needs_viewer")),
      el("div", { class: "form-grid" },
        el("label", { for: "monitoring-layer" }, t("monitoring.layer")),
        el("select", { id: "monitoring-layer", onchange: (e) => { this.state.layer = e.target.value; this.refresh(); } },
          choices.length ? choices.map((l) => el("option", { value: l.slug, selected: l.slug === this.state.layer }, l[`title_${lang}`] || l.title || l.slug))
            : el("option", { value: "" }, t("monitoring.no_site_layer"))),
        el("label", { for: "monitoring-as-of" }, t("monitoring.as_of")),
        el("input", { id: "monitoring-as-of", type: "date", max: today(), value: this.state.asOf, onchange: (e) => {
          this.state.asOf = e.target.value || today();
          this.refresh();
        } })),
      check("monitoring-show-sites", "monitoring.show_sites", "showSites"),
      check("monitoring-show-incidents", "monitoring.show_incidents", "showIncidents"),
      el("h4", {}, t("monitoring.legend")),
      el("ul", { class: "legend-items monitoring-legend" },
        QUALIFICATIONS.map((q) => el("li", { dataset: { qualification: q } },
          el("span", { class: "swatch round", style: `background:${qualificationColour(q)}` }), " ", label("qualification", q))),
        el("li", { dataset: { verification: "verified" } }, el("span", { class: "swatch round incident" }), " ", t("monitoring.incident_verified")),
        el("li", { dataset: { verification: "unverified" } }, el("span", { class: "swatch round incident unverified" }), " ", t("monitoring.incident_unverified"))),
      el("div", { id: "monitoring-summary", "aria-live": "polite" }),
      el("p", { class: "monitoring-links" },
        el("a", { id: "monitoring-field", href: `/field?lang=${lang}` }, t("monitoring.field_link")), " · ",
        el("a", { id: "monitoring-dashboard", href: `/dashboard?lang=${lang}` }, t("monitoring.dashboard_link"))));
    this.renderSummary();
  }

  renderSummary() {
    const box = document.getElementById("monitoring-summary");
    if (!box) return;
    const s = this.summary;
    if (!s) {
      box.replaceChildren();
      return;
    }
    box.replaceChildren(
      el("p", {}, t("monitoring.summary_sites", { n: s.sites, day: formatDay(s.asOf) })),
      el("ul", { class: "monitoring-counts" }, QUALIFICATIONS.map((q) => el("li", { dataset: { qualification: q } },
        `${label("qualification", q)}: ${formatNumber(s.byQualification[q] || 0, 0)}`))),
      el("p", { dataset: { incidents: `${s.verified}/${s.unverified}` } },
        t("monitoring.summary_incidents", { verified: s.verified, unverified: s.unverified })));
  }

  async loadVocabulary() {
    if (!this.vocabulary) {
      const found = await getJSON("/monitoring/vocabulary");
      this.vocabulary = {
        categories: Object.fromEntries(found.categories.map((c) => [c.code, c.label])),
        domains: Object.fromEntries(found.domains.map((d) => [d.code, d.label])),
      };
    }
    return this.vocabulary;
  }

  clear() {
    for (const drawn of [this.sites, this.incidents]) drawn?.remove();
    this.sites = this.incidents = null;
  }

  // Called when the tab opens, a control changes, or who is signed in changes.
  async refresh() {
    const { layer, asOf, showSites, showIncidents } = this.state;
    const read = (this.reads = (this.reads || 0) + 1);
    // Busy until the latest read is drawn: a screen reader (and a test) knows when it is settled.
    const panel = document.getElementById("monitoring-panel");
    panel?.setAttribute("aria-busy", "true");
    try {
      await this.read(read, layer, asOf, showSites, showIncidents);
    } finally {
      if (read === this.reads) panel?.setAttribute("aria-busy", "false");
    }
  }

  async read(read, layer, asOf, showSites, showIncidents) {
    if (!layer || !accessKey() || (!showSites && !showIncidents)) {
      this.clear();
      this.summary = null;
      this.renderSummary();
      return;
    }
    try {
      const [sites, incidents, vocabulary] = await Promise.all([
        getJSON(`/monitoring/sites?${new URLSearchParams({ layer, as_of: asOf })}`),
        getJSON(`/monitoring/incidents?${new URLSearchParams({ layer, as_of: asOf, f: "geojson" })}`),
        this.loadVocabulary(),
      ]);
      if (read !== this.reads) return; // a later choice won
      this.clear();
      if (showSites) this.drawSites(sites, layer, asOf);
      if (showIncidents) this.drawIncidents(incidents, vocabulary);
      // A layer newly chosen is shown whole; a change of day keeps the view.
      if (this.framed !== layer) {
        this.framed = layer;
        const bounds = L.geoJSON(sites).getBounds();
        if (bounds.isValid()) this.map.fitBounds(bounds, { maxZoom: 12, padding: [30, 30] });
      }
      const byQualification = {};
      for (const f of sites.features) byQualification[f.properties.qualification] = (byQualification[f.properties.qualification] || 0) + 1;
      const verified = incidents.features.filter((f) => f.properties.verification === "verified").length;
      const unverified = incidents.features.filter((f) => f.properties.verification === "unverified").length;
      this.summary = { asOf, sites: sites.features.length, byQualification, verified, unverified };
      this.renderSummary();
    } catch (error) {
      showError(error);
    }
  }

  drawSites(sites, slug, asOf) {
    const style = (f) => ({ color: "#333", weight: 1, fillColor: qualificationColour(f.properties.qualification), fillOpacity: 0.85 });
    this.sites = L.geoJSON(sites, {
      pane: "monitoring",
      style,
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 10, pane: "monitoring", ...style(f) }),
      onEachFeature: (f, shape) => {
        shape.bindTooltip(`${f.properties.name || `#${f.id}`}: ${label("qualification", f.properties.qualification)}`);
        shape.bindPopup(() => el("div", { class: "popup" },
          el("h3", {}, f.properties.name || `#${f.id}`),
          el("p", { class: "hint" }, t("monitoring.incident_counts", { verified: f.properties.incidents_verified, unverified: f.properties.incidents_unverified })),
          siteBox(slug, f.id, asOf)), { maxWidth: 320 });
      },
    }).addTo(this.map);
    for (const shape of this.sites.getLayers()) {
      const node = shape.getElement();
      node?.setAttribute("data-site", shape.feature.id);
      node?.setAttribute("data-qualification", shape.feature.properties.qualification);
    }
  }

  drawIncidents(incidents, vocabulary) {
    this.incidents = L.geoJSON(incidents, {
      pane: "monitoring",
      pointToLayer: (f, latlng) => {
        const verified = f.properties.verification === "verified";
        const colour = SEVERITY_COLOURS[f.properties.severity] || GREY;
        return L.circleMarker(latlng, {
          pane: "monitoring", radius: 5, color: verified ? "#000" : colour, weight: 2,
          fillColor: colour, fillOpacity: verified ? 0.9 : 0, dashArray: verified ? null : "2 3",
        });
      },
      onEachFeature: (f, marker) => {
        const p = f.properties;
        const category = vocabulary.categories[p.category] || p.category;
        const state = t(`monitoring.verification.${p.verification}`);
        marker.bindTooltip(`${category} (${state})`);
        marker.bindPopup(() => el("div", { class: "popup", dataset: { incident: f.id } },
          el("div", { class: "popup-layer" }, vocabulary.domains[p.domain] || p.domain),
          el("h3", {}, category),
          el("p", { class: `verification verification-${p.verification}` }, state),
          el("table", { class: "popup-fields" },
            el("tr", {}, el("th", {}, t("monitoring.occurred_on")), el("td", {}, formatDay(p.occurred_on))),
            el("tr", {}, el("th", {}, t("monitoring.severity")), el("td", {}, t(`severity.${p.severity}`))),
            p.risk_rating != null ? el("tr", {}, el("th", {}, t("monitoring.risk")), el("td", {}, `${p.risk_severity} × ${p.risk_likelihood} = ${p.risk_rating}`)) : "",
            p.description ? el("tr", {}, el("th", {}, t("monitoring.description")), el("td", {}, p.description)) : "")));
      },
    }).addTo(this.map);
    for (const marker of this.incidents.getLayers()) {
      const node = marker.getElement();
      node?.setAttribute("data-incident", marker.feature.id);
      node?.setAttribute("data-verification", marker.feature.properties.verification);
    }
  }
}
