// Small DOM helpers shared by the panels: element builder, messages, downloads, debounce.
import { t } from "./i18n.js";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A message on top of the map; errors stay until closed, notices fade after a few seconds.
export function showMessage(text, kind = "error") {
  const box = document.getElementById("messages");
  const close = el("button", { class: "close", type: "button", "aria-label": t("action.close"), onclick: () => item.remove() }, "×");
  const item = el("div", { class: `message message-${kind}` }, el("span", {}, text), close);
  box.append(item);
  if (kind !== "error") setTimeout(() => item.remove(), 6000);
  return item;
}

// A problem's detail says what went wrong; a bare 404 names the address that was not found.
export function showError(error) {
  const problem = error.problem || {};
  let text = problem.detail || error.message;
  const generic = problem.type === "about:blank" && /^(HTTP error|Erreur HTTP)$/.test(problem.title || "");
  if (problem.title && problem.title !== text && !generic) text = `${problem.title}: ${text}`;
  if (error.status === 404 && error.url && !problem.type?.startsWith("/problems/")) text = `${text} (${error.url})`;
  return showMessage(text, "error");
}

// Phones get the layout of app.css's media query of the same width; fingers (no hover) get
// words that say "tap" rather than "click" or "move the mouse".
export const phone = window.matchMedia("(max-width: 700px)");
export const touch = window.matchMedia("(hover: none)");

// The panel's tabs. On a phone the panel is a bottom sheet: `sheet` asks it to open ("half",
// "full", or "open": at least half) or to leave the map free ("closed"); a desktop ignores it.
export function showTab(name, sheet) {
  for (const tab of document.querySelectorAll("[data-tab]")) {
    const selected = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(selected));
    document.getElementById(`tab-${tab.dataset.tab}`).hidden = !selected;
  }
  if (sheet) document.dispatchEvent(new CustomEvent("sheet", { detail: sheet }));
}

// A script or style sheet fetched on first use only (the drawing library): one request however
// often it is asked for; a failed one may be asked for again.
const loading = new Map();
export function loadOnce(url) {
  if (!loading.has(url)) {
    loading.set(url, new Promise((resolve, reject) => {
      const node = url.endsWith(".css") ? el("link", { rel: "stylesheet", href: url }) : el("script", { src: url });
      node.addEventListener("load", () => resolve());
      node.addEventListener("error", () => {
        loading.delete(url);
        node.remove();
        reject(new Error(url));
      });
      document.head.append(node);
    }));
  }
  return loading.get(url);
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// The file name a download answer proposes (Content-Disposition), else `fallback`.
export async function saveResponse(response, fallback) {
  const named = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
  saveBlob(await response.blob(), named ? named[1] : fallback);
}

export function openBlob(blob) {
  const url = URL.createObjectURL(blob);
  window.open(url, "_blank", "noopener");
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// Leaflet's options for people who asked their system for less motion (WCAG 2.3.3): no zoom,
// fade or marker animations, the map jumps where it would glide.
export function motionOptions() {
  const still = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ?? false;
  return { zoomAnimation: !still, fadeAnimation: !still, markerZoomAnimation: !still };
}

// Leaflet's own controls carry English titles and labels (read aloud by screen readers, shown
// on hover): in the page's language instead. Returns the function that writes them again,
// for a change of language.
export function localiseControls(map) {
  const render = () => {
    const container = map.getContainer();
    for (const [selector, key] of [
      [".leaflet-control-zoom-in", "map.zoom_in"],
      [".leaflet-control-zoom-out", "map.zoom_out"],
      [".leaflet-control-layers-toggle", "map.basemaps"],
    ]) {
      const button = container.querySelector(selector);
      if (!button) continue;
      button.title = t(key);
      button.setAttribute("aria-label", t(key));
    }
  };
  render();
  map.on("popupopen", ({ popup }) => {
    popup.getElement()?.querySelector(".leaflet-popup-close-button")?.setAttribute("aria-label", t("action.close"));
  });
  return render;
}
