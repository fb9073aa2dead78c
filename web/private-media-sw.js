/* private-media-sw.js: the service worker of private-media.js (copy both files; no build step).
 *
 * It adds `Authorization: Bearer <viewing token>` to the GET and HEAD requests a page makes to
 * the media origins that page configured, so that `<video src="https://media.example.com/...">`
 * streams, seeks and buffers natively from the CDN. Everything else is left alone: navigations,
 * same-origin requests, other origins, other methods, requests that already carry Authorization,
 * and every request of a page that configured nothing (respondWith is not called for them).
 *
 * Tokens live in this worker's memory only, one per page (client): two tabs of two members never
 * share one. Each page's startPrivateMedia is a session (a number that grows within the page):
 * only the page's newest session counts, and a message of an older one (a late configure, a
 * late token answer) is dropped. What is not secret (a page's session, media origins, range
 * size) is also kept in Cache Storage, so a worker the browser stopped and started again asks the
 * page for its token at the first media request instead of sending it without one.
 * A classic script, so an app with a service worker of its own can importScripts() it.
 */
"use strict";

const PRIVATE_MEDIA = "private-media";
const TOKEN_ANSWER_TIMEOUT_MS = 5000; // a page that does not answer in time: the 401 goes through
const MAX_MEDIA_ORIGINS = 16;
const MAX_TOKEN_CHARS = 8192;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/; // RFC 6750 b64token: nothing that could split a header
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const MIN_CHUNK_BYTES = 64 * 1024;
const MEDIA_DESTINATIONS = new Set(["video", "audio"]);
const KEPT_CACHE = "private-media"; // Cache Storage: the pages' settings, never a token
const KEPT_PATH = "/private-media-sw/pages.json";

/** clientId -> {session, token (null until the page hands one over, e.g. after a restart),
 * origins: Set of origins, chunkBytes, forgotten (the session was stopped), askingForToken}. */
const pages = new Map();

/** The media origins a page asked for, checked; throws an Error saying what is wrong. Each entry
 * must be exactly an origin as `URL.origin` writes it: https (http only on loopback), no path,
 * no trailing slash, no wildcard, and not the worker's own origin. */
function parseMediaOrigins(list, ownOrigin) {
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_MEDIA_ORIGINS) {
    throw new Error(`mediaOrigins must be a list of 1 to ${MAX_MEDIA_ORIGINS} origins`);
  }
  const origins = new Set();
  for (const entry of list) {
    if (typeof entry !== "string" || entry.length > 300 || entry.includes("*")) {
      throw new Error(`media origin ${JSON.stringify(entry)} is not an origin (no wildcards)`);
    }
    let url;
    try {
      url = new URL(entry);
    } catch {
      throw new Error(`media origin ${JSON.stringify(entry)} is not a URL`);
    }
    const secure = url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));
    if (!secure) throw new Error(`media origin ${JSON.stringify(entry)} must be https (http only on loopback)`);
    if (url.origin !== entry) {
      throw new Error(`media origin ${JSON.stringify(entry)} must be written exactly as ${JSON.stringify(url.origin)}`);
    }
    if (entry === ownOrigin) throw new Error(`media origin ${entry} is this page's own origin`);
    origins.add(entry);
  }
  return origins;
}

/** 0 (ranges go out as the element asked) or the most bytes one open-ended media range may ask for. */
function checkChunkBytes(value) {
  if (value === undefined || value === 0) return 0;
  if (!Number.isSafeInteger(value) || value < MIN_CHUNK_BYTES) {
    throw new Error(`rangeChunkBytes must be 0 or a whole number of at least ${MIN_CHUNK_BYTES}`);
  }
  return value;
}

/** A session number: a whole number of at least 1. */
function checkSession(value) {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error("the message has no session");
  return value;
}

/** Whether a message of `session` may change `page`'s entry: only the page's newest session, and
 * not one already forgotten (a configure that arrives after its own forget). */
function acceptsSession(page, session) {
  return !page || session > page.session || (session === page.session && !page.forgotten);
}

function checkToken(token) {
  if (typeof token !== "string" || token.length > MAX_TOKEN_CHARS || !TOKEN68.test(token)) {
    throw new Error("the viewing token is not a bearer token");
  }
  return token;
}

// ------------------------------------------------------------------ lifecycle
self.addEventListener("install", () => self.skipWaiting());
// Control the pages that registered us on their first visit, without a reload.
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// ------------------------------------------------------------------ messages from pages
self.addEventListener("message", (event) => {
  const message = event.data;
  const reply = event.ports[0];
  // Only this library's messages: an app's own worker that imports this one keeps its protocol.
  if (!event.source || !reply || typeof message?.type !== "string" || !message.type.startsWith(`${PRIVATE_MEDIA}/`)) return;
  event.waitUntil(handleMessage(event.source.id, message).then(
    (answer) => reply.postMessage({ ok: true, ...answer }),
    (error) => reply.postMessage({ ok: false, error: String(error.message || error) }),
  ));
});

async function handleMessage(clientId, message) {
  await restored;
  await forgetGonePages();
  switch (message.type) {
    case `${PRIVATE_MEDIA}/configure`: {
      const origins = parseMediaOrigins(message.origins, self.location.origin);
      const token = checkToken(message.token);
      const chunkBytes = checkChunkBytes(message.chunkBytes);
      const session = checkSession(message.session);
      const page = pages.get(clientId);
      if (!acceptsSession(page, session)) throw new Error("a newer session of this page is in place");
      if (page && page.session === session) {
        const changed = page.chunkBytes !== chunkBytes || [...origins].join() !== [...page.origins].join();
        Object.assign(page, { token, origins, chunkBytes }); // in place: this session's requests in flight see it
        if (changed) await keep();
      } else {
        // a new object: requests in flight of an earlier session never get this session's token
        pages.set(clientId, { session, token, origins, chunkBytes, forgotten: false, askingForToken: null });
        await keep();
      }
      return {};
    }
    case `${PRIVATE_MEDIA}/forget`: {
      const session = checkSession(message.session);
      const page = pages.get(clientId);
      if (!page || session >= page.session) {
        pages.set(clientId, { session, token: null, origins: new Set(), chunkBytes: 0, forgotten: true, askingForToken: null });
        await keep();
      }
      return {};
    }
    case `${PRIVATE_MEDIA}/claim`: // a page loaded with shift-reload is not controlled until claimed
      await self.clients.claim();
      return {};
    default:
      throw new Error(`unknown message ${JSON.stringify(String(message.type))}`);
  }
}

async function forgetGonePages() {
  const alive = new Set((await self.clients.matchAll({ includeUncontrolled: true })).map((c) => c.id));
  const gone = [...pages.keys()].filter((clientId) => !alive.has(clientId));
  for (const clientId of gone) pages.delete(clientId);
  if (gone.length) await keep();
}

// ------------------------------------------------------------------ settings kept across restarts
/** Write what is not secret of every page (never a token) to Cache Storage, one write at a time. */
let keeping = Promise.resolve();
function keep() {
  const kept = JSON.stringify([...pages].map(([clientId, { session, origins, chunkBytes, forgotten }]) =>
    [clientId, { session, origins: [...origins], chunkBytes, forgotten }]));
  keeping = keeping.then(async () => {
    const cache = await caches.open(KEPT_CACHE);
    await cache.put(new URL(KEPT_PATH, self.location.origin).href,
                    new Response(kept, { headers: { "Content-Type": "application/json" } }));
  }).catch(() => {}); // storage refused (quota, disabled): the heartbeat's configure still comes
  return keeping;
}

/** A started worker reads what an earlier run of it kept: each page's settings, without a token
 * (it asks the page for that at the page's first media request). */
async function restore() {
  try {
    const cache = await caches.open(KEPT_CACHE);
    const response = await cache.match(new URL(KEPT_PATH, self.location.origin).href);
    for (const [clientId, kept] of response ? await response.json() : []) {
      const session = checkSession(kept.session);
      if (pages.has(clientId)) continue; // a message of the page came first: it is newer
      pages.set(clientId, { session, token: null, origins: new Set(kept.forgotten ? [] : parseMediaOrigins(kept.origins, self.location.origin)),
                            chunkBytes: checkChunkBytes(kept.chunkBytes), forgotten: Boolean(kept.forgotten), askingForToken: null });
    }
  } catch {
    // nothing kept, or unreadable: the pages' next configure restores them
  }
}
let restoring = true;
const restored = restore().finally(() => (restoring = false));

// ------------------------------------------------------------------ requests
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.mode === "navigate" || (request.method !== "GET" && request.method !== "HEAD")) return;
  if (request.headers.has("Authorization")) return; // the page chose its own credentials
  if (new URL(request.url).origin === self.location.origin) return;
  if (restoring) {
    // Just started: which pages configured what is still being read. Only in these few
    // milliseconds is a request of another origin answered by passing it on as it is.
    event.respondWith(restored.then(() => withToken(event) || fetch(request)));
    return;
  }
  const response = withToken(event);
  if (response) event.respondWith(response);
});

/** The response with the page's token for a request to one of its media origins, else null. */
function withToken(event) {
  const page = pages.get(event.clientId);
  if (!page || page.forgotten || !page.origins.has(new URL(event.request.url).origin)) return null;
  return fetchWithToken(event, page);
}

async function fetchWithToken(event, page) {
  const started = Date.now();
  const range = sentRange(event.request, page.chunkBytes);
  // A page held by a restarted worker has no token yet: ask for it now rather than at a 401.
  let sentToken = page.token ?? await askForToken(event.clientId, page, "missing");
  let retried = false;
  try {
    let response = await forward(event.request, sentToken, range);
    if (response.status === 401 && sentToken) {
      const token = await freshToken(event.clientId, page, sentToken);
      if (token) {
        response.body?.cancel();
        response = await forward(event.request, token, range);
        sentToken = token;
        retried = true;
      }
    }
    event.waitUntil(report(event, page, { status: response.status, contentRange: response.headers.get("Content-Range") },
                           range, started, retried));
    return response;
  } catch (error) { // no CORS grant, a redirect, the network, or the page cancelled the request
    event.waitUntil(report(event, page, { status: 0, error: String(error.message || error) }, range, started, retried));
    throw error;
  }
}

/** After a 401: a token of the same session newer than the one sent, or one asked of the page. */
async function freshToken(clientId, page, sentToken) {
  if (pages.get(clientId) !== page || page.forgotten) return null; // stopped or started again meanwhile
  if (page.token && page.token !== sentToken) return page.token; // renewed meanwhile
  return askForToken(clientId, page, "refused");
}

/** The Range to send: with chunkBytes (the page's rangeChunkBytes, 2 MiB unless it says
 * otherwise), an audio or video element's open-ended range (`bytes=N-`) asks for chunkBytes from
 * N: the 206 says so in Content-Range and the element asks for the rest when it needs it, so the
 * CDN sends at most a chunk per request rather than the rest of the file as fast as the link
 * takes it. Every other Range goes out as it came. */
function sentRange(request, chunkBytes) {
  const range = request.headers.get("Range");
  const open = chunkBytes && MEDIA_DESTINATIONS.has(request.destination) && /^bytes=(\d{1,15})-$/.exec(range);
  return open ? `bytes=${open[1]}-${Number(open[1]) + chunkBytes - 1}` : range;
}

/** The media request as the page made it, with the token (none when the page had none to give):
 * method kept, `range` sent, CORS without cookies, and never followed through a redirect (the
 * token would go along). The HTTP cache is left to the CDN's answers: `Cache-Control: private,
 * no-store` on every one, so a response for one member's token is never stored to answer
 * another's; a request cache mode of no-store would also skip the preflight cache (a preflight
 * per range in Chromium). */
function forward(request, token, range) {
  const headers = new Headers();
  if (range !== null) headers.set("Range", range);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return fetch(request.url, {
    method: request.method, headers, mode: "cors", credentials: "omit",
    redirect: "error", referrerPolicy: "strict-origin-when-cross-origin", signal: request.signal,
  });
}

/** Ask the page for a token of the page's session (postMessage round trip): "refused" after a 401,
 * "missing" when this worker has none (it was restarted). Null when the page has none, is silent,
 * or answers for another session (a late answer of an earlier start). */
function askForToken(clientId, page, reason) {
  if (!page.askingForToken) {
    page.askingForToken = (async () => {
      const client = await self.clients.get(clientId);
      if (!client) return null;
      const channel = new MessageChannel();
      const answer = new Promise((resolve) => {
        const timer = setTimeout(() => resolve(null), TOKEN_ANSWER_TIMEOUT_MS);
        channel.port1.onmessage = (event) => {
          clearTimeout(timer);
          resolve(event.data);
        };
      });
      client.postMessage({ type: `${PRIVATE_MEDIA}/token-needed`, session: page.session, reason }, [channel.port2]);
      const { session, token } = (await answer) || {};
      channel.port1.close();
      if (!token || session !== page.session || pages.get(clientId) !== page || page.forgotten) return null;
      page.token = checkToken(token);
      return page.token;
    })().catch(() => null).finally(() => { page.askingForToken = null; });
  }
  return page.askingForToken;
}

/** One message per media request for the page (its "request" event): what was asked, sent and answered. */
async function report(event, page, answer, sentRange, started, retried) {
  const client = await self.clients.get(event.clientId);
  if (!client) return;
  client.postMessage({
    type: `${PRIVATE_MEDIA}/request`, session: page.session, url: event.request.url, method: event.request.method,
    destination: event.request.destination, range: event.request.headers.get("Range"), sentRange,
    ms: Date.now() - started, retried, ...answer,
  });
}
