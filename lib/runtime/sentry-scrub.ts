/**
 * What leaves for Sentry: one scrubber for the Worker, the session Durable Object and the browser, run as the SDKs'
 * `beforeSend`, `beforeSendTransaction`, `beforeSendSpan` and `beforeBreadcrumb` (see `sentryPrivacyOptions`).
 *
 * Therapy data never leaves: no names, session titles, chat, broadcast or help text, identities (`user:…`, `guest:…`),
 * tickets, invites, guest credentials, Twilio or sign-in tokens, cookies or Authorization headers, request bodies, IP
 * addresses. What is kept is what debugging needs: exception types and (redacted) messages, stack frames, the route
 * (path with random ids, query values filtered), status codes, the release and environment, and breadcrumb categories.
 *
 * Rules, in order of strength:
 * - whole parts dropped: `user`, `request.data`, `request.cookies`, `request.env`, console breadcrumb arguments;
 * - request headers kept only from an allow-list (`SAFE_HEADERS`);
 * - every URL's query values replaced by `[Filtered]` (keys kept: `?ticket=[Filtered]`);
 * - any value under a key that names something personal or secret (`SECRET_KEY`, `PERSONAL_KEY`) replaced;
 * - every other string redacted: JWT-shaped strings, `Bearer …`, identities, e-mail addresses, query values.
 *
 * Pure and runtime-neutral (lib imports nothing of ours): tested on Node over events built as the SDK builds them.
 */
import type { Breadcrumb, Event, Exception, SpanJSON, StackFrame } from "@sentry/core";

export const FILTERED = "[Filtered]";

/** Keys whose values are credentials (matched anywhere in the key, case-insensitively, ignoring `_`, `-`, `.`). */
const SECRET_KEY = /token|secret|authorization|signature|password|passwd|cookie|apikey|credential|ticket|invite|jwt|bearer|session(key|secret)/;
/** Keys whose values are a person's data or their words (the whole key, normalised as above). */
const PERSONAL_KEY =
  /^(name|names|displayname|facilitatorname|username|fullname|firstname|lastname|title|identity|identities|createdby|email|phone|text|message|messages|chat|help|helptext|helpmessage|note|notes|body|ip|ipaddress|user|you|query|querystring|urlquery|httpquery)$/;
/** Request headers worth keeping; everything else (Authorization, Cookie, X-Twilio-Signature, CF-Connecting-IP…) goes. */
const SAFE_HEADERS = new Set(["accept", "content-type", "content-length", "user-agent", "x-request-id", "cf-ray", "host", "origin", "referer"]);

const JWT_LIKE = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*)?/g;
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
/** Identities as the session keeps them: `user:<IdP subject>` and `guest:<random>` (worker/auth/guests.ts). */
const IDENTITY = /\b(user|guest):[A-Za-z0-9_.:@-]*[A-Za-z0-9_@-]/g;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
/** A query parameter's value in a URL or in free text (`?ticket=…`, `&invite=…`). */
const QUERY_VALUE = /([?&][^=&#\s"'<>]{1,64}=)[^&#\s"'<>]*/g;
/** CSS attribute selectors in UI breadcrumbs carry text (`[aria-label="Move Alice"]`). */
const ATTRIBUTE_VALUE = /(\[[A-Za-z0-9_-]+=)(["'])(?:(?!\2).)*\2/g;

const MAX_DEPTH = 8;
const MAX_STRING = 2000;

const normaliseKey = (key: string) => key.toLowerCase().replace(/[_.\s-]/g, "");

/** Whether a value under this key is personal or secret, whatever it looks like. */
export function isSensitiveKey(key: string): boolean {
  const k = normaliseKey(key);
  return SECRET_KEY.test(k) || PERSONAL_KEY.test(k);
}

/** Free text with every token, credential, identity, e-mail address and query value replaced. */
export function redactText(value: string): string {
  let out = value
    .replace(JWT_LIKE, FILTERED)
    .replace(AUTH_SCHEME, (_m, scheme: string) => `${scheme} ${FILTERED}`)
    .replace(QUERY_VALUE, `$1${FILTERED}`)
    .replace(IDENTITY, (_m, kind: string) => `${kind}:${FILTERED}`)
    .replace(EMAIL, FILTERED);
  if (out.length > MAX_STRING) out = `${out.slice(0, MAX_STRING)}…`;
  return out;
}

/** A URL (absolute or a path) with its query values filtered and its fragment dropped; keys stay so the route reads. */
export function scrubUrl(url: string): string {
  const hash = url.indexOf("#");
  const noFragment = hash === -1 ? url : url.slice(0, hash);
  return redactText(noFragment);
}

/** A deep copy with sensitive keys' values replaced and every string redacted. Cycles and depth are bounded. */
export function scrubValue(value: unknown): unknown {
  return scrubInner(value, 0, new WeakSet());
}

function scrubInner(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === "string") return redactText(value);
  if (typeof value !== "object") return typeof value === "function" || typeof value === "symbol" ? `[${typeof value}]` : value;
  if (seen.has(value)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[Depth]";
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => scrubInner(v, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSensitiveKey(k) && v !== null && v !== undefined ? FILTERED : scrubInner(v, depth + 1, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

function scrubHeaders(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!headers) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (SAFE_HEADERS.has(k.toLowerCase())) out[k] = k.toLowerCase() === "referer" ? scrubUrl(v) : redactText(v);
  return out;
}

function scrubQuery(q: NonNullable<Event["request"]>["query_string"]): NonNullable<Event["request"]>["query_string"] {
  if (q === undefined) return undefined;
  if (typeof q === "string") return q.replace(/(^|&)([^=&]+)=[^&]*/g, `$1$2=${FILTERED}`);
  if (Array.isArray(q)) return q.map(([k]) => [k, FILTERED] as [string, string]);
  return Object.fromEntries(Object.keys(q).map((k) => [k, FILTERED]));
}

function scrubFrame(frame: StackFrame): StackFrame {
  const out: StackFrame = { ...frame };
  if (out.filename) out.filename = scrubUrl(out.filename);
  if (out.abs_path) out.abs_path = scrubUrl(out.abs_path);
  if (out.vars) out.vars = scrubValue(out.vars) as Record<string, unknown>;
  return out;
}

function scrubException(ex: Exception): Exception {
  const out: Exception = { ...ex };
  if (out.value) out.value = redactText(out.value);
  if (out.stacktrace?.frames) out.stacktrace = { ...out.stacktrace, frames: out.stacktrace.frames.map(scrubFrame) };
  if (out.mechanism?.data) out.mechanism = { ...out.mechanism, data: scrubValue(out.mechanism.data) as Record<string, string | boolean> };
  return out;
}

/** A span as it is sent (transactions' `spans`, or streamed): description and attributes scrubbed. */
export function scrubSpan<S extends Pick<SpanJSON, "description" | "data">>(span: S): S {
  const out = { ...span };
  if (out.description) out.description = redactText(out.description);
  if (out.data) {
    const data: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(out.data)) {
      // Header attributes (http.request.header.<name>) follow the header allow-list.
      const header = /^http\.(request|response)\.header\.(.+)$/.exec(k);
      if (header && !SAFE_HEADERS.has(header[2].replace(/_/g, "-"))) continue;
      data[k] = isSensitiveKey(k) && v !== null && v !== undefined ? FILTERED : scrubValue(v);
    }
    out.data = data as S["data"];
  }
  return out;
}

/** Our structured log lines (lib/runtime/log.ts) reach console breadcrumbs as one JSON object per line. */
function scrubConsoleMessage(message: string | undefined): string | undefined {
  if (message === undefined) return undefined;
  const trimmed = message.trim();
  if (trimmed.startsWith("{")) {
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return JSON.stringify(scrubValue(parsed));
    } catch {
      /* not one of our lines */
    }
  }
  // Anything else printed to the console may quote what someone typed: only its length goes.
  return `[console message filtered: ${message.length} chars]`;
}

/** One breadcrumb, scrubbed (never dropped: the trail of what happened is worth keeping, without its contents). */
export function scrubBreadcrumb(crumb: Breadcrumb): Breadcrumb {
  const out: Breadcrumb = { ...crumb };
  const category = crumb.category ?? "";
  if (category === "console") {
    out.message = scrubConsoleMessage(crumb.message);
    if (out.data) {
      const { arguments: _args, ...rest } = out.data;
      out.data = scrubValue(rest) as Breadcrumb["data"];
    }
    return out;
  }
  if (category.startsWith("ui.")) {
    if (out.message) out.message = redactText(out.message.replace(ATTRIBUTE_VALUE, `$1$2${FILTERED}$2`));
  } else if (out.message) {
    out.message = redactText(out.message);
  }
  if (out.data) {
    const data: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(out.data)) {
      if (k === "request_body" || k === "response_body" || k === "body") continue;
      data[k] = (k === "url" || k === "from" || k === "to") && typeof v === "string" ? scrubUrl(v) : isSensitiveKey(k) && v != null ? FILTERED : scrubValue(v);
    }
    out.data = data;
  }
  return out;
}

/** An event (error or transaction) as it may leave: see the rules at the top of this file. */
export function scrubEvent<E extends Event>(event: E): E {
  const out: E = { ...event };
  delete out.user;
  if (out.request) {
    const r = { ...out.request };
    if (r.url) r.url = scrubUrl(r.url);
    r.query_string = scrubQuery(r.query_string);
    r.headers = scrubHeaders(r.headers);
    delete r.cookies;
    delete r.data;
    delete r.env;
    for (const k of Object.keys(r) as (keyof typeof r)[]) if (r[k] === undefined) delete r[k];
    out.request = r;
  }
  if (out.transaction) out.transaction = scrubUrl(out.transaction);
  if (out.message) out.message = redactText(out.message);
  if (out.logentry) out.logentry = { message: out.logentry.message && redactText(out.logentry.message), params: scrubValue(out.logentry.params) as unknown[] };
  if (out.exception?.values) out.exception = { ...out.exception, values: out.exception.values.map(scrubException) };
  if (out.breadcrumbs) out.breadcrumbs = out.breadcrumbs.map(scrubBreadcrumb);
  if (out.extra) out.extra = scrubValue(out.extra) as E["extra"];
  if (out.contexts) out.contexts = scrubValue(out.contexts) as E["contexts"];
  if (out.tags) {
    const tags: NonNullable<Event["tags"]> = {};
    for (const [k, v] of Object.entries(out.tags)) tags[k] = isSensitiveKey(k) ? FILTERED : typeof v === "string" ? redactText(v) : v;
    out.tags = tags;
  }
  if (out.fingerprint) out.fingerprint = out.fingerprint.map(redactText);
  if (out.spans) out.spans = out.spans.map(scrubSpan);
  if (out.threads) out.threads = scrubValue(out.threads) as E["threads"];
  return out;
}

/**
 * The privacy half of every Sentry `init` here: no default PII, and the scrubber on every way out. Spread it into the
 * SDK's options (`{ dsn, release, environment, ...sentryPrivacyOptions }`).
 */
export const sentryPrivacyOptions = {
  sendDefaultPii: false,
  beforeSend: <E extends Event>(event: E) => scrubEvent(event),
  beforeSendTransaction: <E extends Event>(event: E) => scrubEvent(event),
  beforeSendSpan: <S extends SpanJSON>(span: S) => scrubSpan(span),
  beforeBreadcrumb: (crumb: Breadcrumb) => scrubBreadcrumb(crumb),
} as const;
