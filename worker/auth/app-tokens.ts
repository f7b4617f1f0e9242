/**
 * The Worker's own HS256 tokens, signed with APP_SIGNING_SECRET:
 * - development sign-in tokens (a UserPrincipal with source "dev"), only when APP_ENV="development" and DEV_SIGNIN="on";
 * - invite tokens (one session, one invite id, a role, an expiry);
 * - member tickets (one session member: HTTP calls and the WebSocket);
 * - guest credentials (one guest of one session, by one invite: what a guest re-joins with to be the same member).
 *
 * Kinds cannot be confused: each kind has its own `typ` claim, its own audience, and its own HMAC key derived from
 * APP_SIGNING_SECRET with HKDF (purpose-bound keys), so a ticket does not even verify as an invite. Verification of
 * session-scoped kinds takes the expected session id and refuses another session's token with WRONG_SESSION.
 * Every kind has a maximum lifetime, enforced on verify too (`exp - iat`, and `iat` not in the future): a token signed
 * with our key but a lifetime we never issue (a 10-year ticket) is refused.
 *
 * Keys are derived once per isolate and cached (signing and verifying are on hot paths: every join, every socket).
 * Rotation: APP_SIGNING_SECRET_PREVIOUS, when set, is accepted for verification only (docs/operations.md), so tokens
 * issued before a secret change keep working for as long as it stays set.
 * Runtime-neutral (WebCrypto + jose); no Node APIs.
 */
import { SignJWT, decodeJwt, jwtVerify, type JWTPayload } from "jose";
import { RoleSchema, type Role } from "../../lib/protocol";
import type { Bindings } from "../../lib/runtime/env";
import {
  APP_ROLES,
  AuthError,
  assertJwtShape,
  authErrorFromJose,
  cleanDisplayName,
  idpConfigured,
  verifyUserToken,
  type AppRole,
  type UserPrincipal,
  type UserTokenEnv,
  type VerifyOptions,
} from "./user-tokens";

export type AppTokenEnv = Pick<Bindings, "APP_ENV" | "DEV_SIGNIN" | "APP_SIGNING_SECRET"> & Partial<Pick<Bindings, "APP_SIGNING_SECRET_PREVIOUS">>;

export const APP_TOKEN_ISSUER = "mindbloom-video";
export const MIN_SIGNING_SECRET_LENGTH = 32;
/**
 * Signing secrets that have been published (the value .dev.vars.example used to ship): anyone can sign tickets with
 * them, so they are refused like a missing secret. `npm run dev` replaces them with a random one.
 */
export const PUBLIC_EXAMPLE_SIGNING_SECRETS: ReadonlySet<string> = new Set(["local-development-signing-secret-change-me-0123456789"]);

export const DEV_TOKEN_TTL_SECONDS = 12 * 3600;
export const INVITE_TTL_SECONDS = 7 * 24 * 3600;
export const INVITE_MAX_TTL_SECONDS = 30 * 24 * 3600;
export const TICKET_TTL_SECONDS = 12 * 3600;
export const TICKET_MAX_TTL_SECONDS = 48 * 3600;
/** Long enough for a recurring group; the credential is only good together with a valid invite of its session. */
export const GUEST_CREDENTIAL_TTL_SECONDS = 90 * 24 * 3600;
/** A recurring group meets for months; the credential is renewed at every join, so only a long absence ends it. */
export const GROUP_CREDENTIAL_TTL_SECONDS = 180 * 24 * 3600;
/** Skew tolerated on our own tokens' exp/nbf (all Workers share NTP time; this only covers edge jitter). */
const OWN_CLOCK_TOLERANCE_SECONDS = 5;

type Kind = "dev" | "invite" | "ticket" | "guest" | "group";
/** Each kind's claims, and the longest lifetime (seconds) it is ever issued with, which verify enforces too. */
const KINDS: Record<Kind, { typ: string; aud: string; label: string; maxTtlSeconds: number }> = {
  dev: { typ: "dev", aud: "mindbloom-video:dev-signin", label: "a development sign-in token", maxTtlSeconds: DEV_TOKEN_TTL_SECONDS },
  invite: { typ: "invite", aud: "mindbloom-video:invite", label: "an invite", maxTtlSeconds: INVITE_MAX_TTL_SECONDS },
  ticket: { typ: "ticket", aud: "mindbloom-video:ticket", label: "a member ticket", maxTtlSeconds: TICKET_MAX_TTL_SECONDS },
  guest: { typ: "guest", aud: "mindbloom-video:guest", label: "a guest credential", maxTtlSeconds: GUEST_CREDENTIAL_TTL_SECONDS },
  group: { typ: "group-guest", aud: "mindbloom-video:group-guest", label: "a group credential", maxTtlSeconds: GROUP_CREDENTIAL_TTL_SECONDS },
};

export const INVITE_ROLES = ["participant", "cofacilitator"] as const;
export type InviteRole = (typeof INVITE_ROLES)[number];

/** Same shape as the protocol's ids: letters, digits and _ . : @ -, at most 64. */
const ID_RE = /^[A-Za-z0-9_.:@-]{1,64}$/;

export interface IssueOptions {
  /** Token lifetime, seconds (clamped to the kind's maximum). */
  ttlSeconds?: number;
  /** Issue as if at this instant (epoch ms). */
  now?: number;
}

export interface IssuedToken {
  token: string;
  /** Epoch ms. */
  issuedAt: number;
  /** Epoch ms; the token is refused from then on. */
  expiresAt: number;
}

export interface InviteClaims {
  sessionId: string;
  inviteId: string;
  role: InviteRole;
  issuedAt: number;
  expiresAt: number;
}

export interface MemberTicketClaims {
  sessionId: string;
  memberId: string;
  role: Role;
  name: string;
  issuedAt: number;
  expiresAt: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Environment checks and keys
// ---------------------------------------------------------------------------------------------------------------

/** Development sign-in is on only with APP_ENV="development" AND DEV_SIGNIN="on"; anything else is production. */
export function devSignInEnabled(env: Pick<Bindings, "APP_ENV" | "DEV_SIGNIN">): boolean {
  return env.APP_ENV === "development" && env.DEV_SIGNIN === "on";
}

const keyCache = new Map<string, Promise<Record<Kind, CryptoKey>>>();
const encoder = new TextEncoder();

async function deriveKeys(secret: string): Promise<Record<Kind, CryptoKey>> {
  const base = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  const derive = (kind: Kind) =>
    crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: encoder.encode("mindbloom-video/app-tokens/v1"), info: encoder.encode(`hs256:${kind}`) },
      base,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign", "verify"],
    );
  const [dev, invite, ticket, guest, group] = await Promise.all([derive("dev"), derive("invite"), derive("ticket"), derive("guest"), derive("group")]);
  return { dev, invite, ticket, guest, group };
}

/** The signing key for one kind, derived once per secret per isolate. */
async function keyFor(env: AppTokenEnv, kind: Kind): Promise<CryptoKey> {
  return keyFromSecret(env.APP_SIGNING_SECRET, kind);
}

/**
 * The key of APP_SIGNING_SECRET_PREVIOUS (the secret being rotated out), for verification only; null when it is unset,
 * too short, a published example, or the current secret. Nothing is ever signed with it.
 */
async function previousKeyFor(env: AppTokenEnv, kind: Kind): Promise<CryptoKey | null> {
  const previous = env.APP_SIGNING_SECRET_PREVIOUS;
  if (!previous || previous === env.APP_SIGNING_SECRET || previous.length < MIN_SIGNING_SECRET_LENGTH || PUBLIC_EXAMPLE_SIGNING_SECRETS.has(previous))
    return null;
  return keyFromSecret(previous, kind);
}

async function keyFromSecret(secret: string | undefined, kind: Kind): Promise<CryptoKey> {
  if (!secret || secret.length < MIN_SIGNING_SECRET_LENGTH) {
    throw new AuthError("INTERNAL", `APP_SIGNING_SECRET must be set (at least ${MIN_SIGNING_SECRET_LENGTH} characters)`, {
      status: 500,
      reason: "config",
    });
  }
  if (PUBLIC_EXAMPLE_SIGNING_SECRETS.has(secret)) {
    throw new AuthError("INTERNAL", "APP_SIGNING_SECRET is the published example value; set your own (npm run dev generates one)", {
      status: 500,
      reason: "config",
    });
  }
  let keys = keyCache.get(secret);
  if (!keys) {
    if (keyCache.size >= 4) keyCache.delete(keyCache.keys().next().value as string);
    keys = deriveKeys(secret);
    keys.catch(() => keyCache.delete(secret));
    keyCache.set(secret, keys);
  }
  return (await keys)[kind];
}

function badInput(message: string): AuthError {
  return new AuthError("INVALID_MESSAGE", message, { status: 400, reason: "input" });
}

function checkId(what: string, value: unknown): string {
  if (typeof value !== "string" || !ID_RE.test(value)) throw badInput(`${what} must be 1-64 letters, digits or _ . : @ -`);
  return value;
}

function ttl(value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw badInput("ttlSeconds must be a positive number");
  return Math.min(Math.floor(value), max) || 1;
}

// ---------------------------------------------------------------------------------------------------------------
// Generic sign / verify for one kind
// ---------------------------------------------------------------------------------------------------------------

async function sign(
  env: AppTokenEnv,
  kind: Kind,
  claims: Record<string, unknown>,
  subject: string | undefined,
  ttlSeconds: number,
  now?: number,
): Promise<IssuedToken> {
  const key = await keyFor(env, kind);
  const iat = Math.floor((now ?? Date.now()) / 1000);
  const exp = iat + ttlSeconds;
  const jwt = new SignJWT({ ...claims, typ: KINDS[kind].typ })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(APP_TOKEN_ISSUER)
    .setAudience(KINDS[kind].aud)
    .setIssuedAt(iat)
    .setExpirationTime(exp);
  if (subject !== undefined) jwt.setSubject(subject);
  return { token: await jwt.sign(key), issuedAt: iat * 1000, expiresAt: exp * 1000 };
}

/** Which of our kinds an (unverified) token claims to be, for clearer refusals only; never trusted. */
function claimedKind(token: string): Kind | undefined {
  try {
    const p = decodeJwt(token);
    if (p.iss !== APP_TOKEN_ISSUER) return undefined;
    return (Object.keys(KINDS) as Kind[]).find((k) => KINDS[k].typ === p.typ);
  } catch {
    return undefined;
  }
}

async function verify(env: AppTokenEnv, kind: Kind, token: string, options: VerifyOptions, requiredClaims: string[]): Promise<JWTPayload> {
  assertJwtShape(token);
  const key = await keyFor(env, kind);
  const check = (k: CryptoKey) =>
    jwtVerify(token, k, {
      algorithms: ["HS256"],
      issuer: APP_TOKEN_ISSUER,
      audience: KINDS[kind].aud,
      clockTolerance: OWN_CLOCK_TOLERANCE_SECONDS,
      // Refuses an `iat` in the future (beyond the tolerance) and anything older than the kind's longest lifetime.
      maxTokenAge: KINDS[kind].maxTtlSeconds,
      requiredClaims: ["exp", "iat", "typ", ...requiredClaims],
      ...(options.now !== undefined ? { currentDate: new Date(options.now) } : {}),
    });
  let payload: JWTPayload;
  try {
    try {
      ({ payload } = await check(key));
    } catch (e) {
      // During a rotation, a token signed with the secret being rotated out still verifies (same checks otherwise).
      const previous = (e as { code?: unknown })?.code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" ? await previousKeyFor(env, kind) : null;
      if (!previous) throw e;
      ({ payload } = await check(previous));
    }
  } catch (e) {
    const err = authErrorFromJose(e);
    const other = claimedKind(token);
    if (err.code === "UNAUTHENTICATED" && other && other !== kind) {
      throw new AuthError("UNAUTHENTICATED", `${KINDS[other].label} cannot be used as ${KINDS[kind].label}`, { reason: "kind", cause: e });
    }
    throw err;
  }
  if (payload.typ !== KINDS[kind].typ) {
    throw new AuthError("UNAUTHENTICATED", `this is not ${KINDS[kind].label}`, { reason: "kind" });
  }
  // We never issue a longer one (issuance clamps to the same maximum): a longer lifetime means a forged or foreign token.
  if (payload.exp! - payload.iat! > KINDS[kind].maxTtlSeconds) {
    throw new AuthError("UNAUTHENTICATED", `${KINDS[kind].label} is never valid for that long`, { reason: "lifetime" });
  }
  return payload;
}

function malformed(what: string): AuthError {
  return new AuthError("UNAUTHENTICATED", `the ${what} is malformed`, { reason: "malformed" });
}

function checkSession(payload: JWTPayload, expectedSessionId: string, what: string): string {
  const sid = payload.sid;
  if (typeof sid !== "string" || !ID_RE.test(sid)) throw malformed(what);
  if (sid !== expectedSessionId) {
    throw new AuthError("WRONG_SESSION", `this ${what} belongs to another session`, { reason: "session" });
  }
  return sid;
}

// ---------------------------------------------------------------------------------------------------------------
// (a) Development sign-in
// ---------------------------------------------------------------------------------------------------------------

export interface DevUserInput {
  userId: string;
  name: string;
  appRole?: AppRole;
}

/**
 * Issues a development sign-in token. Refused (FORBIDDEN, 403) unless APP_ENV="development" and DEV_SIGNIN="on".
 * userId follows the protocol's id rules; name is trimmed and capped at 80 characters; appRole defaults to "participant".
 */
export async function issueDevUserToken(
  env: AppTokenEnv,
  input: DevUserInput,
  options: IssueOptions = {},
): Promise<IssuedToken & { principal: UserPrincipal }> {
  if (!devSignInEnabled(env)) {
    throw new AuthError("FORBIDDEN", "development sign-in is disabled", { status: 403, reason: "dev-disabled" });
  }
  const userId = checkId("userId", input.userId);
  const name = cleanDisplayName(input.name);
  if (!name) throw badInput("name must not be empty");
  const appRole = input.appRole ?? "participant";
  if (!(APP_ROLES as readonly string[]).includes(appRole)) throw badInput(`appRole must be one of ${APP_ROLES.join(", ")}`);
  const issued = await sign(env, "dev", { name, role: appRole }, userId, ttl(options.ttlSeconds, DEV_TOKEN_TTL_SECONDS, DEV_TOKEN_TTL_SECONDS), options.now);
  return { ...issued, principal: { userId, name, appRole, source: "dev" } };
}

/** Verifies a development sign-in token; refused (UNAUTHENTICATED) whenever development sign-in is not enabled. */
export async function verifyDevUserToken(env: AppTokenEnv, token: string, options: VerifyOptions = {}): Promise<UserPrincipal> {
  if (!devSignInEnabled(env)) {
    throw new AuthError("UNAUTHENTICATED", "development sign-in tokens are not accepted here", { reason: "dev-disabled" });
  }
  const payload = await verify(env, "dev", token, options, ["sub"]);
  const userId = payload.sub;
  const name = cleanDisplayName(payload.name);
  const role = payload.role;
  if (typeof userId !== "string" || !ID_RE.test(userId) || !name || typeof role !== "string" || !(APP_ROLES as readonly string[]).includes(role)) {
    throw malformed("development sign-in token");
  }
  return { userId, name, appRole: role as AppRole, source: "dev" };
}

/**
 * Verifies a user's bearer token: a development sign-in token when the token says it is one (accepted only when
 * development sign-in is enabled), otherwise an IdP token. Our invites and tickets are refused here (reason "kind").
 */
export async function verifyUserOrDevToken(env: AppTokenEnv & UserTokenEnv, token: string, options: VerifyOptions = {}): Promise<UserPrincipal> {
  assertJwtShape(token);
  const kind = claimedKind(token);
  if (kind === "dev") return verifyDevUserToken(env, token, options);
  if (kind !== undefined) {
    throw new AuthError("UNAUTHENTICATED", `${KINDS[kind].label} cannot be used to sign in`, { reason: "kind" });
  }
  if (!idpConfigured(env) && devSignInEnabled(env)) {
    throw new AuthError("UNAUTHENTICATED", "not a development sign-in token, and no identity provider is configured", { reason: "no-idp" });
  }
  return verifyUserToken(env, token, options);
}

// ---------------------------------------------------------------------------------------------------------------
// (b) Invites
// ---------------------------------------------------------------------------------------------------------------

export interface InviteInput {
  sessionId: string;
  role: InviteRole;
  /** Defaults to a random UUID. Must match the `invites` row's id when persisted. */
  inviteId?: string;
}

/** Issues a signed, expiring invite to one session. Persist it with invites.ts so it can be revoked. */
export async function issueInvite(env: AppTokenEnv, input: InviteInput, options: IssueOptions = {}): Promise<IssuedToken & { inviteId: string }> {
  const sessionId = checkId("sessionId", input.sessionId);
  const inviteId = checkId("inviteId", input.inviteId ?? crypto.randomUUID());
  if (!(INVITE_ROLES as readonly string[]).includes(input.role)) throw badInput(`role must be one of ${INVITE_ROLES.join(", ")}`);
  const issued = await sign(
    env,
    "invite",
    { sid: sessionId, inv: inviteId, role: input.role },
    undefined,
    ttl(options.ttlSeconds, INVITE_TTL_SECONDS, INVITE_MAX_TTL_SECONDS),
    options.now,
  );
  return { ...issued, inviteId };
}

/**
 * Verifies an invite for `sessionId`. Throws AuthError: UNAUTHENTICATED (forged, malformed, another kind),
 * CREDENTIAL_EXPIRED, WRONG_SESSION. Revocation is checked against D1 by invites.ts.
 */
export async function verifyInvite(env: AppTokenEnv, token: string, sessionId: string, options: VerifyOptions = {}): Promise<InviteClaims> {
  const payload = await verify(env, "invite", token, options, ["sid", "inv", "role"]);
  const sid = checkSession(payload, sessionId, "invite");
  const inv = payload.inv;
  const role = payload.role;
  if (typeof inv !== "string" || !ID_RE.test(inv) || typeof role !== "string" || !(INVITE_ROLES as readonly string[]).includes(role)) {
    throw malformed("invite");
  }
  return { sessionId: sid, inviteId: inv, role: role as InviteRole, issuedAt: payload.iat! * 1000, expiresAt: payload.exp! * 1000 };
}

// ---------------------------------------------------------------------------------------------------------------
// (c) Member tickets
// ---------------------------------------------------------------------------------------------------------------

export interface MemberTicketInput {
  sessionId: string;
  memberId: string;
  role: Role;
  name: string;
}

/** Issues the ticket one session member uses for HTTP calls and the WebSocket of that session. */
export async function issueMemberTicket(env: AppTokenEnv, input: MemberTicketInput, options: IssueOptions = {}): Promise<IssuedToken> {
  const sessionId = checkId("sessionId", input.sessionId);
  const memberId = checkId("memberId", input.memberId);
  if (!RoleSchema.safeParse(input.role).success) throw badInput("role must be facilitator, cofacilitator or participant");
  const name = cleanDisplayName(input.name);
  if (!name) throw badInput("name must not be empty");
  return sign(
    env,
    "ticket",
    { sid: sessionId, role: input.role, name },
    memberId,
    ttl(options.ttlSeconds, TICKET_TTL_SECONDS, TICKET_MAX_TTL_SECONDS),
    options.now,
  );
}

/**
 * Verifies a member ticket for `sessionId`. Throws AuthError: UNAUTHENTICATED (forged, malformed, another kind),
 * CREDENTIAL_EXPIRED, WRONG_SESSION. Whether the member is still admitted is the session's business.
 */
export async function verifyMemberTicket(env: AppTokenEnv, token: string, sessionId: string, options: VerifyOptions = {}): Promise<MemberTicketClaims> {
  const payload = await verifyTicketCached(env, token, options);
  const sid = checkSession(payload, sessionId, "ticket");
  const memberId = payload.sub;
  const role = RoleSchema.safeParse(payload.role);
  const name = cleanDisplayName(payload.name);
  if (typeof memberId !== "string" || !ID_RE.test(memberId) || !role.success || !name) throw malformed("ticket");
  return { sessionId: sid, memberId, role: role.data, name, issuedAt: payload.iat! * 1000, expiresAt: payload.exp! * 1000 };
}

// ---------------------------------------------------------------------------------------------------------------
// Verified-ticket cache
// ---------------------------------------------------------------------------------------------------------------

/**
 * Tickets already verified in this isolate, by token. A ticket is presented on every HTTP call and every socket
 * (re)connect of its member, hundreds of times over its 12 hours; its bytes cannot change without failing the HMAC, and
 * tickets are not revocable (whether the member may still act is the session's decision), so a token that verified once
 * verifies again until it expires. A hit is served only strictly before `exp` (past it, jose's full check applies the
 * clock tolerance and reports CREDENTIAL_EXPIRED), only for the same APP_SIGNING_SECRET, and only for tokens without
 * `nbf`. Everything after the signature (session, claims shape) is still checked on every call. Bounded, oldest first out.
 */
const TICKET_CACHE_MAX = 2000;
const verifiedTickets = new Map<string, { secret: string; payload: JWTPayload }>();

async function verifyTicketCached(env: AppTokenEnv, token: string, options: VerifyOptions): Promise<JWTPayload> {
  // The secrets it verified under: a cached ticket is good for exactly the configuration that accepted it.
  const secret = `${env.APP_SIGNING_SECRET ?? ""}\n${env.APP_SIGNING_SECRET_PREVIOUS ?? ""}`;
  const nowSeconds = (options.now ?? Date.now()) / 1000;
  const hit = verifiedTickets.get(token);
  if (hit && hit.secret === secret && typeof hit.payload.exp === "number" && nowSeconds < hit.payload.exp) return hit.payload;
  const payload = await verify(env, "ticket", token, options, ["sid", "sub", "role", "name"]);
  if (payload.nbf === undefined && typeof payload.exp === "number") {
    if (verifiedTickets.size >= TICKET_CACHE_MAX) verifiedTickets.delete(verifiedTickets.keys().next().value as string);
    verifiedTickets.set(token, { secret, payload: Object.freeze(payload) });
  }
  return payload;
}

// ---------------------------------------------------------------------------------------------------------------
// (d) Guest credentials
// ---------------------------------------------------------------------------------------------------------------

export interface GuestCredentialInput {
  sessionId: string;
  inviteId: string;
  /** The guest's identity in the session (worker/auth/guests.ts newGuestIdentity): no secret in it. */
  identity: string;
}

export interface GuestCredentialClaims {
  sessionId: string;
  inviteId: string;
  identity: string;
  issuedAt: number;
  expiresAt: number;
}

/**
 * Issues the credential a guest (no account) re-joins with: it names the guest's identity, bound to one session and the
 * invite they came by. Only this Worker can make one, so an identity staff can read is no key to anyone's membership.
 */
export async function issueGuestCredential(env: AppTokenEnv, input: GuestCredentialInput, options: IssueOptions = {}): Promise<IssuedToken> {
  const sessionId = checkId("sessionId", input.sessionId);
  const inviteId = checkId("inviteId", input.inviteId);
  const identity = checkId("identity", input.identity);
  return sign(
    env,
    "guest",
    { sid: sessionId, inv: inviteId },
    identity,
    ttl(options.ttlSeconds, GUEST_CREDENTIAL_TTL_SECONDS, GUEST_CREDENTIAL_TTL_SECONDS),
    options.now,
  );
}

/**
 * Verifies a guest credential for `sessionId`. Throws AuthError: UNAUTHENTICATED (forged, malformed, another kind),
 * CREDENTIAL_EXPIRED, WRONG_SESSION. Whether it matches the invite presented with it is the join's check.
 */
export async function verifyGuestCredential(env: AppTokenEnv, token: string, sessionId: string, options: VerifyOptions = {}): Promise<GuestCredentialClaims> {
  const payload = await verify(env, "guest", token, options, ["sid", "inv", "sub"]);
  const sid = checkSession(payload, sessionId, "guest credential");
  const inv = payload.inv;
  const identity = payload.sub;
  if (typeof inv !== "string" || !ID_RE.test(inv) || typeof identity !== "string" || !ID_RE.test(identity) || !identity.startsWith("guest:")) {
    throw malformed("guest credential");
  }
  return { sessionId: sid, inviteId: inv, identity, issuedAt: payload.iat! * 1000, expiresAt: payload.exp! * 1000 };
}

// ---------------------------------------------------------------------------------------------------------------
// (e) Group credentials
// ---------------------------------------------------------------------------------------------------------------

export interface GroupCredentialClaims {
  groupId: string;
  identity: string;
  issuedAt: number;
  expiresAt: number;
}

/**
 * Issues the credential a guest of a recurring group comes back with, week after week: it names the guest's identity in
 * the group (worker/auth/guests.ts newGroupGuestIdentity) and the group, not a session or a link, so a replaced standing
 * link still recognises them. It opens nothing by itself: a join needs a valid invite of one of the group's sessions too.
 */
export async function issueGroupCredential(env: AppTokenEnv, input: { groupId: string; identity: string }, options: IssueOptions = {}): Promise<IssuedToken> {
  const groupId = checkId("groupId", input.groupId);
  const identity = checkId("identity", input.identity);
  return sign(env, "group", { grp: groupId }, identity, ttl(options.ttlSeconds, GROUP_CREDENTIAL_TTL_SECONDS, GROUP_CREDENTIAL_TTL_SECONDS), options.now);
}

/**
 * Verifies a group credential for `groupId`. Throws AuthError: UNAUTHENTICATED (forged, malformed, another kind),
 * CREDENTIAL_EXPIRED, WRONG_SESSION (another group's).
 */
export async function verifyGroupCredential(env: AppTokenEnv, token: string, groupId: string, options: VerifyOptions = {}): Promise<GroupCredentialClaims> {
  const payload = await verify(env, "group", token, options, ["grp", "sub"]);
  const grp = payload.grp;
  const identity = payload.sub;
  if (typeof grp !== "string" || !ID_RE.test(grp) || typeof identity !== "string" || !ID_RE.test(identity) || !identity.startsWith("guest:")) {
    throw malformed("group credential");
  }
  if (grp !== groupId) throw new AuthError("WRONG_SESSION", "this group credential is for another group", { reason: "group" });
  return { groupId: grp, identity, issuedAt: payload.iat! * 1000, expiresAt: payload.exp! * 1000 };
}
