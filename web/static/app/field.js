// The field form (/field): a monitor records a visit or an incident at a site on a phone, with
// the phone's position. Every entry goes first into a queue kept in localStorage (it outlives
// the tab and a flat battery), and leaves it only once the server has answered 200 or 201.
// Each entry carries a key made when it was recorded (entry_key and the Idempotency-Key
// header): a resend after a lost answer finds the record the first send made, so an entry is
// never stored twice. A refusal that a resend cannot change (a 4xx) is kept, shown as failed.

const config = JSON.parse(document.getElementById("config").textContent);
const QUEUE = "geo-service.field-queue";
const CACHE = "geo-service.field-cache";
const KEY = "geo-service.key";
const $ = (id) => document.getElementById(id);

function t(key, params = {}) {
  const text = config.messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => params[name] ?? "");
}

function translate() {
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
}

const queue = {
  read: () => JSON.parse(localStorage.getItem(QUEUE) || "[]"),
  write: (entries) => localStorage.setItem(QUEUE, JSON.stringify(entries)),
  add(entry) { this.write([...this.read(), entry]); },
  update(key, change) { this.write(this.read().map((e) => (e.key === key ? { ...e, ...change } : e))); },
  remove(key) { this.write(this.read().filter((e) => e.key !== key)); },
};

function cached() { return JSON.parse(localStorage.getItem(CACHE) || "{}"); }
function remember(name, value) { localStorage.setItem(CACHE, JSON.stringify({ ...cached(), [name]: value })); }

function secret() { return sessionStorage.getItem(KEY); }

async function get(url) {
  const response = await fetch(url, {
    headers: { Authorization: `Bearer ${secret()}`, "Accept-Language": config.lang },
  });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

// What the page needs from the server, kept for when the phone is offline at the next start.
async function load(name, url) {
  try {
    const value = await get(url);
    remember(name, value);
    return value;
  } catch (error) {
    const kept = cached()[name];
    if (kept === undefined) throw error;
    return kept;
  }
}

let position = null;
let sites = [];

function fillCategories(vocabulary) {
  const select = $("category");
  select.replaceChildren();
  for (const domain of vocabulary.domains) {
    const group = document.createElement("optgroup");
    group.label = domain.label;
    for (const category of vocabulary.categories.filter((c) => c.domain === domain.code)) {
      group.append(new Option(category.label, category.code));
    }
    select.append(group);
  }
}

function distance(a, b) {  // metres, on the sphere: enough to pick the nearest site
  const rad = Math.PI / 180;
  const x = (b[0] - a[0]) * rad * Math.cos(((a[1] + b[1]) / 2) * rad);
  return Math.hypot(x, (b[1] - a[1]) * rad) * 6371008.8;
}

function fillSites() {
  const select = $("site");
  const here = position && [position.lon, position.lat];
  const sorted = here
    ? [...sites].sort((a, b) => distance(here, a.geometry.coordinates) - distance(here, b.geometry.coordinates))
    : sites;
  select.replaceChildren(...sorted.map((f) => new Option(f.properties.name || `#${f.id}`, f.id)));
  if (here && sorted.length) {
    const metres = Math.round(distance(here, sorted[0].geometry.coordinates));
    $("position").textContent = t("field.nearest", { metres: metres.toLocaleString(config.lang) });
  }
}

// The sites of the layer chosen, and the choice itself: the next start, offline too, opens the
// layer last worked on. A layer never read with a signal has no sites to offer: the select then
// holds one empty, required choice that says so, and the form cannot record an entry.
async function loadSites() {
  const layer = $("site-layer").value;
  if (!layer) return;
  remember("layer", layer);
  try {
    sites = (await load(`sites:${layer}`, `/monitoring/sites?layer=${encodeURIComponent(layer)}`)).features;
  } catch {
    sites = [];
    $("site").replaceChildren(new Option(t("field.no_sites"), ""));
    return;
  }
  fillSites();
}

function locate() {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(
    (found) => {
      position = { lon: found.coords.longitude, lat: found.coords.latitude };
      $("position").textContent = t("field.position", {
        lat: position.lat.toFixed(5), lon: position.lon.toFixed(5),
      });
      fillSites();
    },
    () => { $("position").textContent = t("field.no_position"); },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
  );
}

function number(id) {
  const value = $(id).value;
  return value === "" ? null : Number(value);
}

function entryFromForm() {
  const kind = document.querySelector("input[name=kind]:checked").value;
  const key = crypto.randomUUID();
  const site = { layer: $("site-layer").value, feature_id: Number($("site").value) };
  const common = { ...site, entry_key: key, position };
  const body = kind === "visit"
    ? {
      ...common, visited_on: $("day").value, team: $("team").value || null,
      workers: number("workers"), women: number("women"), children: number("children"),
      methods: $("mercury").checked ? ["mercury"] : [], armed_actors: $("armed").checked,
      observations: $("observations").value || null,
    }
    : {
      ...common, occurred_on: $("day").value, category: $("category").value,
      severity: $("severity").value, description: $("description").value || null,
    };
  const label = `${t(`field.${kind}`)} · ${$("site").selectedOptions[0]?.text ?? ""} · ${$("day").value}`;
  return { key, kind, body, label, state: "queued", tries: 0, recorded: new Date().toISOString() };
}

let flushing = false;
let retry = null;

// Send the queued entries in order; stop at the first one the network fails, and try again
// later (sooner when the phone says it is back online).
async function flush() {
  if (flushing || !secret()) return;
  flushing = true;
  clearTimeout(retry);
  let failedNetwork = false;
  try {
    for (const entry of queue.read().filter((e) => e.state === "queued")) {
      let response;
      try {
        response = await fetch(`/monitoring/${entry.kind}s`, {
          method: "POST",
          headers: {
            Authorization: `Bearer ${secret()}`, "Accept-Language": config.lang,
            "Content-Type": "application/json", "Idempotency-Key": entry.key,
          },
          body: JSON.stringify(entry.body),
        });
      } catch {
        queue.update(entry.key, { tries: entry.tries + 1 });
        failedNetwork = true;
        break;
      }
      if (response.ok) {
        queue.remove(entry.key);
        sent += 1;
      } else if (response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status)) {
        const problem = await response.json().catch(() => ({}));
        queue.update(entry.key, { state: "failed", error: problem.detail || String(response.status) });
      } else {
        queue.update(entry.key, { tries: entry.tries + 1 });
        failedNetwork = true;
        break;
      }
    }
  } finally {
    flushing = false;
    render();
  }
  if (failedNetwork) {
    const tries = Math.max(...queue.read().map((e) => e.tries), 1);
    retry = setTimeout(flush, Math.min(60000, 1000 * 2 ** (tries - 1)));
  }
}

let sent = 0;

function render() {
  const entries = queue.read();
  $("queue-count").textContent = String(entries.length);
  $("queue").replaceChildren(...entries.map((e) => {
    const item = document.createElement("li");
    item.className = e.state;
    item.dataset.key = e.key;
    item.textContent = e.state === "failed" ? `${e.label} — ${t("field.failed")}: ${e.error}` : e.label;
    return item;
  }));
  $("sent-note").textContent = sent ? t("field.sent", { count: sent }) : "";
  const online = navigator.onLine;
  $("net").textContent = t(online ? "field.online" : "field.offline");
  $("net").classList.toggle("offline", !online);
}

// The page and its files kept by a service worker (GET /field-sw.js), so that the form opens
// and reloads where there is no signal. Without one the form still works while the tab lives.
function keepForOffline() {
  if (!navigator.serviceWorker) return;
  navigator.serviceWorker.register("/field-sw.js", { scope: "/field" })
    .catch((error) => console.warn("field: the page is not kept for offline use:", error));
}

function showKind() {
  const kind = document.querySelector("input[name=kind]:checked").value;
  $("visit-fields").hidden = kind !== "visit";
  $("incident-fields").hidden = kind !== "incident";
}

async function start() {
  keepForOffline();
  translate();
  document.documentElement.lang = config.lang;
  $("day").value = new Date().toISOString().slice(0, 10);
  $("day").max = $("day").value;
  document.querySelectorAll("input[name=kind]").forEach((r) => r.addEventListener("change", showKind));
  $("entry-form").addEventListener("submit", (event) => {
    event.preventDefault();
    queue.add(entryFromForm());
    $("entry-form").querySelectorAll("textarea, #team, #workers, #women, #children").forEach((el) => { el.value = ""; });
    render();
    flush();
  });
  $("send-now").addEventListener("click", flush);
  window.addEventListener("online", () => { render(); flush(); });
  window.addEventListener("offline", render);
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("key-input").value.trim());
    location.reload();
  });
  render();
  if (!secret()) {
    $("key-form").hidden = false;
    $("entry-form").hidden = true;
    return;
  }
  const [vocabulary, layers] = await Promise.all([
    load("vocabulary", "/monitoring/vocabulary"), load("layers", "/layers"),
  ]);
  fillCategories(vocabulary);
  const siteLayers = layers.filter((l) => l.kind === "mine_site");
  $("site-layer").replaceChildren(...siteLayers.map((l) => new Option(l[`title_${config.lang}`] || l.title || l.slug, l.slug)));
  if (siteLayers.some((l) => l.slug === cached().layer)) $("site-layer").value = cached().layer;
  $("site-layer").addEventListener("change", loadSites);
  await loadSites();
  locate();
  document.body.classList.add("ready");
  flush();
}

start();
