// The test frontend's helpers, called by tests/web through page.evaluate("harness.…").
import { startPrivateMedia } from "/private-media.js";

const video = document.getElementById("video");
const config = await (await fetch("/config.json")).json();
const tokenUrl = (base) => new URL("token", base.endsWith("/") ? base : base + "/"); // as docs/frontend.md

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const harness = {
  config,
  media: null, // the PrivateMedia of the latest start that resolved
  appToken: null,
  requests: [], // the worker's reports ("request" events)
  tokens: [], // "token" events
  errors: [], // "error" events
  starts: [], // every begin(): {username, tokens it got, tokenDelayMs, media or error once settled}
  sent: [], // every message the page posted to a service worker: {type, session}
  breakNextTokens: 0, // the next N tokens from getToken get a broken signature (the edge answers 401)
  hangNextTokens: 0, // the next N getToken() calls never settle
  messageDelays: [], // [{type, ms}]: the next message of that type to a worker is held back ms
  answerDelayMs: 0, // the page's token answers to the worker are held back this long
  answersHeld: 0, // how many were
  sleep,
  appTokenOf,

  /** Resolves once condition() is true (polled); rejects after ms. */
  async until(condition, ms = 10000) {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${condition}`);
      await sleep(20);
    }
  },

  async login(username) {
    harness.appToken = await appTokenOf(username);
  },

  getToken(request) {
    return viewingToken(harness.appToken, request);
  },

  /** Start private media as `username` without waiting for it; returns its index in starts.
   * tokenDelayMs holds back each of its getToken() answers (the token is fetched, then held).
   * With an appToken (see appTokenOf) startPrivateMedia is called before begin() returns. */
  begin(username, { mediaOrigin = config.cdn_url, mediaOrigins = [mediaOrigin], tokenDelayMs = 0, appToken, ...options } = {}) {
    const entry = { username, tokens: [], calls: 0, tokenDelayMs, media: null, error: null, settled: false };
    harness.starts.push(entry);
    entry.promise = (async () => {
      appToken ??= await appTokenOf(username);
      const getToken = async (request) => {
        entry.calls += 1;
        const json = await viewingToken(appToken, request);
        await sleep(entry.tokenDelayMs);
        entry.tokens.push(json.access_token);
        return json;
      };
      return startPrivateMedia({ mediaOrigins, getToken, ...options });
    })().then((media) => {
      entry.media = harness.media = media;
      media.addEventListener("request", (e) => harness.requests.push(e.detail));
      media.addEventListener("token", (e) => harness.tokens.push(e.detail));
      media.addEventListener("error", (e) => harness.errors.push(String(e.detail.error)));
    }, (error) => {
      entry.error = [error.code, error.message];
    }).finally(() => (entry.settled = true));
    return harness.starts.length - 1;
  },

  async start(username, options) {
    const entry = harness.starts[harness.begin(username, options)];
    await entry.promise;
    if (entry.error) throw new Error(entry.error.join(": "));
    return navigator.serviceWorker ? navigator.serviceWorker.controller !== null : entry.media.mode;
  },

  /** Set src and play; resolves to the milliseconds from setting src to the "playing" event
   * (and keeps the wall-clock time of that event in playingAt). */
  async play(url) {
    const started = performance.now();
    const playing = once("playing").then(() => {
      harness.playingAt = Date.now();
      return performance.now() - started;
    });
    video.src = url;
    const [, ms] = await Promise.race([Promise.all([video.play(), playing]), failed()]);
    return ms;
  },

  /** Seek to `fraction` of the duration while playing; resolves to the milliseconds until a frame
   * from there is on screen. */
  async seek(fraction) {
    const target = video.duration * fraction;
    const started = performance.now();
    const seeked = once("seeked");
    video.currentTime = target;
    await Promise.race([seeked, failed()]);
    await Promise.race([frameFrom(target), failed()]);
    return performance.now() - started;
  },

  /** Play `url` until it fails; resolves to the video's error code. */
  async playError(url) {
    video.src = url;
    video.play().catch(() => {});
    await once("error");
    return video.error.code;
  },

  video,
};

async function appTokenOf(username) {
  const { password } = config.users.find((u) => u.username === username);
  const response = await fetch(config.idp_url + "/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }),
  });
  return (await response.json()).access_token;
}

/** The token service's /token JSON for `appToken`; `request` ({url, credentials}) is what the
 * library asks for in cookie mode (docs/frontend.md). */
async function viewingToken(appToken, { url = tokenUrl(config.token_url), credentials = "same-origin" } = {}) {
  if (harness.hangNextTokens > 0) {
    harness.hangNextTokens -= 1;
    return new Promise(() => {});
  }
  const response = await fetch(url, { method: "POST", credentials, headers: { Authorization: "Bearer " + appToken } });
  if (!response.ok) throw new Error(`token service answered ${response.status}`);
  const json = await response.json();
  if (harness.breakNextTokens > 0) {
    harness.breakNextTokens -= 1;
    json.access_token = json.access_token.slice(0, -4) + (json.access_token.endsWith("AAAA") ? "BBBB" : "AAAA");
  }
  return json;
}

// Injected delays (the races of docs/frontend.md, "Sessions"): what the page posts to a worker is
// recorded and may be held back, and so may the page's token answers to the worker.
if (globalThis.ServiceWorker) {
  const post = ServiceWorker.prototype.postMessage;
  ServiceWorker.prototype.postMessage = function (message, transfer) {
    harness.sent.push({ type: message && message.type, session: message && message.session });
    const delay = harness.messageDelays.findIndex((d) => d.type === (message && message.type));
    if (delay < 0) return post.call(this, message, transfer);
    const [{ ms }] = harness.messageDelays.splice(delay, 1);
    setTimeout(() => post.call(this, message, transfer), ms);
  };
}
const answer = MessagePort.prototype.postMessage;
MessagePort.prototype.postMessage = function (message, transfer) {
  const isTokenAnswer = message && typeof message === "object" && "token" in message;
  if (!isTokenAnswer || !harness.answerDelayMs) return answer.call(this, message, transfer);
  harness.answersHeld += 1;
  setTimeout(() => answer.call(this, message, transfer), harness.answerDelayMs);
};

function once(type) {
  return new Promise((resolve) => video.addEventListener(type, resolve, { once: true }));
}

function failed() {
  return once("error").then(() => { throw new Error(`video error ${video.error.code}: ${video.error.message}`); });
}

function frameFrom(target) {
  return new Promise((resolve) => {
    const next = (now, frame) => (frame.mediaTime >= target - 0.05 ? resolve() : video.requestVideoFrameCallback(next));
    video.requestVideoFrameCallback(next);
  });
}

window.harness = harness;
