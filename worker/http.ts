/** Shared HTTP plumbing for the routes: typed variables, error mapping, session stubs, auth middleware. */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { ErrorCode, ErrorPayload, Role } from "../lib/protocol";
import type { SessionDurableObject } from "../durable-objects/session-do";
import { SessionError, toErrorPayload, type RpcResult } from "../lib/errors";
import { verifyMemberTicket } from "./auth/app-tokens";
import { verifyUserOrDevToken } from "./auth/app-tokens";
import { AuthError, type UserPrincipal } from "./auth/user-tokens";
import type { Bindings } from "../lib/runtime/env";
import { log } from "../lib/runtime/log";
import { apiError } from "./middleware/security";

export interface MemberVars {
  sessionId: string;
  memberId: string;
  role: Role;
  name: string;
}

export type AppEnv = {
  Bindings: Bindings;
  Variables: { requestId: string; principal?: UserPrincipal; member?: MemberVars; memberId?: string };
};

/** What requireMember adds: the caller's verified membership (routes after it read `c.var.member`, never missing). */
export type MemberEnv = AppEnv & { Variables: { member: MemberVars; memberId: string } };
/** What requireUser adds: the signed-in user. */
export type UserEnv = AppEnv & { Variables: { principal: UserPrincipal } };

// Route handlers carry validator input types (any: the helpers below do not read them).
export type AppContext = Context<AppEnv, any, any>;
export type MemberContext = Context<MemberEnv, any, any>;

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_JSON: 400,
  INVALID_MESSAGE: 400,
  MESSAGE_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  CREDENTIAL_EXPIRED: 401,
  CREDENTIAL_REVOKED: 401,
  FORBIDDEN: 403,
  WRONG_SESSION: 403,
  NOT_FOUND: 404,
  MEMBER_NOT_FOUND: 404,
  ROOM_NOT_FOUND: 404,
  RATE_LIMITED: 429,
  MEDIA_PROVIDER_ERROR: 502,
  INTERNAL: 500,
};

/** HTTP status for a protocol error code: state conflicts are 409, the rest as above. */
export const statusFor = (code: ErrorCode) => STATUS[code] ?? 409;

/** Map anything thrown in a route to the typed JSON error every API response uses. */
export function errorResponse(c: Context, err: unknown): Response {
  if (err instanceof AuthError) return apiError(c, err.status, err.code, err.message);
  const payload = toErrorPayload(err);
  // Through lib/runtime/log.ts: an error's message or stack can quote a header or a token; the line is redacted.
  if (payload.code === "INTERNAL") log("error", "unhandled error", { error: err }, { requestId: c.get("requestId") });
  return apiError(c, statusFor(payload.code), payload.code, payload.message);
}

/** The value of a refusable RPC call, or its refusal thrown as a typed error for the route's error handler. */
export function unwrap<T>(result: RpcResult<T>): T {
  if (result.ok) return result.value;
  throw new SessionError(result.error.code, result.error.message);
}

/** The refusal carried by a refusable RPC result, or null when it succeeded (RPC stub types lose the union). */
export function refusalOf(result: { ok: boolean }): ErrorPayload | null {
  return result.ok ? null : (result as unknown as { error: ErrorPayload }).error;
}

export function sessionStub(env: Bindings, sessionId: string): DurableObjectStub<SessionDurableObject> {
  return env.SESSION.get(env.SESSION.idFromName(sessionId));
}

export function bearer(c: Context): string | null {
  const h = c.req.header("Authorization");
  if (!h) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1] : null;
}

/** A signed-in user (external identity provider or development sign-in). */
export const requireUser = createMiddleware<UserEnv>(async (c, next) => {
  const token = bearer(c);
  if (!token) return apiError(c, 401, "UNAUTHENTICATED", "sign in first (Authorization: Bearer <token>)");
  c.set("principal", await verifyUserOrDevToken(c.env, token));
  await next();
});

/** After requireUser: only facilitators keep plans and groups (they are the ones who create sessions). */
export const requireFacilitator = createMiddleware<UserEnv>(async (c, next) => {
  if (c.var.principal.appRole !== "facilitator") return apiError(c, 403, "FORBIDDEN", "only facilitators keep session plans and groups");
  await next();
});

/**
 * A member of the session named in the path, by their ticket: the Authorization header, or ?ticket= on the WebSocket
 * route only (browsers cannot set headers on a WebSocket; anywhere else a credential in the URL would end up in
 * history, logs and Referer headers for nothing).
 */
export const requireMember = createMiddleware<MemberEnv>(async (c, next) => {
  const sessionId = c.req.param("id")!;
  const token = bearer(c) ?? (c.req.path.endsWith("/ws") ? c.req.query("ticket") : undefined) ?? null;
  if (!token) return apiError(c, 401, "UNAUTHENTICATED", "a session ticket is required");
  const claims = await verifyMemberTicket(c.env, token, sessionId);
  c.set("member", { sessionId, memberId: claims.memberId, role: claims.role, name: claims.name });
  c.set("memberId", claims.memberId);
  await next();
});
