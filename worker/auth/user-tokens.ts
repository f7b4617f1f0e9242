/**
 * User identity from an external identity provider (IdP): verify its JWTs with `jose` and turn them into a
 * `UserPrincipal`.
 *
 * Two key sources, chosen from Bindings:
 * - AUTH_JWKS_URL: asymmetric tokens (RS*, PS*, ES*, EdDSA) verified against the IdP's JWKS, fetched by `jose` and cached
 *   per URL at module level (one resolver per isolate, so keys are fetched once, not per request).
 * - AUTH_JWT_SECRET: HS256 tokens signed with a shared secret (Supabase's legacy "JWT secret"). The secret's UTF-8 bytes are
 *   the key, as Supabase uses them. The CryptoKey is imported once per isolate and cached.
 * With both set (Supabase during a migration to asymmetric signing keys), the token header's `alg` picks the source.
 *
 * Claims: AUTH_ISSUER is checked when set, and must be set in production (APP_ENV other than "development"): without it
 * a token of any issuer that the key verifies would do. The audience is always checked: AUTH_AUDIENCE (comma-separated for several)
 * or, when unset, Supabase's "authenticated". The app role is read from the dotted claim path AUTH_ROLE_CLAIM
 * (default "app_metadata.role"); unknown or missing roles become "participant".
 *
 * Runtime-neutral (WebCrypto + jose); no Node APIs.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from "jose";
import type { ErrorCode } from "../../lib/protocol";
import type { Bindings } from "../../lib/runtime/env";

// ---------------------------------------------------------------------------------------------------------------
// Types and errors
// ---------------------------------------------------------------------------------------------------------------

export const APP_ROLES = ["facilitator", "cofacilitator", "participant", "operator"] as const;
export type AppRole = (typeof APP_ROLES)[number];

/** Who is calling, as far as the Worker is concerned. */
export interface UserPrincipal {
  /** The IdP's `sub` (Supabase: the user's UUID), or the chosen id of a development sign-in. */
  userId: string;
  /** Display name: user_metadata.full_name, user_metadata.name, name, preferred_username…; never the email. */
  name: string;
  appRole: AppRole;
  source: "idp" | "dev";
  /** The `email` claim when present (not shown to other members by this module). */
  email?: string;
}

/** Default HTTP status for each error code this module family raises. */
const DEFAULT_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  CREDENTIAL_EXPIRED: 401,
  CREDENTIAL_REVOKED: 401,
  WRONG_SESSION: 403,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_MESSAGE: 400,
  RATE_LIMITED: 429,
  INTERNAL: 500,
};

/**
 * A refused credential (or an authentication configuration problem). `code` is a protocol ErrorCode; `status` the HTTP
 * status to answer with; `reason` a short machine-readable detail for logs and tests (e.g. "issuer", "audience",
 * "signature", "kind"); never echo the token itself.
 */
export class AuthError extends Error {
  override readonly name = "AuthError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly reason: string | undefined;

  constructor(code: ErrorCode, message: string, options: { status?: number; reason?: string; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    this.status = options.status ?? DEFAULT_STATUS[code] ?? 401;
    this.reason = options.reason;
  }

  /** The typed JSON error body every API refusal uses. */
  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------------------------

export type UserTokenEnv = Pick<
  Bindings,
  "AUTH_JWKS_URL" | "AUTH_JWT_SECRET" | "AUTH_ISSUER" | "AUTH_AUDIENCE" | "AUTH_ROLE_CLAIM" | "APP_SIGNING_SECRET" | "APP_ENV"
>;

export const DEFAULT_ROLE_CLAIM = "app_metadata.role";
/** Supabase's `aud` for signed-in users. */
export const DEFAULT_AUDIENCE = "authenticated";
/** Tokens larger than this are refused before any parsing or crypto. */
export const MAX_TOKEN_LENGTH = 8192;
/** Accepted clock skew between the IdP and the Worker, seconds. */
export const CLOCK_TOLERANCE_SECONDS = 30;

const ASYMMETRIC_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

export interface VerifyOptions {
  /** Evaluate exp/nbf/iat at this instant (epoch ms) instead of now. */
  now?: number;
}

function csv(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

// ---------------------------------------------------------------------------------------------------------------
// Key caches (module level: once per isolate)
// ---------------------------------------------------------------------------------------------------------------

const jwksCache = new Map<string, JWTVerifyGetKey>();
const hmacCache = new Map<string, Promise<CryptoKey>>();
const MAX_CACHED_KEYS = 8;

function boundedSet<V>(map: Map<string, V>, key: string, value: V): V {
  if (map.size >= MAX_CACHED_KEYS) map.delete(map.keys().next().value as string);
  map.set(key, value);
  return value;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "127.0.0.1" || hostname === "[::1]" || hostname === "::1";
}

/** The cached remote JWKS resolver for a URL (https only, except loopback for local IdPs and tests). */
export function remoteJwks(url: string): JWTVerifyGetKey {
  const cached = jwksCache.get(url);
  if (cached) return cached;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AuthError("INTERNAL", "AUTH_JWKS_URL is not a valid URL", { status: 500, reason: "config" });
  }
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && isLoopback(parsed.hostname))) {
    throw new AuthError("INTERNAL", "AUTH_JWKS_URL must use https", { status: 500, reason: "config" });
  }
  const jwks = createRemoteJWKSet(parsed, { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  return boundedSet(jwksCache, url, jwks);
}

/** Imports an HMAC-SHA-256 verification key from a shared secret's UTF-8 bytes, once per secret. */
function hs256Key(secret: string): Promise<CryptoKey> {
  const cached = hmacCache.get(secret);
  if (cached) return cached;
  const promise = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  promise.catch(() => hmacCache.delete(secret));
  return boundedSet(hmacCache, secret, promise);
}

// ---------------------------------------------------------------------------------------------------------------
// Claims → principal
// ---------------------------------------------------------------------------------------------------------------

/**
 * Reads a dotted claim path ("app_metadata.role"). A top-level claim whose name itself contains dots
 * (Auth0-style "https://example.com/role") is found too.
 */
export function readClaim(payload: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let current: unknown = payload;
  for (const part of path.split(".")) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

const ROLE_ALIASES: Record<string, AppRole> = {
  facilitator: "facilitator",
  cofacilitator: "cofacilitator",
  participant: "participant",
  operator: "operator",
};
/** When the claim is a list, the most capable known role wins. */
const ROLE_PRECEDENCE: AppRole[] = ["operator", "facilitator", "cofacilitator", "participant"];

/** Maps a role claim value to an app role: case, spaces, "-" and "_" are ignored; unknown or missing → "participant". */
export function toAppRole(value: unknown): AppRole {
  const one = (v: unknown): AppRole | undefined =>
    typeof v === "string"
      ? ROLE_ALIASES[
          v
            .trim()
            .toLowerCase()
            .replace(/[\s_-]/g, "")
        ]
      : undefined;
  if (Array.isArray(value)) {
    const roles = new Set(value.map(one).filter((r): r is AppRole => r !== undefined));
    return ROLE_PRECEDENCE.find((r) => roles.has(r)) ?? "participant";
  }
  return one(value) ?? "participant";
}

const NAME_MAX = 80;

/** Trims, drops control characters, and caps a display name at 80 characters (the protocol's limit). */
export function cleanDisplayName(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  // eslint-disable-next-line no-control-regex
  const cleaned = value
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, "")
    .replace(/\s+/g, " ")
    .trim();
  if (!cleaned) return undefined;
  return Array.from(cleaned).slice(0, NAME_MAX).join("").trim();
}

/** Display name from IdP claims; the email is deliberately not used (group members would see it). */
export function displayNameFromClaims(payload: Record<string, unknown>): string {
  const candidates = [
    readClaim(payload, "user_metadata.full_name"),
    readClaim(payload, "user_metadata.name"),
    payload.name,
    [payload.given_name, payload.family_name].filter((v) => typeof v === "string").join(" "),
    readClaim(payload, "user_metadata.preferred_username"),
    payload.preferred_username,
    payload.nickname,
  ];
  for (const c of candidates) {
    const name = cleanDisplayName(c);
    if (name) return name;
  }
  return "Guest";
}

/** Builds the principal from verified IdP claims. Exported for tests and for callers that verified elsewhere. */
export function principalFromClaims(payload: JWTPayload, roleClaim = DEFAULT_ROLE_CLAIM): UserPrincipal {
  const sub = payload.sub;
  if (typeof sub !== "string" || sub.trim() === "" || sub.length > 255) {
    throw new AuthError("UNAUTHENTICATED", "the token has no usable subject", { reason: "subject" });
  }
  const claims = payload as Record<string, unknown>;
  const principal: UserPrincipal = {
    userId: sub,
    name: displayNameFromClaims(claims),
    appRole: toAppRole(readClaim(claims, roleClaim || DEFAULT_ROLE_CLAIM)),
    source: "idp",
  };
  if (typeof claims.email === "string" && claims.email) principal.email = claims.email;
  return principal;
}

// ---------------------------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------------------------

/** Maps a jose (or fetch) failure to an AuthError with the protocol's code. */
export function authErrorFromJose(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  const code = (error as { code?: unknown })?.code;
  const claim = (error as { claim?: unknown })?.claim;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return new AuthError("CREDENTIAL_EXPIRED", "the token has expired", { reason: "expired", cause: error });
    case "ERR_JWT_CLAIM_VALIDATION_FAILED": {
      const which = typeof claim === "string" ? claim : "claims";
      const reason = which === "iss" ? "issuer" : which === "aud" ? "audience" : which === "nbf" ? "not-yet-valid" : which;
      return new AuthError("UNAUTHENTICATED", `the token's ${reason} claim is not accepted`, { reason, cause: error });
    }
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return new AuthError("UNAUTHENTICATED", "the token's signature is invalid", { reason: "signature", cause: error });
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
      return new AuthError("UNAUTHENTICATED", "the token's algorithm is not accepted", { reason: "algorithm", cause: error });
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return new AuthError("UNAUTHENTICATED", "the token was not signed by a known key", { reason: "key", cause: error });
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
    case "ERR_JWK_INVALID":
      return new AuthError("UNAUTHENTICATED", "the token is malformed", { reason: "malformed", cause: error });
    case "ERR_JWKS_TIMEOUT":
    case "ERR_JWKS_INVALID":
      return new AuthError("INTERNAL", "the identity provider's keys are unavailable", { status: 503, reason: "jwks", cause: error });
  }
  if (error instanceof TypeError || (error as { name?: unknown })?.name === "TypeError") {
    // fetch failures of the JWKS endpoint surface as TypeError / OperationError.
    return new AuthError("INTERNAL", "the identity provider's keys are unavailable", { status: 503, reason: "jwks", cause: error });
  }
  return new AuthError("UNAUTHENTICATED", "the token could not be verified", { reason: "unknown", cause: error });
}

/** Extracts the token from an `Authorization: Bearer <token>` header value. */
export function readBearer(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^\s*Bearer\s+([^\s]+)\s*$/i.exec(header);
  return match ? match[1] : null;
}

/** Cheap shape check before any crypto: three base64url segments, bounded length. */
export function assertJwtShape(token: unknown): asserts token is string {
  if (typeof token !== "string" || token.length === 0) {
    throw new AuthError("UNAUTHENTICATED", "no credential was presented", { reason: "missing" });
  }
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
    throw new AuthError("UNAUTHENTICATED", "the credential is malformed", { reason: "malformed" });
  }
}

/** Whether an identity provider is configured at all. */
export function idpConfigured(env: UserTokenEnv): boolean {
  return Boolean(env.AUTH_JWKS_URL?.trim() || env.AUTH_JWT_SECRET);
}

/**
 * Verifies an IdP user token and returns its principal.
 * Throws AuthError: UNAUTHENTICATED (bad signature / issuer / audience / malformed / no subject; also when no IdP is
 * configured: nothing to sign in with is the caller's answer, not a server fault), CREDENTIAL_EXPIRED, or INTERNAL (503
 * when the JWKS cannot be fetched, 500 when the configuration is unsafe: see worker/config.ts).
 */
export async function verifyUserToken(env: UserTokenEnv, token: string, options: VerifyOptions = {}): Promise<UserPrincipal> {
  assertJwtShape(token);
  const jwksUrl = env.AUTH_JWKS_URL?.trim();
  const secret = env.AUTH_JWT_SECRET;
  if (!jwksUrl && !secret) {
    throw new AuthError("UNAUTHENTICATED", "this deployment accepts no sign-in tokens: no identity provider is configured", { reason: "no-idp" });
  }
  if (secret && env.APP_SIGNING_SECRET && secret === env.APP_SIGNING_SECRET) {
    // The Worker's own tokens must never verify as IdP tokens.
    throw new AuthError("INTERNAL", "AUTH_JWT_SECRET must differ from APP_SIGNING_SECRET", { status: 500, reason: "config" });
  }

  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch (e) {
    throw authErrorFromJose(e);
  }
  const useSecret = secret !== undefined && secret !== "" && (alg === "HS256" || !jwksUrl);

  const audiences = csv(env.AUTH_AUDIENCE);
  const issuers = csv(env.AUTH_ISSUER);
  if (!issuers.length && env.APP_ENV !== "development") {
    throw new AuthError("INTERNAL", "AUTH_ISSUER must be set when an identity provider is configured; sign-in is refused until it is", {
      status: 500,
      reason: "config",
    });
  }
  const verifyOptions: JWTVerifyOptions = {
    algorithms: useSecret ? ["HS256"] : ASYMMETRIC_ALGS,
    audience: audiences.length ? audiences : DEFAULT_AUDIENCE,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ["sub", "exp"],
  };
  if (issuers.length) verifyOptions.issuer = issuers;
  if (options.now !== undefined) verifyOptions.currentDate = new Date(options.now);

  let payload: JWTPayload;
  try {
    if (useSecret) {
      ({ payload } = await jwtVerify(token, await hs256Key(secret), verifyOptions));
    } else {
      ({ payload } = await jwtVerify(token, remoteJwks(jwksUrl!), verifyOptions));
    }
  } catch (e) {
    throw authErrorFromJose(e);
  }
  return principalFromClaims(payload, env.AUTH_ROLE_CLAIM?.trim() || DEFAULT_ROLE_CLAIM);
}

/** Test/ops helper: forget cached JWKS resolvers and imported secrets (e.g. after a key rotation in tests). */
export function clearUserTokenCaches(): void {
  jwksCache.clear();
  hmacCache.clear();
}
