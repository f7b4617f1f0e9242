/**
 * Pairing rules in the session (issue 15 item 5): staff set "apart"/"together" rules with setPairRule; automatic
 * assignment (autoAssign, createBreakouts in auto mode, plan steps, late joiners) honours them and says when no
 * assignment can; manual placements that break one are refused (PAIRING_RULE) unless confirmed; only staff see them;
 * they survive a reload; a removed member's rules go.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CommandSchema, MAIN_ROOM, MAX_PAIR_RULES } from "../../lib/protocol";
import { participantView, staffState, diffForStaff } from "../../durable-objects/logic/views";
import { createSession, type SessionFixture } from "./helpers/session-fixture";

const planOf = (s: SessionFixture) => s.ctx.round!.plan;

describe("setPairRule", () => {
  it("sets, replaces and removes one rule per pair, whichever way round the pair is named", () => {
    const s = createSession({ participants: 4 });
    const [a, b] = s.participants;
    s.ok("setPairRule", { memberA: b, memberB: a, rule: "apart" });
    expect(s.ctx.pairRules).toEqual([{ memberA: a, memberB: b, rule: "apart" }]);
    s.ok("setPairRule", { memberA: a, memberB: b, rule: "together" });
    expect(s.ctx.pairRules).toEqual([{ memberA: a, memberB: b, rule: "together" }]);
    s.ok("setPairRule", { memberA: b, memberB: a, rule: null });
    expect(s.ctx.pairRules).toEqual([]);
  });

  it("refuses a rule with oneself, with someone unknown or gone, removing a rule that is not there, and past the limit", () => {
    const s = createSession({ participants: 3 });
    const [a, b, c] = s.participants;
    s.refused("INVALID_MESSAGE", "setPairRule", { memberA: a, memberB: a, rule: "apart" });
    s.refused("MEMBER_NOT_FOUND", "setPairRule", { memberA: a, memberB: "m999", rule: "apart" });
    s.refused("NOT_FOUND", "setPairRule", { memberA: a, memberB: b, rule: null });
    s.ok("leave", {}, s.as(c));
    s.refused("INVALID_STATE", "setPairRule", { memberA: a, memberB: c, rule: "together" });
    expect(CommandSchema.safeParse({ type: "setPairRule", memberA: a, memberB: b, rule: "maybe" }).success).toBe(false);

    const big = createSession({ participants: 16 });
    let n = 0;
    for (let i = 0; i < 16 && n < MAX_PAIR_RULES; i++)
      for (let j = i + 1; j < 16 && n < MAX_PAIR_RULES; j++, n++)
        big.ok("setPairRule", { memberA: big.participants[i], memberB: big.participants[j], rule: "apart" });
    const [x, y] = [big.participants[14], big.participants[15]];
    big.refused("INVALID_STATE", "setPairRule", { memberA: x, memberB: y, rule: "apart" });
    // Replacing a rule that exists is not a new one.
    const first = big.ctx.pairRules![0];
    big.ok("setPairRule", { memberA: first.memberA, memberB: first.memberB, rule: "together" });
  });

  it("participants may not set rules", () => {
    const s = createSession({ participants: 3 });
    const [a, b, c] = s.participants;
    s.refused("FORBIDDEN", "setPairRule", { memberA: b, memberB: c, rule: "apart" }, s.as(a));
  });

  it("is staff-only state: in the staff state and staff patches, never in a participant's view", () => {
    const s = createSession({ participants: 3 });
    const [a, b] = s.participants;
    const prev = s.ctx;
    s.ok("setPairRule", { memberA: a, memberB: b, rule: "apart" });
    expect(staffState(s.ctx, s.phase).pairRules).toEqual([{ memberA: a, memberB: b, rule: "apart" }]);
    expect(diffForStaff(prev, s.ctx, "main", "main")).toEqual([{ entity: "pairRules", value: s.ctx.pairRules }]);
    for (const id of s.participants) expect(JSON.stringify(participantView(s.ctx, s.phase, id))).not.toMatch(/apart|pairRule/);
  });

  it("survives a reload from storage; a removed member's rules go, someone who left keeps theirs", () => {
    const s = createSession({ participants: 4 });
    const [a, b, c, d] = s.participants;
    s.ok("setPairRule", { memberA: a, memberB: b, rule: "apart" });
    s.ok("setPairRule", { memberA: c, memberB: d, rule: "together" });
    s.reload();
    expect(s.ctx.pairRules).toHaveLength(2);
    s.ok("removeMember", { memberId: b });
    expect(s.ctx.pairRules).toEqual([{ memberA: c, memberB: d, rule: "together" }]);
    s.ok("leave", {}, s.as(d));
    expect(s.ctx.pairRules).toEqual([{ memberA: c, memberB: d, rule: "together" }]);
  });
});

describe("automatic assignment honours the rules", () => {
  // From 5 people an even assignment always exists under these rules (with 4 in 2 rooms, p0 can only be alone).
  it("createBreakouts (auto) and autoAssign keep apart pairs apart and together pairs together, evenly", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 5, max: 9 }), fc.integer({ min: 2, max: 3 }), (seed, n, k) => {
        const s = createSession({ participants: n, seed, checkInvariants: false });
        const p = s.participants;
        s.ok("setPairRule", { memberA: p[0], memberB: p[1], rule: "apart" });
        s.ok("setPairRule", { memberA: p[2], memberB: p[3], rule: "together" });
        s.ok("setPairRule", { memberA: p[0], memberB: p[2], rule: "apart" });
        s.ok("createBreakouts", { count: k, mode: "auto" });
        for (const plan of [planOf(s), (s.ok("autoAssign"), planOf(s))]) {
          expect(Object.keys(plan).sort()).toEqual([...p].sort());
          expect(plan[p[0]]).not.toBe(plan[p[1]]);
          expect(plan[p[0]]).not.toBe(plan[p[2]]);
          expect(plan[p[2]]).toBe(plan[p[3]]);
          const sizes = s.preparingRoomIds().map((id) => Object.values(plan).filter((r) => r === id).length);
          expect(Math.max(...sizes) - Math.min(...sizes), JSON.stringify({ plan, sizes, rules: s.ctx.pairRules })).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("says clearly when no assignment satisfies the rules (PAIRING_IMPOSSIBLE), for createBreakouts and autoAssign", () => {
    const s = createSession({ participants: 3 });
    const [a, b, c] = s.participants;
    s.ok("setPairRule", { memberA: a, memberB: b, rule: "apart" });
    s.ok("setPairRule", { memberA: b, memberB: c, rule: "apart" });
    s.ok("setPairRule", { memberA: a, memberB: c, rule: "apart" });
    const r = s.cmd("createBreakouts", { count: 2, mode: "auto" });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("PAIRING_IMPOSSIBLE");
      expect(r.error.message).toMatch(/no assignment into 2 rooms satisfies the 3 pairing rules/);
    }
    s.ok("createBreakouts", { count: 2, mode: "manual" });
    s.refused("PAIRING_IMPOSSIBLE", "autoAssign");
    s.ok("addRoom", {});
    s.ok("autoAssign");
    expect(new Set(Object.values(planOf(s))).size).toBe(3);
  });

  it("a plan's breakout step follows the rules, and names its step when they cannot be kept", () => {
    const s = createSession({ participants: 4 });
    const [a, b, c, d] = s.participants;
    s.ok("setPairRule", { memberA: a, memberB: b, rule: "together" });
    s.ok("setPairRule", { memberA: c, memberB: d, rule: "together" });
    s.ok("loadPlan", {
      plan: { id: "p1", name: "Group", steps: [{ kind: "breakouts", title: "Pairs", durationSeconds: 600, mode: "auto", roomSize: 2 }] },
    });
    s.ok("nextStep");
    expect(s.phase).toBe("open");
    expect(s.locationOf(a)).toBe(s.locationOf(b));
    expect(s.locationOf(c)).toBe(s.locationOf(d));
    expect(s.locationOf(a)).not.toBe(s.locationOf(c));

    const t = createSession({ participants: 4 });
    const q = t.participants;
    t.ok("setPairRule", { memberA: q[0], memberB: q[1], rule: "apart" });
    t.ok("setPairRule", { memberA: q[1], memberB: q[2], rule: "apart" });
    t.ok("setPairRule", { memberA: q[0], memberB: q[2], rule: "apart" });
    t.ok("loadPlan", {
      plan: { id: "p1", name: "Group", steps: [{ kind: "breakouts", title: "Pairs", durationSeconds: 600, mode: "auto", roomSize: 2 }] },
    });
    const r = t.cmd("nextStep");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: "PAIRING_IMPOSSIBLE", message: expect.stringMatching(/^step 1 \(Pairs\): /) });
  });

  it("a late joiner placed automatically goes to a room without anyone they are to be kept apart from", () => {
    for (let seed = 0; seed < 10; seed++) {
      const s = createSession({ participants: 4, seed, settings: { autoAdmit: true, lateJoiners: "auto" } });
      s.ok("createBreakouts", { count: 2, mode: "auto" });
      s.ok("openBreakouts");
      const [a] = s.participants;
      // The newcomer joins, leaves, and comes back: their rule with a is kept while away and applied on return.
      const late = s.join("u-late", { name: "Late" });
      s.ok("setPairRule", { memberA: late, memberB: a, rule: "apart" });
      s.ok("leave", {}, s.as(late));
      s.join("u-late", { name: "Late" });
      expect(s.locationOf(late)).not.toBe(s.locationOf(a));
      expect(s.locationOf(late)).not.toBe(MAIN_ROOM);
    }
  });
});

describe("manual placements that break a rule need a confirmation", () => {
  function prepared() {
    const s = createSession({ participants: 4 });
    const [a, b, c, d] = s.participants;
    s.ok("setPairRule", { memberA: a, memberB: b, rule: "apart" });
    s.ok("setPairRule", { memberA: c, memberB: d, rule: "together" });
    s.ok("createBreakouts", { names: ["Oak", "Elm"], mode: "manual" });
    return { s, a, b, c, d };
  }

  it("assign: refused with PAIRING_RULE naming the people, the rule and the room; confirmRule places anyway", () => {
    const { s, a, b, c, d } = prepared();
    s.ok("assign", { memberId: a, roomId: "r1" });
    const r = s.cmd("assign", { memberId: b, roomId: "r1" });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("PAIRING_RULE");
      expect(r.error.message).toBe(`${s.member(a).name} and ${s.member(b).name} are to be kept apart, and this puts both in Oak; confirm to place them anyway`);
    }
    s.ok("assign", { memberId: b, roomId: "r2" });
    s.ok("assign", { memberId: c, roomId: "r1" });
    s.refused("PAIRING_RULE", "assign", { memberId: d, roomId: "r2" });
    s.ok("assign", { memberId: d, roomId: "r1" });
    s.ok("assign", { memberId: b, roomId: "r1", confirmRule: true });
    expect(planOf(s)[b]).toBe("r1");
  });

  it("bulkAssign (preparing and open), move and swap ask too; an already broken rule is not raised again", () => {
    const { s, a, b, c, d } = prepared();
    s.refused("PAIRING_RULE", "bulkAssign", {
      assignments: [
        { memberId: a, roomId: "r1" },
        { memberId: b, roomId: "r1" },
      ],
    });
    s.ok("bulkAssign", {
      assignments: [
        { memberId: a, roomId: "r1" },
        { memberId: b, roomId: "r2" },
        { memberId: c, roomId: "r1" },
        { memberId: d, roomId: "r1" },
      ],
    });
    s.ok("openBreakouts");
    // Moving b in with a; a swap that splits c and d; a bulk move that does both.
    const r = s.cmd("move", { memberId: b, to: "r1" });
    expect(!r.ok && r.error.message).toMatch(/are to be kept apart, and this puts both in Oak/);
    const w = s.cmd("swap", { memberA: c, memberB: b });
    expect(!w.ok && w.error.message).toMatch(/are to stay together, and this puts them in (Elm and Oak|Oak and Elm)/);
    s.refused("PAIRING_RULE", "bulkAssign", { assignments: [{ memberId: d, roomId: "r2" }] });
    // To the main room breaks nothing: staff take someone out of the round.
    s.ok("move", { memberId: d, to: MAIN_ROOM });
    s.ok("move", { memberId: b, to: "r1", confirmRule: true });
    expect(s.locationOf(b)).toBe("r1");
    // a and b already share Oak: moving a to main and back is no new break.
    s.ok("move", { memberId: a, to: MAIN_ROOM });
    s.refused("PAIRING_RULE", "move", { memberId: a, to: "r1" });
    s.ok("swap", { memberA: c, memberB: a, confirmRule: true });
  });

  it("commands without rules are unaffected, and confirmRule is accepted by the schema on every manual placement", () => {
    for (const c of [
      { type: "assign", memberId: "m2", roomId: "r1", confirmRule: true },
      { type: "bulkAssign", assignments: [{ memberId: "m2", roomId: null }], confirmRule: true },
      { type: "move", memberId: "m2", to: "main", confirmRule: true },
      { type: "swap", memberA: "m2", memberB: "m3", confirmRule: true },
    ])
      expect(CommandSchema.safeParse(c).success, c.type).toBe(true);
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2, mode: "manual" });
    s.ok("bulkAssign", { assignments: s.participants.map((memberId) => ({ memberId, roomId: "r1" })) });
  });
});
