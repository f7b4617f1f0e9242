/** Status callbacks: parsing (incl. the local server's real, signed callbacks) and de-duplication / ordering. */
import fc from "fast-check";
import twilio from "twilio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalTwilio, type LocalTwilio } from "../support/twilio-server";
import {
  CallbackDeduper,
  StatusCallbackParseError,
  callbackEventKey,
  classifyCallback,
  parseStatusCallback,
  recordCallback,
  safeParseStatusCallback,
  type CallbackOrderingState,
  type VideoStatusEvent,
} from "../../lib/twilio/callbacks";
import { validateTwilioRequest } from "../../lib/twilio/signature";

const ACCOUNT = "AC" + "1".repeat(32);
const ROOM = "RM" + "a".repeat(32);
const ROOM_2 = "RM" + "b".repeat(32);
const ALICE = "PA" + "c".repeat(32);
const BOB = "PA" + "d".repeat(32);
const TRACK_1 = "MT" + "e".repeat(32);
const TRACK_2 = "MT" + "f".repeat(32);
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const at = (ms: number) => new Date(T0 + ms).toISOString();

function fields(event: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AccountSid: ACCOUNT,
    RoomName: "s1:main",
    RoomSid: ROOM,
    RoomStatus: "in-progress",
    RoomType: "group",
    StatusCallbackEvent: event,
    Timestamp: at(0),
    SequenceNumber: "0",
    ...extra,
  };
}
const participant = (sid: string, identity: string, status: "connected" | "disconnected") => ({
  ParticipantSid: sid,
  ParticipantIdentity: identity,
  ParticipantStatus: status,
});

/** Builds a parsed event quickly for the ordering tests. */
function ev(event: string, ms: number, seq: number, extra: Record<string, string> = {}): VideoStatusEvent {
  return parseStatusCallback(fields(event, { Timestamp: at(ms), SequenceNumber: String(seq), ...extra }));
}
const connected = (sid: string, ms: number, seq = 0) => ev("participant-connected", ms, seq, participant(sid, sid.slice(-4), "connected"));
const disconnected = (sid: string, ms: number, seq = 0) =>
  ev("participant-disconnected", ms, seq, { ...participant(sid, sid.slice(-4), "disconnected"), ParticipantDuration: "5" });
const track = (name: string, p: string, t: string, ms: number, seq = 0) =>
  ev(name, ms, seq, { ...participant(p, p.slice(-4), "connected"), TrackSid: t, TrackKind: "video" });

describe("parseStatusCallback", () => {
  it("parses every documented field into a typed event", () => {
    const body = new URLSearchParams(
      fields("track-added", {
        Timestamp: "2026-06-01T12:00:01.250Z",
        SequenceNumber: "7",
        ...participant(ALICE, "alice@example.com", "connected"),
        TrackSid: TRACK_1,
        TrackKind: "audio",
        TrackName: "mic",
        SomethingNew: "ignored",
      }),
    ).toString();
    expect(parseStatusCallback(body)).toEqual({
      event: "track-added",
      accountSid: ACCOUNT,
      roomSid: ROOM,
      roomName: "s1:main",
      roomStatus: "in-progress",
      roomType: "group",
      timestamp: "2026-06-01T12:00:01.250Z",
      timestampMs: Date.UTC(2026, 5, 1, 12, 0, 1, 250),
      sequenceNumber: 7,
      participant: { sid: ALICE, identity: "alice@example.com", status: "connected" },
      track: { sid: TRACK_1, kind: "audio", name: "mic" },
    });
  });

  it("carries ParticipantDuration and RoomDuration", () => {
    const left = parseStatusCallback(fields("participant-disconnected", { ...participant(ALICE, "a", "disconnected"), ParticipantDuration: "61" }));
    expect(left.participant).toEqual({ sid: ALICE, identity: "a", status: "disconnected", durationSeconds: 61 });
    const ended = parseStatusCallback(fields("room-ended", { RoomStatus: "completed", RoomDuration: "3600" }));
    expect(ended).toMatchObject({ event: "room-ended", roomStatus: "completed", roomDurationSeconds: 3600 });
    expect(ended.participant).toBeUndefined();
  });

  it("accepts a raw body, URLSearchParams or a field map alike", () => {
    const f = fields("room-created");
    const a = parseStatusCallback(new URLSearchParams(f).toString());
    expect(parseStatusCallback(new URLSearchParams(f))).toEqual(a);
    expect(parseStatusCallback(f)).toEqual(a);
  });

  it("keeps the first of a repeated field", () => {
    const body = new URLSearchParams(fields("room-created")).toString() + "&RoomSid=" + ROOM_2;
    expect(parseStatusCallback(body).roomSid).toBe(ROOM);
  });

  it.each([
    ["missing RoomSid", { RoomSid: undefined }, "RoomSid"],
    ["malformed RoomSid", { RoomSid: "RM123" }, "RoomSid"],
    ["unknown event", { StatusCallbackEvent: "room-exploded" }, "StatusCallbackEvent"],
    ["timestamp not ISO 8601", { Timestamp: "yesterday" }, "Timestamp"],
    ["impossible date", { Timestamp: "2026-13-45T99:00:00Z" }, "Timestamp"],
    ["non-numeric SequenceNumber", { SequenceNumber: "1e3" }, "SequenceNumber"],
    ["unknown room status", { RoomStatus: "paused" }, "RoomStatus"],
  ] as const)("rejects %s", (_name, change, path) => {
    const input = { ...fields("room-created"), ...change } as Record<string, string | undefined>;
    const result = safeParseStatusCallback(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(StatusCallbackParseError);
      expect(result.error.issues.map((i) => i.path)).toContain(path);
    }
    expect(() => parseStatusCallback(input)).toThrow(StatusCallbackParseError);
  });

  it("requires participant fields on participant events and track fields on track events", () => {
    const noParticipant = safeParseStatusCallback(fields("participant-connected"));
    expect(noParticipant.ok || noParticipant.error.issues.map((i) => i.path).sort()).toEqual(["ParticipantIdentity", "ParticipantSid", "ParticipantStatus"]);
    const noTrack = safeParseStatusCallback(fields("track-removed", participant(ALICE, "a", "connected")));
    expect(noTrack.ok || noTrack.error.issues.map((i) => i.path).sort()).toEqual(["TrackKind", "TrackSid"]);
  });

  it("accepts an RFC 2822 timestamp too", () => {
    expect(parseStatusCallback(fields("room-created", { Timestamp: "Mon, 01 Jun 2026 12:00:00 +0000" })).timestampMs).toBe(T0);
  });
});

describe("callbacks produced by the local Twilio server", () => {
  let server: LocalTwilio;
  beforeAll(async () => {
    server = await startLocalTwilio({ port: 0 });
  });
  afterAll(async () => {
    await server.close();
  });

  it("are signed as Twilio signs (twilio.validateRequest and ours agree) and parse in order", async () => {
    const callbackUrl = "https://app.example/api/twilio/status?session=s1";
    const res = await fetch(`${server.url}/v1/Rooms`, {
      method: "POST",
      headers: {
        Authorization: "Basic " + Buffer.from(`${server.credentials.apiKeySid}:${server.credentials.apiKeySecret}`).toString("base64"),
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ UniqueName: "s1:main", StatusCallback: callbackUrl }).toString(),
    });
    expect(res.status).toBe(201);
    const room = (await res.json()) as { sid: string };
    const alice = server.connectParticipant(room.sid, "alice");
    server.connectParticipant(room.sid, "bob");
    server.disconnectParticipant(room.sid, alice.sid);
    server.endRoom(room.sid);

    const callbacks = server.pendingCallbacks();
    expect(callbacks.map((c) => c.event)).toEqual([
      "room-created",
      "participant-connected",
      "participant-connected",
      "participant-disconnected",
      "participant-disconnected",
      "room-ended",
    ]);
    const deduper = new CallbackDeduper();
    for (const [i, cb] of callbacks.entries()) {
      expect(cb.url).toBe(callbackUrl);
      expect(twilio.validateRequest(server.credentials.authToken, cb.signature, cb.url, cb.params)).toBe(true);
      expect(await validateTwilioRequest(server.credentials.authToken, cb.signature, cb.url, cb.params)).toBe(true);
      expect(await validateTwilioRequest("another-token", cb.signature, cb.url, cb.params)).toBe(false);
      const event = parseStatusCallback(cb.body);
      expect(event).toMatchObject({ roomSid: room.sid, roomName: "s1:main", sequenceNumber: i, accountSid: server.credentials.accountSid });
      expect(deduper.observe(event)).toBe("apply");
      expect(deduper.observe(parseStatusCallback(cb.body))).toBe("duplicate");
    }
    expect(server.pendingCallbacks()).toEqual([]); // drained
  });

  it("track events parse, also from a participant that is reconnecting", async () => {
    const auth = "Basic " + Buffer.from(`${server.credentials.apiKeySid}:${server.credentials.apiKeySecret}`).toString("base64");
    await fetch(`${server.url}/v1/Rooms`, {
      method: "POST",
      headers: { Authorization: auth, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ UniqueName: "tracks", StatusCallback: "https://app.example/cb" }).toString(),
    });
    server.connectParticipant("tracks", "alice", { tracks: ["audio", { kind: "video", name: "cam" }] });
    server.setReconnecting("tracks", "alice", true);
    server.unpublishTrack("tracks", "alice", "cam");
    const events = server.pendingCallbacks().map((cb) => parseStatusCallback(cb.body));
    expect(events.map((e) => [e.event, e.participant?.status, e.track?.kind, e.track?.name])).toEqual([
      ["room-created", undefined, undefined, undefined],
      ["participant-connected", "connected", undefined, undefined],
      ["track-added", "connected", "audio", "audio"],
      ["track-added", "connected", "video", "cam"],
      ["track-removed", "reconnecting", "video", "cam"],
    ]);
  });
});

describe("event identity and ordering", () => {
  it("the identity key is stable across redeliveries and differs between events", () => {
    const a = connected(ALICE, 1000, 1);
    expect(callbackEventKey(a)).toBe(callbackEventKey(connected(ALICE, 1000, 1)));
    expect(callbackEventKey(a)).not.toBe(callbackEventKey(connected(BOB, 1000, 1)));
    expect(callbackEventKey(a)).not.toBe(callbackEventKey(disconnected(ALICE, 1000, 1)));
    expect(callbackEventKey(a)).not.toBe(callbackEventKey(connected(ALICE, 1001, 1)));
    expect(callbackEventKey(a)).not.toBe(callbackEventKey(connected(ALICE, 1000, 2)));
  });

  it("a redelivered event is a duplicate", () => {
    const d = new CallbackDeduper();
    expect(d.observe(connected(ALICE, 1000))).toBe("apply");
    expect(d.observe(connected(ALICE, 1000))).toBe("duplicate");
  });

  it("orders by Timestamp, not SequenceNumber", () => {
    const d = new CallbackDeduper();
    // Disconnect (later in time, lower sequence number) arrives first; the earlier connect is then stale.
    expect(d.observe(disconnected(ALICE, 5000, 3))).toBe("apply");
    expect(d.observe(connected(ALICE, 1000, 9))).toBe("stale");
    // A newer event with a lower sequence number still applies.
    expect(d.observe(connected(ALICE, 9000, 1))).toBe("apply");
  });

  it("participants, rooms and tracks are ordered independently where they should be", () => {
    const d = new CallbackDeduper();
    expect(d.observe(disconnected(ALICE, 5000))).toBe("apply");
    expect(d.observe(connected(BOB, 1000))).toBe("apply"); // other participant
    expect(d.observe(ev("room-created", 0, 0))).toBe("apply"); // room scope is separate
    expect(d.observe({ ...connected(ALICE, 1000), roomSid: ROOM_2 })).toBe("apply"); // other room
    // Track events of the same participant: stale if older than the participant's last event...
    expect(d.observe(track("track-added", ALICE, TRACK_1, 4000))).toBe("stale");
    // ...while two tracks never make each other stale.
    expect(d.observe(track("track-added", BOB, TRACK_1, 3000))).toBe("apply");
    expect(d.observe(track("track-added", BOB, TRACK_2, 2000))).toBe("apply");
    expect(d.observe(track("track-removed", BOB, TRACK_1, 2500))).toBe("stale");
    expect(d.observe(track("track-removed", BOB, TRACK_1, 3500))).toBe("apply");
  });

  it("equal timestamps are not stale; the same event at that time is a duplicate", () => {
    const d = new CallbackDeduper();
    expect(d.observe(track("track-added", ALICE, TRACK_1, 1000, 1))).toBe("apply");
    expect(d.observe(track("track-disabled", ALICE, TRACK_1, 1000, 2))).toBe("apply");
    expect(d.observe(track("track-added", ALICE, TRACK_1, 1000, 1))).toBe("duplicate");
  });

  it("check without commit leaves the event applicable (a failed apply is retried on redelivery)", () => {
    const d = new CallbackDeduper();
    const e = connected(ALICE, 1000);
    expect(d.check(e)).toBe("apply");
    expect(d.check(e)).toBe("apply");
    d.commit(e);
    expect(d.check(e)).toBe("duplicate");
  });

  it("the pure functions do not mutate the state they are given", () => {
    const state: CallbackOrderingState = {};
    const e = connected(ALICE, 1000);
    const next = recordCallback(e, state);
    expect(state).toEqual({});
    expect(classifyCallback(e, state)).toBe("apply");
    expect(classifyCallback(e, next)).toBe("duplicate");
  });

  it("snapshots survive a JSON round trip (Durable Object storage) and restore the same verdicts", () => {
    const d = new CallbackDeduper();
    d.observe(disconnected(ALICE, 5000));
    d.observe(ev("room-created", 0, 0));
    const restored = new CallbackDeduper(JSON.parse(JSON.stringify(d.snapshot())) as CallbackOrderingState);
    expect(restored.observe(disconnected(ALICE, 5000))).toBe("duplicate");
    expect(restored.observe(connected(ALICE, 4000))).toBe("stale");
    expect(restored.observe(ev("room-created", 0, 0))).toBe("duplicate");
  });

  it("forgetRoom drops only that room's scopes", () => {
    const d = new CallbackDeduper();
    d.observe(disconnected(ALICE, 5000));
    d.observe({ ...disconnected(ALICE, 5000), roomSid: ROOM_2 });
    d.forgetRoom(ROOM);
    expect(d.check(connected(ALICE, 1000))).toBe("apply");
    expect(d.check({ ...connected(ALICE, 1000), roomSid: ROOM_2 })).toBe("stale");
  });

  it("property: any delivery order with repeats applies each event at most once, in time order per scope", () => {
    const base = [
      ev("room-created", 0, 0),
      connected(ALICE, 1000, 1),
      connected(BOB, 1500, 2),
      track("track-added", ALICE, TRACK_1, 2000, 3),
      track("track-added", BOB, TRACK_2, 2100, 4),
      track("track-disabled", ALICE, TRACK_1, 2500, 5),
      disconnected(ALICE, 4000, 6),
      connected(ALICE, 4500, 7),
      disconnected(BOB, 6000, 8),
      disconnected(ALICE, 7000, 9),
      ev("room-ended", 9000, 10, { RoomStatus: "completed", RoomDuration: "9" }),
    ];
    const deliveries = fc
      .array(fc.integer({ min: 0, max: base.length - 1 }), { minLength: base.length, maxLength: base.length * 3 })
      .chain((extra) => fc.shuffledSubarray([...base.keys(), ...extra], { minLength: base.length + extra.length }))
      .filter((order) => base.every((_, i) => order.includes(i)));
    fc.assert(
      fc.property(deliveries, (order) => {
        const d = new CallbackDeduper();
        const applied: VideoStatusEvent[] = [];
        for (const i of order) if (d.observe(base[i]) === "apply") applied.push(base[i]);
        const keys = applied.map(callbackEventKey);
        expect(new Set(keys).size).toBe(keys.length); // never twice
        const lastAt = new Map<string, number>();
        for (const e of applied) {
          const scope = `${e.roomSid}/${e.participant?.sid ?? ""}/${e.track?.sid ?? ""}`;
          expect(e.timestampMs).toBeGreaterThanOrEqual(lastAt.get(scope) ?? -Infinity);
          lastAt.set(scope, e.timestampMs);
        }
        // The newest event of each room/participant scope always gets through, whatever the order.
        for (const newest of [base[10], base[8], base[9]]) expect(keys).toContain(callbackEventKey(newest));
      }),
      { numRuns: 500 },
    );
  });
});
