// Start-up: language, sign-in, map, layers, search, planner and researcher panels.
import { initLanguage, setLanguage, currentLang } from "./i18n.js";
import { Auth } from "./auth.js";
import { createMap } from "./map.js";
import { Layers } from "./layers.js";
import { initSearch } from "./search.js";
import { Zones } from "./zones.js";
import { Availability } from "./availability.js";
import { Research } from "./research.js";
import { Risk } from "./risk.js";
import { Enforcement } from "./enforcement.js";
import { Monitoring } from "./monitoring.js";
import { initPhone } from "./phone.js";
import { phone, showError, showTab } from "./ui.js";

const config = JSON.parse(document.getElementById("config").textContent);
initLanguage(config.lang, config.messages);

// A person's tap on a tab opens the phone's sheet on it; the app's own switches say what they want.
function initTabs() {
  for (const tab of document.querySelectorAll("[data-tab]")) {
    tab.addEventListener("click", (e) => showTab(tab.dataset.tab, e.isTrusted ? "open" : null));
  }
}

function initLanguageSwitch() {
  const select = document.getElementById("lang-select");
  select.value = currentLang();
  select.addEventListener("change", () => setLanguage(select.value).catch(showError));
}

initTabs();
initLanguageSwitch();
const auth = new Auth();
const { map } = createMap(config);
const layers = new Layers(map, config.layers);
// On a phone the map comes first: the legend starts folded.
if (phone.matches) layers.legendFolded = true;
initPhone(map);
const zones = new Zones(map, layers, config);
const availability = new Availability(map, layers, zones);
const research = new Research(map, layers, config);
const risk = new Risk(map, layers);
const enforcement = new Enforcement(map, layers);
const monitoring = new Monitoring(map, layers);
document.querySelector("[data-tab=monitoring]").addEventListener("click", () => monitoring.activate().catch(showError));
initSearch(map, layers);
window.app = { auth, map, layers, zones, availability, research, enforcement, risk, monitoring, config };
// Signing in or out changes which layers may be read (private ones appear or go) and whether
// their tiles need the key: the list and every overlay are read again.
auth.addEventListener("change", () => {
  zones.applyRole(auth.can("edit"), auth.can("manage"));
  Promise.all([layers.reload(), zones.loadList()]).then(() => monitoring.signedInChanged()).catch(showError);
});
// Who is signed in decides what the lists hold: ask first (only when a key is kept).
auth.restore()
  .then(() => {
    zones.applyRole(auth.can("edit"), auth.can("manage"));
    return Promise.all([layers.load(), zones.loadList()]);
  })
  .then(() => document.body.classList.add("ready"))
  .catch(showError);
