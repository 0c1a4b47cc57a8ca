// The app's durable state: one IndexedDB database, shared by the page and the service
// worker. IndexedDB, not localStorage: it survives the app being closed and the phone
// restarting, a service worker can reach it, and a write can be made durable before the
// app says a tap is kept.

const NAME = "shipnotify-courier";
const VERSION = 1;

export const SESSION = "session"; // "courier": {token, expired}
export const TAPS = "taps"; // every tap, keyed by the order it was made in (seq)
export const RUN = "run"; // "today": the run as last fetched; "opened": stops opened by number
export const META = "meta"; // "upload": when the next upload may start (backoff)

let opening = null;

export function open() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore(SESSION);
      db.createObjectStore(TAPS, { keyPath: "seq", autoIncrement: true });
      db.createObjectStore(RUN);
      db.createObjectStore(META);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    // another context (an older service worker) holds an older version open: it closes it
    request.onblocked = () => console.warn("courier database upgrade waits for another tab");
  });
  return opening;
}

// An IDBRequest as a promise. Awaiting one inside `transaction` keeps the transaction open:
// the continuation runs in the request's success event, before it can commit.
export function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Runs `work(stores)` in one transaction and resolves with its result once the transaction
// has committed ("strict": flushed to disk, so a tap the screen shows as kept survives a
// power loss). `work` may await only requests of this transaction.
export async function transaction(names, mode, work) {
  const db = await open();
  const list = [].concat(names);
  return new Promise((resolve, reject) => {
    const tx = db.transaction(list, mode, { durability: "strict" });
    const stores = Object.fromEntries(list.map((n) => [n, tx.objectStore(n)]));
    let result;
    Promise.resolve()
      .then(() => work(stores))
      .then(
        (value) => {
          result = value;
        },
        (error) => {
          tx.abort();
          reject(error);
        },
      );
    tx.oncomplete = () => resolve(result);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}

export function read(store, key) {
  return transaction(store, "readonly", (s) => done(s[store].get(key)));
}

export function write(store, key, value) {
  return transaction(store, "readwrite", (s) => done(s[store].put(value, key)));
}
