/**
 * Invite persistence in D1 (`invites` table, migrations/0001_init.sql). The signed invite token (app-tokens.ts) carries
 * the invite id; the row is what makes an invite revocable and what is checked at join time.
 *
 * A join needs both: a valid signature (verifyInvite) AND a row that exists, belongs to the session, is not revoked and
 * has not expired (the row's expiry is authoritative too). An unknown id is refused as revoked (fail closed).
 */
import type { Bindings } from "../../lib/runtime/env";
import { issueInvite, verifyInvite, type AppTokenEnv, type InviteClaims, type InviteRole, type IssueOptions } from "./app-tokens";
import { AuthError, type VerifyOptions } from "./user-tokens";

export interface InviteRow {
  id: string;
  session_id: string;
  created_by: string;
  role: InviteRole;
  /** Epoch ms. */
  expires_at: number;
  /** Epoch ms, or null while usable. */
  revoked_at: number | null;
  /** Epoch ms. */
  created_at: number;
}

export interface CreatedInvite {
  token: string;
  inviteId: string;
  /** The short link's code (/i/<code>). */
  shortCode: string;
  sessionId: string;
  role: InviteRole;
  expiresAt: number;
  createdAt: number;
}

export interface CreateInviteInput {
  sessionId: string;
  /** Identity (user id) of the staff member creating it. */
  createdBy: string;
  role: InviteRole;
  inviteId?: string;
}

const COLUMNS = "id, session_id, created_by, role, expires_at, revoked_at, created_at";

/** Signs an invite and records its row. The token is returned once; only its id is stored. */
export async function createInvite(env: AppTokenEnv & Pick<Bindings, "DB">, input: CreateInviteInput, options: IssueOptions = {}): Promise<CreatedInvite> {
  if (typeof input.createdBy !== "string" || input.createdBy.length === 0 || input.createdBy.length > 255) {
    throw new AuthError("INVALID_MESSAGE", "createdBy must be a non-empty identity", { status: 400, reason: "input" });
  }
  const issued = await issueInvite(env, { sessionId: input.sessionId, role: input.role, inviteId: input.inviteId }, options);
  const createdAt = options.now ?? Date.now();
  const shortCode = newShortCode();
  await env.DB.prepare(`INSERT INTO invites (${COLUMNS}, short_code) VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7)`)
    .bind(issued.inviteId, input.sessionId, input.createdBy, input.role, issued.expiresAt, createdAt, shortCode)
    .run();
  return { token: issued.token, inviteId: issued.inviteId, shortCode, sessionId: input.sessionId, role: input.role, expiresAt: issued.expiresAt, createdAt };
}

/** 12 characters of a 31-letter alphabet without look-alikes (~59 bits): unguessable at the join rate limit. */
const SHORT_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz";
export const SHORT_CODE_RE = /^[2-9a-hjkmnp-z]{12}$/;

function newShortCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => SHORT_ALPHABET[b % SHORT_ALPHABET.length]).join("");
}

/**
 * The invite a short link names, as a token to join with: signed afresh for the same invite (same id, same expiry),
 * after the same checks a join makes (revoked, expired). Throws AuthError NOT_FOUND, CREDENTIAL_REVOKED, CREDENTIAL_EXPIRED.
 */
export async function resolveShortCode(env: AppTokenEnv & Pick<Bindings, "DB">, code: string, options: { now?: number } = {}) {
  const now = options.now ?? Date.now();
  const row = await env.DB.prepare(`SELECT ${COLUMNS} FROM invites WHERE short_code = ?1`).bind(code).first<InviteRow>();
  if (!row) throw new AuthError("NOT_FOUND", "this link is not (or no longer) an invitation", { status: 404, reason: "unknown-code" });
  return freshInviteToken(env, row, now);
}

/** resolveShortCode for an invite known by id (a recurring group's standing link hands out its session's invite). */
export async function inviteTokenFor(env: AppTokenEnv & Pick<Bindings, "DB">, inviteId: string, options: { now?: number } = {}) {
  const row = await getInvite(env.DB, inviteId);
  if (!row) throw new AuthError("NOT_FOUND", "this invitation no longer exists", { status: 404, reason: "unknown-invite" });
  return freshInviteToken(env, row, options.now ?? Date.now());
}

async function freshInviteToken(env: AppTokenEnv, row: InviteRow, now: number) {
  if (row.revoked_at !== null && row.revoked_at !== undefined) throw new AuthError("CREDENTIAL_REVOKED", "this invite has been revoked", { reason: "revoked" });
  if (row.expires_at <= now + 1000) throw new AuthError("CREDENTIAL_EXPIRED", "this invite has expired", { reason: "expired" });
  const issued = await issueInvite(
    env,
    { sessionId: row.session_id, role: row.role, inviteId: row.id },
    { now, ttlSeconds: Math.floor((row.expires_at - now) / 1000) },
  );
  return { sessionId: row.session_id, invite: issued.token, role: row.role, expiresAt: row.expires_at };
}

export async function getInvite(db: D1Database, inviteId: string): Promise<InviteRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM invites WHERE id = ?1`).bind(inviteId).first<InviteRow>();
}

/** Invites of one session, newest first. */
export async function listInvites(db: D1Database, sessionId: string): Promise<InviteRow[]> {
  const { results } = await db.prepare(`SELECT ${COLUMNS} FROM invites WHERE session_id = ?1 ORDER BY created_at DESC, id`).bind(sessionId).all<InviteRow>();
  return results;
}

export interface RevokeResult {
  inviteId: string;
  revokedAt: number;
  /** True when it had been revoked before (revoking is idempotent; the first time is kept). */
  alreadyRevoked: boolean;
}

/**
 * Revokes an invite of `sessionId`. Idempotent. Throws AuthError NOT_FOUND (no such invite) or WRONG_SESSION
 * (the invite belongs to another session; nothing is changed).
 */
export async function revokeInvite(db: D1Database, sessionId: string, inviteId: string, options: { now?: number } = {}): Promise<RevokeResult> {
  const now = options.now ?? Date.now();
  const update = await db
    .prepare("UPDATE invites SET revoked_at = ?1 WHERE id = ?2 AND session_id = ?3 AND revoked_at IS NULL")
    .bind(now, inviteId, sessionId)
    .run();
  if ((update.meta?.changes ?? 0) > 0) return { inviteId, revokedAt: now, alreadyRevoked: false };
  const row = await getInvite(db, inviteId);
  if (!row) throw new AuthError("NOT_FOUND", "no such invite", { status: 404, reason: "unknown-invite" });
  if (row.session_id !== sessionId) throw new AuthError("WRONG_SESSION", "this invite belongs to another session", { reason: "session" });
  return { inviteId, revokedAt: row.revoked_at ?? now, alreadyRevoked: true };
}

/**
 * Checks the stored state of a (signature-verified) invite at join time. Throws AuthError:
 * CREDENTIAL_REVOKED (revoked, or no row: fail closed), WRONG_SESSION, CREDENTIAL_EXPIRED, UNAUTHENTICATED (row and
 * token disagree on the role).
 */
export async function assertInviteUsable(db: D1Database, claims: InviteClaims, options: { now?: number } = {}): Promise<InviteRow> {
  const now = options.now ?? Date.now();
  const row = await getInvite(db, claims.inviteId);
  if (!row) throw new AuthError("CREDENTIAL_REVOKED", "this invite is no longer valid", { reason: "unknown-invite" });
  if (row.session_id !== claims.sessionId) throw new AuthError("WRONG_SESSION", "this invite belongs to another session", { reason: "session" });
  if (row.revoked_at !== null && row.revoked_at !== undefined) throw new AuthError("CREDENTIAL_REVOKED", "this invite has been revoked", { reason: "revoked" });
  if (row.expires_at <= now) throw new AuthError("CREDENTIAL_EXPIRED", "this invite has expired", { reason: "expired" });
  if (row.role !== claims.role) throw new AuthError("UNAUTHENTICATED", "this invite does not match its record", { reason: "role-mismatch" });
  return row;
}

/**
 * Everything a join with an invite needs: the signature, kind, session and expiry of the token (verifyInvite), then the
 * row (assertInviteUsable). Returns the claims and the row.
 */
export async function verifyInviteForJoin(
  env: AppTokenEnv & Pick<Bindings, "DB">,
  token: string,
  sessionId: string,
  options: VerifyOptions = {},
): Promise<{ claims: InviteClaims; row: InviteRow }> {
  const claims = await verifyInvite(env, token, sessionId, options);
  const row = await assertInviteUsable(env.DB, claims, options);
  return { claims, row };
}
