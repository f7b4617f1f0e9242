/**
 * One Durable Object per session. Thin: transport (hibernatable WebSockets), storage (SQLite in the DO),
 * alarms, and the D1 outbox, around the pure engine in ./logic. Every event runs one at a time through `serial`,
 * is persisted (state + outgoing frames + D1 outbox rows) in one storage transaction, then delivered.
 */
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../lib/runtime/env";
import { MessageBudget } from "../lib/runtime/token-bucket";
import { log } from "../lib/runtime/log";
import { STORED_PARTS, SessionEngine, type StoredPart } from "./logic/engine";
import { SYSTEM, type Actor, type CommandEvent, type SessionContext, type SessionEvent } from "./logic/model";
import { nextDeadline } from "./logic/updates";
import { recordsFor, refusalRecord, type Statement } from "./logic/records";
import { diffForStaff, participantView, staffState } from "./logic/views";
import { mediaAuthority, TOKEN_REFRESH_LEAD_MS, type MediaAuthority } from "./media";
import { desiredMediaKeys, keyOfMediaRoom, media, mediaPlan } from "./logic/media-plan";
import { TwilioVideoClient } from "../lib/twilio/rest";
import { CallbackDeduper, type VideoStatusEvent } from "../lib/twilio/callbacks";
import { recordWorkerEvent, workerEventStatement, writeAnalytics } from "../lib/runtime/analytics";
import { SessionError, toErrorPayload, type CommandOutcome, type RpcResult } from "../lib/errors";
import {
  ClientMessageSchema,
  MAIN_ROOM,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  describeZodError,
  isStaff,
  mediaRoomName,
  type Command,
  type ErrorCode,
  type ErrorPayload,
  type MediaGrant,
  type MediaProvider,
  type MediaRoomPublic,
  type Notice,
  type Placement,
  type Role,
  type ServerMessage,
  type Settings,
  MEDIA_TOKEN_LIMIT,
} from "../lib/protocol";

/** Frames kept for resume; a client further behind gets a fresh snapshot. */
const LOG_KEEP = 2000;
/** mediaGrant hands out a held grant again while it has at least this long left (tokens last up to an hour). */
const GRANT_REUSE_MIN_MS = 30 * 60 * 1000;
/** Command answers kept for idempotent retries. */
const COMMANDS_KEEP = 5000;
/** Outbox rows (events) per D1 batch; an openBreakouts of 49 is ~250 statements in one row. */
const OUTBOX_BATCH = 20;
const OUTBOX_MAX_BACKOFF_MS = 30_000;
/** Rows wait this long for the next D1 batch (events of a busy moment share it; frames go out first). */
const OUTBOX_FLUSH_DELAY_MS = 20;
/** A pending outbox is re-checked by the alarm at the next multiple of this (1–6 s after it filled). */
const OUTBOX_CHECK_GRID_MS = 5_000;

function mediaTokenLimit(env: Bindings): number {
  const n = Number(env.MEDIA_TOKEN_REQUESTS_PER_MINUTE);
  return Number.isInteger(n) && n > 0 ? n : MEDIA_TOKEN_LIMIT.perWindow;
}

/** Grants minted while an event is prepared (null: the member's grant is dropped) and their token_issued rows. */
interface MintedGrants {
  grants: Map<string, MediaGrant | null>;
  statements: Statement[];
}

export interface InitInput {
  sessionId: string;
  title: string;
  createdBy: string;
  facilitatorName: string;
  settings?: Partial<Settings>;
  mediaProvider: MediaProvider;
  seed: number;
}

async function refusable<T>(fn: () => Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof SessionError) return { ok: false, error: { code: err.code, message: err.text } };
    throw err;
  }
}

interface SocketAttachment {
  memberId: string;
  role: Role;
  budget: unknown;
}

interface Frame {
  /** Who receives it: "*" everyone, "staff", or "m:<memberId>". */
  audience: string[];
  body: Omit<ServerMessage, "seq"> & Record<string, unknown>;
  /** `body` already encoded as JSON (views are, to compare them with the last one sent): not encoded twice. */
  bodyJson?: string;
}

/** A frame's wire text: its body with `seq` appended (a pre-encoded body is extended, not re-encoded). */
function frameText(f: Frame, seq: number): string {
  return f.bodyJson !== undefined ? `${f.bodyJson.slice(0, -1)},"seq":${seq}}` : JSON.stringify({ ...f.body, seq });
}

export class SessionDurableObject extends DurableObject<Bindings> {
  private readonly sql: SqlStorage;
  private engine: SessionEngine | null = null;
  private seq = 0;
  private eventNo = 0;
  /** Last participant view sent per member (JSON), so only real changes go out. */
  private readonly sentViews = new Map<string, string>();
  /** Current media grant per member. */
  private readonly grants = new Map<string, MediaGrant>();
  private readonly budgets = new Map<WebSocket, MessageBudget>();
  /** HTTP media-token requests per member in the current window (MEDIA_TOKEN_LIMIT). */
  private readonly tokenRequests = new Map<string, { window: number; count: number }>();
  /** Sockets closed for flooding: anything they still send is dropped. */
  private readonly cutOff = new WeakSet<WebSocket>();
  private chain: Promise<unknown> = Promise.resolve();
  private flushing: Promise<void> | null = null;
  private outboxFailures = 0;
  private outboxRetryAt: number | null = null;
  private media: MediaAuthority | null = null;
  private twilio: TwilioVideoClient | null = null;
  private reconciling: Promise<void> | null = null;
  private reconcileAgain = false;
  /** Failed media room creations wait until this time (session clock) before the next try. */
  private readonly mediaRetryAt = new Map<string, number>();
  private mediaFailures = 0;
  /** Next full sweep of the provider's rooms (session clock). */
  private sweepAt: number | null = null;
  /** Test clock: development-only offset added to the wall clock (persisted, so it survives eviction). */
  private clockOffset = 0;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      this.migrate();
      this.load();
    });
  }

  // ------------------------------------------------------------------------------------------------------------
  // Storage
  // ------------------------------------------------------------------------------------------------------------

  private migrate() {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, audience TEXT NOT NULL, frame TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, stmt TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS commands (id TEXT PRIMARY KEY, response TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS grants (member TEXT PRIMARY KEY, grant TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS seen_callbacks (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox_dead (id INTEGER PRIMARY KEY AUTOINCREMENT, stmt TEXT NOT NULL, error TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS state_parts (part TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (part, id));`);
  }

  private kvGet(k: string): string | null {
    const row = this.sql.exec<{ v: string }>(`SELECT v FROM kv WHERE k = ?`, k).toArray()[0];
    return row ? row.v : null;
  }

  private kvSet(k: string, v: string) {
    this.sql.exec(`INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`, k, v);
  }

  private now(): number {
    return Date.now() + this.clockOffset;
  }

  private load() {
    this.clockOffset = Number(this.kvGet("clockOffset") ?? 0);
    const snap = this.kvGet("snapshot");
    if (!snap) return;
    // "partsInTable": those parts of the context (STORED_PARTS) are rows of state_parts; older snapshots carry
    // everything inline.
    const { partsInTable, ...persisted } = JSON.parse(snap) as { partsInTable?: StoredPart[] };
    if (partsInTable?.length) {
      const parts: Partial<Record<StoredPart, Record<string, unknown>>> = {};
      for (const part of partsInTable) parts[part] = {};
      for (const row of this.sql.exec<{ part: StoredPart; id: string; value: string }>(`SELECT part, id, value FROM state_parts`)) {
        const into = parts[row.part];
        if (into) into[row.id] = JSON.parse(row.value);
      }
      this.engine = SessionEngine.restoreWith(persisted, parts as Partial<Pick<SessionContext, StoredPart>>);
    } else {
      this.engine = SessionEngine.restore(persisted);
    }
    this.partsStored = STORED_PARTS.every((p) => partsInTable?.includes(p));
    this.seq = Number(this.kvGet("seq") ?? 0);
    this.eventNo = Number(this.kvGet("eventNo") ?? 0);
    this.setupProvider();
    for (const row of this.sql.exec<{ member: string; grant: string }>(`SELECT member, grant FROM grants`)) this.grants.set(row.member, JSON.parse(row.grant));
    // Views were sent before the restart; remember them so a rebuild does not resend everything.
    const ctx = this.engine.context;
    for (const m of Object.values(ctx.members))
      if (m.role === "participant") this.sentViews.set(m.id, JSON.stringify(participantView(ctx, this.engine.phase, m.id)));
  }

  /** Run `fn` after every earlier event has finished: one event at a time, awaits included. */
  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private requireEngine(): SessionEngine {
    if (!this.engine) throw new SessionError("NOT_FOUND", "no such session");
    return this.engine;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Applying events
  // ------------------------------------------------------------------------------------------------------------

  /**
   * Apply one event: dispatch to the engine, build frames and D1 rows, persist all of it atomically, deliver.
   * Must run inside `serial`.
   */
  private async apply(event: SessionEvent, actor: Actor, commandId?: string): Promise<CommandOutcome> {
    const engine = this.requireEngine();
    const result = engine.dispatch(event);
    const sessionId = engine.context.sessionId;
    if (!result.ok) {
      const outcome: CommandOutcome = { ok: false, commandId: commandId ?? null, error: result.error };
      if (commandId) {
        this.ctx.storage.transactionSync(() => {
          this.enqueue([refusalRecord(sessionId, `${sessionId}:${actor.memberId}:${commandId}`, actor, event, result.error)]);
          this.rememberCommand(actor.memberId, commandId, outcome);
        });
        this.scheduleFlush();
      }
      return outcome;
    }

    const { prev, next, prevPhase, phase, notices } = result;
    const eventNo = this.eventNo + 1;
    const frames: Frame[] = [];
    const changes = diffForStaff(prev, next, prevPhase, phase);
    if (changes.length) frames.push({ audience: ["staff"], body: { type: "patch", changes } });
    for (const notice of notices) frames.push({ audience: noticeAudience(notice, prev, next), body: { type: "notice", notice } });
    frames.push(...this.viewFrames(prev, next, prevPhase, phase));
    // Grants minted for this event are written in its transaction: one commit, not one per token (signing awaits).
    const minted: MintedGrants = { grants: new Map(), statements: [] };
    frames.push(...(await this.placementFrames(prev, next, event, minted)));
    const { statements, analytics } = recordsFor({ eventNo, event, actor, prev, next, prevPhase, phase, notices });

    let outcome: CommandOutcome;
    const encoded: { audience: string[]; text: string }[] = [];
    try {
      this.ctx.storage.transactionSync(() => {
        this.persistState(prev, next);
        for (const f of frames) {
          const seq = ++this.seq;
          const text = frameText(f, seq);
          encoded.push({ audience: f.audience, text });
          // Views and placements are derived from state: resume sends fresh ones, so they are not kept for replay.
          if (f.body.type !== "view" && f.body.type !== "placement")
            this.sql.exec(`INSERT INTO log (seq, audience, frame) VALUES (?, ?, ?)`, seq, f.audience.join(" "), text);
        }
        this.kvSet("seq", String(this.seq));
        this.kvSet("eventNo", String(eventNo));
        // Bounded history: a client further behind than LOG_KEEP frames gets a snapshot instead.
        if (eventNo % 100 === 0) {
          this.sql.exec(`DELETE FROM log WHERE seq <= ?`, this.seq - LOG_KEEP);
          this.sql.exec(`DELETE FROM commands WHERE id IN (SELECT id FROM commands ORDER BY at DESC LIMIT -1 OFFSET ?)`, COMMANDS_KEEP);
        }
        this.writeGrants(minted.grants);
        this.enqueue(minted.statements.length ? [...statements, ...minted.statements] : statements);
        outcome = { ok: true, commandId: commandId ?? "", seq: this.seq, duplicate: false };
        if (commandId) this.rememberCommand(actor.memberId, commandId, outcome);
      });
    } catch (err) {
      // Storage refused: memory must not run ahead of what is durable. Rebuild from storage and report.
      this.engine = null;
      this.seq = 0;
      this.sentViews.clear();
      this.grants.clear();
      this.load();
      throw err;
    }
    this.eventNo = eventNo;
    this.deliverAll(encoded);
    this.closeDeparted(prev, next);
    writeAnalytics(this.env, sessionId, analytics);
    this.scheduleFlush();
    await this.scheduleAlarm();
    if (this.twilio) {
      if (prev.rooms !== next.rooms || prevPhase !== phase || prev.members !== next.members) this.ctx.waitUntil(this.reconcileMedia());
      this.ctx.waitUntil(this.disconnectRemoved(prev, next));
    }
    return outcome!;
  }

  /**
   * Participant views that changed. When only members changed (a move, a swap, an arrival), only the members who
   * changed and the people sharing a place with them (before or after) can see a difference: the rest are skipped.
   */
  private viewFrames(prev: SessionContext, next: SessionContext, prevPhase: string, phase: string): Frame[] {
    // In "choose" rounds every participant sees room counts, so any move concerns everyone.
    const sessionWide =
      prev.rooms !== next.rooms ||
      prev.round !== next.round ||
      prev.settings !== next.settings ||
      prevPhase !== phase ||
      prev.title !== next.title ||
      next.round?.mode === "choose";
    if (!sessionWide && prev.members === next.members) return [];
    let candidates: Iterable<SessionContext["members"][string]> = Object.values(next.members);
    if (!sessionWide) {
      const places = new Set<string>();
      const changed = new Set<string>();
      for (const [id, m] of Object.entries(next.members)) {
        const before = prev.members[id];
        if (before === m) continue;
        changed.add(id);
        if (m.location) places.add(m.location);
        if (before?.location) places.add(before.location);
      }
      candidates = Object.values(next.members).filter((m) => changed.has(m.id) || (m.location !== null && places.has(m.location)));
    }
    const frames: Frame[] = [];
    for (const m of candidates) {
      if (m.role !== "participant") continue;
      const view = participantView(next, phase as never, m.id);
      const json = JSON.stringify(view);
      if (this.sentViews.get(m.id) === json) continue;
      this.sentViews.set(m.id, json);
      frames.push({ audience: [`m:${m.id}`], body: { type: "view", view }, bodyJson: `{"type":"view","view":${json}}` });
    }
    return frames;
  }

  /** "Where you should be" for everyone whose place changed, with a media grant for the new place. */
  private async placementFrames(prev: SessionContext, next: SessionContext, event: SessionEvent, minted: MintedGrants): Promise<Frame[]> {
    if (prev.members === next.members) return [];
    const moved = Object.values(next.members).filter((m) => {
      const before = prev.members[m.id];
      return before ? before.location !== m.location : m.location !== null;
    });
    // Signed together: one await for all the tokens of an opening, not one trip through the event loop per member.
    const placements = await Promise.all(
      moved.map((m) => this.placementFor(next, m.id, placementReason(event, prev.members[m.id]?.location ?? null, m.location), event.now, minted)),
    );
    return placements.map((placement, i) => ({ audience: [`m:${moved[i].id}`], body: { type: "placement", placement } }));
  }

  /**
   * Where a member belongs now, with a media grant for it. With `minted` (inside apply) the grant and its
   * token_issued row are left for the event's transaction; otherwise they are written here, in one transaction.
   */
  private async placementFor(ctx: SessionContext, memberId: string, reason: string, now: number, minted?: MintedGrants): Promise<Placement> {
    const m = ctx.members[memberId];
    const location = m.location;
    const own: MintedGrants = minted ?? { grants: new Map(), statements: [] };
    let placement: Placement;
    if (location === null) {
      this.grants.delete(memberId);
      own.grants.set(memberId, null);
      placement = { location: null, roomName: null, media: null, reason };
    } else {
      const grant = await this.media!.grant(memberId, mediaRoomName(ctx.sessionId, location), now);
      this.grants.set(memberId, grant);
      own.grants.set(memberId, grant);
      if (grant.token) {
        // Every access token minted is an analytics event; its D1 row rides the outbox like everything else.
        const fields = {
          sessionId: ctx.sessionId,
          memberId,
          role: m.role,
          provider: grant.provider,
          location,
          ttlSeconds: grant.expiresAt ? Math.round((grant.expiresAt - now) / 1000) : null,
        };
        void recordWorkerEvent(this.env, "token_issued", { ...fields, persist: false }, now);
        own.statements.push(workerEventStatement("token_issued", fields, `${ctx.sessionId}:t:${memberId}:${now}:${location}`, now));
      }
      placement = { location, roomName: location === MAIN_ROOM ? "Main room" : (ctx.rooms[location]?.name ?? null), media: grant, reason };
    }
    if (!minted) {
      this.ctx.storage.transactionSync(() => {
        this.writeGrants(own.grants);
        this.enqueue(own.statements);
      });
      if (own.statements.length) this.scheduleFlush();
    }
    return placement;
  }

  /** Whether state_parts holds every stored part as of the last stored event (false: an inline snapshot was loaded). */
  private partsStored = true;

  /** The state after an event: the snapshot without its stored parts, and the entries that changed (structural sharing). */
  private persistState(prev: SessionContext, next: SessionContext) {
    const engine = this.engine!;
    this.kvSet("snapshot", JSON.stringify({ ...(engine.persistedWithout(STORED_PARTS) as object), partsInTable: STORED_PARTS }));
    for (const part of STORED_PARTS) {
      const before: Record<string, unknown> = prev[part];
      const after: Record<string, unknown> = next[part];
      if (this.partsStored && before === after) continue;
      for (const [id, value] of Object.entries(after)) {
        if (this.partsStored && before[id] === value) continue;
        this.sql.exec(
          `INSERT INTO state_parts (part, id, value) VALUES (?, ?, ?) ON CONFLICT(part, id) DO UPDATE SET value = excluded.value`,
          part,
          id,
          JSON.stringify(value),
        );
      }
      for (const id of Object.keys(before)) if (!(id in after)) this.sql.exec(`DELETE FROM state_parts WHERE part = ? AND id = ?`, part, id);
    }
    this.partsStored = true;
  }

  /** Held grants as storage keeps them (null: the member holds none). */
  private writeGrants(grants: Map<string, MediaGrant | null>) {
    for (const [memberId, grant] of grants) {
      if (grant === null) this.sql.exec(`DELETE FROM grants WHERE member = ?`, memberId);
      else
        this.sql.exec(
          `INSERT INTO grants (member, grant) VALUES (?, ?) ON CONFLICT(member) DO UPDATE SET grant = excluded.grant`,
          memberId,
          JSON.stringify(grant),
        );
    }
  }

  private rememberCommand(memberId: string, commandId: string, outcome: CommandOutcome) {
    this.commandKeys?.add(`${memberId}:${commandId}`);
    this.sql.exec(`INSERT OR REPLACE INTO commands (id, response, at) VALUES (?, ?, ?)`, `${memberId}:${commandId}`, JSON.stringify(outcome), this.now());
  }

  /** Keys of remembered commands, read once per instance; the table stays the durable record. */
  private commandKeys: Set<string> | null = null;

  private recalledCommand(memberId: string, commandId: string): CommandOutcome | null {
    this.commandKeys ??= new Set(
      this.sql
        .exec<{ id: string }>(`SELECT id FROM commands`)
        .toArray()
        .map((r) => r.id),
    );
    if (!this.commandKeys.has(`${memberId}:${commandId}`)) return null;
    const row = this.sql.exec<{ response: string }>(`SELECT response FROM commands WHERE id = ?`, `${memberId}:${commandId}`).toArray()[0];
    if (!row) return null;
    const outcome = JSON.parse(row.response) as CommandOutcome;
    return outcome.ok ? { ...outcome, duplicate: true } : outcome;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Delivery
  // ------------------------------------------------------------------------------------------------------------

  private socketsFor(audience: string[]): Set<WebSocket> {
    const out = new Set<WebSocket>();
    for (const a of audience) {
      const list = a === "*" ? this.ctx.getWebSockets() : this.ctx.getWebSockets(a);
      for (const ws of list) out.add(ws);
    }
    return out;
  }

  /** Sends every frame of one event: one socket listing, grouped by member, instead of a tag lookup per frame. */
  private deliverAll(encoded: { audience: string[]; text: string }[]) {
    if (!encoded.length) return;
    const all = this.ctx.getWebSockets();
    const byMember = new Map<string, WebSocket[]>();
    const staffSockets: WebSocket[] = [];
    for (const ws of all) {
      const a = this.attachment(ws);
      if (!a) continue;
      const list = byMember.get(a.memberId);
      if (list) list.push(ws);
      else byMember.set(a.memberId, [ws]);
      if (a.role !== "participant") staffSockets.push(ws);
    }
    for (const f of encoded) {
      const targets = new Set<WebSocket>();
      for (const a of f.audience) {
        const list = a === "*" ? all : a === "staff" ? staffSockets : a.startsWith("m:") ? (byMember.get(a.slice(2)) ?? []) : this.ctx.getWebSockets(a);
        for (const ws of list) targets.add(ws);
      }
      for (const ws of targets) {
        try {
          ws.send(f.text);
        } catch {
          // A socket that is closing will resume from its last seq when it reconnects.
        }
      }
    }
  }

  private deliver(audience: string[], text: string) {
    for (const ws of this.socketsFor(audience)) {
      try {
        ws.send(text);
      } catch {
        // A socket that is closing will resume from its last seq when it reconnects.
      }
    }
  }

  /**
   * A member who left or was removed loses their sockets, after hearing where they stand and after the answer to
   * the command that removed them (a macrotask: it runs after the ack, which is sent in the same microtask chain).
   */
  private closeDeparted(prev: SessionContext, next: SessionContext) {
    if (prev.members === next.members) return;
    const closing: [WebSocket, number, string][] = [];
    for (const m of Object.values(next.members)) {
      const before = prev.members[m.id];
      if (!before || before.status === m.status || (m.status !== "left" && m.status !== "denied")) continue;
      const [code, reason] =
        m.status === "denied" ? [4003, "removed from the session"] : next.endedAt !== null ? [4001, "the session has ended"] : [4000, "left the session"];
      for (const ws of this.ctx.getWebSockets(`m:${m.id}`)) closing.push([ws, code, reason]);
    }
    if (!closing.length) return;
    setTimeout(() => {
      for (const [ws, code, reason] of closing) {
        try {
          ws.close(code, reason);
        } catch {
          /* already closed */
        }
      }
    }, 0);
  }

  private send(ws: WebSocket, msg: ServerMessage) {
    try {
      ws.send(JSON.stringify(msg));
    } catch {
      /* closing */
    }
  }

  private sendError(ws: WebSocket, commandId: string | null, code: ErrorCode, message: string, details?: unknown) {
    this.send(ws, { type: "error", commandId, error: { code, message, ...(details === undefined ? {} : { details }) } });
  }

  /** What a (re)connecting client needs: missed frames when the log still has them, else a snapshot. */
  private async resume(ws: WebSocket, memberId: string, lastSeq: number | null) {
    const engine = this.requireEngine();
    const staff = isStaff(engine.context.members[memberId].role);
    const oldest = this.sql.exec<{ s: number | null }>(`SELECT MIN(seq) AS s FROM log`).toArray()[0]?.s ?? this.seq + 1;
    // lastSeq 0 is a first connect: it gets a snapshot, not the whole history.
    if (lastSeq !== null && lastSeq > 0 && lastSeq <= this.seq && lastSeq >= oldest - 1) {
      const mine = new Set(["*", `m:${memberId}`, ...(staff ? ["staff"] : [])]);
      for (const row of this.sql.exec<{ audience: string; frame: string }>(`SELECT audience, frame FROM log WHERE seq > ? ORDER BY seq`, lastSeq)) {
        if (row.audience.split(" ").some((a) => mine.has(a))) ws.send(row.frame);
      }
      if (!staff) this.send(ws, { type: "view", seq: this.seq, view: participantView(engine.context, engine.phase, memberId) });
    } else {
      this.send(ws, this.snapshotFor(memberId));
    }
    const grant = this.grants.get(memberId);
    const m = engine.context.members[memberId];
    if (m.location !== null) {
      const fresh =
        grant &&
        grant.room === mediaRoomName(engine.context.sessionId, m.location) &&
        (grant.expiresAt === null || grant.expiresAt - TOKEN_REFRESH_LEAD_MS > this.now());
      const placement: Placement = fresh
        ? {
            location: m.location,
            roomName: m.location === MAIN_ROOM ? "Main room" : (engine.context.rooms[m.location]?.name ?? null),
            media: grant!,
            reason: "snapshot",
          }
        : await this.placementFor(engine.context, memberId, "snapshot", this.now());
      this.send(ws, { type: "placement", seq: this.seq, placement });
    }
  }

  private snapshotFor(memberId: string): ServerMessage {
    const engine = this.requireEngine();
    const ctx = engine.context;
    return isStaff(ctx.members[memberId].role)
      ? { type: "snapshot", seq: this.seq, staff: staffState(ctx, engine.phase) }
      : { type: "snapshot", seq: this.seq, view: participantView(ctx, engine.phase, memberId) };
  }

  // ------------------------------------------------------------------------------------------------------------
  // D1 outbox: rows are written in the same storage transaction as the state, and flushed in batches.
  // ------------------------------------------------------------------------------------------------------------

  private enqueue(statements: Statement[]) {
    // One row per event (a JSON array of its statements), not one INSERT per statement.
    if (statements.length) this.sql.exec(`INSERT INTO outbox (stmt) VALUES (?)`, JSON.stringify(statements.length === 1 ? statements[0] : statements));
  }

  /** An outbox row holds one statement (older rows, single-statement events) or an event's array of them. */
  private rowStatements(stmt: string): Statement[] {
    const parsed = JSON.parse(stmt) as Statement | Statement[];
    return Array.isArray(parsed) ? parsed : [parsed];
  }

  /**
   * Flush soon, not now: the rows are already durable in this object's storage, and a short wait lets the event's
   * frames reach the sockets before the D1 batch is built, and lets the events of a busy moment share one batch.
   */
  private scheduleFlush() {
    if (this.outboxRetryAt !== null && this.now() < this.outboxRetryAt) return; // backing off; the alarm retries
    if (this.flushTimer !== null || this.flushing) return; // a flush is due or running; its loop takes new rows too
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.ctx.waitUntil(this.flushOutbox());
    }, OUTBOX_FLUSH_DELAY_MS);
  }
  private flushTimer: ReturnType<typeof setTimeout> | null = null;

  /** Flush everything pending; concurrent callers share one flush loop. */
  flushOutbox(): Promise<void> {
    if (this.flushing) return this.flushing;
    const run = (async () => {
      for (;;) {
        const rows = this.sql.exec<{ id: number; stmt: string }>(`SELECT id, stmt FROM outbox ORDER BY id LIMIT ?`, OUTBOX_BATCH).toArray();
        if (!rows.length) break;
        try {
          const stmts = rows.flatMap((r) => this.rowStatements(r.stmt).map((s) => this.env.DB.prepare(s.sql).bind(...s.params)));
          try {
            await this.env.DB.batch(stmts);
          } catch (err) {
            // A constraint violation can never succeed on retry: find the offending rows one by one, set them aside
            // (kept in the DO, logged) and write the rest. Anything else (D1 down, a time-out) retries the batch whole.
            if (!/constraint/i.test(String(err))) throw err;
            await this.writeOneByOne(rows);
          }
        } catch (err) {
          this.outboxFailures++;
          const backoff = Math.min(OUTBOX_MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.outboxFailures, 10));
          this.outboxRetryAt = this.now() + backoff;
          log("warn", "d1 outbox flush failed", { session: this.engine?.context.sessionId, pending: rows.length, attempt: this.outboxFailures, error: err });
          await this.scheduleAlarm();
          return;
        }
        this.sql.exec(`DELETE FROM outbox WHERE id <= ?`, rows[rows.length - 1].id);
        this.outboxFailures = 0;
        this.outboxRetryAt = null;
        this.outboxCheckAt = null;
      }
    })();
    // Cleared after assignment: the loop may finish synchronously when the outbox is empty.
    const tracked = run.finally(() => {
      if (this.flushing !== tracked) return;
      this.flushing = null;
      // Rows enqueued while the loop was finishing would otherwise wait for the alarm.
      if (this.outboxRetryAt === null && this.outboxPending()) this.scheduleFlush();
    });
    this.flushing = tracked;
    return tracked;
  }

  private async writeOneByOne(rows: { id: number; stmt: string }[]) {
    for (const r of rows)
      for (const st of this.rowStatements(r.stmt)) {
        try {
          await this.env.DB.prepare(st.sql)
            .bind(...st.params)
            .run();
        } catch (err) {
          if (!/constraint/i.test(String(err))) throw err;
          this.sql.exec(`INSERT INTO outbox_dead (stmt, error, at) VALUES (?, ?, ?)`, JSON.stringify(st), String(err).slice(0, 500), this.now());
          log("error", "d1 row refused permanently; set aside", { session: this.engine?.context.sessionId, error: err });
        }
      }
  }

  outboxSize(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM outbox`).toArray()[0].n;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Alarm: one alarm for every deadline (round timers, countdowns, empty rooms, session end), outbox retries and
  // token refreshes.
  // ------------------------------------------------------------------------------------------------------------

  private nextAlarmTime(): number | null {
    if (!this.engine) return null;
    const times: number[] = [];
    const d = nextDeadline(this.engine.context, this.engine.phase);
    if (d !== null) times.push(d);
    if (this.outboxRetryAt !== null) times.push(this.outboxRetryAt);
    // On a 5 s grid: busy sessions empty and refill the outbox on every event, and a check time derived from "now"
    // would rewrite the alarm (a storage write) each time.
    else if (this.outboxPending()) times.push((this.outboxCheckAt ??= Math.ceil((this.now() + 1000) / OUTBOX_CHECK_GRID_MS) * OUTBOX_CHECK_GRID_MS));
    // Presence is in the context (connection events keep it true to the sockets): no socket scan per grant.
    const members = this.engine.context.members;
    for (const [memberId, g] of this.grants) {
      if (g.expiresAt !== null && members[memberId]?.connected) times.push(g.expiresAt - TOKEN_REFRESH_LEAD_MS);
    }
    for (const t of this.mediaRetryAt.values()) times.push(t);
    if (this.sweepAt !== null) times.push(this.sweepAt);
    return times.length ? Math.min(...times) : null;
  }

  /** The alarm as this instance last read or set it (undefined: not read yet since construction). */
  private alarmAt: number | null | undefined = undefined;
  /** A pending outbox is retried at this time, kept stable so the alarm is not rewritten on every event. */
  private outboxCheckAt: number | null = null;

  private outboxPending(): boolean {
    return this.sql.exec<{ n: number }>(`SELECT EXISTS (SELECT 1 FROM outbox) AS n`).toArray()[0].n === 1;
  }

  private async scheduleAlarm() {
    const t = this.nextAlarmTime();
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (t === null) {
      if (this.alarmAt !== null) await this.ctx.storage.deleteAlarm();
      this.alarmAt = null;
      return;
    }
    // Deadlines are on the session clock; the alarm is on the wall clock.
    const wall = Math.max(t - this.clockOffset, Date.now());
    if (this.alarmAt !== wall) {
      await this.ctx.storage.setAlarm(wall);
      this.alarmAt = wall;
    }
  }

  async alarm() {
    this.alarmAt = null; // it fired: nothing is scheduled until scheduleAlarm sets it again
    this.outboxCheckAt = null;
    await this.serial(async () => {
      if (!this.engine) return;
      const now = this.now();
      const d = nextDeadline(this.engine.context, this.engine.phase);
      if (d !== null && d <= now) await this.apply({ type: "tick", now }, SYSTEM);
      await this.refreshDueGrants(now);
    });
    if (this.outboxRetryAt !== null && this.now() >= this.outboxRetryAt) {
      this.outboxRetryAt = null;
      await this.flushOutbox();
    } else if (this.outboxSize() > 0) await this.flushOutbox();
    if (this.twilio) {
      const now = this.now();
      for (const [key, t] of this.mediaRetryAt) if (t <= now) this.mediaRetryAt.delete(key);
      await this.reconcileMedia();
      if (this.sweepAt !== null && this.sweepAt <= now) await this.sweepProviderRooms();
    }
    await this.scheduleAlarm();
  }

  /** Push a fresh token to connected members whose token expires within the lead time. */
  private async refreshDueGrants(now: number) {
    const engine = this.engine!;
    for (const [memberId, g] of [...this.grants]) {
      if (g.expiresAt === null || g.expiresAt - TOKEN_REFRESH_LEAD_MS > now) continue;
      if (!this.ctx.getWebSockets(`m:${memberId}`).length) continue;
      const placement = await this.placementFor(engine.context, memberId, "refresh", now);
      this.deliverUnsequenced(memberId, { type: "placement", seq: this.seq, placement });
    }
  }

  private deliverUnsequenced(memberId: string, msg: ServerMessage) {
    const text = JSON.stringify(msg);
    for (const ws of this.ctx.getWebSockets(`m:${memberId}`)) {
      try {
        ws.send(text);
      } catch {
        /* closing */
      }
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Provider media rooms (Twilio mode): reconcile what the session needs with what exists, outside the event
  // queue so slow REST calls never hold up commands; results come back as `mediaUpdated` events.
  // ------------------------------------------------------------------------------------------------------------

  private setupProvider() {
    const ctx = this.engine!.context;
    this.media = mediaAuthority(this.env, ctx.mediaProvider);
    if (ctx.mediaProvider === "twilio" && !this.twilio) {
      this.twilio = new TwilioVideoClient({
        apiKeySid: this.env.TWILIO_API_KEY_SID!,
        apiKeySecret: this.env.TWILIO_API_KEY_SECRET!,
        baseUrl: this.env.TWILIO_API_BASE,
        timeoutMs: Number(this.env.TWILIO_TIMEOUT_MS) || 10_000,
      });
      // A sweep soon after (re)start finds rooms left behind by a crash between create and record.
      this.sweepAt = this.now() + 5_000;
    }
  }

  private statusCallbackUrl(): string | undefined {
    const base = this.env.PUBLIC_BASE_URL;
    return base ? `${base.replace(/\/$/, "")}/api/twilio/status-callback/${this.engine!.context.sessionId}` : undefined;
  }

  /** Bring provider rooms in line with the session; single-flight, re-run when asked again meanwhile. */
  reconcileMedia(): Promise<void> {
    if (!this.twilio) return Promise.resolve();
    if (this.reconciling) {
      this.reconcileAgain = true;
      return this.reconciling;
    }
    const run = (async () => {
      do {
        this.reconcileAgain = false;
        const engine = this.engine;
        if (!engine) return;
        const now = this.now();
        const plan = mediaPlan(engine.context, engine.phase, (key) => (this.mediaRetryAt.get(key) ?? 0) > now);
        await Promise.all([...plan.create.map((c) => this.createMediaRoom(c)), ...plan.complete.map((c) => this.completeMediaRoom(c))]);
      } while (this.reconcileAgain);
    })();
    const tracked = run.finally(() => {
      if (this.reconciling === tracked) this.reconciling = null;
    });
    this.reconciling = tracked;
    return tracked;
  }

  private async createMediaRoom(c: { key: string; name: string; maxParticipants: number }) {
    const current = this.engine!.context.media[c.key];
    // A retry after a failure stays "failed" (one mediaError notice per failure streak, not one per attempt).
    if (!current || current.status === "none" || current.status === "completed") await this.mediaUpdated(media(c.key, c.name, "pending", null));
    try {
      const room = await this.twilio!.createRoom({
        uniqueName: c.name,
        type: "group",
        maxParticipants: c.maxParticipants,
        statusCallback: this.statusCallbackUrl(),
        emptyRoomTimeout: 5,
        unusedRoomTimeout: 10,
      });
      this.mediaRetryAt.delete(c.key);
      this.mediaFailures = 0;
      await this.mediaUpdated(media(c.key, c.name, "ready", room.sid));
    } catch (err) {
      this.mediaFailures++;
      this.mediaRetryAt.set(c.key, this.now() + Math.min(60_000, 2_000 * 2 ** Math.min(this.mediaFailures, 5)));
      const message = err instanceof Error ? err.message : String(err);
      log("warn", "twilio room create failed", { session: this.engine?.context.sessionId, key: c.key, error: message });
      await this.mediaUpdated(media(c.key, c.name, "failed", null, `Twilio could not create the room: ${message}`));
      await this.serial(() => this.scheduleAlarm());
    }
  }

  private async completeMediaRoom(c: { key: string; name: string; sid: string | null }) {
    try {
      await this.twilio!.completeRoom(c.sid ?? c.name);
      await this.mediaUpdated(media(c.key, c.name, "completed", c.sid));
    } catch (err) {
      // Left as it is: the next reconciliation (alarm) completes it; the sweep catches anything else.
      log("warn", "twilio room complete failed", { session: this.engine?.context.sessionId, key: c.key, error: err });
      this.sweepAt = Math.min(this.sweepAt ?? Infinity, this.now() + 10_000);
      await this.serial(() => this.scheduleAlarm());
    }
  }

  /** Members the engine removed (denied, left, session ended) are disconnected from the room they were in. */
  private async disconnectRemoved(prev: SessionContext, next: SessionContext) {
    for (const m of Object.values(next.members)) {
      const before = prev.members[m.id];
      if (!before || before.location === null || m.location !== null) continue;
      const room = next.media[before.location];
      if (!room || room.status === "completed") continue;
      try {
        await this.twilio!.disconnectParticipant(room.sid ?? room.name, m.id);
      } catch (err) {
        log("warn", "twilio disconnect failed", { session: next.sessionId, member: m.id, error: err });
      }
    }
  }

  /**
   * List the provider's in-progress rooms and complete every one of this session's that the engine does not
   * want, so no billed room is orphaned. Runs every 5 minutes while the session lives and until all are closed.
   */
  async sweepProviderRooms(): Promise<{ completed: string[] }> {
    const engine = this.engine;
    if (!engine || !this.twilio) return { completed: [] };
    const sessionId = engine.context.sessionId;
    const completed: string[] = [];
    try {
      const rooms = await this.twilio.listRooms({ status: "in-progress", pageSize: 100 });
      const desired = desiredMediaKeys(engine.context, engine.phase);
      for (const room of rooms) {
        const key = keyOfMediaRoom(sessionId, room.uniqueName);
        if (key === null || desired.has(key)) continue;
        await this.twilio.completeRoom(room.sid);
        completed.push(room.uniqueName);
        const known = engine.context.media[key];
        if (known && known.status !== "completed") await this.mediaUpdated(media(key, room.uniqueName, "completed", room.sid));
      }
      const ended = engine.phase === "ended";
      const open = Object.values(engine.context.media).some((m) => m.status !== "completed" && m.status !== "none");
      this.sweepAt = ended && !open && completed.length === 0 ? null : this.now() + (ended ? 30_000 : 5 * 60_000);
    } catch (err) {
      log("warn", "twilio sweep failed", { session: sessionId, error: err });
      this.sweepAt = this.now() + 30_000;
    }
    await this.serial(() => this.scheduleAlarm());
    return { completed };
  }

  /**
   * A verified Twilio status callback. Repeats and stale (older Timestamp) events are ignored; arrival counts only
   * when Twilio says the member connected to the room they belong in now.
   */
  async twilioEvent(e: VideoStatusEvent): Promise<{ applied: boolean; verdict: string }> {
    return this.serial(async () => {
      const engine = this.engine;
      if (!engine) return { applied: false, verdict: "unknown-session" };
      const dedupe = new CallbackDeduper(JSON.parse(this.kvGet("callbacks") ?? "{}"));
      const verdict = dedupe.check(e);
      if (verdict !== "apply") return { applied: false, verdict };
      const ctx = engine.context;
      const key = keyOfMediaRoom(ctx.sessionId, e.roomName);
      const memberId = e.participant?.identity;
      if (key !== null) {
        if (e.event === "participant-connected" && memberId && ctx.members[memberId]?.location === key) {
          await this.apply({ type: "arrival", memberId, mediaRoom: e.roomName, now: this.now() }, SYSTEM);
        } else if (e.event === "participant-disconnected" && memberId && ctx.members[memberId]?.arrivedIn === e.roomName) {
          await this.apply({ type: "arrival", memberId, mediaRoom: null, now: this.now() }, SYSTEM);
        } else if (e.event === "room-ended") {
          const known = ctx.media[key];
          if (known && known.status !== "completed" && (known.sid === null || known.sid === e.roomSid))
            await this.apply({ type: "mediaUpdated", media: media(key, e.roomName, "completed", e.roomSid), now: this.now() }, SYSTEM);
        } else if (e.event === "room-created") {
          const known = ctx.media[key];
          if (known && known.status === "pending")
            await this.apply({ type: "mediaUpdated", media: media(key, e.roomName, "ready", e.roomSid), now: this.now() }, SYSTEM);
        }
      }
      dedupe.commit(e);
      if (e.event === "room-ended") dedupe.forgetRoom(e.roomSid);
      this.kvSet("callbacks", JSON.stringify(dedupe.snapshot()));
      if (e.event === "room-ended") this.ctx.waitUntil(this.reconcileMedia());
      return { applied: true, verdict };
    });
  }

  // ------------------------------------------------------------------------------------------------------------
  // RPC surface for the Worker (it has authenticated the caller; the DO authorises by the member's role).
  // ------------------------------------------------------------------------------------------------------------

  async initialize(input: InitInput): Promise<RpcResult<{ memberId: string }>> {
    return refusable(() =>
      this.serial(async () => {
        if (this.engine) throw new SessionError("INVALID_STATE", "session already exists");
        const now = this.now();
        this.engine = SessionEngine.create({
          sessionId: input.sessionId,
          title: input.title,
          createdAt: now,
          createdBy: input.createdBy,
          settings: input.settings,
          seed: input.seed,
          mediaProvider: input.mediaProvider,
        });
        this.setupProvider();
        await this.apply({ type: "memberJoined", identity: input.createdBy, name: input.facilitatorName, role: "facilitator", now }, SYSTEM);
        return { memberId: this.memberIdOf(input.createdBy)! };
      }),
    );
  }

  async join(input: { identity: string; name: string; role: Role }): Promise<RpcResult<{ memberId: string; status: string; role: Role }>> {
    return refusable(() =>
      this.serial(async () => {
        const engine = this.requireEngine();
        if (engine.phase === "ended") throw new SessionError("SESSION_ENDED", "the session has ended");
        const existing = this.memberIdOf(input.identity);
        if (existing && engine.context.members[existing].status === "denied") throw new SessionError("FORBIDDEN", "you were not admitted to this session");
        await this.apply({ type: "memberJoined", identity: input.identity, name: input.name, role: input.role, now: this.now() }, SYSTEM);
        const memberId = this.memberIdOf(input.identity)!;
        const m = engine.context.members[memberId];
        return { memberId, status: m.status, role: m.role };
      }),
    );
  }

  async command(memberId: string, commandId: string, command: Command): Promise<CommandOutcome> {
    return this.serial(async () => {
      const engine = this.requireEngine();
      const recalled = this.recalledCommand(memberId, commandId);
      if (recalled) return recalled;
      const m = engine.context.members[memberId];
      if (!m) return { ok: false, commandId, error: { code: "UNAUTHENTICATED", message: "you are not a member of this session" } };
      const event = { ...command, actor: { memberId, role: m.role }, now: this.now() } as CommandEvent;
      return this.apply(event, event.actor, commandId);
    });
  }

  async state(memberId: string): Promise<RpcResult<ServerMessage>> {
    return refusable(() =>
      this.serial(async () => {
        const engine = this.requireEngine();
        if (!engine.context.members[memberId]) throw new SessionError("UNAUTHENTICATED", "you are not a member of this session");
        return this.snapshotFor(memberId);
      }),
    );
  }

  /** The member's grant for where they are now (the HTTP token endpoint). */
  async mediaGrant(memberId: string): Promise<RpcResult<Placement>> {
    return refusable(() =>
      this.serial(async () => {
        const engine = this.requireEngine();
        const m = engine.context.members[memberId];
        if (!m) throw new SessionError("UNAUTHENTICATED", "you are not a member of this session");
        this.countTokenRequest(memberId);
        if (m.status !== "admitted" || m.location === null) throw new SessionError("NOT_ADMITTED", `you are ${m.status}; no media room yet`);
        // A held grant for the same room with more than half an hour left is handed out again: no signing, no writes.
        const held = this.grants.get(memberId);
        const now = this.now();
        if (held && held.room === mediaRoomName(engine.context.sessionId, m.location) && (held.expiresAt === null || held.expiresAt - now > GRANT_REUSE_MIN_MS))
          return {
            location: m.location,
            roomName: m.location === MAIN_ROOM ? "Main room" : (engine.context.rooms[m.location]?.name ?? null),
            media: held,
            reason: "requested",
          };
        return this.placementFor(engine.context, memberId, "requested", now);
      }),
    );
  }

  /** Counts one media-token request of a member; over the limit (mediaTokenLimit) in this window it is refused. */
  private countTokenRequest(memberId: string) {
    const window = Math.floor(Date.now() / MEDIA_TOKEN_LIMIT.windowMs);
    const seen = this.tokenRequests.get(memberId);
    const count = seen?.window === window ? seen.count + 1 : 1;
    this.tokenRequests.set(memberId, { window, count });
    if (count > mediaTokenLimit(this.env)) throw new SessionError("RATE_LIMITED", "too many media-token requests; try again later");
  }

  /** The member's role as the session knows it (the Worker checks tickets against it). */
  async memberInfo(memberId: string): Promise<{ role: Role; status: string; name: string; ended: boolean } | null> {
    const m = this.engine?.context.members[memberId];
    return m ? { role: m.role, status: m.status, name: m.name, ended: this.engine!.phase === "ended" } : null;
  }

  /** A media-room change reported by the provider (Twilio REST/callbacks) or the engine's own reconciler. */
  async mediaUpdated(media: MediaRoomPublic): Promise<void> {
    await this.serial(() => this.apply({ type: "mediaUpdated", media, now: this.now() }, SYSTEM));
  }

  /** A member's media arrival as the provider reports it. Ignored when it names a room they no longer belong in. */
  async arrival(memberId: string, mediaRoom: string | null, at = this.now()): Promise<void> {
    await this.serial(async () => {
      const engine = this.engine;
      const m = engine?.context.members[memberId];
      if (!engine || !m || m.location === null) return;
      const expected = mediaRoomName(engine.context.sessionId, m.location);
      if (mediaRoom !== null && mediaRoom !== expected) return;
      if (mediaRoom === null && m.arrivedIn === null) return;
      await this.apply({ type: "arrival", memberId, mediaRoom, now: at }, SYSTEM);
    });
  }

  /** Identity of the session's creator (the facilitator who may rejoin without an invite), or null: no session. */
  async creator(): Promise<string | null> {
    return this.engine?.context.createdBy ?? null;
  }

  /** The session clock (wall clock, plus the development-only offset): reports measure time with it. */
  async clock(): Promise<number> {
    return this.now();
  }

  /** Development only: move the session clock forward (tests drive timers without waiting). */
  async advanceClock(ms: number): Promise<number> {
    if (this.env.APP_ENV !== "development") throw new SessionError("FORBIDDEN", "the clock can only be moved in development");
    return this.serial(async () => {
      this.clockOffset += ms;
      this.kvSet("clockOffset", String(this.clockOffset));
      await this.scheduleAlarm();
      return this.now();
    });
  }

  /** Test and operator helper: the engine's whole state and bookkeeping. */
  async debugState() {
    const engine = this.engine;
    return {
      context: engine?.context ?? null,
      phase: engine?.phase ?? null,
      seq: this.seq,
      eventNo: this.eventNo,
      outbox: this.outboxSize(),
      alarm: await this.ctx.storage.getAlarm(),
    };
  }

  private memberIdOf(identity: string): string | null {
    const ctx = this.engine?.context;
    if (!ctx) return null;
    for (const m of Object.values(ctx.members)) if (m.identity === identity) return m.id;
    return null;
  }

  // ------------------------------------------------------------------------------------------------------------
  // WebSockets (hibernation API)
  // ------------------------------------------------------------------------------------------------------------

  async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade") !== "websocket") return json({ error: { code: "INVALID_MESSAGE", message: "expected a WebSocket upgrade" } }, 426);
    const memberId = request.headers.get("x-mb-member");
    if (!memberId) return json({ error: { code: "UNAUTHENTICATED", message: "no member" } }, 401);
    const lastSeqRaw = new URL(request.url).searchParams.get("lastSeq");
    const lastSeq = lastSeqRaw !== null && /^\d+$/.test(lastSeqRaw) ? Number(lastSeqRaw) : null;

    return this.serial(async () => {
      const engine = this.engine;
      if (!engine) return json({ error: { code: "NOT_FOUND", message: "no such session" } }, 404);
      const m = engine.context.members[memberId];
      if (!m) return json({ error: { code: "UNAUTHENTICATED", message: "you are not a member of this session" } }, 401);
      if (m.status === "denied") return json({ error: { code: "FORBIDDEN", message: "you were not admitted to this session" } }, 403);
      if (m.status === "left" && engine.phase !== "ended")
        return json({ error: { code: "NOT_ADMITTED", message: "you left this session; join again with the invite link" } }, 409);
      const pair = new WebSocketPair();
      const [client, server] = [pair[0], pair[1]];
      const tags = [`m:${memberId}`, isStaff(m.role) ? "staff" : "participants"];
      this.ctx.acceptWebSocket(server, tags);
      const budget = new MessageBudget(budgetFor(this.env, m.role));
      server.serializeAttachment({ memberId, role: m.role, budget: budget.toJSON() } satisfies SocketAttachment);
      this.budgets.set(server, budget);
      this.send(server, {
        type: "hello",
        protocol: PROTOCOL_VERSION,
        sessionId: engine.context.sessionId,
        you: { memberId, role: m.role, name: m.name },
        serverTime: this.now(),
      });
      await this.resume(server, memberId, lastSeq);
      if (!m.connected && engine.phase !== "ended") await this.apply({ type: "connection", memberId, connected: true, now: this.now() }, SYSTEM);
      return new Response(null, { status: 101, webSocket: client });
    });
  }

  /** Attachments read once per socket per instance (deserializeAttachment is a structured-clone read each time). */
  private readonly attachments = new WeakMap<WebSocket, SocketAttachment>();
  private attachment(ws: WebSocket): SocketAttachment {
    let a = this.attachments.get(ws);
    if (!a) {
      a = ws.deserializeAttachment() as SocketAttachment;
      if (a) this.attachments.set(ws, a);
    }
    return a;
  }

  private budgetOf(ws: WebSocket, att: SocketAttachment): MessageBudget {
    let b = this.budgets.get(ws);
    if (!b) {
      b = MessageBudget.fromJSON(att.budget, budgetFor(this.env, att.role));
      this.budgets.set(ws, b);
    }
    return b;
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    // Frames still in flight from a socket that was cut off (flooding) or is closing are dropped, never applied.
    if (this.cutOff.has(ws) || ws.readyState !== WebSocket.OPEN) return;
    const att = this.attachment(ws);
    if (!this.budgetOf(ws, att).take(this.now())) {
      // Flooding: nothing past the budget is applied; the socket is closed with a policy-violation code.
      this.cutOff.add(ws);
      this.sendError(ws, null, "RATE_LIMITED", "too many messages; this connection is closed");
      ws.close(1008, "message budget exceeded");
      return;
    }
    // Characters can be up to 3 bytes in UTF-8: count bytes only when the length alone cannot decide.
    const size =
      typeof message === "string" ? (message.length * 3 <= MAX_MESSAGE_BYTES ? message.length : new TextEncoder().encode(message).length) : message.byteLength;
    if (size > MAX_MESSAGE_BYTES) return this.sendError(ws, null, "MESSAGE_TOO_LARGE", `messages are limited to ${MAX_MESSAGE_BYTES} bytes`);
    if (typeof message !== "string") return this.sendError(ws, null, "INVALID_MESSAGE", "send JSON text frames");
    let raw: unknown;
    try {
      raw = JSON.parse(message);
    } catch {
      return this.sendError(ws, null, "BAD_JSON", "the message is not valid JSON");
    }
    const parsed = ClientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const commandId =
        typeof (raw as { commandId?: unknown })?.commandId === "string" ? ((raw as { commandId: string }).commandId as string).slice(0, 64) : null;
      const { message: text, issues } = describeZodError(parsed.error);
      return this.sendError(ws, commandId, "INVALID_MESSAGE", text, issues);
    }
    const msg = parsed.data;
    switch (msg.type) {
      case "command": {
        let outcome: CommandOutcome;
        try {
          outcome = await this.command(att.memberId, msg.commandId, msg.command);
        } catch (err) {
          const e = toErrorPayload(err);
          return this.sendError(ws, msg.commandId, e.code, e.message);
        }
        if (outcome.ok) this.send(ws, { type: "ack", commandId: msg.commandId, seq: outcome.seq, duplicate: outcome.duplicate });
        else this.send(ws, { type: "error", commandId: msg.commandId, error: outcome.error });
        return;
      }
      case "resume":
        return this.serial(() => this.resume(ws, att.memberId, msg.lastSeq));
      case "ping":
        return this.send(ws, { type: "pong", t: msg.t ?? null, serverTime: this.now() });
      case "signal":
        return this.relaySignal(ws, att.memberId, msg.to, msg.data);
      case "quality":
        return this.serial(async () => {
          const m = this.engine?.context.members[att.memberId];
          if (m && m.status === "admitted" && m.quality !== msg.level)
            await this.apply({ type: "quality", memberId: att.memberId, level: msg.level, now: this.now() }, SYSTEM);
        });
      case "arrived":
        // Twilio mode trusts only Twilio's signed callbacks for arrival.
        if (this.engine?.context.mediaProvider !== "local") return;
        return this.arrival(att.memberId, msg.mediaRoom);
      case "refreshMedia":
        return this.serial(async () => {
          const engine = this.engine;
          const m = engine?.context.members[att.memberId];
          if (!engine || !m || m.location === null) return this.sendError(ws, null, "NOT_ADMITTED", "no media room yet");
          const placement = await this.placementFor(engine.context, att.memberId, "refresh", this.now());
          this.send(ws, { type: "placement", seq: this.seq, placement });
        });
    }
  }

  /** Local media: WebRTC signalling, only between members placed in the same room. */
  private relaySignal(ws: WebSocket, from: string, to: string, data: Record<string, unknown>) {
    const ctx = this.engine?.context;
    const a = ctx?.members[from];
    const b = ctx?.members[to];
    if (ctx?.mediaProvider !== "local") return this.sendError(ws, null, "INVALID_STATE", "signalling is only for local media mode");
    if (!a || !b || a.location === null || a.location !== b.location) return this.sendError(ws, null, "FORBIDDEN", "you can only signal members in your room");
    const text = JSON.stringify({ type: "signal", from, data } satisfies ServerMessage);
    for (const peer of this.ctx.getWebSockets(`m:${to}`)) {
      try {
        peer.send(text);
      } catch {
        /* closing */
      }
    }
  }

  async webSocketClose(ws: WebSocket, code: number, _reason: string, _wasClean: boolean) {
    await this.socketGone(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
    } catch {
      /* already closed */
    }
  }

  async webSocketError(ws: WebSocket) {
    await this.socketGone(ws);
  }

  private async socketGone(ws: WebSocket) {
    this.budgets.delete(ws);
    const att = this.attachment(ws);
    if (!att) return;
    await this.serial(async () => {
      const engine = this.engine;
      if (!engine) return;
      const others = this.ctx.getWebSockets(`m:${att.memberId}`).filter((s) => s !== ws && s.readyState === WebSocket.OPEN);
      const m = engine.context.members[att.memberId];
      if (!others.length && m?.connected) await this.apply({ type: "connection", memberId: att.memberId, connected: false, now: this.now() }, SYSTEM);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** Who hears a notice. Room-scoped notices go to that room's members (as placed before and after) plus staff. */
function noticeAudience(n: Notice, prev: SessionContext, next: SessionContext): string[] {
  const inRoom = (ctx: SessionContext, roomId: string) =>
    Object.values(ctx.members)
      .filter((m) => m.location === roomId)
      .map((m) => `m:${m.id}`);
  switch (n.kind) {
    case "broadcast":
      return n.roomId ? ["staff", ...inRoom(next, n.roomId)] : ["*"];
    case "helpRequested":
    case "joinRequest":
    case "mediaError":
      return ["staff"];
    case "helpResolved":
      return ["staff", `m:${n.memberId}`];
    case "roomClosing":
      return ["staff", ...inRoom(prev, n.roomId)];
    case "roundWarning":
    case "closingCountdown":
    case "sessionEnded":
      return ["*"];
  }
}

function placementReason(event: SessionEvent, from: string | null, to: string | null): string {
  if (event.type === "tick") return to === MAIN_ROOM ? "round-ended" : to === null ? "session-ended" : "timer";
  if (event.type === "closeRoom") return "room-closed";
  if (event.type === "closeAll") return "round-ended";
  if (event.type === "openBreakouts") return "breakouts-opened";
  if (event.type === "admit" || (event.type === "memberJoined" && from === null)) return "admitted";
  if (event.type === "endSession") return "session-ended";
  return event.type === "move" || event.type === "swap" || event.type === "bulkAssign" ? "moved" : event.type;
}

function budgetFor(env: Bindings, role: Role) {
  const spec = role === "participant" ? env.SOCKET_BUDGET_PARTICIPANT : env.SOCKET_BUDGET_STAFF;
  const [c, r] = (spec ?? (role === "participant" ? "30/10" : "600/300")).split("/").map(Number);
  return { capacity: c > 0 ? c : 30, refillPerSecond: r >= 0 ? r : 10 };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}
