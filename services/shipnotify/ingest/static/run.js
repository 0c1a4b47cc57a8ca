// Today's run: the courier's shipments as ingest lists them, kept in IndexedDB so that the
// app shows them offline, and the shipments the courier opened by number or by scan.

import { RUN, done, read, transaction } from "./db.js";
import * as session from "./session.js";

const TODAY = "today";
const OPENED = "opened";
const KEEP_OPENED_MS = 24 * 3600_000;
const TIMEOUT_MS = 15_000; // then the kept run is what the courier sees

// The run as last fetched ({courier_id, shipments, progress, at}) with the stops opened
// since, each once; null before the first fetch.
export async function cached() {
  const today = await read(RUN, TODAY);
  const opened = Object.values((await read(RUN, OPENED)) ?? {});
  if (!today && opened.length === 0) return null;
  const listed = new Set((today?.shipments ?? []).map((s) => s.shipment_id));
  const extra = opened.filter((o) => !listed.has(o.stop.shipment_id)).map((o) => o.stop);
  return {
    courier_id: today?.courier_id ?? null,
    progress: today?.progress ?? {},
    at: today?.at ?? null,
    shipments: [...(today?.shipments ?? []), ...extra],
  };
}

// Fetches the run and keeps it. Resolves with "ok", "signed_out", "offline" or "failed".
export async function refresh() {
  const found = await ask("/v1/courier/shipments");
  if (found.outcome !== "ok") return found.outcome;
  await transaction(RUN, "readwrite", async (s) => {
    await done(s[RUN].put({ ...found.body, at: Date.now() }, TODAY));
    const opened = (await done(s[RUN].get(OPENED))) ?? {};
    for (const [id, o] of Object.entries(opened)) {
      if (Date.now() - o.at > KEEP_OPENED_MS) delete opened[id];
    }
    await done(s[RUN].put(opened, OPENED));
  });
  return "ok";
}

// Opens a shipment by its tracking number. Resolves with {outcome}: "ok" (with `stop`),
// "not_found", "other_courier", "signed_out", "offline" or "failed" (with `reason`).
export async function open(trackingId) {
  const found = await ask(`/v1/courier/shipments/${encodeURIComponent(trackingId)}`);
  if (found.outcome !== "ok") return found;
  const stop = found.body;
  await transaction(RUN, "readwrite", async (s) => {
    const opened = (await done(s[RUN].get(OPENED))) ?? {};
    opened[stop.shipment_id] = { stop, at: Date.now() };
    await done(s[RUN].put(opened, OPENED));
  });
  return { outcome: "ok", stop };
}

async function ask(path) {
  const signedIn = await session.current();
  if (!signedIn || signedIn.expired) return { outcome: "signed_out" };
  let response;
  let body = null;
  try {
    response = await fetch(path, {
      headers: { Authorization: `Bearer ${signedIn.token}` },
      cache: "no-store",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    body = await response.json().catch(() => null);
  } catch {
    return { outcome: "offline" };
  }
  if (response.ok && body) return { outcome: "ok", body };
  if (response.status === 401) {
    await session.expire(signedIn.token);
    return { outcome: "signed_out" };
  }
  if (response.status === 404) return { outcome: "not_found" };
  if (response.status === 403) return { outcome: "other_courier" };
  return { outcome: "failed", reason: (body && body.message) || String(response.status) };
}
