/**
 * The local Twilio-compatible server: twilio-node's own REST client (the oracle for response and error shapes) talks
 * to it; status callbacks are signed as Twilio signs them; timeouts, limits, callback delivery and HTTP controls.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import twilio from "twilio";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startLocalTwilio, type LocalTwilio, type PendingCallback } from "../support/twilio-server";

let server: LocalTwilio;
beforeAll(async () => {
  server = await startLocalTwilio({ port: 0 });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());

const basic = () => "Basic " + Buffer.from(`${server.credentials.apiKeySid}:${server.credentials.apiKeySecret}`).toString("base64");

async function api(method: string, path: string, form?: Record<string, string>, auth = basic()) {
  const res = await fetch(server.url + path, {
    method,
    headers: { Authorization: auth, ...(form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}) },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** twilio-node's client with its HTTP client pointed at the local server instead of video.twilio.com. */
function officialClient() {
  const inner = new twilio.RequestClient();
  return twilio(server.credentials.apiKeySid, server.credentials.apiKeySecret, {
    accountSid: server.credentials.accountSid,
    httpClient: {
      request: (opts: { uri: string }) => inner.request({ ...opts, uri: opts.uri.replace("https://video.twilio.com", server.url) } as never),
    } as never,
  });
}

describe("twilio-node's own client against the local server", () => {
  it("creates, fetches by name, lists with auto-pagination and completes rooms", async () => {
    const client = officialClient();
    const room = await client.video.v1.rooms.create({ uniqueName: "official", type: "group", maxParticipants: 8 });
    expect(room.sid).toMatch(/^RM[0-9a-f]{32}$/);
    expect(room.status).toBe("in-progress");
    expect(room.maxParticipants).toBe(8);
    expect(room.dateCreated).toBeInstanceOf(Date);
    expect(Number.isNaN(room.dateCreated.getTime())).toBe(false);

    expect((await client.video.v1.rooms("official").fetch()).sid).toBe(room.sid);
    for (let i = 0; i < 4; i++) await client.video.v1.rooms.create({ uniqueName: `more-${i}` });
    const listed = await client.video.v1.rooms.list({ status: "in-progress", pageSize: 2 });
    expect(listed).toHaveLength(5);
    expect(server.requests.filter((r) => r.method === "GET" && r.path === "/v1/Rooms")).toHaveLength(3);

    const done = await client.video.v1.rooms(room.sid).update({ status: "completed" });
    expect(done.status).toBe("completed");
    expect(done.endTime).toBeInstanceOf(Date);
    expect(typeof done.duration).toBe("number");
  });

  it("reads our error bodies as RestException (53113, 20404, 20003)", async () => {
    const client = officialClient();
    await client.video.v1.rooms.create({ uniqueName: "taken" });
    await expect(client.video.v1.rooms.create({ uniqueName: "taken" })).rejects.toMatchObject({
      status: 400,
      code: 53113,
      moreInfo: "https://www.twilio.com/docs/errors/53113",
    });
    await expect(client.video.v1.rooms("missing").fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
    const inner = new twilio.RequestClient();
    const badAuth = twilio(server.credentials.apiKeySid, "wrong-secret", {
      accountSid: server.credentials.accountSid,
      httpClient: {
        request: (opts: { uri: string }) => inner.request({ ...opts, uri: opts.uri.replace("https://video.twilio.com", server.url) } as never),
      } as never,
    });
    await expect(badAuth.video.v1.rooms.list()).rejects.toMatchObject({ status: 401, code: 20003 });
  });

  it("lists and disconnects participants", async () => {
    const client = officialClient();
    const room = await client.video.v1.rooms.create({ uniqueName: "p" });
    server.connectParticipant(room.sid, "alice");
    server.connectParticipant(room.sid, "bob");
    const connected = await client.video.v1.rooms(room.sid).participants.list({ status: "connected" });
    expect(connected.map((p) => p.identity).sort()).toEqual(["alice", "bob"]);
    const gone = await client.video.v1.rooms(room.sid).participants("alice").update({ status: "disconnected" });
    expect(gone.status).toBe("disconnected");
    expect(typeof gone.duration).toBe("number");
  });

  it("sets and reads subscribe rules and lists subscribed tracks (its serialisation of Rules, our answers)", async () => {
    const client = officialClient();
    const room = await client.video.v1.rooms.create({ uniqueName: "subs" });
    const alice = server.connectParticipant(room.sid, "alice", { tracks: ["audio", "video"] });
    server.connectParticipant(room.sid, "bob", { tracks: ["audio", "video"] });
    const participant = client.video.v1.rooms(room.sid).participants(alice.sid);
    const fresh = await participant.subscribeRules.fetch();
    expect(fresh.rules).toEqual([{ type: "include", all: true, publisher: null, track: null, kind: null, priority: null }]);
    expect(fresh.dateCreated).toBeNull();
    const updated = await participant.subscribeRules.update({
      rules: [
        { type: "include", all: true },
        { type: "exclude", publisher: "bob", kind: "audio" },
      ],
    });
    expect(updated.participantSid).toBe(alice.sid);
    expect(updated.rules).toEqual([
      { type: "include", all: true, publisher: null, track: null, kind: null, priority: null },
      { type: "exclude", all: null, publisher: "bob", track: null, kind: "audio", priority: null },
    ]);
    expect(updated.dateCreated).toEqual(expect.any(Date));
    const tracks = await participant.subscribedTracks.list();
    expect(tracks.map((t) => t.kind)).toEqual(["video"]);
    await expect(participant.subscribeRules.update({ rules: [] })).rejects.toMatchObject({ status: 400, code: 53215 });
  });
});

describe("REST validation", () => {
  it.each([
    [{ UniqueName: "x", Type: "huge" }, 53108],
    [{ UniqueName: "x", MaxParticipants: "51" }, 53107],
    [{ UniqueName: "x", MaxParticipants: "0" }, 53107],
    [{ UniqueName: "x", EmptyRoomTimeout: "61" }, 53109],
    [{ UniqueName: "x", UnusedRoomTimeout: "0" }, 53109],
    [{ UniqueName: "x", MaxParticipantDuration: "599" }, 53123],
    [{ UniqueName: "x", StatusCallback: "not a url" }, 53111],
    [{ UniqueName: "x", StatusCallback: "https://a.example/cb", StatusCallbackMethod: "PUT" }, 53110],
  ])("POST /v1/Rooms %o → %i", async (form, code) => {
    const { status, body } = await api("POST", "/v1/Rooms", form);
    expect(status).toBe(400);
    expect(body).toEqual({ code, message: expect.any(String), more_info: `https://www.twilio.com/docs/errors/${code}`, status: 400 });
    expect(server.rooms.size).toBe(0);
  });

  it("defaults: group, 50 participants, 5-minute timeouts, UniqueName = sid", async () => {
    const { status, body } = await api("POST", "/v1/Rooms", {});
    expect(status).toBe(201);
    expect(body).toMatchObject({ type: "group", max_participants: 50, empty_room_timeout: 5, unused_room_timeout: 5 });
    expect(body.unique_name).toBe(body.sid);
  });

  it("room update: only Status=completed on an in-progress room (53112 otherwise)", async () => {
    const created = await api("POST", "/v1/Rooms", { UniqueName: "u" });
    expect((await api("POST", `/v1/Rooms/${created.body.sid}`, { Status: "in-progress" })).body.code).toBe(53112);
    expect((await api("POST", `/v1/Rooms/${created.body.sid}`, { Status: "completed" })).status).toBe(202);
    expect((await api("POST", `/v1/Rooms/${created.body.sid}`, { Status: "completed" })).body.code).toBe(53112);
  });

  it("unknown paths are 20404; wrong credentials 20003 with WWW-Authenticate", async () => {
    expect((await api("GET", "/v1/Compositions")).body.code).toBe(20404);
    expect(await api("GET", "/v1/Rooms/%E0%A4%A")).toMatchObject({ status: 404, body: { code: 20404 } }); // bad escape
    const res = await fetch(`${server.url}/v1/Rooms`, { headers: { Authorization: "Basic eDp5" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Basic");
    expect(await res.json()).toEqual({ code: 20003, message: "Authenticate", more_info: "https://www.twilio.com/docs/errors/20003", status: 401 });
  });

  it("accepts the account sid + auth token as credentials too", async () => {
    const auth = "Basic " + Buffer.from(`${server.credentials.accountSid}:${server.credentials.authToken}`).toString("base64");
    expect((await api("GET", "/v1/Rooms", undefined, auth)).status).toBe(200);
  });

  it("listing rooms without Status gives the in-progress ones, as Twilio's spec says", async () => {
    for (const name of ["a", "b", "c"]) await api("POST", "/v1/Rooms", { UniqueName: name });
    await api("POST", "/v1/Rooms/b", { Status: "completed" });
    const names = async (query: string) => (await api("GET", `/v1/Rooms${query}`)).body.rooms.map((r: { unique_name: string }) => r.unique_name);
    expect(await names("")).toEqual(["c", "a"]);
    expect(await names("?Status=in-progress")).toEqual(["c", "a"]);
    expect(await names("?Status=completed")).toEqual(["b"]);
    expect(await names("?UniqueName=b")).toEqual([]);
  });

  it("listing participants without Status: connected ones of an in-progress room, only disconnected ones of a completed room", async () => {
    const room = (await api("POST", "/v1/Rooms", { UniqueName: "p" })).body.sid as string;
    server.connectParticipant(room, "alice");
    server.connectParticipant(room, "bob");
    server.connectParticipant(room, "carol");
    server.disconnectParticipant(room, "bob");
    server.setReconnecting(room, "carol", true);
    const identities = async (query: string) =>
      (await api("GET", `/v1/Rooms/${room}/Participants${query}`)).body.participants.map(
        (p: { identity: string; status: string }) => `${p.identity}:${p.status}`,
      );
    expect(await identities("")).toEqual(["alice:connected"]);
    expect(await identities("?Status=disconnected")).toEqual(["bob:disconnected"]);
    expect(await identities("?Status=reconnecting")).toEqual(["carol:reconnecting"]);
    expect((await api("GET", `/v1/Rooms/${room}/Participants?Status=gone`)).body.code).toBe(53112);
    await api("POST", `/v1/Rooms/${room}`, { Status: "completed" });
    expect((await identities("")).sort()).toEqual(["alice:disconnected", "bob:disconnected", "carol:disconnected"]);
    expect(await identities("?Status=connected")).toEqual([]);
  });

  it("list meta has Twilio's shape", async () => {
    for (let i = 0; i < 3; i++) await api("POST", "/v1/Rooms", { UniqueName: `m${i}` });
    const { body } = await api("GET", "/v1/Rooms?Status=in-progress&PageSize=2");
    expect(body.rooms).toHaveLength(2);
    expect(body.meta).toEqual({
      page: 0,
      page_size: 2,
      first_page_url: `${server.url}/v1/Rooms?Status=in-progress&PageSize=2&Page=0`,
      previous_page_url: null,
      url: `${server.url}/v1/Rooms?Status=in-progress&PageSize=2&Page=0`,
      next_page_url: `${server.url}/v1/Rooms?Status=in-progress&PageSize=2&Page=1&PageToken=PT1`,
      key: "rooms",
    });
  });
});

describe("media simulation", () => {
  it("refuses more than MaxParticipants (53105) and a second identity kicks the first", async () => {
    const { body } = await api("POST", "/v1/Rooms", { UniqueName: "small", MaxParticipants: "2" });
    const first = server.connectParticipant("small", "alice");
    server.connectParticipant("small", "bob");
    expect(() => server.connectParticipant("small", "carol")).toThrow(expect.objectContaining({ code: 53105 }));
    const again = server.connectParticipant("small", "alice");
    expect(again.sid).not.toBe(first.sid);
    const room = server.rooms.get(body.sid)!;
    expect(room.participants.get(first.sid)?.status).toBe("disconnected");
    expect(
      [...room.participants.values()]
        .filter((p) => p.status === "connected")
        .map((p) => p.identity)
        .sort(),
    ).toEqual(["alice", "bob"]);
  });

  it("ends unused and empty rooms after their timeouts by the server's clock", async () => {
    let clock = Date.UTC(2026, 5, 1, 12, 0, 0);
    const timed = await startLocalTwilio({ now: () => clock });
    try {
      const auth = "Basic " + Buffer.from(`${timed.credentials.apiKeySid}:${timed.credentials.apiKeySecret}`).toString("base64");
      const create = async (name: string) => {
        const res = await fetch(`${timed.url}/v1/Rooms`, {
          method: "POST",
          headers: { Authorization: auth, "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ UniqueName: name, EmptyRoomTimeout: "1", UnusedRoomTimeout: "2", StatusCallback: "https://a.example/cb" }),
        });
        return ((await res.json()) as { sid: string }).sid;
      };
      const unused = await create("unused");
      const used = await create("used");
      timed.connectParticipant(used, "alice");
      clock += 60_000;
      timed.disconnectParticipant(used, "alice"); // empty from now
      clock += 59_000;
      timed.sweepTimeouts();
      expect(timed.rooms.get(used)?.status).toBe("in-progress");
      expect(timed.rooms.get(unused)?.status).toBe("in-progress");
      clock += 1_000; // 1 min empty, 2 min unused
      const res = await fetch(`${timed.url}/v1/Rooms/${unused}`, { headers: { Authorization: auth } }); // sweeps on request
      expect(((await res.json()) as { status: string }).status).toBe("completed");
      expect(timed.rooms.get(unused)?.endReason).toBe("unused-timeout");
      expect(timed.rooms.get(used)?.endReason).toBe("empty-timeout");
      const ended = timed.pendingCallbacks().filter((c) => c.event === "room-ended");
      expect(ended.map((c) => [c.roomSid, c.params.RoomDuration])).toEqual([
        [unused, "120"],
        [used, "120"],
      ]);
    } finally {
      await timed.close();
    }
  });
});

describe("status callbacks", () => {
  it("GET callbacks put the params in the URL and sign the URL alone", async () => {
    await api("POST", "/v1/Rooms", { UniqueName: "g", StatusCallback: "https://a.example/cb?x=1", StatusCallbackMethod: "GET" });
    const [cb] = server.pendingCallbacks();
    expect(cb.method).toBe("GET");
    expect(cb.url.startsWith("https://a.example/cb?x=1&AccountSid=")).toBe(true);
    expect(cb.body).toBe("");
    expect(twilio.validateRequest(server.credentials.authToken, cb.signature, cb.url, {})).toBe(true);
  });

  it("deliverCallbacks: true POSTs them, signed and in order, to the StatusCallback URL", async () => {
    const received: Array<{ headers: IncomingMessage["headers"]; body: string; url: string }> = [];
    const receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        received.push({ headers: req.headers, body, url: req.url ?? "" });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/twilio/status`;
    const live = await startLocalTwilio({ deliverCallbacks: true });
    try {
      const auth = "Basic " + Buffer.from(`${live.credentials.apiKeySid}:${live.credentials.apiKeySecret}`).toString("base64");
      const res = await fetch(`${live.url}/v1/Rooms`, {
        method: "POST",
        headers: { Authorization: auth, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ UniqueName: "live", StatusCallback: hook }),
      });
      const sid = ((await res.json()) as { sid: string }).sid;
      live.connectParticipant(sid, "alice");
      live.endRoom(sid);
      await live.flushDeliveries();
      expect(live.pendingCallbacks()).toEqual([]);
      expect(live.deliveries.map((d) => d.status)).toEqual([204, 204, 204, 204]);
      expect(received.map((r) => new URLSearchParams(r.body).get("StatusCallbackEvent"))).toEqual([
        "room-created",
        "participant-connected",
        "participant-disconnected",
        "room-ended",
      ]);
      for (const r of received) {
        expect(r.headers["content-type"]).toBe("application/x-www-form-urlencoded");
        const params = Object.fromEntries(new URLSearchParams(r.body));
        const signature = String(r.headers["x-twilio-signature"]);
        expect(twilio.validateRequest(live.credentials.authToken, signature, hook, params)).toBe(true);
      }
    } finally {
      await live.close();
      await new Promise<void>((r) => receiver.close(() => r()));
    }
  });

  it("a delivery function receives each callback instead of HTTP", async () => {
    const got: PendingCallback[] = [];
    const custom = await startLocalTwilio({ deliverCallbacks: async (cb) => void got.push(cb) });
    try {
      const auth = "Basic " + Buffer.from(`${custom.credentials.apiKeySid}:${custom.credentials.apiKeySecret}`).toString("base64");
      await fetch(`${custom.url}/v1/Rooms`, {
        method: "POST",
        headers: { Authorization: auth, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ UniqueName: "f", StatusCallback: "https://a.example/cb" }),
      });
      await custom.flushDeliveries();
      expect(got.map((c) => c.event)).toEqual(["room-created"]);
    } finally {
      await custom.close();
    }
  });
});

describe("Track Subscriptions: subscribe rules", () => {
  /** A room with alice, bob and carol, each publishing audio and video. */
  async function trio() {
    const room = (await api("POST", "/v1/Rooms", { UniqueName: "t" })).body.sid as string;
    const [alice, bob, carol] = ["alice", "bob", "carol"].map((who) => server.connectParticipant(room, who, { tracks: ["audio", "video"] }));
    const setRules = (who: string, rules: unknown) => api("POST", `/v1/Rooms/${room}/Participants/${who}/SubscribeRules`, { Rules: JSON.stringify(rules) });
    return { room, alice, bob, carol, setRules };
  }
  const everyone = (...who: string[]) => ({ audio: who, video: who, data: [] });

  it("by default everyone receives everyone else (never themselves); the default reads back with null dates", async () => {
    const { room, alice } = await trio();
    expect(server.subscriptions(room)).toEqual({ alice: everyone("bob", "carol"), bob: everyone("alice", "carol"), carol: everyone("alice", "bob") });
    const { status, body } = await api("GET", `/v1/Rooms/${room}/Participants/${alice.sid}/SubscribeRules`);
    expect(status).toBe(200);
    expect(body).toEqual({
      participant_sid: alice.sid,
      room_sid: room,
      date_created: null,
      date_updated: null,
      rules: [{ type: "include", all: true, publisher: null, track: null, kind: null, priority: null }],
    });
  });

  it("muting bob for everyone: each other subscriber excludes bob's audio; bob's video still reaches them", async () => {
    const { room, setRules } = await trio();
    for (const who of ["alice", "carol"]) {
      expect(
        (
          await setRules(who, [
            { type: "include", all: true },
            { type: "exclude", publisher: "bob", kind: "audio" },
          ])
        ).status,
      ).toBe(200);
    }
    expect(server.subscriptions(room)).toEqual({
      alice: { audio: ["carol"], video: ["bob", "carol"], data: [] },
      bob: everyone("alice", "carol"),
      carol: { audio: ["alice"], video: ["alice", "bob"], data: [] },
    });
    // Rules hold for tracks published later too.
    server.publishTrack(room, "bob", { kind: "audio", name: "second-mic" });
    expect(server.subscriptions(room).alice.audio).toEqual(["carol"]);
  });

  it("rules apply in order, the last match deciding; filters AND; publisher and track by name or sid; no match: not subscribed", async () => {
    const { room, bob, setRules } = await trio();
    const screen = server.publishTrack(room, "carol", { kind: "video", name: "screen", priority: "high" });
    const received = async (rules: unknown) => {
      expect((await setRules("alice", rules)).status).toBe(200);
      return server.subscriptions(room).alice;
    };
    // A later include overrides an earlier exclude, and the other way round.
    expect(
      await received([
        { type: "exclude", publisher: "bob" },
        { type: "include", all: true },
      ]),
    ).toEqual(everyone("bob", "carol"));
    expect(
      await received([
        { type: "include", all: true },
        { type: "exclude", publisher: bob.sid },
      ]),
    ).toEqual(everyone("carol"));
    // Only what an include matches.
    expect(await received([{ type: "include", kind: "audio" }])).toEqual({ audio: ["bob", "carol"], video: [], data: [] });
    expect(await received([{ type: "include", publisher: "carol", kind: "video" }])).toEqual({ audio: [], video: ["carol"], data: [] });
    expect(await received([{ type: "include", priority: "high" }])).toEqual({ audio: [], video: ["carol"], data: [] });
    expect(
      await received([
        { type: "include", all: true },
        { type: "exclude", track: "video" },
      ]),
    ).toEqual({ audio: ["bob", "carol"], video: ["carol"], data: [] });
    const tracks = (await api("GET", `/v1/Rooms/${room}/Participants/alice/SubscribedTracks`)).body.subscribed_tracks;
    expect(tracks.map((t: { kind: string; name: string }) => `${t.kind}:${t.name}`).sort()).toEqual(["audio:audio", "audio:audio", "video:screen"]);
    expect(
      await received([
        { type: "include", all: true },
        { type: "exclude", track: screen.sid },
      ]),
    ).toEqual(everyone("bob", "carol"));
    expect(await received([{ type: "exclude", all: true }])).toEqual({ audio: [], video: [], data: [] });
  });

  it("rules belong to the participant: whoever joins again is a new participant with the default rules", async () => {
    const { room, setRules } = await trio();
    await setRules("alice", [{ type: "exclude", all: true }]);
    expect(server.subscriptions(room).alice).toEqual({ audio: [], video: [], data: [] });
    server.setReconnecting(room, "alice", true);
    expect(server.subscriptions(room).alice).toEqual({ audio: [], video: [], data: [] }); // kept while reconnecting
    server.setReconnecting(room, "alice", false);
    server.connectParticipant(room, "alice", { tracks: ["audio"] }); // a second connection: a new participant
    expect(server.subscriptions(room).alice).toEqual(everyone("bob", "carol"));
    expect(server.subscriptions(room).bob.audio).toEqual(["alice", "carol"]);
  });

  it.each([
    ["missing", null],
    ["not JSON", "[{"],
    ["not an array", '{"type":"include","all":true}'],
    ["empty", "[]"],
    ["21 rules", JSON.stringify(Array(21).fill({ type: "include", all: true }))],
    ["no type", '[{"all":true}]'],
    ["a type other than include/exclude", '[{"type":"allow","all":true}]'],
    ["all other than true", '[{"type":"include","all":false}]'],
    ["all with another filter", '[{"type":"include","all":true,"kind":"audio"}]'],
    ["an unknown kind", '[{"type":"include","kind":"screen"}]'],
    ["an unknown priority", '[{"type":"include","priority":"urgent"}]'],
    ["an unknown field", '[{"type":"include","kind":"audio","speaker":"bob"}]'],
    ["no filter", '[{"type":"include"}]'],
    ["an empty publisher", '[{"type":"include","publisher":""}]'],
  ])("refuses rules that are %s: 400, 53215, rules unchanged, logged", async (_what, raw) => {
    const { room, alice, setRules } = await trio();
    await setRules("alice", [
      { type: "include", all: true },
      { type: "exclude", publisher: "bob" },
    ]);
    const { status, body } = await api("POST", `/v1/Rooms/${room}/Participants/alice/SubscribeRules`, raw === null ? {} : { Rules: raw });
    expect(status).toBe(400);
    expect(body).toMatchObject({ code: 53215, more_info: "https://www.twilio.com/docs/errors/53215", status: 400 });
    expect(server.subscriptions(room).alice.audio).toEqual(["carol"]);
    expect(server.subscribeRulesLog.at(-1)).toEqual({
      method: "POST",
      roomSid: room,
      roomName: "t",
      participantSid: alice.sid,
      identity: "alice",
      rawRules: raw,
      rules: null,
      status: 400,
      code: 53215,
    });
  });

  it("accepts the rules as Twilio answers them (null fields), and 20 rules; logs each request", async () => {
    const { room, alice, setRules } = await trio();
    const nulls = { all: null, publisher: null, track: null, kind: null, priority: null };
    expect(
      (
        await setRules("alice", [
          { ...nulls, type: "include", all: true },
          { ...nulls, type: "exclude", kind: "video" },
        ])
      ).status,
    ).toBe(200);
    expect((await setRules(alice.sid, Array(20).fill({ type: "include", all: true }))).status).toBe(200);
    await api("GET", `/v1/Rooms/t/Participants/alice/SubscribeRules`);
    expect(server.subscribeRulesLog.map((e) => [e.method, e.identity, e.status, e.rules?.length ?? null])).toEqual([
      ["POST", "alice", 200, 2],
      ["POST", "alice", 200, 20],
      ["GET", "alice", 200, null],
    ]);
    expect(server.subscribeRulesLog[0].rules).toEqual([
      { type: "include", all: true },
      { type: "exclude", kind: "video" },
    ]);
    void room;
  });

  it("an unknown participant is 20404 (logged), a disconnected one is not resolved by identity", async () => {
    const { room } = await trio();
    server.disconnectParticipant(room, "bob");
    expect((await api("GET", `/v1/Rooms/${room}/Participants/bob/SubscribeRules`)).body.code).toBe(20404);
    expect((await api("POST", `/v1/Rooms/${room}/Participants/PA00000000000000000000000000000000/SubscribeRules`, { Rules: "[]" })).body.code).toBe(20404);
    expect(server.subscribeRulesLog.map((e) => [e.method, e.participantSid, e.status, e.code])).toEqual([
      ["GET", null, 404, 20404],
      ["POST", null, 404, 20404],
    ]);
    expect(Object.keys(server.subscriptions(room))).toEqual(["alice", "carol"]);
  });

  it("publishing and unpublishing send track-added / track-removed callbacks; leaving removes the tracks", async () => {
    const room = (await api("POST", "/v1/Rooms", { UniqueName: "tr", StatusCallback: "https://a.example/cb" })).body.sid as string;
    server.connectParticipant(room, "alice", { tracks: ["audio"] });
    server.publishTrack(room, "alice", "video");
    expect(() => server.publishTrack(room, "alice", "video")).toThrow(/duplicated/);
    server.unpublishTrack(room, "alice", "video");
    server.disconnectParticipant(room, "alice");
    const events = server.pendingCallbacks().map((c) => `${c.event}${c.params.TrackKind ? `:${c.params.TrackKind}` : ""}`);
    expect(events).toEqual([
      "room-created",
      "participant-connected",
      "track-added:audio",
      "track-added:video",
      "track-removed:video",
      "track-removed:audio",
      "participant-disconnected",
    ]);
    expect(server.findRoom(room)!.tracks.size).toBe(0);
  });
});

describe("HTTP controls (/__local/) for tests running inside workerd", () => {
  afterEach(() => server.clearFaults());

  it("connects and disconnects participants, reads state and drains callbacks", async () => {
    await api("POST", "/v1/Rooms", { UniqueName: "ctl", StatusCallback: "https://a.example/cb" });
    const join = await fetch(`${server.url}/__local/rooms/ctl/participants`, {
      method: "POST",
      body: JSON.stringify({ identity: "alice" }),
    });
    expect(join.status).toBe(201);
    const p = (await join.json()) as { sid: string; status: string };
    expect(p.status).toBe("connected");
    const leave = await fetch(`${server.url}/__local/rooms/ctl/participants/${p.sid}/disconnect`, { method: "POST" });
    expect(((await leave.json()) as { status: string }).status).toBe("disconnected");
    const state = (await (await fetch(`${server.url}/__local/state`)).json()) as { rooms: Array<{ participants: unknown[] }> };
    expect(state.rooms[0].participants).toHaveLength(1);
    const drained = (await (await fetch(`${server.url}/__local/callbacks`)).json()) as { callbacks: PendingCallback[] };
    expect(drained.callbacks.map((c) => c.event)).toEqual(["room-created", "participant-connected", "participant-disconnected"]);
    expect(((await (await fetch(`${server.url}/__local/callbacks`)).json()) as { callbacks: unknown[] }).callbacks).toEqual([]);
  });

  it("publishes tracks, marks reconnecting, reads subscriptions and the subscribe-rules log", async () => {
    await api("POST", "/v1/Rooms", { UniqueName: "ctl" });
    const local = async (path: string, body?: unknown) => {
      const res = await fetch(`${server.url}/__local/${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    expect((await local("rooms/ctl/participants", { identity: "alice", tracks: ["audio", { kind: "video", name: "cam" }] })).status).toBe(201);
    await local("rooms/ctl/participants", { identity: "bob" });
    expect((await local("rooms/ctl/participants/bob/tracks", { kind: "audio" })).body).toMatchObject({ kind: "audio", name: "audio" });
    expect((await local("rooms/ctl/participants/bob/reconnecting", {})).body.status).toBe("reconnecting");
    expect((await local("rooms/ctl/participants/bob/reconnecting", { reconnecting: false })).body.status).toBe("connected");
    await api("POST", "/v1/Rooms/ctl/Participants/bob/SubscribeRules", { Rules: JSON.stringify([{ type: "include", kind: "video" }]) });
    expect((await local("rooms/ctl/subscriptions")).body.subscriptions).toEqual({
      alice: { audio: ["bob"], video: [], data: [] },
      bob: { audio: [], video: ["alice"], data: [] },
    });
    expect((await local("rooms/ctl/participants/alice/tracks/cam/unpublish", {})).status).toBe(200);
    expect((await local("rooms/ctl/subscriptions")).body.subscriptions.bob.video).toEqual([]);
    expect((await local("subscribe-rules-log")).body.entries).toMatchObject([
      { method: "POST", identity: "bob", status: 200, rules: [{ type: "include", kind: "video" }] },
    ]);
  });

  it("injects faults over HTTP", async () => {
    await fetch(`${server.url}/__local/fail-next`, {
      method: "POST",
      body: JSON.stringify({ kind: "status", status: 503, pathPattern: "^/v1/Rooms$", times: 2 }),
    });
    expect((await api("GET", "/v1/Rooms")).status).toBe(503);
    expect((await api("GET", "/v1/Rooms")).status).toBe(503);
    expect((await api("GET", "/v1/Rooms")).status).toBe(200);
  });
});
