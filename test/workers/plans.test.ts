/**
 * Session plans over HTTP: CRUD in D1 for the owner only (others get 404 and change nothing), validation, and a session
 * started from a plan, run with "nextStep" (rooms, mode and timer from the plan), surviving the Durable Object's
 * eviction mid-plan.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, d1, flush, joinSession, signIn, stubFor } from "./helpers";

const PLAN = {
  name: "Thursday anxiety group",
  steps: [
    { kind: "main", title: "Check-in", durationSeconds: 600 },
    { kind: "breakouts", title: "Pairs", durationSeconds: 900, mode: "auto", roomSize: 2 },
    { kind: "main", title: "Debrief", durationSeconds: 900 },
  ],
};

async function newPlan(token: string, body: unknown = PLAN) {
  const r = await api("/api/plans", { token, body });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json.plan;
}

const rowOf = async (id: string) => (await d1(`SELECT id, owner, name, steps FROM session_plans WHERE id = ?`, id))[0] ?? null;

async function command(sessionId: string, ticket: string, command: Record<string, unknown>) {
  return api(`/api/sessions/${sessionId}/commands`, { token: ticket, body: { commandId: `cmd-${crypto.randomUUID()}`, command } });
}

describe("session plans: CRUD", () => {
  it("the owner saves, lists, reads, replaces and deletes a plan; D1 holds exactly that", async () => {
    const token = await signIn("Dana");
    const plan = await newPlan(token);
    expect(plan).toMatchObject({ id: expect.stringMatching(/^plan_/), name: PLAN.name, steps: PLAN.steps });
    const row = await rowOf(plan.id);
    expect(row.owner).toMatch(/^user:u\d+-dana$/);
    expect(JSON.parse(row.steps)).toEqual(PLAN.steps);

    const list = await api("/api/plans", { token });
    expect(list.status).toBe(200);
    expect(list.headers.get("cache-control")).toBe("no-store");
    expect(list.json.plans.map((p: any) => p.id)).toEqual([plan.id]);
    expect((await api(`/api/plans/${plan.id}`, { token })).json.plan).toEqual(plan);

    const changed = { name: "Thursday group (short)", steps: [PLAN.steps[0]] };
    const put = await api(`/api/plans/${plan.id}`, { method: "PUT", token, body: changed });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    expect(put.json.plan).toMatchObject(changed);
    expect(await rowOf(plan.id)).toMatchObject({ name: changed.name, steps: JSON.stringify(changed.steps) });

    const del = await api(`/api/plans/${plan.id}`, { method: "DELETE", token });
    expect(del.json).toEqual({ deleted: true, id: plan.id });
    expect(await rowOf(plan.id)).toBeNull();
    expect((await api(`/api/plans/${plan.id}`, { token })).status).toBe(404);
  });

  it("someone else's plan is not found for reading, changing, deleting or starting; nothing changes", async () => {
    const owner = await signIn("Owner");
    const other = await signIn("Other");
    const plan = await newPlan(owner);
    const before = await rowOf(plan.id);
    for (const [method, path, body] of [
      ["GET", `/api/plans/${plan.id}`, undefined],
      ["PUT", `/api/plans/${plan.id}`, { name: "Mine now", steps: PLAN.steps }],
      ["DELETE", `/api/plans/${plan.id}`, undefined],
      ["POST", `/api/plans/${plan.id}/sessions`, {}],
    ] as const) {
      const r = await api(path, { method, token: other, body });
      expect([r.status, r.json.error.code], `${method} ${path}`).toEqual([404, "NOT_FOUND"]);
    }
    expect(await rowOf(plan.id)).toEqual(before);
    expect((await api("/api/plans", { token: other })).json.plans).toEqual([]);
    // Not facilitators at all, or nobody: refused before any lookup.
    const participant = await signIn("Client", "participant");
    expect((await api("/api/plans", { token: participant })).json.error.code).toBe("FORBIDDEN");
    expect((await api(`/api/plans/${plan.id}`, { token: participant })).status).toBe(403);
    expect((await api("/api/plans", { body: PLAN })).status).toBe(401);
  });

  it("refuses malformed plans with the field at fault", async () => {
    const token = await signIn("Dana");
    const cases: [unknown, RegExp][] = [
      [{ name: "x", steps: [] }, /steps/],
      [{ name: "x", steps: [{ kind: "breakouts", title: "Both", durationSeconds: 600, mode: "auto", roomSize: 2, roomCount: 3 }] }, /roomCount or roomSize/],
      [{ name: "x", steps: [{ kind: "breakouts", title: "Neither", durationSeconds: 600, mode: "auto" }] }, /roomCount or roomSize/],
      [{ name: "x", steps: [{ kind: "dance", title: "?", durationSeconds: 60 }] }, /steps\.0/],
      [{ name: "x", steps: [{ kind: "main", title: "Too short", durationSeconds: 5 }] }, /durationSeconds/],
      [{ name: "x", steps: [{ kind: "main", title: "Extra", durationSeconds: 60, colour: "red" }] }, /steps\.0/],
      [{ name: "", steps: PLAN.steps }, /name/],
    ];
    for (const [body, message] of cases) {
      const r = await api("/api/plans", { token, body });
      expect([r.status, r.json.error.code], JSON.stringify(body)).toEqual([400, "INVALID_MESSAGE"]);
      expect(r.json.error.message, JSON.stringify(body)).toMatch(message);
    }
    expect((await api("/api/plans", { token })).json.plans).toEqual([]);
  });
});

describe("session plans: running one", () => {
  it("starts a session from a plan and runs it step by step with one command each, across an eviction", async () => {
    const token = await signIn("Dana");
    const plan = await newPlan(token);
    const started = await api(`/api/plans/${plan.id}/sessions`, { token, body: { settings: { autoAdmit: true }, mediaProvider: "local" } });
    expect(started.status, JSON.stringify(started.json)).toBe(201);
    const { sessionId, ticket } = started.json;
    expect(started.json.plan).toEqual({ id: plan.id, name: PLAN.name, steps: 3 });
    const state = await api(`/api/sessions/${sessionId}`, { token: ticket });
    expect(state.json.staff.session.title).toBe(PLAN.name);
    expect(state.json.staff.plan).toEqual({ id: plan.id, name: PLAN.name, steps: PLAN.steps, index: -1, stepStartedAt: null });

    const clients = [];
    for (let i = 1; i <= 4; i++) clients.push(await joinSession(sessionId, started.json.invite.token, `Client ${i}`));
    // Clients cannot run the plan.
    const refused = await command(sessionId, clients[0].ticket, { type: "nextStep" });
    expect([refused.status, refused.json.error.code]).toEqual([403, "FORBIDDEN"]);

    // 1. Check-in in the main room.
    expect((await command(sessionId, ticket, { type: "nextStep" })).status).toBe(200);
    const stub = stubFor(sessionId);
    expect((await stub.debugState()).context!.plan).toMatchObject({ index: 0 });

    // The session object is evicted between steps: the plan and its step are in storage.
    await evictDurableObject(stub, { webSockets: "close" });
    expect((await stub.storedState())!.context.plan).toMatchObject({ id: plan.id, index: 0 });

    // 2. Pairs: 2 rooms of 2, opened at once with the plan's 15-minute timer.
    const pairs = await command(sessionId, ticket, { type: "nextStep" });
    expect(pairs.status, JSON.stringify(pairs.json)).toBe(200);
    const st = await stubFor(sessionId).debugState();
    expect(st.phase).toBe("open");
    expect(st.context!.round).toMatchObject({ mode: "auto", durationSeconds: 900 });
    expect(st.context!.round!.endsAt! - st.context!.round!.openedAt!).toBe(900_000);
    const placed = clients.map((c) => st.context!.members[c.memberId].location);
    expect(placed.sort()).toEqual(["r1", "r1", "r2", "r2"]);

    // 3. Debrief: everyone back in the main room.
    expect((await command(sessionId, ticket, { type: "nextStep" })).status).toBe(200);
    const after = await stubFor(sessionId).debugState();
    expect(after.phase).toBe("main");
    expect(clients.every((c) => after.context!.members[c.memberId].location === "main")).toBe(true);
    const done = await command(sessionId, ticket, { type: "nextStep" });
    expect([done.status, done.json.error.code]).toEqual([409, "INVALID_STATE"]);
    expect(done.json.error.message).toMatch(/no more steps/);

    // D1: the facilitator's loadPlan and three nextSteps audited; the stays show the pairs round.
    await flush(sessionId);
    const audit = await d1(`SELECT action, result FROM audit_log WHERE session_id = ? AND action IN ('loadPlan', 'nextStep') ORDER BY at, id`, sessionId);
    expect(audit.filter((a: any) => a.result === "ok").map((a: any) => a.action)).toEqual(["loadPlan", "nextStep", "nextStep", "nextStep"]);
    // Refusals are audited per minute window (their `at` is the window's start): compared as a set.
    expect(
      audit
        .filter((a: any) => a.result !== "ok")
        .map((a: any) => a.result)
        .sort(),
    ).toEqual(["refused:FORBIDDEN", "refused:INVALID_STATE"]);
    const rooms = await d1(`SELECT room_id, status FROM breakout_rooms WHERE session_id = ? ORDER BY room_id`, sessionId);
    expect(rooms).toEqual([
      { room_id: "r1", status: "closed" },
      { room_id: "r2", status: "closed" },
    ]);
    const stays = await d1(`SELECT COUNT(*) AS n FROM breakout_room_participants WHERE session_id = ? AND location IN ('r1', 'r2')`, sessionId);
    expect(stays).toEqual([{ n: 4 }]);
  });

  it("a step that cannot run says which step and why, and changes nothing", async () => {
    const token = await signIn("Dana");
    const plan = await newPlan(token, { name: "Pairs first", steps: [PLAN.steps[1]] });
    const started = await api(`/api/plans/${plan.id}/sessions`, { token, body: { title: "Small group", mediaProvider: "local" } });
    const { sessionId, ticket } = started.json;
    expect((await api(`/api/sessions/${sessionId}`, { token: ticket })).json.staff.session.title).toBe("Small group");
    const before = (await stubFor(sessionId).debugState()).context;
    const r = await command(sessionId, ticket, { type: "nextStep" });
    expect([r.status, r.json.error.code]).toEqual([409, "TOO_FEW_PARTICIPANTS"]);
    expect(r.json.error.message).toBe("step 1 (Pairs): breakout rooms need at least 2 admitted participants");
    expect((await stubFor(sessionId).debugState()).context).toEqual(before);
  });
});
