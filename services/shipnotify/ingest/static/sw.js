// The service worker (a module, scope /courier/): keeps the app's shell (the page, its
// scripts, stylesheet and icons) so that /courier/ opens with no network, and uploads the
// queued taps when Background Sync says the network is back, even with the app closed.
// Served from /courier/static/<version>/sw.js: a new version of the app is a new worker with
// a cache of its own; the old cache goes when the new worker takes over.

import { SYNC_TAG, networkBack, uploadQueued } from "./upload.js";

const STATIC = new URL("./", self.location).pathname; // /courier/static/<version>/
const VERSION = STATIC.split("/").at(-2);
const BASE = new URL("../../", self.location).pathname; // /courier/
const CACHE = `courier-${VERSION}`;
const VERSION_HEADER = "Courier-Shell-Version";
const PAGE_TIMEOUT_MS = 4000; // a network this slow serves the kept page instead

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const files = await (await fetch(`${STATIC}files.json`)).json();
      await cache.addAll(files);
      const page = await fetch(BASE, { cache: "no-cache" });
      if (!page.ok || page.headers.get(VERSION_HEADER) !== VERSION) {
        throw new Error("the page is of another version: the next visit installs that one");
      }
      await cache.put(BASE, page);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("courier-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (event.request.mode === "navigate" && url.pathname === BASE) {
    event.respondWith(page(event.request));
  } else if (url.pathname.startsWith(STATIC)) {
    event.respondWith(kept(event.request));
  }
  // anything else (the API) goes to the network as if there were no worker
});

// The page: from the network when it answers soon (a language switch, an update), kept for
// the next start with no network; otherwise the kept one.
async function page(request) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), PAGE_TIMEOUT_MS);
  try {
    const fresh = await fetch(request, { signal: abort.signal });
    if (fresh.ok && fresh.headers.get(VERSION_HEADER) === VERSION) {
      // (a page of another version names files this cache lacks: it goes uncached, and
      // registers the worker of its version)
      await (await caches.open(CACHE)).put(BASE, fresh.clone());
      return fresh;
    }
    if (fresh.ok) return fresh;
    return (await caches.match(BASE, { ignoreVary: true, ignoreSearch: true })) ?? fresh;
  } catch {
    const kept = await caches.match(BASE, { ignoreVary: true, ignoreSearch: true });
    return kept ?? Response.error();
  } finally {
    clearTimeout(timer);
  }
}

// A versioned file never changes: the kept copy, else the network's.
async function kept(request) {
  return (await caches.match(request, { ignoreVary: true })) ?? fetch(request);
}

self.addEventListener("sync", (event) => {
  if (event.tag !== SYNC_TAG) return;
  // The browser fires it once it sees the network: a wait for the network is over (a
  // server's Retry-After is not).
  event.waitUntil(
    networkBack()
      .then(() => uploadQueued())
      .then((result) => {
        // rejecting asks the browser to fire the sync again later (its own backoff)
        if (result.outcome === "retry" || result.outcome === "waiting") {
          throw new Error(`taps still queued: ${result.outcome}`);
        }
      }),
  );
});
