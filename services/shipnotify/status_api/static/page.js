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
let surveyFor = () => {};  // shows the question once the shipment is delivered (below)
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
  surveyFor(t.status);
  // a shipment that reached its end has no more notices to offer (as a page loaded then)
  if ($("push") && (t.status === "delivered" || C.ends.includes(t.status))) $("push").hidden = true;
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

// Push notices on this device: offered only where the browser has them (and the server has
// a VAPID key: then the data block has `push`). The subscription goes to hooks; this page
// remembers (localStorage) which shipments it subscribed this browser to.
const P = C.push;
if (P && $("push") && "serviceWorker" in navigator && "PushManager" in window &&
    "Notification" in window) {
  const note = $("push-note");
  const on = $("push-on");
  const off = $("push-off");
  const PREFIX = "shipnotify.push.";
  const mine = PREFIX + C.id;
  const store = (key, value) => {
    try {
      if (value) localStorage.setItem(key, value); else localStorage.removeItem(key);
    } catch (e) { /* storage off: the page forgets at reload */ }
  };
  const stored = (key) => { try { return localStorage.getItem(key); } catch (e) { return null; } };
  // Whether another shipment's page subscribed this browser with the same subscription.
  const shared = (endpoint) => {
    try {
      for (let i = 0; i < localStorage.length; i++) {
        const k = localStorage.key(i);
        if (k && k.startsWith(PREFIX) && k !== mine && localStorage.getItem(k) === endpoint) {
          return true;
        }
      }
    } catch (e) { /* no storage: none known */ }
    return false;
  };
  const say = (key, error) => {
    note.textContent = key ? P.ui[key] : "";
    note.className = "push-note" + (error ? " push-note--error" : "");
  };
  const subscribed = (yes) => { on.hidden = yes; off.hidden = !yes; };
  const busy = (yes) => { on.disabled = yes; off.disabled = yes; };
  const bytes = (b64url) => {
    const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  };
  const key = bytes(P.key);
  const sameKey = (sub) => {
    const k = sub.options && sub.options.applicationServerKey;
    if (!k) return true;
    const a = new Uint8Array(k);
    return a.length === key.length && a.every((v, i) => v === key[i]);
  };
  const zone = () => {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) {
      return "UTC";
    }
  };
  const within = (promise, ms) => Promise.race([promise, new Promise((_, fail) => {
    setTimeout(() => fail(new Error("the push service did not answer")), ms);
  })]);
  // hooks' answer: true for 202, false when it refused or could not be reached
  const send = async (method, body) => {
    try {
      const r = await fetch(P.url, {method, mode: "cors", credentials: "omit",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
      return r.status === 202;
    } catch (e) {
      return false;
    }
  };
  const subscription = async () => {
    await navigator.serviceWorker.register(P.worker, {scope: P.scope});
    const reg = await navigator.serviceWorker.ready;
    let sub = await reg.pushManager.getSubscription();
    if (sub && !sameKey(sub)) {  // made with an earlier server key: no longer reachable
      await sub.unsubscribe();
      sub = null;
    }
    return sub || within(reg.pushManager.subscribe({userVisibleOnly: true,
      applicationServerKey: key}), P.subscribeMs);
  };
  const start = async () => {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") return say("push_denied", true);
    let sub;
    try {
      sub = await subscription();
    } catch (e) {
      return say("push_unsupported", true);
    }
    const body = {tracking_id: C.id, subscription: sub.toJSON(), locale: C.lang,
      time_zone: zone()};
    if (!(await send("POST", body))) return say("push_refused", true);
    store(mine, sub.endpoint);
    subscribed(true);
    say("push_on");
    return off;
  };
  const stop = async () => {
    const reg = await navigator.serviceWorker.getRegistration(P.scope);
    const sub = reg ? await reg.pushManager.getSubscription() : null;
    const endpoint = sub ? sub.endpoint : stored(mine);
    if (endpoint && !(await send("DELETE", {tracking_id: C.id, endpoint}))) {
      return say("push_refused", true);
    }
    store(mine, null);
    if (sub && !shared(sub.endpoint)) await sub.unsubscribe();
    subscribed(false);
    say("push_off");
    return on;
  };
  // Runs a button's work with both buttons off; then focus goes to the button now shown.
  const act = (what) => async () => {
    busy(true);
    say(null);
    let next = null;
    try { next = await what(); } catch (e) { say("push_unsupported", true); }
    busy(false);
    if (next) next.focus();
  };
  on.addEventListener("click", act(start));
  off.addEventListener("click", act(stop));
  $("push").hidden = false;
  const was = stored(mine);
  if (was) {  // subscribed here before: still, if the browser keeps that subscription
    navigator.serviceWorker.getRegistration(P.scope)
      .then((reg) => (reg ? reg.pushManager.getSubscription() : null))
      .then((sub) => {
        if (sub && sub.endpoint === was) { subscribed(true); say("push_on"); } else store(mine, null);
      })
      .catch(() => {});
  }
}

// The question after delivery: a tap on a score sends it to hooks; a low score brings
// "What went wrong?". Each form has its nonce, so a retried POST is the same answer.
const S = C.survey;
if (S && $("survey")) {
  const section = $("survey");
  const ask = $("survey-ask");
  const why = $("survey-why");
  const note = $("survey-note");
  const scores = section.querySelectorAll("button.score");
  const nonce = () => (window.crypto && crypto.randomUUID ? crypto.randomUUID()
    : Date.now().toString(36) + Math.random().toString(36).slice(2));
  const nonces = {answer: nonce(), why: nonce()};
  const say = (key, error) => {
    note.textContent = key ? S.ui[key] : "";
    note.className = "survey-note" + (error ? " survey-note--error" : "");
  };
  const post = async (url, body) => {
    try {
      const r = await fetch(url, {method: "POST", mode: "cors", credentials: "omit",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
      return r.status === 202 ? await r.json() : null;
    } catch (e) {
      return null;
    }
  };
  const busy = (yes) => {
    scores.forEach((b) => { b.disabled = yes; });
    why.querySelector("button").disabled = yes;
  };
  scores.forEach((b) => b.addEventListener("click", async () => {
    busy(true);
    say(null);
    const r = await post(S.url, {score: Number(b.dataset.score), nonce: nonces.answer});
    busy(false);
    if (!r) return say("failed", true);
    ask.hidden = true;
    if (!r.unhappy) return say("thanks");
    why.hidden = false;
    why.querySelector("input").focus();
  }));
  why.addEventListener("change", () => say(null));  // a reason chosen: the plea to choose goes
  why.addEventListener("submit", async (e) => {
    e.preventDefault();
    const picked = why.querySelector("input[name=reason]:checked");
    if (!picked) return say("pick", true);
    busy(true);
    say(null);
    const r = await post(S.url + "/follow-up",
      {reason: picked.value, comment: $("survey-comment").value, nonce: nonces.why});
    busy(false);
    if (!r) return say("failed", true);
    why.hidden = true;
    say("noted");
  });
  surveyFor = (status) => { section.hidden = status !== "delivered"; };
  surveyFor(C.status);
}
})();
