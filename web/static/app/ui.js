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
  if (problem.title && problem.title !== text && problem.title !== "HTTP error") text = `${problem.title}: ${text}`;
  if (error.status === 404 && error.url && !problem.type?.startsWith("/problems/")) text = `${text} (${error.url})`;
  return showMessage(text, "error");
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

export function openBlob(blob) {
  const url = URL.createObjectURL(blob);
  window.open(url, "_blank", "noopener");
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
