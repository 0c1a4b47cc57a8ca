// The tracking page's service worker: shows a shipment's push notice, and opens the
// shipment's page when the notice is clicked. Served at a URL that never changes
// (/static/push-worker.js), its scope the tracking pages (/t/). The notifier's payload is
// JSON: {"title", "body", "url", "tag", "lang"}.
"use strict";

// Only a page of this site is opened: a payload cannot send the reader elsewhere.
const pageOf = (url) => {
  try {
    const target = new URL(url, self.registration.scope);
    if (target.origin === self.location.origin) return target.href;
  } catch (e) { /* not a URL */ }
  return self.registration.scope;
};

const notice = (data) => self.registration.showNotification(
  typeof data.title === "string" && data.title ? data.title : self.location.host, {
    body: typeof data.body === "string" ? data.body : "",
    tag: typeof data.tag === "string" ? data.tag : "",
    lang: typeof data.lang === "string" ? data.lang : "",
    data: {url: pageOf(data.url)},
  });

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = (event.data && event.data.json()) || {};
  } catch (e) {
    data = {};  // still shown (a push must show a notice): the site's name, the tracking pages
  }
  event.waitUntil(notice(data));
});

const samePage = (a, b) => {
  const x = new URL(a);
  const y = new URL(b);
  return x.origin === y.origin && x.pathname === y.pathname;
};

// What a click does: the tab that shows the page (in any language) comes to the front, or a
// new one opens it. A function of its own, so that it can be called as the listener calls it.
self.openPage = async (url) => {
  const target = pageOf(url);
  const tabs = await self.clients.matchAll({type: "window", includeUncontrolled: true});
  const open = tabs.find((tab) => samePage(tab.url, target));
  return open ? open.focus() : self.clients.openWindow(target);
};

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.openPage((event.notification.data || {}).url));
});

// A new version takes over at once: it only shows notices and opens pages.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
