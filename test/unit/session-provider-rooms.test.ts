/**
 * Provider rooms without workerd, against the local Twilio-compatible server over real HTTP: reconciliation creates
 * the rooms the session needs and completes the rest, results come back as session events (never by reaching into
 * the session), whoever leaves a place is disconnected from its media room, a failed creation backs off, the sweep
 * completes what a crash left behind, and status callbacks become arrivals.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { step } from "../../durable-objects/logic/engine";
import { phaseOf, type SessionSnapshot } from "../../durable-objects/logic/machine";
import type { SystemEvent } from "../../durable-objects/logic/model";
import { CallbackInbox, ProviderRooms } from "../../durable-objects/provider-rooms";
import { mediaRoomName } from "../../lib/protocol";
import { parseStatusCallback } from "../../lib/twilio/callbacks";
import { TwilioVideoClient } from "../../lib/twilio/rest";
import { type LocalTwilio, startLocalTwilio } from "../support/twilio-server";
import { createSession } from "./helpers/session-fixture";

let server: LocalTwilio;
beforeAll(async () => {
  server = await startLocalTwilio({ port: 0 });
});
afterAll(() => server.close());
beforeEach(() => server.reset());

/** The latest room with that unique name, ended or not (the server resolves names only while in progress). */
const roomNamed = (name: string) => [...server.rooms.values()].filter((r) => r.uniqueName === name).at(-1);

/** A session held the way the DO holds it: events from the collaborator are stepped and installed. */
function harness(participants = 4, { callbacks = true } = {}) {
  const s = createSession({ participants, settings: { autoAdmit: true } });
  let snapshot: SessionSnapshot = s.engine.snapshot;
  let now = s.now;
  const applied: SystemEvent[] = [];
  const kv = new Map<string, string>();
  const client = new TwilioVideoClient({
    apiKeySid: server.credentials.apiKeySid,
    apiKeySecret: server.credentials.apiKeySecret,
    baseUrl: server.url,
    timeoutMs: 2000,
  });
  const rooms = new ProviderRooms(client, callbacks ? "https://mb.test/cb" : undefined, {
    now: () => now,
    current: () => ({ ctx: snapshot.context, phase: phaseOf(snapshot) }),
    apply: async (e) => {
      applied.push(e);
      const r = step(snapshot, e);
      if (r.ok) snapshot = r.snapshot;
    },
    rescheduled: async () => {},
    log: () => {},
    kv: { get: (k) => kv.get(k) ?? null, set: (k, v) => void kv.set(k, v) },
  });
  /** Run a command through the engine and hand the step to the collaborator, as the DO's effects phase does. */
  const command = async (type: string, fields: Record<string, unknown> = {}) => {
    now += 1000;
    const r = step(snapshot, { type, ...fields, actor: s.as(s.facilitator), now } as never);
    if (!r.ok) throw new Error(r.error.message);
    snapshot = r.snapshot;
    await Promise.all(rooms.afterStep(r.prev, r.next, r.prevPhase, r.phase));
  };
  const name = (key: string) => mediaRoomName(snapshot.context.sessionId, key);
  /** A system event (an arrival), stepped and handed over like a command. */
  const system = async (e: Record<string, unknown>) => {
    now += 1000;
    const r = step(snapshot, { ...e, now } as never);
    if (!r.ok) throw new Error(r.error.message);
    snapshot = r.snapshot;
    await Promise.all(rooms.afterStep(r.prev, r.next, r.prevPhase, r.phase));
  };
  /** Twilio's callbacks so far, handled as the DO's twilioEvent does: decided, observed, stepped (intruders kicked). */
  const inbox = new CallbackInbox({});
  const deliver = async () => {
    for (const c of server.pendingCallbacks()) {
      const e = parseStatusCallback(c.params);
      const d = inbox.decide(e, snapshot.context, now);
      if (d.verdict !== "apply") continue;
      rooms.observe(e);
      if (d.intruder) await rooms.disconnect(snapshot.context, d.intruder.key, d.intruder.identity);
      if (d.event) await system(d.event as never);
      inbox.commit(e);
    }
  };
  /** A member's browser connects to a media room, and Twilio's callbacks reach the session. */
  const connect = async (key: string, memberId: string) => {
    server.connectParticipant(name(key), memberId);
    await deliver();
  };
  return { s, rooms, applied, command, system, kv, name, connect, deliver, ctx: () => snapshot.context, advance: (ms: number) => (now += ms) };
}

/** Four participants in a round of two open rooms, their media rooms created. */
async function roundOfTwoRooms(opts: { callbacks?: boolean } = {}) {
  const h = harness(4, opts);
  await h.command("createBreakouts", { count: 2 });
  await h.command("openBreakouts");
  await h.rooms.reconcile();
  return h;
}
/** Where Twilio has a member in a room now (undefined: never connected there). */
const statusIn = (name: string, identity: string) => [...roomNamed(name)!.participants.values()].find((p) => p.identity === identity)?.status;

describe("ProviderRooms", () => {
  it("creates the rooms the session needs, reports them as events, and completes them when they are not needed", async () => {
    const h = harness();
    await h.rooms.reconcile();
    expect(roomNamed(h.name("main"))?.status).toBe("in-progress");
    expect(h.applied.map((e) => e.type === "mediaUpdated" && `${e.media.key}:${e.media.status}`)).toEqual(["main:pending", "main:ready"]);
    await h.command("createBreakouts", { count: 2 });
    await h.rooms.reconcile();
    expect(h.ctx().media.r1.status).toBe("ready");
    expect(h.ctx().media.r2.status).toBe("ready");
    await h.command("closeAll");
    await h.rooms.reconcile();
    expect(roomNamed(h.name("r1"))?.status).toBe("completed");
    expect(h.ctx().media.r1.status).toBe("completed");
    expect(roomNamed(h.name("main"))?.status).toBe("in-progress");
  });

  it("disconnects a member from the media room of every place they leave: a move, a close, the end", async () => {
    const h = await roundOfTwoRooms();
    const [a] = h.s.participants;
    const first = h.ctx().members[a].location!;
    await h.connect(first, a);
    expect(h.ctx().members[a].arrivedIn).toBe(h.name(first));
    const other = first === "r1" ? "r2" : "r1";
    const before = server.requests.length;
    await h.command("move", { memberId: a, to: other });
    expect(statusIn(h.name(first), a)).toBe("disconnected");
    // Its sid came with the callback: the kick is one POST, no lookup.
    expect(server.requests.slice(before).map((r) => r.method)).toEqual(["POST"]);
    await h.connect(other, a);
    await h.command("closeRoom", { roomId: other });
    expect([...roomNamed(h.name(other))!.participants.values()].every((p) => p.status === "disconnected")).toBe(true);
    await h.connect("main", a);
    await h.command("endSession");
    expect(statusIn(h.name("main"), a)).toBe("disconnected");
  });

  it("a move of someone Twilio has not reported connected costs no REST call; a late connection to the old room is kicked", async () => {
    const h = await roundOfTwoRooms();
    const [a] = h.s.participants;
    const first = h.ctx().members[a].location!;
    const other = first === "r1" ? "r2" : "r1";
    const before = server.requests.length;
    await h.command("move", { memberId: a, to: other });
    expect(server.requests.slice(before)).toEqual([]);
    // Their browser was connecting to the old room meanwhile (its callback lands after the move): kicked at once.
    await h.connect(first, a);
    expect(statusIn(h.name(first), a)).toBe("disconnected");
    expect(h.ctx().members[a].arrivedIn).toBeNull();
  });

  it("without status callbacks a move always disconnects (nobody tells us who is connected)", async () => {
    const h = await roundOfTwoRooms({ callbacks: false });
    const [a] = h.s.participants;
    const first = h.ctx().members[a].location!;
    server.connectParticipant(h.name(first), a);
    server.pendingCallbacks();
    await h.command("move", { memberId: a, to: first === "r1" ? "r2" : "r1" });
    expect(statusIn(h.name(first), a)).toBe("disconnected");
  });

  it("the sweep's audit kicks a connection whose callback was lost and records an unreported arrival", async () => {
    const h = await roundOfTwoRooms();
    const [a, b] = h.s.participants;
    const aFirst = h.ctx().members[a].location!;
    const bRoom = h.ctx().members[b].location!;
    // Both connect; Twilio's callbacks are lost. Then a is moved (nobody knew a was connected: no kick).
    server.connectParticipant(h.name(aFirst), a);
    server.connectParticipant(h.name(bRoom), b);
    server.pendingCallbacks();
    await h.command("move", { memberId: a, to: aFirst === "r1" ? "r2" : "r1" });
    const { kicked } = await h.rooms.sweep();
    expect(kicked).toEqual([a]);
    expect(statusIn(h.name(aFirst), a)).toBe("disconnected");
    expect(h.ctx().members[b].arrivedIn).toBe(h.name(bRoom));
  });

  it("a failed creation is reported once, retried after a backoff, and recovers", async () => {
    const h = harness();
    server.failNext({ method: "POST", path: "/v1/Rooms", kind: "status", status: 400, code: 53107, message: "MaxParticipants out of range" });
    await h.rooms.reconcile();
    expect(h.ctx().media.main).toMatchObject({ status: "failed" });
    const due = h.rooms.dueAt()!;
    // Before the backoff has passed, reconciling does not try again.
    await h.rooms.reconcile();
    expect(server.requests.filter((r) => r.method === "POST" && r.path === "/v1/Rooms")).toHaveLength(1);
    h.advance(due - h.s.now + 1);
    await h.rooms.onAlarm();
    expect(h.ctx().media.main.status).toBe("ready");
  });

  it("the sweep completes this session's rooms that the session does not want (a crash between create and record)", async () => {
    const h = harness();
    await h.rooms.reconcile();
    const stray = await new TwilioVideoClient({
      apiKeySid: server.credentials.apiKeySid,
      apiKeySecret: server.credentials.apiKeySecret,
      baseUrl: server.url,
    }).createRoom({
      uniqueName: h.name("r9"),
    });
    const { completed } = await h.rooms.sweep();
    expect(completed).toEqual([h.name("r9")]);
    expect(server.findRoom(stray.sid!)?.status).toBe("completed");
    expect(roomNamed(h.name("main"))?.status).toBe("in-progress");
  });

  it("the sweep skips a room Twilio lists without a unique name (nullable in its spec) and still completes the strays", async () => {
    const h = harness();
    await h.rooms.reconcile();
    const client = new TwilioVideoClient({ apiKeySid: server.credentials.apiKeySid, apiKeySecret: server.credentials.apiKeySecret, baseUrl: server.url });
    const stray = await client.createRoom({ uniqueName: h.name("r9") });
    server.failNext({
      kind: "rewrite",
      method: "GET",
      path: "/v1/Rooms",
      rewrite: (page) => ({ ...page, rooms: [{ ...page.rooms[0], sid: "RM0123456789abcdef0123456789abcdef", unique_name: null }, ...page.rooms] }),
    });
    const { completed } = await h.rooms.sweep();
    expect(completed).toEqual([h.name("r9")]);
    expect(server.findRoom(stray.sid!)?.status).toBe("completed");
  });
});

describe("Track Subscriptions (what staff turned off reaches nobody)", () => {
  it("a blocked microphone is excluded from every other subscriber in the room; allowing it restores it", async () => {
    const h = harness(3);
    await h.rooms.reconcile();
    const [a, b, c] = h.s.participants;
    const main = h.name("main");
    for (const id of [h.s.facilitator, a, b, c]) {
      server.connectParticipant(main, id, {
        tracks: [
          { kind: "audio", name: "microphone" },
          { kind: "video", name: "camera" },
        ],
      });
      await h.system({ type: "arrival", memberId: id, mediaRoom: main });
    }
    // Default rules: nothing posted yet.
    expect(server.requests.filter((r) => r.path.endsWith("/SubscribeRules"))).toEqual([]);
    await h.command("blockMedia", { memberId: a, kind: "audio" });
    const subs = server.subscriptions(main);
    for (const id of [h.s.facilitator, b, c]) expect(subs[id].audio, id).not.toContain(a);
    // Everything else still flows; a's camera still reaches everyone, and a still hears the others.
    for (const id of [h.s.facilitator, b, c]) expect(subs[id].video, id).toContain(a);
    expect(subs[a].audio).toEqual([h.s.facilitator, b, c].sort());
    await h.command("blockMedia", { memberId: b, kind: "video" });
    expect(server.subscriptions(main)[c].video).not.toContain(b);
    expect(server.subscriptions(main)[c].audio).toContain(b);
    await h.command("allowMedia", { memberId: a, kind: "audio" });
    for (const id of [h.s.facilitator, b, c]) expect(server.subscriptions(main)[id].audio, id).toContain(a);
    // What was applied is stored (a woken session does not post it all again).
    expect(JSON.parse(h.kv.get("provider:subscribeRules")!)).toMatchObject({ [`${main}|${c}`]: expect.stringContaining(b) });
  });

  it("someone arriving in a room where a member is muted gets the exclusion on arrival", async () => {
    const h = harness(2);
    await h.rooms.reconcile();
    const [a, b] = h.s.participants;
    const main = h.name("main");
    server.connectParticipant(main, a, { tracks: ["audio"] });
    await h.system({ type: "arrival", memberId: a, mediaRoom: main });
    await h.command("blockMedia", { memberId: a, kind: "audio" });
    server.connectParticipant(main, b, { tracks: ["audio"] });
    expect(server.subscriptions(main)[b].audio).toContain(a); // Twilio's default until the session hears of it
    await h.system({ type: "arrival", memberId: b, mediaRoom: main });
    expect(server.subscriptions(main)[b].audio).not.toContain(a);
  });
});

describe("CallbackInbox", () => {
  it("turns a connection to the member's own room into an arrival, ignores repeats and stale events", async () => {
    const h = harness(2);
    await h.rooms.reconcile();
    const [a] = h.s.participants;
    const room = roomNamed(h.name("main"))!;
    server.connectParticipant(room.sid, a);
    const callbacks = server.pendingCallbacks().map((c) => parseStatusCallback(c.params));
    const connected = callbacks.find((c) => c.event === "participant-connected")!;
    const inbox = new CallbackInbox({});
    const d = inbox.decide(connected, h.ctx(), 5);
    expect(d).toMatchObject({ verdict: "apply", event: { type: "arrival", memberId: a, mediaRoom: h.name("main") } });
    const state = inbox.commit(connected);
    expect(new CallbackInbox(state).decide(connected, h.ctx(), 6).verdict).toBe("duplicate");
  });
});
