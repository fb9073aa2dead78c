/* private-media-sw.js: the service worker of private-media.js (copy both files; no build step).
 *
 * It adds `Authorization: Bearer <viewing token>` to the GET and HEAD requests a page makes to
 * the media origins that page configured, so that `<video src="https://media.example.com/...">`
 * streams, seeks and buffers natively from the CDN. Everything else is left alone: navigations,
 * same-origin requests, other origins, other methods, requests that already carry Authorization,
 * and every request of a page that configured nothing (respondWith is not called for them).
 *
 * Tokens live in this worker's memory only, one per page (client): two tabs of two members never
 * share one. A classic script, so an app with a service worker of its own can importScripts() it.
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

/** clientId -> {session, token, origins: Set of origins, chunkBytes, askingForToken: Promise|null};
 * session: the page's current startPrivateMedia, so a late stop() of an earlier one in the same
 * page (React's StrictMode mounts twice) does not wipe the current one's token. */
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
  await forgetGonePages();
  switch (message.type) {
    case `${PRIVATE_MEDIA}/configure`: {
      const origins = parseMediaOrigins(message.origins, self.location.origin);
      const token = checkToken(message.token);
      const chunkBytes = checkChunkBytes(message.chunkBytes);
      const session = String(message.session);
      const page = pages.get(clientId); // updated in place: requests in flight see the new token
      if (page) Object.assign(page, { session, token, origins, chunkBytes });
      else pages.set(clientId, { session, token, origins, chunkBytes, askingForToken: null });
      return {};
    }
    case `${PRIVATE_MEDIA}/forget`:
      if (pages.get(clientId)?.session === String(message.session)) pages.delete(clientId);
      return {};
    case `${PRIVATE_MEDIA}/claim`: // a page loaded with shift-reload is not controlled until claimed
      await self.clients.claim();
      return {};
    default:
      throw new Error(`unknown message ${JSON.stringify(String(message.type))}`);
  }
}

async function forgetGonePages() {
  const alive = new Set((await self.clients.matchAll({ includeUncontrolled: true })).map((c) => c.id));
  for (const clientId of pages.keys()) if (!alive.has(clientId)) pages.delete(clientId);
}

// ------------------------------------------------------------------ requests
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.mode === "navigate" || (request.method !== "GET" && request.method !== "HEAD")) return;
  const page = pages.get(event.clientId);
  if (!page || !page.origins.has(new URL(request.url).origin)) return;
  if (request.headers.has("Authorization")) return; // the page chose its own credentials
  event.respondWith(fetchWithToken(event, page));
});

async function fetchWithToken(event, page) {
  const started = Date.now();
  const sentToken = page.token;
  let retried = false;
  try {
    let response = await forward(event.request, sentToken, page.chunkBytes);
    if (response.status === 401) {
      const token = await freshToken(event.clientId, page, sentToken);
      if (token) {
        response.body?.cancel();
        response = await forward(event.request, token, page.chunkBytes);
        retried = true;
      }
    }
    event.waitUntil(report(event, { status: response.status, contentRange: response.headers.get("Content-Range") },
                           started, retried));
    return response;
  } catch (error) { // no CORS grant, a redirect, the network, or the page cancelled the request
    event.waitUntil(report(event, { status: 0, error: String(error.message || error) }, started, retried));
    throw error;
  }
}

async function freshToken(clientId, page, sentToken) {
  if (pages.get(clientId) !== page) return null; // the page forgot its token meanwhile (logged out)
  if (page.token !== sentToken) return page.token; // renewed meanwhile
  return askForToken(clientId, page);
}

/** The media request as the page made it, with the token: method and Range kept, CORS without
 * cookies, no HTTP cache (a response for one member's token must never answer another's), and
 * never followed through a redirect (the token would go along). With chunkBytes (the page's
 * rangeChunkBytes, 2 MiB unless it says otherwise), an audio or video element's open-ended range
 * (`bytes=N-`) asks for chunkBytes from N: the 206 says so in Content-Range and the element asks
 * for the rest when it needs it, so the CDN sends at most a chunk per request rather than the
 * rest of the file as fast as the link takes it. Every other Range goes out as it came. */
function forward(request, token, chunkBytes) {
  const headers = new Headers();
  let range = request.headers.get("Range");
  const open = chunkBytes && MEDIA_DESTINATIONS.has(request.destination) && /^bytes=(\d{1,15})-$/.exec(range);
  if (open) range = `bytes=${open[1]}-${Number(open[1]) + chunkBytes - 1}`;
  if (range !== null) headers.set("Range", range);
  headers.set("Authorization", `Bearer ${token}`);
  return fetch(request.url, {
    method: request.method, headers, mode: "cors", credentials: "omit", cache: "no-store",
    redirect: "error", referrerPolicy: "strict-origin-when-cross-origin", signal: request.signal,
  });
}

/** Ask the page for a fresh token (postMessage round trip); null when it has none or is silent. */
function askForToken(clientId, page) {
  if (!page.askingForToken) {
    page.askingForToken = (async () => {
      const client = await self.clients.get(clientId);
      if (!client) return null;
      const channel = new MessageChannel();
      const answer = new Promise((resolve) => {
        const timer = setTimeout(() => resolve(null), TOKEN_ANSWER_TIMEOUT_MS);
        channel.port1.onmessage = (event) => {
          clearTimeout(timer);
          resolve(event.data && event.data.token);
        };
      });
      client.postMessage({ type: `${PRIVATE_MEDIA}/token-needed` }, [channel.port2]);
      const token = await answer;
      channel.port1.close();
      if (!token || pages.get(clientId) !== page) return null;
      page.token = checkToken(token);
      return page.token;
    })().catch(() => null).finally(() => { page.askingForToken = null; });
  }
  return page.askingForToken;
}

/** One message per media request for the page (its "request" event): what was asked and answered. */
async function report(event, answer, started, retried) {
  const client = await self.clients.get(event.clientId);
  if (!client) return;
  client.postMessage({
    type: `${PRIVATE_MEDIA}/request`, url: event.request.url, method: event.request.method,
    destination: event.request.destination, range: event.request.headers.get("Range"), // as the page asked
    ms: Date.now() - started, retried, ...answer,
  });
}
