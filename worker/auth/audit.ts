/**
 * Audit log rows (`audit_log` in migrations/0001_init.sql): every breakout operation, admission decision and refused
 * attempt. `buildAuditRow` is pure (validation + normalisation); `writeAuditRows` inserts with INSERT OR IGNORE on the
 * id, so a retried write (outbox, waitUntil retry) never duplicates a row: give retried entries the same id.
 */
import { ErrorCodeSchema, type ErrorCode } from "../../lib/protocol";

export interface AuditRow {
  id: string;
  session_id: string | null;
  actor: string;
  actor_role: string | null;
  action: string;
  target: string | null;
  /** "ok" or "refused:<CODE>". */
  result: string;
  /** Epoch ms. */
  at: number;
}

export interface AuditInput {
  /** Deterministic where possible (e.g. `<session>:<seq>:<n>`), so retries are idempotent. See `auditId`. */
  id: string;
  sessionId?: string | null;
  /** Member id, user id, or "system". */
  actor: string;
  actorRole?: string | null;
  /** Command type or operation name, e.g. "move", "admit", "invite.revoke", "join". */
  action: string;
  target?: string | null;
  /** "ok", or the ErrorCode of the refusal. */
  result: "ok" | ErrorCode | { refused: ErrorCode };
  /** Epoch ms. */
  at: number;
}

const MAX_FIELD = 200;

function text(name: string, value: unknown, required: true): string;
function text(name: string, value: unknown, required: false): string | null;
function text(name: string, value: unknown, required: boolean): string | null {
  if (value === undefined || value === null || value === "") {
    if (required) throw new TypeError(`audit ${name} is required`);
    return null;
  }
  if (typeof value !== "string") throw new TypeError(`audit ${name} must be a string`);
  return value.length > MAX_FIELD ? value.slice(0, MAX_FIELD) : value;
}

/** Formats a result column value: "ok" or "refused:<CODE>". */
export function auditResult(result: AuditInput["result"]): string {
  if (result === "ok") return "ok";
  const code = typeof result === "string" ? result : result?.refused;
  const parsed = ErrorCodeSchema.safeParse(code);
  if (!parsed.success) throw new TypeError(`audit result must be "ok" or an ErrorCode, got ${String(code)}`);
  return `refused:${parsed.data}`;
}

/** Joins parts into a deterministic audit id (e.g. auditId(sessionId, seq, "admit", memberId)). */
export function auditId(...parts: (string | number)[]): string {
  return parts.map(String).join(":");
}

/** Builds a validated audit_log row. Pure. Throws TypeError on invalid input (a programming error, not a user one). */
export function buildAuditRow(input: AuditInput): AuditRow {
  if (typeof input.id !== "string" || input.id.length === 0 || input.id.length > 255) throw new TypeError("audit id must be 1-255 characters");
  if (!Number.isSafeInteger(input.at) || input.at < 0) throw new TypeError("audit at must be epoch milliseconds");
  return {
    id: input.id,
    session_id: text("sessionId", input.sessionId, false),
    actor: text("actor", input.actor, true),
    actor_role: text("actorRole", input.actorRole, false),
    action: text("action", input.action, true),
    target: text("target", input.target, false),
    result: auditResult(input.result),
    at: input.at,
  };
}

const INSERT_SQL = "INSERT OR IGNORE INTO audit_log (id, session_id, actor, actor_role, action, target, result, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/** Writes rows in one D1 batch (atomic). Returns how many were newly inserted (ignored duplicates are not counted). */
export async function writeAuditRows(db: D1Database, rows: readonly AuditRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const statements = rows.map((r) => db.prepare(INSERT_SQL).bind(r.id, r.session_id, r.actor, r.actor_role, r.action, r.target, r.result, r.at));
  const results = await db.batch(statements);
  return results.reduce((n, r) => n + (r.meta?.changes ?? 0), 0);
}

/** Convenience: build and write one row. Returns the row. */
export async function audit(db: D1Database, input: AuditInput): Promise<AuditRow> {
  const row = buildAuditRow(input);
  await writeAuditRows(db, [row]);
  return row;
}
