// Interface messages in English and French: t(key) and data-i18n attributes, switchable live.
const state = { lang: "en", messages: {}, listeners: [] };

// `{name}` placeholders are filled from `vars`; with vars.n === 1 a `key_one` message wins.
export function t(key, vars = {}) {
  const singular = vars.n === 1 ? state.messages[`${key}_one`] : undefined;
  const text = singular ?? state.messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function has(key) {
  return key in state.messages;
}

// A stored value (status, kind, title type...) as a label; unknown values are shown as they are.
export function label(field, value) {
  if (value === null || value === undefined || value === "") return "";
  const key = `value.${field}.${value}`;
  return key in state.messages ? state.messages[key] : String(value).replace(/_/g, " ");
}

export function fieldLabel(field) {
  const key = `field.${field}`;
  return key in state.messages ? state.messages[key] : field.replace(/_/g, " ");
}

export function currentLang() {
  return state.lang;
}

export function formatNumber(value, digits = 2) {
  const locale = state.lang === "fr" ? "fr-FR" : "en-GB";
  return Number(value).toLocaleString(locale, { maximumFractionDigits: digits });
}

export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.title = t(el.dataset.i18nTitle);
    el.setAttribute("aria-label", el.title);
  }
}

export function onLanguageChange(listener) {
  state.listeners.push(listener);
}

export function initLanguage(lang, messages) {
  state.lang = lang;
  state.messages = messages;
  document.documentElement.lang = lang;
  translatePage();
}

export async function setLanguage(lang) {
  // The messages of the same version as this module (its URL's ?v=, from the page's import map).
  const response = await fetch(`/static/i18n/${lang}.json${new URL(import.meta.url).search}`);
  if (!response.ok) throw new Error(`messages for ${lang}: HTTP ${response.status}`);
  initLanguage(lang, await response.json());
  const url = new URL(window.location.href);
  url.searchParams.set("lang", lang);
  window.history.replaceState(null, "", url);
  for (const listener of state.listeners) listener(lang);
}
