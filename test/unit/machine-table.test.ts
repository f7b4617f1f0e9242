/**
 * The phase × command table and the role table: rules.ts (PHASES, COMMAND_ROLES) and the machine's states must say
 * the same thing about which command can run where and by whom.
 */
import { __unsafe_getAllOwnEventDescriptors } from "xstate";
import { describe, expect, it } from "vitest";
import { COMMAND_ROLES, COMMAND_TYPES, CommandSchema, type CommandType, type Role, type SessionPhase } from "../../lib/protocol";
import { SessionEngine } from "../../durable-objects/logic/engine";
import type { CommandEvent } from "../../durable-objects/logic/model";
import { checkCommand, PHASES } from "../../durable-objects/logic/rules";
import { ALL_COMMAND_TYPES, createSession, sampleCommands, type SessionFixture } from "./helpers/session-fixture";

const LIVE_PHASES = ["main", "preparing", "open", "closing"] as const;
const ALL_PHASES: readonly SessionPhase[] = [...LIVE_PHASES, "ended"];

/** Sessions in each phase, in variants that between them make every command possible somewhere. */
function variants(): { name: string; phase: SessionPhase; s: SessionFixture }[] {
  const base = () => {
    const s = createSession({ participants: 6, cofacilitators: 1, waiting: 2 });
    s.ok("requestHelp", { message: "hi" }, s.as(s.participants[0]));
    s.ok("sendChat", { channel: "room:main", text: "welcome" });
    s.ok("raiseHand", {}, s.as(s.participants[3]));
    // A private check-in going on (the co-facilitator with a client), so endCheckIn is possible everywhere.
    s.ok("startCheckIn", { memberId: s.participants[5] }, s.as(s.cofacilitators[0]));
    // A plan, so "nextStep" is possible in every live phase (its first step, a main-room step, fits anywhere).
    s.ok("loadPlan", { plan: { id: "plan-1", name: "Group", steps: [{ kind: "main", title: "Together", durationSeconds: null }] } });
    return s;
  };
  const out: { name: string; phase: SessionPhase; s: SessionFixture }[] = [];
  out.push({ name: "main", phase: "main", s: base() });
  for (const mode of ["auto", "choose"] as const) {
    const prep = base();
    prep.ok("createBreakouts", { count: 3, mode, durationSeconds: 600 });
    out.push({ name: `preparing/${mode}`, phase: "preparing", s: prep });
    const open = base();
    open.ok("createBreakouts", { count: 3, mode, durationSeconds: 600 });
    open.ok("openBreakouts");
    if (mode === "choose") open.ok("chooseRoom", { roomId: open.openRoomIds()[0] }, open.as(open.participants[1]));
    // Someone went back to the main room by themselves (and may return to their room).
    if (mode === "auto") open.ok("returnToMain", {}, open.as(open.participants[4]));
    out.push({ name: `open/${mode}`, phase: "open", s: open });
    const closing = base();
    closing.ok("createBreakouts", { count: 3, mode, durationSeconds: 600 });
    closing.ok("openBreakouts");
    if (mode === "choose") closing.ok("chooseRoom", { roomId: closing.openRoomIds()[0] }, closing.as(closing.participants[1]));
    if (mode === "auto") closing.ok("returnToMain", {}, closing.as(closing.participants[4]));
    closing.ok("closeAll", { countdownSeconds: 120 });
    out.push({ name: `closing/${mode}`, phase: "closing", s: closing });
  }
  const ended = base();
  ended.ok("endSession");
  out.push({ name: "ended", phase: "ended", s: ended });
  for (const v of out) expect(v.s.phase, v.name).toBe(v.phase);
  return out;
}

/** A copy of a fixture's engine, restored from its persisted snapshot, so each probe starts from the same state. */
const copyOf = (s: SessionFixture) => SessionEngine.restore(JSON.parse(JSON.stringify(s.engine.persisted())));

describe("command vocabulary", () => {
  it("every list of command types agrees", () => {
    const schemaTypes = CommandSchema.options.map((o) => o.shape.type.value).sort();
    const all = [...ALL_COMMAND_TYPES].sort();
    expect(schemaTypes).toEqual(all);
    expect(Object.keys(COMMAND_ROLES).sort()).toEqual(all);
    expect(Object.keys(PHASES).sort()).toEqual(all);
    expect([...COMMAND_TYPES].sort()).toEqual(all);
  });
});

describe("phase × command table", () => {
  const vs = variants();

  it("the machine handles each command in exactly the phases PHASES names", () => {
    for (const { name, phase, s } of vs) {
      const handled = new Set(__unsafe_getAllOwnEventDescriptors(s.engine.snapshot).filter((t: string) => (COMMAND_TYPES as readonly string[]).includes(t)));
      const expected = ALL_COMMAND_TYPES.filter((t) => PHASES[t].includes(phase));
      expect([...handled].sort(), name).toEqual([...expected].sort());
    }
  });

  it("for every phase × command type, a command the rules allow is accepted by the machine", () => {
    const acceptedIn = new Map<SessionPhase, Set<CommandType>>(ALL_PHASES.map((p) => [p, new Set()]));
    for (const { name, phase, s } of vs) {
      for (const type of ALL_COMMAND_TYPES) {
        for (const sample of sampleCommands(s.ctx, phase, type)) {
          const engine = copyOf(s);
          const event = { ...sample, now: s.now + 1000 } as CommandEvent;
          const refusal = checkCommand(engine.context, phase, event);
          const label = `${name}: ${JSON.stringify(sample)}`;
          // The machine handles the command in exactly the phases the rules allow it in (data is the rules' question).
          expect(engine.snapshot.can(event), label).toBe(PHASES[type].includes(phase));
          const r = engine.dispatch(event);
          expect(r.ok, label).toBe(refusal === null);
          if (!PHASES[type].includes(phase)) expect(refusal?.code, label).toBe(phase === "ended" ? "SESSION_ENDED" : "INVALID_STATE");
          if (r.ok) acceptedIn.get(phase)!.add(type);
        }
      }
    }
    for (const phase of ALL_PHASES) {
      const want = ALL_COMMAND_TYPES.filter((t) => PHASES[t].includes(phase)).sort();
      const got = [...acceptedIn.get(phase)!].sort();
      expect(got, `${phase}: never accepted ${want.filter((t) => !got.includes(t)).join(", ")}`).toEqual(want);
    }
  });

  it("a command outside its phases is refused as INVALID_STATE (SESSION_ENDED once ended), whatever its data", () => {
    // Samples built for a phase where the command makes sense, sent in every other phase.
    const donors = new Map<CommandType, Omit<CommandEvent, "now">>();
    for (const { phase, s } of vs) for (const t of ALL_COMMAND_TYPES) if (!donors.has(t)) for (const c of sampleCommands(s.ctx, phase, t)) donors.set(t, c);
    expect([...donors.keys()].sort()).toEqual([...ALL_COMMAND_TYPES].sort());
    for (const { name, phase, s } of vs) {
      for (const [type, donor] of donors) {
        if (PHASES[type].includes(phase)) continue;
        const engine = copyOf(s);
        const before = engine.context;
        // Keep the donor's data, but send it from someone of the right role in this session.
        const actor = donor.actor.role === "participant" ? s.as(s.participants[2]) : s.as(s.facilitator);
        const r = engine.dispatch({ ...donor, actor, now: s.now + 1000 } as CommandEvent);
        expect(r.ok ? "accepted" : r.error.code, `${name}: ${type}`).toBe(phase === "ended" ? "SESSION_ENDED" : "INVALID_STATE");
        expect(engine.context).toBe(before);
      }
    }
  });
});

describe("role table", () => {
  const vs = variants();
  const roleOf: Record<Role, (s: SessionFixture) => string> = {
    facilitator: (s) => s.facilitator,
    cofacilitator: (s) => s.cofacilitators[0],
    participant: (s) => s.participants[2],
  };

  it("each command runs only for the roles COMMAND_ROLES names; others get FORBIDDEN, and so does a claimed role", () => {
    const allowedSeen = new Set<string>();
    for (const { name, phase, s } of vs) {
      if (phase === "ended") continue;
      for (const type of ALL_COMMAND_TYPES) {
        for (const sample of sampleCommands(s.ctx, phase, type)) {
          if (checkCommand(s.ctx, phase, { ...sample, now: s.now + 1000 } as CommandEvent) !== null) continue;
          for (const role of ["facilitator", "cofacilitator", "participant"] as const) {
            const who = roleOf[role](s);
            const engine = copyOf(s);
            const r = engine.dispatch({ ...sample, actor: { memberId: who, role }, now: s.now + 1000 } as CommandEvent);
            const label = `${name}: ${type} by ${role}`;
            if (!COMMAND_ROLES[type].includes(role)) expect(r.ok ? "accepted" : r.error.code, label).toBe("FORBIDDEN");
            else if (!r.ok && r.error.code === "FORBIDDEN") {
              // Only the documented data rules refuse an allowed role (docs/authorization.md): a participant writing
              // in another place's chat or another member's private channel, or lowering someone else's hand.
              expect(role, label).toBe("participant");
              expect(["sendChat", "lowerHand"], label).toContain(type);
            } else {
              expect(r.ok ? "accepted" : r.error.code, label).not.toBe("FORBIDDEN");
              allowedSeen.add(`${type}:${role}`);
            }
            // Claiming a role one does not have never helps.
            for (const claimed of ["facilitator", "cofacilitator", "participant"] as const) {
              if (claimed === role) continue;
              const e2 = copyOf(s);
              const r2 = e2.dispatch({ ...sample, actor: { memberId: who, role: claimed }, now: s.now + 1000 } as CommandEvent);
              expect(r2.ok ? "accepted" : r2.error.code, `${label} claiming ${claimed}`).toBe("FORBIDDEN");
            }
          }
        }
      }
    }
    for (const type of ALL_COMMAND_TYPES) for (const role of COMMAND_ROLES[type]) expect(allowedSeen, `${type}:${role}`).toContain(`${type}:${role}`);
  });

  it("strangers, waiting, denied and departed members are turned away", () => {
    const s = createSession({ participants: 3, waiting: 2 });
    s.ok("deny", { memberId: s.waiting[1] });
    s.ok("leave", {}, s.as(s.participants[2]));
    s.refused("UNAUTHENTICATED", "requestHelp", {}, { memberId: "m999", role: "participant" });
    s.refused("NOT_ADMITTED", "requestHelp", {}, s.as(s.waiting[0]));
    s.refused("FORBIDDEN", "requestHelp", {}, s.as(s.waiting[1]));
    s.refused("FORBIDDEN", "requestHelp", {}, s.as(s.participants[2]));
    // A waiting person may still walk away.
    s.ok("leave", {}, s.as(s.waiting[0]));
    expect(s.member(s.waiting[0]).status).toBe("left");
  });

  it("the system actor passes role checks but still needs valid data", () => {
    const s = createSession({ participants: 3 });
    s.ok("createBreakouts", { count: 2 }, { memberId: "system", role: "system" });
    s.refused("MEMBER_NOT_FOUND", "requestHelp", {}, { memberId: "system", role: "system" });
    s.refused("INVALID_STATE", "leave", {}, { memberId: "system", role: "system" });
  });
});
