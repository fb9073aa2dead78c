// react.js: usePrivateMedia, private-media.js as a React hook (docs/frontend.md, "React").
//
//   const { media, error } = usePrivateMedia(appToken ? { mediaOrigins: [MEDIA_URL], getToken } : null, [appToken]);
//   return media && <video crossOrigin="anonymous" controls src={`${MEDIA_URL}/videos/u42/profile.mp4`} />;

import { useEffect, useState } from "react";
import { startPrivateMedia } from "./private-media.js";

const IDLE = Object.freeze({ media: null, error: null });

/** Runs startPrivateMedia(options) while `options` is not null; starts again when `deps` (or the
 * media origins) change, e.g. another member logs in, and stops on unmount, on null (logout) and
 * before each new start. Returns {media, error} of the current start only: `media` is its
 * PrivateMedia once the worker holds its token, `error` its PrivateMediaError if it failed; both
 * null while it starts, and null as soon as `deps` change, so a render never shows media started
 * for other deps (another member's token).
 *
 * StrictMode-safe by construction: every effect run is a start of its own, its cleanup stops it
 * (when the start settles), and what it resolves to after its cleanup is dropped. The page's newest
 * start is the one the worker keeps: a late stop() of an older one does not touch it. `options` are
 * read when a start begins (getToken included), so give `deps` whatever getToken depends on. */
export function usePrivateMedia(options, deps = []) {
  const enabled = options !== null && options !== undefined;
  const origins = enabled && Array.isArray(options.mediaOrigins) ? options.mediaOrigins.join(" ") : "";
  const key = [enabled, origins, ...deps];
  const [state, setState] = useState({ key: null, ...IDLE });

  useEffect(() => {
    if (!enabled) return undefined;
    let current = true;
    const started = startPrivateMedia(options);
    started.then((media) => current && setState({ key, media, error: null }),
                 (error) => current && setState({ key, media: null, error }));
    return () => {
      current = false;
      started.then((media) => media.stop()).catch(() => {}); // a failed start has nothing to stop
    };
  }, key); // eslint-disable-line react-hooks/exhaustive-deps -- options belong to the render that changed `key`

  return state.key !== null && sameKey(state.key, key) ? { media: state.media, error: state.error } : IDLE;
}

function sameKey(a, b) {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}
