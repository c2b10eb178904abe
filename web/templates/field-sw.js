// The field form's service worker (served by GET /field-sw.js, scope /field): it keeps the
// form's page and the files that page loads, so that the form opens and reloads where the
// phone has no signal. The server writes the lists below from the rendered page; the cache is
// named after the files' version, so a release brings a new worker, a new cache, and the old
// cache goes when the new worker takes over. Answers of the API are never kept here: the form
// keeps its own queue of entries and its last lists of sites (field.js).

const CACHE = {{ cache | tojson }};
const PREFIX = {{ prefix | tojson }};
const PAGES = {{ pages | tojson }};  // "/field" first, then one page per language
const FILES = {{ files | tojson }};
// How long a reload waits for a weak signal before it shows the kept page.
const PATIENCE_MS = 5000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll([...PAGES, ...FILES])).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith(PREFIX) && name !== CACHE).map((name) => caches.delete(name)),
      ))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === "/field") event.respondWith(page(request, url));
  else if (url.pathname.startsWith("/static/")) event.respondWith(file(request, url));
});

// The page: from the network (kept for the next time), else the kept one of its language.
async function page(request, url) {
  const cache = await caches.open(CACHE);
  const kept = async () => {
    const lang = url.searchParams.get("lang");
    return (await cache.match(request.url, { ignoreVary: true }))
      ?? (await cache.match(PAGES.find((p) => p.endsWith(`?lang=${lang}`)) ?? PAGES[0], { ignoreVary: true }));
  };
  const network = fetch(request).then(async (response) => {
    if (response.ok) await cache.put(request.url, response.clone());
    return response;
  });
  const slow = new Promise((resolve) => { setTimeout(resolve, PATIENCE_MS); });
  try {
    return await Promise.race([network, slow.then(async () => (await kept()) ?? network)]);
  } catch {
    return (await kept()) ?? Response.error();
  }
}

// A file of the page: its URL carries the files' version, so a kept copy is the right one.
async function file(request, url) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request, { ignoreVary: true });
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok && url.searchParams.has("v")) await cache.put(request, response.clone());
  return response;
}
