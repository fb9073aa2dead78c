// The page side's schedule: renew at 3/4 of the lifetime, retry with capped exponential backoff.
import assert from "node:assert/strict";
import test from "node:test";

import { DEFAULTS, PrivateMediaError, readTokenJson, renewDelayMs, retryDelayMs } from "../../../web/private-media.js";

test("renewal at three quarters of the token's lifetime", () => {
  assert.equal(renewDelayMs(300), 225000);
  assert.equal(renewDelayMs(20), 15000);
  assert.equal(renewDelayMs(20, 0.5), 10000);
  assert.equal(renewDelayMs(0.1), 1000); // never a busy loop
});

test("retries double from 1 s and stop growing at 60 s", () => {
  const top = (attempt) => retryDelayMs(attempt, { random: () => 1 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 50].map(top), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.equal(DEFAULTS.retryBaseMs, 1000);
  assert.equal(DEFAULTS.retryMaxMs, 60000);
});

test("each retry is jittered within [half, all] of its step", () => {
  assert.equal(retryDelayMs(3, { random: () => 0 }), 4000);
  assert.equal(retryDelayMs(3, { random: () => 0.5 }), 6000);
  for (let i = 0; i < 100; i++) {
    const delay = retryDelayMs(2);
    assert.ok(delay >= 2000 && delay <= 4000, String(delay));
  }
  assert.equal(retryDelayMs(0, { retryBaseMs: 200, retryMaxMs: 1000, random: () => 1 }), 200);
  assert.equal(retryDelayMs(9, { retryBaseMs: 200, retryMaxMs: 1000, random: () => 1 }), 1000);
});

test("the /token JSON is read as the token service sends it", () => {
  assert.deepEqual(readTokenJson({ access_token: "a.b.c", token_type: "Bearer", expires_in: 300 }),
                   { accessToken: "a.b.c", expiresIn: 300 });
  for (const bad of [null, "a.b.c", {}, { access_token: "" }, { access_token: 1, expires_in: 300 },
                     { access_token: "a.b.c" }, { access_token: "a.b.c", expires_in: "300" },
                     { access_token: "a.b.c", expires_in: 0 }, { access_token: "a.b.c", expires_in: NaN }]) {
    assert.throws(() => readTokenJson(bad), (error) => error instanceof PrivateMediaError && error.code === "token");
  }
});
