/** The fetch-based Video REST client against the local Twilio-compatible server, with injected faults. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startLocalTwilio, type LocalTwilio } from "../support/twilio-server";
import { type SubscribeRule, TwilioApiError, TwilioVideoClient, parseRetryAfter, type TwilioVideoClientOptions } from "../../lib/twilio/rest";

let server: LocalTwilio;

beforeAll(async () => {
  server = await startLocalTwilio({ port: 0 });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
});

/** A client with recorded (not real) backoff sleeps and a fixed jitter draw. */
function makeClient(overrides: Partial<TwilioVideoClientOptions> = {}) {
  const sleeps: number[] = [];
  const client = new TwilioVideoClient({
    apiKeySid: server.credentials.apiKeySid,
    apiKeySecret: server.credentials.apiKeySecret,
    baseUrl: server.url,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    timeoutMs: 2000,
    ...overrides,
  });
  return { client, sleeps };
}

const outcomes = (method: string, path: string) => server.requests.filter((r) => r.method === method && r.path === path).map((r) => r.outcome);

async function rejection(promise: Promise<unknown>): Promise<TwilioApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TwilioApiError);
  return error as TwilioApiError;
}

describe("rooms", () => {
  it("creates a group room (201) with the requested settings", async () => {
    const { client } = makeClient();
    const room = await client.createRoom({
      uniqueName: "s1:main",
      maxParticipants: 12,
      statusCallback: "https://app.example/twilio/status",
      emptyRoomTimeout: 3,
      unusedRoomTimeout: 2,
    });
    expect(room).toMatchObject({
      status: "in-progress",
      uniqueName: "s1:main",
      type: "group",
      maxParticipants: 12,
      statusCallback: "https://app.example/twilio/status",
      statusCallbackMethod: "POST",
      emptyRoomTimeout: 3,
      unusedRoomTimeout: 2,
      duration: null,
      endTime: null,
      accountSid: server.credentials.accountSid,
    });
    expect(room.sid).toMatch(/^RM[0-9a-f]{32}$/);
    expect(outcomes("POST", "/v1/Rooms")).toEqual([201]);
    expect(server.rooms.get(room.sid!)?.uniqueName).toBe("s1:main");
  });

  it("creating an existing UniqueName returns the in-progress room (53113), no duplicate", async () => {
    const { client } = makeClient();
    const first = await client.createRoom({ uniqueName: "dup" });
    const second = await client.createRoom({ uniqueName: "dup" });
    expect(second.sid).toBe(first.sid);
    expect(outcomes("POST", "/v1/Rooms")).toEqual([201, 400]);
    expect(outcomes("GET", "/v1/Rooms")).toEqual([200]); // found through the UniqueName filter
    expect(await client.listRooms({ uniqueName: "dup" })).toHaveLength(1);
  });

  it("a retry after a lost create response converges on the one room", async () => {
    const { client, sleeps } = makeClient();
    server.failNext({ kind: "lose-response", method: "POST", path: "/v1/Rooms" });
    const room = await client.createRoom({ uniqueName: "lost" });
    // The first POST created the room but its answer was lost; the retry hit 53113 and looked the room up.
    expect(outcomes("POST", "/v1/Rooms")).toEqual(["lost", 400]);
    expect(outcomes("GET", "/v1/Rooms")).toEqual([200]);
    expect(sleeps).toHaveLength(1);
    const all = await client.listRooms({ uniqueName: "lost" });
    expect(all.map((r) => r.sid)).toEqual([room.sid]);
    expect(server.rooms.size).toBe(1);
  });

  it("a name freed by a completed room can be created again (new sid)", async () => {
    const { client } = makeClient();
    const first = await client.createRoom({ uniqueName: "again" });
    await client.completeRoom(first.sid!);
    const second = await client.createRoom({ uniqueName: "again" });
    expect(second.sid).not.toBe(first.sid);
    expect(second.status).toBe("in-progress");
  });

  it("gets a room by sid or UniqueName; an absent one is 20404", async () => {
    const { client } = makeClient();
    const room = await client.createRoom({ uniqueName: "find me" });
    expect((await client.getRoom(room.sid!)).uniqueName).toBe("find me");
    expect((await client.getRoom("find me")).sid).toBe(room.sid);
    const error = await rejection(client.getRoom("nope"));
    expect(error).toMatchObject({ status: 404, code: 20404, retryable: false, kind: "http", attempts: 1 });
    expect(error.moreInfo).toBe("https://www.twilio.com/docs/errors/20404");
  });

  it("completes a room (202); completing again is idempotent; its name then resolves to nothing", async () => {
    const { client } = makeClient();
    const room = await client.createRoom({ uniqueName: "to-close" });
    const done = await client.completeRoom("to-close");
    expect(done).toMatchObject({ sid: room.sid, status: "completed" });
    expect(done?.duration).not.toBeNull();
    expect(outcomes("POST", "/v1/Rooms/to-close")).toEqual([202]);
    // By sid: Twilio refuses (53112, not in progress); the client reads the room and reports it done.
    expect(await client.completeRoom(room.sid!)).toMatchObject({ sid: room.sid, status: "completed" });
    expect(outcomes("POST", `/v1/Rooms/${room.sid}`)).toEqual([400]);
    // By name: a completed room's UniqueName no longer resolves (20404): done, nothing to return.
    expect(await client.completeRoom("to-close")).toBeNull();
    expect(server.rooms.get(room.sid!)?.status).toBe("completed");
  });

  it("lists every page by following meta.next_page_url, newest first", async () => {
    const { client } = makeClient();
    const created = [];
    for (let i = 0; i < 7; i++) created.push(await client.createRoom({ uniqueName: `page-${i}` }));
    await client.completeRoom("page-0");
    const inProgress = await client.listRooms({ status: "in-progress", pageSize: 3 });
    expect(inProgress.map((r) => r.uniqueName)).toEqual(["page-6", "page-5", "page-4", "page-3", "page-2", "page-1"]);
    expect(outcomes("GET", "/v1/Rooms")).toEqual([200, 200]);
    // No Status: Twilio lists in-progress rooms only ("in-progress (default)" in its spec).
    const byDefault = await client.listRooms({ pageSize: 2 });
    expect(byDefault.map((r) => r.uniqueName)).toEqual(inProgress.map((r) => r.uniqueName));
    expect(new Set([...byDefault, ...(await client.listRooms({ status: "completed" }))].map((r) => r.sid))).toEqual(new Set(created.map((r) => r.sid)));
    expect(await client.listRooms({ status: "completed" })).toMatchObject([{ uniqueName: "page-0" }]);
    const limited = await client.listRooms({ pageSize: 2, limit: 3 });
    expect(limited).toHaveLength(3);
  });

  it("follows next_page_url on our base URL, never the host the page names", async () => {
    const seen: string[] = [];
    const page = (rooms: unknown[], next: string | null) =>
      new Response(JSON.stringify({ rooms, meta: { next_page_url: next, key: "rooms" } }), { status: 200 });
    const { client } = makeClient({
      baseUrl: "http://proxy.internal:8080/",
      fetch: async (url) => {
        seen.push(url);
        return seen.length === 1 ? page([], "https://video.twilio.com/v1/Rooms?PageSize=1&Page=1&PageToken=PT1") : page([], null);
      },
    });
    expect(await client.listRooms({ pageSize: 1 })).toEqual([]);
    expect(seen).toEqual(["http://proxy.internal:8080/v1/Rooms?PageSize=1", "http://proxy.internal:8080/v1/Rooms?PageSize=1&Page=1&PageToken=PT1"]);
  });

  it("server-side validation errors are typed and not retried", async () => {
    const { client } = makeClient();
    expect(await rejection(client.createRoom({ uniqueName: "big", maxParticipants: 51 }))).toMatchObject({
      status: 400,
      code: 53107,
      retryable: false,
    });
    expect(await rejection(client.createRoom({ uniqueName: "t", emptyRoomTimeout: 0 }))).toMatchObject({ code: 53109 });
    expect(outcomes("POST", "/v1/Rooms")).toEqual([400, 400]);
  });

  it("bad credentials: 401 / 20003, not retried", async () => {
    const { client, sleeps } = makeClient({ apiKeySecret: "wrong" });
    const error = await rejection(client.listRooms());
    expect(error).toMatchObject({ status: 401, code: 20003, retryable: false, attempts: 1 });
    expect(sleeps).toEqual([]);
    expect(outcomes("GET", "/v1/Rooms")).toEqual([401]);
  });

  it("refuses a create without a UniqueName (retries would not be safe)", async () => {
    const { client } = makeClient();
    await expect(client.createRoom({ uniqueName: "" })).rejects.toThrow(TypeError);
    expect(server.requests).toEqual([]);
  });
});

describe("participants", () => {
  it("lists, disconnects (202) and treats a second disconnect as done", async () => {
    const { client } = makeClient();
    const room = await client.createRoom({ uniqueName: "people" });
    const alice = server.connectParticipant("people", "alice");
    server.connectParticipant(room.sid!, "bob");
    const connected = await client.listParticipants(room.sid!, "connected");
    expect(connected.map((p) => p.identity).sort()).toEqual(["alice", "bob"]);
    expect(connected[0].sid).toMatch(/^PA[0-9a-f]{32}$/);

    const kicked = await client.disconnectParticipant(room.sid!, "alice");
    expect(kicked).toMatchObject({ sid: alice.sid, identity: "alice", status: "disconnected" });
    // The identity is resolved to the sid through the Identity filter; the update addresses the sid.
    expect(outcomes("POST", `/v1/Rooms/${room.sid}/Participants/${alice.sid}`)).toEqual([202]);

    // By identity the participant no longer resolves (20404): done. By sid it is reported as it is.
    expect(await client.disconnectParticipant(room.sid!, "alice")).toBeNull();
    expect(await client.disconnectParticipant(room.sid!, alice.sid)).toMatchObject({ status: "disconnected" });
    expect((await client.listParticipants("people", { status: "connected" })).map((p) => p.identity)).toEqual(["bob"]);
    expect((await client.listParticipants("people", "disconnected")).map((p) => p.identity)).toEqual(["alice"]);
  });

  it("names and identities with reserved characters never go into a URL path", async () => {
    const { client } = makeClient();
    const room = await client.createRoom({ uniqueName: "s1:main" });
    expect((await client.createRoom({ uniqueName: "s1:main" })).sid).toBe(room.sid);
    expect((await client.getRoom("s1:main")).sid).toBe(room.sid);
    server.connectParticipant(room.sid!, "alice@example.com");
    expect((await client.getParticipant("s1:main", "alice@example.com")).identity).toBe("alice@example.com");
    expect(await client.listParticipants("s1:main", "connected")).toHaveLength(1);
    expect(await client.disconnectParticipant("s1:main", "alice@example.com")).toMatchObject({ status: "disconnected" });
    expect(await client.disconnectParticipant("s1:main", "alice@example.com")).toBeNull();
    expect(await client.completeRoom("s1:main")).toMatchObject({ sid: room.sid, status: "completed" });
    expect(await client.completeRoom("s1:main")).toBeNull(); // no in-progress room by that name any more
    expect(await rejection(client.getRoom("s1:main"))).toMatchObject({ status: 404, code: 20404, retryable: false });
    const sidPaths = /^\/v1\/Rooms(\/RM[0-9a-f]{32}(\/Participants(\/PA[0-9a-f]{32})?)?)?$/;
    expect(server.requests.filter((r) => !sidPaths.test(r.path))).toEqual([]);
  });

  it("paginates participants", async () => {
    const { client } = makeClient();
    const room = await client.createRoom({ uniqueName: "crowd" });
    for (let i = 0; i < 5; i++) server.connectParticipant(room.sid!, `p${i}`);
    const all = await client.listParticipants(room.sid!, { status: "connected", pageSize: 2 });
    expect(all.map((p) => p.identity)).toEqual(["p0", "p1", "p2", "p3", "p4"]);
    expect(outcomes("GET", `/v1/Rooms/${room.sid}/Participants`)).toHaveLength(3);
  });

  it("a reconnecting participant (a status Twilio's spec lists) is read, listed with the rest, found by identity and kicked", async () => {
    const { client } = makeClient();
    const room = (await client.createRoom({ uniqueName: "flaky-net" })).sid!;
    const bob = server.connectParticipant(room, "bob@example.com");
    server.connectParticipant(room, "carol");
    server.setReconnecting(room, "bob@example.com", true);
    expect(await client.getParticipant(room, bob.sid)).toMatchObject({ identity: "bob@example.com", status: "reconnecting" });
    expect((await client.listParticipants(room, "reconnecting")).map((p) => p.identity)).toEqual(["bob@example.com"]);
    // Not "gone": a kick by identity must reach it, or it would come back into the room it was moved out of.
    expect(await client.getParticipant(room, "bob@example.com")).toMatchObject({ sid: bob.sid });
    expect(await client.disconnectParticipant(room, "bob@example.com")).toMatchObject({ sid: bob.sid, status: "disconnected" });
    expect(server.findRoom(room)!.participants.get(bob.sid)!.status).toBe("disconnected");
  });

  it("one odd room (every field Twilio's spec marks nullable is null) does not fail the whole list", async () => {
    const { client } = makeClient();
    await client.createRoom({ uniqueName: "normal" });
    server.failNext({
      kind: "rewrite",
      method: "GET",
      path: "/v1/Rooms",
      rewrite: (page) => ({
        ...page,
        rooms: [
          ...page.rooms,
          { ...page.rooms[0], sid: null, unique_name: null, account_sid: null, date_created: null, date_updated: null, url: null, links: null },
        ],
      }),
    });
    const rooms = await client.listRooms({ status: "in-progress" });
    expect(rooms.map((r) => [r.uniqueName, r.sid === null])).toEqual([
      ["normal", false],
      [null, true],
    ]);
    expect(rooms[1]).toMatchObject({ accountSid: null, dateCreated: null, status: "in-progress" });
  });

  it("participants of an absent room: 20404 to read, nothing to do to disconnect", async () => {
    const { client } = makeClient();
    expect(await rejection(client.listParticipants("ghost", "connected"))).toMatchObject({ code: 20404 });
    expect(await rejection(client.getParticipant("ghost", "alice"))).toMatchObject({ code: 20404 });
    expect(await client.disconnectParticipant("ghost", "alice")).toBeNull();
    expect(await client.disconnectParticipant("gh:ost", "alice")).toBeNull();
  });
});

describe("subscribe rules", () => {
  const MUTE_BOB: SubscribeRule[] = [
    { type: "include", all: true },
    { type: "exclude", publisher: "bob@example.com", kind: "audio" },
  ];

  it("a muted participant's audio reaches nobody: every other subscriber excludes it, by identity, resolved to its sid", async () => {
    const { client } = makeClient();
    const room = (await client.createRoom({ uniqueName: "s2:main" })).sid!;
    for (const who of ["alice@example.com", "bob@example.com", "carol@example.com"]) server.connectParticipant(room, who, { tracks: ["audio", "video"] });
    for (const who of ["alice@example.com", "carol@example.com"]) {
      const set = await client.updateSubscribeRules("s2:main", who, MUTE_BOB);
      expect(set.rules).toEqual(MUTE_BOB);
      expect(set.dateUpdated).toEqual(expect.any(String));
    }
    const received = server.subscriptions(room);
    expect(Object.entries(received).map(([who, media]) => [who, media.audio])).toEqual([
      ["alice@example.com", ["carol@example.com"]],
      ["bob@example.com", ["alice@example.com", "carol@example.com"]],
      ["carol@example.com", ["alice@example.com"]],
    ]);
    expect(received["alice@example.com"].video).toEqual(["bob@example.com", "carol@example.com"]);
    // Identities and names never went into a path; the server saw the rules as sent.
    const sidPaths = /^\/v1\/Rooms(\/RM[0-9a-f]{32}(\/Participants(\/PA[0-9a-f]{32}(\/SubscribeRules)?)?)?)?$/;
    expect(server.requests.filter((r) => !sidPaths.test(r.path))).toEqual([]);
    expect(server.subscribeRulesLog.map((e) => [e.method, e.identity, e.status, e.rules])).toEqual([
      ["POST", "alice@example.com", 200, MUTE_BOB],
      ["POST", "carol@example.com", 200, MUTE_BOB],
    ]);
  });

  it("reads rules back (Twilio's null fields dropped; the default before any are set) and lists subscribed tracks", async () => {
    const { client } = makeClient();
    const room = (await client.createRoom({ uniqueName: "read-back" })).sid!;
    const alice = server.connectParticipant(room, "alice", { tracks: ["audio"] });
    server.connectParticipant(room, "bob", { tracks: ["audio", "video"] });
    expect(await client.getSubscribeRules(room, "alice")).toEqual({
      participantSid: alice.sid,
      roomSid: room,
      rules: [{ type: "include", all: true }],
      dateCreated: null,
      dateUpdated: null,
    });
    expect((await client.listSubscribedTracks(room, alice.sid)).map((t) => t.kind).sort()).toEqual(["audio", "video"]);
    await client.updateSubscribeRules(room, alice.sid, [{ type: "include", kind: "video", priority: "standard" }]);
    expect((await client.getSubscribeRules(room, alice.sid)).rules).toEqual([{ type: "include", kind: "video", priority: "standard" }]);
    const tracks = await client.listSubscribedTracks(room, "alice", { pageSize: 1 });
    expect(tracks).toMatchObject([{ kind: "video", name: "video", participantSid: alice.sid, roomSid: room, enabled: true }]);
  });

  it.each<[string, unknown]>([
    ["no rules", []],
    ["21 rules", Array(21).fill({ type: "include", all: true })],
    ["all: false", [{ type: "include", all: false }]],
    ["all with a filter", [{ type: "include", all: true, kind: "audio" }]],
    ["no filter", [{ type: "exclude" }]],
    ["an unknown kind", [{ type: "include", kind: "screen" }]],
    ["an unknown priority", [{ type: "include", priority: "urgent" }]],
    ["an unknown type", [{ type: "allow", all: true }]],
    ["an empty publisher", [{ type: "exclude", publisher: "" }]],
    ["an unknown field", [{ type: "exclude", publisher: "bob", muted: true }]],
  ])("refuses %s before sending anything (Twilio would answer 53215)", async (_what, rules) => {
    const { client } = makeClient();
    await expect(client.updateSubscribeRules("RM00000000000000000000000000000000", "alice", rules as SubscribeRule[])).rejects.toThrow(TypeError);
    expect(server.requests).toEqual([]);
  });

  it("retried like the rest (it replaces the whole set, so a repeat is harmless); an absent participant is 20404", async () => {
    const { client, sleeps } = makeClient();
    const room = (await client.createRoom({ uniqueName: "retry-rules" })).sid!;
    const alice = server.connectParticipant(room, "alice");
    server.failNext({ kind: "status", status: 503, method: "POST", path: /\/SubscribeRules$/ });
    server.failNext({ kind: "lose-response", method: "POST", path: /\/SubscribeRules$/ });
    expect((await client.updateSubscribeRules(room, alice.sid, MUTE_BOB)).rules).toEqual(MUTE_BOB);
    expect(outcomes("POST", `/v1/Rooms/${room}/Participants/${alice.sid}/SubscribeRules`)).toEqual([503, "lost", 200]);
    expect(sleeps).toHaveLength(2);
    expect(await rejection(client.updateSubscribeRules(room, "nobody", MUTE_BOB))).toMatchObject({ status: 404, code: 20404 });
    expect(await rejection(client.getSubscribeRules(room, "PA00000000000000000000000000000000"))).toMatchObject({ status: 404, code: 20404, attempts: 1 });
  });
});

describe("retries", () => {
  it("converges through 500s with exponential backoff and full jitter", async () => {
    const { client, sleeps } = makeClient({ baseDelayMs: 100, maxDelayMs: 10_000 });
    server.failNext({ kind: "status", status: 500, path: "/v1/Rooms", times: 2 });
    const room = await client.createRoom({ uniqueName: "flaky" });
    expect(room.uniqueName).toBe("flaky");
    expect(outcomes("POST", "/v1/Rooms")).toEqual([500, 500, 201]);
    expect(sleeps).toEqual([50, 100]); // random 0.5 x cap 100, 200
  });

  it("backoff is bounded by maxDelayMs and uses the injected random draw", async () => {
    const draws = [0.99, 0.0, 0.99];
    const { client, sleeps } = makeClient({ baseDelayMs: 1000, maxDelayMs: 1500, maxAttempts: 4, random: () => draws.shift() ?? 0 });
    server.failNext({ kind: "status", status: 502, times: 3 });
    await client.listRooms();
    expect(sleeps).toEqual([990, 0, 1485]); // caps 1000, 1500 (2000 capped), 1500
  });

  it("honours Retry-After on 429", async () => {
    const { client, sleeps } = makeClient();
    server.failNext({ kind: "status", status: 429, retryAfter: 2, path: "/v1/Rooms" });
    await client.createRoom({ uniqueName: "busy" });
    expect(outcomes("POST", "/v1/Rooms")).toEqual([429, 201]);
    expect(sleeps).toEqual([2000]);
  });

  it("a Retry-After beyond the budget fails at once, retryable, with the wait it asked for", async () => {
    const { client, sleeps } = makeClient({ maxRetryAfterMs: 5000 });
    server.failNext({ kind: "status", status: 429, retryAfter: 120 });
    const error = await rejection(client.listRooms());
    expect(error).toMatchObject({ status: 429, code: 20429, retryable: true, attempts: 1, retryAfterMs: 120_000 });
    expect(sleeps).toEqual([]);
  });

  it("times out a hanging request and retries it", async () => {
    const { client, sleeps } = makeClient({ timeoutMs: 250 });
    server.failNext({ kind: "hang", path: "/v1/Rooms" });
    const room = await client.createRoom({ uniqueName: "slow" });
    expect(room.uniqueName).toBe("slow");
    expect(outcomes("POST", "/v1/Rooms")).toEqual(["hang", 201]);
    expect(sleeps).toHaveLength(1);
  });

  it("retries a connection reset", async () => {
    const { client } = makeClient();
    server.failNext({ kind: "reset" });
    expect(await client.listRooms()).toEqual([]);
    expect(outcomes("GET", "/v1/Rooms")).toEqual(["reset", 200]);
  });

  it("gives up after maxAttempts with a typed retryable error", async () => {
    const { client, sleeps } = makeClient({ maxAttempts: 3 });
    server.failNext({ kind: "status", status: 503, times: 10 });
    const error = await rejection(client.getRoom("anything"));
    expect(error).toMatchObject({ status: 503, code: 20500, retryable: true, kind: "http", attempts: 3 });
    expect(sleeps).toHaveLength(2);
    expect(server.requests).toHaveLength(3);
  });

  it("gives up on repeated time-outs with kind 'timeout'", async () => {
    const { client } = makeClient({ maxAttempts: 2, timeoutMs: 50 });
    server.failNext({ kind: "hang", times: 5 });
    const error = await rejection(client.listRooms());
    expect(error).toMatchObject({ status: 0, code: null, retryable: true, kind: "timeout", attempts: 2 });
  });

  it("a caller abort stops at once and is not wrapped or retried", async () => {
    const { client } = makeClient({ timeoutMs: 5000 });
    server.failNext({ kind: "hang", times: 5 });
    const controller = new AbortController();
    const pending = client.listRooms({}, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("caller gave up")), 30);
    await expect(pending).rejects.toThrow("caller gave up");
    expect(server.requests).toHaveLength(1);
  });

  it("a non-JSON 502 from a proxy is still a typed retryable error", async () => {
    let calls = 0;
    const { client } = makeClient({
      maxAttempts: 2,
      fetch: async () => {
        calls++;
        return new Response("<html>Bad gateway</html>", { status: 502 });
      },
    });
    const error = await rejection(client.listRooms());
    expect(error).toMatchObject({ status: 502, code: null, retryable: true, attempts: 2 });
    expect(calls).toBe(2);
  });

  it("an unreadable 200 body is an invalid-response error, not retried", async () => {
    let calls = 0;
    const { client } = makeClient({
      fetch: async () => {
        calls++;
        return new Response(JSON.stringify({ sid: "RMx" }), { status: 200 });
      },
    });
    expect(await rejection(client.getRoom("x"))).toMatchObject({ kind: "invalid-response", retryable: false });
    expect(calls).toBe(1);
  });
});

describe("parseRetryAfter", () => {
  it("reads delta-seconds and HTTP dates", () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("0.5", now)).toBe(500);
    expect(parseRetryAfter(new Date(now + 7000).toUTCString(), now)).toBe(7000);
    expect(parseRetryAfter(new Date(now - 7000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
