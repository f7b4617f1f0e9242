/**
 * Session plans in the engine (durable-objects/logic/plan.ts): loadPlan, then one nextStep per step runs the breakout
 * commands the step stands for (rooms, mode, timer from the plan), survives a reload, and refuses clearly.
 */
import { describe, expect, it } from "vitest";
import type { PlanStep } from "../../lib/protocol";
import { roomCountFor } from "../../durable-objects/logic/plan";
import { recordsFor } from "../../durable-objects/logic/records";
import { createSession } from "./helpers/session-fixture";

const STEPS: PlanStep[] = [
  { kind: "main", title: "Check-in", durationSeconds: 600 },
  { kind: "breakouts", title: "Pairs", durationSeconds: 900, mode: "auto", roomSize: 2 },
  { kind: "main", title: "Debrief", durationSeconds: 600, closingCountdownSeconds: 30 },
  { kind: "breakouts", title: "Choose a topic", durationSeconds: null, mode: "choose", roomCount: 3 },
  { kind: "breakouts", title: "Facilitator's groups", durationSeconds: 600, mode: "manual", roomCount: 2 },
];
const PLAN = { id: "plan-1", name: "Thursday group", steps: STEPS };

describe("session plans", () => {
  it("each nextStep runs its step: check-in in main, pairs opened with the plan's timer, debrief with its countdown", () => {
    const s = createSession({ participants: 5 });
    s.ok("loadPlan", { plan: PLAN });
    expect(s.ctx.plan).toMatchObject({ id: "plan-1", index: -1, stepStartedAt: null });

    // 1. Check-in: already in the main room; only the plan moves on.
    s.ok("nextStep");
    expect([s.phase, s.ctx.plan!.index, s.ctx.plan!.stepStartedAt]).toEqual(["main", 0, s.now]);

    // 2. Pairs, auto, 15 min: 5 people in rooms of 2 → 2 rooms (a pair and a three), opened at once, timer from the plan.
    const r = s.ok("nextStep");
    expect(s.phase).toBe("open");
    expect(s.openRoomIds()).toEqual(["r1", "r2"]);
    expect(s.ctx.round).toMatchObject({ mode: "auto", durationSeconds: 900, endsAt: s.now + 900_000 });
    expect(s.participants.every((id) => s.locationOf(id)?.startsWith("r"))).toBe(true);
    expect(s.locationOf(s.facilitator)).toBe("main");
    expect(s.ctx.plan!.index).toBe(1);
    // One step for storage: one audited nextStep, the moves in the same records.
    const records = recordsFor({
      eventNo: 99,
      event: { type: "nextStep", actor: s.as(s.facilitator), now: s.now },
      actor: s.as(s.facilitator),
      prev: r.prev,
      next: r.next,
      prevPhase: r.prevPhase,
      phase: r.phase,
      notices: r.notices,
    });
    expect(records.statements.filter((x) => x.sql.startsWith("INSERT OR IGNORE INTO audit_log")).map((x) => x.params[4])).toEqual(["nextStep"]);
    expect(records.statements.filter((x) => x.sql.startsWith("INSERT OR IGNORE INTO breakout_room_participants"))).toHaveLength(5);

    // 3. Debrief: rooms close with the step's 30 s countdown.
    const debrief = s.ok("nextStep");
    expect(s.phase).toBe("closing");
    expect(debrief.notices.map((n) => n.kind)).toContain("closingCountdown");
    s.tickBy(30_000);
    expect(s.phase).toBe("main");
    expect(s.participants.every((id) => s.locationOf(id) === "main")).toBe(true);

    // 4. Choose: 3 rooms open, participants pick.
    s.ok("nextStep");
    expect([s.phase, s.openRoomIds().length, s.ctx.round!.mode, s.ctx.round!.endsAt]).toEqual(["open", 3, "choose", null]);

    // 5. Manual: the open round closes at once, two rooms wait for the facilitator's placements.
    s.ok("nextStep");
    expect([s.phase, s.preparingRoomIds().length, s.ctx.round!.durationSeconds]).toEqual(["preparing", 2, 600]);
    expect(s.participants.every((id) => s.locationOf(id) === "main")).toBe(true);

    s.refused("INVALID_STATE", "nextStep");
  });

  it("the plan and its step survive a reload (the persisted context holds both)", () => {
    const s = createSession({ participants: 4 });
    s.ok("loadPlan", { plan: PLAN });
    s.ok("nextStep");
    s.ok("nextStep");
    s.reload();
    expect(s.ctx.plan).toMatchObject({ id: "plan-1", index: 1 });
    s.ok("nextStep");
    expect([s.phase, s.ctx.plan!.index]).toEqual(["closing", 2]);
  });

  it("refuses without a plan, for participants, and names the step that cannot run", () => {
    const s = createSession({ participants: 1 });
    s.refused("INVALID_STATE", "nextStep");
    s.refused("FORBIDDEN", "loadPlan", { plan: PLAN }, s.as(s.participants[0]));
    s.ok("loadPlan", { plan: PLAN });
    s.refused("FORBIDDEN", "nextStep", undefined, s.as(s.participants[0]));
    s.ok("nextStep");
    const r = s.cmd("nextStep");
    expect(r.ok ? null : r.error).toEqual({ code: "TOO_FEW_PARTICIPANTS", message: "step 2 (Pairs): breakout rooms need at least 2 admitted participants" });
    expect(s.ctx.plan!.index).toBe(0);
  });

  it("co-facilitators run plans too; includeStaff puts the staff in the rooms", () => {
    const s = createSession({ participants: 4, cofacilitators: 1 });
    const cof = s.as(s.cofacilitators[0]);
    s.ok(
      "loadPlan",
      { plan: { ...PLAN, steps: [{ kind: "breakouts", title: "Threes", durationSeconds: 600, mode: "auto", roomSize: 3, includeStaff: true }] } },
      cof,
    );
    s.ok("nextStep", undefined, cof);
    expect(s.openRoomIds()).toEqual(["r1", "r2"]);
    expect(s.locationOf(s.facilitator)).toMatch(/^r/);
    expect(s.locationOf(s.cofacilitators[0])).toMatch(/^r/);
  });

  it("with supervised rooms, a step that would open rooms without staff is refused until the facilitator confirms", () => {
    const s = createSession({ participants: 4, settings: { supervisedRooms: true } });
    s.ok("loadPlan", { plan: { ...PLAN, steps: [{ kind: "breakouts", title: "Pairs", durationSeconds: 600, mode: "auto", roomSize: 2 }] } });
    s.refused("UNSUPERVISED_ROOM", "nextStep");
    expect([s.phase, s.ctx.plan!.index]).toEqual(["main", -1]);
    s.ok("nextStep", { confirmUnsupervised: true });
    expect([s.phase, s.ctx.plan!.index]).toEqual(["open", 0]);
  });

  it("room count by size never leaves someone alone", () => {
    const pairs = { kind: "breakouts", title: "P", durationSeconds: null, mode: "auto", roomSize: 2 } as const;
    expect([2, 3, 4, 5, 9].map((n) => roomCountFor(pairs, n))).toEqual([1, 1, 2, 2, 4]);
    expect(roomCountFor({ ...pairs, roomSize: undefined, roomCount: 3 }, 2)).toBe(3);
  });
});
