// The taps, in the order they were made: a durable queue in IndexedDB. A tap is kept before
// the screen shows it and stays until the server has answered it: "sent" (accepted) or
// "refused" (with the server's reason, never sent again). Answered taps are kept a while to
// be shown, then pruned.

import { TAPS, done, transaction } from "./db.js";
import { QUEUED, REFUSED, SENT } from "./policy.js";

const KEEP_SENT_MS = 24 * 3600_000;
const KEEP_REFUSED_MS = 7 * 24 * 3600_000;

// Keeps a tap (made at the tap: its event_id and occurred_at); resolves with its seq once
// it is on disk.
export function add(tap) {
  return transaction(TAPS, "readwrite", (s) =>
    done(s[TAPS].add({ ...tap, state: QUEUED, made: Date.now() })),
  );
}

// Every tap, oldest first (the key order).
export function all() {
  return transaction(TAPS, "readonly", (s) => done(s[TAPS].getAll()));
}

// The oldest `limit` taps still to send, in order.
export async function queued(limit) {
  return transaction(TAPS, "readonly", async (s) => {
    const found = [];
    const cursor = s[TAPS].openCursor();
    for (;;) {
      const at = await done(cursor);
      if (!at || found.length >= limit) return found;
      if (at.value.state === QUEUED) found.push(at.value);
      at.continue();
    }
  });
}

// Stores the server's verdicts ({seq, state, reason}) in one transaction.
export function settle(verdicts) {
  const answered = Date.now();
  return transaction(TAPS, "readwrite", async (s) => {
    for (const v of verdicts) {
      if (v.state === QUEUED) continue;
      const tap = await done(s[TAPS].get(v.seq));
      if (!tap || tap.state !== QUEUED) continue;
      await done(s[TAPS].put({ ...tap, state: v.state, reason: v.reason ?? null, answered }));
    }
  });
}

// Forgets answered taps once they are old news: sent ones after a day, refused after a week.
export function prune(now = Date.now()) {
  return transaction(TAPS, "readwrite", async (s) => {
    for (const tap of await done(s[TAPS].getAll())) {
      const age = now - (tap.answered ?? now);
      if ((tap.state === SENT && age > KEEP_SENT_MS) || (tap.state === REFUSED && age > KEEP_REFUSED_MS)) {
        await done(s[TAPS].delete(tap.seq));
      }
    }
  });
}
