/**
 * Only current staff read what only staff read (issue 12, finding 6): the staff state (`GET /api/sessions/:id`), the
 * report (JSON and CSV) and the live cost. A co-facilitator who left, waits for a place, or had left before the end
 * keeps a signed ticket for hours; the session's record, not the ticket, decides (worker/auth/staff.ts). The expected
 * answers are the "Staff read" table of docs/authorization.md.
 */
import { describe, expect, it } from "vitest";
import { MAX_ROOM_CAPACITY } from "../../lib/protocol";
import { api, createSession, joinSession } from "./helpers";
import { docTable, invite, must, type Member } from "./authz-world";

/** docs/authorization.md "Staff-only reads": one column per kind of staff member, one row per read. */
const TABLE = docTable("Staff read");
const column = (name: string) => Object.fromEntries(TABLE.map((r) => [r.key, r.cells[name]]));
const PATH = (row: string) => /`GET \/api\/sessions\/:id(\S*)`/.exec(row)![1];

/** Every staff-only read for one ticket, in the table's cell format ("200" or "<status> <CODE>"). */
async function reads(sessionId: string, ticket: string) {
  const out: Record<string, string> = {};
  for (const row of TABLE.map((r) => r.key)) {
    const r = await api(`/api/sessions/${sessionId}${PATH(row)}`, { token: ticket });
    if (r.status === 200 && PATH(row) === "") expect(r.json.staff?.members, row).toBeTruthy();
    out[row] = r.status === 200 ? "200" : `${r.status} ${r.json.error.code}`;
  }
  return out;
}

async function sessionWithCofacilitator() {
  const s = await createSession({ settings: { autoAdmit: true } });
  const F: Member = { label: "F", memberId: s.memberId, ticket: s.ticket };
  const coInvite = await invite(s.sessionId, s.ticket, "cofacilitator");
  const co = await joinSession(s.sessionId, coInvite.token, "Cora");
  const C: Member = { label: "C", memberId: co.memberId, ticket: co.ticket };
  return { s, F, C, coInvite, co };
}

describe("staff reads are for current staff", () => {
  it("a co-facilitator who left reads nothing more (409 NOT_ADMITTED state, 403 report); back in, they read again", async () => {
    const { s, C, coInvite, co } = await sessionWithCofacilitator();
    expect(await reads(s.sessionId, C.ticket)).toEqual(column("co-facilitator"));
    await must(s.sessionId, C, { type: "leave" });

    expect(await reads(s.sessionId, C.ticket)).toEqual(column("co-facilitator who left"));
    const r = await api(`/api/sessions/${s.sessionId}`, { token: C.ticket });
    expect(r.json.error.message).toMatch(/join again/);
    expect(r.json.staff).toBeUndefined();

    const back = await joinSession(s.sessionId, coInvite.token, "Cora", co.guestCredential);
    expect({ memberId: back.memberId, status: back.status }).toEqual({ memberId: C.memberId, status: "admitted" });
    expect(await reads(s.sessionId, back.ticket)).toEqual(column("co-facilitator back (joined again)"));
    // The old ticket names the same member, who is in the session again: it reads too.
    expect(await reads(s.sessionId, C.ticket)).toEqual(column("co-facilitator back (joined again)"));
  });

  it("the table covers every staff-only read route, in every column", () => {
    expect(TABLE.map((r) => PATH(r.key))).toEqual(["", "/report", "/report.csv", "/cost"]);
    for (const r of TABLE) expect(Object.keys(r.cells)).toHaveLength(7);
  });

  it("a removed co-facilitator reads nothing (403)", async () => {
    const { s, F, C } = await sessionWithCofacilitator();
    await must(s.sessionId, F, { type: "removeMember", memberId: C.memberId });
    expect(await reads(s.sessionId, C.ticket)).toEqual(column("removed co-facilitator"));
  });

  it("after the end: staff still in the session at the end read the final state and report; one who had left before cannot", async () => {
    const { s, F, C } = await sessionWithCofacilitator();
    const coInvite = await invite(s.sessionId, s.ticket, "cofacilitator");
    const early = await joinSession(s.sessionId, coInvite.token, "Eli");
    await must(s.sessionId, { label: "E", memberId: early.memberId, ticket: early.ticket }, { type: "leave" });
    await must(s.sessionId, F, { type: "endSession" });

    for (const m of [F, C])
      expect({ who: m.label, ...(await reads(s.sessionId, m.ticket)) }).toEqual({ who: m.label, ...column("staff in the session at its end") });
    expect(await reads(s.sessionId, early.ticket)).toEqual(column("staff who left before the end"));
    // The creator's own sign-in reads the report whatever their membership.
    expect((await api(`/api/sessions/${s.sessionId}/report`, { token: s.userToken })).status).toBe(200);
  });

  it("a co-facilitator waiting for a place (the session was full) reads nothing until admitted", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const F: Member = { label: "F", memberId: s.memberId, ticket: s.ticket };
    // The facilitator is admitted: fill the session with participants up to the cap.
    for (let i = 1; i < MAX_ROOM_CAPACITY; i++) await joinSession(s.sessionId, s.invite.token, `P${i}`);
    const coInvite = await invite(s.sessionId, s.ticket, "cofacilitator");
    const waiting = await joinSession(s.sessionId, coInvite.token, "Wes");
    expect(waiting.status).toBe("waiting");
    expect(await reads(s.sessionId, waiting.ticket)).toEqual(column("co-facilitator waiting (session full)"));
    expect((await api(`/api/sessions/${s.sessionId}`, { token: waiting.ticket })).json.error.message).toMatch(/waiting to be admitted/);
    // A place frees up and staff let them in: they read.
    const someone = (await api(`/api/sessions/${s.sessionId}`, { token: s.ticket })).json.staff.members.find((m: { name: string }) => m.name === "P1");
    await must(s.sessionId, F, { type: "removeMember", memberId: someone.id });
    await must(s.sessionId, F, { type: "admit", memberId: waiting.memberId });
    expect(await reads(s.sessionId, waiting.ticket)).toEqual(column("co-facilitator"));
  });
});
