/** Pure parts of the web client: staff patches, the cost estimate, the facilitator's board, mesh helpers. */
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, type MemberPublic, type RoomPublic, type StaffState } from "../../lib/protocol";
import { isOfferer, lossBetween, parseMeshSignal, pickRenderedVideos, qualityLevel } from "../../web/src/media/mesh";
import { connectingState, connectingText, STUCK_AFTER_MS } from "../../web/src/lib/connecting";
import { reportableMediaCode, staffMediaProblem } from "../../web/src/lib/media-errors";
import { applyChanges, boardColumns, estimateCost, formatDuration, hasArrived, UNASSIGNED } from "../../web/src/lib/state";

const member = (id: string, over: Partial<MemberPublic> = {}): MemberPublic => ({
  id,
  identity: `u-${id}`,
  name: id.toUpperCase(),
  role: "participant",
  status: "admitted",
  location: "main",
  arrivedIn: null,
  connected: true,
  quality: null,
  mediaProblem: null,
  helpRequest: null,
  joinedAt: 0,
  admittedAt: 0,
  leftAt: null,
  inviteId: null,
  joinNote: null,
  media: { mic: true, cam: true, screen: false },
  blocked: { audio: false, video: false, screen: false },
  hand: null,
  breakoutRoom: null,
  agreement: null,
  alias: null,
  checkInRequest: null,
  ...over,
});
const room = (id: string, over: Partial<RoomPublic> = {}): RoomPublic => ({
  id,
  name: `Room ${id}`,
  status: "open",
  capacity: 5,
  round: 1,
  openedAt: 0,
  closedAt: null,
  emptySince: null,
  ...over,
});
function staff(over: Partial<StaffState> = {}): StaffState {
  return {
    session: {
      id: "s1",
      title: "T",
      createdBy: "u",
      endReason: null,
      phase: "main",
      createdAt: 0,
      endedAt: null,
      endsAt: null,
      agreementDeclines: 0,
      settings: DEFAULT_SETTINGS,
      roundsCompleted: 0,
      preAssignments: {},
    },
    members: [],
    rooms: [],
    round: null,
    media: [],
    mediaProvider: "local",
    spotlights: {},
    checkIns: [],
    plan: null,
    pairRules: [],
    ...over,
  };
}

describe("applyChanges", () => {
  it("updates a member in place: the same object, so lists rendered from it keep their elements", () => {
    const s = staff({ members: [member("m1"), member("m2")] });
    const before = s.members[1];
    applyChanges(s, [{ entity: "member", value: member("m2", { quality: 4, helpRequest: { at: 5, message: "hi" } }) }]);
    expect(s.members[1]).toBe(before);
    expect(before.quality).toBe(4);
    expect(before.helpRequest).toEqual({ at: 5, message: "hi" });
    applyChanges(s, [{ entity: "member", value: member("m2", { helpRequest: null }) }]);
    expect(before.helpRequest).toBeNull();
  });

  it("upserts members, rooms and media by id/key and replaces round and session", () => {
    const s = staff({ members: [member("m1"), member("m2")], media: [{ key: "main", name: "mb-s1-main", status: "ready", sid: null, error: null }] });
    applyChanges(s, [
      { entity: "member", value: member("m2", { location: "r1" }) },
      { entity: "member", value: member("m3") },
      { entity: "room", value: room("r1") },
      { entity: "media", value: { key: "main", name: "mb-s1-main", status: "completed", sid: null, error: null } },
      { entity: "media", value: { key: "r1", name: "mb-s1-r1", status: "pending", sid: null, error: null } },
      { entity: "round", value: { number: 1, mode: "auto", durationSeconds: null, plan: {}, openedAt: 1, endsAt: null, warned: false, closesAt: null } },
      { entity: "session", value: { ...s.session, phase: "open" } },
    ]);
    expect(s.members.map((m) => [m.id, m.location])).toEqual([
      ["m1", "main"],
      ["m2", "r1"],
      ["m3", "main"],
    ]);
    expect(s.rooms.map((r) => r.id)).toEqual(["r1"]);
    expect(s.media.map((m) => [m.key, m.status])).toEqual([
      ["main", "completed"],
      ["r1", "pending"],
    ]);
    expect(s.round?.number).toBe(1);
    expect(s.session.phase).toBe("open");
    applyChanges(s, [{ entity: "round", value: null }]);
    expect(s.round).toBeNull();
  });
  it("replaces the spotlights, the running check-ins and the plan", () => {
    const s = staff({ members: [member("m1"), member("f", { role: "facilitator" })] });
    const checkIn = { id: "k1", clientId: "m1", staffId: "f", startedAt: 10, clientReturn: "r1", staffReturn: "main" };
    const plan = { id: "p1", name: "Weekly", steps: [{ kind: "main" as const, title: "Welcome", durationSeconds: 300 }], index: 0, stepStartedAt: 5 };
    applyChanges(s, [
      { entity: "spotlights", value: { main: "f" } },
      { entity: "checkIns", value: [checkIn] },
      { entity: "plan", value: plan },
    ]);
    expect(s.spotlights).toEqual({ main: "f" });
    expect(s.checkIns).toEqual([checkIn]);
    expect(s.plan).toEqual(plan);
    applyChanges(s, [
      { entity: "spotlights", value: {} },
      { entity: "checkIns", value: [] },
      { entity: "plan", value: null },
    ]);
    expect(s.spotlights).toEqual({});
    expect(s.checkIns).toEqual([]);
    expect(s.plan).toBeNull();
  });
});

describe("estimateCost", () => {
  it("counts admitted time (until left, or now) at $0.0015 per participant-minute, not waiting or denied people", () => {
    const min = 60_000;
    const { participantMinutes, dollars } = estimateCost(
      [
        member("a", { admittedAt: 0, leftAt: null }), // 10 min so far
        member("b", { status: "left", admittedAt: 2 * min, leftAt: 5 * min }), // 3 min
        member("c", { status: "waiting", admittedAt: null }),
        member("d", { status: "denied", admittedAt: null }),
        member("e", { status: "left", admittedAt: null, leftAt: 4 * min }), // left from the waiting room
      ],
      10 * min,
    );
    expect(participantMinutes).toBeCloseTo(13, 10);
    expect(dollars).toBeCloseTo(13 * 0.0015, 10);
  });
});

describe("boardColumns", () => {
  it("while preparing: an Unassigned column, then one per room from the plan", () => {
    const s = staff({
      session: { ...staff().session, phase: "preparing" },
      members: [member("m1", { role: "facilitator" }), member("m2"), member("m3"), member("m4", { status: "waiting", location: null })],
      rooms: [room("r1", { status: "preparing" }), room("r2", { status: "preparing" })],
      round: { number: 1, mode: "manual", durationSeconds: null, plan: { m2: "r2" }, openedAt: null, endsAt: null, warned: false, closesAt: null },
    });
    const cols = boardColumns(s);
    expect(cols.map((c) => [c.key, c.members.map((m) => m.id)])).toEqual([
      [UNASSIGNED, ["m1", "m3"]],
      ["r1", []],
      ["r2", ["m2"]],
    ]);
  });

  it("while open: the main room, then each open room with who is there now", () => {
    const s = staff({
      session: { ...staff().session, phase: "open" },
      members: [member("m1"), member("m2", { location: "r1" }), member("m3", { location: "r2" }), member("m5", { status: "left", location: null })],
      rooms: [room("r1"), room("r2"), room("r0", { status: "closed" })],
    });
    expect(boardColumns(s).map((c) => [c.key, c.members.map((m) => m.id)])).toEqual([
      ["main", ["m1"]],
      ["r1", ["m2"]],
      ["r2", ["m3"]],
    ]);
  });
});

describe("small helpers", () => {
  it("formats durations", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(59_001)).toBe("1:00");
    expect(formatDuration(245_000)).toBe("4:05");
    expect(formatDuration(3_723_000)).toBe("1:02:03");
    expect(formatDuration(-5000)).toBe("0:00");
  });

  it("arrival means connected to the media room of one's own place", () => {
    expect(hasArrived("s1", { location: "r1", arrivedIn: "mb-s1-r1" })).toBe(true);
    expect(hasArrived("s1", { location: "r1", arrivedIn: "mb-s1-main" })).toBe(false);
    expect(hasArrived("s1", { location: "main", arrivedIn: null })).toBe(false);
    expect(hasArrived("s1", { location: null, arrivedIn: null })).toBe(false);
  });
});

describe("local mesh helpers", () => {
  it("exactly one side of every pair makes the offer", () => {
    const ids = ["m1", "m2", "m10", "m9", "cofac", "m1a"];
    for (const a of ids) for (const b of ids) if (a !== b) expect(isOfferer(a, b)).not.toBe(isOfferer(b, a));
  });

  it("rates quality from RTT and loss", () => {
    expect(qualityLevel({ connected: false, rttSeconds: 0.01, lossFraction: 0 })).toBe(0);
    expect(qualityLevel({ connected: true, rttSeconds: 0.01, lossFraction: 0 })).toBe(5);
    expect(qualityLevel({ connected: true, rttSeconds: 0.2, lossFraction: 0 })).toBe(4);
    expect(qualityLevel({ connected: true, rttSeconds: 0.05, lossFraction: 0.05 })).toBe(3);
    expect(qualityLevel({ connected: true, rttSeconds: 0.7, lossFraction: 0 })).toBe(2);
    expect(qualityLevel({ connected: true, rttSeconds: 2, lossFraction: 0.5 })).toBe(1);
    expect(qualityLevel({ connected: true, rttSeconds: null, lossFraction: null })).toBe(5);
    expect(lossBetween(null, { lost: 0, received: 0 })).toBeNull();
    expect(lossBetween({ lost: 10, received: 100 }, { lost: 20, received: 190 })).toBeCloseTo(0.1, 10);
  });

  it("renders the dominant speaker and recent speakers first when there are more people than video slots", () => {
    const ids = ["a", "b", "c", "d", "e"];
    expect(pickRenderedVideos(ids, 10, null, new Map())).toEqual(new Set(ids));
    expect(pickRenderedVideos(ids, 2, null, new Map())).toEqual(new Set(["a", "b"]));
    expect(pickRenderedVideos(ids, 2, "e", new Map([["d", 5]]))).toEqual(new Set(["e", "d"]));
    expect(
      pickRenderedVideos(
        ids,
        3,
        "a",
        new Map([
          ["c", 1],
          ["e", 9],
        ]),
      ),
    ).toEqual(new Set(["a", "e", "c"]));
  });

  it("accepts only well-formed signalling payloads", () => {
    expect(parseMeshSignal({ kind: "offer", room: "r", inst: "i", pc: "p", sdp: "v=0", mic: true, cam: true })?.kind).toBe("offer");
    expect(parseMeshSignal({ kind: "offer", room: "r", pc: "p" })).toBeNull();
    expect(parseMeshSignal({ kind: "candidate", room: "r", pc: "p", candidate: null })).toBeNull();
    expect(parseMeshSignal({ kind: "hello", inst: "i" })).toBeNull();
    expect(parseMeshSignal({ kind: "nonsense", room: "r" })).toBeNull();
  });
});

describe("stuck connecting (staff)", () => {
  const sid = "s1";
  it("an online, placed member not in video is connecting, then stuck after the threshold; in video, offline or waiting: nothing", () => {
    const m = member("m2", { location: "r1" });
    expect(connectingState(sid, m, 1_000, 1_000 + STUCK_AFTER_MS - 1)).toEqual({ kind: "connecting", since: 1_000 });
    const stuck = connectingState(sid, m, 1_000, 1_000 + 45_000)!;
    expect(stuck).toEqual({ kind: "stuck", since: 1_000 });
    expect(connectingText(stuck, 46_000)).toBe("stuck connecting to video for 45 s");
    expect(connectingState(sid, { ...m, arrivedIn: "mb-s1-r1" }, 0, 60_000)).toBeNull();
    expect(connectingState(sid, { ...m, connected: false }, 0, 60_000)).toBeNull();
    expect(connectingState(sid, { ...m, status: "waiting", location: null }, 0, 60_000)).toBeNull();
    // In video in the room they left: not where they are now, so still connecting.
    expect(connectingState(sid, { ...m, arrivedIn: "mb-s1-main" }, 0, 5_000)?.kind).toBe("connecting");
  });

  it("a reported problem says what is wrong in staff's words, at once", () => {
    const m = member("m2", { mediaProblem: { code: "53405", at: 500 } });
    const state = connectingState(sid, m, 400, 600)!;
    expect(state).toMatchObject({ kind: "problem", since: 500 });
    expect(connectingText(state, 600)).toBe("can't connect: their network blocks video (UDP / port 3478)");
    expect(staffMediaProblem("NotAllowedError")).toBe("camera or microphone blocked in their browser");
    expect(staffMediaProblem("53000")).toBe("cannot reach the video service (network)");
    expect(staffMediaProblem("20104")).toBe("video pass rejected (they should reconnect)");
    expect(staffMediaProblem("53205")).toBe("video open in another tab or device");
    expect(staffMediaProblem("weird")).toBe("video will not connect (weird)");
  });

  it("codes are made safe for the protocol", () => {
    expect(reportableMediaCode("ice_failed")).toBe("ice_failed");
    expect(reportableMediaCode("a-b c")).toBe("a_b_c");
    expect(reportableMediaCode("")).toBe("unknown");
    expect(reportableMediaCode("x".repeat(60))).toHaveLength(40);
  });
});
