"use strict";
// The demo page: log in at the IdP, get a viewing token, fetch a private video from the CDN
// with Authorization: Bearer (in Range requests) and play it from a blob URL, which seeks
// freely. <video src> cannot send an Authorization header, hence fetch + blob.

const RANGE_BYTES = 512 * 1024;
const RENEW_AT = 0.75; // renew when three quarters of the token's lifetime has passed

const $ = (id) => document.getElementById(id);
const state = { config: null, appToken: null, token: null, claims: null, renewTimer: null, renewals: 0, blobUrl: null };

function b64urlDecode(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return atob(padded);
}
function b64urlEncode(text) {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function decodeClaims(jwt) {
  return JSON.parse(b64urlDecode(jwt.split(".")[1]));
}

function setStatus(el, text, kind) {
  el.textContent = text;
  el.className = "status " + (kind || "muted");
}

function logRequest(method, path, range, status, ms) {
  const li = document.createElement("li");
  const badge = document.createElement("span");
  badge.className = "badge " + badgeClass(status);
  badge.textContent = status;
  li.append(badge, ` ${method} ${path}${range ? "  " + range : ""}  · ${ms} ms`);
  $("log").prepend(li);
  while ($("log").children.length > 12) $("log").lastChild.remove();
}

function badgeClass(status) {
  if (status >= 200 && status < 300) return "ok";
  if (status === 401) return "deny";
  if (status === 403) return "scope";
  return "warn";
}

async function cdnFetch(path, headers) {
  const started = performance.now();
  const response = await fetch(state.config.cdn_url + path, { headers, cache: "no-store" });
  logRequest("GET", path, headers.Range ? headers.Range.replace("bytes=", "bytes ") : "", response.status,
             Math.round(performance.now() - started));
  return response;
}

// ---------------------------------------------------------------- log in / out
async function logIn(event) {
  event.preventDefault();
  const username = $("username").value;
  setStatus($("login-status"), "Logging in…");
  try {
    const response = await fetch(state.config.idp_url + "/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password: $("password").value }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(`${response.status}: ${body.error_description || body.error}`);
    state.appToken = body.access_token;
    setStatus($("login-status"), `Logged in as ${username}. App token from the IdP, valid ${Math.round(body.expires_in / 60)} min.`, "good");
    await renewToken();
    $("logout").disabled = false;
    $("play").disabled = false;
    $("renew").disabled = false;
    setStatus($("play-status"), "Ready.");
  } catch (error) {
    setStatus($("login-status"), "Login refused: " + error.message, "bad");
  }
}

function logOut() {
  clearTimeout(state.renewTimer);
  Object.assign(state, { appToken: null, token: null, claims: null, renewals: 0 });
  ["logout", "play", "renew", "try-tampered", "try-other"].forEach((id) => ($(id).disabled = true));
  setStatus($("login-status"), "Logged out.");
  setStatus($("token-status"), "No viewing token.");
  setStatus($("play-status"), "Log in first.");
  showToken();
}

// ---------------------------------------------------------------- viewing token
async function renewToken() {
  clearTimeout(state.renewTimer);
  const response = await fetch(state.config.token_url + "/token", {
    method: "POST", headers: { Authorization: "Bearer " + state.appToken },
  });
  const body = await response.json();
  if (!response.ok) {
    setStatus($("token-status"), `Token service answered ${response.status}: ${body.error_description || body.error}`, "bad");
    throw new Error("no viewing token");
  }
  const first = state.token === null;
  state.token = body.access_token;
  state.claims = decodeClaims(state.token);
  if (!first) state.renewals += 1;
  const lifetime = state.claims.exp - state.claims.iat;
  state.renewTimer = setTimeout(() => renewToken().catch(() => {}), lifetime * RENEW_AT * 1000);
  setStatus($("token-status"), first ? `Issued; lifetime ${lifetime} s. Renewed at ${Math.round(lifetime * RENEW_AT)} s.`
                                     : `Renewed ${state.renewals}× before expiry (lifetime ${lifetime} s).`, "good");
  $("try-tampered").disabled = false;
  $("try-other").disabled = false;
  showToken();
}

function showToken() {
  const c = state.claims;
  $("token-sub").textContent = c ? c.sub : "–";
  $("token-paths").textContent = c ? (c.paths ? c.paths.join(", ") : "every path") : "–";
  $("token-kid").textContent = c ? JSON.parse(b64urlDecode(state.token.split(".")[0])).kid.slice(0, 16) + "…" : "–";
  tick();
}

function tick() {
  const c = state.claims;
  if (!c) {
    $("token-expiry").textContent = "no token";
    $("token-meter").style.width = "0%";
    return;
  }
  const now = Date.now() / 1000;
  const left = Math.max(0, c.exp - now);
  const at = new Date(c.exp * 1000).toLocaleTimeString();
  $("token-expiry").textContent = `${at} (in ${Math.floor(left / 60)}:${String(Math.floor(left % 60)).padStart(2, "0")})`;
  $("token-meter").style.width = `${(100 * left) / (c.exp - c.iat)}%`;
}

// ---------------------------------------------------------------- play
async function fetchVideo(path) {
  const parts = [];
  let start = 0, total = null, type = "video/webm", requests = 0;
  while (total === null || start < total) {
    const range = `bytes=${start}-${start + RANGE_BYTES - 1}`;
    const response = await cdnFetch(path, { Authorization: "Bearer " + state.token, Range: range });
    requests += 1;
    if (response.status !== 206 && response.status !== 200) {
      throw Object.assign(new Error("the CDN refused"), { response });
    }
    type = response.headers.get("Content-Type") || type;
    const chunk = await response.arrayBuffer();
    parts.push(chunk);
    if (response.status === 200) { total = chunk.byteLength; break; }
    total = Number(response.headers.get("Content-Range").split("/")[1]);
    start += chunk.byteLength;
    setStatus($("play-status"), `Fetching… ${Math.round((100 * start) / total)}%`);
  }
  return { blob: new Blob(parts, { type }), total, requests };
}

async function play() {
  const path = $("object").value;
  $("play").disabled = true;
  setStatus($("play-status"), "Fetching…");
  try {
    const { blob, total, requests } = await fetchVideo(path);
    if (state.blobUrl) URL.revokeObjectURL(state.blobUrl);
    state.blobUrl = URL.createObjectURL(blob);
    $("video").src = state.blobUrl;
    await $("video").play();
    setStatus($("play-status"), `Playing ${path}: ${(total / 1e6).toFixed(2)} MB in ${requests} range requests.`, "good");
  } catch (error) {
    if (error.response) {
      await showEdgeAnswer(error.response, `Playing ${path}`);
      setStatus($("play-status"), `The CDN answered ${error.response.status}; see step 4.`, "bad");
    } else {
      setStatus($("play-status"), "Playback failed: " + error.message, "bad");
    }
  } finally {
    $("play").disabled = state.token === null;
  }
}

// ---------------------------------------------------------------- refusals
async function showEdgeAnswer(response, what) {
  const text = await response.text();
  let detail = "";
  const challenge = response.headers.get("WWW-Authenticate");
  if (challenge) detail += `WWW-Authenticate: ${challenge}\n\n`;
  try { detail += JSON.stringify(JSON.parse(text), null, 2); } catch { detail += text; }
  $("edge-result").hidden = false;
  $("result-status").textContent = `${response.status} ${response.statusText || ""}`.trim();
  $("result-status").className = "badge " + badgeClass(response.status);
  $("result-what").textContent = what;
  $("result-detail").textContent = detail;
}

function ownObject() {
  return state.config.objects.find((o) => o.owner === state.claims.sub) || state.config.objects[0];
}

async function tryLoggedOut() {
  const path = state.config.objects[0].path;
  await showEdgeAnswer(await cdnFetch(path, {}), `No Authorization header → ${path}`);
}

async function tryTampered() {
  // Widen the token's scope by editing its payload; the signature no longer matches.
  const [header, payload, signature] = state.token.split(".");
  const claims = JSON.parse(b64urlDecode(payload));
  claims.paths = ["/"];
  const forged = [header, b64urlEncode(JSON.stringify(claims)), signature].join(".");
  const path = ownObject().path;
  await showEdgeAnswer(await cdnFetch(path, { Authorization: "Bearer " + forged }),
                       `Payload edited to open every path → ${path}`);
}

async function tryOther() {
  const other = state.config.objects.find((o) => o.owner !== state.claims.sub);
  await showEdgeAnswer(await cdnFetch(other.path, { Authorization: "Bearer " + state.token }),
                       `${state.claims.sub}'s token (opens ${state.claims.paths}) → ${other.path}`);
}

// ---------------------------------------------------------------- start
async function start() {
  state.config = await (await fetch("/config.json")).json();
  for (const user of state.config.users) $("username").append(new Option(`${user.username} (owns ${user.prefix})`, user.username));
  for (const obj of state.config.objects) $("object").append(new Option(`${obj.path} (${obj.owner})`, obj.path));
  const fillPassword = () => {
    $("password").value = state.config.users.find((u) => u.username === $("username").value).password;
  };
  $("username").addEventListener("change", fillPassword);
  fillPassword();
  $("login-form").addEventListener("submit", logIn);
  $("logout").addEventListener("click", logOut);
  $("renew").addEventListener("click", () => renewToken().catch(() => {}));
  $("play").addEventListener("click", play);
  $("try-logged-out").addEventListener("click", tryLoggedOut);
  $("try-tampered").addEventListener("click", tryTampered);
  $("try-other").addEventListener("click", tryOther);
  setInterval(tick, 1000);
  tick();
}

start();
