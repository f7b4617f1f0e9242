/**
 * Behaviour: creating and preparing rooms (counts, names, add/rename/delete), the assignment modes (auto, manual,
 * bulk, choose, pre-assignment by identity), opening, and closing single rooms.
 */
import { describe, expect, it } from "vitest";
import { CommandSchema, MAIN_ROOM } from "../../lib/protocol";
import { admittedMembers } from "../../durable-objects/logic/model";
import { createSession, type SessionFixture } from "./helpers/session-fixture";

const planSizes = (s: SessionFixture) => s.preparingRoomIds().map((id) => Object.values(s.ctx.round!.plan).filter((r) => r === id).length);

describe("creating rooms", () => {
  it("creates 1 to 50 rooms named Room 1..n, all preparing, in a new round", () => {
    for (let n = 1; n <= 50; n++) {
      const s = createSession({ participants: 2, checkInvariants: n % 10 === 0 });
      s.ok("createBreakouts", { count: n, mode: "manual" });
      expect(s.phase).toBe("preparing");
      const rooms = Object.values(s.ctx.rooms);
      expect(rooms.map((r) => r.name)).toEqual(Array.from({ length: n }, (_, i) => `Room ${i + 1}`));
      expect(new Set(rooms.map((r) => r.id)).size).toBe(n);
      for (const r of rooms) expect(r).toMatchObject({ status: "preparing", capacity: 50, round: 1, openedAt: null });
      expect(s.ctx.round).toMatchObject({ number: 1, mode: "manual", plan: {}, openedAt: null, endsAt: null, closesAt: null });
    }
  });

  it("refuses 51 rooms (TOO_MANY_ROOMS), by count or by names; the wire schema refuses them too", () => {
    const s = createSession({ participants: 2 });
    s.refused("TOO_MANY_ROOMS", "createBreakouts", { count: 51 });
    s.refused("TOO_MANY_ROOMS", "createBreakouts", { names: Array.from({ length: 51 }, (_, i) => `R${i}`), mode: "manual" });
    expect(CommandSchema.safeParse({ type: "createBreakouts", count: 51 }).success).toBe(false);
    expect(CommandSchema.safeParse({ type: "createBreakouts", count: 50 }).success).toBe(true);
  });

  it("refuses a round with no rooms at all", () => {
    const s = createSession({ participants: 2 });
    s.refused("INVALID_MESSAGE", "createBreakouts", { names: [], mode: "manual" });
  });

  it("uses explicit names, which must differ ignoring case", () => {
    const s = createSession({ participants: 2 });
    s.refused("DUPLICATE_ROOM_NAME", "createBreakouts", { names: ["Oak", "oak"] });
    s.ok("createBreakouts", { names: ["Oak", "Elm", "Ash"] });
    expect(Object.values(s.ctx.rooms).map((r) => r.name)).toEqual(["Oak", "Elm", "Ash"]);
  });

  it("needs at least 2 admitted participants (staff and waiting people do not count)", () => {
    const s = createSession({ participants: 1, cofacilitators: 2, waiting: 3 });
    s.refused("TOO_FEW_PARTICIPANTS", "createBreakouts", { count: 2 });
    s.refused("TOO_FEW_PARTICIPANTS", "createBreakouts", { count: 2, includeStaff: s.cofacilitators });
    s.ok("admit", { memberId: s.waiting[0] });
    s.ok("createBreakouts", { count: 2 });
  });

  it("only in the main room phase, by staff", () => {
    const s = createSession({ participants: 3, cofacilitators: 1 });
    s.refused("FORBIDDEN", "createBreakouts", { count: 2 }, s.as(s.participants[0]));
    s.ok("createBreakouts", { count: 2 }, s.as(s.cofacilitators[0]));
    s.refused("INVALID_STATE", "createBreakouts", { count: 2 });
  });

  it("capacity: per round, capped by the session setting; too little room for everyone is ROOM_FULL", () => {
    const s = createSession({ participants: 7, settings: { maxParticipantsPerRoom: 3 } });
    s.refused("ROOM_FULL", "createBreakouts", { count: 2 });
    s.refused("ROOM_FULL", "createBreakouts", { count: 3, capacity: 2 });
    s.ok("createBreakouts", { count: 3 });
    for (const id of s.preparingRoomIds()) expect(s.room(id).capacity).toBe(3);
    // Manual rounds do not need room for everyone up front.
    const m = createSession({ participants: 7 });
    m.ok("createBreakouts", { count: 2, capacity: 2, mode: "manual" });
  });
});

describe("preparing rooms", () => {
  it("addRoom adds a preparing room with a fresh name and the round's capacity", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { names: ["Room 3", "Blue"], capacity: 4, mode: "manual" });
    s.ok("addRoom");
    s.ok("addRoom", { name: "Green" });
    const rooms = Object.values(s.ctx.rooms);
    expect(rooms.map((r) => r.name)).toEqual(["Room 3", "Blue", "Room 4", "Green"]);
    expect(rooms.map((r) => r.capacity)).toEqual([4, 4, 4, 4]);
    s.refused("DUPLICATE_ROOM_NAME", "addRoom", { name: "blue" });
  });

  it("addRoom stops at 50 rooms", () => {
    const s = createSession({ participants: 2 });
    s.ok("createBreakouts", { count: 49, mode: "manual" });
    s.ok("addRoom");
    s.refused("TOO_MANY_ROOMS", "addRoom");
    s.ok("deleteRoom", { roomId: s.preparingRoomIds()[0] });
    s.ok("addRoom");
  });

  it("renameRoom renames (while preparing and while open); names stay unique", () => {
    const s = createSession({ participants: 4 });
    s.refused("INVALID_STATE", "renameRoom", { roomId: "r1", name: "X" });
    s.ok("createBreakouts", { count: 2 });
    const [a, b] = s.preparingRoomIds();
    s.ok("renameRoom", { roomId: a, name: "Quiet" });
    expect(s.room(a).name).toBe("Quiet");
    s.refused("DUPLICATE_ROOM_NAME", "renameRoom", { roomId: b, name: "QUIET" });
    s.ok("renameRoom", { roomId: a, name: "quiet" }); // its own name in another case
    s.refused("ROOM_NOT_FOUND", "renameRoom", { roomId: "r999", name: "Y" });
    s.ok("openBreakouts");
    s.ok("renameRoom", { roomId: b, name: "Loud" });
    expect(s.room(b).name).toBe("Loud");
  });

  it("deleteRoom discards a room and its plan entries; the last room cannot be deleted", () => {
    const s = createSession({ participants: 6 });
    s.ok("createBreakouts", { count: 3 });
    const [a, b, c] = s.preparingRoomIds();
    const plannedInC = Object.entries(s.ctx.round!.plan)
      .filter(([, r]) => r === c)
      .map(([m]) => m);
    expect(plannedInC.length).toBe(2);
    s.ok("deleteRoom", { roomId: c });
    expect(s.room(c).status).toBe("closed");
    expect(s.preparingRoomIds()).toEqual([a, b]);
    for (const m of plannedInC) expect(s.ctx.round!.plan[m]).toBeUndefined();
    s.ok("deleteRoom", { roomId: b });
    s.refused("INVALID_STATE", "deleteRoom", { roomId: a });
    s.refused("ROOM_NOT_FOUND", "deleteRoom", { roomId: c });
    // Those planned into a deleted room stay in main when rooms open.
    s.ok("openBreakouts");
    for (const m of plannedInC) expect(s.locationOf(m)).toBe(MAIN_ROOM);
  });

  it("rooms cannot be added or deleted once open", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2 });
    s.ok("openBreakouts");
    s.refused("INVALID_STATE", "addRoom");
    s.refused("INVALID_STATE", "deleteRoom", { roomId: s.openRoomIds()[0] });
  });
});

describe("assignment modes", () => {
  it("auto: everyone admitted as a participant is planned, room sizes within one; staff stay out", () => {
    const s = createSession({ participants: 7, cofacilitators: 1, waiting: 1 });
    s.ok("createBreakouts", { count: 3 });
    const plan = s.ctx.round!.plan;
    expect(Object.keys(plan).sort()).toEqual([...s.participants].sort());
    expect(planSizes(s).sort()).toEqual([2, 2, 3]);
    expect(plan[s.facilitator]).toBeUndefined();
    expect(plan[s.cofacilitators[0]]).toBeUndefined();
  });

  it("auto: staff named in includeStaff are placed like participants", () => {
    const s = createSession({ participants: 4, cofacilitators: 2 });
    s.ok("createBreakouts", { count: 2, includeStaff: [s.cofacilitators[0], s.facilitator] });
    const plan = s.ctx.round!.plan;
    expect(plan[s.cofacilitators[0]]).toBeDefined();
    expect(plan[s.facilitator]).toBeDefined();
    expect(plan[s.cofacilitators[1]]).toBeUndefined();
    expect(planSizes(s)).toEqual([3, 3]);
    s.ok("openBreakouts");
    expect(s.locationOf(s.facilitator)).not.toBe(MAIN_ROOM);
  });

  it("auto: includeStaff must name admitted members", () => {
    const s = createSession({ participants: 4, waiting: 1 });
    s.refused("MEMBER_NOT_FOUND", "createBreakouts", { count: 2, includeStaff: ["m999"] });
    s.refused("NOT_ADMITTED", "createBreakouts", { count: 2, includeStaff: [s.waiting[0]] });
  });

  it("auto assignment is deterministic for a session seed", () => {
    const plans = [1, 2].map(() => {
      const s = createSession({ participants: 10, seed: 99 });
      s.ok("createBreakouts", { count: 3 });
      return s.ctx.round!.plan;
    });
    expect(plans[0]).toEqual(plans[1]);
  });

  it("autoAssign redoes the plan over the current rooms, keeping pre-assignments", () => {
    const s = createSession({ participants: 6 });
    s.ok("createBreakouts", { count: 2, mode: "manual" });
    expect(s.ctx.round!.plan).toEqual({});
    s.ok("addRoom");
    const [, , c] = s.preparingRoomIds();
    s.ok("preAssign", { identity: s.member(s.participants[0]).identity, roomId: c });
    s.ok("autoAssign");
    expect(Object.keys(s.ctx.round!.plan).sort()).toEqual([...s.participants].sort());
    expect(s.ctx.round!.plan[s.participants[0]]).toBe(c);
    expect(planSizes(s)).toEqual([2, 2, 2]);
  });

  it("autoAssign refuses when the rooms cannot hold everyone", () => {
    const s = createSession({ participants: 5 });
    s.ok("createBreakouts", { count: 2, capacity: 2, mode: "manual" });
    s.refused("ROOM_FULL", "autoAssign");
    s.ok("addRoom");
    s.ok("autoAssign");
  });

  it("manual: assign, reassign, unassign; capacity counts the plan", () => {
    const s = createSession({ participants: 4, waiting: 1 });
    s.ok("createBreakouts", { count: 2, capacity: 2, mode: "manual" });
    const [a, b] = s.preparingRoomIds();
    const [p1, p2, p3] = s.participants;
    s.ok("assign", { memberId: p1, roomId: a });
    s.ok("assign", { memberId: p2, roomId: a });
    s.refused("ROOM_FULL", "assign", { memberId: p3, roomId: a });
    s.ok("assign", { memberId: p2, roomId: a }); // already there: fine
    s.ok("assign", { memberId: p2, roomId: b });
    s.ok("assign", { memberId: p3, roomId: a });
    s.ok("assign", { memberId: p1, roomId: null });
    expect(s.ctx.round!.plan).toEqual({ [p2]: b, [p3]: a });
    s.refused("ROOM_NOT_FOUND", "assign", { memberId: p1, roomId: "r999" });
    s.refused("NOT_ADMITTED", "assign", { memberId: s.waiting[0], roomId: a });
    s.refused("MEMBER_NOT_FOUND", "assign", { memberId: "m999", roomId: a });
    s.ok("openBreakouts");
    expect(s.locationOf(p2)).toBe(b);
    expect(s.locationOf(p3)).toBe(a);
    expect(s.locationOf(p1)).toBe(MAIN_ROOM);
    s.refused("INVALID_STATE", "assign", { memberId: p1, roomId: a });
  });

  it("bulk: many at once; capacity is judged after the whole batch; a person may appear once", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2, capacity: 2, mode: "manual" });
    const [a, b] = s.preparingRoomIds();
    const [p1, p2, p3, p4] = s.participants;
    s.ok("bulkAssign", {
      assignments: [
        { memberId: p1, roomId: a },
        { memberId: p2, roomId: a },
        { memberId: p3, roomId: b },
      ],
    });
    // Exchanging p2 and p3 in full-ish rooms works because capacity is checked after the batch.
    s.ok("bulkAssign", {
      assignments: [
        { memberId: p2, roomId: b },
        { memberId: p3, roomId: a },
      ],
    });
    expect(s.ctx.round!.plan).toEqual({ [p1]: a, [p2]: b, [p3]: a });
    s.refused("ROOM_FULL", "bulkAssign", { assignments: [{ memberId: p4, roomId: a }] });
    s.refused("INVALID_MESSAGE", "bulkAssign", {
      assignments: [
        { memberId: p4, roomId: b },
        { memberId: p4, roomId: a },
      ],
    });
    s.refused("MEMBER_NOT_FOUND", "bulkAssign", { assignments: [{ memberId: "m999", roomId: b }] });
    s.ok("bulkAssign", {
      assignments: [
        { memberId: p1, roomId: null },
        { memberId: p4, roomId: a },
      ],
    });
    expect(s.ctx.round!.plan).toEqual({ [p4]: a, [p2]: b, [p3]: a });
  });

  it("choose: participants pick a room while preparing (planned) and while open (moved)", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2, capacity: 2, mode: "choose" });
    expect(s.ctx.round!.plan).toEqual({});
    const [a, b] = s.preparingRoomIds();
    const [p1, p2, p3, p4] = s.participants;
    s.ok("chooseRoom", { roomId: a }, s.as(p1));
    s.ok("chooseRoom", { roomId: a }, s.as(p2));
    s.refused("ROOM_FULL", "chooseRoom", { roomId: a }, s.as(p3));
    s.refused("ALREADY_THERE", "chooseRoom", { roomId: a }, s.as(p1));
    s.ok("chooseRoom", { roomId: b }, s.as(p3));
    s.refused("FORBIDDEN", "chooseRoom", { roomId: b }, s.as(s.facilitator));
    s.ok("openBreakouts");
    expect([s.locationOf(p1), s.locationOf(p2), s.locationOf(p3), s.locationOf(p4)]).toEqual([a, a, b, MAIN_ROOM]);
    s.ok("chooseRoom", { roomId: b }, s.as(p4));
    expect(s.inPlace(b)).toEqual([p3, p4]);
    s.refused("ROOM_FULL", "chooseRoom", { roomId: b }, s.as(p1));
    s.ok("returnToMain", {}, s.as(p4));
    s.ok("chooseRoom", { roomId: b }, s.as(p1));
    expect(s.inPlace(a)).toEqual([p2]);
    expect(s.inPlace(b)).toEqual([p1, p3]);
  });

  it("choose is only for choose rounds", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2 });
    s.refused("NOT_ALLOWED_BY_SETTINGS", "chooseRoom", { roomId: s.preparingRoomIds()[0] }, s.as(s.participants[0]));
  });
});

describe("pre-assignment by identity", () => {
  it("someone pre-assigned before joining is planned into that room when admitted while preparing", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2, mode: "manual" });
    const [, b] = s.preparingRoomIds();
    s.ok("preAssign", { identity: "u-late", roomId: b });
    expect(s.ctx.preAssignments).toEqual({ "u-late": b });
    const late = s.join("u-late");
    expect(s.member(late).status).toBe("waiting");
    s.ok("admit", { memberId: late });
    expect(s.ctx.round!.plan[late]).toBe(b);
    s.ok("openBreakouts");
    expect(s.locationOf(late)).toBe(b);
  });

  it("a late joiner with a pre-assignment lands in that room when rooms are open (even with late joiners to main)", () => {
    const s = createSession({ participants: 4, settings: { autoAdmit: true, lateJoiners: "main" } });
    s.ok("createBreakouts", { count: 2 });
    s.ok("openBreakouts");
    const b = s.openRoomIds()[1];
    s.ok("preAssign", { identity: "u-late", roomId: b });
    const late = s.join("u-late");
    expect(s.locationOf(late)).toBe(b);
    expect(s.room(b).emptySince).toBeNull();
  });

  it("a pre-assigned room that is full does not take the late joiner", () => {
    const s = createSession({ participants: 4, settings: { autoAdmit: true, lateJoiners: "main" } });
    s.ok("createBreakouts", { count: 2, capacity: 2 });
    s.ok("openBreakouts");
    const b = s.openRoomIds()[1];
    s.ok("preAssign", { identity: "u-late", roomId: b });
    const late = s.join("u-late");
    expect(s.locationOf(late)).toBe(MAIN_ROOM);
  });

  it("pre-assigning someone already admitted plans them now, within capacity; null clears it", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2, capacity: 2, mode: "manual" });
    const [a] = s.preparingRoomIds();
    const ids = s.participants.map((p) => s.member(p).identity);
    s.ok("preAssign", { identity: ids[0], roomId: a });
    s.ok("preAssign", { identity: ids[1], roomId: a });
    expect(s.ctx.round!.plan).toEqual({ [s.participants[0]]: a, [s.participants[1]]: a });
    s.refused("ROOM_FULL", "preAssign", { identity: ids[2], roomId: a });
    s.ok("preAssign", { identity: ids[1], roomId: a }); // already there
    s.ok("preAssign", { identity: ids[0], roomId: null });
    expect(s.ctx.round!.plan).toEqual({ [s.participants[1]]: a });
    expect(s.ctx.preAssignments).toEqual({ [ids[1]]: a });
    s.ok("openBreakouts");
    expect(s.inPlace(a)).toEqual([s.participants[1]]);
  });

  it("pre-assignments need a room of this round, and end with the round", () => {
    const s = createSession({ participants: 4 });
    s.refused("INVALID_STATE", "preAssign", { identity: "u-x", roomId: "r1" });
    s.ok("createBreakouts", { count: 2 });
    s.refused("ROOM_NOT_FOUND", "preAssign", { identity: "u-x", roomId: "r999" });
    s.ok("preAssign", { identity: "u-x", roomId: "r2" });
    s.ok("deleteRoom", { roomId: "r2" });
    expect(s.ctx.preAssignments).toEqual({});
    s.ok("preAssign", { identity: "u-x", roomId: "r1" });
    s.ok("closeAll");
    expect(s.ctx.preAssignments).toEqual({});
  });
});

describe("opening and closing rooms", () => {
  it("openBreakouts moves everyone planned into their room at once; rooms nobody was planned into start their empty timer", () => {
    const s = createSession({ participants: 4, cofacilitators: 1 });
    s.ok("createBreakouts", { count: 3, mode: "manual", durationSeconds: 600 });
    const [a, b, c] = s.preparingRoomIds();
    s.ok("bulkAssign", { assignments: s.participants.map((p, i) => ({ memberId: p, roomId: i < 2 ? a : b })) });
    s.ok("openBreakouts");
    expect(s.phase).toBe("open");
    expect(s.inPlace(a)).toEqual(s.participants.slice(0, 2));
    expect(s.inPlace(b)).toEqual(s.participants.slice(2));
    expect(s.inPlace(MAIN_ROOM).sort()).toEqual([s.facilitator, s.cofacilitators[0]].sort());
    for (const id of [a, b, c]) expect(s.room(id)).toMatchObject({ status: "open", openedAt: s.now });
    expect(s.room(c).emptySince).toBe(s.now);
    expect(s.room(a).emptySince).toBeNull();
    expect(s.ctx.round).toMatchObject({ openedAt: s.now, endsAt: s.now + 600_000 });
  });

  it("openBreakouts needs 2 admitted participants still there", () => {
    const s = createSession({ participants: 2 });
    s.ok("createBreakouts", { count: 2 });
    s.ok("leave", {}, s.as(s.participants[0]));
    s.refused("TOO_FEW_PARTICIPANTS", "openBreakouts");
  });

  it("closeAll while preparing cancels the round: rooms discarded, nobody moved, no round counted", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2 });
    s.ok("closeAll");
    expect(s.phase).toBe("main");
    expect(s.ctx.round).toBeNull();
    expect(s.ctx.roundsCompleted).toBe(0);
    for (const r of Object.values(s.ctx.rooms)) expect(r.status).toBe("closed");
  });

  it("closing one room sends its people to main and tells everyone; the others carry on", () => {
    const s = createSession({ participants: 6 });
    s.ok("createBreakouts", { count: 3 });
    s.ok("openBreakouts");
    const [a, b, c] = s.openRoomIds();
    const inA = s.inPlace(a);
    const inB = s.inPlace(b);
    const r = s.ok("closeRoom", { roomId: a });
    expect(r.notices).toEqual([{ kind: "roomClosing", roomId: a }]);
    expect(s.room(a)).toMatchObject({ status: "closed", closedAt: s.now, emptySince: null });
    for (const m of inA) expect(s.locationOf(m)).toBe(MAIN_ROOM);
    expect(s.inPlace(b)).toEqual(inB);
    expect(s.phase).toBe("open");
    s.refused("ROOM_NOT_FOUND", "closeRoom", { roomId: a });
    s.refused("ROOM_NOT_FOUND", "move", { memberId: inA[0], to: a });
    s.ok("closeRoom", { roomId: b });
    expect(s.phase).toBe("open");
    // The last room closing ends the round.
    s.ok("closeRoom", { roomId: c });
    expect(s.phase).toBe("main");
    expect(s.ctx.round).toBeNull();
    expect(s.ctx.roundsCompleted).toBe(1);
    for (const m of admittedMembers(s.ctx)) expect(m.location).toBe(MAIN_ROOM);
  });

  it("closeRoom is for open rooms only", () => {
    const s = createSession({ participants: 4 });
    s.refused("INVALID_STATE", "closeRoom", { roomId: "r1" });
    s.ok("createBreakouts", { count: 2 });
    s.refused("INVALID_STATE", "closeRoom", { roomId: "r1" });
  });

  it("a second round numbers its rooms on and counts rounds", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2 });
    s.ok("openBreakouts");
    s.ok("closeAll", { countdownSeconds: 0 });
    s.ok("createBreakouts", { count: 2 });
    expect(s.preparingRoomIds()).toEqual(["r3", "r4"]);
    expect(s.ctx.round!.number).toBe(2);
    for (const id of s.preparingRoomIds()) expect(s.room(id).round).toBe(2);
    s.ok("openBreakouts");
    s.ok("closeAll", { countdownSeconds: 0 });
    expect(s.ctx.roundsCompleted).toBe(2);
  });
});

describe("rooms of past rounds", () => {
  it("leave the live state when the next round is created; completed media rooms with them; ids never come back", () => {
    const s = createSession({ participants: 6, checkInvariants: true });
    const seen = new Set<string>();
    for (let round = 1; round <= 5; round++) {
      s.ok("createBreakouts", { count: 3, mode: "auto" });
      // Only this round's rooms: the earlier rounds' closed rooms are gone.
      expect(Object.values(s.ctx.rooms).map((r) => r.round)).toEqual([round, round, round]);
      for (const id of Object.keys(s.ctx.rooms)) {
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
      s.ok("openBreakouts");
      // The provider reports a media room per breakout room; they complete when the rooms close.
      for (const id of Object.keys(s.ctx.rooms))
        s.send({ type: "mediaUpdated", media: { key: id, name: `mb-${id}`, sid: `RM${round}${id}`, status: "ready", error: null } });
      s.ok("closeAll", { countdownSeconds: 0 });
      expect(Object.values(s.ctx.rooms).every((r) => r.status === "closed")).toBe(true);
      for (const id of Object.keys(s.ctx.rooms))
        s.send({ type: "mediaUpdated", media: { key: id, name: `mb-${id}`, sid: `RM${round}${id}`, status: "completed", error: null } });
    }
    expect(seen.size).toBe(15);
    // The last round's rooms (closed) and their completed media stay until the next round.
    expect(Object.keys(s.ctx.rooms)).toHaveLength(3);
    expect(Object.keys(s.ctx.media).filter((k) => k !== MAIN_ROOM)).toHaveLength(3);
    s.ok("createBreakouts", { count: 2, mode: "manual" });
    expect(Object.values(s.ctx.rooms).every((r) => r.status === "preparing")).toBe(true);
    expect(Object.keys(s.ctx.media).filter((k) => k !== MAIN_ROOM)).toEqual([]);
  });

  it("a media room still completing is kept until the provider reports it completed", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2, mode: "auto" });
    s.ok("openBreakouts");
    const [a, b] = Object.keys(s.ctx.rooms);
    for (const id of [a, b]) s.send({ type: "mediaUpdated", media: { key: id, name: `mb-${id}`, sid: `RM${id}`, status: "ready", error: null } });
    s.ok("closeAll", { countdownSeconds: 0 });
    s.send({ type: "mediaUpdated", media: { key: a, name: `mb-${a}`, sid: `RM${a}`, status: "completed", error: null } });
    s.ok("createBreakouts", { count: 2, mode: "manual" });
    expect(s.ctx.rooms[a]).toBeUndefined();
    expect(s.ctx.rooms[b]).toBeUndefined();
    expect(s.ctx.media[a]).toBeUndefined();
    expect(s.ctx.media[b]).toMatchObject({ status: "ready" });
  });
});
