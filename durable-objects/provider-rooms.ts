/**
 * The provider's media rooms (Twilio mode): bring them in line with the session (create the rooms it needs, complete
 * the ones it does not), disconnect people from rooms they no longer belong in, sweep the account for rooms left
 * behind, and turn Twilio's status callbacks into session events. Outside the event queue, so slow REST calls never
 * hold up commands: every result comes back as an event through `host.apply`, and a crash or a lost response at any
 * point converges at the next reconciliation (creation is idempotent by UniqueName, completion is idempotent).
 */
import { mediaRoomName, type MediaRoomPublic, type SessionPhase } from "../lib/protocol";
import { backoffMs } from "../lib/runtime/backoff";
import { CallbackDeduper, type CallbackOrderingState, type VideoStatusEvent } from "../lib/twilio/callbacks";
import type { TwilioVideoClient } from "../lib/twilio/rest";
import { desiredMediaKeys, keyOfMediaRoom, media, mediaPlan } from "./logic/media-plan";
import { subscriptionPlan, subscriptionsMayChange } from "./logic/subscriptions";
import type { SessionContext, SystemEvent } from "./logic/model";

/** The REST calls this collaborator makes (TwilioVideoClient has them; tests may pass the same client at a local server). */
export type ProviderClient = Pick<
  TwilioVideoClient,
  "createRoom" | "completeRoom" | "disconnectParticipant" | "listRooms" | "listParticipants" | "updateSubscribeRules"
>;

export interface ProviderRoomsHost {
  now(): number;
  /** The session as installed now (null: no session). */
  current(): { ctx: SessionContext; phase: SessionPhase } | null;
  /** Queue an event with a provider result on the session's event queue; resolves once it is applied. */
  apply(event: SystemEvent): Promise<void>;
  /** A due time changed: the alarm should be set again. */
  rescheduled(): Promise<void>;
  log(level: "warn" | "error", msg: string, fields: Record<string, unknown>): void;
  /** Small durable key-value storage (the session's own): the subscribe rules already applied live here. */
  kv: { get(key: string): string | null; set(key: string, value: string): void };
}

const SUBSCRIPTIONS_KEY = "provider:subscribeRules";
/** Twilio's default rules (include everything): a subscriber with these needs no post and no record. */
const DEFAULT_RULES = JSON.stringify([{ type: "include", all: true }]);

/** How long after a move a "connected" for the old room counts as the move's race (kicked, but not reported). */
const JUST_LEFT_MS = 20_000;

/** A media-room change worth an event, or null when it changes nothing. */
function mediaEvent(ctx: SessionContext, key: string, next: MediaRoomPublic, now: number): SystemEvent | null {
  const cur = ctx.media[key];
  if (cur && cur.status === next.status && cur.sid === next.sid && cur.error === next.error) return null;
  return { type: "mediaUpdated", media: next, now };
}

export class ProviderRooms {
  private reconciling: Promise<void> | null = null;
  private reconcileAgain = false;
  /** Failed room creations wait until this time (session clock) before the next try. */
  private readonly retryAt = new Map<string, number>();
  private failures = 0;
  /** Next full sweep of the account's rooms (session clock); soon after a (re)start it finds rooms a crash left. */
  private sweepAt: number | null;
  /** Who moved out of which place when: a late "connected" for a room someone just left is a race, not an intrusion. */
  private readonly recentlyLeft = new Map<string, { key: string; at: number }>();
  /**
   * Participants Twilio's callbacks reported connected, by "<identity>|<room name>": a kick goes straight to the
   * participant's sid (one POST) instead of looking the identity up first. Memory only: after a wake, a kick looks up.
   */
  private readonly connected = new Map<string, { roomSid: string; sid: string }>();

  /** Subscribe rules applied at Twilio, by "<room>|<subscriber>" (JSON of the rules); stored, so a wake re-posts nothing. */
  private readonly applied: Map<string, string>;
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private subscriptionRetryAt: number | null = null;

  constructor(
    private readonly client: ProviderClient,
    private readonly statusCallbackUrl: string | undefined,
    private readonly host: ProviderRoomsHost,
  ) {
    this.sweepAt = host.now() + 5_000;
    this.applied = new Map(Object.entries(JSON.parse(host.kv.get(SUBSCRIPTIONS_KEY) ?? "{}") as Record<string, string>));
  }

  /**
   * After a stored step: reconcile when rooms, members or the phase changed, and disconnect everyone from the media
   * room of a place they left (a move, a return, a close, a removal, the end), so nobody keeps hearing a room they
   * are not in. Returns the work started (for waitUntil).
   */
  afterStep(prev: SessionContext, next: SessionContext, prevPhase: SessionPhase, phase: SessionPhase): Promise<void>[] {
    const work: Promise<void>[] = [];
    if (prev.rooms !== next.rooms || prevPhase !== phase || prev.members !== next.members) work.push(this.reconcile());
    if (subscriptionsMayChange(prev, next)) work.push(this.syncSubscriptions());
    if (prev.members !== next.members) {
      for (const m of Object.values(next.members)) {
        const before = prev.members[m.id];
        if (!before || before.location === null || before.location === m.location) continue;
        // A move (not a removal): a "connected" for the old room may still be on its way.
        if (m.location !== null) this.recentlyLeft.set(m.id, { key: before.location, at: this.host.now() });
        if (this.mayBeConnected(before)) work.push(this.disconnect(next, before.location, m.id));
      }
    }
    return work;
  }

  /**
   * Whether a member may hold a connection to their place's media room. With status callbacks Twilio tells us
   * (arrivedIn): a member it has not reported there is not connected, and a "connected" still on its way is kicked
   * when it lands (CallbackInbox: an intruder), so a move costs no REST call for them. Without callbacks anyone may be.
   */
  private mayBeConnected(m: { arrivedIn: string | null }): boolean {
    return this.statusCallbackUrl === undefined || m.arrivedIn !== null;
  }

  /** A verified status callback that was applied: remember who is connected where, for the kicks. */
  observe(e: VideoStatusEvent) {
    const p = e.participant;
    if (!p?.identity || !p.sid) return;
    const key = `${p.identity}|${e.roomName}`;
    if (e.event === "participant-connected") this.connected.set(key, { roomSid: e.roomSid, sid: p.sid });
    else if (e.event === "participant-disconnected" && this.connected.get(key)?.sid === p.sid) this.connected.delete(key);
  }

  /** Whether `identity` moved out of the place `key` moments ago (its connection there may just be late news). */
  justLeft(identity: string, key: string): boolean {
    const left = this.recentlyLeft.get(identity);
    if (left && this.host.now() - left.at > JUST_LEFT_MS) this.recentlyLeft.delete(identity);
    return left !== undefined && left.key === key && this.host.now() - left.at <= JUST_LEFT_MS;
  }

  /** Disconnect an identity from a place's media room (a no-op when the room or the participant is already gone). */
  async disconnect(ctx: SessionContext, place: string, identity: string): Promise<void> {
    const room = ctx.media[place];
    if (room?.status === "completed") return;
    const name = mediaRoomName(ctx.sessionId, place);
    const known = this.connected.get(`${identity}|${name}`);
    try {
      await this.client.disconnectParticipant(known?.roomSid ?? room?.sid ?? name, known?.sid ?? identity);
      this.connected.delete(`${identity}|${name}`);
    } catch (err) {
      this.host.log("warn", "twilio disconnect failed", { session: ctx.sessionId, member: identity, error: err });
    }
  }

  /**
   * Bring every connected member's subscribe rules in line with what staff turned off (logic/subscriptions.ts), so
   * nobody receives a blocked microphone, camera or share even from a modified client. Single-flight; a failed post is
   * retried at the next change or the alarm.
   */
  syncSubscriptions(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    const run = (async () => {
      do {
        this.syncAgain = false;
        const cur = this.host.current();
        if (!cur) return;
        const plan = subscriptionPlan(cur.ctx);
        const wanted = new Set(plan.map((t) => t.key));
        let changed = false;
        // Rules belong to a participant's connection: once someone left the room, theirs are gone with it.
        for (const key of [...this.applied.keys()])
          if (!wanted.has(key)) {
            this.applied.delete(key);
            changed = true;
          }
        const due = plan.filter((t) => (this.applied.get(t.key) ?? DEFAULT_RULES) !== t.json);
        const results = await Promise.allSettled(due.map((t) => this.client.updateSubscribeRules(t.room, t.subscriber, t.rules)));
        results.forEach((r, i) => {
          const t = due[i];
          if (r.status === "fulfilled") {
            if (t.json === DEFAULT_RULES) this.applied.delete(t.key);
            else this.applied.set(t.key, t.json);
            changed = true;
          } else {
            this.host.log("warn", "twilio subscribe rules failed", { session: cur.ctx.sessionId, subscriber: t.subscriber, error: r.reason });
            this.subscriptionRetryAt = this.host.now() + 5_000;
          }
        });
        if (changed) this.host.kv.set(SUBSCRIPTIONS_KEY, JSON.stringify(Object.fromEntries(this.applied)));
        if (results.some((r) => r.status === "rejected")) await this.host.rescheduled();
      } while (this.syncAgain);
    })();
    const tracked = run.finally(() => {
      if (this.syncing === tracked) this.syncing = null;
    });
    this.syncing = tracked;
    return tracked;
  }

  /** Bring provider rooms in line with the session; single-flight, re-run when asked again meanwhile. */
  reconcile(): Promise<void> {
    if (this.reconciling) {
      this.reconcileAgain = true;
      return this.reconciling;
    }
    const run = (async () => {
      do {
        this.reconcileAgain = false;
        const cur = this.host.current();
        if (!cur) return;
        const now = this.host.now();
        const plan = mediaPlan(cur.ctx, cur.phase, (key) => (this.retryAt.get(key) ?? 0) > now);
        await Promise.all([...plan.create.map((c) => this.create(c)), ...plan.complete.map((c) => this.complete(c))]);
      } while (this.reconcileAgain);
    })();
    const tracked = run.finally(() => {
      if (this.reconciling === tracked) this.reconciling = null;
    });
    this.reconciling = tracked;
    return tracked;
  }

  private async report(key: string, next: MediaRoomPublic) {
    const cur = this.host.current();
    if (!cur) return;
    const e = mediaEvent(cur.ctx, key, next, this.host.now());
    if (e) await this.host.apply(e);
  }

  private async create(c: { key: string; name: string; maxParticipants: number }) {
    const current = this.host.current()?.ctx.media[c.key];
    // A retry after a failure stays "failed" (one mediaError notice per failure streak, not one per attempt).
    if (!current || current.status === "none" || current.status === "completed") await this.report(c.key, media(c.key, c.name, "pending", null));
    try {
      const room = await this.client.createRoom({
        uniqueName: c.name,
        type: "group",
        maxParticipants: c.maxParticipants,
        statusCallback: this.statusCallbackUrl,
        emptyRoomTimeout: 5,
        unusedRoomTimeout: 10,
      });
      this.retryAt.delete(c.key);
      this.failures = 0;
      await this.report(c.key, media(c.key, c.name, "ready", room.sid));
    } catch (err) {
      this.failures++;
      this.retryAt.set(c.key, this.host.now() + backoffMs(this.failures, { baseMs: 2_000, maxMs: 60_000 }));
      const message = err instanceof Error ? err.message : String(err);
      // Twilio's error code leads the text (alerts and analytics group failures by it).
      const code = (err as { code?: unknown }).code;
      const text = typeof code === "number" ? `Twilio error ${code}: ${message}` : `Twilio could not create the room: ${message}`;
      this.host.log("warn", "twilio room create failed", { session: this.host.current()?.ctx.sessionId, key: c.key, code, error: message });
      await this.report(c.key, media(c.key, c.name, "failed", null, text));
      await this.host.rescheduled();
    }
  }

  private async complete(c: { key: string; name: string; sid: string | null }) {
    try {
      await this.client.completeRoom(c.sid ?? c.name);
      await this.report(c.key, media(c.key, c.name, "completed", c.sid));
    } catch (err) {
      // Left as it is: the next reconciliation (alarm) completes it; the sweep catches anything else.
      this.host.log("warn", "twilio room complete failed", { session: this.host.current()?.ctx.sessionId, key: c.key, error: err });
      this.sweepAt = Math.min(this.sweepAt ?? Number.POSITIVE_INFINITY, this.host.now() + 10_000);
      await this.host.rescheduled();
    }
  }

  /**
   * List the account's in-progress rooms and complete every one of this session's that it does not want, so no billed
   * room is orphaned; in the rooms it keeps, audit who is connected (a lost callback must not leave anyone listening
   * to a room they were moved out of, nor a connected member unseen). Every 5 minutes while the session lives, and
   * until all are closed.
   */
  async sweep(): Promise<{ completed: string[]; kicked: string[] }> {
    const cur = this.host.current();
    if (!cur) return { completed: [], kicked: [] };
    const sessionId = cur.ctx.sessionId;
    const completed: string[] = [];
    const kicked: string[] = [];
    try {
      const rooms = await this.client.listRooms({ status: "in-progress", pageSize: 100 });
      for (const room of rooms) {
        const now = this.host.current();
        if (!now) break;
        // Both are nullable in Twilio's spec: a room without a name is none of ours.
        if (room.uniqueName === null) continue;
        const key = keyOfMediaRoom(sessionId, room.uniqueName);
        if (key === null) continue;
        if (desiredMediaKeys(now.ctx, now.phase).has(key)) {
          kicked.push(...(await this.audit(room.sid ?? room.uniqueName, room.uniqueName, key)));
          continue;
        }
        await this.client.completeRoom(room.sid ?? room.uniqueName);
        completed.push(room.uniqueName);
        const known = now.ctx.media[key];
        if (known && known.status !== "completed") await this.report(key, media(key, room.uniqueName, "completed", room.sid));
      }
      const after = this.host.current();
      const ended = after?.phase === "ended";
      const open = Object.values(after?.ctx.media ?? {}).some((m) => m.status !== "completed" && m.status !== "none");
      this.sweepAt = ended && !open && completed.length === 0 ? null : this.host.now() + (ended ? 30_000 : 5 * 60_000);
    } catch (err) {
      this.host.log("warn", "twilio sweep failed", { session: sessionId, error: err });
      this.sweepAt = this.host.now() + 30_000;
    }
    await this.host.rescheduled();
    return { completed, kicked };
  }

  /** One kept room's connected participants against the session: kick who is not placed there, record who is. */
  private async audit(room: string, name: string, key: string): Promise<string[]> {
    const kicked: string[] = [];
    for (const p of await this.client.listParticipants(room, { status: "connected", pageSize: 100 })) {
      const cur = this.host.current();
      if (!cur || !p.identity) break;
      const m = cur.ctx.members[p.identity];
      if (m?.location === key) {
        if (m.arrivedIn !== name) await this.host.apply({ type: "arrival", memberId: p.identity, mediaRoom: name, now: this.host.now() });
      } else {
        await this.client.disconnectParticipant(room, p.sid ?? p.identity);
        kicked.push(p.identity);
        this.host.log("warn", "twilio sweep kicked a participant not placed in the room", { session: cur.ctx.sessionId, key, member: p.identity });
      }
    }
    return kicked;
  }

  /** The earliest time this collaborator needs the alarm: a creation retry or the next sweep. */
  dueAt(): number | null {
    let t = this.sweepAt;
    if (this.subscriptionRetryAt !== null && (t === null || this.subscriptionRetryAt < t)) t = this.subscriptionRetryAt;
    for (const at of this.retryAt.values()) if (t === null || at < t) t = at;
    return t;
  }

  async onAlarm() {
    const now = this.host.now();
    for (const [key, t] of this.retryAt) if (t <= now) this.retryAt.delete(key);
    await this.reconcile();
    if (this.subscriptionRetryAt !== null && this.subscriptionRetryAt <= now) {
      this.subscriptionRetryAt = null;
      await this.syncSubscriptions();
    }
    if (this.sweepAt !== null && this.sweepAt <= now) await this.sweep();
  }
}

/** What a verified status callback means for the session. */
export interface CallbackDecision {
  verdict: "apply" | "duplicate" | "stale";
  /** The session event it becomes (null: nothing to record). */
  event: SystemEvent | null;
  /** Someone connected to a media room of a place they are not in: disconnect them at once. */
  intruder: { identity: string; key: string } | null;
  /** Reconcile afterwards (a room ended: the session may still need it). */
  reconcile: boolean;
}

/**
 * Twilio's status callbacks, ordered and de-duplicated (repeats and stale events are ignored; the ordering state is
 * the caller's to store once the decision is applied). Arrival counts only when Twilio says the member connected to
 * the room they belong in now.
 */
export class CallbackInbox {
  private readonly dedupe: CallbackDeduper;

  constructor(state: CallbackOrderingState) {
    this.dedupe = new CallbackDeduper(state);
  }

  decide(e: VideoStatusEvent, ctx: SessionContext, now: number): CallbackDecision {
    const verdict = this.dedupe.check(e);
    if (verdict !== "apply") return { verdict, event: null, intruder: null, reconcile: false };
    const key = keyOfMediaRoom(ctx.sessionId, e.roomName);
    const memberId = e.participant?.identity;
    let event: SystemEvent | null = null;
    let intruder: CallbackDecision["intruder"] = null;
    if (key !== null) {
      if (e.event === "participant-connected" && memberId && ctx.members[memberId]?.location === key) {
        event = { type: "arrival", memberId, mediaRoom: e.roomName, now };
      } else if (e.event === "participant-connected" && memberId) {
        // Not placed there (moved, removed, never a member): a held token must not let anyone listen in.
        intruder = { identity: memberId, key };
        event = { type: "mediaIntruder", identity: memberId, key, now };
      } else if (e.event === "participant-disconnected" && memberId && ctx.members[memberId]?.arrivedIn === e.roomName) {
        event = { type: "arrival", memberId, mediaRoom: null, now };
      } else if (e.event === "room-ended") {
        const known = ctx.media[key];
        if (known && known.status !== "completed" && (known.sid === null || known.sid === e.roomSid))
          event = { type: "mediaUpdated", media: media(key, e.roomName, "completed", e.roomSid), now };
      } else if (e.event === "room-created") {
        const known = ctx.media[key];
        if (known && known.status === "pending") event = { type: "mediaUpdated", media: media(key, e.roomName, "ready", e.roomSid), now };
      }
    }
    return { verdict, event, intruder, reconcile: e.event === "room-ended" };
  }

  /** The decision was applied: remember the callback (and forget an ended room's scopes). */
  commit(e: VideoStatusEvent): CallbackOrderingState {
    this.dedupe.commit(e);
    if (e.event === "room-ended") this.dedupe.forgetRoom(e.roomSid);
    return this.dedupe.snapshot();
  }
}
