/**
 * Behaviour while rooms are open: moving, swapping, bulk moves, returning to main, late joiners, visiting,
 * broadcasting, and ending the session at any time.
 */
import { describe, expect, it } from "vitest";
import { MAIN_ROOM } from "../../lib/protocol";
import { admittedMembers } from "../../durable-objects/logic/model";
import { createSession, type FixtureOptions } from "./helpers/session-fixture";

/** A session with rooms open: auto-assigned, `rooms` rooms. */
function openSession(opts: FixtureOptions & { rooms?: number; capacity?: number } = {}) {
  const s = createSession({ participants: 6, ...opts });
  s.ok("createBreakouts", { count: opts.rooms ?? 2, capacity: opts.capacity });
  s.ok("openBreakouts");
  return s;
}

describe("moving people live", () => {
  it("move: main → room → other room → main; arrival resets with each new place", () => {
    const s = openSession({ rooms: 3, participants: 6 });
    const [a, b] = s.openRoomIds();
    const p = s.inPlace(a)[0];
    s.send({ type: "arrival", memberId: p, mediaRoom: `mb-s-test-${a}` });
    expect(s.member(p).arrivedIn).not.toBeNull();
    s.ok("move", { memberId: p, to: b });
    expect(s.member(p)).toMatchObject({ location: b, arrivedIn: null });
    s.ok("move", { memberId: p, to: MAIN_ROOM });
    expect(s.locationOf(p)).toBe(MAIN_ROOM);
    s.ok("move", { memberId: s.facilitator, to: a });
    expect(s.locationOf(s.facilitator)).toBe(a);
  });

  it("move refusals: already there, full, closed or unknown room, not admitted, outside open rooms", () => {
    const s = openSession({ rooms: 2, participants: 4, capacity: 2, waiting: 1 });
    const [a, b] = s.openRoomIds();
    const p = s.inPlace(a)[0];
    s.refused("ALREADY_THERE", "move", { memberId: p, to: a });
    s.refused("ROOM_FULL", "move", { memberId: p, to: b });
    s.refused("ROOM_NOT_FOUND", "move", { memberId: p, to: "r999" });
    s.refused("NOT_ADMITTED", "move", { memberId: s.waiting[0], to: a });
    s.refused("MEMBER_NOT_FOUND", "move", { memberId: "m999", to: a });
    s.refused("FORBIDDEN", "move", { memberId: p, to: MAIN_ROOM }, s.as(s.participants[3]));
    s.ok("closeRoom", { roomId: b });
    s.refused("ROOM_NOT_FOUND", "move", { memberId: p, to: b });
    const m = createSession({ participants: 3 });
    m.refused("INVALID_STATE", "move", { memberId: m.participants[0], to: MAIN_ROOM });
    m.ok("createBreakouts", { count: 2 });
    m.refused("INVALID_STATE", "move", { memberId: m.participants[0], to: MAIN_ROOM });
  });

  it("moving the last person out starts the room's empty timer; moving someone in stops it", () => {
    const s = openSession({ rooms: 2, participants: 2 });
    const [a] = s.openRoomIds();
    const [p] = s.inPlace(a);
    s.ok("move", { memberId: p, to: MAIN_ROOM });
    expect(s.room(a).emptySince).toBe(s.now);
    s.ok("move", { memberId: p, to: a });
    expect(s.room(a).emptySince).toBeNull();
  });

  it("swap exchanges two people's places, even between full rooms", () => {
    const s = openSession({ rooms: 2, participants: 4, capacity: 2 });
    const [a, b] = s.openRoomIds();
    const x = s.inPlace(a)[0];
    const y = s.inPlace(b)[0];
    s.ok("swap", { memberA: x, memberB: y });
    expect([s.locationOf(x), s.locationOf(y)]).toEqual([b, a]);
    s.ok("swap", { memberA: x, memberB: s.facilitator });
    expect([s.locationOf(x), s.locationOf(s.facilitator)]).toEqual([MAIN_ROOM, b]);
    s.refused("ALREADY_THERE", "swap", { memberA: y, memberB: s.inPlace(a).find((m) => m !== y)! });
    s.refused("INVALID_MESSAGE", "swap", { memberA: y, memberB: y });
    s.refused("MEMBER_NOT_FOUND", "swap", { memberA: y, memberB: "m999" });
  });

  it("bulk moves while open go to rooms or main (null), within capacity after the batch", () => {
    const s = openSession({ rooms: 2, participants: 4, capacity: 3 });
    const [a, b] = s.openRoomIds();
    const inA = s.inPlace(a);
    const inB = s.inPlace(b);
    s.ok("bulkAssign", {
      assignments: [
        { memberId: inA[0], roomId: b },
        { memberId: inB[0], roomId: null },
      ],
    });
    expect(s.locationOf(inA[0])).toBe(b);
    expect(s.locationOf(inB[0])).toBe(MAIN_ROOM);
    s.refused("ROOM_FULL", "bulkAssign", {
      assignments: [
        { memberId: inA[1], roomId: b },
        { memberId: inB[0], roomId: b },
      ],
    });
    s.refused("ROOM_NOT_FOUND", "bulkAssign", { assignments: [{ memberId: inA[1], roomId: "r999" }] });
  });
});

describe("returning to main by oneself", () => {
  it("allowed by default; refused when the setting is off; pointless in main", () => {
    const s = openSession({ participants: 4 });
    const [a] = s.openRoomIds();
    const [p, q] = s.inPlace(a);
    s.ok("returnToMain", {}, s.as(p));
    expect(s.locationOf(p)).toBe(MAIN_ROOM);
    s.refused("ALREADY_THERE", "returnToMain", {}, s.as(p));
    s.ok("updateSettings", { settings: { allowSelfReturn: false } });
    s.refused("NOT_ALLOWED_BY_SETTINGS", "returnToMain", {}, s.as(q));
    expect(s.locationOf(q)).toBe(a);
    s.refused("FORBIDDEN", "returnToMain", {}, s.as(s.facilitator));
  });
});

describe("late joiners while rooms are open", () => {
  it('"auto" puts them in the room with the fewest people', () => {
    const s = openSession({ rooms: 3, participants: 6, settings: { autoAdmit: true, lateJoiners: "auto" } });
    const [a, b, c] = s.openRoomIds();
    s.ok("move", { memberId: s.inPlace(b)[0], to: MAIN_ROOM });
    const late = s.join("u-late-1");
    expect(s.locationOf(late)).toBe(b);
    const late2 = s.join("u-late-2");
    expect(s.locationOf(late2)).toBe(a); // all equal again: the first room
    void c;
  });

  it('"main" keeps them in main', () => {
    const s = openSession({ settings: { autoAdmit: true, lateJoiners: "main" } });
    expect(s.locationOf(s.join("u-late"))).toBe(MAIN_ROOM);
  });

  it("admitted from the waiting room during open rooms, they follow the same rule", () => {
    const s = openSession({ waiting: 1, settings: { lateJoiners: "auto" } });
    s.ok("admit", { memberId: s.waiting[0] });
    expect(s.openRoomIds()).toContain(s.locationOf(s.waiting[0]));
  });

  it("when every room is full, in a choose round, for staff, or while closing, they go to main", () => {
    const full = openSession({ rooms: 2, participants: 4, capacity: 2, settings: { autoAdmit: true, lateJoiners: "auto" } });
    expect(full.locationOf(full.join("u-late"))).toBe(MAIN_ROOM);

    const choose = createSession({ participants: 4, settings: { autoAdmit: true, lateJoiners: "auto" } });
    choose.ok("createBreakouts", { count: 2, mode: "choose" });
    choose.ok("openBreakouts");
    expect(choose.locationOf(choose.join("u-late"))).toBe(MAIN_ROOM);

    const staff = openSession({ settings: { lateJoiners: "auto" } });
    expect(staff.locationOf(staff.join("u-cof", { role: "cofacilitator" }))).toBe(MAIN_ROOM);

    const closing = openSession({ settings: { autoAdmit: true, lateJoiners: "auto" } });
    closing.ok("closeAll");
    expect(closing.locationOf(closing.join("u-late"))).toBe(MAIN_ROOM);
  });

  it("joining while preparing puts them in main, unplanned (auto plans are made at creation)", () => {
    const s = createSession({ participants: 4, settings: { autoAdmit: true, lateJoiners: "auto" } });
    s.ok("createBreakouts", { count: 2 });
    const late = s.join("u-late");
    expect(s.locationOf(late)).toBe(MAIN_ROOM);
    expect(s.ctx.round!.plan[late]).toBeUndefined();
  });
});

describe("staff visiting rooms", () => {
  it("a facilitator visits a room and comes back; capacity applies; only while rooms are open", () => {
    const s = openSession({ rooms: 2, participants: 3, capacity: 2, cofacilitators: 1 });
    const [a, b] = s.openRoomIds();
    const roomWithSpace = s.inPlace(a).length < 2 ? a : b;
    const fullRoom = roomWithSpace === a ? b : a;
    s.ok("visitRoom", { to: roomWithSpace });
    expect(s.locationOf(s.facilitator)).toBe(roomWithSpace);
    s.refused("ALREADY_THERE", "visitRoom", { to: roomWithSpace });
    s.refused("ROOM_FULL", "visitRoom", { to: fullRoom }, s.as(s.cofacilitators[0]));
    s.ok("visitRoom", { to: MAIN_ROOM });
    expect(s.locationOf(s.facilitator)).toBe(MAIN_ROOM);
    s.refused("FORBIDDEN", "visitRoom", { to: a }, s.as(s.participants[0]));
    s.refused("ROOM_NOT_FOUND", "visitRoom", { to: "r999" });

    const m = createSession({ participants: 3 });
    m.refused("INVALID_STATE", "visitRoom", { to: MAIN_ROOM });
    m.ok("createBreakouts", { count: 2 });
    m.refused("INVALID_STATE", "visitRoom", { to: "r1" });
  });

  it("visiting during the closing countdown is allowed", () => {
    const s = openSession({ cofacilitators: 1 });
    s.ok("closeAll");
    s.ok("visitRoom", { to: s.openRoomIds()[0] }, s.as(s.cofacilitators[0]));
  });
});

describe("broadcasts", () => {
  it("to everyone or to one open room, from staff only", () => {
    const s = openSession({ cofacilitators: 1 });
    const a = s.openRoomIds()[0];
    expect(s.ok("broadcast", { text: "5 minutes left" }).notices).toEqual([{ kind: "broadcast", text: "5 minutes left", roomId: null, from: s.facilitator }]);
    expect(s.ok("broadcast", { text: "hi room", roomId: a }, s.as(s.cofacilitators[0])).notices).toEqual([
      { kind: "broadcast", text: "hi room", roomId: a, from: s.cofacilitators[0] },
    ]);
    s.refused("ROOM_NOT_FOUND", "broadcast", { text: "x", roomId: "r999" });
    s.refused("FORBIDDEN", "broadcast", { text: "x" }, s.as(s.participants[0]));
    s.ok("closeRoom", { roomId: a });
    s.refused("ROOM_NOT_FOUND", "broadcast", { text: "x", roomId: a });
  });

  it("to a room that is still being prepared: ROOM_NOT_OPEN", () => {
    const s = createSession({ participants: 2 });
    s.ok("createBreakouts", { count: 2 });
    s.refused("ROOM_NOT_OPEN", "broadcast", { text: "x", roomId: s.preparingRoomIds()[0] });
    s.ok("broadcast", { text: "to everyone" });
  });

  it("a broadcast changes nothing but the chat, where it appears for everyone", () => {
    const s = createSession({ participants: 2 });
    const before = s.ctx;
    s.ok("broadcast", { text: "welcome" });
    const { chat, nextChatNumber, ...rest } = s.ctx;
    const { chat: _c, nextChatNumber: _n, ...restBefore } = before;
    expect(rest).toEqual(restBefore);
    expect(Object.values(chat)).toEqual([
      { id: "c1", channel: "all", kind: "broadcast", from: s.facilitator, fromName: "Fay", fromRole: "facilitator", text: "welcome", at: s.now, audience: "*" },
    ]);
    expect(nextChatNumber).toBe(2);
  });
});

describe("ending the session", () => {
  for (const phase of ["main", "preparing", "open", "closing"] as const) {
    it(`endSession works from ${phase}: everyone leaves, every room closes, staff are told`, () => {
      const s = createSession({ participants: 4, waiting: 1 });
      if (phase !== "main") s.ok("createBreakouts", { count: 2 });
      if (phase === "open" || phase === "closing") s.ok("openBreakouts");
      if (phase === "closing") s.ok("closeAll");
      expect(s.phase).toBe(phase);
      s.ok("requestHelp", {}, s.as(s.participants[0]));
      const r = s.ok("endSession");
      expect(s.phase).toBe("ended");
      expect(r.notices).toEqual([{ kind: "sessionEnded", reason: "ended by facilitator" }]);
      expect(s.ctx).toMatchObject({ endedAt: s.now, endReason: "ended by facilitator", round: null });
      expect(s.ctx.roundsCompleted).toBe(phase === "open" || phase === "closing" ? 1 : 0);
      expect(admittedMembers(s.ctx)).toEqual([]);
      for (const m of Object.values(s.ctx.members)) expect(m).toMatchObject({ status: "left", location: null, helpRequest: null });
      for (const room of Object.values(s.ctx.rooms)) expect(room.status).toBe("closed");
      // Nothing more happens.
      s.refused("SESSION_ENDED", "createBreakouts", { count: 2 });
      s.refused("SESSION_ENDED", "endSession");
      s.send({ type: "memberJoined", identity: "u-after", name: "After", role: "participant" });
      expect(Object.values(s.ctx.members).some((m) => m.identity === "u-after")).toBe(false);
    });
  }

  it("only the facilitator ends the session", () => {
    const s = createSession({ participants: 2, cofacilitators: 1 });
    s.refused("FORBIDDEN", "endSession", {}, s.as(s.cofacilitators[0]));
    s.refused("FORBIDDEN", "endSession", {}, s.as(s.participants[0]));
  });

  it("an ended session survives persistence", () => {
    const s = openSession();
    s.ok("endSession");
    s.reload();
    expect(s.phase).toBe("ended");
    s.refused("SESSION_ENDED", "broadcast", { text: "x" });
  });
});
