import { describe, expect, it } from "vitest";
import { SessionEngine } from "../../durable-objects/logic/engine";
import { invariantViolations } from "../../durable-objects/logic/invariants";
import type { CommandEvent, SessionEvent } from "../../durable-objects/logic/model";

const F = { memberId: "m1", role: "facilitator" as const };

function setup(n: number, autoAdmit = true) {
  const engine = SessionEngine.create({
    sessionId: "s1",
    title: "Group",
    createdAt: 0,
    createdBy: "u-f",
    seed: 42,
    mediaProvider: "local",
    settings: { autoAdmit },
  });
  let now = 1000;
  const send = (e: Omit<SessionEvent, "now">) => {
    const r = engine.dispatch({ ...e, now: (now += 10) } as SessionEvent);
    expect(invariantViolations(engine.context, engine.phase)).toEqual([]);
    return r;
  };
  send({ type: "memberJoined", identity: "u-f", name: "Fay", role: "facilitator" } as any);
  for (let i = 0; i < n; i++) send({ type: "memberJoined", identity: `u-${i}`, name: `P${i}`, role: "participant" } as any);
  const cmd = (c: Omit<CommandEvent, "now" | "actor">, actor: any = F) => send({ ...c, actor } as any);
  return { engine, send, cmd };
}

describe("session engine smoke", () => {
  it("runs a full round", () => {
    const { engine, cmd } = setup(6);
    expect(engine.phase).toBe("main");
    const r = cmd({ type: "createBreakouts", count: 2, mode: "auto" } as any);
    expect(r.ok).toBe(true);
    expect(engine.phase).toBe("preparing");
    expect(Object.keys(engine.context.round!.plan)).toHaveLength(6);
    expect(cmd({ type: "openBreakouts" } as any).ok).toBe(true);
    expect(engine.phase).toBe("open");
    const locs = Object.values(engine.context.members)
      .filter((m) => m.role === "participant")
      .map((m) => m.location);
    expect(locs.filter((l) => l === "r1")).toHaveLength(3);
    expect(cmd({ type: "closeAll", countdownSeconds: 0 } as any).ok).toBe(true);
    expect(engine.phase).toBe("main");
    expect(engine.context.roundsCompleted).toBe(1);
  });
  it("refuses with typed reasons", () => {
    const { cmd } = setup(1);
    const r = cmd({ type: "createBreakouts", count: 2, mode: "auto" } as any);
    expect(r).toMatchObject({ ok: false, error: { code: "TOO_FEW_PARTICIPANTS" } });
    const r2 = cmd({ type: "move", memberId: "m2", to: "main" } as any);
    expect(r2).toMatchObject({ ok: false, error: { code: "INVALID_STATE" } });
    const r3 = cmd({ type: "endSession" } as any, { memberId: "m2", role: "participant" });
    expect(r3).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  });
  it("persists and restores", () => {
    const { engine, cmd } = setup(4);
    cmd({ type: "createBreakouts", count: 2, mode: "auto", durationSeconds: 600 } as any);
    cmd({ type: "openBreakouts" } as any);
    const json = JSON.parse(JSON.stringify(engine.persisted()));
    const again = SessionEngine.restore(json);
    expect(again.phase).toBe("open");
    expect(again.context).toEqual(engine.context);
    const r = again.dispatch({ type: "tick", now: engine.context.round!.endsAt! + 1 });
    expect(r.ok && r.phase).toBe("closing");
  });
});
