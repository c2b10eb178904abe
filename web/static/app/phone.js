// The phone layout's moving parts (app.css lays it out): the panel as a bottom sheet (closed,
// half, full; its tab row is the handle), the header's search and menu that open on demand,
// and touch wording. On a desktop none of it shows.
import { t, onLanguageChange, translatePage } from "./i18n.js";
import { phone, touch } from "./ui.js";

const STATES = ["closed", "half", "full"];
const DRAG_PX = 8; // a move shorter than this is a tap

export function initPhone(map) {
  initSheet();
  initHeader();
  if (touch.matches) initTouchWording(map);
  // What app.css lays out around needs their heights, which wrap with the words: the closed
  // sheet is its tab row, and the scale and coordinates sit above the attribution.
  measure("--sheet-closed", document.querySelector(".sidebar .tabs"));
  measure("--attribution", map.attributionControl?.getContainer());
}

function measure(property, node) {
  if (!node || !window.ResizeObserver) return;
  new ResizeObserver(() => document.documentElement.style.setProperty(property, `${node.offsetHeight}px`)).observe(node);
}

// How many pixels of the map's bottom the sheet covers (0 on a desktop): a zone shown on the
// map is fitted into the part left uncovered.
export function sheetCover() {
  if (!phone.matches) return 0;
  const state = sheetState();
  if (state === "closed") return document.querySelector(".sidebar .tabs").offsetHeight;
  const room = document.querySelector("main.layout").getBoundingClientRect().height;
  return state === "half" ? room / 2 : room;
}

function sheetState() {
  return document.body.dataset.sheet || "closed";
}

function setSheet(state) {
  document.body.dataset.sheet = state;
  const sheet = document.getElementById("sidebar");
  sheet.style.height = "";
  const toggle = document.getElementById("sheet-toggle");
  toggle.setAttribute("aria-expanded", String(state !== "closed"));
  toggle.dataset.state = state;
  toggle.title = t(state === "full" ? "phone.sheet_close" : "phone.sheet_open");
  toggle.setAttribute("aria-label", toggle.title);
}

// Tap a tab to open the sheet on it, tap the toggle to go closed -> half -> full -> closed, or
// drag the tab row to any height: it settles on the nearest state.
function initSheet() {
  const sheet = document.getElementById("sidebar");
  const handle = sheet.querySelector(".tabs");
  const toggle = document.getElementById("sheet-toggle");
  setSheet("closed");
  document.addEventListener("sheet", (e) => {
    const wanted = e.detail === "open" ? (sheetState() === "closed" ? "half" : sheetState()) : e.detail;
    setSheet(wanted);
  });
  toggle.addEventListener("click", () => setSheet(STATES[(STATES.indexOf(sheetState()) + 1) % STATES.length]));

  let drag = null;
  let draggedAt = -Infinity;
  const move = (e) => {
    if (e.pointerId !== drag.id) return;
    const dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dy) < DRAG_PX) return;
    drag.moved = true;
    sheet.classList.add("dragging");
    const room = sheet.parentElement.getBoundingClientRect().height;
    sheet.style.height = `${Math.max(0, Math.min(room, drag.height - dy))}px`;
  };
  const end = (e) => {
    if (e.pointerId !== drag.id) return;
    document.removeEventListener("pointermove", move);
    document.removeEventListener("pointerup", end);
    document.removeEventListener("pointercancel", end);
    const { moved } = drag;
    drag = null;
    sheet.classList.remove("dragging");
    if (!moved) return;
    const room = sheet.parentElement.getBoundingClientRect().height;
    const share = sheet.getBoundingClientRect().height / room;
    setSheet(share < 0.25 ? "closed" : share < 0.75 ? "half" : "full");
    draggedAt = performance.now();
  };
  // The click that ends a drag is not a tab switch.
  handle.addEventListener("click", (e) => performance.now() - draggedAt < 400 && e.stopPropagation(), { capture: true });
  handle.addEventListener("pointerdown", (e) => {
    if (!phone.matches || drag) return;
    drag = { y: e.clientY, height: sheet.getBoundingClientRect().height, moved: false, id: e.pointerId };
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", end);
    document.addEventListener("pointercancel", end);
  });
  onLanguageChange(() => setSheet(sheetState()));
}

// One row: the search box and the menu (sign-in, language) open when asked and close again.
function initHeader() {
  const bar = document.querySelector(".topbar");
  const searchButton = document.getElementById("search-open");
  const menuButton = document.getElementById("menu-toggle");
  const input = document.getElementById("search-input");
  const setSearching = (on) => {
    bar.classList.toggle("searching", on);
    searchButton.setAttribute("aria-expanded", String(on));
    if (on) {
      setMenu(false);
      input.focus();
    }
  };
  const setMenu = (on) => {
    bar.classList.toggle("menu-open", on);
    menuButton.setAttribute("aria-expanded", String(on));
  };
  searchButton.addEventListener("click", () => setSearching(!bar.classList.contains("searching")));
  menuButton.addEventListener("click", () => setMenu(!bar.classList.contains("menu-open")));
  input.addEventListener("keydown", (e) => e.key === "Escape" && phone.matches && setSearching(false));
  document.getElementById("search-results").addEventListener("click", (e) => {
    if (e.target.closest(".search-hit")) setSearching(false);
  });
  // A tap outside the header closes what it opened.
  document.addEventListener("pointerdown", (e) => {
    if (!phone.matches || bar.contains(e.target)) return;
    setMenu(false);
    if (!input.value) setSearching(false);
  });
}

// Fingers have no hover: hints say "tap", a tap shows the coordinates, and the drawing tool's
// tooltips say where to tap.
function initTouchWording(map) {
  for (const node of document.querySelectorAll("[data-i18n-touch]")) node.dataset.i18n = node.dataset.i18nTouch;
  translatePage();
  const coordinates = document.getElementById("coordinates");
  let tapped = false;
  const hint = () => {
    if (!tapped && coordinates) coordinates.textContent = t("phone.coordinates_hint");
  };
  hint();
  onLanguageChange(hint);
  map.on("click", (e) => {
    tapped = true;
    map.fire("mousemove", e); // the map's own handler writes the coordinates
  });
}

// Geoman's tooltips in "tap" words, for drawing with a finger (zones.js asks once it loads).
export function touchTooltips() {
  if (!touch.matches) return null;
  return {
    tooltips: {
      firstVertex: t("phone.draw_first_vertex"),
      continueLine: t("phone.draw_continue"),
      finishPoly: t("phone.draw_finish"),
      finishRect: t("phone.draw_finish_rect"),
    },
  };
}
