/**
 * Model-based tests with @xstate/graph: the session machine is traversed from a populated session, every reachable
 * abstract state is offered a sample of every event type, and
 *   - shortest paths reach live.main, live.breakout.preparing/open/closing and ended, and replaying each path through
 *     the SessionEngine gives the same phase and context at every step, with invariants holding;
 *   - every edge of the traversal (state × event) keeps the invariants, refusals change nothing, accepted commands
 *     land in the expected phase, and every command the rules allow in a phase is taken there at least once.
 *
 * Time: events carry `now`. The traversal remembers, beside each snapshot it produced, the time of the event that
 * produced it (a WeakMap; the machine itself is unchanged), so every path moves time forward only.
 */
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths } from "@xstate/graph";
import type { ActorLogic } from "xstate";
import { beforeAll, describe, expect, it } from "vitest";
import type { CommandType, SessionPhase } from "../../lib/protocol";
import { invariantViolations } from "../../durable-objects/logic/invariants";
import { sessionLogic } from "../../durable-objects/logic/engine";
import { phaseOf, sessionMachine, type SessionSnapshot } from "../../durable-objects/logic/machine";
import { admittedMembers, isCommandEvent, openRooms, type SessionContext, type SessionEvent, type SessionInput } from "../../durable-objects/logic/model";
import { checkCommand, PHASES } from "../../durable-objects/logic/rules";
import { sessionEndsAt, warningAt } from "../../durable-objects/logic/updates";
import { ALL_COMMAND_TYPES, createSession, sampleCommands, type SessionFixture } from "./helpers/session-fixture";

const clockOf = new WeakMap<object, number>();
const timeOf = (s: SessionSnapshot) =>
  clockOf.get(s) ??
  (() => {
    throw new Error("snapshot without a clock");
  })();

/** The engine (rules + machine), with the traversal's clock kept beside each snapshot it returns. */
const timedMachine: typeof sessionMachine = Object.create(sessionMachine, {
  transition: {
    value: (snapshot: SessionSnapshot, event: SessionEvent, scope: Parameters<typeof sessionMachine.transition>[2]) => {
      const next = sessionLogic.transition(snapshot, event, scope as never) as SessionSnapshot;
      if (next !== snapshot) clockOf.set(next, Math.max(timeOf(snapshot), event.now));
      return next;
    },
  },
});

/** What distinguishes states for the traversal: the machine state plus a few facts that change what is possible. */
function abstractState(s: SessionSnapshot): string {
  const c = s.context;
  const live = Object.values(c.rooms).filter((r) => r.status !== "closed").length;
  return JSON.stringify({
    value: s.value,
    rooms: Math.min(live, 3),
    someoneInARoom: admittedMembers(c).some((m) => m.location !== "main"),
    mode: c.round?.mode ?? null,
    timed: c.round?.endsAt != null,
    warned: c.round?.warned ?? false,
    waiting: Object.values(c.members).some((m) => m.status === "waiting"),
    help: Object.values(c.members).some((m) => m.helpRequest),
    chat: Object.keys(c.chat).length > 0,
    steppedOut: admittedMembers(c).some((m) => m.location === "main" && m.breakoutRoom !== null),
    checkIn: Object.keys(c.checkIns).length > 0,
    pairRules: (c.pairRules?.length ?? 0) > 0,
  });
}

/** Every event type, with concrete samples for this state: all commands (from the right actors), system events, ticks. */
function eventsFor(s: SessionSnapshot): SessionEvent[] {
  const ctx = s.context;
  const phase = phaseOf(s);
  const t = timeOf(s) + 1000;
  const out: SessionEvent[] = [];
  for (const type of ALL_COMMAND_TYPES) for (const e of sampleCommands(ctx, phase, type)) out.push({ ...e, now: t } as SessionEvent);
  out.push({ type: "memberJoined", identity: `u-g-${ctx.nextMemberNumber}`, name: "Guest", role: "participant", now: t });
  out.push({ type: "connection", memberId: "m2", connected: !ctx.members.m2?.connected, now: t });
  out.push({ type: "arrival", memberId: "m2", mediaRoom: "mb-s-test-main", now: t });
  out.push({ type: "quality", memberId: "m2", level: 3, now: t });
  out.push({ type: "mediaProblem", memberId: "m2", code: ctx.members.m2?.mediaProblem ? null : "53405", now: t });
  out.push({ type: "mediaUpdated", media: { key: "main", name: "mb-s-test-main", status: "ready", sid: "RM1", error: null }, now: t });
  // Ticks: a second later, and exactly at each deadline still ahead.
  const deadlines = new Set<number>([t]);
  const w = warningAt(ctx);
  if (w !== null) deadlines.add(w);
  if (ctx.round?.endsAt != null) deadlines.add(ctx.round.endsAt);
  if (ctx.round?.closesAt != null) deadlines.add(ctx.round.closesAt);
  for (const r of openRooms(ctx)) if (r.emptySince !== null) deadlines.add(r.emptySince + ctx.settings.emptyRoomTimeoutSeconds * 1000);
  const end = sessionEndsAt(ctx);
  if (end !== null) deadlines.add(end);
  for (const at of deadlines) if (at >= t) out.push({ type: "tick", now: at });
  return out;
}

const VALUES: Record<SessionPhase, unknown> = {
  main: { live: "main" },
  preparing: { live: { breakout: "preparing" } },
  open: { live: { breakout: "open" } },
  closing: { live: { breakout: "closing" } },
  ended: "ended",
};

function newFixture(): SessionFixture {
  const s = createSession({
    participants: 4,
    cofacilitators: 1,
    waiting: 2,
    settings: { maxSessionSeconds: 3 * 3600, emptyRoomTimeoutSeconds: 120, warningSeconds: 60, closingCountdownSeconds: 60 },
  });
  // A plan is loaded, so "nextStep" is on offer from the start (the plan's step is not part of the abstract state).
  s.ok("loadPlan", { plan: { id: "plan-1", name: "Group", steps: [{ kind: "main", title: "Together", durationSeconds: null }] } });
  return s;
}

function startSnapshot(s: SessionFixture): SessionSnapshot {
  const snap = s.engine.snapshot;
  clockOf.set(snap, s.now);
  return snap;
}

const traversal = { events: eventsFor, serializeState: abstractState, limit: 200_000 } as const;

/** Which phase an accepted command must lead to. */
function expectedPhase(event: SessionEvent, before: SessionContext, from: SessionPhase, after: SessionContext): SessionPhase[] {
  switch (event.type) {
    case "createBreakouts":
      return ["preparing"];
    case "openBreakouts":
      return ["open"];
    case "endSession":
      return ["ended"];
    case "extendRound":
    case "cancelClosing":
      return ["open"];
    case "closeAll": {
      if (from !== "open") return ["main"];
      const seconds = event.countdownSeconds ?? before.settings.closingCountdownSeconds;
      return seconds === 0 ? ["main"] : ["closing"];
    }
    case "closeRoom":
      return openRooms(after).length === 0 ? ["main"] : [from];
    case "nextStep": {
      // Where the plan's step puts the session: the main room (after a countdown, if it has one), or a new round.
      const step = before.plan?.steps[before.plan.index + 1];
      if (!step) return [from];
      if (step.kind === "main") return from === "open" && (step.closingCountdownSeconds ?? 0) > 0 ? ["closing"] : ["main"];
      return [step.mode === "manual" ? "preparing" : "open"];
    }
    default:
      return [from];
  }
}

describe("model-based traversal of the session machine", { timeout: 60_000 }, () => {
  let fixture: SessionFixture;
  let start: SessionSnapshot;
  let paths: ReturnType<typeof getShortestPaths<typeof sessionMachine>>;
  let edges: { state: SessionSnapshot; event: SessionEvent; nextState: SessionSnapshot }[];

  beforeAll(() => {
    fixture = newFixture();
    start = startSnapshot(fixture);
    paths = getShortestPaths(timedMachine, { ...traversal, fromState: start });
    // getAdjacencyMap's signature trips over the machine's emitted-event type; the logic is the same object.
    const logic = timedMachine as unknown as ActorLogic<SessionSnapshot, SessionEvent, SessionInput>;
    edges = adjacencyMapToArray(getAdjacencyMap(logic, { ...traversal, fromState: start }));
  }, 60_000);

  it("reaches every state of the machine", () => {
    const reached = new Set(paths.map((p) => JSON.stringify(p.state.value)));
    for (const value of Object.values(VALUES)) expect(reached, JSON.stringify(value)).toContain(JSON.stringify(value));
    expect(paths.length).toBeGreaterThan(20);
  });

  it("replays every shortest path through the engine with the same phases, contexts and invariants", () => {
    for (const path of paths) {
      const s = newFixture();
      expect(path.steps[0].event.type).toBe("xstate.init");
      for (const step of path.steps.slice(1)) {
        const e = step.event;
        const r = s.dispatchAt(e as never, e.now);
        const label = `${path.steps
          .slice(1)
          .map((x) => x.event.type)
          .join(" → ")} at ${e.type}`;
        expect(r.ok, label).toBe(true);
        expect(s.engine.snapshot.value, label).toEqual(step.state.value);
        expect(s.phase, label).toBe(phaseOf(step.state));
        expect(abstractState(s.engine.snapshot), label).toBe(abstractState(step.state));
        expect(invariantViolations(s.ctx, s.phase), label).toEqual([]);
      }
    }
  });

  it("keeps invariants on every edge; refusals change nothing; accepted commands land where they should", () => {
    for (const { state, event, nextState } of edges) {
      const from = phaseOf(state);
      const to = phaseOf(nextState);
      const label = `${JSON.stringify(event)} in ${from}`;
      expect(nextState.status, label).toBe("active");
      expect(invariantViolations(nextState.context, to), label).toEqual([]);
      expect(nextState.value, label).toEqual(VALUES[to]);
      if (!isCommandEvent(event)) continue;
      const refusal = checkCommand(state.context, from, event);
      // The bare machine handles a command in exactly the phases the rules allow it in (the rules read them off it).
      if (!refusal || (refusal.code === "INVALID_STATE" && !PHASES[event.type].includes(from))) expect(state.can(event), label).toBe(refusal === null);
      if (refusal) {
        expect(nextState, label).toBe(state);
      } else {
        expect(expectedPhase(event, state.context, from, nextState.context), label).toContain(to);
      }
    }
  });

  it("takes every command the rules allow in every phase, and refuses the rest as out of state", () => {
    const accepted = new Map<SessionPhase, Set<CommandType>>();
    const offered = new Map<SessionPhase, Set<CommandType>>();
    for (const { state, event } of edges) {
      if (!isCommandEvent(event)) continue;
      const phase = phaseOf(state);
      if (!offered.has(phase)) offered.set(phase, new Set());
      offered.get(phase)!.add(event.type);
      const refusal = checkCommand(state.context, phase, event);
      if (refusal === null) {
        if (!accepted.has(phase)) accepted.set(phase, new Set());
        accepted.get(phase)!.add(event.type);
      } else if (!PHASES[event.type].includes(phase)) {
        expect(refusal.code).toBe(phase === "ended" ? "SESSION_ENDED" : "INVALID_STATE");
      }
    }
    for (const phase of ["main", "preparing", "open", "closing"] as const) {
      const want = ALL_COMMAND_TYPES.filter((t) => PHASES[t].includes(phase)).sort();
      const got = [...(accepted.get(phase) ?? [])].sort();
      expect(got, `${phase}: never accepted ${want.filter((t) => !got.includes(t)).join(", ")}`).toEqual(want);
    }
    // Once ended, every command (staff ones from the facilitator, who has left like everyone) is refused as ended.
    expect(accepted.get("ended")).toBeUndefined();
    expect(offered.get("ended")?.size ?? 0).toBeGreaterThanOrEqual(8);
  });

  it("covers each kind of timed transition", () => {
    const seen = new Set<string>();
    for (const { state, event, nextState } of edges) {
      if (event.type !== "tick") continue;
      const from = phaseOf(state);
      const to = phaseOf(nextState);
      if (from !== to) seen.add(`${from}→${to}`);
      if (!state.context.round?.warned && nextState.context.round?.warned) seen.add("warning");
      const closedBefore = Object.values(state.context.rooms).filter((r) => r.status === "closed").length;
      const closedAfter = Object.values(nextState.context.rooms).filter((r) => r.status === "closed").length;
      if (from === to && closedAfter > closedBefore) seen.add(`empty room closed in ${from}`);
    }
    for (const want of ["main→ended", "preparing→ended", "open→ended", "closing→ended", "open→closing", "closing→main", "warning", "empty room closed in open"])
      expect(seen, want).toContain(want);
  });
});
