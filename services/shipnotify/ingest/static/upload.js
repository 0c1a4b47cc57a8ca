// Uploads the queued taps, oldest first, through POST /v1/events:batch: from the page while
// it is open, and from the service worker when Background Sync wakes it (the app closed).
// One upload at a time across both: a Web Lock held for the whole run, so no two contexts
// send the same taps at once or out of order.

import { META, read, write } from "./db.js";
import * as policy from "./policy.js";
import * as queue from "./queue.js";
import * as session from "./session.js";

export const LOCK = "shipnotify-courier-upload";
export const CHANNEL = "shipnotify-courier"; // "the taps changed": the pages draw them again
export const SYNC_TAG = "upload-taps";
const ENDPOINT = "/v1/events:batch";
// Fewer a request than ingest takes (SHIPNOTIFY_MAX_BATCH_EVENTS): a request of a slow
// network stays short. A 413 halves it.
export const BATCH_MAX = 100;
// A request of a network that takes and never answers ends here (the lock is held
// meanwhile); it counts as a network failure and the same taps go again later.
const TIMEOUT_MS = 30_000;
const BACKOFF = "upload";

// Sends what is queued until nothing is, or until the server or the network says to stop.
// Resolves with {outcome}: "done", "signed_out", "waiting" (a wait not over: `at`), or
// "retry" (a failure: try again at `at`).
export function uploadQueued({ fetcher = fetch } = {}) {
  return navigator.locks.request(LOCK, () => run(fetcher));
}

// The wait is over once `at`; the network's part of it ends when the network returns
// (the "online" event), the server's Retry-After never early.
export async function waitUntil() {
  const wait = (await read(META, BACKOFF)) ?? { failures: 0, network: 0, server: 0 };
  return { ...wait, at: Math.max(wait.network, wait.server) };
}

export async function networkBack() {
  const wait = await waitUntil();
  await write(META, BACKOFF, { ...wait, network: 0 });
}

async function run(fetcher) {
  const wait = await waitUntil();
  if (wait.at > Date.now()) return { outcome: "waiting", at: wait.at };
  let size = BATCH_MAX;
  for (;;) {
    const signedIn = await session.current();
    if (!signedIn || signedIn.expired) return { outcome: "signed_out" };
    const taps = await queue.queued(size);
    if (taps.length === 0) {
      await write(META, BACKOFF, { failures: 0, network: 0, server: 0 });
      return { outcome: "done" };
    }
    let response;
    let body = null;
    try {
      response = await fetcher(ENDPOINT, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${signedIn.token}`,
          "Content-Type": "application/json",
        },
        body: JSON.stringify({ events: taps.map(policy.wire) }),
        cache: "no-store",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      body = await response.json().catch(() => null);
    } catch {
      return failed(wait, null, "network"); // offline, or the answer was lost: same ids again
    }
    const verdict = policy.judge(response.status, body, response.headers.get("Retry-After"));
    if (verdict.kind === "results") {
      const verdicts = policy.verdicts(taps, verdict.results);
      await queue.settle(verdicts);
      announce();
      size = BATCH_MAX;
      if (verdicts.some((v) => v.state === policy.QUEUED)) return failed(wait, null, "server");
    } else if (verdict.kind === "signed_out") {
      await session.expire(signedIn.token);
      announce();
      return { outcome: "signed_out" };
    } else if (verdict.kind === "smaller" && size > 1) {
      size = Math.ceil(size / 2);
    } else if (verdict.kind === "retry") {
      return failed(wait, verdict.afterS, "server");
    } else {
      // refused as a whole (a 4xx, or a 413 for one tap): shown with the reason, never resent
      const reason = verdict.reason ?? "too large";
      await queue.settle(taps.map((t) => ({ seq: t.seq, state: policy.REFUSED, reason })));
      announce();
    }
  }
}

async function failed(wait, afterS, cause) {
  const failures = wait.failures + 1;
  const at = Date.now() + policy.backoffMs(failures, afterS);
  const next = { failures, network: 0, server: 0 };
  next[cause] = at;
  await write(META, BACKOFF, next);
  return { outcome: "retry", at };
}

function announce() {
  const channel = new BroadcastChannel(CHANNEL);
  channel.postMessage({ changed: "taps" });
  channel.close();
}
