/**
 * The web client's Twilio provider without a browser: the connect options it hands twilio-video (current,
 * non-deprecated bandwidth options; the project's numbers) and how a Room's events and disconnect errors become app
 * events, using a fake Room with twilio-video's EventEmitter surface (on/removeListener, participants Map, ...).
 */
import { EventEmitter } from "node:events";
import { describe, expect, it, vi } from "vitest";
import type { MediaGrant } from "../../lib/protocol";
import { VIDEO_CONSTRAINTS, type LocalTracks, type MediaEvent, type MediaTrack } from "../../web/src/media/provider";
import {
  bindTwilioRoom,
  buildTwilioConnectOptions,
  classifyDisconnect,
  disconnectAction,
  TWILIO_VIDEO_CAPTURE,
  TRACK_NAMES,
  TwilioProvider,
  type TwilioConnectFn,
  type TwilioRoomLike,
} from "../../web/src/media/twilio";

// ---------------------------------------------------------------------------------------------------------------
// Fakes shaped like twilio-video's Room / Participant / Track / Publication
// ---------------------------------------------------------------------------------------------------------------

function fakeMediaTrack(kind: "audio" | "video", id = `${kind}-${Math.random().toString(36).slice(2, 7)}`): MediaTrack {
  return { id, kind, enabled: true, stop: vi.fn() };
}

class FakeTrack {
  attach = vi.fn();
  detach = vi.fn();
  enable = vi.fn((on: boolean = true) => {
    this.isEnabled = on;
    this.mediaStreamTrack.enabled = on;
  });
  disable = vi.fn(() => {
    this.isEnabled = false;
    this.mediaStreamTrack.enabled = false;
  });
  isEnabled = true;
  mediaStreamTrack: MediaTrack;
  constructor(
    public kind: "audio" | "video" | "data",
    public sid: string,
  ) {
    this.mediaStreamTrack = fakeMediaTrack(kind === "data" ? "video" : kind, `mst-${sid}`);
  }
}

class FakePublication {
  constructor(
    public kind: "audio" | "video" | "data",
    public trackSid: string,
    public track: FakeTrack | null,
    public isTrackEnabled = true,
  ) {}
}

class FakeParticipant extends EventEmitter {
  networkQualityLevel: number | null = null;
  tracks = new Map<string, FakePublication>();
  audioTracks = new Map<string, FakePublication>();
  videoTracks = new Map<string, FakePublication>();
  constructor(
    public identity: string,
    public sid = `PA${identity}`,
  ) {
    super();
  }
  publish(kind: "audio" | "video", sid: string, subscribed = true, enabled = true) {
    const pub = new FakePublication(kind, sid, subscribed ? new FakeTrack(kind, sid) : null, enabled);
    this.tracks.set(sid, pub);
    (kind === "audio" ? this.audioTracks : this.videoTracks).set(sid, pub);
    return pub;
  }
}

class FakeRoom extends EventEmitter implements TwilioRoomLike {
  sid = `RM${Math.random().toString(16).slice(2, 10)}`;
  state = "connected";
  participants = new Map<string, FakeParticipant>();
  dominantSpeaker: FakeParticipant | null = null;
  localParticipant: FakeParticipant;
  disconnectCalls = 0;
  constructor(
    public name: string,
    identity = "me",
  ) {
    super();
    this.localParticipant = new FakeParticipant(identity);
  }
  /** twilio-video emits "disconnected" with no error when you call disconnect() yourself. */
  disconnect() {
    this.disconnectCalls++;
    if (this.state === "disconnected") return this;
    this.state = "disconnected";
    this.emit("disconnected", this, undefined);
    return this;
  }
  /** What the SDK does when the server or the network ends the call. */
  failWith(code: number, message = `error ${code}`) {
    this.state = "disconnected";
    this.emit("disconnected", this, Object.assign(new Error(message), { code }));
  }
  addRemote(identity: string) {
    const p = new FakeParticipant(identity);
    this.participants.set(p.sid, p);
    return p;
  }
  totalListeners(): number {
    return this.eventNames().reduce((n, e) => n + this.listenerCount(e), 0);
  }
}

const grant = (room = "mb-s1-main", token = "tok-1", expiresAt: number | null = 2_000_000): MediaGrant => ({
  provider: "twilio",
  room,
  identity: "m1",
  token,
  expiresAt,
});

function deepKeys(o: unknown, prefix = ""): string[] {
  if (!o || typeof o !== "object" || Array.isArray(o)) return [];
  return Object.entries(o as Record<string, unknown>).flatMap(([k, v]) => [prefix + k, ...deepKeys(v, `${prefix}${k}.`)]);
}

// ---------------------------------------------------------------------------------------------------------------

describe("buildTwilioConnectOptions", () => {
  const audio = fakeMediaTrack("audio");
  const video = fakeMediaTrack("video");
  const opts = buildTwilioConnectOptions(grant("mb-s1-r2"), { audio, video });

  it("joins the granted room with the chosen local tracks", () => {
    expect(opts.name).toBe("mb-s1-r2");
    expect(opts.tracks).toEqual([audio, video]);
    expect(buildTwilioConnectOptions(grant(), { audio: null, video }).tracks).toEqual([video]);
    expect(buildTwilioConnectOptions(grant(), { audio: null, video: null }).tracks).toEqual([]);
  });

  it("uses the collaboration bandwidth profile with the current (non-deprecated) track controls", () => {
    expect(opts.bandwidthProfile).toEqual({
      video: {
        mode: "collaboration",
        dominantSpeakerPriority: "standard",
        clientTrackSwitchOffControl: "auto",
        contentPreferencesMode: "auto",
      },
    });
    const keys = deepKeys(opts);
    expect(keys).not.toContain("bandwidthProfile.video.maxTracks");
    expect(keys).not.toContain("bandwidthProfile.video.renderDimensions");
    expect(keys.filter((k) => /maxTracks|renderDimensions/.test(k))).toEqual([]);
  });

  it("turns on dominant speaker detection (dominantSpeakerPriority needs it) and network quality local 1 / remote 2", () => {
    expect(opts.dominantSpeaker).toBe(true);
    expect(opts.networkQuality).toEqual({ local: 1, remote: 2 });
  });

  it("caps audio at 16 kbps and prefers VP8 then H264", () => {
    expect(opts.maxAudioBitrate).toBe(16000);
    expect(opts.preferredVideoCodecs).toEqual(["VP8", "H264"]);
  });

  it("sets nothing else (no deprecated or surprising options)", () => {
    expect(Object.keys(opts).sort()).toEqual(
      ["bandwidthProfile", "dominantSpeaker", "maxAudioBitrate", "name", "networkQuality", "preferredVideoCodecs", "tracks"].sort(),
    );
  });

  it("captures video at 1280x720 ideal, 24 fps ideal, 30 fps max", () => {
    expect(TWILIO_VIDEO_CAPTURE).toBe(VIDEO_CONSTRAINTS);
    expect(VIDEO_CONSTRAINTS).toEqual({ width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 24, max: 30 } });
  });
});

describe("disconnect error codes", () => {
  it("maps Twilio codes to reasons", () => {
    expect(classifyDisconnect(undefined)).toBe("local");
    expect(classifyDisconnect(null)).toBe("local");
    expect(classifyDisconnect(53118)).toBe("roomCompleted");
    expect(classifyDisconnect(20104)).toBe("tokenExpired");
    expect(classifyDisconnect(53205)).toBe("duplicateIdentity");
    expect(classifyDisconnect(53001)).toBe("reconnectFailed");
    expect(classifyDisconnect(53002)).toBe("reconnectFailed");
    expect(classifyDisconnect(53405)).toBe("reconnectFailed");
    expect(classifyDisconnect(53000)).toBe("error");
  });

  it("reconnects (with a fresh grant) only after an expired token or a failed SDK reconnect", () => {
    expect(disconnectAction("tokenExpired")).toBe("reconnect");
    expect(disconnectAction("reconnectFailed")).toBe("reconnect");
    for (const r of ["roomCompleted", "duplicateIdentity", "local", "error"] as const) expect(disconnectAction(r)).toBe("report");
  });
});

describe("bindTwilioRoom (event mapping)", () => {
  function bound(setup?: (room: FakeRoom) => void) {
    const room = new FakeRoom("mb-s1-main", "m1");
    setup?.(room);
    const events: MediaEvent[] = [];
    const unbind = bindTwilioRoom(room, (e) => events.push(e));
    return { room, events, unbind };
  }

  it("announces who is already in the room, their subscribed tracks, and the current dominant speaker", () => {
    const { events } = bound((room) => {
      const ann = room.addRemote("m2");
      ann.publish("audio", "MTa");
      ann.publish("video", "MTv", true, false);
      ann.publish("video", "MTx", false); // published, not subscribed yet
      ann.networkQualityLevel = 4;
      room.dominantSpeaker = ann;
    });
    expect(events.map((e) => e.type)).toEqual(["participantJoined", "networkQuality", "trackSubscribed", "trackSubscribed", "trackEnabled", "dominantSpeaker"]);
    expect(events[0]).toEqual({ type: "participantJoined", participantId: "m2" });
    expect(events[1]).toEqual({ type: "networkQuality", participantId: "m2", level: 4, local: false });
    expect(events[4]).toEqual({ type: "trackEnabled", participantId: "m2", kind: "video", enabled: false });
    expect(events[5]).toEqual({ type: "dominantSpeaker", participantId: "m2" });
  });

  it("maps participant, track, speaker, quality and reconnection events", () => {
    const { room, events } = bound();
    const bob = new FakeParticipant("m3");
    room.emit("participantConnected", bob);
    const video = new FakeTrack("video", "MT1");
    const pub = new FakePublication("video", "MT1", video);
    room.emit("trackSubscribed", video, pub, bob);
    room.emit("trackSubscribed", new FakeTrack("data", "MTd"), new FakePublication("data", "MTd", null), bob); // data tracks are ignored
    room.emit("trackDisabled", pub, bob);
    room.emit("trackEnabled", pub, bob);
    room.emit("dominantSpeakerChanged", bob);
    room.emit("dominantSpeakerChanged", null);
    bob.emit("networkQualityLevelChanged", 2, {});
    room.localParticipant.emit("networkQualityLevelChanged", 5, {});
    room.emit("reconnecting", Object.assign(new Error("signaling"), { code: 53001 }));
    room.emit("reconnected");
    room.emit("trackUnsubscribed", video, pub, bob);
    room.emit("participantDisconnected", bob);

    const plain = events.map((e) =>
      e.type === "trackSubscribed" || e.type === "trackUnsubscribed" ? { ...e, track: { kind: e.track.kind, id: e.track.id } } : e,
    );
    expect(plain).toEqual([
      { type: "participantJoined", participantId: "m3" },
      { type: "trackSubscribed", participantId: "m3", track: { kind: "video", id: "MT1" } },
      { type: "trackEnabled", participantId: "m3", kind: "video", enabled: false },
      { type: "trackEnabled", participantId: "m3", kind: "video", enabled: true },
      { type: "dominantSpeaker", participantId: "m3" },
      { type: "dominantSpeaker", participantId: null },
      { type: "networkQuality", participantId: "m3", level: 2, local: false },
      { type: "networkQuality", participantId: "m1", level: 5, local: true },
      { type: "reconnecting" },
      { type: "reconnected" },
      { type: "trackUnsubscribed", participantId: "m3", track: { kind: "video", id: "MT1" } },
      { type: "participantLeft", participantId: "m3" },
    ]);
    // After leaving, that participant's quality events are no longer mapped.
    bob.emit("networkQualityLevelChanged", 1, {});
    expect(events).toHaveLength(plain.length);
  });

  it("attaches through the SDK track (so clientTrackSwitchOffControl sees what is on screen)", () => {
    const { room, events } = bound();
    const p = new FakeParticipant("m2");
    const t = new FakeTrack("video", "MTv");
    room.emit("trackSubscribed", t, new FakePublication("video", "MTv", t), p);
    const e = events.find((x) => x.type === "trackSubscribed");
    if (e?.type !== "trackSubscribed") throw new Error("no trackSubscribed event");
    const el = {};
    e.track.attach(el);
    e.track.detach(el);
    expect(t.attach).toHaveBeenCalledWith(el);
    expect(t.detach).toHaveBeenCalledWith(el);
    expect(e.track.mediaTrack).toBe(t.mediaStreamTrack);
  });

  it.each([
    [53118, "roomCompleted"],
    [20104, "tokenExpired"],
    [53205, "duplicateIdentity"],
    [53001, "reconnectFailed"],
    [53405, "reconnectFailed"],
    [12345, "error"],
  ] as const)("disconnected with %i becomes reason %s", (code, reason) => {
    const { room, events } = bound();
    room.failWith(code, "bye");
    expect(events.at(-1)).toEqual({ type: "disconnected", code, reason, message: "bye" });
  });

  it("a disconnect we asked for has no code and reason local", () => {
    const { room, events } = bound();
    room.disconnect();
    expect(events.at(-1)).toEqual({ type: "disconnected", code: null, reason: "local", message: undefined });
  });

  it("unbinding removes every listener it added, on the room and on participants", () => {
    const { room, unbind } = bound((r) => r.addRemote("m2"));
    const p = new FakeParticipant("m3");
    room.emit("participantConnected", p);
    expect(room.totalListeners()).toBeGreaterThan(0);
    unbind();
    expect(room.totalListeners()).toBe(0);
    expect(p.listenerCount("networkQualityLevelChanged")).toBe(0);
    expect(room.localParticipant.listenerCount("networkQualityLevelChanged")).toBe(0);
    for (const rp of room.participants.values()) expect(rp.listenerCount("networkQualityLevelChanged")).toBe(0);
  });
});

describe("TwilioProvider", () => {
  /** failFrom: connect attempts from this one on (1-based) fail like an unreachable signaling server. */
  function setup(opts: { fresh?: MediaGrant | null; failFrom?: number } = {}) {
    const rooms: FakeRoom[] = [];
    const calls: { token: string; name: string | null | undefined }[] = [];
    const connect: TwilioConnectFn = vi.fn(async (token, options) => {
      calls.push({ token, name: options.name });
      if (opts.failFrom !== undefined && calls.length >= opts.failFrom) throw Object.assign(new Error("signaling failed"), { code: 53000 });
      const room = new FakeRoom(options.name ?? "?", "m1");
      rooms.push(room);
      return room;
    });
    const freshGrant = vi.fn(async (_cur: MediaGrant) => opts.fresh ?? null);
    const provider = new TwilioProvider({ connect, freshGrant, backoffMs: () => 0, maxReconnectAttempts: 3 });
    const events: MediaEvent[] = [];
    provider.events((e) => events.push(e));
    const types = () => events.map((e) => e.type);
    return { provider, rooms, calls, connect, freshGrant, events, types };
  }
  const local = (): LocalTracks => ({ audio: fakeMediaTrack("audio"), video: fakeMediaTrack("video") });

  it("connects with the grant's token and the project's options", async () => {
    const { provider, calls, connect, types } = setup();
    await provider.connect(grant("mb-s1-main", "tok-A"), local());
    expect(calls).toEqual([{ token: "tok-A", name: "mb-s1-main" }]);
    const options = vi.mocked(connect).mock.calls[0][1];
    expect(options.bandwidthProfile?.video?.clientTrackSwitchOffControl).toBe("auto");
    expect(types()).toEqual(["connected"]);
    expect(provider.currentRoom()).toBe("mb-s1-main");
  });

  it("on 20104 (token expired) reconnects to the same room with the freshest grant", async () => {
    const fresh = grant("mb-s1-main", "tok-B", 9_000_000);
    const { provider, rooms, calls, freshGrant, types } = setup({ fresh });
    await provider.connect(grant("mb-s1-main", "tok-A"), local());
    rooms[0].failWith(20104, "token expired");
    await vi.waitFor(() => expect(types()).toContain("reconnected"));
    expect(freshGrant).toHaveBeenCalledOnce();
    expect(calls.map((c) => c.token)).toEqual(["tok-A", "tok-B"]);
    expect(types()).toEqual(["connected", "reconnecting", "connected", "reconnected"]);
    expect(types()).not.toContain("disconnected");
  });

  it("a token refreshed before expiry is kept for the next (re)connect, not swapped mid-call", async () => {
    const { provider, rooms, calls } = setup({ fresh: null });
    await provider.connect(grant("mb-s1-main", "tok-A"), local());
    provider.updateGrant(grant("mb-s1-main", "tok-C"));
    provider.updateGrant(grant("mb-s1-other", "tok-X")); // another room's grant is not this call's
    expect(calls).toHaveLength(1);
    expect(rooms[0].disconnectCalls).toBe(0);
    rooms[0].failWith(53001, "signaling connection lost");
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    expect(calls[1]).toEqual({ token: "tok-C", name: "mb-s1-main" });
  });

  it("53118 (room completed) is reported, not retried: the next placement decides where to go", async () => {
    const { provider, rooms, calls, events } = setup();
    await provider.connect(grant(), local());
    rooms[0].failWith(53118, "room completed");
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: "disconnected", code: 53118, reason: "roomCompleted" });
  });

  it("53205 (same identity elsewhere) is reported, not retried", async () => {
    const { provider, rooms, calls, events } = setup();
    await provider.connect(grant(), local());
    rooms[0].failWith(53205, "duplicate identity");
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: "disconnected", code: 53205, reason: "duplicateIdentity" });
  });

  it("reports the original disconnect when every reconnect attempt fails", async () => {
    const { provider, rooms, calls, events, types } = setup({ failFrom: 2 });
    await provider.connect(grant(), local());
    rooms[0].failWith(53405, "media connection failed");
    await vi.waitFor(() => expect(types().at(-1)).toBe("disconnected"));
    expect(calls).toHaveLength(1 + 3); // the first connect, then maxReconnectAttempts
    expect(types()).toEqual(["connected", "reconnecting", "disconnected"]);
    expect(events.at(-1)).toMatchObject({ type: "disconnected", code: 53405, reason: "reconnectFailed" });
  });

  it("moving rooms leaves the old room without reporting a disconnect, then joins the new one", async () => {
    const { provider, rooms, calls, types } = setup();
    await provider.connect(grant("mb-s1-main", "tok-main"), local());
    await provider.connect(grant("mb-s1-r1", "tok-r1"), local());
    expect(rooms[0].disconnectCalls).toBe(1);
    expect(calls.map((c) => c.name)).toEqual(["mb-s1-main", "mb-s1-r1"]);
    expect(types()).toEqual(["connected", "connected"]);
    // Late events from the old room are not mapped any more.
    rooms[0].emit("participantConnected", new FakeParticipant("m9"));
    expect(types()).toEqual(["connected", "connected"]);
  });

  it("disconnect() leaves and reports reason local", async () => {
    const { provider, rooms, events } = setup();
    await provider.connect(grant(), local());
    await provider.disconnect();
    expect(rooms[0].disconnectCalls).toBe(1);
    expect(events.at(-1)).toEqual({ type: "disconnected", code: null, reason: "local" });
    expect(provider.currentRoom()).toBeNull();
  });

  it("mute and camera toggles disable the published tracks (remote people see it) and the local track", async () => {
    const { provider, rooms } = setup();
    const tracks = local();
    await provider.connect(grant(), tracks);
    const lp = rooms[0].localParticipant;
    const a = lp.publish("audio", "MTla");
    const v = lp.publish("video", "MTlv");
    provider.setMicEnabled(false);
    provider.setCameraEnabled(false);
    expect(a.track?.disable).toHaveBeenCalled();
    expect(v.track?.disable).toHaveBeenCalled();
    expect(tracks.audio?.enabled).toBe(false);
    expect(tracks.video?.enabled).toBe(false);
    provider.setMicEnabled(true);
    expect(a.track?.enable).toHaveBeenCalled();
    expect(tracks.audio?.enabled).toBe(true);
  });
});

describe("screen share in Twilio mode", () => {
  it("a remote track published as 'screen' arrives as a screen, and its on/off says nothing about the camera", () => {
    const room = new FakeRoom("mb-s1-main", "m1");
    const events: MediaEvent[] = [];
    bindTwilioRoom(room, (e) => events.push(e));
    const bob = new FakeParticipant("m3");
    room.emit("participantConnected", bob);
    const camera = Object.assign(new FakeTrack("video", "MTcam"), { name: "MTcam" });
    const screen = Object.assign(new FakeTrack("video", "MTscr"), { name: "screen" });
    room.emit("trackSubscribed", camera, new FakePublication("video", "MTcam", camera), bob);
    room.emit("trackSubscribed", screen, Object.assign(new FakePublication("video", "MTscr", screen), { trackName: "screen" }), bob);
    const subscribed = events.filter((e) => e.type === "trackSubscribed") as Extract<MediaEvent, { type: "trackSubscribed" }>[];
    expect(subscribed.map((e) => [e.track.id, e.track.source])).toEqual([
      ["MTcam", "camera"],
      ["MTscr", "screen"],
    ]);
    room.emit("trackDisabled", Object.assign(new FakePublication("video", "MTscr", screen), { trackName: "screen" }), bob);
    expect(events.filter((e) => e.type === "trackEnabled")).toEqual([]);
  });

  it("publishes the screen as a second video track named 'screen' at high priority, again after a move, and unpublishes it", async () => {
    const rooms: FakeRoom[] = [];
    const published: { room: number; track: unknown; options: unknown }[] = [];
    const unpublished: unknown[] = [];
    const connect: TwilioConnectFn = vi.fn(async (_token, options) => {
      const room = new FakeRoom(options.name ?? "?", "m1");
      const n = rooms.push(room) - 1;
      Object.assign(room.localParticipant, {
        publishTrack: vi.fn(async (track: unknown, opts: unknown) => published.push({ room: n, track, options: opts })),
        unpublishTrack: vi.fn((track: unknown) => unpublished.push(track)),
      });
      return room;
    });
    const provider = new TwilioProvider({ connect });
    const tracks: LocalTracks = { audio: fakeMediaTrack("audio"), video: fakeMediaTrack("video") };
    await provider.connect(grant("mb-s1-main"), tracks);
    const screen = fakeMediaTrack("video", "screen-track");
    await provider.setScreenTrack(screen);
    expect(published).toEqual([{ room: 0, track: screen, options: { name: "screen", priority: "high" } }]);
    // The camera toggle leaves the screen's publication alone.
    const cam = rooms[0].localParticipant.publish("video", "MTlv");
    const scr = rooms[0].localParticipant.publish("video", "MTls");
    Object.assign(scr, { trackName: "screen" });
    provider.setCameraEnabled(false);
    expect(cam.track?.disable).toHaveBeenCalled();
    expect(scr.track?.disable).not.toHaveBeenCalled();
    // Moved to a breakout room: the share goes along.
    await provider.connect(grant("mb-s1-r1"), tracks);
    expect(published.at(-1)).toEqual({ room: 1, track: screen, options: { name: "screen", priority: "high" } });
    await provider.setScreenTrack(null);
    expect(unpublished).toEqual([screen]);
  });

  it("publishes a changed microphone or camera under the names the session's Track Subscriptions use", async () => {
    const published: { track: unknown; options: unknown }[] = [];
    const connect: TwilioConnectFn = vi.fn(async (_token, options) => {
      const room = new FakeRoom(options.name ?? "?", "m1");
      Object.assign(room.localParticipant, {
        publishTrack: vi.fn(async (track: unknown, opts: unknown) => published.push({ track, options: opts })),
        unpublishTrack: vi.fn(),
      });
      return room;
    });
    const provider = new TwilioProvider({ connect });
    await provider.connect(grant("mb-s1-main"), { audio: fakeMediaTrack("audio"), video: fakeMediaTrack("video") });
    const mic = fakeMediaTrack("audio", "mic-2");
    const cam = fakeMediaTrack("video", "cam-2");
    await provider.replaceLocalTracks({ audio: mic, video: cam });
    expect(published).toEqual([
      { track: mic, options: { name: "microphone" } },
      { track: cam, options: { name: "camera" } },
    ]);
    expect(TRACK_NAMES).toEqual({ audio: "microphone", video: "camera", screen: "screen" });
  });
});
