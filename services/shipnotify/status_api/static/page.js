// The tracking page's script: times in the viewer's zone, and the page kept current from the
// events stream, or by polling the JSON API where the stream is not available. Its settings
// and words come in the page's JSON data block; each snapshot carries its progress stages.
(() => {
"use strict";
const $ = (id) => document.getElementById(id);
const C = JSON.parse($("page-data").textContent);
const el = (tag, cls, text) => {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text != null) n.textContent = text;
  return n;
};
let fmt = null;
try {
  fmt = new Intl.DateTimeFormat(C.lang, {day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
} catch (e) { fmt = null; }
const local = (t) => {
  const d = new Date(t.dateTime);
  if (!fmt || isNaN(d)) return;
  if (!t.title) t.title = t.textContent;
  t.textContent = fmt.format(d);
};
const time = (iso) => { const t = el("time", null, iso); t.dateTime = iso; local(t); return t; };
const ms = (iso) => Date.parse(iso) || 0;
const newestFirst = (items) => [...items].sort(
  (a, b) => ms(b.occurred_at) - ms(a.occurred_at) || ms(b.recorded_at) - ms(a.recorded_at));
const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const stage = ({state, label}) => {
  const li = el("li", "stage stage--" + state);
  if (C.stepStates.includes(state)) li.setAttribute("aria-current", "step");
  li.append(el("span", "stage-name", label));
  if (state === "attempted") li.append(el("span", "stage-note", C.ui.attempted));
  li.append(el("span", "vh", " (" + C.hidden[state] + ")"));
  return li;
};
const place = (p) => p ? [p.depot, p.city, p.country_code].filter(Boolean).join(", ") : "";
const item = (i) => {
  let cls = "item";
  if (i.failure_label) cls += " item--failed";
  if (C.ends.includes(i.status)) cls += " item--ended";
  const li = el("li", cls);
  li.dataset.testid = "timeline-item";
  li.dataset.status = i.status;
  li.append(el("p", "item-label", i.label));
  if (i.failure_label) li.append(el("p", "item-failure", i.failure_label));
  const where = place(i.location);
  if (where) li.append(el("p", "item-place", where));
  li.append(time(i.occurred_at));
  return li;
};
let shown = $("status").textContent;
const apply = (t) => {
  const items = newestFirst(t.timeline || []);
  const s = $("status");
  s.textContent = t.label;
  s.className = "status status--" + (has(C.kinds, t.status) ? C.kinds[t.status] : "active");
  const mine = items.find((i) => i.status === t.status);
  const failure = mine && mine.failure_label ? mine.failure_label : "";
  $("failure-text").textContent = failure;
  $("failure").hidden = !failure;
  if (t.progress) $("progress").replaceChildren(...t.progress.map(stage));
  $("timeline").replaceChildren(...items.map(item));
  $("empty").hidden = items.length > 0;
  let last = t.status_at;
  for (const i of items) if (ms(i.occurred_at) > ms(last)) last = i.occurred_at;
  const u = $("updated");
  u.dateTime = last;
  u.title = "";
  u.textContent = last;
  local(u);
  document.title = t.label + " · " + C.ui.title;
  if (t.label !== shown) {
    shown = t.label;
    $("announce").textContent = C.ui.status + ": " + t.label;
  }
};
const live = $("live");
const setLive = (state) => {
  live.hidden = false;
  live.className = "live live--" + state;
  const text = C.ui[state === "on" ? "live" : state === "off" ? "reconnecting" : "connecting"];
  if ($("live-text").textContent !== text) $("live-text").textContent = text;
};
document.querySelectorAll("time[datetime]").forEach(local);
if (fmt) $("tz-note").textContent = C.ui.local_note;
setLive("wait");
const q = "?lang=" + encodeURIComponent(C.lang);
const base = "/v1/track/" + encodeURIComponent(C.id);
let etag = null;
let polling = false;
const poll = async () => {
  if (!document.hidden) {
    try {
      const r = await fetch(base + q, {headers: etag ? {"If-None-Match": etag} : {},
        cache: "no-store"});
      if (r.status === 200) {
        etag = r.headers.get("ETag");
        apply(await r.json());
        setLive("on");
      } else {
        setLive(r.status === 304 ? "on" : "off");
      }
    } catch (e) {
      setLive("off");
    }
  }
  setTimeout(poll, C.pollMs);
};
const startPolling = () => { if (!polling) { polling = true; poll(); } };
if (!("EventSource" in window)) {
  startPolling();
} else {
  let errors = 0;
  const es = new EventSource(base + "/events" + q);
  es.addEventListener("open", () => setLive("on"));
  es.addEventListener("update", (e) => {
    errors = 0;
    setLive("on");
    try { apply(JSON.parse(e.data)); } catch (err) { /* a malformed event changes nothing */ }
  });
  es.addEventListener("error", () => {
    errors += 1;
    setLive("off");
    if (es.readyState === EventSource.CLOSED || errors >= C.maxErrors) {
      es.close();
      startPolling();
    }
  });
}
})();
