// The courier's sign-in: the token from the link (`/courier/#token=...`), kept in IndexedDB.
// A 401 marks it expired rather than deleting it: the courier sees "sign in again", every
// tap stays queued, and the next link replaces it.

import { SESSION, done, read, transaction } from "./db.js";

const KEY = "courier";

export async function current() {
  return (await read(SESSION, KEY)) ?? null;
}

export function signIn(token) {
  return transaction(SESSION, "readwrite", (s) =>
    done(s[SESSION].put({ token, expired: false, since: Date.now() }, KEY)),
  );
}

// Only the token that was refused is marked: a new link may have replaced it meanwhile.
export function expire(token) {
  return transaction(SESSION, "readwrite", async (s) => {
    const now = await done(s[SESSION].get(KEY));
    if (now && now.token === token) await done(s[SESSION].put({ ...now, expired: true }, KEY));
  });
}

// The token from a sign-in link's fragment, if the address has one (the fragment never
// reaches a server or a log; the app drops it from the address once kept).
export function fromLink(hash) {
  const token = new URLSearchParams(hash.replace(/^#/, "")).get("token");
  return token && /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token) ? token : null;
}
