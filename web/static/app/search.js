// Search by name or code (GET /search): a list under the box; choosing a hit zooms to it.
import { getJSON } from "./api.js";
import { t, label } from "./i18n.js";
import { el, debounce, showError } from "./ui.js";

export function initSearch(map, layers) {
  const input = document.getElementById("search-input");
  const list = document.getElementById("search-results");
  let marker = null;

  const choose = async (hit) => {
    list.hidden = true;
    input.value = hit.name || hit.code || "";
    const [minx, miny, maxx, maxy] = hit.bbox;
    if (minx === maxx && miny === maxy) map.setView([hit.center[1], hit.center[0]], 14);
    else map.fitBounds([[miny, minx], [maxy, maxx]], { maxZoom: 15 });
    if (marker) marker.remove();
    marker = L.circleMarker([hit.center[1], hit.center[0]], { radius: 14, color: "#00bcd4", weight: 3, fill: false, pmIgnore: true, interactive: false }).addTo(map);
    const layer = layers.bySlug(hit.layer);
    if (layer) {
      layers.setVisible(layer.slug, true);
      layers.renderPanel();
      await layers.openPopup(layer, { id: hit.id }, L.latLng(hit.center[1], hit.center[0]));
    }
  };

  const run = debounce(async () => {
    const q = input.value.trim();
    if (q.length < 2) {
      list.hidden = true;
      return;
    }
    try {
      const { results } = await getJSON(`/search?q=${encodeURIComponent(q)}&limit=20`);
      list.replaceChildren(...(results.length ? results.map((hit) => el("li", {},
        el("button", { type: "button", class: "search-hit", onclick: () => choose(hit) },
          el("span", { class: "hit-name" }, hit.name || hit.code),
          hit.code && hit.code !== hit.name ? el("span", { class: "hit-code" }, hit.code) : null,
          el("span", { class: "hit-layer" }, hit.layer_title || label("kind", hit.kind))))) : [el("li", { class: "empty" }, t("search.none"))]));
      list.hidden = false;
    } catch (error) {
      showError(error);
    }
  }, 250);

  input.addEventListener("input", run);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") list.hidden = true;
    if (e.key === "Enter") {
      const first = list.querySelector(".search-hit");
      if (first) first.click();
    }
  });
}
