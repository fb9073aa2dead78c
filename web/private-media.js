// private-media.js: play private media with header tokens from <video src>, any size.
//
//   import { startPrivateMedia } from "/private-media.js";
//   const media = await startPrivateMedia({ mediaOrigins: ["https://media.example.com"], getToken });
//   video.src = "https://media.example.com/videos/u42/profile.mp4";   // streams, seeks
//
// getToken() returns the token service's /token JSON as it is ({access_token, expires_in, ...}).
// The service worker (private-media-sw.js, served from the app's own origin) adds
// `Authorization: Bearer <token>` to this page's requests to the media origins, and nothing else.
// Without service workers it falls back (media.mode): "cookie" when options.cookieTokenUrl is
// given, else "blob" (media.playWithBlob plays short files the old way; see docs/frontend.md).

const PRIVATE_MEDIA = "private-media";
// One per page, whichever copies of this module the page loaded: the sessions' counter (the worker
// keeps only the newest session of a page) and the page's current PrivateMedia.
const SHARED = Symbol.for("private-media.js");
const shared = (globalThis[SHARED] ??= { lastSession: 0, current: null });

export const DEFAULTS = Object.freeze({
  serviceWorkerUrl: "/private-media-sw.js",
  scope: undefined, // the worker's folder (the root for the default URL)
  renewAt: 0.75, // renew when three quarters of the token's lifetime has passed
  retryBaseMs: 1000, // failed renewals are retried after 1 s, 2 s, 4 s, ... (with jitter)
  retryMaxMs: 60000,
  workerTimeoutMs: 10000, // registering, taking control, answering a message
  heartbeatMs: 10000, // keeps the worker (and the token in its memory) alive while the page is open
  refreshFloorMs: 2000, // a 401 soon after a renewal gets the same token, not another renewal
  getTokenTimeoutMs: 10000, // a getToken() that has not settled by then failed (reported, retried)
  cookieTokenUrl: undefined, // without service workers: the deployment's cookie-mode /token URL
  blobMaxBytes: 64 * 1024 * 1024, // without service workers nor cookie mode: the largest file playWithBlob takes
  // An audio or video element's open-ended range (`bytes=N-`) asks for at most this much; 0: ranges go
  // out as the element asks (docs/frontend.md, "Bounded ranges")
  rangeChunkBytes: 2 * 1024 * 1024,
});

/** An error with a stable `code`: worker, token, stopped, refused, too_large. */
export class PrivateMediaError extends Error {
  constructor(code, message, details = {}) {
    super(message, details.cause ? { cause: details.cause } : undefined);
    this.name = "PrivateMediaError";
    this.code = code;
    if (details.status !== undefined) this.status = details.status;
    if (details.response !== undefined) this.response = details.response;
  }
}

/** rangeChunkBytes when the page does not set it: DEFAULTS' 2 MiB, but 0 (ranges as the element
 * asks) in WebKit, Safari's engine and every browser's on iOS: after a 206 that answers an
 * open-ended range (`bytes=N-`) with less than the rest, WebKit asks for nothing more and the video
 * stalls at the chunk's end (docs/frontend.md, "Browser engines"). */
export function defaultRangeChunkBytes(userAgent) {
  return /AppleWebKit\//.test(userAgent) && !/Chrom(e|ium)\//.test(userAgent) ? 0 : DEFAULTS.rangeChunkBytes;
}

/** Milliseconds until a token of `expiresIn` seconds should be renewed (at least 1 s). */
export function renewDelayMs(expiresIn, renewAt = DEFAULTS.renewAt) {
  return Math.max(1000, Math.round(expiresIn * renewAt * 1000));
}

/** Milliseconds before retry number `attempt` (0, 1, 2, ...): doubling from retryBaseMs up to
 * retryMaxMs, each drawn from [half, all] of that (jitter, so tabs do not retry in step). */
export function retryDelayMs(attempt, { retryBaseMs = DEFAULTS.retryBaseMs, retryMaxMs = DEFAULTS.retryMaxMs,
                                        random = Math.random } = {}) {
  const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + 0.5 * random()));
}

/** The /token JSON checked: {accessToken, expiresIn}. */
export function readTokenJson(json) {
  const accessToken = json && json.access_token;
  const expiresIn = json && json.expires_in;
  if (typeof accessToken !== "string" || accessToken === "") {
    throw new PrivateMediaError("token", "getToken() must return the /token JSON ({access_token, expires_in})");
  }
  if (typeof expiresIn !== "number" || !(expiresIn > 0)) {
    throw new PrivateMediaError("token", "the /token JSON has no positive expires_in");
  }
  return { accessToken, expiresIn };
}

/** `promise`, or a rejection with makeError() when it has not settled within `ms`. */
export function settleWithin(promise, ms, makeError) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(makeError()), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Which rung of the fallback ladder a page gets: "service-worker" where service workers are
 * available (https or localhost), else "cookie" when the deployment offers cookie mode, else "blob". */
export function chooseMode({ serviceWorkers, cookieTokenUrl }) {
  if (serviceWorkers) return "service-worker";
  return cookieTokenUrl ? "cookie" : "blob";
}

/** Start private media for this page: with service workers, register the worker, wait until it
 * controls this page and hand it the first token; without, cookie mode (the first cookie set) or
 * blob mode (nothing to start). Resolves to a PrivateMedia (see its `mode`). A page has one
 * session at a time: starting again stops the previous one (its token is forgotten, and a
 * getToken() of it still running is ignored). */
export async function startPrivateMedia(options) {
  const media = new PrivateMedia(options);
  const previous = shared.current;
  shared.current = media;
  previous?.stop().catch(() => {});
  try {
    await media._start();
  } catch (error) {
    await media.stop().catch(() => {});
    throw error;
  }
  return media;
}

/** Events: "token" (detail {expiresIn, renewals}), "error" (detail {error, retryInMs}),
 * "request" (detail: the worker's report of one media request: url, method, range (as the element
 * asked), sentRange (as the worker sent it), status, contentRange, ms, retried, and error when the
 * request failed without an answer). */
export class PrivateMedia extends EventTarget {
  #options;
  #mode = null;
  // Tells this start from the page's earlier ones (a counter, not a secret): the worker keeps the newest.
  #session = ++shared.lastSession;
  #token = null;
  #tokenAt = 0;
  #renewals = 0;
  #attempt = 0;
  #renewTimer = null;
  #heartbeat = null;
  #refreshing = null;
  #stopped = false;
  #listeners = [];

  constructor({ mediaOrigins, getToken, ...rest } = {}) {
    super();
    if (typeof getToken !== "function") throw new PrivateMediaError("token", "getToken must be a function");
    if (!Array.isArray(mediaOrigins)) throw new PrivateMediaError("worker", "mediaOrigins must be a list of origins");
    this.#options = { ...DEFAULTS, ...rest, mediaOrigins: [...mediaOrigins], getToken };
    if (rest.rangeChunkBytes === undefined) {
      this.#options.rangeChunkBytes = defaultRangeChunkBytes(globalThis.navigator?.userAgent ?? "");
    }
  }

  get stopped() {
    return this.#stopped;
  }

  /** "service-worker", "cookie" or "blob" (the fallback ladder, docs/frontend.md). */
  get mode() {
    return this.#mode;
  }

  /** The largest file playWithBlob() takes (blob mode). */
  get blobMaxBytes() {
    return this.#options.blobMaxBytes;
  }

  /** Blob mode: play `url` in `video` from a Blob of the whole file (see playWithBlob below). */
  playWithBlob(video, url) {
    if (this.#stopped) return Promise.reject(new PrivateMediaError("stopped", "stopped: start again after logging in"));
    return playWithBlob(video, url, () => this.#getToken(), { maxBytes: this.#options.blobMaxBytes });
  }

  async _start() {
    const serviceWorkers = typeof navigator !== "undefined" && Boolean(navigator.serviceWorker) && globalThis.isSecureContext;
    this.#mode = chooseMode({ serviceWorkers, cookieTokenUrl: this.#options.cookieTokenUrl });
    if (this.#mode === "cookie") await this.refresh();
    if (this.#mode !== "service-worker") return;
    const container = navigator.serviceWorker;
    this.#listen(container, "message", (event) => this.#onWorkerMessage(event));
    container.startMessages();
    const { serviceWorkerUrl, scope } = this.#options;
    await this.#withTimeout(container.register(serviceWorkerUrl, scope ? { scope } : undefined),
                            `registering ${serviceWorkerUrl}`);
    await this.#controlled();
    await this.refresh();
    // A new worker version (or a worker the browser restarted) starts empty: tell it again.
    this.#listen(container, "controllerchange", () => this.#resend());
    this.#listen(window, "pageshow", (event) => event.persisted && this.#resend());
    this.#listen(document, "visibilitychange", () => document.visibilityState === "visible" && this.#resend());
    this.#heartbeat = setInterval(() => this.#resend(), this.#options.heartbeatMs);
  }

  /** Get a new token now and hand it to the worker. Concurrent calls share one renewal. */
  refresh() {
    if (this.#stopped) return Promise.reject(new PrivateMediaError("stopped", "stopped: start again after logging in"));
    if (!this.#refreshing) {
      this.#refreshing = this.#renew().finally(() => (this.#refreshing = null));
    }
    return this.#refreshing;
  }

  /** Logout: the worker forgets this page's token; media requests then go out without one (401).
   * Nothing more is sent to the worker after this (a getToken() still running is ignored). In
   * cookie mode renewal stops, and the HttpOnly cookie lives until its Max-Age runs out. */
  async stop() {
    if (this.#stopped) return;
    this.#stopped = true;
    if (shared.current === this) shared.current = null;
    clearTimeout(this.#renewTimer);
    clearInterval(this.#heartbeat);
    for (const [target, type, listener] of this.#listeners) target.removeEventListener(type, listener);
    this.#listeners = [];
    this.#token = null;
    if (this.#mode === "service-worker" && navigator.serviceWorker.controller) {
      await this.#tell({ type: `${PRIVATE_MEDIA}/forget`, session: this.#session });
    }
  }

  async #renew() {
    clearTimeout(this.#renewTimer);
    try {
      const json = await this.#getToken();
      if (this.#stopped) throw new PrivateMediaError("stopped", "stopped while renewing");
      const { accessToken, expiresIn } = readTokenJson(json);
      if (this.#mode === "service-worker") await this.#configure(accessToken);
      if (this.#stopped) throw new PrivateMediaError("stopped", "stopped while renewing");
      const first = this.#token === null;
      this.#token = accessToken;
      this.#tokenAt = Date.now();
      this.#attempt = 0;
      if (!first) this.#renewals += 1;
      this.#renewTimer = setTimeout(() => this.refresh().catch(() => {}), renewDelayMs(expiresIn, this.#options.renewAt));
      this.dispatchEvent(new CustomEvent("token", { detail: { expiresIn, renewals: this.#renewals } }));
    } catch (cause) {
      const error = cause instanceof PrivateMediaError ? cause
        : new PrivateMediaError("token", `getting a viewing token failed: ${cause.message || cause}`, { cause });
      if (!this.#stopped) {
        const retryInMs = retryDelayMs(this.#attempt++, this.#options);
        this.#renewTimer = setTimeout(() => this.refresh().catch(() => {}), retryInMs);
        this.dispatchEvent(new CustomEvent("error", { detail: { error, retryInMs } }));
      }
      throw error;
    }
  }

  /** getToken(), failing with code "token" if it has not settled within getTokenTimeoutMs. In
   * cookie mode it is asked for the cookie-mode /token URL with credentials (the cookie is set). */
  #getToken() {
    const { getToken, getTokenTimeoutMs, cookieTokenUrl } = this.#options;
    const request = this.#mode === "cookie" ? [{ url: cookieTokenUrl, credentials: "include" }] : [];
    return settleWithin(Promise.resolve().then(() => getToken(...request)), getTokenTimeoutMs,
                        () => new PrivateMediaError("token", `getToken() did not settle within ${getTokenTimeoutMs} ms`));
  }

  #configure(token) {
    return this.#tell({ type: `${PRIVATE_MEDIA}/configure`, session: this.#session, token,
                        origins: this.#options.mediaOrigins, chunkBytes: this.#options.rangeChunkBytes });
  }

  #resend() {
    if (this.#stopped || this.#token === null || !navigator.serviceWorker.controller) return;
    this.#configure(this.#token).catch((error) => this.dispatchEvent(new CustomEvent("error", { detail: { error } })));
  }

  async #onWorkerMessage(event) {
    // Only this page's own worker: any worker of the origin, at any scope, can message the page.
    if (this.#stopped || !event.source || event.source !== navigator.serviceWorker.controller) return;
    const message = event.data || {};
    if (message.type === `${PRIVATE_MEDIA}/request`) {
      if (message.session !== this.#session) return; // a request of an earlier start
      const { type, session, ...detail } = message;
      this.dispatchEvent(new CustomEvent("request", { detail }));
    } else if (message.type === `${PRIVATE_MEDIA}/token-needed` && event.ports[0]) {
      if (message.session !== this.#session) return; // another session's request: not ours to answer
      let token = null;
      try {
        if (message.reason === "refused") {
          // The media origin answered 401: the token expired or was refused. Renew, unless just renewed.
          if (Date.now() - this.#tokenAt >= this.#options.refreshFloorMs) await this.refresh();
        } else if (this.#token === null) {
          await this.#refreshing; // the worker restarted (its memory is gone) before the first token
        }
        token = this.#token;
      } catch {
        // reported through the "error" event by refresh(); the worker passes the 401 on
      }
      if (!this.#stopped) event.ports[0].postMessage({ session: this.#session, token });
    }
  }

  /** Until the worker controls this page: on a first visit clients.claim() in its activate takes
   * it over; a page loaded with shift-reload asks the active worker to claim it. */
  async #controlled() {
    const container = navigator.serviceWorker;
    if (container.controller) return;
    const changed = new Promise((resolve) => container.addEventListener("controllerchange", resolve, { once: true }));
    const registration = await this.#withTimeout(container.ready, "waiting for the worker to activate");
    if (!container.controller) {
      await this.#tell({ type: `${PRIVATE_MEDIA}/claim` }, registration.active);
      await this.#withTimeout(container.controller ? Promise.resolve() : changed, "waiting for the worker to take control");
    }
  }

  /** postMessage to the worker and wait for its answer. */
  async #tell(message, worker = navigator.serviceWorker.controller) {
    if (!worker) throw new PrivateMediaError("worker", "no service worker controls this page");
    const channel = new MessageChannel();
    const answer = new Promise((resolve) => (channel.port1.onmessage = (event) => resolve(event.data)));
    worker.postMessage(message, [channel.port2]);
    try {
      const reply = await this.#withTimeout(answer, `the worker's answer to ${message.type}`);
      if (!reply || !reply.ok) {
        throw new PrivateMediaError("worker", `the service worker refused ${message.type}: ${reply && reply.error}`);
      }
      return reply;
    } finally {
      channel.port1.close();
    }
  }

  #withTimeout(promise, what) {
    const timedOut = () => new PrivateMediaError("worker", `timed out ${what} (is ${
      this.#options.serviceWorkerUrl} served from this origin?)`);
    return settleWithin(promise, this.#options.workerTimeoutMs, timedOut).catch((cause) => {
      throw cause instanceof PrivateMediaError ? cause : new PrivateMediaError("worker", `${what}: ${cause.message}`, { cause });
    });
  }

  #listen(target, type, listener) {
    target.addEventListener(type, listener);
    this.#listeners.push([target, type, listener]);
  }
}

/** Fallback where service workers are unavailable: download `url` with the token in range
 * requests into a Blob and play that. The whole file comes before the first frame, so keep it to
 * short files (maxBytes). Resolves to {url: the blob: URL (revoke it when done), bytes, requests}.
 * A refusal rejects with a PrivateMediaError "refused" carrying `status` and `response`. */
export async function playWithBlob(video, url, getToken, { chunkBytes = 512 * 1024, maxBytes = 64 * 1024 * 1024 } = {}) {
  const { accessToken } = readTokenJson(await getToken());
  const parts = [];
  let start = 0, total = null, type = "", requests = 0;
  while (total === null || start < total) {
    const response = await fetch(url, {
      headers: { Authorization: `Bearer ${accessToken}`, Range: `bytes=${start}-${start + chunkBytes - 1}` },
      mode: "cors", credentials: "omit", redirect: "error", // the CDN answers Cache-Control: private, no-store
    });
    requests += 1;
    if (response.status !== 206 && response.status !== 200) {
      throw new PrivateMediaError("refused", `${url} answered ${response.status}`, { status: response.status, response });
    }
    type = response.headers.get("Content-Type") || type;
    if (response.status === 206) total = Number((response.headers.get("Content-Range") || "").split("/")[1]);
    if (total > maxBytes) {
      response.body?.cancel();
      throw new PrivateMediaError("too_large", `${url} is ${total} bytes, more than playWithBlob's maxBytes`);
    }
    const chunk = await response.arrayBuffer();
    parts.push(chunk);
    start += chunk.byteLength;
    if (response.status === 200 || chunk.byteLength === 0) total = start;
  }
  const blobUrl = URL.createObjectURL(new Blob(parts, { type }));
  video.src = blobUrl;
  return { url: blobUrl, bytes: start, requests };
}
