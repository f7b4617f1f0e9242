/**
 * One Durable Object per session: a thin shell of transport (hibernatable WebSockets), storage and alarms around the
 * pure engine in ./logic. It composes collaborators that own their state: the store (SQLite state, frame log,
 * commands, grants), the outbox (D1), the socket hub (attachments, caps, budgets), fanout (views sent, delivery,
 * resume), grants (media tokens) and provider rooms (Twilio). Every event runs one at a time through `serial` as
 * compute (pure step, frames, records, signed tokens) → commit (one storage transaction) → install (memory) → effects
 * (send, flush, alarm, reconcile): a failure before the commit changes nothing.
 */
import { DurableObject } from "cloudflare:workers";
import { SessionError, toErrorPayload, type CommandOutcome, type RpcResult } from "../lib/errors";
import {
  agreementHash,
  ClientMessageSchema,
  CLOSE_CODES,
  describeZodError,
  isStaff,
  MAX_MESSAGE_BYTES,
  MEDIA_TOKEN_LIMIT,
  mediaRoomName,
  PING_FRAME,
  PONG_FRAME,
  PROTOCOL_VERSION,
  type Command,
  type JoinNote,
  type ErrorCode,
  type MediaGrant,
  type MediaProvider,
  type Placement,
  type Role,
  type SessionPreview,
  type SequencedMessage,
  type ServerMessage,
  type Settings,
} from "../lib/protocol";
import { recordWorkerEvent, writeAnalytics } from "../lib/runtime/analytics";
import type { Bindings } from "../lib/runtime/env";
import { log } from "../lib/runtime/log";
import { NOT_CURRENT_STAFF, staffStanding, type StaffStanding } from "../lib/staff";
import type { MessageBudgetConfig } from "../lib/runtime/token-bucket";
import { TwilioVideoClient } from "../lib/twilio/rest";
import { orderingScopes, type VideoStatusEvent } from "../lib/twilio/callbacks";
import { Fanout } from "./fanout";
import { Grants, mediaAuthority, type MediaAuthority, type MintedGrants, noGrants } from "./grants";
import { createSession, step } from "./logic/engine";
import { type Frame, frameText, memberAudience, placementOf } from "./logic/frames";
import { framesFor } from "./logic/frames";
import { phaseOf, type SessionSnapshot } from "./logic/machine";
import { memberByIdentity, SYSTEM, type Actor, type CommandEvent, type SessionEvent } from "./logic/model";
import { recordsFor, refusalKey, refusalRecord } from "./logic/records";
import { nextDeadline } from "./logic/updates";
import { chatFor, participantView, staffState } from "./logic/views";
import { Outbox } from "./outbox";
import { CallbackInbox, ProviderRooms } from "./provider-rooms";
import { budgetConfig, connectionBudgetConfig, durableObjectSockets, SocketHub } from "./sockets";
import type { LoggedFrame } from "./store";
import { SessionStore } from "./store";

/** Frames kept for resume; a client further behind gets a snapshot. */
const LOG_KEEP = 2000;
/** Command answers kept for idempotent retries. */
const COMMANDS_KEEP = 5000;

export interface InitInput {
  sessionId: string;
  title: string;
  createdBy: string;
  facilitatorName: string;
  settings?: Partial<Settings>;
  mediaProvider: MediaProvider;
  seed: number;
}

function mediaTokenLimit(env: Bindings): number {
  const n = Number(env.MEDIA_TOKEN_REQUESTS_PER_MINUTE);
  return Number.isInteger(n) && n > 0 ? n : MEDIA_TOKEN_LIMIT.perWindow;
}

/** Refusals travel as values across RPC: a thrown error crossing RPC is logged as uncaught, and a user's mistake is not an incident. */
async function refusable<T>(fn: () => Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof SessionError) return { ok: false, error: toErrorPayload(err) };
    throw err;
  }
}

export class SessionDurableObject extends DurableObject<Bindings> {
  protected readonly store: SessionStore;
  protected readonly outbox: Outbox;
  protected readonly hub: SocketHub;
  protected readonly fanout: Fanout;
  protected grants: Grants | null = null;
  protected provider: ProviderRooms | null = null;
  /** The session as last stored (null: this object holds no session yet). */
  protected snapshot: SessionSnapshot | null = null;
  protected seq = 0;
  protected eventNo = 0;
  private chain: Promise<unknown> = Promise.resolve();
  /** Refusals counted per coalescing key (refusalKey) in the current window. */
  private readonly refusals = new Map<string, number>();
  /** The alarm as this instance last read or set it (undefined: not read yet since construction). */
  private alarmAt: number | null | undefined = undefined;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    // Keepalives are answered by the runtime itself: an idle session with connected clients can hibernate.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
    this.store = new SessionStore(ctx.storage);
    this.outbox = new Outbox(ctx.storage, () => this.env.DB, {
      now: () => this.now(),
      waitUntil: (p) => this.ctx.waitUntil(p),
      log: (level, msg, fields) => log(level, msg, { session: this.snapshot?.context.sessionId, ...fields }),
      rescheduled: () => this.serial(() => this.scheduleAlarm()),
    });
    this.hub = new SocketHub(
      durableObjectSockets(ctx),
      (role) => this.messageBudget(role),
      () => this.connectionBudget(),
    );
    this.fanout = new Fanout(this.hub, this.store);
    ctx.blockConcurrencyWhile(async () => this.load());
  }

  /** The session clock: deadlines, `now` in events and reports. */
  protected now(): number {
    return Date.now();
  }

  /** Wall-clock time of a session-clock time (the alarm is on the wall clock). */
  protected wallClock(sessionTime: number): number {
    return sessionTime;
  }

  /** Each member's message budget (SOCKET_BUDGET_PARTICIPANT / SOCKET_BUDGET_STAFF), shared by their sockets. */
  protected messageBudget(role: Role): MessageBudgetConfig {
    return budgetConfig(role === "participant" ? this.env.SOCKET_BUDGET_PARTICIPANT : this.env.SOCKET_BUDGET_STAFF, role);
  }

  /** Each member's budget of new connections (SOCKET_CONNECT_BUDGET). */
  protected connectionBudget(): MessageBudgetConfig {
    return connectionBudgetConfig(this.env.SOCKET_CONNECT_BUDGET);
  }

  protected mediaAuthorityFor(provider: MediaProvider): MediaAuthority {
    return mediaAuthority(this.env, provider);
  }

  private load() {
    const loaded = this.store.load();
    if (!loaded) return;
    this.snapshot = loaded.snapshot;
    this.seq = loaded.seq;
    this.eventNo = loaded.eventNo;
    const ctx = loaded.snapshot.context;
    this.setUp(ctx.mediaProvider, ctx.sessionId);
    this.grants?.load(this.store.loadGrants());
    // Every view change was sent with the step that made it: the views of the stored state are the last ones sent.
    const phase = phaseOf(loaded.snapshot);
    const views = new Map<string, string>();
    for (const m of Object.values(ctx.members)) if (m.role === "participant") views.set(m.id, JSON.stringify(participantView(ctx, phase, m.id)));
    this.fanout.resetViews(views);
  }

  /** The collaborators that depend on the session's media provider. */
  private setUp(provider: MediaProvider, sessionId: string) {
    this.grants = new Grants(this.mediaAuthorityFor(provider), { perWindow: mediaTokenLimit(this.env), windowMs: MEDIA_TOKEN_LIMIT.windowMs });
    if (provider !== "twilio" || this.provider) return;
    const client = new TwilioVideoClient({
      apiKeySid: this.env.TWILIO_API_KEY_SID ?? "",
      apiKeySecret: this.env.TWILIO_API_KEY_SECRET ?? "",
      baseUrl: this.env.TWILIO_API_BASE,
      timeoutMs: Number(this.env.TWILIO_TIMEOUT_MS) || 10_000,
    });
    const base = this.env.PUBLIC_BASE_URL;
    const callbackUrl = base ? `${base.replace(/\/$/, "")}/api/twilio/status-callback/${sessionId}` : undefined;
    this.provider = new ProviderRooms(client, callbackUrl, {
      now: () => this.now(),
      current: () => (this.snapshot ? { ctx: this.snapshot.context, phase: phaseOf(this.snapshot) } : null),
      apply: (event) => this.serial(() => this.handle(event, SYSTEM)).then(() => undefined),
      rescheduled: () => this.serial(() => this.scheduleAlarm()),
      log: (level, msg, fields) => log(level, msg, fields),
      kv: { get: (k) => this.store.kvGet(k), set: (k, v) => this.store.kvSet(k, v) },
    });
  }

  /** Run `fn` after every earlier event has finished: one event at a time, awaits included. */
  protected serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private session(): SessionSnapshot {
    if (!this.snapshot) throw new SessionError("NOT_FOUND", "no such session");
    return this.snapshot;
  }

  // ------------------------------------------------------------------------------------------------------------
  // One event: compute → commit → install → effects. Must run inside `serial`.
  // ------------------------------------------------------------------------------------------------------------

  protected async handle(event: SessionEvent, actor: Actor, commandId?: string, base: SessionSnapshot = this.session()): Promise<CommandOutcome> {
    const sessionId = base.context.sessionId;
    const commandKey = commandId ? `${actor.memberId}:${commandId}` : null;
    const r = step(base, event);
    if (!r.ok) {
      // A refusal changes nothing; the attempt is audited, one row per member, command, code and minute.
      if (commandKey) {
        const key = refusalKey(actor, event, r.error);
        const count = (this.refusals.get(key) ?? 0) + 1;
        this.refusals.set(key, count);
        if (this.refusals.size > 1000) this.refusals.clear();
        this.store.transaction(() => this.outbox.enqueue([refusalRecord(sessionId, actor, event, r.error, count)]));
        this.outbox.scheduleFlush();
      }
      return { ok: false, commandId: commandId ?? null, error: r.error };
    }

    // Compute: frames, records and every token the step needs, signed before anything in memory changes.
    const eventNo = this.eventNo + 1;
    const grants = this.requireGrants();
    const planned = framesFor(r.prev, r.next, r.prevPhase, r.phase, event, r.notices, this.fanout.views);
    const minted = planned.placements.length ? await grants.mint(r.next, planned.placements, event.now) : noGrants();
    const frames: Frame[] = [
      ...planned.frames,
      ...planned.placements.map(
        (p): Frame => ({
          audience: [memberAudience(p.memberId)],
          body: { type: "placement", placement: placementOf(r.next, p.location, minted.grants.get(p.memberId) ?? null, p.reason) },
        }),
      ),
    ];
    const logged: LoggedFrame[] = frames.map((f, i) => ({ seq: this.seq + 1 + i, audience: f.audience, text: frameText(f, this.seq + 1 + i) }));
    const seq = this.seq + frames.length;
    const { statements, analytics } = recordsFor({
      eventNo,
      event,
      actor,
      prev: r.prev,
      next: r.next,
      prevPhase: r.prevPhase,
      phase: r.phase,
      notices: r.notices,
    });
    const outcome: CommandOutcome = { ok: true, commandId: commandId ?? "", seq, duplicate: false };

    // Commit: state, frames, grants, D1 rows and the command's answer in one transaction.
    this.store.transaction(() => {
      this.store.saveState(r.snapshot, r.prev, seq, eventNo);
      this.store.appendFrames(logged);
      this.store.writeGrants(minted.grants);
      this.outbox.enqueue(minted.statements.length ? [...statements, ...minted.statements] : statements);
      if (commandKey) this.store.rememberCommand(commandKey, outcome, event.now);
      if (eventNo % 100 === 0) this.store.prune(seq - LOG_KEEP, COMMANDS_KEEP);
    });

    // Install: memory follows storage.
    this.snapshot = r.snapshot;
    this.seq = seq;
    this.eventNo = eventNo;
    this.fanout.installViews(planned.views);
    grants.install(minted);

    // Effects.
    this.fanout.deliver(logged);
    this.closeDeparted(r.prev, r.next);
    writeAnalytics(this.env, sessionId, analytics);
    this.recordTokens(sessionId, minted, event.now);
    this.outbox.scheduleFlush();
    await this.scheduleAlarm();
    if (this.provider) for (const work of this.provider.afterStep(r.prev, r.next, r.prevPhase, r.phase)) this.ctx.waitUntil(work);
    return outcome;
  }

  private requireGrants(): Grants {
    if (!this.grants) throw new Error("session DO: grants used before the session was set up");
    return this.grants;
  }

  private recordTokens(sessionId: string, minted: MintedGrants, now: number) {
    for (const t of minted.issued) void recordWorkerEvent(this.env, "token_issued", { sessionId, ...t, persist: false }, now);
  }

  /** A fresh grant for where the member is now, stored and installed before it is handed out. Inside `serial`. */
  private async refreshGrant(memberId: string, now: number): Promise<MediaGrant | null> {
    const ctx = this.session().context;
    const m = ctx.members[memberId];
    if (!m || m.location === null) return null;
    const grants = this.requireGrants();
    const minted = await grants.mint(ctx, [{ memberId, location: m.location }], now);
    this.store.transaction(() => {
      this.store.writeGrants(minted.grants);
      this.outbox.enqueue(minted.statements);
    });
    grants.install(minted);
    this.recordTokens(ctx.sessionId, minted, now);
    if (minted.statements.length) this.outbox.scheduleFlush();
    await this.scheduleAlarm();
    return minted.grants.get(memberId) ?? null;
  }

  /**
   * A member who left or was removed loses their sockets, after hearing where they stand and after the answer to
   * the command that removed them (a macrotask: it runs after the ack, which is sent in the same microtask chain).
   */
  private closeDeparted(prev: SessionSnapshot["context"], next: SessionSnapshot["context"]) {
    if (prev.members === next.members) return;
    const closing: [WebSocket, number, string][] = [];
    for (const m of Object.values(next.members)) {
      const before = prev.members[m.id];
      if (!before || before.status === m.status || (m.status !== "left" && m.status !== "denied")) continue;
      const [code, reason] =
        m.status === "denied"
          ? [CLOSE_CODES.removed, "removed from the session"]
          : next.endedAt !== null
            ? [CLOSE_CODES.ended, "the session has ended"]
            : [CLOSE_CODES.left, "left the session"];
      for (const ws of this.hub.of(m.id)) closing.push([ws, code, reason]);
    }
    if (!closing.length) return;
    setTimeout(() => {
      for (const [ws, code, reason] of closing) this.hub.close(ws, code, reason);
    }, 0);
  }

  // ------------------------------------------------------------------------------------------------------------
  // What a (re)connecting socket receives
  // ------------------------------------------------------------------------------------------------------------

  /** hello, then the frames missed since `lastSeq` (or a snapshot), then a fresh token if the held one is stale. */
  private async greet(ws: WebSocket, memberId: string, lastSeq: number | null) {
    const snap = this.session();
    const m = snap.context.members[memberId];
    const staff = isStaff(m.role);
    const resumeFrom = lastSeq !== null && lastSeq > 0 && this.canReplay(lastSeq) ? lastSeq : null;
    this.send(ws, {
      type: "hello",
      protocol: PROTOCOL_VERSION,
      sessionId: snap.context.sessionId,
      you: { memberId, role: m.role, name: m.name },
      serverTime: this.now(),
      resume: { from: resumeFrom, to: this.seq },
    });
    if (resumeFrom !== null) {
      this.fanout.replay(ws, memberId, staff, resumeFrom);
      // The replay ends where the member is now; their token may have been refreshed (or gone stale) meanwhile.
      if (m.location !== null) {
        const media = await this.currentGrant(memberId);
        if (media?.token) this.send(ws, { type: "mediaToken", media });
      }
      return;
    }
    this.send(ws, await this.snapshotFor(memberId));
  }

  private canReplay(lastSeq: number): boolean {
    const oldest = this.store.oldestSeq() ?? this.seq + 1;
    return lastSeq <= this.seq && lastSeq >= oldest - 1;
  }

  /** The member's grant for where they are now: the held one if it is fresh enough, else a new one. */
  private async currentGrant(memberId: string): Promise<MediaGrant | null> {
    const ctx = this.session().context;
    const now = this.now();
    return this.grants?.heldFor(ctx, memberId, now) ?? (await this.refreshGrant(memberId, now));
  }

  private async snapshotFor(memberId: string): Promise<Extract<SequencedMessage, { type: "snapshot" }>> {
    const snap = this.session();
    const ctx = snap.context;
    const phase = phaseOf(snap);
    const m = ctx.members[memberId];
    const placement: Placement | null = m.location === null ? null : placementOf(ctx, m.location, await this.currentGrant(memberId), "snapshot");
    const chat = chatFor(ctx, memberId);
    return isStaff(m.role)
      ? { type: "snapshot", seq: this.seq, staff: staffState(ctx, phase), placement, chat }
      : { type: "snapshot", seq: this.seq, view: participantView(ctx, phase, memberId), placement, chat };
  }

  private send(ws: WebSocket, msg: ServerMessage) {
    this.hub.send(ws, JSON.stringify(msg));
  }

  private sendError(ws: WebSocket, commandId: string | null, code: ErrorCode, message: string, details?: unknown) {
    this.send(ws, { type: "error", commandId, error: { code, message, ...(details === undefined ? {} : { details }) } });
  }

  // ------------------------------------------------------------------------------------------------------------
  // Alarm: one alarm for every deadline (round timers, countdowns, empty rooms, session end), outbox retries, token
  // refreshes and provider-room retries and sweeps.
  // ------------------------------------------------------------------------------------------------------------

  private nextAlarmTime(): number | null {
    const snap = this.snapshot;
    if (!snap) return null;
    const times = [
      nextDeadline(snap.context, phaseOf(snap)),
      this.outbox.dueAt(),
      this.grants?.nextRefreshAt(snap.context) ?? null,
      this.provider?.dueAt() ?? null,
    ];
    let t: number | null = null;
    for (const x of times) if (x !== null && (t === null || x < t)) t = x;
    return t;
  }

  protected async scheduleAlarm() {
    const t = this.nextAlarmTime();
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (t === null) {
      if (this.alarmAt !== null) await this.ctx.storage.deleteAlarm();
      this.alarmAt = null;
      return;
    }
    const wall = Math.max(this.wallClock(t), Date.now());
    if (this.alarmAt !== wall) {
      await this.ctx.storage.setAlarm(wall);
      this.alarmAt = wall;
    }
  }

  async alarm() {
    this.alarmAt = null; // it fired: nothing is scheduled until scheduleAlarm sets it again
    await this.serial(async () => {
      const snap = this.snapshot;
      if (!snap) return;
      const now = this.now();
      const d = nextDeadline(snap.context, phaseOf(snap));
      if (d !== null && d <= now) await this.handle({ type: "tick", now }, SYSTEM);
      await this.refreshDueGrants(now);
    });
    await this.outbox.onAlarm();
    await this.provider?.onAlarm();
    await this.serial(() => this.scheduleAlarm());
  }

  /** Push a fresh token to connected members whose token expires within the refresh lead. */
  private async refreshDueGrants(now: number) {
    const ctx = this.session().context;
    for (const memberId of this.grants?.dueForRefresh(ctx, now) ?? []) {
      const sockets = this.hub.of(memberId);
      if (!sockets.length) continue;
      const media = await this.refreshGrant(memberId, now);
      if (media) for (const ws of sockets) this.send(ws, { type: "mediaToken", media });
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // RPC surface for the Worker (it has authenticated the caller; the session authorises by the member's role).
  // ------------------------------------------------------------------------------------------------------------

  async initialize(input: InitInput): Promise<RpcResult<{ memberId: string }>> {
    return refusable(() =>
      this.serial(async () => {
        if (this.snapshot) throw new SessionError("INVALID_STATE", "session already exists");
        const now = this.now();
        const initial = createSession({
          sessionId: input.sessionId,
          title: input.title,
          createdAt: now,
          createdBy: input.createdBy,
          settings: input.settings,
          seed: input.seed,
          mediaProvider: input.mediaProvider,
        });
        this.setUp(input.mediaProvider, input.sessionId);
        await this.handle(
          { type: "memberJoined", identity: input.createdBy, name: input.facilitatorName, role: "facilitator", now },
          SYSTEM,
          undefined,
          initial,
        );
        const memberId = memberByIdentity(this.session().context, input.createdBy)?.id;
        if (!memberId) throw new Error("session DO: the creator was not recorded");
        return { memberId };
      }),
    );
  }

  /**
   * Someone joins (or re-joins): with an invite (its id is remembered: an invite someone removed had used no longer
   * admits by itself, a revoked one no longer works), or as the session's creator without one.
   */
  async join(input: {
    identity: string;
    name: string;
    role: Role;
    inviteId?: string | null;
    asCreator?: boolean;
    /** The SHA-256 of the group agreement the joiner accepted (required of clients; staff may send it). */
    agreementHash?: string | null;
    /** How a client appears to the other clients (roster setting). */
    alias?: string | null;
  }): Promise<RpcResult<{ memberId: string; status: string; role: Role; joinNote: JoinNote | null }>> {
    return refusable(() =>
      this.serial(async () => {
        const snap = this.session();
        const ctx = snap.context;
        if (phaseOf(snap) === "ended") throw new SessionError("SESSION_ENDED", "the session has ended");
        if (input.asCreator && ctx.createdBy !== input.identity) throw new SessionError("UNAUTHENTICATED", "an invite link is needed to join");
        if (input.inviteId && ctx.invites?.[input.inviteId]?.revokedAt != null) throw new SessionError("CREDENTIAL_REVOKED", "this invite has been revoked");
        if (memberByIdentity(ctx, input.identity)?.status === "denied") throw new SessionError("FORBIDDEN", "you were not admitted to this session");
        // A client joins only by accepting the agreement as it reads now: the hash of what they were shown must match.
        const current = await agreementHash(ctx.settings.agreement);
        if (input.role === "participant" && input.agreementHash !== current)
          throw new SessionError(
            "AGREEMENT_REQUIRED",
            input.agreementHash
              ? "the group agreement has changed since you read it; read it again and accept it to join"
              : "accept the group agreement to join (send the agreementHash the preview gave)",
          );
        const accepted = input.agreementHash === current ? current : null;
        await this.handle(
          {
            type: "memberJoined",
            identity: input.identity,
            name: input.name,
            role: input.role,
            inviteId: input.inviteId ?? null,
            agreementHash: accepted,
            alias: input.alias ?? null,
            now: this.now(),
          },
          SYSTEM,
        );
        const m = memberByIdentity(this.session().context, input.identity);
        if (!m) throw new Error("session DO: the joiner was not recorded");
        return { memberId: m.id, status: m.status, role: m.role, joinNote: m.joinNote ?? null };
      }),
    );
  }

  /**
   * Run a member's command. Over HTTP (`via: "http"`) it takes from the same per-member message budget as the
   * member's sockets. Someone removed, or who left, is refused before anything is stored.
   */
  async command(memberId: string, commandId: string, command: Command, via: "socket" | "http" = "http"): Promise<CommandOutcome> {
    return this.serial(async () => {
      const snap = this.snapshot;
      if (!snap) return { ok: false, commandId, error: { code: "NOT_FOUND", message: "no such session" } };
      const m = snap.context.members[memberId];
      if (!m) return { ok: false, commandId, error: { code: "UNAUTHENTICATED", message: "you are not a member of this session" } };
      if (phaseOf(snap) === "ended") return { ok: false, commandId, error: { code: "SESSION_ENDED", message: "the session has ended" } };
      if (m.status === "denied") return { ok: false, commandId, error: { code: "FORBIDDEN", message: "you were removed from this session" } };
      if (m.status === "left") return { ok: false, commandId, error: { code: "FORBIDDEN", message: "you left this session; join again with the invite link" } };
      if (via === "http") {
        const retryAfterMs = this.hub.takeFor(memberId, m.role, this.now());
        if (retryAfterMs > 0) {
          const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
          return { ok: false, commandId, error: { code: "RATE_LIMITED", message: "too many commands; try again shortly", details: { retryAfterSeconds } } };
        }
      }
      const recalled = this.store.recallCommand<CommandOutcome>(`${memberId}:${commandId}`);
      if (recalled) return recalled.ok ? { ...recalled, duplicate: true } : recalled;
      const event = { ...command, actor: { memberId, role: m.role }, now: this.now() } as CommandEvent;
      try {
        return await this.handle(event, event.actor, commandId);
      } catch (err) {
        // Nothing was stored (a failure before or in the commit changes nothing): the same commandId can be retried.
        log("error", "command failed", { session: snap.context.sessionId, command: command.type, error: err });
        return { ok: false, commandId, error: toErrorPayload(err) };
      }
    });
  }

  async state(memberId: string): Promise<RpcResult<Extract<SequencedMessage, { type: "snapshot" }>>> {
    return refusable(() =>
      this.serial(async () => {
        const m = this.session().context.members[memberId];
        if (!m) throw new SessionError("UNAUTHENTICATED", "you are not a member of this session");
        return this.snapshotFor(memberId);
      }),
    );
  }

  /** The member's grant for where they are now (the HTTP token endpoint). */
  async mediaGrant(memberId: string): Promise<RpcResult<Placement>> {
    return refusable(() =>
      this.serial(async () => {
        const ctx = this.session().context;
        const m = ctx.members[memberId];
        if (!m) throw new SessionError("UNAUTHENTICATED", "you are not a member of this session");
        if (!this.requireGrants().countRequest(memberId, Date.now())) throw new SessionError("RATE_LIMITED", "too many media-token requests; try again later");
        if (m.status !== "admitted" || m.location === null) throw new SessionError("NOT_ADMITTED", `you are ${m.status}; no media room yet`);
        const now = this.now();
        // A held grant for the same room with half an hour or more left is handed out again: no signing, no writes.
        const media = this.requireGrants().reusable(ctx, memberId, now) ?? (await this.refreshGrant(memberId, now));
        return placementOf(ctx, m.location, media, "requested");
      }),
    );
  }

  /** The member as the session knows them now, and whether they count as current staff (lib/staff.ts). */
  async memberInfo(memberId: string): Promise<{ role: Role; status: string; name: string; ended: boolean; standing: StaffStanding } | null> {
    const snap = this.snapshot;
    const m = snap?.context.members[memberId];
    if (!snap || !m) return null;
    return { role: m.role, status: m.status, name: m.name, ended: phaseOf(snap) === "ended", standing: staffStanding(m, snap.context.endedAt) };
  }

  /**
   * What an invitee may know before joining: the title, the facilitator's name, whether it is still on, and the group
   * agreement they accept to join (its text and the hash a join presents).
   */
  async preview(): Promise<RpcResult<SessionPreview>> {
    return refusable(async () => {
      const snap = this.session();
      const ctx = snap.context;
      const facilitator = memberByIdentity(ctx, ctx.createdBy);
      const agreement = { text: ctx.settings.agreement, hash: await agreementHash(ctx.settings.agreement) };
      const ended = phaseOf(snap) === "ended";
      return { title: ctx.title, facilitatorName: facilitator?.name ?? "", phase: phaseOf(snap), ended, agreement, roster: ctx.settings.roster };
    });
  }

  /** Someone at the door declined the group agreement: the session counts it and keeps nothing else. */
  async declineAgreement(): Promise<RpcResult<{ declined: true }>> {
    return refusable(() =>
      this.serial(async () => {
        if (phaseOf(this.session()) === "ended") throw new SessionError("SESSION_ENDED", "the session has ended");
        await this.handle({ type: "agreementDeclined", now: this.now() }, SYSTEM);
        return { declined: true as const };
      }),
    );
  }

  /** The session clock: reports measure time with it. */
  async clock(): Promise<number> {
    return this.now();
  }

  /** What operations watch (the alert rules): rows stored but not yet in D1, and rows D1 refused for good. Read-only. */
  async opsHealth(): Promise<{ outboxPending: number; outboxDead: number }> {
    return { outboxPending: this.outbox.size(), outboxDead: this.outbox.deadLetters() };
  }

  /** Write every pending D1 row now (reports read D1). */
  async flushOutbox(): Promise<void> {
    await this.outbox.flush();
  }

  /** A verified Twilio status callback, as a session event (repeats and stale ones are ignored). */
  async twilioEvent(e: VideoStatusEvent): Promise<{ applied: boolean; verdict: string }> {
    return this.serial(async () => {
      const snap = this.snapshot;
      if (!snap) return { applied: false, verdict: "unknown-session" };
      const { own, parent } = orderingScopes(e);
      const inbox = new CallbackInbox(this.store.callbackMarks([own, parent]));
      const decision = inbox.decide(e, snap.context, this.now());
      if (decision.verdict !== "apply") return { applied: false, verdict: decision.verdict };
      this.provider?.observe(e);
      if (decision.intruder && this.provider) {
        const { identity, key } = decision.intruder;
        this.ctx.waitUntil(this.provider.disconnect(snap.context, key, identity));
        // A late "connected" for a room they just left is a race, settled by the disconnect; anything else, staff hear of.
        if (!this.provider.justLeft(identity, key) && decision.event) await this.handle(decision.event, SYSTEM);
      } else if (decision.event) await this.handle(decision.event, SYSTEM);
      const marks = inbox.commit(e);
      if (e.event === "room-ended") this.store.forgetCallbackRoom(e.roomSid);
      else this.store.saveCallbackMark(own, marks[own]);
      if (decision.reconcile && this.provider) this.ctx.waitUntil(this.provider.reconcile());
      return { applied: true, verdict: decision.verdict };
    });
  }

  /** A member's media arrival as the client reports it (local mode). Ignored when it names a room they are not in. */
  private arrival(memberId: string, mediaRoom: string | null): Promise<unknown> {
    return this.serial(async () => {
      const snap = this.snapshot;
      const m = snap?.context.members[memberId];
      if (!snap || !m || m.location === null) return;
      if (mediaRoom !== null && mediaRoom !== mediaRoomName(snap.context.sessionId, m.location)) return;
      if (mediaRoom === null && m.arrivedIn === null) return;
      await this.handle({ type: "arrival", memberId, mediaRoom, now: this.now() }, SYSTEM);
    });
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
      const snap = this.snapshot;
      if (!snap) return json({ error: { code: "NOT_FOUND", message: "no such session" } }, 404);
      const m = snap.context.members[memberId];
      const ended = phaseOf(snap) === "ended";
      if (!m) return json({ error: { code: "UNAUTHENTICATED", message: "you are not a member of this session" } }, 401);
      if (m.status === "denied") return json({ error: { code: "FORBIDDEN", message: "you were not admitted to this session" } }, 403);
      if (m.status === "left" && !ended)
        return json({ error: { code: "NOT_ADMITTED", message: "you left this session; join again with the invite link" } }, 409);
      // Staff sockets receive the whole session: only staff taking part now get one (a waiting co-facilitator's client
      // retries and is let in once admitted).
      const standing = staffStanding(m, snap.context.endedAt);
      if (isStaff(m.role) && !standing.current) return json({ error: { code: "NOT_ADMITTED", message: NOT_CURRENT_STAFF[standing.why] } }, 409);
      // A member reconnecting in a loop is refused here, before a hello and a snapshot are built for each attempt.
      const wait = this.hub.takeConnection(memberId, this.now());
      if (wait > 0)
        return json({ error: { code: "RATE_LIMITED", message: "too many connections; try again shortly" } }, 429, {
          "Retry-After": String(Math.ceil(wait / 1000)),
        });
      const { client, server } = this.hub.accept(memberId, m.role, this.now());
      await this.greet(server, memberId, lastSeq);
      if (!m.connected && !ended) await this.handle({ type: "connection", memberId, connected: true, now: this.now() }, SYSTEM);
      return new Response(null, { status: 101, webSocket: client });
    });
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    // Frames still in flight from a socket that was cut off (flooding, replaced) or is closing are dropped.
    if (!this.hub.usable(ws)) return;
    const att = this.hub.attachment(ws);
    if (!att) return;
    if (!this.hub.take(ws, this.now())) {
      // Flooding: nothing past the member's budget is applied; the socket is closed with a policy-violation code.
      this.sendError(ws, null, "RATE_LIMITED", "too many messages; this connection is closed");
      this.hub.close(ws, CLOSE_CODES.budget, "message budget exceeded");
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
      const id = (raw as { commandId?: unknown })?.commandId;
      const { message: text, issues } = describeZodError(parsed.error);
      return this.sendError(ws, typeof id === "string" ? id.slice(0, 64) : null, "INVALID_MESSAGE", text, issues);
    }
    const msg = parsed.data;
    switch (msg.type) {
      case "command": {
        const outcome = await this.command(att.memberId, msg.commandId, msg.command, "socket");
        if (outcome.ok) this.send(ws, { type: "ack", commandId: msg.commandId, seq: outcome.seq, duplicate: outcome.duplicate });
        else this.send(ws, { type: "error", commandId: msg.commandId, error: outcome.error });
        return;
      }
      case "resume":
        return this.serial(() => this.greet(ws, att.memberId, msg.lastSeq));
      case "ping":
        // A keepalive that is not byte for byte PING_FRAME (the runtime answers those without us).
        return this.hub.send(ws, PONG_FRAME);
      case "signal":
        return this.relaySignal(ws, att.memberId, msg.to, msg.data);
      case "quality":
        return this.serial(async () => {
          const m = this.snapshot?.context.members[att.memberId];
          if (m && m.status === "admitted" && m.quality !== msg.level)
            await this.handle({ type: "quality", memberId: att.memberId, level: msg.level, now: this.now() }, SYSTEM);
        });
      case "mediaProblem":
        return this.serial(async () => {
          const m = this.snapshot?.context.members[att.memberId];
          if (m && m.status === "admitted" && (m.mediaProblem?.code ?? null) !== msg.code)
            await this.handle({ type: "mediaProblem", memberId: att.memberId, code: msg.code, now: this.now() }, SYSTEM);
        });
      case "arrived":
        // Twilio mode trusts only Twilio's signed callbacks for arrival.
        if (this.snapshot?.context.mediaProvider !== "local") return;
        await this.arrival(att.memberId, msg.mediaRoom);
        return;
      case "refreshMedia":
        return this.serial(async () => {
          const m = this.snapshot?.context.members[att.memberId];
          if (!m || m.location === null) return this.sendError(ws, null, "NOT_ADMITTED", "no media room yet");
          const media = await this.refreshGrant(att.memberId, this.now());
          if (media) this.send(ws, { type: "mediaToken", media });
        });
    }
  }

  /** Local media: WebRTC signalling, only between members placed in the same room. */
  private relaySignal(ws: WebSocket, from: string, to: string, data: Record<string, unknown>) {
    const ctx = this.snapshot?.context;
    const a = ctx?.members[from];
    const b = ctx?.members[to];
    if (ctx?.mediaProvider !== "local") return this.sendError(ws, null, "INVALID_STATE", "signalling is only for local media mode");
    if (!a || !b || a.location === null || a.location !== b.location) return this.sendError(ws, null, "FORBIDDEN", "you can only signal members in your room");
    const text = JSON.stringify({ type: "signal", from, data } satisfies ServerMessage);
    for (const peer of this.hub.of(to)) this.hub.send(peer, text);
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
    const att = this.hub.attachment(ws);
    if (!att) return;
    await this.serial(async () => {
      const m = this.snapshot?.context.members[att.memberId];
      const others = this.hub.of(att.memberId).filter((s) => s !== ws);
      if (!others.length && m?.connected) await this.handle({ type: "connection", memberId: att.memberId, connected: false, now: this.now() }, SYSTEM);
    });
  }
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}
