// Types of private-media.js, hand-written (the library is plain JavaScript, no build step) and checked
// by `tsc --strict` in tests/web/test_package.py, which also fails when an export is not declared here.
// What each option and event means: docs/frontend.md.

/** The token service's /token JSON, as it comes. */
export interface TokenJson {
  access_token: string;
  expires_in: number;
  token_type?: string;
  [field: string]: unknown;
}

/** What getToken is given in cookie mode. */
export interface CookieTokenRequest {
  url: string;
  credentials: "include";
}

/** The fallback ladder: a service worker where there are service workers, else cookie mode when
 * `cookieTokenUrl` is given, else whole files into Blobs. */
export type PrivateMediaMode = "service-worker" | "cookie" | "blob";

export interface PrivateMediaOptions {
  /** Origins exactly as the browser writes them: "https://media.example.com" (no path, no trailing "/"). */
  mediaOrigins: readonly string[];
  /** The /token JSON for the logged-in member; throws when the token service refuses. In cookie
   * mode it is given the cookie-mode /token URL to ask with credentials (the cookie is set). */
  getToken: (request?: CookieTokenRequest) => Promise<TokenJson> | TokenJson;
  /** A getToken() not settled by then fails with code "token", is reported and retried (default 10000). */
  getTokenTimeoutMs?: number;
  /** Without service workers: the deployment's cookie-mode /token URL (mode "cookie"); else mode "blob". */
  cookieTokenUrl?: string;
  /** Mode "blob": the largest file playWithBlob takes (default 64 MiB). */
  blobMaxBytes?: number;
  /** Where the worker is served (default "/private-media-sw.js", at the site's root). */
  serviceWorkerUrl?: string;
  /** The worker's scope (default: the worker's folder). */
  scope?: string;
  /** Renew when this share of the token's lifetime has passed (default 0.75). */
  renewAt?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Registering, taking control, each answer of the worker (default 10000). */
  workerTimeoutMs?: number;
  heartbeatMs?: number;
  refreshFloorMs?: number;
  /** The most an audio or video element's open-ended range asks for (default 2 MiB, 0 in WebKit:
   * defaultRangeChunkBytes; 0: unbounded). */
  rangeChunkBytes?: number;
}

export type PrivateMediaErrorCode = "worker" | "token" | "stopped" | "refused" | "too_large";

export class PrivateMediaError extends Error {
  constructor(code: PrivateMediaErrorCode, message: string,
              details?: { cause?: unknown; status?: number; response?: Response });
  readonly name: "PrivateMediaError";
  readonly code: PrivateMediaErrorCode;
  /** "refused": the media origin's HTTP status. */
  readonly status?: number;
  /** "refused": the media origin's answer (its body says why). */
  readonly response?: Response;
}

export interface TokenEventDetail {
  expiresIn: number;
  renewals: number;
}

export interface ErrorEventDetail {
  error: PrivateMediaError;
  /** When the next renewal is tried; absent when nothing is retried. */
  retryInMs?: number;
}

/** The worker's report of one media request. */
export interface RequestEventDetail {
  url: string;
  method: string;
  /** The request's destination ("video", "audio", "" for fetch, ...). */
  destination: string;
  /** The Range the element (or fetch) asked for. */
  range: string | null;
  /** The Range the worker sent (an element's open-ended range bounded to rangeChunkBytes). */
  sentRange: string | null;
  /** 0 when no answer came (no CORS grant, a redirect, the network, a cancelled range). */
  status: number;
  contentRange: string | null;
  ms: number;
  retried: boolean;
  error?: string;
}

export interface PrivateMediaEventMap {
  token: CustomEvent<TokenEventDetail>;
  error: CustomEvent<ErrorEventDetail>;
  request: CustomEvent<RequestEventDetail>;
}

export class PrivateMedia extends EventTarget {
  constructor(options: PrivateMediaOptions);
  /** True after stop(). */
  readonly stopped: boolean;
  /** Which rung of the fallback ladder this page got; null until started. */
  readonly mode: PrivateMediaMode | null;
  /** Mode "blob": the largest file playWithBlob takes. */
  readonly blobMaxBytes: number;
  /** Mode "blob": play `url` in `video` from a Blob of the whole file. */
  playWithBlob(video: HTMLMediaElement, url: string): Promise<PlayWithBlobResult>;
  /** Get a new token now and hand it to the worker. */
  refresh(): Promise<void>;
  /** Logout: the worker forgets this page's token. */
  stop(): Promise<void>;
  /** Used by startPrivateMedia; not for callers. */
  _start(): Promise<void>;
  addEventListener<K extends keyof PrivateMediaEventMap>(
    type: K, listener: (event: PrivateMediaEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null,
                   options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof PrivateMediaEventMap>(
    type: K, listener: (event: PrivateMediaEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null,
                      options?: boolean | EventListenerOptions): void;
}

/** Register the worker, wait until it controls the page, hand it the first token. */
export function startPrivateMedia(options: PrivateMediaOptions): Promise<PrivateMedia>;

export interface PlayWithBlobOptions {
  chunkBytes?: number;
  /** Refuse larger files with code "too_large" (default 64 MiB). */
  maxBytes?: number;
}

export interface PlayWithBlobResult {
  /** The blob: URL now in `video.src`; revoke it when done. */
  url: string;
  bytes: number;
  requests: number;
}

/** Without service workers: the whole file into a Blob, then played. Short files only. */
export function playWithBlob(video: HTMLMediaElement, url: string, getToken: PrivateMediaOptions["getToken"],
                             options?: PlayWithBlobOptions): Promise<PlayWithBlobResult>;

export const DEFAULTS: Readonly<Required<Omit<PrivateMediaOptions, "mediaOrigins" | "getToken" | "scope" | "cookieTokenUrl">> & {
  scope: string | undefined;
  cookieTokenUrl: string | undefined;
}>;

/** `promise`, or a rejection with makeError() when it has not settled within `ms`. */
export function settleWithin<T>(promise: Promise<T>, ms: number, makeError: () => Error): Promise<T>;

/** The rung of the fallback ladder a page gets. */
export function chooseMode(facts: { serviceWorkers: boolean; cookieTokenUrl?: string }): PrivateMediaMode;

/** rangeChunkBytes when the page does not set it: 2 MiB, but 0 in WebKit (it stalls at a bounded chunk's end). */
export function defaultRangeChunkBytes(userAgent: string): number;

/** Milliseconds until a token of `expiresIn` seconds should be renewed (at least 1000). */
export function renewDelayMs(expiresIn: number, renewAt?: number): number;

/** Milliseconds before retry number `attempt`: doubling from retryBaseMs up to retryMaxMs, with jitter. */
export function retryDelayMs(attempt: number,
                             options?: { retryBaseMs?: number; retryMaxMs?: number; random?: () => number }): number;

/** The /token JSON checked; throws a PrivateMediaError "token" otherwise. */
export function readTokenJson(json: unknown): { accessToken: string; expiresIn: number };
