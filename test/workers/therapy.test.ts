/**
 * Group-therapy features (issue 15), through the real Worker, session Durable Object, D1 and WebSockets:
 * 1. the group agreement at the door (preview shows it with its hash; a client joins only by accepting the current
 *    text; each acceptance is in D1 with its hash; a decline leaves only a count);
 * 2. the confidential roster: what each role receives over a real socket (no client learns another's identity or,
 *    with first names / aliases, their full name; "choose a room" shows room names and head-counts only);
 * 3. supervised rooms (staff placed first, opening refused without enough staff unless confirmed, a notice to staff
 *    when a room loses its last staff member, who pull it back with closeRoom);
 * 4. private check-in (a discreet request only staff hear of; a private room with its own media room, from main or
 *    during breakouts; ending it returns the client exactly where they were; others see only "stepped out").
 */
import { describe, expect, it } from "vitest";
import { agreementHash, DEFAULT_AGREEMENT } from "../../lib/protocol";
import { api, Client, createSession, d1, flush, joinSession } from "./helpers";
import { context, invite, must } from "./authz-world";

const preview = async (sessionId: string, invite: string) => api(`/api/sessions/${sessionId}/preview`, { body: { invite } });
const joinWith = (sessionId: string, body: Record<string, unknown>) => api(`/api/sessions/${sessionId}/join`, { body });

describe("1. group agreement at the door", () => {
  it("the preview shows the agreement with its hash, next to the title and the facilitator's name", async () => {
    const s = await createSession({ title: "Thursday circle" });
    const p = await preview(s.sessionId, s.invite.token);
    expect(p.status).toBe(200);
    expect(p.json).toEqual({
      title: "Thursday circle",
      facilitatorName: "Therapist",
      phase: "main",
      ended: false,
      agreement: { text: DEFAULT_AGREEMENT, hash: await agreementHash(DEFAULT_AGREEMENT) },
      roster: "names",
    });
    expect(p.json.agreement.text).toMatch(/confidential/i);
    expect(p.json.agreement.text).toMatch(/recording|screenshot/i);
    expect(p.json.agreement.text).toMatch(/emergency/i);
  });

  it("a client joins only by accepting the agreement as it reads now: without it, or with an old text's hash, AGREEMENT_REQUIRED and nothing changes", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const before = await context(s.sessionId);
    const none = await joinWith(s.sessionId, { invite: s.invite.token, name: "Ana" });
    expect({ status: none.status, code: none.json.error.code }).toEqual({ status: 409, code: "AGREEMENT_REQUIRED" });
    const wrong = await joinWith(s.sessionId, { invite: s.invite.token, name: "Ana", agreementHash: "0".repeat(64) });
    expect(wrong.json.error.code).toBe("AGREEMENT_REQUIRED");
    const malformed = await joinWith(s.sessionId, { invite: s.invite.token, name: "Ana", agreementHash: "yes" });
    expect({ status: malformed.status, code: malformed.json.error.code }).toEqual({ status: 400, code: "INVALID_MESSAGE" });
    expect(await context(s.sessionId)).toEqual(before);

    // The facilitator changes the agreement: the old text's hash no longer admits; the new one does.
    const text = "We keep what is said here in this room.\n\nNo recordings.";
    await must(s.sessionId, { label: "F", memberId: s.memberId, ticket: s.ticket }, { type: "updateSettings", settings: { agreement: text } });
    const stale = await joinWith(s.sessionId, { invite: s.invite.token, name: "Ana", agreementHash: await agreementHash(DEFAULT_AGREEMENT) });
    expect(stale.json.error).toMatchObject({ code: "AGREEMENT_REQUIRED", message: expect.stringMatching(/changed/) });
    expect((await preview(s.sessionId, s.invite.token)).json.agreement).toEqual({ text, hash: await agreementHash(text) });
    const ana = await joinSession(s.sessionId, s.invite.token, "Ana", undefined, text);
    expect(ana.status).toBe("admitted");

    // Staff see who accepted which text, and when.
    const staff = (await api(`/api/sessions/${s.sessionId}`, { token: s.ticket })).json.staff;
    const member = staff.members.find((m: { id: string }) => m.id === ana.memberId);
    expect(member.agreement).toEqual({ hash: await agreementHash(text), at: expect.any(Number) });
    expect(staff.members.find((m: { id: string }) => m.id === s.memberId).agreement).toBeNull();
  });

  it("each acceptance is recorded in D1 through the outbox (member, time, hash of the exact text); a re-join records another", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const hash = await agreementHash(DEFAULT_AGREEMENT);
    const bo = await joinSession(s.sessionId, s.invite.token, "Bo");
    const c = await Client.connect(s.sessionId, bo.ticket, "bo");
    await c.next((m) => m.type === "snapshot");
    await c.command({ type: "leave" });
    const again = await joinSession(s.sessionId, s.invite.token, "Bo", bo.guestCredential);
    expect(again.memberId).toBe(bo.memberId);
    await flush(s.sessionId);
    const rows = await d1(`SELECT member_id, text_hash, accepted_at FROM agreement_acceptances WHERE session_id = ? ORDER BY accepted_at, id`, s.sessionId);
    expect(rows).toEqual([
      { member_id: bo.memberId, text_hash: hash, accepted_at: expect.any(Number) },
      { member_id: bo.memberId, text_hash: hash, accepted_at: expect.any(Number) },
    ]);
    expect(await d1(`SELECT text FROM agreement_texts WHERE session_id = ? AND text_hash = ?`, s.sessionId, hash)).toEqual([{ text: DEFAULT_AGREEMENT }]);
  });

  it("declining leaves nothing behind but a count (staff see it; D1 has the number and no row of anyone)", async () => {
    const s = await createSession();
    const fac = await Client.connect(s.sessionId, s.ticket, "fac");
    await fac.next((m) => m.type === "snapshot");
    const before = await context(s.sessionId);
    for (let i = 0; i < 2; i++) {
      const r = await api(`/api/sessions/${s.sessionId}/agreement/decline`, { body: { invite: s.invite.token } });
      expect(r).toMatchObject({ status: 200, json: { declined: true } });
    }
    const bad = await api(`/api/sessions/${s.sessionId}/agreement/decline`, { body: { invite: `${s.invite.token.slice(0, -3)}xyz` } });
    expect(bad.status).toBe(401);
    const after = await context(s.sessionId);
    expect(after!.agreementDeclines).toBe(2);
    // Nobody was added: no member, no name, no identity.
    expect(after!.members).toEqual(before!.members);
    await fac.next((m) => m.type === "patch" && m.changes.some((ch: any) => ch.entity === "session" && ch.value.agreementDeclines === 2));
    await flush(s.sessionId);
    expect(await d1(`SELECT agreement_declines FROM sessions WHERE id = ?`, s.sessionId)).toEqual([{ agreement_declines: 2 }]);
    expect(await d1(`SELECT COUNT(*) AS n FROM agreement_acceptances WHERE session_id = ?`, s.sessionId)).toEqual([{ n: 0 }]);
    expect(await d1(`SELECT COUNT(*) AS n FROM session_participants WHERE session_id = ?`, s.sessionId)).toEqual([{ n: 1 }]);
    fac.close();
  });
});

/** Everyone's frames as they arrived, until now. */
const everything = (c: Client) => c.raw.join("\n");

async function rosterSession(roster: "aliases" | "firstNames") {
  const s = await createSession({ settings: { autoAdmit: true, roster } });
  const fac = await Client.connect(s.sessionId, s.ticket, "fac");
  await fac.next((m) => m.type === "snapshot");
  const join = async (name: string, alias?: string) => {
    const r = await api(`/api/sessions/${s.sessionId}/join`, {
      body: { invite: s.invite.token, name, agreementHash: await agreementHash(DEFAULT_AGREEMENT), ...(alias ? { alias } : {}) },
    });
    expect(r.status).toBe(200);
    const c = await Client.connect(s.sessionId, r.json.ticket, name);
    await c.next((m) => m.type === "snapshot");
    return { memberId: r.json.memberId as string, ticket: r.json.ticket as string, c };
  };
  return { s, fac, join };
}

describe("2. confidential roster", () => {
  it("aliases: over a whole session (main, chat, hands, a choose-a-room round) no client receives another client's identity or name; staff receive both", async () => {
    const { s, fac, join } = await rosterSession("aliases");
    const alice = await join("Alice Anderson", "Sun");
    const bob = await join("Bob Brown");
    const staff = (await api(`/api/sessions/${s.sessionId}`, { token: s.ticket })).json.staff;
    const identityOf = (id: string) => staff.members.find((m: { id: string }) => m.id === id).identity as string;
    const aliceId = identityOf(alice.memberId);
    const bobId = identityOf(bob.memberId);

    await alice.c.command({ type: "sendChat", channel: "room:main", text: "hello from me" });
    await bob.c.command({ type: "sendChat", channel: "room:main", text: "hello back" });
    await alice.c.command({ type: "raiseHand" });
    await fac.command({ type: "createBreakouts", count: 2, mode: "choose" });
    // Choosing a room: room names and head-counts only.
    const choosing = await bob.c.next((m) => m.type === "view" && m.view.choosableRooms.length === 2);
    for (const r of choosing.view.choosableRooms) expect(Object.keys(r).sort()).toEqual(["capacity", "count", "id", "name"]);
    expect((await alice.c.command({ type: "chooseRoom", roomId: "r1" })).type).toBe("ack");
    await bob.c.next((m) => m.type === "view" && m.view.choosableRooms.find((r: any) => r.id === "r1")?.count === 1);
    expect((await bob.c.command({ type: "chooseRoom", roomId: "r1" })).type).toBe("ack");
    expect((await fac.command({ type: "openBreakouts" })).type).toBe("ack");
    await alice.c.command({ type: "sendChat", channel: "room:r1", text: "in the room" });
    await alice.c.command({ type: "setAlias", alias: "Star" });
    const seen = await bob.c.next((m) => m.type === "view" && m.view.roommates.some((r: any) => r.id === alice.memberId && r.name === "Star"));
    expect(seen.view.roommates.find((r: any) => r.id === alice.memberId)).toEqual(expect.objectContaining({ name: "Star", role: "participant" }));
    // Bob chose no alias: the others see "Member <n>".
    expect(alice.c.lastView().roommates.find((r: any) => r.id === bob.memberId).name).toBe(`Member ${bob.memberId.slice(1)}`);

    const toBob = everything(bob.c);
    for (const secret of ["Alice", "Anderson", aliceId]) expect(toBob).not.toContain(secret);
    expect(toBob).toContain("Sun");
    const toAlice = everything(alice.c);
    for (const secret of ["Bob", "Brown", bobId]) expect(toAlice).not.toContain(secret);
    // Staff receive both: the real name, the alias and the identity.
    const toStaff = everything(fac);
    for (const known of ["Alice Anderson", "Star", aliceId, "Bob Brown", bobId]) expect(toStaff).toContain(known);
    const mirror = (await api(`/api/sessions/${s.sessionId}`, { token: s.ticket })).json.staff;
    expect(mirror.members.find((m: any) => m.id === alice.memberId)).toMatchObject({ name: "Alice Anderson", alias: "Star", identity: aliceId });
    // The HTTP state a client reads holds no more than its socket did.
    const bobRead = JSON.stringify((await api(`/api/sessions/${s.sessionId}`, { token: bob.ticket })).json);
    for (const secret of ["Alice", "Anderson", aliceId]) expect(bobRead).not.toContain(secret);
    expect(bobRead).toContain("Star");
    for (const c of [fac, alice.c, bob.c]) c.close();
  });

  it("first names: others see the first word of a client's name (or their alias), never the rest; a client's own HTTP read is the same", async () => {
    const { s, fac, join } = await rosterSession("firstNames");
    const carla = await join("Carla Castillo");
    const dev = await join("Dev Desai", "D");
    await carla.c.command({ type: "sendChat", channel: "room:main", text: "hi" });
    const view = await dev.c.next((m) => m.type === "chat" && m.message.from === carla.memberId);
    expect(view.message.fromName).toBe("Carla");
    expect(dev.c.lastView().roommates.find((r: any) => r.id === carla.memberId).name).toBe("Carla");
    expect(carla.c.lastView().roommates.find((r: any) => r.id === dev.memberId).name).toBe("D");
    expect(everything(dev.c)).not.toContain("Castillo");
    expect(everything(carla.c)).not.toContain("Desai");
    // Staff are not clients: they appear by their name.
    expect(dev.c.lastView().roommates.find((r: any) => r.role === "facilitator").name).toBe("Therapist");
    const ticket = (
      await api(`/api/sessions/${s.sessionId}/join`, {
        body: { invite: s.invite.token, name: "Eve Evans", agreementHash: await agreementHash(DEFAULT_AGREEMENT) },
      })
    ).json.ticket;
    const read = JSON.stringify((await api(`/api/sessions/${s.sessionId}`, { token: ticket })).json);
    expect(read).not.toContain("Castillo");
    expect(read).not.toContain("guest:");
    for (const c of [fac, carla.c, dev.c]) c.close();
  });
});

describe("3. supervised rooms", () => {
  async function staffedSession() {
    const s = await createSession({ settings: { autoAdmit: true, supervisedRooms: true } });
    const fac = await Client.connect(s.sessionId, s.ticket, "fac");
    await fac.next((m) => m.type === "snapshot");
    const co = await joinSession(s.sessionId, (await invite(s.sessionId, s.ticket, "cofacilitator")).token, "Cole");
    const coSocket = await Client.connect(s.sessionId, co.ticket, "co");
    await coSocket.next((m) => m.type === "snapshot");
    const people = [];
    for (const name of ["P1", "P2", "P3", "P4"]) {
      const j = await joinSession(s.sessionId, s.invite.token, name);
      const c = await Client.connect(s.sessionId, j.ticket, name);
      await c.next((m) => m.type === "snapshot");
      people.push({ ...j, c });
    }
    return { s, fac, co, coSocket, people };
  }

  it("automatic assignment places staff first, one per room, then spreads the clients evenly", async () => {
    const { s, fac, co, coSocket, people } = await staffedSession();
    expect((await fac.command({ type: "createBreakouts", count: 2, mode: "auto" })).type).toBe("ack");
    const plan = (await context(s.sessionId))!.round!.plan;
    expect([plan[s.memberId], plan[co.memberId]].sort()).toEqual(["r1", "r2"]);
    const clients = people.map((p) => plan[p.memberId]);
    expect(clients.filter((r) => r === "r1")).toHaveLength(2);
    expect(clients.filter((r) => r === "r2")).toHaveLength(2);
    expect((await fac.command({ type: "openBreakouts" })).type).toBe("ack");
    const after = (await context(s.sessionId))!;
    expect(after.members[s.memberId].location).toBe(plan[s.memberId]);
    expect(after.members[co.memberId].location).toBe(plan[co.memberId]);
    for (const c of [fac, coSocket, ...people.map((p) => p.c)]) c.close();
  });

  it("opening is refused with UNSUPERVISED_ROOM when there are not enough staff, and nothing changes; confirmUnsupervised opens", async () => {
    const { s, fac, coSocket, people } = await staffedSession();
    await fac.command({ type: "createBreakouts", count: 3, mode: "auto" });
    const before = await context(s.sessionId);
    const refused = await fac.command({ type: "openBreakouts" });
    expect(refused.error).toEqual({
      code: "UNSUPERVISED_ROOM",
      message: expect.stringMatching(/Room 3 would open without a facilitator or co-facilitator \(2 staff for 3 rooms\)/),
    });
    expect(await context(s.sessionId)).toEqual(before);
    expect((await fac.command({ type: "openBreakouts", confirmUnsupervised: true })).type).toBe("ack");
    expect((await context(s.sessionId))!.rooms.r3.status).toBe("open");
    for (const c of [fac, coSocket, ...people.map((p) => p.c)]) c.close();
  });

  it("when a room's staff member drops, the other staff get a notice (clients do not), and closeRoom pulls that room back to main", async () => {
    const { s, fac, co, coSocket, people } = await staffedSession();
    await fac.command({ type: "createBreakouts", count: 2, mode: "auto" });
    await fac.command({ type: "openBreakouts" });
    const coRoom = (await context(s.sessionId))!.members[co.memberId].location!;
    const from = fac.messages.length;
    coSocket.close();
    const notice = await fac.next((m) => m.type === "notice" && m.notice.kind === "roomUnsupervised", 5000, from);
    expect(notice.notice).toEqual({
      kind: "roomUnsupervised",
      roomId: coRoom,
      roomName: expect.any(String),
      memberId: co.memberId,
      name: "Cole",
      reason: "disconnected",
    });
    for (const p of people) expect(p.c.messages.some((m) => m.type === "notice" && m.notice.kind === "roomUnsupervised")).toBe(false);
    const inRoom = people.filter((p) => p.c.lastView().you.location === coRoom);
    expect(inRoom).toHaveLength(2);
    expect((await fac.command({ type: "closeRoom", roomId: coRoom })).type).toBe("ack");
    const ctx = (await context(s.sessionId))!;
    for (const p of inRoom) expect(ctx.members[p.memberId].location).toBe("main");
    expect(Object.values(ctx.members).filter((m) => m.location === coRoom)).toEqual([]);
    for (const c of [fac, ...people.map((p) => p.c)]) c.close();
  });
});

describe("4. private check-in", () => {
  it("a client asks discreetly (only staff hear); the facilitator opens a private room during breakouts while the rest runs on; ending it returns the client to their room", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const fac = await Client.connect(s.sessionId, s.ticket, "fac");
    await fac.next((m) => m.type === "snapshot");
    const co = await joinSession(s.sessionId, (await invite(s.sessionId, s.ticket, "cofacilitator")).token, "Cole");
    const coSocket = await Client.connect(s.sessionId, co.ticket, "co");
    const people = [];
    for (const name of ["P1", "P2", "P3", "P4"]) {
      const j = await joinSession(s.sessionId, s.invite.token, name);
      const c = await Client.connect(s.sessionId, j.ticket, name);
      await c.next((m) => m.type === "snapshot");
      people.push({ ...j, c });
    }
    await fac.command({ type: "createBreakouts", count: 2, mode: "auto" });
    await fac.command({ type: "openBreakouts" });
    const client = people[0];
    const room = (await context(s.sessionId))!.members[client.memberId].location!;
    const roommate = people.find((p) => p !== client && p.c.lastView().you.location === room)!;

    expect((await client.c.command({ type: "requestCheckIn" })).type).toBe("ack");
    const asked = await fac.next((m) => m.type === "notice" && m.notice.kind === "checkInRequested");
    expect(asked.notice).toEqual({ kind: "checkInRequested", memberId: client.memberId, name: "P1", location: room });
    await coSocket.next((m) => m.type === "notice" && m.notice.kind === "checkInRequested");
    expect(client.c.lastView().you.checkInRequested).toBe(true);
    for (const p of people.slice(1)) expect(p.c.raw.some((t) => t.includes('"kind":"checkInRequested"') || t.includes('"checkInRequested":true'))).toBe(false);

    const ok = await fac.command({ type: "startCheckIn", memberId: client.memberId });
    expect(ok.type).toBe("ack");
    const placed = await client.c.next((m) => m.type === "placement" && m.placement.location === "k1");
    expect(placed.placement).toMatchObject({ roomName: "Private check-in", media: { room: `mb-${s.sessionId}-k1`, identity: client.memberId } });
    const facPlaced = await fac.next((m) => m.type === "placement" && m.placement.location === "k1");
    expect(facPlaced.placement.media.room).toBe(`mb-${s.sessionId}-k1`);
    // The round keeps running; the room-mate sees "stepped out", nothing more.
    const ctx = (await context(s.sessionId))!;
    expect(ctx.rooms[room].status).toBe("open");
    expect(ctx.members[co.memberId].location).toBe("main");
    const mateView = await roommate.c.next((m) => m.type === "view" && m.view.steppedOut.length === 1);
    expect(mateView.view.steppedOut).toEqual([{ id: client.memberId, name: "P1" }]);
    expect(mateView.view.roommates.some((r: any) => r.id === client.memberId)).toBe(false);
    expect(roommate.c.raw.some((t) => t.includes("k1") || t.includes("check-in"))).toBe(false);
    // Nobody moves the client out of it meanwhile.
    const moved = await fac.command({ type: "move", memberId: client.memberId, to: "main" });
    expect(moved.error).toEqual({ code: "INVALID_STATE", message: "P1 is in a private check-in; end it first" });
    expect((await client.c.command({ type: "returnToMain" })).error.code).toBe("INVALID_STATE");

    expect((await fac.command({ type: "endCheckIn", checkInId: "k1" })).type).toBe("ack");
    const back = await client.c.next((m) => m.type === "placement" && m.placement.location === room);
    expect(back.placement.media.room).toBe(`mb-${s.sessionId}-${room}`);
    const after = (await context(s.sessionId))!;
    expect(after.members[s.memberId].location).toBe("main");
    expect(after.members[client.memberId].breakoutRoom).toBe(room);
    expect(after.checkIns).toEqual({});
    for (const c of [fac, coSocket, ...people.map((p) => p.c)]) c.close();
  });

  it("from main, across a round: opened while rooms are prepared, the client is kept out of the opening and returns to the room they were planned for; after the round, to main", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const F = { label: "F", memberId: s.memberId, ticket: s.ticket };
    const people = [];
    for (const name of ["P1", "P2", "P3"]) people.push(await joinSession(s.sessionId, s.invite.token, name));
    const client = people[0];
    await must(s.sessionId, F, { type: "startCheckIn", memberId: client.memberId });
    await must(s.sessionId, F, { type: "createBreakouts", count: 2, mode: "auto" });
    const planned = (await context(s.sessionId))!.round!.plan[client.memberId];
    await must(s.sessionId, F, { type: "openBreakouts" });
    expect((await context(s.sessionId))!.members[client.memberId].location).toBe("k1");
    await must(s.sessionId, F, { type: "endCheckIn", checkInId: "k1" });
    expect((await context(s.sessionId))!.members[client.memberId].location).toBe(planned);
    // A second check-in outlasting the round ends into the main room.
    await must(s.sessionId, F, { type: "startCheckIn", memberId: client.memberId });
    await must(s.sessionId, F, { type: "closeAll", countdownSeconds: 0 });
    await must(s.sessionId, F, { type: "endCheckIn", checkInId: "k2" });
    const ctx = (await context(s.sessionId))!;
    expect(ctx.members[client.memberId].location).toBe("main");
    expect(ctx.members[s.memberId].location).toBe("main");
    // Leaving during a check-in ends it: the facilitator is back where they were.
    await must(s.sessionId, F, { type: "startCheckIn", memberId: people[1].memberId });
    await must(s.sessionId, { label: "P2", memberId: people[1].memberId, ticket: people[1].ticket }, { type: "leave" });
    const left = (await context(s.sessionId))!;
    expect(left.checkIns).toEqual({});
    expect(left.members[s.memberId].location).toBe("main");
  });
});
