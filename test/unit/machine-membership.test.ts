/**
 * Behaviour: the waiting room, admission, auto-admit, the 50-person limit, leaving, rejoining, removal, help requests.
 */
import { describe, expect, it } from "vitest";
import { MAIN_ROOM } from "../../lib/protocol";
import { admittedMembers } from "../../durable-objects/logic/model";
import { createSession } from "./helpers/session-fixture";

describe("waiting room", () => {
  it("a participant waits, staff hear about it, and admission places them in main", () => {
    const s = createSession({ participants: 2 });
    const r = s.send({ type: "memberJoined", identity: "u-new", name: "Nia", role: "participant" });
    const id = Object.values(s.ctx.members).find((m) => m.identity === "u-new")!.id;
    expect(s.member(id)).toMatchObject({ status: "waiting", location: null, admittedAt: null });
    expect(r.ok && r.notices).toEqual([{ kind: "joinRequest", memberId: id, name: "Nia", note: null }]);

    const a = s.ok("admit", { memberId: id });
    expect(s.member(id)).toMatchObject({ status: "admitted", location: MAIN_ROOM, admittedAt: s.now });
    expect(a.notices).toEqual([]);
  });

  it("deny turns someone away for good; a denied person joining again stays denied, without a new request", () => {
    const s = createSession({ participants: 2, waiting: 1 });
    const w = s.waiting[0];
    s.ok("deny", { memberId: w });
    expect(s.member(w)).toMatchObject({ status: "denied", location: null, leftAt: s.now });
    const r = s.send({ type: "memberJoined", identity: s.member(w).identity, name: "W again", role: "participant" });
    expect(s.member(w).status).toBe("denied");
    expect(r.ok && r.notices).toEqual([]);
    s.refused("INVALID_STATE", "admit", { memberId: w });
    s.refused("INVALID_STATE", "deny", { memberId: w });
  });

  it("admit and deny need someone who is waiting", () => {
    const s = createSession({ participants: 2 });
    s.refused("INVALID_STATE", "admit", { memberId: s.participants[0] });
    s.refused("INVALID_STATE", "deny", { memberId: s.participants[0] });
    s.refused("MEMBER_NOT_FOUND", "admit", { memberId: "m999" });
    s.refused("MEMBER_NOT_FOUND", "deny", { memberId: "m999" });
  });

  it("with auto-admit, participants come straight in and no request is raised", () => {
    const s = createSession({ participants: 2, settings: { autoAdmit: true } });
    const r = s.send({ type: "memberJoined", identity: "u-new", name: "Nia", role: "participant" });
    const id = Object.values(s.ctx.members).find((m) => m.identity === "u-new")!.id;
    expect(s.member(id)).toMatchObject({ status: "admitted", location: MAIN_ROOM });
    expect(r.ok && r.notices).toEqual([]);
  });

  it("turning auto-admit on admits later joiners; those already waiting still need a decision", () => {
    const s = createSession({ participants: 2, waiting: 1 });
    s.ok("updateSettings", { settings: { autoAdmit: true } });
    expect(s.ctx.settings.autoAdmit).toBe(true);
    const late = s.join("u-late");
    expect(s.member(late).status).toBe("admitted");
    expect(s.member(s.waiting[0]).status).toBe("waiting");
  });

  it("only the facilitator changes settings", () => {
    const s = createSession({ participants: 2, cofacilitators: 1 });
    s.refused("FORBIDDEN", "updateSettings", { settings: { autoAdmit: true } }, s.as(s.cofacilitators[0]));
    s.refused("FORBIDDEN", "updateSettings", { settings: { autoAdmit: true } }, s.as(s.participants[0]));
  });

  it("staff are admitted without waiting", () => {
    const s = createSession({ participants: 1 });
    const c = s.join("u-cof", { role: "cofacilitator" });
    expect(s.member(c)).toMatchObject({ status: "admitted", location: MAIN_ROOM });
  });

  it("joining again with a new name renames, nothing else", () => {
    const s = createSession({ participants: 2 });
    const p = s.participants[0];
    const before = s.member(p);
    s.send({ type: "memberJoined", identity: before.identity, name: "New name", role: "participant" });
    expect(s.member(p)).toEqual({ ...before, name: "New name" });
  });
});

describe("the 50-person limit", () => {
  it("admission stops at 50 admitted (SESSION_FULL) and resumes when someone leaves", () => {
    const s = createSession({ participants: 49, waiting: 1 }); // facilitator + 49 = 50
    expect(admittedMembers(s.ctx)).toHaveLength(50);
    s.refused("SESSION_FULL", "admit", { memberId: s.waiting[0] });
    s.ok("leave", {}, s.as(s.participants[0]));
    s.ok("admit", { memberId: s.waiting[0] });
    expect(admittedMembers(s.ctx)).toHaveLength(50);
  });

  it("with auto-admit, the 51st person waits instead, and staff are told", () => {
    const s = createSession({ participants: 49, settings: { autoAdmit: true } });
    const r = s.send({ type: "memberJoined", identity: "u-51", name: "Late", role: "participant" });
    const id = Object.values(s.ctx.members).find((m) => m.identity === "u-51")!.id;
    expect(s.member(id).status).toBe("waiting");
    expect(r.ok && r.notices).toEqual([{ kind: "joinRequest", memberId: id, name: "Late", note: null }]);
  });

  it("staff joining a full session wait too, with a join request", () => {
    const s = createSession({ participants: 49 });
    const r = s.send({ type: "memberJoined", identity: "u-cof", name: "Cody", role: "cofacilitator" });
    const id = Object.values(s.ctx.members).find((m) => m.identity === "u-cof")!.id;
    expect(s.member(id).status).toBe("waiting");
    expect(r.ok && r.notices).toEqual([{ kind: "joinRequest", memberId: id, name: "Cody", note: null }]);
  });

  it("someone returning to a full session waits rather than making 51", () => {
    const s = createSession({ participants: 49, waiting: 1 });
    const back = s.participants[0];
    s.ok("leave", {}, s.as(back));
    s.ok("admit", { memberId: s.waiting[0] });
    const r = s.send({ type: "memberJoined", identity: s.member(back).identity, name: "Back", role: "participant" });
    expect(admittedMembers(s.ctx)).toHaveLength(50);
    expect(s.member(back).status).toBe("waiting");
    expect(r.ok && r.notices).toEqual([{ kind: "joinRequest", memberId: back, name: "Back", note: null }]);
  });
});

describe("leaving and coming back", () => {
  it("someone admitted who leaves comes straight back to main", () => {
    const s = createSession({ participants: 3 });
    const p = s.participants[0];
    s.ok("leave", {}, s.as(p));
    expect(s.member(p)).toMatchObject({ status: "left", location: null, connected: false });
    const r = s.send({ type: "memberJoined", identity: s.member(p).identity, name: "P1", role: "participant" });
    expect(s.member(p)).toMatchObject({ status: "admitted", location: MAIN_ROOM, leftAt: null });
    expect(r.ok && r.notices).toEqual([]);
  });

  it("someone who left the waiting room waits again, with a fresh request", () => {
    const s = createSession({ participants: 2, waiting: 1 });
    const w = s.waiting[0];
    s.ok("leave", {}, s.as(w));
    expect(s.member(w).status).toBe("left");
    const r = s.send({ type: "memberJoined", identity: s.member(w).identity, name: "W1", role: "participant" });
    expect(s.member(w).status).toBe("waiting");
    expect(r.ok && r.notices).toEqual([{ kind: "joinRequest", memberId: w, name: "W1", note: null }]);
  });

  it("leaving twice is refused", () => {
    const s = createSession({ participants: 2 });
    s.ok("leave", {}, s.as(s.participants[0]));
    s.refused("FORBIDDEN", "leave", {}, s.as(s.participants[0]));
  });

  it("leaving a breakout room starts its empty timer and drops any help request", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2 });
    s.ok("openBreakouts");
    const room = s.openRoomIds()[0];
    const [a, b] = s.inPlace(room);
    s.ok("requestHelp", {}, s.as(a));
    s.ok("leave", {}, s.as(a));
    expect(s.member(a).helpRequest).toBeNull();
    expect(s.room(room).emptySince).toBeNull();
    s.ok("leave", {}, s.as(b));
    expect(s.room(room).emptySince).toBe(s.now);
  });

  it("a returning member during open rooms follows the late-joiner rule", () => {
    const s = createSession({ participants: 4, settings: { lateJoiners: "auto" } });
    s.ok("createBreakouts", { count: 2 });
    s.ok("openBreakouts");
    const p = s.participants[0];
    s.ok("leave", {}, s.as(p));
    s.send({ type: "memberJoined", identity: s.member(p).identity, name: "P1", role: "participant" });
    expect(s.openRoomIds()).toContain(s.locationOf(p));
  });
});

describe("removing members", () => {
  it("staff remove a participant: gone from rooms and plans, and cannot rejoin", () => {
    const s = createSession({ participants: 4, cofacilitators: 1 });
    s.ok("createBreakouts", { count: 2 });
    const p = s.participants[0];
    expect(s.ctx.round!.plan[p]).toBeDefined();
    s.ok("removeMember", { memberId: p }, s.as(s.cofacilitators[0]));
    expect(s.member(p)).toMatchObject({ status: "denied", location: null });
    expect(s.ctx.round!.plan[p]).toBeUndefined();
    s.send({ type: "memberJoined", identity: s.member(p).identity, name: "again", role: "participant" });
    expect(s.member(p).status).toBe("denied");
  });

  it("an invite a removed member used admits nobody by itself: new joiners with it wait, marked, even with auto-admit", () => {
    const s = createSession({ participants: 2, settings: { autoAdmit: true } });
    const a = s.send({ type: "memberJoined", identity: "guest:inv1:aaa", name: "Ann", role: "participant", inviteId: "inv1" });
    const ann = Object.values(s.ctx.members).find((m) => m.identity === "guest:inv1:aaa")!;
    expect(a.ok && ann.status).toBe("admitted");
    expect(ann.inviteId).toBe("inv1");
    s.ok("removeMember", { memberId: ann.id });
    expect(s.ctx.invites.inv1).toEqual({ removed: 1, revokedAt: null });
    // The same identity stays removed; a new one with the same invite waits for staff, marked; another invite does not.
    s.send({ type: "memberJoined", identity: "guest:inv1:aaa", name: "Ann", role: "participant", inviteId: "inv1" });
    expect(s.member(ann.id).status).toBe("denied");
    const r = s.send({ type: "memberJoined", identity: "guest:inv1:bbb", name: "Anna", role: "participant", inviteId: "inv1" });
    const anna = Object.values(s.ctx.members).find((m) => m.identity === "guest:inv1:bbb")!;
    expect(anna).toMatchObject({ status: "waiting", joinNote: "invite-of-removed" });
    expect(r.ok && r.notices).toEqual([{ kind: "joinRequest", memberId: anna.id, name: "Anna", note: "invite-of-removed" }]);
    s.send({ type: "memberJoined", identity: "guest:inv2:ccc", name: "Cy", role: "participant", inviteId: "inv2" });
    expect(Object.values(s.ctx.members).find((m) => m.identity === "guest:inv2:ccc")).toMatchObject({ status: "admitted", joinNote: null });
    // Admitting clears the mark.
    s.ok("admit", { memberId: anna.id });
    expect(s.member(anna.id).joinNote).toBeNull();
  });

  it("remove and revoke: the invite is marked revoked; it needs an invite to revoke", () => {
    const s = createSession({ participants: 2 });
    s.send({ type: "memberJoined", identity: "guest:inv1:aaa", name: "Ann", role: "participant", inviteId: "inv1" });
    const ann = Object.values(s.ctx.members).find((m) => m.identity === "guest:inv1:aaa")!;
    s.ok("admit", { memberId: ann.id });
    s.refused("INVALID_STATE", "removeMember", { memberId: s.participants[0], revokeInvite: true });
    const r = s.ok("removeMember", { memberId: ann.id, revokeInvite: true });
    expect(s.ctx.invites.inv1).toEqual({ removed: 1, revokedAt: r.next.members[ann.id].leftAt });
  });

  it("the facilitator cannot be removed; participants cannot remove anyone; the removed cannot be removed again", () => {
    const s = createSession({ participants: 3, cofacilitators: 1 });
    s.refused("FORBIDDEN", "removeMember", { memberId: s.facilitator }, s.as(s.cofacilitators[0]));
    s.refused("FORBIDDEN", "removeMember", { memberId: s.participants[1] }, s.as(s.participants[0]));
    s.ok("removeMember", { memberId: s.participants[1] });
    s.refused("INVALID_STATE", "removeMember", { memberId: s.participants[1] });
    s.refused("MEMBER_NOT_FOUND", "removeMember", { memberId: "m999" });
  });

  it("removing someone from a room during breakouts leaves nobody in a closed or wrong place", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2 });
    s.ok("openBreakouts");
    const room = s.openRoomIds()[0];
    for (const id of s.inPlace(room)) s.ok("removeMember", { memberId: id });
    expect(s.room(room).emptySince).toBe(s.now);
  });
});

describe("help requests", () => {
  it("a participant asks for help; staff get a notice naming where they are; staff resolve it", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2 });
    s.ok("openBreakouts");
    const p = s.participants[0];
    const where = s.locationOf(p);
    const r = s.ok("requestHelp", { message: "stuck" }, s.as(p));
    expect(s.member(p).helpRequest).toEqual({ at: s.now, message: "stuck" });
    expect(r.notices).toEqual([{ kind: "helpRequested", memberId: p, name: "P1", location: where, message: "stuck" }]);
    const r2 = s.ok("resolveHelp", { memberId: p });
    expect(s.member(p).helpRequest).toBeNull();
    expect(r2.notices).toEqual([{ kind: "helpResolved", memberId: p }]);
    s.refused("INVALID_STATE", "resolveHelp", { memberId: p });
  });

  it("asking again overwrites the request and notifies staff again", () => {
    const s = createSession({ participants: 2 });
    const p = s.participants[0];
    s.ok("requestHelp", { message: "first" }, s.as(p));
    const r = s.ok("requestHelp", {}, s.as(p));
    expect(s.member(p).helpRequest).toEqual({ at: s.now, message: "" });
    expect(r.notices).toEqual([{ kind: "helpRequested", memberId: p, name: "P1", location: MAIN_ROOM, message: "" }]);
  });

  it("staff cannot request help, participants cannot resolve it", () => {
    const s = createSession({ participants: 2 });
    s.refused("FORBIDDEN", "requestHelp", {}, s.as(s.facilitator));
    s.ok("requestHelp", {}, s.as(s.participants[0]));
    s.refused("FORBIDDEN", "resolveHelp", { memberId: s.participants[0] }, s.as(s.participants[1]));
  });
});
