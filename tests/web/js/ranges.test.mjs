// The Range the worker sends to the CDN: an audio or video element's open-ended range is bounded
// to rangeChunkBytes (2 MiB by default); every other range goes out exactly as it came.
// private-media-sw.js is a classic worker script: it is run here with a stand-in `self` and a
// `fetch` that records what it is asked.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";
import vm from "node:vm";

import { DEFAULTS } from "../../../web/private-media.js";

const sent = [];
const worker = vm.createContext({
  URL, Headers, self: { addEventListener() {}, location: { origin: "https://app.example.com" } },
  fetch: (url, init) => sent.push({ url, init }),
});
vm.runInContext(readFileSync(new URL("../../../web/private-media-sw.js", import.meta.url), "utf8"), worker);

/** The Range header the worker sends for a request with `range` from `destination`. */
function forwardedRange(range, { destination = "video", chunkBytes = DEFAULTS.rangeChunkBytes } = {}) {
  const headers = new Headers(range === null ? {} : { Range: range });
  const request = { url: "https://media.example.com/videos/u/a.mp4", method: "GET", destination, headers };
  sent.length = 0;
  worker.forward(request, "t0k3n", worker.sentRange(request, chunkBytes));
  assert.equal(sent.length, 1);
  assert.equal(sent[0].init.headers.get("Authorization"), "Bearer t0k3n");
  return sent[0].init.headers.get("Range");
}

test("the request keeps the default HTTP cache mode (one preflight per origin), CORS without cookies, no redirects", () => {
  forwardedRange("bytes=0-");
  const init = sent[0].init;
  assert.equal(init.cache, undefined); // no-store or no-cache would make Chromium preflight every range
  assert.equal(init.mode, "cors");
  assert.equal(init.credentials, "omit");
  assert.equal(init.redirect, "error");
});

test("without a token (a restarted worker the page did not answer) no Authorization is sent", () => {
  const request = { url: "https://media.example.com/videos/u/a.mp4", method: "GET", destination: "video", headers: new Headers() };
  sent.length = 0;
  worker.forward(request, null, null);
  assert.equal(sent[0].init.headers.has("Authorization"), false);
});

test("the default bounds an element's open-ended range to 2 MiB from where it starts", () => {
  assert.equal(DEFAULTS.rangeChunkBytes, 2 * 1024 * 1024);
  assert.equal(forwardedRange("bytes=0-"), "bytes=0-2097151");
  assert.equal(forwardedRange("bytes=90000000-"), "bytes=90000000-92097151");
  assert.equal(forwardedRange("bytes=0-", { destination: "audio" }), "bytes=0-2097151");
});

test("closed, suffix, multiple and malformed ranges go out as they came", () => {
  for (const range of ["bytes=100-200", "bytes=0-0", "bytes=-500", "bytes=0-10,20-", "bytes=0-, 5-",
                       "bytes= 0-", "bytes=1e3-", "items=0-", "bytes=1234567890123456-", "bytes=-"]) {
    assert.equal(forwardedRange(range), range);
  }
  assert.equal(forwardedRange(null), null);
});

test("only audio and video elements' ranges are bounded", () => {
  for (const destination of ["", "image", "track", "document"]) {
    assert.equal(forwardedRange("bytes=0-", { destination }), "bytes=0-", destination);
  }
});

test("rangeChunkBytes 0: every range goes out as the element asked", () => {
  assert.equal(forwardedRange("bytes=0-", { chunkBytes: 0 }), "bytes=0-");
  assert.equal(forwardedRange("bytes=100-", { chunkBytes: 65536 }), "bytes=100-65635");
});

test("WebKit (Safari, every iOS browser) gets unbounded ranges by default; other engines 2 MiB", async () => {
  const { defaultRangeChunkBytes } = await import("../../../web/private-media.js");
  const webkit = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
  ];
  const others = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0",
    "",
  ];
  for (const ua of webkit) assert.equal(defaultRangeChunkBytes(ua), 0, ua);
  for (const ua of others) assert.equal(defaultRangeChunkBytes(ua), DEFAULTS.rangeChunkBytes, ua);
});
