/**
 * Rate limiting.
 *
 * - `rateLimit({ binding })`: Hono middleware over a Workers rate-limiting binding (`await env.RL_X.limit({ key })` →
 *   `{ success }`), keyed by the caller's user id when an earlier middleware identified them, else CF-Connecting-IP.
 *   Over the limit: 429 `{ error: { code: "RATE_LIMITED", ... } }` with Retry-After. Without the binding (or when it
 *   fails) it passes through only when APP_ENV="development"; anywhere else it fails closed with 503 and a typed error.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Bindings } from "../../lib/runtime/env";
import { log } from "../../lib/runtime/log";
import { apiError } from "./security";

// ---------------------------------------------------------------------------------------------------------------
// Middleware over the Workers rate-limiting binding
// ---------------------------------------------------------------------------------------------------------------

export type RateLimitBindingName = "RL_SESSIONS" | "RL_SIGNIN";

type Env = { Bindings: Partial<Bindings> & Record<string, unknown> };

export interface RateLimitMiddlewareOptions {
  /** Which binding to use. */
  binding: RateLimitBindingName;
  /**
   * The caller's key. Default: `defaultRateLimitKey` (user id from an earlier auth middleware, else the client IP).
   * Return null/undefined to fall back to the default.
   */
  key?: (c: Context) => string | null | undefined | Promise<string | null | undefined>;
  /** Separates routes sharing one binding ("join", "token"…); part of the key. */
  scope?: string;
  /** Retry-After seconds on a 429. Default 60 (the period configured in wrangler.toml). */
  retryAfterSeconds?: number;
}

/**
 * `user:<id>` when an earlier middleware set `principal` ({ userId }), `userId` or `memberId` in the context variables;
 * otherwise `ip:<CF-Connecting-IP>` (or `ip:unknown` off Cloudflare).
 */
export function defaultRateLimitKey(c: Context): string {
  const vars = c.var as Record<string, unknown>;
  const principal = vars.principal as { userId?: unknown } | undefined;
  const userId = principal?.userId ?? vars.userId;
  if (typeof userId === "string" && userId) return `user:${userId}`;
  if (typeof vars.memberId === "string" && vars.memberId) return `member:${vars.memberId}`;
  const ip = c.req.header("CF-Connecting-IP")?.trim();
  return `ip:${ip || "unknown"}`;
}

const isDevelopment = (c: Context) => (c.env as Partial<Bindings> | undefined)?.APP_ENV === "development";

export function rateLimit(options: RateLimitMiddlewareOptions): MiddlewareHandler<Env> {
  const retryAfter = Math.max(1, Math.ceil(options.retryAfterSeconds ?? 60));
  return async function rateLimitMiddleware(c, next) {
    const binding = (c.env as Partial<Bindings> | undefined)?.[options.binding] as RateLimit | undefined;
    const requestId = (c.var as { requestId?: string }).requestId;
    if (!binding || typeof binding.limit !== "function") {
      if (isDevelopment(c)) return next();
      log("error", "rate limit binding missing; refusing", { binding: options.binding }, { requestId });
      return apiError(c, 503, "INTERNAL", "the service is not available right now", undefined, { "Retry-After": String(retryAfter) });
    }
    const base = (await options.key?.(c)) || defaultRateLimitKey(c);
    const key = options.scope ? `${options.scope}:${base}` : base;
    let success: boolean;
    try {
      ({ success } = await binding.limit({ key }));
    } catch (error) {
      if (isDevelopment(c)) {
        log("warn", "rate limit binding failed; passing (development)", { binding: options.binding, error }, { requestId });
        return next();
      }
      log("error", "rate limit binding failed; refusing", { binding: options.binding, error }, { requestId });
      return apiError(c, 503, "INTERNAL", "the service is not available right now", undefined, { "Retry-After": String(retryAfter) });
    }
    if (!success) {
      log("info", "rate limited", { binding: options.binding, scope: options.scope, keyKind: key.split(":")[0] }, { requestId });
      return apiError(c, 429, "RATE_LIMITED", "too many requests; try again later", { retryAfterSeconds: retryAfter }, { "Retry-After": String(retryAfter) });
    }
    return next();
  };
}
