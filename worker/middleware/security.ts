/**
 * HTTP security middleware for the Worker (Hono):
 * - `requestIdMiddleware`: hono's requestId (X-Request-Id in and out; `c.get("requestId")`).
 * - `securityHeaders`: hono's secureHeaders with the app's CSP (self + our socket + Twilio Video), HSTS, nosniff,
 *   Referrer-Policy strict-origin-when-cross-origin, frame denial and a camera/microphone Permissions-Policy.
 * - `corsMiddleware`: hono's cors with the CORS_ORIGINS allow-list (same-origin always allowed); state-changing requests
 *   from a foreign, non-listed origin are refused with 403 before reaching a handler.
 * - `jsonBodyLimit`: hono's bodyLimit answering a typed 413 `{ error: { code: "MESSAGE_TOO_LARGE", message } }`.
 *
 * Register them first and in this order (`app.use(...securityMiddleware())`) so every response gets the headers,
 * including CORS preflights, 404s, errors and rate-limit refusals.
 *
 * Note: with `run_worker_first = ["/api/*"]` the static app (index.html) is served by the assets layer without running
 * the Worker, so these headers do not reach the HTML document. Use `buildContentSecurityPolicy()` to generate the
 * `_headers` file of the static assets (see the report / README).
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { MAX_MESSAGE_BYTES, type ErrorCode } from "../../lib/protocol";

// ---------------------------------------------------------------------------------------------------------------
// Typed error bodies
// ---------------------------------------------------------------------------------------------------------------

export interface ApiErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export function apiErrorBody(code: ErrorCode, message: string, details?: unknown): ApiErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** A typed JSON error response: `{ error: { code, message, details? } }`. */
export function apiError(c: Context, status: number, code: ErrorCode, message: string, details?: unknown, headers?: Record<string, string>): Response {
  return c.json(apiErrorBody(code, message, details), status as 400, headers);
}

// ---------------------------------------------------------------------------------------------------------------
// Request id
// ---------------------------------------------------------------------------------------------------------------

export const REQUEST_ID_HEADER = "X-Request-Id";

/** hono's requestId: reuses a well-formed incoming X-Request-Id (≤ 64 chars of [A-Za-z0-9_=-]), else a random UUID. */
export function requestIdMiddleware(): MiddlewareHandler {
  return requestId({ headerName: REQUEST_ID_HEADER, limitLength: 64, generator: () => crypto.randomUUID() });
}

// ---------------------------------------------------------------------------------------------------------------
// Security headers and CSP
// ---------------------------------------------------------------------------------------------------------------

/** Twilio Video's signalling, gateway and insights endpoints (ecs, sdkgw, global.vss, insights…): HTTPS and WSS. */
export const TWILIO_CONNECT_SOURCES = ["https://*.twilio.com", "wss://*.twilio.com"] as const;

/** ws(s)://<host> of the request, i.e. the app's own socket endpoint (CSP2 browsers do not let 'self' cover ws:). */
export function socketSourceFor(requestUrl: string): string {
  const url = new URL(requestUrl);
  return `${url.protocol === "https:" ? "wss:" : "ws:"}//${url.host}`;
}

type Directives = Record<string, string[]>;

/** CSP directives; `socketSource` is the app's WebSocket origin, e.g. "wss://app.example.com". */
export function cspDirectives(socketSource: string): Directives {
  return {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "media-src": ["'self'", "blob:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'", socketSource, ...TWILIO_CONNECT_SOURCES],
    "worker-src": ["'self'", "blob:"],
    "manifest-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-src": ["'none'"],
    "frame-ancestors": ["'none'"],
  };
}

/** The Content-Security-Policy header value, e.g. for the static assets' `_headers` file. Default socket: "wss:". */
export function buildContentSecurityPolicy(options: { socketSource?: string } = {}): string {
  return Object.entries(cspDirectives(options.socketSource ?? "wss:"))
    .map(([k, v]) => `${k} ${v.join(" ")}`)
    .join("; ");
}

const camel = (directive: string) => directive.replace(/-([a-z])/g, (_m, ch: string) => ch.toUpperCase());

export const HSTS_VALUE = "max-age=63072000; includeSubDomains";

/**
 * secureHeaders with the app's policy. A WebSocket upgrade that succeeds (101) is passed through untouched (headers mean
 * nothing on a 101, and the upgrade response must not be rebuilt); a refused upgrade (401, 403, 426…) is an ordinary
 * HTTP response and gets the same headers as every other one.
 */
export function securityHeaders(): MiddlewareHandler {
  const staticDirectives = cspDirectives("__SOCKET__");
  const contentSecurityPolicy: Record<string, (string | ((c: Context, directive: string) => string))[]> = {};
  for (const [directive, values] of Object.entries(staticDirectives)) {
    contentSecurityPolicy[camel(directive)] = values.map((v) => (v === "__SOCKET__" ? (c: Context) => socketSourceFor(c.req.url) : v));
  }
  const inner = secureHeaders({
    contentSecurityPolicy,
    strictTransportSecurity: HSTS_VALUE,
    xContentTypeOptions: "nosniff",
    referrerPolicy: "strict-origin-when-cross-origin",
    xFrameOptions: "DENY",
    crossOriginOpenerPolicy: "same-origin",
    crossOriginResourcePolicy: "same-origin",
    crossOriginEmbedderPolicy: false,
    permissionsPolicy: {
      camera: ["self"],
      microphone: ["self"],
      displayCapture: ["self"],
      speakerSelection: ["self"],
      autoplay: ["self"],
      fullscreen: ["self"],
      pictureInPicture: ["self"],
      screenWakeLock: ["self"],
      geolocation: [],
      payment: [],
      usb: [],
      serial: [],
      hid: [],
      bluetooth: [],
      browsingTopics: [],
    },
  });
  return async function securityHeadersMiddleware(c, next) {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return inner(c, next);
    await next();
    if (c.res.status === 101) return;
    // The refusal may come from the Durable Object (immutable headers): re-wrap it, then add the headers.
    c.res = new Response(c.res.body, c.res);
    await inner(c, async () => {});
  };
}

// ---------------------------------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------------------------------

/** Normalised origins from a comma-separated list; invalid entries and "*" are ignored. */
export function parseAllowedOrigins(value: string | undefined | null): Set<string> {
  const out = new Set<string>();
  for (const raw of (value ?? "").split(",")) {
    const entry = raw.trim();
    if (!entry || entry === "*" || entry === "null") continue;
    try {
      const url = new URL(entry);
      if (url.protocol === "http:" || url.protocol === "https:") out.add(url.origin);
    } catch {
      // ignore malformed entries
    }
  }
  return out;
}

function normaliseOrigin(origin: string): string | null {
  try {
    const url = new URL(origin);
    return url.origin === "null" ? null : url.origin;
  } catch {
    return null;
  }
}

/** Same-origin, or listed in CORS_ORIGINS. A missing Origin header (non-browser, same-origin GET) counts as allowed. */
export function isOriginAllowed(origin: string | null | undefined, requestUrl: string, corsOrigins: string | undefined | null): boolean {
  if (origin === undefined || origin === null || origin === "") return true;
  const normalised = normaliseOrigin(origin);
  if (normalised === null) return false;
  if (normalised === new URL(requestUrl).origin) return true;
  return parseAllowedOrigins(corsOrigins).has(normalised);
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** CORS for the API with the CORS_ORIGINS allow-list. No cookies are used, so credentials stay off. */
export function corsMiddleware(): MiddlewareHandler<{ Bindings: { CORS_ORIGINS?: string } }> {
  const inner = cors({
    origin: (origin, c) => (origin && isOriginAllowed(origin, c.req.url, (c.env as { CORS_ORIGINS?: string } | undefined)?.CORS_ORIGINS) ? origin : null),
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowHeaders: ["Authorization", "Content-Type", "X-Request-Id", "Idempotency-Key"],
    exposeHeaders: ["X-Request-Id", "Retry-After"],
    maxAge: 600,
    credentials: false,
  });
  return async function corsAllowList(c, next) {
    const origin = c.req.header("origin");
    // Browsers do not apply CORS to WebSockets but always send Origin on them: a page on a foreign origin must not open
    // a session socket (cross-site WebSocket hijacking), even though the ticket in the URL is what authenticates.
    const upgrade = c.req.header("upgrade")?.toLowerCase() === "websocket";
    if (origin && (upgrade || !SAFE_METHODS.has(c.req.method)) && !isOriginAllowed(origin, c.req.url, c.env?.CORS_ORIGINS)) {
      return apiError(c, 403, "FORBIDDEN", "requests from this origin are not allowed");
    }
    return inner(c, next);
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Body size
// ---------------------------------------------------------------------------------------------------------------

/** Refuses bodies over `maxBytes` (Content-Length or streamed) with 413 `{ error: { code: "MESSAGE_TOO_LARGE" } }`. */
export function jsonBodyLimit(maxBytes: number = MAX_MESSAGE_BYTES): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => apiError(c, 413, "MESSAGE_TOO_LARGE", `the request body exceeds ${maxBytes} bytes`, { maxBytes }),
  });
}

/** requestId → security headers → CORS, in the order they must wrap everything else. */
export function securityMiddleware(): MiddlewareHandler[] {
  return [requestIdMiddleware(), securityHeaders(), corsMiddleware() as MiddlewareHandler];
}
