/**
 * Recurring groups (docs/protocol.md 17.7) over HTTP with D1: a facilitator's group with a standing link, two weekly
 * sessions, a client recognised in week 2 by the group credential week 1 gave them (not by anything they chose), the
 * attendance history (minutes equal each session's attendance record), a replaced link, a plan loaded each week, and
 * who may do what.
 */
import { describe, expect, it } from "vitest";
import { api, d1, defaultAgreementHash, flush, signIn, stubFor } from "./helpers";

const MIN = 60_000;

async function command(token: string, sessionId: string, command: Record<string, unknown>) {
  const r = await api(`/api/sessions/${sessionId}/commands`, { token, body: { commandId: `cmd-${crypto.randomUUID()}`, command } });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
}

const codeOf = (linkUrl: string) => new URL(linkUrl).pathname.split("/").pop()!;
const resolve = (code: string) => api(`/api/group-links/${code}`);

async function joinFromLink(code: string, name: string, creds: { groupCredential?: string; guestCredential?: string } = {}) {
  const link = await resolve(code);
  expect(link.status, JSON.stringify(link.json)).toBe(200);
  const { sessionId, invite } = link.json.session;
  return api(`/api/sessions/${sessionId}/join`, { body: { invite, name, agreementHash: await defaultAgreementHash(), ...creds } });
}

/** Who a member of a session is, as D1 records it (after the session's outbox is flushed). */
async function identityOf(sessionId: string, memberId: string): Promise<string | undefined> {
  await flush(sessionId);
  const rows = (await d1(`SELECT identity FROM session_participants WHERE session_id = ?1 AND member_id = ?2`, sessionId, memberId)) as { identity: string }[];
  return rows[0]?.identity;
}

describe("recurring groups", () => {
  it("a standing link across two weeks: the same client is one member of the group, and the history adds up", async () => {
    const owner = await signIn("Dr Rivera");
    const created = await api("/api/groups", { token: owner, body: { name: "Tuesday anxiety group" } });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const group = created.json.group;
    expect(group).toMatchObject({ name: "Tuesday anxiety group", planId: null, sessions: 0, members: 0, current: null });
    expect(group.linkUrl).toMatch(/\/g\/[A-Za-z0-9_-]{22}$/);
    expect((await api("/api/groups", { token: owner })).json.groups.map((g: any) => g.id)).toEqual([group.id]);
    const code = codeOf(group.linkUrl);

    // Between sessions the link names the group and the facilitator, and says there is no session yet.
    const idle = await resolve(code);
    expect(idle.json).toEqual({ groupId: group.id, groupName: "Tuesday anxiety group", facilitatorName: "Dr Rivera", session: null });

    // --- Week 1 --------------------------------------------------------------------------------------------------
    const week1 = await api(`/api/groups/${group.id}/sessions`, { token: owner, body: { settings: { autoAdmit: true } } });
    expect(week1.status, JSON.stringify(week1.json)).toBe(201);
    expect(week1.json.groupId).toBe(group.id);
    expect(week1.json.group).toEqual({ id: group.id, name: "Tuesday anxiety group", linkUrl: group.linkUrl });
    const s1 = week1.json.sessionId as string;
    const again = await api(`/api/groups/${group.id}/sessions`, { token: owner, body: {} });
    expect(again.status).toBe(409);
    expect(again.json.error).toMatchObject({ code: "INVALID_STATE", details: { sessionId: s1 } });

    const ana1 = await joinFromLink(code, "Ana");
    expect(ana1.status, JSON.stringify(ana1.json)).toBe(200);
    expect(ana1.json).toMatchObject({ groupId: group.id, role: "participant" });
    expect(typeof ana1.json.groupCredential).toBe("string");
    expect(ana1.json.groupCredentialExpiresAt - Date.now()).toBeGreaterThan(179 * 24 * 3600_000);
    const ben1 = await joinFromLink(code, "Ben");
    expect(ben1.status).toBe(200);
    const anaIdentity = await identityOf(s1, ana1.json.memberId);
    expect(anaIdentity).toMatch(new RegExp(`^guest:${group.id.slice(0, 8)}:[0-9a-f]{32}$`));
    // A reload within the session with the session's own guest credential: the same member, and the group credential again.
    const reload = await joinFromLink(code, "Ana", { guestCredential: ana1.json.guestCredential });
    expect(reload.json.memberId).toBe(ana1.json.memberId);
    expect(typeof reload.json.groupCredential).toBe("string");

    await stubFor(s1).advanceClock(30 * MIN);
    await command(week1.json.ticket, s1, { type: "endSession" });
    expect((await resolve(code)).json.session).toBeNull();

    // --- Week 2: Ana comes back with her group credential, Ben does not come, Cleo is new. -------------------------
    const week2 = await api(`/api/groups/${group.id}/sessions`, { token: owner, body: { settings: { autoAdmit: true } } });
    expect(week2.status, JSON.stringify(week2.json)).toBe(201);
    const s2 = week2.json.sessionId as string;
    expect(s2).not.toBe(s1);
    expect((await resolve(code)).json.session.sessionId).toBe(s2);
    const ana2 = await joinFromLink(code, "Ana R.", { groupCredential: ana1.json.groupCredential });
    expect(ana2.status, JSON.stringify(ana2.json)).toBe(200);
    expect(await identityOf(s2, ana2.json.memberId)).toBe(anaIdentity);
    const cleo = await joinFromLink(code, "Cleo");
    expect(await identityOf(s2, cleo.json.memberId)).not.toBe(anaIdentity);
    await stubFor(s2).advanceClock(20 * MIN);
    await command(week2.json.ticket, s2, { type: "endSession" });

    // --- The history: newest first; minutes are each session's attendance record's. -----------------------------
    const page = await api(`/api/groups/${group.id}`, { token: owner });
    expect(page.status, JSON.stringify(page.json)).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.json.group).toMatchObject({ sessions: 2, members: 3, current: null });
    expect(page.json.sessions.map((s: any) => [s.sessionId, s.attended])).toEqual([
      [s2, 2],
      [s1, 2],
    ]);
    expect(page.json.sessions.every((s: any) => typeof s.endedAt === "number" && s.title.startsWith("Tuesday anxiety group — "))).toBe(true);
    const byName = Object.fromEntries(page.json.members.map((m: any) => [m.name, m]));
    expect(Object.keys(byName).sort()).toEqual(["Ana R.", "Ben", "Cleo"]);
    expect(byName["Ana R."]).toMatchObject({ identity: anaIdentity, sessionsAttended: 2 });
    expect(byName.Ben.sessionsAttended).toBe(1);
    expect(byName.Cleo.sessionsAttended).toBe(1);
    for (const [sessionId, ticket] of [
      [s1, week1.json.ticket],
      [s2, week2.json.ticket],
    ]) {
      const record = (await api(`/api/sessions/${sessionId}/attendance`, { token: ticket })).json;
      const recorded = Object.fromEntries(record.members.filter((m: any) => !m.isStaff).map((m: any) => [m.memberId, m.totalMinutes]));
      const fromHistory = Object.values(byName)
        .map((m: any) => m.minutes[sessionId])
        .filter((v) => v !== undefined);
      expect(fromHistory.sort()).toEqual(Object.values(recorded).sort());
    }
    // Ana: 30 min in week 1 and 20 in week 2 (a few milliseconds over, as her attendance record says); Ben: week 1 only.
    expect(Object.keys(byName["Ana R."].minutes).sort()).toEqual([s1, s2].sort());
    expect(byName["Ana R."].minutes[s1]).toBeCloseTo(30, 1);
    expect(byName["Ana R."].minutes[s2]).toBeCloseTo(20, 1);
    expect(Object.keys(byName.Ben.minutes)).toEqual([s1]);
  });

  it("credentials: another group's, both at once, a forged one, one on a session outside the group; a replaced link", async () => {
    const owner = await signIn("Dr Okafor");
    const make = async (name: string) => (await api("/api/groups", { token: owner, body: { name } })).json.group;
    const [g1, g2] = [await make("Group one"), await make("Group two")];
    for (const g of [g1, g2]) expect((await api(`/api/groups/${g.id}/sessions`, { token: owner, body: { settings: { autoAdmit: true } } })).status).toBe(201);
    const first = await joinFromLink(codeOf(g1.linkUrl), "Dee");
    const cred = first.json.groupCredential as string;

    const other = await joinFromLink(codeOf(g2.linkUrl), "Dee", { groupCredential: cred });
    expect(other.status).toBe(403);
    expect(other.json.error).toMatchObject({ code: "WRONG_SESSION", details: { field: "groupCredential" } });
    const both = await joinFromLink(codeOf(g1.linkUrl), "Dee", { groupCredential: cred, guestCredential: first.json.guestCredential });
    expect(both.status).toBe(400);
    expect(both.json.error.code).toBe("INVALID_MESSAGE");
    const forged = await joinFromLink(codeOf(g1.linkUrl), "Dee", { groupCredential: `${cred.slice(0, -4)}AAAA` });
    expect(forged.status).toBe(401);
    expect(forged.json.error).toMatchObject({ code: "UNAUTHENTICATED", details: { field: "groupCredential" } });
    const plain = (await api("/api/sessions", { token: owner, body: { title: "One-off", mediaProvider: "local" } })).json;
    const outside = await api(`/api/sessions/${plain.sessionId}/join`, {
      body: { invite: plain.invite.token, name: "Dee", agreementHash: await defaultAgreementHash(), groupCredential: cred },
    });
    expect(outside.status).toBe(401);
    expect(outside.json.error.details).toEqual({ field: "groupCredential" });
    // A session guest credential is not a group credential.
    const wrongKind = await joinFromLink(codeOf(g1.linkUrl), "Dee", { groupCredential: first.json.guestCredential });
    expect(wrongKind.status).toBe(401);

    // Replacing the link retires the old one; the client is still recognised through the new one.
    const replaced = (await api(`/api/groups/${g1.id}/link`, { method: "POST", token: owner })).json.group;
    expect(replaced.linkUrl).not.toBe(g1.linkUrl);
    const old = await resolve(codeOf(g1.linkUrl));
    expect(old.status).toBe(404);
    expect(old.json.error.code).toBe("NOT_FOUND");
    const back = await joinFromLink(codeOf(replaced.linkUrl), "Dee", { groupCredential: cred });
    expect(back.json.memberId).toBe(first.json.memberId);
    // Malformed codes are not looked up.
    expect((await resolve("not-a-code")).status).toBe(404);
  });

  it("a group's plan is loaded into each of its sessions; only its facilitator sees or changes the group", async () => {
    const owner = await signIn("Dr Chen");
    const plan = await api("/api/plans", {
      token: owner,
      body: { name: "Weekly", steps: [{ kind: "main", title: "Check-in", durationSeconds: 600 }] },
    });
    expect(plan.status, JSON.stringify(plan.json)).toBe(201);
    const group = (await api("/api/groups", { token: owner, body: { name: "Thursday group", planId: plan.json.plan.id } })).json.group;
    expect(group.planId).toBe(plan.json.plan.id);
    const started = await api(`/api/groups/${group.id}/sessions`, { token: owner, body: { title: "Week 1" } });
    expect(started.status, JSON.stringify(started.json)).toBe(201);
    expect(started.json.plan).toMatchObject({ id: plan.json.plan.id, steps: 1 });
    const snapshot = (await api(`/api/sessions/${started.json.sessionId}`, { token: started.json.ticket })).json;
    expect(snapshot.staff.plan).toMatchObject({ id: plan.json.plan.id, index: -1 });

    const renamed = await api(`/api/groups/${group.id}`, { method: "PATCH", token: owner, body: { name: "Thursday evening group", planId: null } });
    expect(renamed.json.group).toMatchObject({ name: "Thursday evening group", planId: null });
    expect((await api(`/api/groups/${group.id}`, { method: "PATCH", token: owner, body: {} })).status).toBe(400);
    expect((await api(`/api/groups/${group.id}`, { method: "PATCH", token: owner, body: { planId: "plan_nope" } })).status).toBe(404);

    // Another facilitator: as if the group did not exist. A client account: not a facilitator. Nobody signed in: 401.
    const stranger = await signIn("Dr Other");
    for (const [method, path, body] of [
      ["GET", `/api/groups/${group.id}`, undefined],
      ["PATCH", `/api/groups/${group.id}`, { name: "Mine" }],
      ["POST", `/api/groups/${group.id}/link`, undefined],
      ["POST", `/api/groups/${group.id}/sessions`, {}],
    ] as const) {
      const r = await api(path, { method, token: stranger, body });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.json.error.code).toBe("NOT_FOUND");
    }
    expect((await api("/api/groups", { token: stranger })).json.groups).toEqual([]);
    const client = await signIn("Pat", "participant");
    expect((await api("/api/groups", { token: client })).status).toBe(403);
    expect((await api("/api/groups", { body: { name: "x" } })).status).toBe(401);
    const unchanged = await d1(`SELECT name FROM therapy_groups WHERE id = ?1`, group.id);
    expect(unchanged).toEqual([{ name: "Thursday evening group" }]);
  });
});
