// Misuses strict tsc must refuse: each line marked "error" must fail to type-check, and no other.
import { startPrivateMedia, PrivateMediaError } from "@edge-private-media/web";
import { usePrivateMedia } from "@edge-private-media/web/react";

declare const getToken: () => Promise<{ access_token: string; expires_in: number }>;

export async function misuse(): Promise<void> {
  await startPrivateMedia({ mediaOrigins: "https://media.example.com", getToken }); // error: a list of origins
  await startPrivateMedia({ mediaOrigins: ["https://media.example.com"] }); // error: getToken is required
  await startPrivateMedia({ mediaOrigins: [], getToken, rangeChunkBytes: "2MB" }); // error: a number
  const media = await startPrivateMedia({ mediaOrigins: [], getToken });
  media.addEventListener("token", (e) => e.detail.expires_in); // error: the detail says expiresIn
  const code: "expired" = new PrivateMediaError("token", "x").code; // error: not one of the codes
  media.stop(true); // error: stop takes nothing
  const mode: "worker" = media.mode; // error: "service-worker", "cookie", "blob" or null
  console.log(code, mode);
}

export const state = usePrivateMedia({ mediaOrigins: ["https://media.example.com"] }, []); // error: no getToken
export const m: string = usePrivateMedia(null).media; // error: a PrivateMedia or null
