// Talking to the service: JSON in and out, problem details (RFC 9457) turned into readable errors.
import { t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, problem, url = "") {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.url = url;
  }
}

export function userName() {
  return document.getElementById("user-name").value.trim();
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

// One request; `json` is sent as the body, `form` as multipart; the answer is parsed by `as`.
export async function request(method, url, { json, form, as = "json", headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (form !== undefined) {
    init.body = form;
  }
  // HTTP headers carry Latin-1 only: say so rather than let fetch fail as a "network" error.
  if (method !== "GET" && userName()) {
    if (/[^\x20-\xff]/.test(userName())) throw new ApiError(0, { detail: t("user.invalid") }, url);
    init.headers["X-User"] = userName();
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new ApiError(0, { title: t("error.network"), detail: t("error.network") });
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response), url);
  if (as === "response") return response;
  if (as === "blob") return response.blob();
  if (as === "text") return response.text();
  if (response.status === 204) return null;
  return response.json();
}

export const getJSON = (url) => request("GET", url);
export const postJSON = (url, json, options = {}) => request("POST", url, { json, ...options });
export const patchJSON = (url, json) => request("PATCH", url, { json });
