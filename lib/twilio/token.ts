/**
 * Twilio Video access tokens, signed in the Worker with jose (no `twilio` package at run time).
 *
 * The token is what `twilio.jwt.AccessToken` + `VideoGrant` produce: header
 * `{ alg: "HS256", typ: "JWT", cty: "twilio-fpa;v=1" }` and claims `jti = <apiKeySid>-<iat>`, `iss`, `sub`, `iat`,
 * `exp`, `grants: { identity, video: { room } }`. See /work/shared/TWILIO.md.
 *
 * Performance: jose re-imports a Uint8Array secret with `crypto.subtle.importKey` on every sign. The signer imports the
 * HMAC key once and hands jose the CryptoKey: measured on Node 22 (20k tokens x 3 rounds) ~62 us/token against ~80 us
 * with a Uint8Array (~30% more tokens/s); hand-rolled WebCrypto signing without jose was only ~0-15% faster still.
 */
import { SignJWT } from "jose";

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
/** Our own cap: a media token outlives its session phase by at most an hour; refresh is by reconnect (TWILIO.md). */
export const MAX_TOKEN_TTL_SECONDS = 3600;

export type TwilioTokenErrorCode = "invalid_config" | "invalid_ttl" | "invalid_identity" | "invalid_room" | "invalid_time";

/** Thrown for inputs we refuse to sign; never for crypto failures (those propagate unchanged). */
export class TwilioTokenError extends Error {
  readonly code: TwilioTokenErrorCode;
  constructor(code: TwilioTokenErrorCode, message: string) {
    super(message);
    this.name = "TwilioTokenError";
    this.code = code;
  }
}

export interface TwilioTokenSignerOptions {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
  /** Default lifetime for tokens from this signer, whole seconds, 1..MAX_TOKEN_TTL_SECONDS. Default 3600. */
  ttlSeconds?: number;
  /** Adds the `twr` header, as AccessToken does when given a region. Twilio Video keys live in US1: normally unset. */
  region?: string;
}

export interface SignVideoTokenRequest {
  identity: string;
  /** Room unique name (or sid) the grant is limited to; omitted = any room (`video: {}`). */
  room?: string;
  /** Clock override, epoch milliseconds. */
  now?: number;
  /** Per-token lifetime override, same bounds as the signer's. */
  ttlSeconds?: number;
}

export interface SignedVideoToken {
  token: string;
  identity: string;
  room: string | undefined;
  /** Epoch milliseconds (iat * 1000). */
  issuedAt: number;
  /** Epoch milliseconds (exp * 1000). */
  expiresAt: number;
}

const TOKEN_HEADER_BASE = { alg: "HS256", typ: "JWT", cty: "twilio-fpa;v=1" } as const;
const encoder = new TextEncoder();

/** Validates a TTL and returns it; throws TwilioTokenError("invalid_ttl") otherwise. */
export function checkTokenTtl(ttlSeconds: number): number {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
    throw new TwilioTokenError("invalid_ttl", `token ttl must be a whole number of seconds between 1 and ${MAX_TOKEN_TTL_SECONDS}, got ${ttlSeconds}`);
  }
  return ttlSeconds;
}

/** Imports an HS256 signing key. Non-extractable: the Worker never needs the bytes back. */
export function importTokenKey(apiKeySecret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(apiKeySecret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/**
 * Signs Twilio Video access tokens. Construct once per isolate (per set of credentials) and reuse: the HMAC key is
 * imported lazily on first use and cached for the signer's lifetime.
 */
export class TwilioTokenSigner {
  readonly accountSid: string;
  readonly apiKeySid: string;
  readonly ttlSeconds: number;
  readonly #secret: string;
  readonly #header: { alg: "HS256"; typ: "JWT"; cty: "twilio-fpa;v=1"; twr?: string };
  #key: Promise<CryptoKey> | undefined;

  constructor(options: TwilioTokenSignerOptions) {
    for (const field of ["accountSid", "apiKeySid", "apiKeySecret"] as const) {
      if (typeof options[field] !== "string" || options[field].length === 0) {
        throw new TwilioTokenError("invalid_config", `${field} is required`);
      }
    }
    this.accountSid = options.accountSid;
    this.apiKeySid = options.apiKeySid;
    this.#secret = options.apiKeySecret;
    this.ttlSeconds = checkTokenTtl(options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS);
    this.#header = options.region ? { ...TOKEN_HEADER_BASE, twr: options.region } : { ...TOKEN_HEADER_BASE };
  }

  #signingKey(): Promise<CryptoKey> {
    if (!this.#key) {
      const pending = importTokenKey(this.#secret);
      // A failed import must not poison the cache: the next call tries again.
      pending.catch(() => {
        if (this.#key === pending) this.#key = undefined;
      });
      this.#key = pending;
    }
    return this.#key;
  }

  async sign(request: SignVideoTokenRequest): Promise<SignedVideoToken> {
    const { identity, room } = request;
    if (typeof identity !== "string" || identity.length === 0) {
      throw new TwilioTokenError("invalid_identity", "identity must be a non-empty string");
    }
    if (room !== undefined && (typeof room !== "string" || room.length === 0)) {
      throw new TwilioTokenError("invalid_room", "room, when given, must be a non-empty string");
    }
    const ttl = request.ttlSeconds === undefined ? this.ttlSeconds : checkTokenTtl(request.ttlSeconds);
    const nowMs = request.now ?? Date.now();
    if (!Number.isFinite(nowMs) || nowMs < 0) {
      throw new TwilioTokenError("invalid_time", `now must be epoch milliseconds, got ${nowMs}`);
    }
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + ttl;

    // Claim order mirrors AccessToken's output; only the decoded JSON matters to Twilio.
    const token = await new SignJWT({
      jti: `${this.apiKeySid}-${iat}`,
      grants: { identity, video: room === undefined ? {} : { room } },
      iat,
      exp,
      iss: this.apiKeySid,
      sub: this.accountSid,
    })
      .setProtectedHeader(this.#header)
      .sign(await this.#signingKey());

    return { token, identity, room, issuedAt: iat * 1000, expiresAt: exp * 1000 };
  }
}

/** One-off convenience for callers that sign rarely; hot paths should keep a TwilioTokenSigner. */
export function signVideoToken(options: TwilioTokenSignerOptions, request: SignVideoTokenRequest): Promise<SignedVideoToken> {
  return new TwilioTokenSigner(options).sign(request);
}
