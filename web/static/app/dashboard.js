// The monitoring dashboard (/dashboard): the figures of /monitoring/figures drawn by Chart.js,
// each with a plain table of the same numbers under it (read aloud, printed) and its CSV. The
// key is the map's (the tab's sessionStorage, api.js); the controls are kept in the fragment of
// the page's URL (#year=2026&layer=...: the server's page takes only ?lang=), so that a link, a
// reload or a change of language shows the same view.
import { accessKey, request, setAccessKey } from "./api.js";
import { formatNumber, initLanguage, label, t } from "./i18n.js";
import { openBlob, saveResponse } from "./ui.js";

const config = JSON.parse(document.getElementById("config").textContent);
const registry = JSON.parse(document.getElementById("registry").textContent);
const $ = (id) => document.getElementById(id);
const LOCALE = config.lang === "fr" ? "fr-FR" : "en-GB";
const QUALIFICATION_COLOURS = registry.kinds.mine_site.colours;
const COLOURS = { verified: "#8d5a1b", unverified: "#b9b2a6", workers: "#3b3024", women: "#c2185b", children: "#f9a825" };
const MAX_MONTHS = 36; // longer periods list only the months that hold something
// What each chart asks: `annex` says whether "Annex II only" narrows it.
const FIGURES = {
  domains: { subject: "incidents", by: "domain", annex: true },
  months: { subject: "incidents", by: "month", annex: true },
  actions: { subject: "actions", annex: true },
  sites: { subject: "sites", by: "qualification" },
  visits: { subject: "visits", by: "month" },
};
const charts = {};
let vocabulary = null;

// The programme year (April to March) of today: the one shown first.
function currentYear() {
  const now = new Date();
  return now.getMonth() >= 3 ? now.getFullYear() : now.getFullYear() - 1;
}

const yearLabel = (year) => `${year}-${String((year + 1) % 100).padStart(2, "0")}`;
const shown = (value) => (value === null || value === undefined ? "—" : formatNumber(value, 1));
const day = (iso) => new Date(`${iso}T00:00:00Z`).toLocaleDateString(LOCALE, { dateStyle: "long", timeZone: "UTC" });
const monthLabel = (key) => new Date(`${key}-01T00:00:00Z`).toLocaleDateString(LOCALE, { month: "short", year: "numeric", timeZone: "UTC" });

// The view asked, as query parameters of the figures (and the fragment of this page's URL).
function view() {
  const query = new URLSearchParams();
  if ($("layer").value) query.set("layer", $("layer").value);
  if ($("year").value) query.set("year", $("year").value);
  else {
    if ($("from").value) query.set("from", $("from").value);
    if ($("to").value) query.set("to", $("to").value);
  }
  if ($("as-of").value) query.set("as_of", $("as-of").value);
  if ($("annex").checked) query.set("annex_ii_only", "true");
  return query;
}

function figuresUrl(name, format) {
  const spec = FIGURES[name];
  const query = view();
  if (!spec.annex) query.delete("annex_ii_only");
  query.set("subject", spec.subject);
  if (spec.by) query.set("by", spec.by);
  if (format) query.set("f", format);
  return `/monitoring/figures?${query}`;
}

function reportUrl(format) {
  const query = view();
  for (const name of ["layer", "as_of", "annex_ii_only"]) query.delete(name);
  query.set("format", format);
  query.set("lang", config.lang);
  return `/monitoring/report?${query}`;
}

function readUrl() {
  const asked = new URLSearchParams(window.location.hash.slice(1));
  const years = [];
  for (let year = currentYear(); year > currentYear() - 10; year -= 1) years.push(year);
  const year = asked.get("year");
  if (year && !years.includes(Number(year))) years.unshift(Number(year));
  $("year").append(...years.map((y) => new Option(yearLabel(y), String(y))));
  $("year").value = year ?? (asked.has("from") || asked.has("to") ? "" : String(currentYear()));
  $("from").value = asked.get("from") ?? "";
  $("to").value = asked.get("to") ?? "";
  $("as-of").value = asked.get("as_of") ?? "";
  $("annex").checked = asked.get("annex_ii_only") === "true";
  return asked.get("layer");
}

// The page's URL and its links follow the view: a link to this page shows what it shows.
function writeUrl() {
  const query = view();
  for (const link of document.querySelectorAll("[data-lang]")) link.href = `?lang=${link.dataset.lang}#${query}`;
  window.history.replaceState(null, "", `?lang=${config.lang}#${query}`);
  $("report-html").href = reportUrl("html");
  $("report-pdf").href = reportUrl("pdf");
  for (const name of Object.keys(FIGURES)) $(name).querySelector("a.csv").href = figuresUrl(name, "csv");
}

function showRange() {
  for (const el of document.querySelectorAll(".range")) el.hidden = $("year").value !== "";
}

// One chart and its table: `labels` the rows, `series` the columns ({ label, values, colour,
// chart: false for a column of the table alone}), `foot` the rows under them.
function draw(name, { type = "bar", labels, series, foot = [], colours }) {
  const section = $(name);
  const body = section.querySelector("tbody");
  body.replaceChildren(...labels.map((text, i) => row(text, series.map((s) => s.values[i]))));
  section.querySelector("tfoot").replaceChildren(...foot.map(([text, values]) => row(text, values)));
  const drawn = series.filter((s) => s.chart !== false);
  const data = {
    labels,
    datasets: drawn.map((s) => ({
      label: s.label, data: s.values, backgroundColor: colours ?? s.colour, borderWidth: 0,
    })),
  };
  const canvas = $(`chart-${name}`);
  canvas.setAttribute("aria-label", section.querySelector("h2").textContent);
  if (charts[name]) {
    charts[name].data = data;
    charts[name].update();
    return;
  }
  charts[name] = new window.Chart(canvas, {
    type,
    data,
    options: {
      locale: LOCALE,
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: drawn.length > 1 || type === "doughnut" } },
      scales: type === "bar" ? { y: { beginAtZero: true, ticks: { precision: 0 } } } : {},
    },
  });
}

function row(text, values) {
  const tr = document.createElement("tr");
  const th = document.createElement("th");
  th.scope = "row";
  th.textContent = text;
  tr.append(th, ...values.map((value) => {
    const td = document.createElement("td");
    td.textContent = shown(value);
    return td;
  }));
  return tr;
}

// The months from `from` to `to` (every one of them, for a period of a few years at most).
function months(result) {
  const present = result.rows.map((r) => r.month);
  const [y0, m0] = result.from.split("-").map(Number);
  const [y1, m1] = result.to.split("-").map(Number);
  const count = (y1 - y0) * 12 + (m1 - m0) + 1;
  if (count > MAX_MONTHS) return present;
  return Array.from({ length: count }, (_, i) => {
    const month = m0 - 1 + i;
    return `${y0 + Math.floor(month / 12)}-${String((month % 12) + 1).padStart(2, "0")}`;
  });
}

// The value of `field` in the row of `key` (0 when the server counted nothing there).
function pick(rows, by, key, field) {
  const found = rows.find((r) => r[by] === key);
  return found ? found[field] : 0;
}

function total(values) {
  return values.some((v) => v === null) ? null : values.reduce((a, b) => a + b, 0);
}

const RENDER = {
  domains(result) {
    const codes = vocabulary.domains.map((d) => d.code);
    const verified = codes.map((c) => pick(result.rows, "domain", c, "count"));
    const unverified = codes.map((c) => pick(result.rows, "domain", c, "unverified"));
    draw("domains", {
      labels: vocabulary.domains.map((d) => d.label),
      series: [
        { label: t("dashboard.verified"), values: verified, colour: COLOURS.verified },
        { label: t("dashboard.unverified"), values: unverified, colour: COLOURS.unverified },
      ],
      foot: [[t("dashboard.total"), [result.total, result.unverified]]],
    });
  },
  months(result) {
    const keys = months(result);
    draw("months", {
      labels: keys.map(monthLabel),
      series: [
        { label: t("dashboard.verified"), values: keys.map((k) => pick(result.rows, "month", k, "count")), colour: COLOURS.verified },
        { label: t("dashboard.unverified"), values: keys.map((k) => pick(result.rows, "month", k, "unverified")), chart: false },
      ],
      foot: [[t("dashboard.total"), [result.total, result.unverified]]],
    });
  },
  actions(result) {
    const { total: recommended, in_progress: inProgress, done, overdue } = result;
    const waiting = [recommended, inProgress, done].includes(null) ? null : recommended - inProgress - done;
    draw("actions", {
      type: "doughnut",
      labels: [t("dashboard.recommended"), t("dashboard.in_progress"), t("dashboard.done")],
      series: [{ label: t("dashboard.actions"), values: [waiting, inProgress, done] }],
      colours: ["#b9b2a6", "#e6b800", "#1a9641"],
      foot: [[t("dashboard.total"), [recommended]], [t("dashboard.overdue"), [overdue]]],
    });
    const share = result.share_executed;
    $("share").textContent = share === null ? "—" : `${formatNumber(share, 1)} %`;
    $("share-detail").textContent = recommended === 0
      ? t("dashboard.share_none")
      : t("dashboard.share_detail", { executed: shown(total([inProgress, done])), recommended: shown(recommended) });
  },
  sites(result) {
    const codes = Object.keys(QUALIFICATION_COLOURS);
    draw("sites", {
      labels: codes.map((c) => label("qualification", c)),
      series: [{ label: t("dashboard.sites"), values: codes.map((c) => pick(result.rows, "qualification", c, "count")) }],
      colours: codes.map((c) => QUALIFICATION_COLOURS[c]),
      foot: [[t("dashboard.total"), [result.total]]],
    });
    $("sites-title").textContent = t("dashboard.sites_by_qualification", { day: day(result.as_of) });
    $("sites-active").textContent = t("dashboard.sites_active", { active: shown(result.active), total: shown(result.total) });
  },
  visits(result) {
    const keys = months(result);
    const column = (field) => keys.map((k) => pick(result.rows, "month", k, field));
    draw("visits", {
      labels: keys.map(monthLabel),
      series: [
        { label: t("dashboard.visits"), values: column("visits"), chart: false },
        { label: t("dashboard.workers"), values: column("workers"), colour: COLOURS.workers },
        { label: t("dashboard.women"), values: column("women"), colour: COLOURS.women },
        { label: t("dashboard.children"), values: column("children"), colour: COLOURS.children },
      ],
      foot: [[t("dashboard.total"), [result.total, result.workers, result.women, result.children]]],
    });
  },
};

function showError(error) {
  $("error").textContent = t("dashboard.error", { detail: error.problem?.detail || error.message });
  $("error").hidden = false;
}

let asked = 0; // the latest view asked: an earlier answer arriving late is dropped

async function refresh() {
  const mine = ++asked;
  document.body.classList.remove("ready");
  $("error").hidden = true;
  $("status").textContent = t("dashboard.loading");
  writeUrl();
  try {
    const names = Object.keys(FIGURES);
    const results = await Promise.all(names.map((name) => request("GET", figuresUrl(name))));
    if (mine !== asked) return;
    names.forEach((name, i) => RENDER[name](results[i]));
    $("withheld").hidden = !results.some((r) => r.rows.some((row) => row.suppressed));
    $("figures").hidden = false;
  } catch (error) {
    if (mine !== asked) return;
    $("figures").hidden = true;
    showError(error);
  } finally {
    if (mine === asked) {
      $("status").textContent = "";
      document.body.classList.add("ready");
    }
  }
}

async function begin(layer) {
  try {
    const [vocab, layers] = await Promise.all([request("GET", "/monitoring/vocabulary"), request("GET", "/layers")]);
    vocabulary = vocab;
    const sites = layers.filter((l) => l.kind === "mine_site");
    $("layer").append(...sites.map((l) => new Option(l[`title_${config.lang}`] || l.title || l.slug, l.slug)));
    if (layer && sites.some((l) => l.slug === layer)) $("layer").value = layer;
  } catch (error) {
    if (error.status === 401) { // a key kept from earlier, since revoked: ask for another
      setAccessKey("");
      $("key-form").hidden = false;
    }
    showError(error);
    document.body.classList.add("ready");
    return;
  }
  $("key-form").hidden = true;
  $("controls").hidden = false;
  await refresh();
}

async function signIn(event, layer) {
  event.preventDefault();
  const key = $("key-input").value.trim();
  try {
    await request("GET", "/auth/me", { key });
  } catch (error) {
    $("key-error").textContent = t("auth.refused", { detail: error.problem?.detail || error.message });
    $("key-error").hidden = false;
    return;
  }
  setAccessKey(key);
  $("key-error").hidden = true;
  await begin(layer);
}

// A download needs the key in its header, which a plain link cannot send: fetch, then save.
async function download(event) {
  const link = event.target.closest("a.csv, #report-html, #report-pdf");
  if (!link) return;
  event.preventDefault();
  try {
    const response = await request("GET", link.getAttribute("href"), { as: "response" });
    if (link.id === "report-html") openBlob(await response.blob());
    else await saveResponse(response, "figures.csv");
  } catch (error) {
    showError(error);
  }
}

function start() {
  initLanguage(config.lang, config.messages);
  document.title = `geo-service · ${t("dashboard.title")}`;
  window.Chart.defaults.font.family = "system-ui, sans-serif";
  for (const link of document.querySelectorAll("[data-lang]")) {
    if (link.dataset.lang === config.lang) link.setAttribute("aria-current", "true");
  }
  const layer = readUrl();
  showRange();
  $("year").addEventListener("change", showRange);
  $("controls").addEventListener("change", refresh);
  $("controls").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
  $("key-form").addEventListener("submit", (event) => signIn(event, layer));
  document.addEventListener("click", download);
  if (!accessKey()) {
    $("key-form").hidden = false;
    document.body.classList.add("ready");
    return;
  }
  begin(layer);
}

start();
