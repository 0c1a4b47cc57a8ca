// The courier app's page: signs in from the link, shows today's run with each stop's next
// statuses as large buttons, keeps every tap in the durable queue at once, and has the queue
// uploaded: now when online, later by the service worker (Background Sync) or by this page
// (on start, when the network returns, every 30 s).

import * as dialogs from "./dialogs.js";
import * as policy from "./policy.js";
import * as queue from "./queue.js";
import * as run from "./run.js";
import * as scan from "./scan.js";
import * as session from "./session.js";
import { CHANNEL, SYNC_TAG, networkBack, uploadQueued } from "./upload.js";

const config = JSON.parse(document.getElementById("config").textContent);
const REFRESH_MS = 5 * 60_000; // the run is fetched again this often (new shipments)
const $ = (id) => document.getElementById(id);
// Times as the phone's own locale writes them, when it is of the page's language ("en-GB":
// 24 hours), else as the language does.
const locale = navigator.languages.find((l) => l.split("-")[0] === config.lang) ?? config.lang;
const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
const day = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short" });

// A time of today as its hour; of another day with the day too (a phone's clock was off).
function when(ms) {
  const sameDay = new Date(ms).toDateString() === new Date().toDateString();
  return sameDay ? clock.format(ms) : `${day.format(ms)} ${clock.format(ms)}`;
}

function say(key, values = {}) {
  return config.words[key].replace(/\{(\w+)\}/g, (_, name) => values[name] ?? "");
}

const statusLabel = (status) => (status ? config.statuses[status] ?? status : config.words.no_status);

// -- drawing: everything from IndexedDB, so that the screen shows what is kept

let shown = new Map(); // shipment id -> the stop as drawn, for the buttons' handler
let drawing = Promise.resolve();

function draw() {
  drawing = drawing.then(drawNow, drawNow); // one at a time, in order: the last one wins
  return drawing;
}

async function drawNow() {
  const [signedIn, current, taps] = await Promise.all([session.current(), run.cached(), queue.all()]);
  $("sign-in").hidden = Boolean(signedIn);
  $("sign-in-again").hidden = !signedIn?.expired;
  $("offline").hidden = navigator.onLine;
  $("who").textContent = current?.courier_id ? say("signed_in_as", { id: current.courier_id }) : "";
  $("as-of").textContent = current?.at ? say("run_as_of", { time: clock.format(current.at) }) : "";
  const stops = (current?.shipments ?? []).map((s) => policy.localStop(s, taps, current.progress));
  shown = new Map(stops.map((s) => [s.shipment_id, s]));
  $("stops").replaceChildren(...stops.map(drawStop));
  $("no-stops").hidden = !current || stops.length > 0;
  const waiting = taps.filter((t) => t.state === policy.QUEUED).length;
  $("waiting").textContent = say("waiting", { count: waiting });
  $("taps").replaceChildren(...[...taps].reverse().map(drawTap));
}

function fromTemplate(id) {
  return $(id).content.firstElementChild.cloneNode(true);
}

function drawStop(stop) {
  const node = fromTemplate("stop-template");
  const part = (name) => node.querySelector(name);
  node.dataset.shipment = stop.shipment_id;
  node.dataset.tracking = stop.tracking_id;
  node.dataset.status = stop.status;
  part(".stop-name").textContent = stop.recipient?.name || stop.tracking_id;
  part(".stop-status").textContent = say("now", { status: statusLabel(stop.status) });
  part(".stop-tracking").textContent = stop.tracking_id;
  part(".stop-address").textContent = stop.recipient?.address || config.words.no_address;
  const phone = stop.recipient?.phone;
  if (phone) {
    const call = document.createElement("a");
    call.href = `tel:${phone}`;
    call.className = "button button--call";
    call.dataset.testid = "call";
    call.textContent = say("call", { phone });
    part(".stop-call").append(call);
  } else {
    part(".stop-call").textContent = config.words.no_phone;
  }
  if (stop.tap) {
    const line = part(".stop-tap");
    line.hidden = false;
    line.dataset.state = stop.tap.state;
    line.textContent = tapLine(stop.tap);
  }
  const actions = part(".actions");
  for (const status of stop.next) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button button--status";
    button.dataset.status = status;
    button.dataset.testid = `tap-${status}`;
    button.textContent = statusLabel(status);
    actions.append(button);
  }
  return node;
}

function tapLine(tap) {
  const state = config.words[`state.${tap.state}`];
  const line = `${statusLabel(tap.status)}: ${state}`;
  return tap.state === policy.REFUSED ? `${line}. ${say("refused_because", { reason: tap.reason })}` : line;
}

function drawTap(tap) {
  const node = fromTemplate("tap-template");
  node.dataset.state = tap.state;
  node.dataset.event = tap.event_id;
  let what = `${when(Date.parse(tap.occurred_at))} · ${tap.name || tap.tracking_id} · ${statusLabel(tap.status)}`;
  if (tap.failure) what += ` (${config.failures[tap.failure] ?? tap.failure})`;
  if (tap.received_by) what += ` (${say("received_by", { name: tap.received_by })})`;
  node.querySelector(".tap-what").textContent = what;
  node.querySelector(".tap-state").textContent = config.words[`state.${tap.state}`];
  if (tap.state === policy.REFUSED) {
    node.querySelector(".tap-reason").textContent = say("refused_because", { reason: tap.reason });
  }
  return node;
}

// -- tapping: the tap's id and time are made at the tap, and it is on disk before it shows

let tapping = false;

async function tap(stop, status) {
  if (tapping) return; // a second finger or a double tap while the first is being kept
  tapping = true;
  try {
    const made = {
      event_id: crypto.randomUUID(),
      occurred_at: new Date().toISOString(),
      shipment_id: stop.shipment_id,
      tracking_id: stop.tracking_id,
      name: stop.recipient?.name ?? "", // shown in the list only; never sent
      status,
    };
    if (status === "delivery_attempted") {
      made.failure = await dialogs.failureReason();
      if (!made.failure) return;
    }
    if (status === "delivered") {
      made.received_by = await dialogs.receivedBy();
      if (!made.received_by) return;
    }
    await queue.add(made);
    await draw();
    await askForSync();
    kick();
  } finally {
    tapping = false;
  }
}

// -- uploading: one run at a time in this page (the lock orders it with the worker's)

let uploading = null;
let again = false;
let retryTimer = 0;

function kick() {
  if (uploading) {
    again = true; // a tap came in during the run: one more once it ends
    return;
  }
  uploading = (async () => {
    do {
      again = false;
      const result = await uploadQueued();
      clearTimeout(retryTimer);
      if (result.at) retryTimer = setTimeout(kick, Math.max(0, result.at - Date.now()));
      await draw();
    } while (again);
  })()
    .catch((error) => console.error("upload failed", error))
    .finally(() => {
      uploading = null;
    });
}

// Background Sync: the browser wakes the worker to upload once it is online, even with the
// app closed. Where there is none, this page's own tries are all there is.
async function askForSync() {
  const registration = await navigator.serviceWorker?.getRegistration(config.scope);
  if (registration && "sync" in registration) {
    await registration.sync.register(SYNC_TAG).catch(() => undefined); // (denied: no matter)
  }
}

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register(config.worker, { type: "module", scope: config.scope });
  } catch (error) {
    console.warn("the app will not open offline:", error.message); // (offline at a first visit)
  }
}

// -- the run, sign-in, opening a shipment by number

async function refreshRun() {
  const outcome = await run.refresh();
  await draw();
  return outcome;
}

async function signInFromLink() {
  const token = session.fromLink(location.hash);
  if (!token) return false;
  await session.signIn(token);
  history.replaceState(null, "", location.pathname + location.search); // drop the token
  return true;
}

function tell(text) {
  const message = $("open-message");
  message.textContent = text;
  message.hidden = !text;
}

async function openShipment(text) {
  const trackingId = policy.trackingIdOf(text);
  if (!trackingId) return;
  const found = await run.open(trackingId);
  const messages = {
    ok: () => say("opened", { tracking: trackingId }),
    not_found: () => config.words.not_found,
    other_courier: () => config.words.other_courier,
    offline: () => config.words.open_offline,
    signed_out: () => "",
    failed: () => say("open_failed", { reason: found.reason }),
  };
  tell(messages[found.outcome]());
  await draw();
  if (found.outcome === "ok") {
    $("tracking-number").value = "";
    document.querySelector(`[data-shipment="${CSS.escape(found.stop.shipment_id)}"]`)?.scrollIntoView();
  }
}

function bind() {
  $("stops").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-status]");
    const stop = button && shown.get(button.closest("[data-shipment]").dataset.shipment);
    if (stop) tap(stop, button.dataset.status);
  });
  $("open").addEventListener("submit", (event) => {
    event.preventDefault(); // opened here; the form is never submitted
    openShipment($("tracking-number").value);
  });
  if (scan.available()) {
    $("scan").hidden = false;
    $("scan").addEventListener("click", async () => {
      try {
        const text = await dialogs.scanning(scan.scan);
        if (text) await openShipment(text);
      } catch (error) {
        tell(say("camera_failed", { reason: error.message }));
      }
    });
  }
  addEventListener("online", async () => {
    await networkBack(); // the network's backoff is over; a server's Retry-After is not
    await refreshRun();
    kick();
  });
  addEventListener("offline", () => draw());
  addEventListener("hashchange", async () => {
    if (await signInFromLink()) {
      await refreshRun();
      kick();
    }
  });
  new BroadcastChannel(CHANNEL).onmessage = () => draw(); // the worker uploaded
  setInterval(kick, config.pollMs);
  setInterval(refreshRun, REFRESH_MS);
}

async function start() {
  await signInFromLink();
  bind();
  await queue.prune();
  await draw();
  await registerWorker();
  await refreshRun();
  kick();
}

start().catch((error) => console.error("the app could not start", error));
