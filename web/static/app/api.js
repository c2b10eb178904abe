// Talking to the service: JSON in and out with the signed-in key, problem details (RFC 9457)
// turned into readable errors.
import { currentLang, t } from "./i18n.js";

// The key lives in sessionStorage: it goes when the browser session ends, and no other tab
// shares it.
const KEY_STORE = "geo-service.key";
const unauthorizedListeners = [];

export class ApiError extends Error {
  constructor(status, problem, url = "") {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.url = url;
  }
}

export function accessKey() {
  return sessionStorage.getItem(KEY_STORE) || "";
}

export function setAccessKey(key) {
  if (key) sessionStorage.setItem(KEY_STORE, key);
  else sessionStorage.removeItem(KEY_STORE);
}

export function authHeaders(key = accessKey()) {
  return key ? { Authorization: `Bearer ${key}` } : {};
}

// For URLs that cannot carry a header (raster tile images): the key as `key=`.
export function withKey(url) {
  const key = accessKey();
  return key ? `${url}${url.includes("?") ? "&" : "?"}key=${encodeURIComponent(key)}` : url;
}

// The server refused the key the app sent (revoked meanwhile): whoever keeps it is told.
export function onUnauthorized(listener) {
  unauthorizedListeners.push(listener);
}

async function problemOf(response) {
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) {
    try {
      return await response.json();
    } catch {
      return { title: response.statusText };
    }
  }
  return { title: `${response.status} ${response.statusText}`, detail: (await response.text()).slice(0, 300) };
}

// One request with the signed-in key (or `key`, one being checked); `json` is sent as the body,
// `form` as multipart; the answer is parsed by `as` ("tagged": { data, etag } of a JSON answer).
export async function request(method, url, { json, form, as = "json", headers = {}, key = accessKey() } = {}) {
  // The server words its problems in the interface's language, not the browser's.
  const init = { method, headers: { "Accept-Language": currentLang(), ...authHeaders(key), ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (form !== undefined) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, { title: t("error.network"), detail: t("error.network") }, url);
  }
  if (!response.ok) {
    const error = new ApiError(response.status, await problemOf(response), url);
    if (response.status === 401 && key && key === accessKey()) for (const listener of unauthorizedListeners) listener(error);
    throw error;
  }
  if (as === "response") return response;
  if (as === "blob") return response.blob();
  if (as === "text") return response.text();
  if (as === "tagged") return { data: response.status === 204 ? null : await response.json(), etag: response.headers.get("ETag") };
  if (response.status === 204) return null;
  return response.json();
}

export const getJSON = (url) => request("GET", url);
export const postJSON = (url, json, options = {}) => request("POST", url, { json, ...options });
export const patchJSON = (url, json, options = {}) => request("PATCH", url, { json, ...options });
