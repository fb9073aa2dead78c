// The worker's session rule (only a page's newest session counts; a forgotten one stays
// forgotten), the page's fallback ladder and its time-out of a getToken() that never settles.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";
import vm from "node:vm";

import { chooseMode, PrivateMediaError, settleWithin } from "../../../web/private-media.js";

const worker = vm.createContext({ URL, Headers, self: { addEventListener() {}, location: { origin: "https://app.example.com" } } });
vm.runInContext(readFileSync(new URL("../../../web/private-media-sw.js", import.meta.url), "utf8"), worker);

test("a page's first message, a newer session, and the current one's renewals are accepted", () => {
  assert.equal(worker.acceptsSession(undefined, 1), true);
  assert.equal(worker.acceptsSession({ session: 3, forgotten: false }, 4), true);
  assert.equal(worker.acceptsSession({ session: 3, forgotten: false }, 3), true);
  assert.equal(worker.acceptsSession({ session: 3, forgotten: true }, 4), true);
});

test("an older session, and a configure after its own session's forget, are dropped", () => {
  assert.equal(worker.acceptsSession({ session: 3, forgotten: false }, 2), false);
  assert.equal(worker.acceptsSession({ session: 3, forgotten: true }, 3), false);
  assert.equal(worker.acceptsSession({ session: 3, forgotten: true }, 1), false);
});

test("a session is a whole number of at least 1", () => {
  assert.equal(worker.checkSession(7), 7);
  for (const bad of [undefined, null, 0, -1, 1.5, "2", NaN, 2 ** 60, {}]) {
    assert.throws(() => worker.checkSession(bad), /no session/, String(bad));
  }
});

test("the fallback ladder: service worker, else cookie mode when offered, else blob", () => {
  assert.equal(chooseMode({ serviceWorkers: true, cookieTokenUrl: "https://media.example.com/token" }), "service-worker");
  assert.equal(chooseMode({ serviceWorkers: false, cookieTokenUrl: "https://media.example.com/token" }), "cookie");
  assert.equal(chooseMode({ serviceWorkers: false, cookieTokenUrl: undefined }), "blob");
  assert.equal(chooseMode({ serviceWorkers: false, cookieTokenUrl: "" }), "blob");
});

test("settleWithin: a promise that settles in time is passed through, one that hangs fails", async () => {
  const error = () => new PrivateMediaError("token", "hung");
  assert.equal(await settleWithin(Promise.resolve(5), 50, error), 5);
  await assert.rejects(settleWithin(Promise.reject(new Error("own")), 50, error), /own/);
  const started = Date.now();
  await assert.rejects(settleWithin(new Promise(() => {}), 30, error), (e) => e.code === "token");
  assert.ok(Date.now() - started >= 25);
});
