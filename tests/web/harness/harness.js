// The test frontend's helpers, called by tests/web through page.evaluate("harness.…").
import { startPrivateMedia } from "/private-media.js";

const video = document.getElementById("video");
const config = await (await fetch("/config.json")).json();
const tokenUrl = (base) => new URL("token", base.endsWith("/") ? base : base + "/"); // as docs/frontend.md

const harness = {
  config,
  media: null,
  appToken: null,
  requests: [], // the worker's reports ("request" events)
  tokens: [], // "token" events
  errors: [], // "error" events
  breakNextTokens: 0, // the next N tokens from getToken get a broken signature (the edge answers 401)

  async login(username) {
    const { password } = config.users.find((u) => u.username === username);
    const response = await fetch(config.idp_url + "/login", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }),
    });
    harness.appToken = (await response.json()).access_token;
  },

  async getToken() {
    const response = await fetch(tokenUrl(config.token_url), {
      method: "POST", headers: { Authorization: "Bearer " + harness.appToken },
    });
    if (!response.ok) throw new Error(`token service answered ${response.status}`);
    const json = await response.json();
    if (harness.breakNextTokens > 0) {
      harness.breakNextTokens -= 1;
      json.access_token = json.access_token.slice(0, -4) + (json.access_token.endsWith("AAAA") ? "BBBB" : "AAAA");
    }
    return json;
  },

  async start(username, { mediaOrigin = config.cdn_url, ...options } = {}) {
    await harness.login(username);
    harness.media = await startPrivateMedia({ mediaOrigins: [mediaOrigin], getToken: harness.getToken, ...options });
    harness.media.addEventListener("request", (e) => harness.requests.push(e.detail));
    harness.media.addEventListener("token", (e) => harness.tokens.push(e.detail));
    harness.media.addEventListener("error", (e) => harness.errors.push(String(e.detail.error)));
    return navigator.serviceWorker.controller !== null;
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
