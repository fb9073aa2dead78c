// A Vite + React app that installed web/ as a package (tests/web/test_package.py), in StrictMode
// (a development build, so React mounts every effect twice: at mount only, so `?member=alice&delayMs=800`
// logs in from the first render). The test logs members in and out with app.setLogin({member,
// delayMs}) (delayMs holds back each viewing token) and reads `app`.
import { StrictMode, createElement as h, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { usePrivateMedia } from "@edge-private-media/web/react";

const config = await (await fetch("/config.json")).json();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const app = { effectRuns: 0, getTokenCalls: 0, tokens: [], shown: [], setLogin: null };
window.app = app;

async function appToken(username) {
  const { password } = config.users.find((user) => user.username === username);
  const r = await fetch(`${config.idp_url}/login`, { method: "POST", headers: { "Content-Type": "application/json" },
                                                   body: JSON.stringify({ username, password }) });
  return (await r.json()).access_token;
}

/** getToken of one member, as docs/frontend.md writes it; each answer held back delayMs. */
function viewingToken(username, delayMs) {
  const base = config.token_url.endsWith("/") ? config.token_url : config.token_url + "/";
  return async () => {
    app.getTokenCalls += 1;
    const r = await fetch(new URL("token", base), { method: "POST",
                                                   headers: { Authorization: `Bearer ${await appToken(username)}` } });
    if (!r.ok) throw new Error(`token service answered ${r.status}`);
    const json = await r.json();
    await sleep(delayMs);
    app.tokens.push(username);
    return json;
  };
}

function App() {
  const [login, setLogin] = useState(() => {
    const query = new URLSearchParams(location.search);
    return query.has("member") ? { member: query.get("member"), delayMs: Number(query.get("delayMs")) } : null;
  });
  app.setLogin = setLogin;
  useEffect(() => void (app.effectRuns += 1), [login]); // twice on mount in StrictMode, as the hook's own
  const { media, error } = usePrivateMedia(
    login && { mediaOrigins: [config.cdn_url], getToken: viewingToken(login.member, login.delayMs) }, [login]);
  if (error) return h("p", { role: "alert" }, error.message);
  if (!media) return h("p", null, login ? "starting" : "logged out");
  app.shown.push(login.member);
  return h("video", { id: "video", crossOrigin: "anonymous", muted: true, controls: true,
                      src: `${config.cdn_url}/videos/${login.member}/profile.webm` });
}

createRoot(document.getElementById("root")).render(h(StrictMode, null, h(App)));
