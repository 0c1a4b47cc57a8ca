// The app's decisions, apart from any I/O so that they are tested alone: what an upload's
// answer means for the taps it carried, how long to wait before the next try, and what a
// stop shows once the courier's own taps are counted.

export const QUEUED = "queued";
export const SENT = "sent";
export const REFUSED = "refused";

const FIRST_DELAY_MS = 2_000;
const MAX_DELAY_MS = 5 * 60_000;

// The answer to `POST /v1/events:batch`, as what to do next:
// - results: every item has its verdict (accepted or refused with its reason);
// - signed_out: the token is expired or invalid; the taps stay queued until a new sign-in;
// - smaller: 413, more taps than the server takes at once; the same taps, fewer a request;
// - retry: the server or the way to it is down for now (5xx, 429, 408); after `afterS`
//   seconds at the earliest when it said so (Retry-After);
// - refused: any other 4xx; the server will never take these taps as they are, so they are
//   shown refused with its reason and never sent again.
export function judge(status, body, retryAfter, now = Date.now()) {
  if (status === 200 && body && Array.isArray(body.results)) {
    return { kind: "results", results: body.results };
  }
  if (status === 401) return { kind: "signed_out", reason: reasonOf(body) };
  if (status === 413) return { kind: "smaller" };
  if (status >= 500 || status === 429 || status === 408 || status < 400) {
    return { kind: "retry", afterS: retryAfterS(retryAfter, now) };
  }
  return { kind: "refused", reason: reasonOf(body) };
}

// What the server said was wrong: each field's reason ("occurred_at: is more than 30 days
// old"), else its message, else the status line's code.
export function reasonOf(body, prefix = "") {
  const fields = body && typeof body.fields === "object" && body.fields ? body.fields : {};
  const named = Object.entries(fields).map(([k, v]) => `${k.startsWith(prefix) ? k.slice(prefix.length) : k}: ${v}`);
  if (named.length) return named.join("; ");
  return (body && (body.message || body.error)) || "refused";
}

// The refusal of item `index` of a batch: its fields without the `events.<index>.` prefix.
export function itemReason(result) {
  return reasonOf({ fields: result.fields ?? {} }, `events.${result.index}.`);
}

// Retry-After as seconds: a number of seconds or an HTTP date; null when absent or garbled.
export function retryAfterS(value, now = Date.now()) {
  if (value == null || value === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

// The wait before try number `failures + 1`: doubling from 2 s up to 5 minutes, spread
// (half to all of it) so that many phones coming back at once do not knock together; never
// shorter than the server's Retry-After.
export function backoffMs(failures, afterS = null, random = Math.random) {
  const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, failures - 1));
  const spread = ceiling / 2 + (ceiling / 2) * random();
  return Math.max(Math.round(spread), (afterS ?? 0) * 1000);
}

// A tap as the batch endpoint takes it: only the fields its schema names.
export function wire(tap) {
  const event = {
    shipment_id: tap.shipment_id,
    event_id: tap.event_id,
    occurred_at: tap.occurred_at,
    status: tap.status,
  };
  if (tap.failure) event.failure = tap.failure;
  if (tap.received_by) event.received_by = tap.received_by;
  return event;
}

// The verdict of each tap of a batch (`taps` in the order sent; `results` by index): the
// state and reason to store. A tap the answer does not mention stays queued.
export function verdicts(taps, results) {
  const byIndex = new Map(results.map((r) => [r.index, r]));
  return taps.map((tap, index) => {
    const result = byIndex.get(index);
    if (!result) return { seq: tap.seq, state: QUEUED };
    if (result.result === "accepted") return { seq: tap.seq, state: SENT };
    return { seq: tap.seq, state: REFUSED, reason: itemReason(result) };
  });
}

// A stop as the courier sees it: the server's status, unless taps of this shipment made
// after it (queued or sent, not refused) moved it on; then the last such tap's status, with
// the statuses `progress` says may follow it. `tap` is the stop's latest tap, to show its
// state. `taps` are in the order made.
export function localStop(stop, taps, progress) {
  // (a shipment tapped before its registration has no status yet: any tap is later)
  const since = stop.status_at ? Date.parse(stop.status_at) : -Infinity;
  let status = stop.status;
  let next = stop.next ?? [];
  let tap = null;
  for (const t of taps) {
    if (t.shipment_id !== stop.shipment_id) continue;
    tap = t;
    if (t.state === REFUSED || !(Date.parse(t.occurred_at) > since)) continue;
    status = t.status;
    next = progress[t.status] ?? [];
  }
  return { ...stop, status, next, tap };
}

// The tracking number in what the courier typed or scanned: the number itself, in any case
// and with spaces, or a tracking link (`https://.../t/<number>`, as a label's QR code has).
export function trackingIdOf(text) {
  let value = text.trim();
  const link = /^https?:\/\/[^/]+\/t\/([^/?#]+)/i.exec(value);
  if (link) value = decodeURIComponent(link[1]);
  return value.replace(/\s+/g, "").toLowerCase();
}
