// Types of react.js (the React hook of private-media.js); hand-written, checked by tsc --strict in
// tests/web/test_package.py. Self-contained: no @types/react needed.
import type { PrivateMedia, PrivateMediaError, PrivateMediaOptions } from "./private-media.js";

export interface UsePrivateMedia {
  /** The current start's PrivateMedia once the worker holds its token; null before, after a failure,
   * and as soon as `deps` change. */
  media: PrivateMedia | null;
  /** Why the current start failed (code "worker", "token", ...); null otherwise. */
  error: PrivateMediaError | null;
}

/** startPrivateMedia(options) while `options` is not null (logged in); again when `deps` change. */
export function usePrivateMedia(options: PrivateMediaOptions | null | undefined,
                                deps?: readonly unknown[]): UsePrivateMedia;
