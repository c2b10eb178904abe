// Start-up: language, map, layers, search, planner and researcher panels.
import { initLanguage, setLanguage, currentLang } from "./i18n.js";
import { createMap } from "./map.js";
import { Layers } from "./layers.js";
import { initSearch } from "./search.js";
import { Zones } from "./zones.js";
import { Research } from "./research.js";
import { showError } from "./ui.js";

const config = JSON.parse(document.getElementById("config").textContent);
initLanguage(config.lang, config.messages);

function initTabs() {
  const tabs = document.querySelectorAll("[data-tab]");
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      for (const other of tabs) {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        document.getElementById(`tab-${other.dataset.tab}`).hidden = !selected;
      }
    });
  }
}

function initUser() {
  const input = document.getElementById("user-name");
  input.value = localStorage.getItem("geo-service.user") || "";
  input.addEventListener("change", () => localStorage.setItem("geo-service.user", input.value.trim()));
}

function initLanguageSwitch() {
  const select = document.getElementById("lang-select");
  select.value = currentLang();
  select.addEventListener("change", () => setLanguage(select.value).catch(showError));
}

initTabs();
initUser();
initLanguageSwitch();
const { map } = createMap(config);
const layers = new Layers(map);
const zones = new Zones(map, layers, config);
const research = new Research(map, layers, config);
initSearch(map, layers);
window.app = { map, layers, zones, research, config };
Promise.all([layers.load(), zones.loadList()])
  .then(() => document.body.classList.add("ready"))
  .catch(showError);
