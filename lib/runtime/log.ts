/**
 * Structured JSON logging for the Worker and the session Durable Object: one JSON object per console.log line
 * (Workers Logs / `wrangler tail` index the fields). Everything passes a redaction step first, so a log line never
 * carries a token, a secret, an Authorization header, a signature or a password, nor anything that looks like a JWT.
 *
 * Runtime-neutral: no Node APIs.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface LogOptions {
  /** Added to the line as `requestId` (a `requestId` in fields works too). */
  requestId?: string;
  /** Emit debug-level lines (normally from DEBUG_LOGS="true"). Default false. */
  debug?: boolean;
}

/** Keys whose values are never printed (matched case-insensitively anywhere in the key). */
export const SENSITIVE_KEY = /token|secret|authorization|signature|password|cookie|api[-_]?key|credential/i;
/** JWT-shaped substrings: base64url header starting with `{"` (eyJ), payload, optional signature. */
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*)?/g;
/** "Bearer <anything>" / "Basic <anything>" inside free text. */
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

export const REDACTED = "[redacted]";
const MAX_DEPTH = 6;
const MAX_STRING = 4000;
const MAX_ITEMS = 100;

/** Redacts JWT-looking substrings and auth-scheme credentials in free text; truncates very long strings. */
export function redactString(value: string): string {
  let out = value.replace(JWT_LIKE, "[redacted-jwt]").replace(AUTH_SCHEME, (_m, scheme: string) => `${scheme} ${REDACTED}`);
  if (out.length > MAX_STRING) out = `${out.slice(0, MAX_STRING)}…[${out.length - MAX_STRING} more chars]`;
  return out;
}

/**
 * A JSON-safe copy of `value` with sensitive keys' values replaced by "[redacted]" and JWT-looking strings masked.
 * Handles nested objects, arrays, Errors, Maps/Sets, bigint, cycles and excessive depth. Pure.
 */
export function redact(value: unknown): unknown {
  return redactInner(value, 0, new WeakSet());
}

function redactInner(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case "string":
      return redactString(value);
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "function":
    case "symbol":
      return `[${typeof value}]`;
  }
  const obj = value as object;
  if (seen.has(obj)) return "[circular]";
  if (depth >= MAX_DEPTH) return "[depth]";
  seen.add(obj);
  try {
    if (obj instanceof Error) {
      const out: Record<string, unknown> = { name: obj.name, message: redactString(obj.message) };
      const code = (obj as { code?: unknown }).code;
      if (code !== undefined) out.code = redactInner(code, depth + 1, seen);
      if (obj.stack) out.stack = redactString(obj.stack);
      if ((obj as { cause?: unknown }).cause !== undefined) out.cause = redactInner((obj as { cause?: unknown }).cause, depth + 1, seen);
      return out;
    }
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? "Invalid Date" : obj.toISOString();
    if (Array.isArray(obj)) {
      const items = obj.slice(0, MAX_ITEMS).map((v) => redactInner(v, depth + 1, seen));
      if (obj.length > MAX_ITEMS) items.push(`[${obj.length - MAX_ITEMS} more]`);
      return items;
    }
    if (obj instanceof Map)
      return redactEntries(
        [...obj.entries()].map(([k, v]) => [String(k), v]),
        depth,
        seen,
      );
    if (obj instanceof Set) return redactInner([...obj], depth, seen);
    if (typeof Headers !== "undefined" && obj instanceof Headers) return redactEntries([...obj.entries()], depth, seen);
    if (obj instanceof ArrayBuffer || ArrayBuffer.isView(obj)) return `[binary ${(obj as ArrayBuffer).byteLength} bytes]`;
    return redactEntries(Object.entries(obj), depth, seen);
  } finally {
    seen.delete(obj);
  }
}

function redactEntries(entries: [string, unknown][], depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of entries) {
    if (n++ >= MAX_ITEMS) {
      out["…"] = `${entries.length - MAX_ITEMS} more keys`;
      break;
    }
    out[k] = SENSITIVE_KEY.test(k) && v !== undefined && v !== null ? REDACTED : redactInner(v, depth + 1, seen);
  }
  return out;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Whether DEBUG_LOGS enables debug lines ("true", "1", "on"). */
export function isDebugEnabled(env: { DEBUG_LOGS?: string } | undefined | null): boolean {
  const v = env?.DEBUG_LOGS?.trim().toLowerCase();
  return v === "true" || v === "1" || v === "on";
}

/** Builds the line `log` would print, or null when the level is filtered out. Pure; exported for tests. */
export function formatLogLine(level: LogLevel, msg: string, fields?: LogFields, options?: LogOptions): string | null {
  if (LEVEL_RANK[level] === undefined) level = "info";
  if (level === "debug" && !options?.debug) return null;
  const safeFields = (fields ? redact(fields) : {}) as Record<string, unknown>;
  // level/msg/time are ours: a field of the same name is kept under a prefixed key instead of overwriting them.
  for (const reserved of ["level", "msg", "time"]) {
    if (reserved in safeFields) {
      safeFields[`field_${reserved}`] = safeFields[reserved];
      delete safeFields[reserved];
    }
  }
  const requestId = options?.requestId ?? (typeof fields?.requestId === "string" ? fields.requestId : undefined);
  const line: Record<string, unknown> = { level, msg: redactString(String(msg)), time: new Date().toISOString() };
  if (requestId !== undefined) line.requestId = redactString(requestId);
  delete safeFields.requestId;
  Object.assign(line, safeFields);
  try {
    return JSON.stringify(line);
  } catch {
    return JSON.stringify({ level, msg: redactString(String(msg)), time: line.time, requestId: line.requestId, logError: "unserialisable fields" });
  }
}

/**
 * Receives every error-level line with the error it carries (`fields.error`), e.g. to report it to Sentry
 * (worker/sentry.ts). It must not throw; its fields are the caller's, not yet redacted.
 */
export type ErrorReporter = (msg: string, error: unknown, fields: LogFields) => void;
let errorReporter: ErrorReporter | null = null;

/** Sets (or, with null, removes) the one error reporter of this isolate. */
export function setErrorReporter(reporter: ErrorReporter | null): void {
  errorReporter = reporter;
}

/** Writes one JSON line via console.log (Workers Logs capture console output; the level is a field). */
export function log(level: LogLevel, msg: string, fields?: LogFields, options?: LogOptions): void {
  const line = formatLogLine(level, msg, fields, options);
  if (line !== null) console.log(line);
  if (level === "error" && errorReporter) {
    try {
      errorReporter(msg, fields?.error, options?.requestId ? { ...fields, requestId: options.requestId } : (fields ?? {}));
    } catch {
      // Reporting must never break the code that logs.
    }
  }
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  with(fields: LogFields): Logger;
}

/**
 * A logger bound to the environment (DEBUG_LOGS) and optionally a request id and base fields.
 * Example: `const l = createLogger(c.env, { requestId: c.get("requestId") }); l.info("joined", { sessionId })`.
 */
export function createLogger(env?: { DEBUG_LOGS?: string } | null, base: LogFields & { requestId?: string } = {}): Logger {
  const debug = isDebugEnabled(env);
  const { requestId, ...baseFields } = base;
  const emit = (level: LogLevel) => (msg: string, fields?: LogFields) =>
    log(level, msg, fields ? { ...baseFields, ...fields } : baseFields, { requestId, debug });
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    with: (fields) => createLogger(env, { ...base, ...fields }),
  };
}
