/**
 * Property tests: random command sequences (plausible and nonsense commands, random actors including wrong roles,
 * unknown members and the system, unknown ids, joins, media events, random ticks that move time forward) and
 * what must hold after every single step.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAIN_ROOM, type CommandType, type Role } from "../../lib/protocol";
import { prng } from "../../durable-objects/logic/assignment";
import { SessionEngine, sessionLogic } from "../../durable-objects/logic/engine";
import { invariantViolations } from "../../durable-objects/logic/invariants";

import { admittedMembers, type Actor, type CommandEvent, type SessionContext, type SessionEvent } from "../../durable-objects/logic/model";
import { checkCommand } from "../../durable-objects/logic/rules";
import { nextDeadline } from "../../durable-objects/logic/updates";
import { ALL_COMMAND_TYPES, createSession, sampleCommands, type EventInput, type SessionFixture } from "./helpers/session-fixture";

type Step =
  | { kind: "flow"; seed: number }
  | { kind: "cmd"; type: CommandType; plausible: boolean; actorMode: number; seed: number }
  | { kind: "tick"; mode: "small" | "deadline" | "large"; ms: number }
  | { kind: "join"; who: number; role: Role }
  | { kind: "media"; what: "connection" | "arrival" | "quality" | "mediaProblem" | "mediaUpdated"; seed: number };

/** Commands that talk and moderate inside a room without moving anyone through the session. */
// Plan commands too: a plan's steps are breakout commands, which the flow offers on their own already. And the
// therapy side trips (aliases, check-ins), which happen beside a round, not as part of it.
const ROOM_TALK = new Set<string>([
  "sendChat",
  "deleteChat",
  "blockMedia",
  "allowMedia",
  "muteAll",
  "spotlight",
  "raiseHand",
  "lowerHand",
  "setMedia",
  "loadPlan",
  "nextStep",
  "setAlias",
  "requestCheckIn",
  "startCheckIn",
  "endCheckIn",
]);

/** Every command type, with the ones that move a session through its round listed more often. */
const WEIGHTED_TYPES: CommandType[] = [
  ...ALL_COMMAND_TYPES,
  ...(["createBreakouts", "createBreakouts", "openBreakouts", "openBreakouts", "openBreakouts", "move", "move", "swap"] as const),
  ...(["closeRoom", "closeAll", "extendRound", "chooseRoom", "returnToMain", "bulkAssign", "preAssign", "admit"] as const),
  ...(["returnToMain", "returnToRoom", "returnToRoom", "cancelClosing", "cancelClosing"] as const),
];

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  // A command the rules accept right now (any type but endSession), so sequences get somewhere.
  { weight: 10, arbitrary: fc.record({ kind: fc.constant("flow" as const), seed: fc.integer() }) },
  // Any command type: a plausible one or nonsense, from the right actor or anyone.
  {
    weight: 14,
    arbitrary: fc.record({
      kind: fc.constant("cmd" as const),
      type: fc.constantFrom(...WEIGHTED_TYPES),
      plausible: fc.nat({ max: 3 }).map((n) => n > 0),
      actorMode: fc.nat({ max: 9 }),
      seed: fc.integer(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("tick" as const),
      mode: fc.constantFrom("small" as const, "small" as const, "deadline" as const, "deadline" as const, "deadline" as const, "large" as const),
      ms: fc.integer({ min: 0, max: 400_000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("join" as const),
      who: fc.nat({ max: 12 }),
      role: fc.constantFrom<Role>("participant", "participant", "participant", "cofacilitator"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("media" as const),
      what: fc.constantFrom("connection" as const, "arrival" as const, "quality" as const, "mediaProblem" as const, "mediaUpdated" as const),
      seed: fc.integer(),
    }),
  },
);

/** FC_RUNS=5000 npx vitest ... for a long local hunt; the default keeps the unit suite fast. */
const RUNS = Number(process.env.FC_RUNS ?? 200);

const MEMBERSHIP_EVENTS = new Set(["memberJoined", "admit", "leave", "removeMember", "endSession", "tick"]);

/** A random, schema-shaped command with ids picked from what exists, plus unknown ones. */
function randomCommand(type: CommandType, ctx: SessionContext, rand: () => number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const memberIds = [...Object.keys(ctx.members), "m999"];
  const roomIds = [...Object.keys(ctx.rooms), "r999"];
  const places = [...roomIds, MAIN_ROOM];
  const roomOrNull = () => (rand() < 0.2 ? null : pick(roomIds));
  const identities = [...Object.values(ctx.members).map((m) => m.identity), "u-late-1", "u-late-2"];
  switch (type) {
    case "admit":
    case "deny":
    case "removeMember":
    case "resolveHelp":
      return { memberId: pick(memberIds) };
    case "updateSettings":
      return {
        settings: pick([
          { autoAdmit: rand() < 0.5 },
          { lateJoiners: pick(["auto", "main"]) },
          { allowSelfReturn: rand() < 0.5 },
          { closingCountdownSeconds: pick([0, 5, 60, 300]) },
          { emptyRoomTimeoutSeconds: pick([10, 120]) },
          { warningSeconds: pick([0, 30, 60]) },
          { maxSessionSeconds: pick([null, 3600, 14400]) },
          { maxParticipantsPerRoom: pick([1, 2, 3, 50]) },
          { roster: pick(["names", "firstNames", "aliases"]) },
          { supervisedRooms: rand() < 0.5 },
          { agreement: pick(["Be kind.", "Confidential.\n\nNo recording."]) },
        ]),
      };
    case "createBreakouts": {
      const c: Record<string, unknown> = { mode: pick(["auto", "manual", "choose"]) };
      if (rand() < 0.7) c.count = pick([1, 2, 3, 5, 50, 51]);
      else c.names = pick([["A", "B"], ["A", "a"], ["Solo"], ["X", "Y", "Z"]]);
      if (rand() < 0.4) c.capacity = pick([1, 2, 3, 10, null]);
      if (rand() < 0.5) c.durationSeconds = pick([30, 300, null]);
      if (rand() < 0.3) c.includeStaff = [pick(memberIds)];
      return c;
    }
    case "addRoom":
      return rand() < 0.5 ? {} : { name: pick(["A", "Room 1", "Room 3", "Extra"]) };
    case "renameRoom":
      return { roomId: pick(roomIds), name: pick(["A", "B", "Room 2", "Quiet"]) };
    case "deleteRoom":
    case "closeRoom":
      return { roomId: pick(roomIds) };
    case "openBreakouts":
      return rand() < 0.5 ? {} : { confirmUnsupervised: rand() < 0.7 };
    case "autoAssign":
    case "endSession":
    case "returnToMain":
    case "leave":
      return {};
    case "assign":
      return { memberId: pick(memberIds), roomId: roomOrNull(), ...(rand() < 0.3 ? { confirmRule: true } : {}) };
    case "bulkAssign": {
      const n = 1 + Math.floor(rand() * 4);
      return {
        assignments: Array.from({ length: n }, () => ({ memberId: pick(memberIds), roomId: roomOrNull() })),
        ...(rand() < 0.3 ? { confirmRule: true } : {}),
      };
    }
    case "preAssign":
      return { identity: pick(identities), roomId: roomOrNull() };
    case "move":
      return { memberId: pick(memberIds), to: pick(places), ...(rand() < 0.3 ? { confirmRule: true } : {}) };
    case "swap":
      return { memberA: pick(memberIds), memberB: pick(memberIds), ...(rand() < 0.3 ? { confirmRule: true } : {}) };
    case "setPairRule":
      return { memberA: pick(memberIds), memberB: pick(memberIds), rule: pick(["apart", "together", null]) };
    case "closeAll":
      return rand() < 0.4 ? {} : { countdownSeconds: pick([0, 10, 60, 300]) };
    case "extendRound":
      return { seconds: pick([30, 120, 3600]) };
    case "broadcast":
      return rand() < 0.5 ? { text: "hi" } : { text: "hi room", roomId: roomOrNull() };
    case "visitRoom":
      return { to: pick(places) };
    case "chooseRoom":
      return { roomId: pick(roomIds) };
    case "requestHelp":
      return rand() < 0.5 ? {} : { message: "help" };
    case "returnToRoom":
    case "raiseHand":
    case "cancelClosing":
    case "nextStep":
      return {};
    case "loadPlan":
      return {
        plan: {
          id: "p1",
          name: "Group",
          steps: [
            { kind: "main", title: "Check-in", durationSeconds: 600, closingCountdownSeconds: pick([0, 30]) },
            { kind: "breakouts", title: "Pairs", durationSeconds: pick([null, 900]), mode: pick(["auto", "manual", "choose"]), roomSize: 2 },
            { kind: "breakouts", title: "Threes", durationSeconds: 600, mode: "auto", roomCount: pick([1, 2, 3]), includeStaff: rand() < 0.5 },
            { kind: "main", title: "Debrief", durationSeconds: null },
          ],
        },
      };
    case "lowerHand":
      return rand() < 0.5 ? {} : { memberId: pick(memberIds) };
    case "setMedia":
      return { mic: rand() < 0.5, cam: rand() < 0.5, screen: rand() < 0.2 };
    case "sendChat":
      return { channel: rand() < 0.6 ? `room:${pick(places)}` : `private:${pick(memberIds)}`, text: "hello" };
    case "deleteChat":
      return { messageId: pick([...Object.keys(ctx.chat), "c999"]) };
    case "blockMedia":
    case "allowMedia":
      return { memberId: pick(memberIds), kind: pick(["audio", "video", "screen"]) };
    case "muteAll":
      return rand() < 0.5 ? {} : { location: pick(places) };
    case "spotlight":
      return { memberId: rand() < 0.3 ? null : pick(memberIds), ...(rand() < 0.3 ? { location: pick(places) } : {}) };
    case "setAlias":
      return { alias: rand() < 0.3 ? null : pick(["Sun", "Moon", "River"]) };
    case "requestCheckIn":
      return {};
    case "startCheckIn":
      return { memberId: pick(memberIds) };
    case "endCheckIn":
      return { checkInId: pick([...Object.keys(ctx.checkIns), "k999"]) };
  }
}

/** Anyone at all: members of any status and role, with the right role or a claimed wrong one, the system, a stranger. */
function randomActor(ctx: SessionContext, rand: () => number): Actor {
  const members = Object.values(ctx.members);
  const x = rand();
  if (x < 0.08) return { memberId: "system", role: "system" };
  if (x < 0.14) return { memberId: "m999", role: "facilitator" };
  const m = members[Math.floor(rand() * members.length)];
  if (x < 0.3) return { memberId: m.id, role: (["facilitator", "cofacilitator", "participant"] as const)[Math.floor(rand() * 3)] };
  return { memberId: m.id, role: m.role };
}

function buildEvent(s: SessionFixture, step: Step): EventInput | { at: number } {
  const ctx = s.ctx;
  switch (step.kind) {
    case "tick": {
      if (step.mode === "small") return { at: s.now + (step.ms % 20_000) };
      if (step.mode === "large") return { at: s.now + step.ms * 3 };
      // Exactly at the next deadline (round end, warning, countdown, empty room); the session's own end only rarely.
      const d = nextDeadline(ctx, s.phase);
      const sessionEnd = ctx.settings.maxSessionSeconds === null ? null : ctx.createdAt + ctx.settings.maxSessionSeconds * 1000;
      if (d === null || d <= s.now || (d === sessionEnd && step.ms % 8 !== 0)) return { at: s.now + (step.ms % 20_000) };
      return { at: d };
    }
    case "join":
      return { type: "memberJoined", identity: `u-j-${step.who}`, name: `J${step.who}`, role: step.role };
    case "media": {
      const rand = prng(step.seed);
      const ids = [...Object.keys(ctx.members), "m999"];
      const id = ids[Math.floor(rand() * ids.length)];
      if (step.what === "connection") return { type: "connection", memberId: id, connected: rand() < 0.5 };
      if (step.what === "arrival") return { type: "arrival", memberId: id, mediaRoom: rand() < 0.5 ? null : "mb-s-test-main" };
      if (step.what === "quality") return { type: "quality", memberId: id, level: Math.floor(rand() * 6) };
      if (step.what === "mediaProblem") return { type: "mediaProblem", memberId: id, code: rand() < 0.5 ? null : "NotAllowedError" };
      return { type: "mediaUpdated", media: { key: MAIN_ROOM, name: "mb-s-test-main", status: "ready", sid: "RM1", error: null } };
    }
    case "flow": {
      const rand = prng(step.seed);
      const phase = s.phase;
      const candidates = ALL_COMMAND_TYPES.filter((t) => t !== "endSession")
        .flatMap((t) => sampleCommands(ctx, phase, t))
        .filter((e) => checkCommand(ctx, phase, { ...e, now: s.now } as CommandEvent) === null);
      if (candidates.length === 0) return { at: s.now + 1000 };
      // Room talk (chat, hands, media state, moderation) is picked less often, so sequences still move through rounds.
      const lifecycle = candidates.filter((e) => !ROOM_TALK.has(e.type));
      // Stepping out of a room and back needs two steps in one round: offer them more often.
      const stepping = candidates.filter((e) => e.type === "returnToMain" || e.type === "returnToRoom");
      const pool = stepping.length && rand() < 0.15 ? stepping : lifecycle.length && rand() < 0.75 ? lifecycle : candidates;
      return pool[Math.floor(rand() * pool.length)];
    }
    case "cmd": {
      const rand = prng(step.seed);
      let event: Record<string, unknown> | undefined;
      if (step.plausible) {
        const samples = sampleCommands(ctx, s.phase, step.type);
        if (samples.length) event = { ...samples[Math.floor(rand() * samples.length)] };
      }
      if (!event) event = { type: step.type, ...randomCommand(step.type, ctx, rand), actor: s.as("m1") };
      // Mostly the sample's own actor (or the facilitator); sometimes anyone, with any claimed role.
      if (step.actorMode >= 7 || !step.plausible) event.actor = step.actorMode >= 4 || !step.plausible ? randomActor(ctx, rand) : event.actor;
      return event as EventInput;
    }
  }
}

const admittedIds = (ctx: SessionContext) =>
  admittedMembers(ctx)
    .map((m) => m.id)
    .sort();

interface RoundWatch {
  members: string[];
  dirty: boolean;
}

function runSequence(steps: Step[], opts: { participants: number; autoAdmit: boolean; seed: number }) {
  const s = createSession({
    participants: opts.participants,
    cofacilitators: 1,
    waiting: opts.autoAdmit ? 0 : 1,
    seed: opts.seed,
    settings: { autoAdmit: opts.autoAdmit, emptyRoomTimeoutSeconds: 60, maxSessionSeconds: 6 * 3600 },
    checkInvariants: false,
  });
  let round: RoundWatch | null = null;
  for (const step of steps) {
    const built = buildEvent(s, step);
    const before = s.engine.snapshot;
    const prevPhase = s.phase;
    const event: EventInput = "at" in built ? { type: "tick" } : built;
    const at = "at" in built ? built.at : s.now + 1000;
    const result = s.dispatchAt(event, at);
    const ctx = s.ctx;
    const phase = s.phase;
    const label = () => `${JSON.stringify({ ...event, now: at })} in ${prevPhase}`;

    // 1. Invariants after every step.
    expect(invariantViolations(ctx, phase), label()).toEqual([]);

    // 2. A refusal changes nothing, in the engine and in the engine's actor logic (what model-based tools traverse).
    if (!result.ok) {
      expect(ctx, label()).toBe(before.context);
      expect(phase).toBe(prevPhase);
      const raw = sessionLogic.transition(before, { ...event, now: at } as SessionEvent, undefined as never);
      expect(raw, label()).toBe(before);
    } else {
      expect(result.prev).toBe(before.context);
      expect(result.next).toBe(ctx);
    }

    // 3. Nobody appears or disappears except through membership events.
    if (!MEMBERSHIP_EVENTS.has(event.type)) expect(admittedIds(ctx), label()).toEqual(admittedIds(before.context));
    if (phase === "ended") expect(admittedIds(ctx)).toEqual([]);

    // 4. In the main room phase, everyone admitted is in main; nobody is counted twice anywhere.
    if (phase === "main") for (const m of admittedMembers(ctx)) if (!ctx.checkIns[m.location ?? ""]) expect(m.location, label()).toBe(MAIN_ROOM);
    const places = new Map<string, number>();
    for (const m of admittedMembers(ctx)) places.set(m.location!, (places.get(m.location!) ?? 0) + 1);
    expect([...places.values()].reduce((a, b) => a + b, 0)).toBe(admittedMembers(ctx).length);

    // 5. The plan only names admitted members and preparing rooms, within capacity.
    if (phase === "preparing") {
      const count = new Map<string, number>();
      for (const [memberId, roomId] of Object.entries(ctx.round!.plan)) {
        expect(ctx.members[memberId].status, label()).toBe("admitted");
        expect(ctx.rooms[roomId].status, label()).toBe("preparing");
        count.set(roomId, (count.get(roomId) ?? 0) + 1);
      }
      for (const [roomId, n] of count) expect(n, `${label()} plan for ${roomId}`).toBeLessThanOrEqual(ctx.rooms[roomId].capacity);
    }

    // 6. Automatic assignment: everyone to place, staff only when included, sizes within one when capacity suffices.
    if (result.ok && "actor" in event && (event.type === "createBreakouts" || event.type === "autoAssign")) {
      const e = event as Extract<CommandEvent, { type: "createBreakouts" }>;
      if (event.type === "autoAssign" || e.mode === "auto") {
        const include = event.type === "createBreakouts" ? (e.includeStaff ?? []) : [];
        const plan = ctx.round!.plan;
        const fixed = new Set(
          admittedMembers(ctx)
            .filter((m) => ctx.preAssignments[m.identity])
            .map((m) => m.id),
        );
        for (const m of admittedMembers(ctx)) {
          if (m.role === "participant" || include.includes(m.id)) expect(plan[m.id], label()).toBeDefined();
          else if (!fixed.has(m.id)) expect(plan[m.id], label()).toBeUndefined();
        }
        const rooms = Object.values(ctx.rooms).filter((r) => r.status === "preparing");
        const n = Object.keys(plan).length;
        // Under pairing rules an even plan may not exist; assignment-pairing.test.ts checks evenness whenever one does.
        if (fixed.size === 0 && !ctx.pairRules?.length && rooms.every((r) => r.capacity >= Math.ceil(n / rooms.length))) {
          const sizes = rooms.map((r) => Object.values(plan).filter((x) => x === r.id).length);
          expect(Math.max(...sizes) - Math.min(...sizes), label()).toBeLessThanOrEqual(1);
        }
      }
    }

    // 7. Across a round: the people admitted when it was created are all back in main when it ends.
    if (result.ok && event.type === "createBreakouts") round = { members: admittedIds(before.context), dirty: false };
    if (round && result.ok && MEMBERSHIP_EVENTS.has(event.type) && event.type !== "tick") round.dirty = true;
    if (round && event.type === "tick" && JSON.stringify(admittedIds(ctx)) !== JSON.stringify(admittedIds(before.context))) round.dirty = true;
    if (round && phase === "main" && prevPhase !== "main") {
      if (!round.dirty) expect(admittedIds(ctx), label()).toEqual(round.members);
      // Except those in a private check-in: it outlasts the round and ends into the main room.
      for (const id of admittedIds(ctx)) if (!ctx.checkIns[ctx.members[id].location ?? ""]) expect(ctx.members[id].location).toBe(MAIN_ROOM);
      round = null;
    }
    if (phase === "ended") round = null;

    // 8. A tick handles everything due by then: the next deadline is later (or there is none).
    if (event.type === "tick") {
      const d = nextDeadline(ctx, phase);
      if (d !== null) expect(d, label()).toBeGreaterThan(at);
    }

    // 9. Notices match what changed: session end, closing countdown, new people in the waiting room.
    if (result.ok) {
      const kinds = result.notices.map((n) => n.kind);
      if (phase === "ended" && prevPhase !== "ended") expect(kinds, label()).toContain("sessionEnded");
      if (phase === "closing" && prevPhase === "open")
        expect(result.notices, label()).toContainEqual({ kind: "closingCountdown", closesAt: ctx.round!.closesAt });
      const newlyWaiting = Object.values(ctx.members)
        .filter((m) => m.status === "waiting" && before.context.members[m.id]?.status !== "waiting")
        .map((m) => m.id);
      const requested = result.notices.flatMap((n) => (n.kind === "joinRequest" ? [n.memberId] : []));
      expect(requested, label()).toEqual(newlyWaiting);
    }

    // 10. Persist → JSON → restore gives the same phase and context.
    const again = SessionEngine.restore(JSON.parse(JSON.stringify(s.engine.persisted())));
    expect(again.phase).toBe(phase);
    expect(again.context).toEqual(ctx);
  }
  return s;
}

describe("random command sequences", () => {
  it("keep every invariant, refuse without side effects, lose nobody, restore exactly", { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 1, maxLength: 60, size: "max" }),
        fc.integer({ min: 2, max: 9 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (steps, participants, autoAdmit, seed) => {
          runSequence(steps, { participants, autoAdmit, seed });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("reach every phase often enough to mean something", { timeout: 60_000 }, () => {
    // Guards against a generator that never leaves the main room: over a fixed sample, each phase is visited.
    const seen = new Map<string, number>();
    const accepted = new Map<string, number>();
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 20, maxLength: 60, size: "max" }), fc.integer({ min: 2, max: 9 }), (steps, participants) => {
        const s = createSession({ participants, cofacilitators: 1, checkInvariants: false, settings: { maxSessionSeconds: 6 * 3600 } });
        for (const step of steps) {
          const built = buildEvent(s, step);
          const r = "at" in built ? s.tickTo(built.at) : s.dispatchAt(built, s.now + 1000);
          seen.set(s.phase, (seen.get(s.phase) ?? 0) + 1);
          const type = "at" in built ? "tick" : built.type;
          if (r.ok) accepted.set(type, (accepted.get(type) ?? 0) + 1);
        }
      }),
      { numRuns: 120, seed: 7 },
    );
    for (const phase of ["main", "preparing", "open", "closing", "ended"]) expect(seen.get(phase) ?? 0, phase).toBeGreaterThan(20);
    for (const type of ALL_COMMAND_TYPES) expect(accepted.get(type) ?? 0, `${type} accepted`).toBeGreaterThan(0);
  });

  it("large sessions near the 50-person limit keep invariants", { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40, size: "max" }), fc.integer({ min: 40, max: 48 }), (steps, participants) => {
        runSequence(steps, { participants, autoAdmit: true, seed: 1 });
      }),
      { numRuns: 40 },
    );
  });
});
