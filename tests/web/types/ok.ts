// The documented use of @edge-private-media/web (docs/frontend.md): must type-check under --strict.
import {
  startPrivateMedia, playWithBlob, PrivateMedia, PrivateMediaError, readTokenJson, renewDelayMs, retryDelayMs, DEFAULTS,
  type PrivateMediaOptions, type TokenJson,
} from "@edge-private-media/web";
import { usePrivateMedia, type UsePrivateMedia } from "@edge-private-media/web/react";

declare const TOKEN_SERVICE_URL: string;
declare const MEDIA_URL: string;
declare const appToken: string;

const base = TOKEN_SERVICE_URL.endsWith("/") ? TOKEN_SERVICE_URL : TOKEN_SERVICE_URL + "/";
const getToken = async (): Promise<TokenJson> => {
  const r = await fetch(new URL("token", base), { method: "POST", headers: { Authorization: `Bearer ${appToken}` } });
  if (!r.ok) throw new Error(`token service answered ${r.status}`);
  return r.json();
};

export async function play(video: HTMLVideoElement): Promise<PrivateMedia> {
  const options: PrivateMediaOptions = { mediaOrigins: [MEDIA_URL], getToken, rangeChunkBytes: 0, getTokenTimeoutMs: 5000,
                                        cookieTokenUrl: `${base}token?cookie=1`, blobMaxBytes: 16 * 1024 * 1024 };
  try {
    const media = await startPrivateMedia(options);
    if (media.mode === "blob") await media.playWithBlob(video, `${MEDIA_URL}/videos/u42/clip.mp4`);
    console.log(media.mode === "cookie" || media.blobMaxBytes > 0);
    media.addEventListener("token", (e) => console.log(e.detail.expiresIn + e.detail.renewals));
    media.addEventListener("error", (e) => console.log(e.detail.error.code, e.detail.retryInMs));
    media.addEventListener("request", (e) => console.log(e.detail.url, e.detail.status, e.detail.range, e.detail.sentRange));
    video.crossOrigin = "anonymous";
    video.src = `${MEDIA_URL}/videos/u42/profile.mp4`;
    await media.refresh();
    if (!media.stopped) await media.stop();
    return media;
  } catch (error) {
    if (error instanceof PrivateMediaError && error.code === "worker") {
      const { url, bytes } = await playWithBlob(video, `${MEDIA_URL}/videos/u42/profile.mp4`, getToken,
                                                { maxBytes: 32 * 1024 * 1024 });
      console.log(url, bytes);
    }
    throw error;
  }
}

export const renewInMs: number = renewDelayMs(readTokenJson({ access_token: "a", expires_in: 300 }).expiresIn);
export const retryInMs: number = retryDelayMs(2, { retryBaseMs: DEFAULTS.retryBaseMs });

export function useMedia(token: string | null): PrivateMedia | null {
  const state: UsePrivateMedia = usePrivateMedia(token ? { mediaOrigins: [MEDIA_URL], getToken } : null, [token]);
  return state.error ? null : state.media;
}
