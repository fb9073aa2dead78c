// The worker's checks on what a page hands it: media origins (exact, no wildcard), tokens, chunk size.
// private-media-sw.js is a classic worker script: it is run here in a context with a stand-in `self`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";
import vm from "node:vm";

const OWN = "https://app.example.com";
const worker = vm.createContext({ URL, Headers, self: { addEventListener() {}, location: { origin: OWN } } });
vm.runInContext(readFileSync(new URL("../../../web/private-media-sw.js", import.meta.url), "utf8"), worker);
const parse = (list) => [...worker.parseMediaOrigins(list, OWN)];

test("exact origins are accepted", () => {
  assert.deepEqual(parse(["https://media.example.com"]), ["https://media.example.com"]);
  assert.deepEqual(parse(["https://media.example.com:8443", "https://cdn.example.net"]),
                   ["https://media.example.com:8443", "https://cdn.example.net"]);
});

test("plain http only on loopback (the local stack)", () => {
  for (const origin of ["http://127.0.0.1:8701", "http://localhost:8701", "http://[::1]:8701"]) {
    assert.deepEqual(parse([origin]), [origin]);
  }
  assert.throws(() => parse(["http://media.example.com"]), /must be https/);
  assert.throws(() => parse(["http://127.0.0.2:8701"]), /must be https/);
});

test("wildcards are refused", () => {
  for (const entry of ["*", "https://*.example.com", "https://media.example.com:*", "*://media.example.com"]) {
    assert.throws(() => parse([entry]), /no wildcards/, entry);
  }
});

test("anything but an exact origin is refused, with the spelling to use", () => {
  const cases = {
    "https://media.example.com/": "https://media.example.com",
    "https://media.example.com/videos": "https://media.example.com",
    "https://media.example.com:443": "https://media.example.com",
    "HTTPS://Media.Example.com": "https://media.example.com",
    "https://user:pw@media.example.com": "https://media.example.com",
    "https://media.example.com?x=1": "https://media.example.com",
    " https://media.example.com": "https://media.example.com",
    "https://media.example.com\n": "https://media.example.com",
    "https://médias.example": "https://xn--mdias-bsa.example",
  };
  for (const [entry, origin] of Object.entries(cases)) {
    assert.throws(() => parse([entry]), { message: `media origin ${JSON.stringify(entry)} must be written exactly as ${JSON.stringify(origin)}` });
  }
});

test("other schemes and non-URLs are refused", () => {
  for (const entry of ["null", "media.example.com", "//media.example.com", "blob:https://media.example.com/1",
                       "data:text/plain,x", "javascript:alert(1)", "file:///etc", "ws://127.0.0.1:1", ""]) {
    assert.throws(() => parse([entry]), /not a URL|must be https/, entry);
  }
  for (const entry of [null, 42, {}, ["https://media.example.com"]]) {
    assert.throws(() => parse([entry]), /not an origin/);
  }
});

test("the page's own origin is never a media origin", () => {
  assert.throws(() => parse([OWN]), /own origin/);
});

test("the list itself: 1 to 16 entries, a real array", () => {
  assert.throws(() => parse([]), /1 to 16/);
  assert.throws(() => parse("https://media.example.com"), /1 to 16/);
  assert.throws(() => parse(Array.from({ length: 17 }, (_, i) => `https://m${i}.example.com`)), /1 to 16/);
  assert.throws(() => parse(["https://" + "a".repeat(400) + ".com"]), /not an origin/);
});

test("tokens: a bearer token, nothing that could split or extend a header", () => {
  const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_";
  assert.equal(worker.checkToken(jwt), jwt);
  for (const bad of ["", "a b", "a\r\nX-Evil: 1", "a,b", "a;b", "\u00e9", "a".repeat(8193), null, 7, { toString: () => jwt }]) {
    assert.throws(() => worker.checkToken(bad), /not a bearer token/);
  }
});

test("rangeChunkBytes: off (0) or at least 64 KiB, a whole number", () => {
  assert.equal(worker.checkChunkBytes(undefined), 0);
  assert.equal(worker.checkChunkBytes(0), 0);
  assert.equal(worker.checkChunkBytes(65536), 65536);
  assert.equal(worker.checkChunkBytes(2 * 1024 * 1024), 2097152);
  for (const bad of [65535, 1, -1, 1.5, NaN, Infinity, "2097152", null, 2 ** 53]) {
    assert.throws(() => worker.checkChunkBytes(bad), /rangeChunkBytes/, String(bad));
  }
});
