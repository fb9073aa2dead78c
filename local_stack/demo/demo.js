// The demo page: log in at the IdP, get viewing tokens from the token service, and play a private
// video straight from the CDN with <video src>: private-media.js's service worker adds the token
// to the video's (range) requests, so it streams and seeks like any video. Where service workers
// are unavailable it falls back to playWithBlob (the whole file first, then play). Uploads: a form
// from POST /uploads, posted straight to the bucket with XHR (for its upload progress); the media
// processor makes it an asset: the page shows "processing…" (GET /uploads/{id}), then its poster, then
// plays it. "My videos" lists the member's ready assets (GET /videos) and deletes one (DELETE /videos/{id}).
import { playWithBlob, startPrivateMedia } from "/private-media.js";

const $ = (id) => document.getElementById(id);
const state = { config: null, appToken: null, token: null, claims: null, media: null, blobUrl: null, fallback: false,
                upload: null };
const LOGGED_IN_BUTTONS = ["logout", "play", "upload", "renew", "try-tampered", "try-other", "refresh-videos"];
const STATUS_POLL_MS = 1000;

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

function logRequest({ method, url, range, status, ms, retried, via }) {
  const li = document.createElement("li");
  const badge = document.createElement("span");
  badge.className = "badge " + badgeClass(status);
  badge.textContent = status || "failed";
  const path = new URL(url).pathname;
  li.append(badge, ` ${method} ${path}${range ? "  " + range.replace("bytes=", "bytes ") : ""}  · ${ms} ms  · ${via}` +
                   (retried ? " (retried with a fresh token)" : ""));
  $("log").prepend(li);
  while ($("log").children.length > 12) $("log").lastChild.remove();
}

function badgeClass(status) {
  if (status >= 200 && status < 300) return "ok";
  if (status === 401) return "deny";
  if (status === 403) return "scope";
  return "warn";
}

/** A request the page makes itself (the refusal buttons). */
async function cdnFetch(path, headers = {}) {
  const started = performance.now();
  const response = await fetch(state.config.cdn_url + path, { headers, cache: "no-store" });
  if (!state.media || headers.Authorization) { // else the worker handled it and reports it
    logRequest({ method: "GET", url: response.url, status: response.status, ms: Math.round(performance.now() - started),
                 via: headers.Authorization ? "page, its own header" : "page" });
  }
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
    await startMedia();
    LOGGED_IN_BUTTONS.forEach((id) => ($(id).disabled = false));
    $("try-logged-out").disabled = true;
    setStatus($("play-status"), state.fallback ? "Ready (no service worker here: whole-file fallback)." : "Ready.");
    setStatus($("upload-status"), "Choose a video, then Upload.");
    await listVideos();
  } catch (error) {
    setStatus($("login-status"), "Login refused: " + error.message, "bad");
  }
}

async function logOut() {
  LOGGED_IN_BUTTONS.forEach((id) => ($(id).disabled = true));
  if (state.upload) state.upload.abort();
  const media = state.media;
  Object.assign(state, { appToken: null, token: null, claims: null, media: null });
  if (media) await media.stop(); // the service worker forgets this tab's token
  $("try-logged-out").disabled = false;
  setStatus($("login-status"), "Logged out.");
  setStatus($("token-status"), "No viewing token. The service worker forgot this tab's token.");
  setStatus($("play-status"), "Log in first.");
  setStatus($("upload-status"), "Log in first.");
  $("upload-poster").hidden = true;
  $("videos").replaceChildren(note("Log in first."));
  showToken();
}

// ---------------------------------------------------------------- viewing token
/** The library's getToken: POST /token with the app token; the /token JSON as it is. */
async function getToken() {
  const response = await fetch(new URL("token", state.config.token_url + "/"), {
    method: "POST", headers: { Authorization: "Bearer " + state.appToken },
  });
  const body = await response.json();
  if (!response.ok) {
    setStatus($("token-status"), `Token service answered ${response.status}: ${body.error_description || body.error}`, "bad");
    throw new Error(`token service answered ${response.status}`);
  }
  state.token = body.access_token;
  state.claims = decodeClaims(state.token);
  showToken();
  return body;
}

async function startMedia() {
  state.media = await startPrivateMedia({ mediaOrigins: [state.config.cdn_url], getToken });
  if (state.media.mode === "blob") { // no service workers here: the page fetches files itself
    state.fallback = true;
    await getToken();
    setStatus($("token-status"), "Issued (no service worker here: the page fetches files itself).", "good");
    return;
  }
  state.media.addEventListener("token", ({ detail }) => {
    const at = Math.round(detail.expiresIn * 0.75);
    setStatus($("token-status"), detail.renewals === 0
      ? `Issued; lifetime ${detail.expiresIn} s. Renewed at ${at} s; the service worker holds it for this tab.`
      : `Renewed ${detail.renewals}× before expiry (lifetime ${detail.expiresIn} s).`, "good");
  });
  state.media.addEventListener("error", ({ detail }) => {
    setStatus($("token-status"), `Renewal failed: ${detail.error.message}` +
              (detail.retryInMs ? ` Retrying in ${Math.round(detail.retryInMs / 1000)} s.` : ""), "bad");
  });
  state.media.addEventListener("request", ({ detail }) => logRequest({ ...detail, via: "service worker" }));
  const lifetime = state.claims.exp - state.claims.iat;
  setStatus($("token-status"), `Issued; lifetime ${lifetime} s. Renewed at ${Math.round(lifetime * 0.75)} s; ` +
            "the service worker holds it for this tab.", "good");
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
async function play() {
  const path = $("object").value; // percent-encoded, as in a URL
  const url = state.config.cdn_url + path;
  const video = $("video");
  setStatus($("play-status"), "Loading…");
  try {
    if (state.fallback) {
      const result = await playWithBlob(video, url, getToken);
      if (state.blobUrl) URL.revokeObjectURL(state.blobUrl);
      state.blobUrl = result.url;
      await video.play();
      setStatus($("play-status"), `Playing ${path}: ${(result.bytes / 1e6).toFixed(2)} MB fetched first in ${result.requests} range requests.`, "good");
      return;
    }
    video.src = url; // the service worker adds the token to the video's own range requests
    await video.play();
    setStatus($("play-status"), `Playing ${path}, streamed from the CDN (${new URL(url).host}).`, "good");
  } catch (error) {
    if (error.response) {
      await showEdgeAnswer(error.response, `Playing ${path}`);
      setStatus($("play-status"), `The CDN answered ${error.status}; see step 4.`, "bad");
    } else if (video.error) {
      // The video element only says it failed; ask the same URL (the worker adds the token) to show why.
      const response = await cdnFetch(path);
      await showEdgeAnswer(response, `Playing ${path}`);
      setStatus($("play-status"), `The CDN answered ${response.status}; see step 4.`, "bad");
    } else {
      setStatus($("play-status"), "Playback failed: " + error.message, "bad");
    }
  }
}

// ---------------------------------------------------------------- upload
// The file name comes from the member's disk: it is only ever shown as text (textContent, Option).
async function upload() {
  const file = $("upload-file").files[0];
  const status = $("upload-status");
  if (!file) return setStatus(status, "Choose a video first.", "bad");
  $("upload").disabled = true;
  showProgress(0);
  try {
    setStatus(status, `Asking the token service for an upload form for ${file.name}…`);
    const response = await fetch(new URL("uploads", state.config.token_url + "/"), {
      method: "POST", headers: { Authorization: "Bearer " + state.appToken, "Content-Type": "application/json" },
      body: JSON.stringify({ content_type: file.type, size: file.size, filename: file.name }),
    });
    const answer = await response.json();
    if (!response.ok) {
      setStatus(status, `The token service refused it (${response.status}): ${answer.error_description || answer.error}`, "bad");
      return;
    }
    const form = new FormData();
    for (const [name, value] of Object.entries(answer.fields)) form.append(name, value);
    form.append("file", file); // last: S3 ignores every field after the file
    setStatus(status, `Uploading ${file.name} straight to the bucket…`);
    const xhr = await postForm(answer.url, form);
    if (xhr.status !== 204 && xhr.status !== 201) {
      setStatus(status, `The bucket refused the upload (${xhr.status}): ${s3Error(xhr)}`, "bad");
      return;
    }
    setStatus(status, `Uploaded ${file.name} (${(file.size / 1e6).toFixed(2)} MB); processing…`);
    const asset = await settled(answer.status_url);
    if (asset.status !== "ready") {
      setStatus(status, `${file.name} could not be published: ${asset.reason}.`, "bad");
      return;
    }
    await showImage($("upload-poster"), answer.poster_url);
    select(answer.media_path, `${answer.media_path} (uploaded: ${file.name})`);
    setStatus(status, `${file.name} is ready: ${asset.width}×${asset.height}, ${asset.duration} s ` +
              `(${asset.processing === "remux" ? "remuxed" : "transcoded"}); it plays above.`, "good");
    await Promise.all([play(), listVideos()]);
  } catch (error) {
    setStatus(status, "Upload failed: " + error.message, "bad");
  } finally {
    $("upload").disabled = !state.appToken;
  }
}

/** The token service, as the logged-in member: the JSON answer (null for 204), or an Error with its reason. */
async function tokenService(path, options = {}) {
  const response = await fetch(new URL(path.replace(/^\//, ""), state.config.token_url + "/"),
                               { ...options, headers: { Authorization: "Bearer " + state.appToken } });
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(`the token service answered ${response.status}: ${body.error_description || body.error}`);
  return body;
}

/** The asset's status once the processor is done with it (polled while it says "processing"). */
async function settled(statusUrl) {
  for (;;) {
    const asset = await tokenService(statusUrl);
    if (asset.status !== "processing") return asset;
    await new Promise((resolve) => setTimeout(resolve, STATUS_POLL_MS));
  }
}

/** An image from the CDN: through the service worker, or (fallback) fetched with the token into a blob. */
async function showImage(img, url) {
  if (state.fallback) {
    const response = await fetch(url, { headers: { Authorization: "Bearer " + state.token } });
    img.src = URL.createObjectURL(await response.blob());
  } else {
    img.src = url;
  }
  img.hidden = false;
  await img.decode();
}

function select(path, label) {
  if (![...$("object").options].some((option) => option.value === path)) $("object").append(new Option(label, path));
  $("object").value = path;
}

function note(text) {
  const li = document.createElement("li");
  li.className = "muted";
  li.textContent = text;
  return li;
}

// ---------------------------------------------------------------- my videos
async function listVideos() {
  const list = $("videos");
  try {
    const { videos } = await tokenService("videos?limit=20");
    list.replaceChildren(...videos.map(videoItem));
    if (!videos.length) list.append(note("No videos yet: upload one."));
  } catch (error) {
    list.replaceChildren(note("Could not list the videos: " + error.message));
  }
}

// The filename comes from the member's disk: shown as text only.
function videoItem(video) {
  const li = document.createElement("li");
  li.dataset.id = video.id;
  const poster = document.createElement("img");
  poster.alt = "";
  poster.crossOrigin = "anonymous";
  showImage(poster, video.poster_url).catch(() => {});
  const what = document.createElement("span");
  what.className = "what";
  what.textContent = `${video.filename || video.id} · ${video.duration} s · ${video.width}×${video.height}`;
  const playButton = document.createElement("button");
  playButton.type = "button";
  playButton.className = "secondary play-video";
  playButton.textContent = "Play";
  playButton.addEventListener("click", () => {
    select(video.media_path, `${video.media_path} (${video.filename || "uploaded"})`);
    play();
  });
  const deleteButton = document.createElement("button");
  deleteButton.type = "button";
  deleteButton.className = "secondary delete-video";
  deleteButton.textContent = "Delete";
  deleteButton.addEventListener("click", async () => {
    deleteButton.disabled = true;
    try {
      await tokenService(`videos/${encodeURIComponent(video.id)}`, { method: "DELETE" });
      [...$("object").options].filter((option) => option.value === video.media_path).forEach((option) => option.remove());
    } catch (error) {
      what.textContent += ` (not deleted: ${error.message})`;
    }
    await listVideos();
  });
  li.append(poster, what, playButton, deleteButton);
  return li;
}

/** POST the form to the bucket with XHR: fetch reports no upload progress. Resolves with the answered XHR. */
function postForm(url, form) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    state.upload = xhr;
    xhr.upload.onprogress = (event) => event.lengthComputable && showProgress(event.loaded / event.total);
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(new Error("the bucket did not answer (network, or no CORS grant for this page)"));
    xhr.onabort = () => reject(new Error("cancelled"));
    xhr.onloadend = () => (state.upload = null);
    xhr.open("POST", url);
    xhr.send(form);
  });
}

function showProgress(fraction) {
  const percent = Math.floor(100 * fraction);
  $("upload-bar").style.width = `${percent}%`;
  $("upload-meter").setAttribute("aria-valuenow", percent);
}

/** S3's XML error answer as "Code: Message". */
function s3Error(xhr) {
  const error = new DOMParser().parseFromString(xhr.responseText, "application/xml");
  const code = error.querySelector("Error > Code");
  return code ? `${code.textContent}: ${error.querySelector("Error > Message")?.textContent ?? ""}` : xhr.statusText;
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
  await showEdgeAnswer(await cdnFetch(path), `No Authorization header → ${path}`);
}

async function tryTampered() {
  // Widen the token's scope by editing its payload; the signature no longer matches. A request
  // that carries its own Authorization header is left alone by the service worker.
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
  const headers = state.fallback ? { Authorization: "Bearer " + state.token } : {}; // else the worker adds it
  await showEdgeAnswer(await cdnFetch(other.path, headers),
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
  $("renew").addEventListener("click", () => (state.media ? state.media.refresh() : getToken()).catch(() => {}));
  $("play").addEventListener("click", play);
  $("upload").addEventListener("click", upload);
  $("try-logged-out").addEventListener("click", tryLoggedOut);
  $("try-tampered").addEventListener("click", tryTampered);
  $("try-other").addEventListener("click", tryOther);
  $("refresh-videos").addEventListener("click", listVideos);
  setInterval(tick, 1000);
  tick();
}

start();
