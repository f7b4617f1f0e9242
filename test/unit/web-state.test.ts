/** Pure parts of the web client: staff patches, the cost estimate, the facilitator's board, mesh helpers. */
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, type MemberPublic, type RoomPublic, type StaffState } from "../../lib/protocol";
import { isOfferer, lossBetween, parseMeshSignal, pickRenderedVideos, qualityLevel } from "../../web/src/media/mesh";
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
