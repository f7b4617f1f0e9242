/**
 * Shared builders for tests of the pure session engine (durable-objects/logic).
 *
 *   const s = createSession({ participants: 6 });      // facilitator m1 + six admitted participants m2..m7
 *   s.ok("createBreakouts", { count: 2 });              // asserts accepted; the fake clock moves 1 s per command
 *   s.refused("FORBIDDEN", "endSession", {}, s.as(s.participants[0]));
 *   s.tickTo(s.ctx.round!.endsAt!);                     // time only moves forward
 *   s.expectInvariants();                               // also run after every dispatch by default
 *
 * Member ids follow join order: the facilitator is always "m1", then co-facilitators, participants, waiting ones.
 * Identities: "u-fac", "u-cof-<i>", "u-p-<i>", "u-wait-<i>" (i from 1).
 */
import { expect } from "vitest";
import type { z } from "zod";
import { MAIN_ROOM, type CommandSchema, type CommandType, type ErrorCode, type Role, type SessionPhase, type Settings } from "../../../lib/protocol";
import { SessionEngine, type StepResult } from "../../../durable-objects/logic/engine";
import { invariantViolations } from "../../../durable-objects/logic/invariants";
import {
  admittedMembers,
  occupancy,
  openRooms,
  plannedCount,
  preparingRooms,
  SYSTEM,
  type Actor,
  type CommandEvent,
  type Member,
  type Room,
  type SessionContext,
  type SessionEvent,
  type SystemEvent,
} from "../../../durable-objects/logic/model";

/** The fields of one command type, as a client would send them (zod input: defaults such as `mode` optional). */
export type CommandFields<T extends CommandType> = Omit<Extract<z.input<typeof CommandSchema>, { type: T }>, "type">;
type WithoutNow<E> = E extends unknown ? Omit<E, "now"> : never;
/** Any event without its time (the fixture's clock supplies it). */
export type EventInput = WithoutNow<SessionEvent>;
/** A system event without its time. */
export type SystemEventInput = WithoutNow<SystemEvent>;

export const FACILITATOR_IDENTITY = "u-fac";
export const START_TIME = 1_000_000;
/** How far the fake clock moves before each command or system event (ms). */
export const STEP_MS = 1000;

export interface FixtureOptions {
  /** Admitted participants (default 4). */
  participants?: number;
  /** Admitted co-facilitators (default 0). */
  cofacilitators?: number;
  /** Participants left in the waiting room (needs autoAdmit false, the default). */
  waiting?: number;
  settings?: Partial<Settings>;
  seed?: number;
  /** Check invariants after every dispatch (default true). */
  checkInvariants?: boolean;
}

export interface SessionFixture {
  readonly engine: SessionEngine;
  /** The fake clock: the time of the last event sent. */
  readonly now: number;
  readonly ctx: SessionContext;
  readonly phase: SessionPhase;
  facilitator: string;
  cofacilitators: string[];
  participants: string[];
  waiting: string[];
  /** The actor for a member, with the role the session knows them by (a system actor for "system"). */
  as(memberId: string): Actor;
  /** Dispatch a command (default actor: the facilitator) one STEP_MS after the last event. */
  cmd<T extends CommandType>(type: T, fields?: CommandFields<T>, actor?: Actor): StepResult;
  /** Like cmd, and asserts it was accepted. */
  ok<T extends CommandType>(type: T, fields?: CommandFields<T>, actor?: Actor): Extract<StepResult, { ok: true }>;
  /** Like cmd, asserts the refusal code and that nothing changed. */
  refused<T extends CommandType>(code: ErrorCode, type: T, fields?: CommandFields<T>, actor?: Actor): void;
  /** Dispatch a system event one STEP_MS after the last event. */
  send(event: SystemEventInput): StepResult;
  /** Dispatch any event at an explicit time (must not go back in time). */
  dispatchAt(event: EventInput, at: number): StepResult;
  /** A new person arrives (memberJoined); returns their member id. */
  join(identity: string, opts?: { name?: string; role?: Role }): string;
  /** Move the clock to `at` (>= now) and deliver a tick there. */
  tickTo(at: number): StepResult;
  /** Move the clock forward by ms and deliver a tick. */
  tickBy(ms: number): StepResult;
  /** Restore a fresh engine from persisted JSON and continue with it (as after hibernation). */
  reload(): void;
  expectInvariants(): void;
  member(id: string): Member;
  room(id: string): Room;
  locationOf(id: string): string | null;
  /** Admitted members in a place ("main" or a room id), by id. */
  inPlace(location: string): string[];
  openRoomIds(): string[];
  preparingRoomIds(): string[];
}

export function createSession(opts: FixtureOptions = {}): SessionFixture {
  const settings: Partial<Settings> = { ...opts.settings };
  const check = opts.checkInvariants ?? true;
  let engine = SessionEngine.create({
    sessionId: "s-test",
    title: "Group",
    createdAt: START_TIME,
    createdBy: "user-fac",
    seed: opts.seed ?? 42,
    mediaProvider: "local",
    settings,
  });
  let now = START_TIME;

  const expectInvariants = () => expect(invariantViolations(engine.context, engine.phase)).toEqual([]);

  const dispatchAt = (event: EventInput, at: number): StepResult => {
    if (at < now) throw new Error(`fixture: time goes back from ${now} to ${at}`);
    now = at;
    const r = engine.dispatch({ ...event, now } as SessionEvent);
    if (check) expectInvariants();
    return r;
  };

  const as = (memberId: string): Actor => {
    if (memberId === "system") return SYSTEM;
    const m = engine.context.members[memberId];
    if (!m) throw new Error(`fixture: no member ${memberId}`);
    return { memberId, role: m.role };
  };

  const cmd = <T extends CommandType>(type: T, fields?: CommandFields<T>, actor?: Actor): StepResult => {
    const body: Record<string, unknown> = { type, ...(fields ?? {}) };
    if (type === "createBreakouts" && body.mode === undefined) body.mode = "auto"; // the schema's default
    return dispatchAt({ ...body, actor: actor ?? as(facilitator) } as EventInput, now + STEP_MS);
  };

  const ok = <T extends CommandType>(type: T, fields?: CommandFields<T>, actor?: Actor) => {
    const r = cmd(type, fields, actor);
    if (!r.ok) throw new Error(`fixture: ${type} refused: ${r.error.code} ${r.error.message}`);
    return r;
  };

  const refused = <T extends CommandType>(code: ErrorCode, type: T, fields?: CommandFields<T>, actor?: Actor) => {
    const before = engine.context;
    const phase = engine.phase;
    const r = cmd(type, fields, actor);
    expect(r.ok ? `accepted` : r.error.code, `${type} ${JSON.stringify(fields ?? {})}`).toBe(code);
    expect(engine.context).toBe(before);
    expect(engine.phase).toBe(phase);
  };

  const send = (event: SystemEventInput) => dispatchAt(event, now + STEP_MS);

  const join = (identity: string, o: { name?: string; role?: Role } = {}) => {
    const r = send({ type: "memberJoined", identity, name: o.name ?? identity, role: o.role ?? "participant" });
    if (!r.ok) throw new Error(`fixture: join of ${identity} failed`);
    const m = Object.values(engine.context.members).find((x) => x.identity === identity);
    if (!m) throw new Error(`fixture: ${identity} did not join`);
    return m.id;
  };

  // Build the cast.
  const facilitator = join(FACILITATOR_IDENTITY, { name: "Fay", role: "facilitator" });
  const cofacilitators: string[] = [];
  for (let i = 1; i <= (opts.cofacilitators ?? 0); i++) cofacilitators.push(join(`u-cof-${i}`, { name: `Cof ${i}`, role: "cofacilitator" }));
  const participants: string[] = [];
  for (let i = 1; i <= (opts.participants ?? 4); i++) {
    const id = join(`u-p-${i}`, { name: `P${i}` });
    if (engine.context.members[id].status === "waiting") ok("admit", { memberId: id });
    participants.push(id);
  }
  const waiting: string[] = [];
  for (let i = 1; i <= (opts.waiting ?? 0); i++) {
    const id = join(`u-wait-${i}`, { name: `W${i}` });
    if (engine.context.members[id].status !== "waiting") throw new Error("fixture: waiting members need autoAdmit false");
    waiting.push(id);
  }

  return {
    get engine() {
      return engine;
    },
    get now() {
      return now;
    },
    get ctx() {
      return engine.context;
    },
    get phase() {
      return engine.phase;
    },
    facilitator,
    cofacilitators,
    participants,
    waiting,
    as,
    cmd,
    ok,
    refused,
    send,
    dispatchAt,
    join,
    tickTo: (at: number) => dispatchAt({ type: "tick" }, at),
    tickBy: (ms: number) => dispatchAt({ type: "tick" }, now + ms),
    reload() {
      const json = JSON.parse(JSON.stringify(engine.persisted()));
      const again = SessionEngine.restore(json);
      expect(again.context).toEqual(engine.context);
      expect(again.phase).toBe(engine.phase);
      engine = again;
    },
    expectInvariants,
    member: (id: string) => engine.context.members[id],
    room: (id: string) => engine.context.rooms[id],
    locationOf: (id: string) => engine.context.members[id]?.location ?? null,
    inPlace: (location: string) =>
      admittedMembers(engine.context)
        .filter((m) => m.location === location)
        .map((m) => m.id),
    openRoomIds: () => openRooms(engine.context).map((r) => r.id),
    preparingRoomIds: () => preparingRooms(engine.context).map((r) => r.id),
  } as SessionFixture;
}

// ---------------------------------------------------------------------------------------------------------------
// Sample commands: for a context and phase, a command of a given type that the rules should accept (or null when
// this state offers none, e.g. `admit` with nobody waiting). Used by the table and model-based tests; reusable.
// ---------------------------------------------------------------------------------------------------------------

/** An admitted facilitator, else an admitted co-facilitator, else the facilitator whatever their status. */
const staffActor = (ctx: SessionContext): Actor | null => {
  const admitted = admittedMembers(ctx);
  const f =
    admitted.find((m) => m.role === "facilitator") ??
    admitted.find((m) => m.role === "cofacilitator") ??
    Object.values(ctx.members).find((m) => m.role === "facilitator");
  return f ? { memberId: f.id, role: f.role } : null;
};
const participantsOf = (ctx: SessionContext) => admittedMembers(ctx).filter((m) => m.role === "participant");
const live = (r: Room) => r.status !== "closed";

/** A room with space for one more: open rooms count occupants, preparing rooms count the plan. */
function roomWithSpace(ctx: SessionContext, status: "open" | "preparing", except?: string | null): Room | undefined {
  return Object.values(ctx.rooms).find(
    (r) => r.status === status && r.id !== except && (status === "open" ? occupancy(ctx, r.id) : plannedCount(ctx, r.id)) < r.capacity,
  );
}

export function sampleCommands(ctx: SessionContext, phase: SessionPhase, type: CommandType): WithoutNow<CommandEvent>[] {
  const staff = staffActor(ctx);
  const people = participantsOf(ctx);
  const waiting = Object.values(ctx.members).filter((m) => m.status === "waiting");
  const roomStatus = phase === "preparing" ? "preparing" : "open";
  const out: Record<string, unknown>[] = [];
  const asStaff = (c: Record<string, unknown>) => staff && out.push({ ...c, type, actor: staff });
  const asMember = (m: Member, c: Record<string, unknown>) => out.push({ ...c, type, actor: { memberId: m.id, role: m.role } });

  switch (type) {
    case "admit":
      if (waiting[0]) asStaff({ memberId: waiting[0].id });
      break;
    case "deny":
      if (waiting.length) asStaff({ memberId: waiting[waiting.length - 1].id });
      break;
    case "removeMember": {
      const victim = people[people.length - 1] ?? waiting[0];
      if (victim) asStaff({ memberId: victim.id });
      break;
    }
    case "updateSettings":
      asStaff({ settings: { warningSeconds: ctx.settings.warningSeconds } });
      break;
    case "createBreakouts":
      asStaff({ count: 2, mode: "auto" });
      asStaff({ names: ["Oak", "Elm"], mode: "manual", durationSeconds: 600 });
      asStaff({ count: 2, mode: "choose", durationSeconds: 300 });
      asStaff({ count: 3, mode: "manual", capacity: 2 });
      {
        const cof = admittedMembers(ctx).find((m) => m.role === "cofacilitator");
        if (cof) asStaff({ count: 2, mode: "auto", capacity: 3, includeStaff: [cof.id] });
      }
      break;
    case "addRoom":
      asStaff({});
      break;
    case "renameRoom": {
      const r = Object.values(ctx.rooms).find(live);
      if (r) asStaff({ roomId: r.id, name: `Renamed ${r.id}` });
      break;
    }
    case "deleteRoom": {
      const rooms = preparingRooms(ctx);
      if (rooms.length >= 2) asStaff({ roomId: rooms[rooms.length - 1].id });
      break;
    }
    case "autoAssign":
      asStaff({});
      break;
    case "assign": {
      const r = roomWithSpace(ctx, "preparing");
      const m = people.find((p) => ctx.round?.plan[p.id] !== r?.id);
      if (r && m) asStaff({ memberId: m.id, roomId: r.id });
      if (people[0]) asStaff({ memberId: people[0].id, roomId: null });
      break;
    }
    case "bulkAssign": {
      if (phase === "preparing") {
        const r = roomWithSpace(ctx, "preparing");
        const m = people.find((p) => ctx.round?.plan[p.id] !== r?.id);
        if (r && m) asStaff({ assignments: [{ memberId: m.id, roomId: r.id }] });
      } else {
        const inMain = people.find((p) => p.location === MAIN_ROOM);
        const r = roomWithSpace(ctx, "open");
        if (inMain && r) asStaff({ assignments: [{ memberId: inMain.id, roomId: r.id }] });
        const inRoom = people.find((p) => p.location !== MAIN_ROOM);
        if (inRoom) asStaff({ assignments: [{ memberId: inRoom.id, roomId: null }] });
      }
      break;
    }
    case "preAssign": {
      const r = Object.values(ctx.rooms).find((x) => x.status === roomStatus);
      if (r) asStaff({ identity: "u-late-pre", roomId: r.id });
      const p = people.find((x) => ctx.round?.plan[x.id] !== r?.id && x.location !== r?.id);
      if (r && p) asStaff({ identity: p.identity, roomId: r.id });
      break;
    }
    case "openBreakouts":
      asStaff({});
      break;
    case "move": {
      const inMain = people.find((p) => p.location === MAIN_ROOM);
      const r = roomWithSpace(ctx, "open");
      if (inMain && r) asStaff({ memberId: inMain.id, to: r.id });
      const inRoom = people.find((p) => p.location !== MAIN_ROOM);
      if (inRoom) asStaff({ memberId: inRoom.id, to: MAIN_ROOM });
      break;
    }
    case "swap": {
      const a = people[0];
      const b = a && admittedMembers(ctx).find((m) => m.location !== a.location);
      if (a && b) asStaff({ memberA: a.id, memberB: b.id });
      if (a && b && ctx.pairRules?.length) asStaff({ memberA: a.id, memberB: b.id, confirmRule: true });
      break;
    }
    case "setPairRule": {
      const rule = ctx.pairRules?.[0];
      if (rule) asStaff({ memberA: rule.memberA, memberB: rule.memberB, rule: null });
      else if (people[0] && people[1]) asStaff({ memberA: people[0].id, memberB: people[1].id, rule: "apart" });
      if (people[1] && people[2]) asStaff({ memberA: people[2].id, memberB: people[1].id, rule: "together" });
      break;
    }
    case "closeRoom": {
      const r = openRooms(ctx)[0];
      if (r) asStaff({ roomId: r.id });
      break;
    }
    case "closeAll":
      asStaff({});
      asStaff({ countdownSeconds: 0 });
      asStaff({ countdownSeconds: 30 });
      break;
    case "extendRound":
      asStaff({ seconds: 120 });
      break;
    case "cancelClosing":
      asStaff({});
      break;
    case "broadcast": {
      asStaff({ text: "hello everyone" });
      const r = openRooms(ctx)[0];
      if (r) asStaff({ text: "hello room", roomId: r.id });
      break;
    }
    case "visitRoom": {
      const me = staff && ctx.members[staff.memberId];
      if (me) {
        const r = roomWithSpace(ctx, "open", me.location);
        if (r) asStaff({ to: r.id });
        if (me.location !== MAIN_ROOM) asStaff({ to: MAIN_ROOM });
      }
      break;
    }
    case "resolveHelp": {
      const m = Object.values(ctx.members).find((x) => x.helpRequest);
      if (m) asStaff({ memberId: m.id });
      break;
    }
    case "endSession":
      asStaff({});
      break;
    case "chooseRoom": {
      if (ctx.round?.mode !== "choose") break;
      for (const p of people) {
        const current = phase === "preparing" ? ctx.round.plan[p.id] : p.location;
        const r = roomWithSpace(ctx, roomStatus, current);
        if (r) {
          asMember(p, { roomId: r.id });
          break;
        }
      }
      break;
    }
    case "returnToMain": {
      const p = people.find((x) => x.location !== MAIN_ROOM);
      if (p && ctx.settings.allowSelfReturn) asMember(p, {});
      break;
    }
    case "requestHelp":
      if (people[0]) asMember(people[0], { message: "please come" });
      break;
    case "returnToRoom": {
      const p = people.find((x) => x.location === MAIN_ROOM && x.breakoutRoom !== null);
      if (p) asMember(p, {});
      break;
    }
    case "raiseHand":
      if (people[0]) asMember(people[0], {});
      break;
    case "setAlias":
      if (people[0]) asMember(people[0], { alias: "Sun" });
      break;
    case "requestCheckIn":
      if (people[0] && !ctx.checkIns[people[0].location ?? ""]) asMember(people[0], {});
      break;
    case "startCheckIn": {
      const p = people.find((x) => !ctx.checkIns[x.location ?? ""]);
      if (p && staff && !ctx.checkIns[ctx.members[staff.memberId]?.location ?? ""]) asStaff({ memberId: p.id });
      break;
    }
    case "endCheckIn": {
      const k = Object.keys(ctx.checkIns)[0];
      if (k) asStaff({ checkInId: k });
      break;
    }
    case "lowerHand": {
      if (people[0]) asMember(people[0], {});
      const raised = people.find((x) => x.hand !== null);
      if (raised) asStaff({ memberId: raised.id });
      break;
    }
    case "setMedia":
      if (people[0]) asMember(people[0], { mic: !people[0].media.mic, cam: true });
      break;
    case "sendChat": {
      const p = people[0];
      if (p?.location) asMember(p, { channel: `room:${p.location}`, text: "hi all" });
      if (p) asMember(p, { channel: `private:${p.id}`, text: "a word, please" });
      if (p) asStaff({ channel: `private:${p.id}`, text: "of course" });
      asStaff({ channel: "room:main", text: "welcome" });
      break;
    }
    case "deleteChat": {
      const c = Object.keys(ctx.chat)[0];
      if (c) asStaff({ messageId: c });
      break;
    }
    case "blockMedia":
      if (people[0]) asStaff({ memberId: people[0].id, kind: "audio" });
      if (people[1]) asStaff({ memberId: people[1].id, kind: "video" });
      break;
    case "allowMedia": {
      const blocked = people.find((x) => x.blocked.audio || x.blocked.video);
      if (blocked) asStaff({ memberId: blocked.id, kind: blocked.blocked.audio ? "audio" : "video" });
      // "Ask to unmute" also when nobody muted them (their own microphone is off).
      if (people[0]) asStaff({ memberId: people[0].id, kind: "audio" });
      break;
    }
    case "muteAll":
      asStaff({});
      asStaff({ location: MAIN_ROOM });
      break;
    case "spotlight": {
      const p = people[0];
      if (p) asStaff({ memberId: p.id });
      asStaff({ memberId: null });
      break;
    }
    case "loadPlan":
      asStaff({
        plan: {
          id: "plan-1",
          name: "Group",
          steps: [
            { kind: "main", title: "Check-in", durationSeconds: 600 },
            { kind: "breakouts", title: "Pairs", durationSeconds: 900, mode: "auto", roomSize: 2 },
          ],
        },
      });
      break;
    case "nextStep":
      asStaff({});
      break;
    case "leave": {
      const p = people[people.length - 1] ?? waiting[0];
      if (p) asMember(p, {});
      break;
    }
  }
  return out as WithoutNow<CommandEvent>[];
}

/** Every command type, in the order protocol.ts lists them. */
export const ALL_COMMAND_TYPES = [
  "admit",
  "deny",
  "removeMember",
  "updateSettings",
  "createBreakouts",
  "addRoom",
  "renameRoom",
  "deleteRoom",
  "autoAssign",
  "assign",
  "bulkAssign",
  "preAssign",
  "openBreakouts",
  "move",
  "swap",
  "closeRoom",
  "closeAll",
  "extendRound",
  "broadcast",
  "visitRoom",
  "resolveHelp",
  "endSession",
  "chooseRoom",
  "returnToMain",
  "returnToRoom",
  "raiseHand",
  "requestHelp",
  "leave",
  "sendChat",
  "deleteChat",
  "blockMedia",
  "allowMedia",
  "muteAll",
  "spotlight",
  "lowerHand",
  "setMedia",
  "cancelClosing",
  "setAlias",
  "requestCheckIn",
  "startCheckIn",
  "endCheckIn",
  "loadPlan",
  "nextStep",
  "setPairRule",
] as const satisfies readonly CommandType[];
