/** The web client's plan helpers: steps in words, a running plan's progress, the Plans page's step drafts. */
import { describe, expect, it } from "vitest";
import { PlanStepSchema, type PlanPublic } from "../../lib/protocol";
import { draftToStep, elapsedLabel, emptyStep, planProgress, stepSummary, stepToDraft } from "../../web/src/lib/plans";
import { isCheckInPlace, placeLabel } from "../../web/src/lib/state";

const plan = (over: Partial<PlanPublic> = {}): PlanPublic => ({
  id: "p1",
  name: "Weekly",
  steps: [
    { kind: "main", title: "Welcome", durationSeconds: 600 },
    { kind: "breakouts", title: "Pairs", durationSeconds: 900, mode: "auto", roomSize: 2 },
    { kind: "breakouts", title: "Groups", durationSeconds: null, mode: "choose", roomCount: 3 },
  ],
  index: -1,
  stepStartedAt: null,
  ...over,
});

describe("plan helpers", () => {
  it("says each step in words", () => {
    const [a, b, c] = plan().steps;
    expect(stepSummary(a)).toBe("Main room · 10 min");
    expect(stepSummary(b)).toBe("Pairs, assigned automatically · 15 min");
    expect(stepSummary(c)).toBe("3 rooms, chosen by participants · no time limit");
    expect(stepSummary({ kind: "breakouts", title: "T", durationSeconds: 60, mode: "manual", roomSize: 4 })).toBe("Rooms of 4, assigned by you · 1 min");
  });

  it("tells where a running plan is: before the first step, during one, over its time, at the last", () => {
    expect(planProgress(plan(), 1000)).toMatchObject({ current: null, elapsedMs: 0, next: { title: "Welcome" } });
    const during = planProgress(plan({ index: 0, stepStartedAt: 10_000 }), 10_000 + 192_000);
    expect(during).toMatchObject({ index: 0, elapsedMs: 192_000, durationMs: 600_000, over: false, next: { title: "Pairs" } });
    expect(elapsedLabel(during)).toBe("3:12 of 10:00");
    expect(planProgress(plan({ index: 0, stepStartedAt: 0 }), 601_000).over).toBe(true);
    const last = planProgress(plan({ index: 2, stepStartedAt: 0 }), 5000);
    expect(last).toMatchObject({ durationMs: null, over: false, next: null });
    expect(elapsedLabel(last)).toBe("0:05");
  });

  it("turns drafts into steps the protocol accepts, and names what to fix otherwise", () => {
    for (const step of plan().steps) {
      const back = draftToStep(stepToDraft(step), 1);
      expect(back).toEqual(step);
      expect(PlanStepSchema.safeParse(back).success).toBe(true);
    }
    expect(PlanStepSchema.safeParse(draftToStep(emptyStep("breakouts"), 1)).success).toBe(true);
    expect(draftToStep({ ...emptyStep("main"), title: " " }, 2)).toBe("Step 2: give it a title.");
    expect(draftToStep({ ...emptyStep("main"), minutes: "0" }, 1)).toMatch(/minutes are a whole number from 1 to 240/);
    expect(draftToStep({ ...emptyStep("main"), minutes: "" }, 1)).toEqual({ kind: "main", title: "Together", durationSeconds: null });
    expect(draftToStep({ ...emptyStep("breakouts"), by: "size", rooms: "1" }, 3)).toBe("Step 3: people per room is 2 to 50.");
    expect(draftToStep({ ...emptyStep("breakouts"), by: "count", rooms: "51" }, 1)).toBe("Step 1: the number of rooms is 1 to 50.");
  });

  it("names a private check-in's place", () => {
    expect(isCheckInPlace("k1")).toBe(true);
    expect(isCheckInPlace("r1")).toBe(false);
    expect(isCheckInPlace(null)).toBe(false);
    expect(placeLabel([], "k3")).toBe("Private check-in");
    expect(placeLabel([], "main")).toBe("Main room");
  });
});
