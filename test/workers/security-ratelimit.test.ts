/**
 * Abuse limits, live: the Workers rate-limiting bindings (miniflare simulates them: a fixed window per key, aligned to
 * the clock) trip with 429 RATE_LIMITED + Retry-After, are per key, and recover; a WebSocket flooding past its message
 * budget gets RATE_LIMITED, is closed with 1008, and nothing past the budget is applied.
 *
 * RL_SIGNIN runs here with limit 10 per 10 s (vitest.config.ts; wrangler.toml: 10 per 60 s) so recovery can be awaited.
 */
import { describe, expect, it } from "vitest";
import { api, Client, createSession, d1, defaultAgreementHash, flush, joinSession, signIn, sleep, stubFor, placementIn } from "./helpers";

const SIGNIN = { limit: 10, periodMs: 10_000 };
const window = (periodMs: number) => Math.floor(Date.now() / periodMs);
let ipCounter = 0;
const uniqueIp = () => `198.51.${(++ipCounter >> 8) & 255}.${ipCounter & 255}`;

const signinFrom = (ip: string) => api("/api/auth/dev-signin", { body: { name: "Flood", role: "participant" }, headers: { "CF-Connecting-IP": ip } });

/**
 * Sends `n` requests in one window. Retries (with a fresh key) if the window rolled over mid-burst, which would
 * legitimately reset the count; returns the statuses and the window the burst ran in.
 */
async function burstInOneWindow(
  n: number,
  periodMs: number,
  send: (key: string) => Promise<{ status: number; json: any; headers: Headers }>,
  newKey: () => Promise<string> | string,
) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const key = await newKey();
    const w = window(periodMs);
    const results = [];
    for (let i = 0; i < n; i++) results.push(await send(key));
    if (window(periodMs) === w) return { key, results, window: w };
  }
  throw new Error("the rate-limit window rolled over during three bursts in a row");
}

describe("HTTP rate limits (Workers rate-limiting bindings)", () => {
  it("dev sign-in per IP: the limit trips with 429 RATE_LIMITED + Retry-After; another IP and another scope pass; it recovers", async () => {
    const { key: ip, results, window: tripped } = await burstInOneWindow(SIGNIN.limit + 1, SIGNIN.periodMs, signinFrom, uniqueIp);
    expect(results.map((r) => r.status)).toEqual([...Array(SIGNIN.limit).fill(200), 429]);
    const refused = results[SIGNIN.limit];
    expect(refused.json).toMatchObject({ error: { code: "RATE_LIMITED", message: expect.any(String) } });
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    expect(refused.headers.get("content-type")).toMatch(/^application\/json/);

    // Per key: another client is unaffected; the same client on another route sharing the binding (join) too.
    expect((await signinFrom(uniqueIp())).status).toBe(200);
    const s = await createSession();
    const j = await api(`/api/sessions/${s.sessionId}/join`, {
      body: { invite: s.invite.token, name: "Same IP", agreementHash: await defaultAgreementHash() },
      headers: { "CF-Connecting-IP": ip },
    });
    expect(j.status).toBe(200);

    // Recovery: once the window has passed (at most Retry-After seconds), the same IP signs in again.
    let recovered = false;
    for (let waited = 0; waited <= retryAfter * 1000 && !recovered; waited += 250) {
      if (window(SIGNIN.periodMs) !== tripped) recovered = (await signinFrom(ip)).status === 200;
      if (!recovered) await sleep(250);
    }
    expect(recovered).toBe(true);
  }, 30_000);

  it("session creation per user: 20 a minute, then 429; another user still creates", async () => {
    const body = { title: "Many", mediaProvider: "local" };
    const { results } = await burstInOneWindow(
      21,
      60_000,
      (token) => api("/api/sessions", { token, body }),
      () => signIn(`Busy${++ipCounter}`),
    );
    expect(results.map((r) => r.status)).toEqual([...Array(20).fill(201), 429]);
    expect(results[20].json.error.code).toBe("RATE_LIMITED");
    expect(results[20].headers.get("Retry-After")).toBeTruthy();
    expect((await api("/api/sessions", { token: await signIn("Other"), body })).status).toBe(201);
  }, 30_000);

  it("the door (reading the agreement before joining) per session and network: a clinic's busy group leaves its other groups alone", async () => {
    const [a, b] = [await createSession(), await createSession()];
    const previewFrom = (sessionId: string, invite: string, ip: string) =>
      api(`/api/sessions/${sessionId}/preview`, { body: { invite }, headers: { "CF-Connecting-IP": ip } });
    const { key: ip, results } = await burstInOneWindow(SIGNIN.limit + 1, SIGNIN.periodMs, (ip) => previewFrom(a.sessionId, a.invite.token, ip), uniqueIp);
    expect(results.map((r) => r.status)).toEqual([...Array(SIGNIN.limit).fill(200), 429]);
    expect(results[SIGNIN.limit].json.error.code).toBe("RATE_LIMITED");
    expect(results[SIGNIN.limit].headers.get("Retry-After")).toBeTruthy();
    // The same network opening another group's link is counted apart.
    const other = await previewFrom(b.sessionId, b.invite.token, ip);
    expect(other.status).toBe(200);
    expect(other.json.agreement.hash).toMatch(/^[0-9a-f]{64}$/);
  }, 30_000);

  it("media tokens per member (counted by the session): 60 a minute, then 429 + Retry-After; another member still gets one", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    let n = 0;
    const newMember = async () => (await joinSession(s.sessionId, s.invite.token, `M${++n}`)).ticket;
    const { results } = await burstInOneWindow(
      61,
      60_000,
      (ticket) => api(`/api/sessions/${s.sessionId}/media-token`, { method: "POST", token: ticket }),
      newMember,
    );
    expect(results.map((r) => r.status)).toEqual([...Array(60).fill(200), 429]);
    expect(results[60].json.error.code).toBe("RATE_LIMITED");
    const retryAfter = Number(results[60].headers.get("Retry-After"));
    expect(retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect(results[60].json.error.details).toEqual({ retryAfterSeconds: retryAfter });
    expect((await api(`/api/sessions/${s.sessionId}/media-token`, { method: "POST", token: await newMember() })).status).toBe(200);
  }, 30_000);
});

describe("WebSocket message budget", () => {
  it("a participant flooding past 30 frames: RATE_LIMITED, closed 1008, nothing past the budget applied", async () => {
    const CAPACITY = 30;
    const REFILL_PER_S = 10;
    const s = await createSession({ settings: { autoAdmit: true } });
    const staff = await Client.connect(s.sessionId, s.ticket, "staff");
    await staff.next((m) => m.type === "snapshot");
    const p = await joinSession(s.sessionId, s.invite.token, "Flo");
    const flood = await Client.connect(s.sessionId, p.ticket, "flood");
    await flood.next((m) => placementIn(m) !== null);
    const from = flood.messages.length;

    // Far more than the budget, so frames are still arriving for a while after the session closed the socket (enough
    // for the bucket to refill a token or two): none of those may be applied either.
    const FRAMES = 400;
    const ids = Array.from({ length: FRAMES }, (_, i) => `flood-${String(i).padStart(3, "0")}-${crypto.randomUUID().slice(0, 6)}`);
    const t0 = Date.now();
    for (const commandId of ids) flood.send({ type: "command", commandId, command: { type: "requestHelp", message: commandId } });
    for (let i = 0; i < 500 && !flood.closed; i++) await sleep(10);
    const t1 = Date.now();
    await sleep(100);

    expect(flood.closed).toEqual({ code: 1008, reason: "message budget exceeded" });
    const replies = flood.messages.slice(from);
    const limited = replies.filter((m) => m.type === "error" && m.error.code === "RATE_LIMITED");
    expect(limited).toHaveLength(1);
    expect(limited[0].commandId).toBeNull();
    const acked = replies.filter((m) => m.type === "ack").map((m) => m.commandId);
    expect(replies.filter((m) => m.type === "error" && m.error.code !== "RATE_LIMITED")).toEqual([]);

    // Exactly the frames that fit the budget were applied: a prefix of what was sent, at least the burst, and no more
    // than the burst plus what the bucket can refill while the flood lasted (token bucket bound).
    const applied = acked.length;
    expect(acked).toEqual(ids.slice(0, applied));
    expect(applied).toBeGreaterThanOrEqual(CAPACITY);
    expect(applied).toBeLessThanOrEqual(CAPACITY + Math.floor((REFILL_PER_S * (t1 - t0)) / 1000));
    expect(applied).toBeLessThan(FRAMES);

    // The staff heard exactly `applied` help requests; D1 recorded exactly those; none of the rest exists anywhere.
    await sleep(50);
    const notices = staff.messages.filter((m) => m.type === "notice" && m.notice.kind === "helpRequested" && m.notice.memberId === p.memberId);
    const heard = notices.map((m) => m.notice.message);
    const beyond = heard.filter((id) => !ids.slice(0, applied).includes(id));
    expect(beyond, "[DO fix needed: session-do.ts webSocketMessage must drop every frame of a socket it closed for flooding]").toEqual([]);
    expect(heard).toEqual(ids.slice(0, applied));
    await flush(s.sessionId);
    const rows = await d1(
      `SELECT COUNT(*) AS n FROM session_analytics_events WHERE session_id = ? AND event = 'help_requested' AND actor = ?`,
      s.sessionId,
      p.memberId,
    );
    expect(rows[0].n).toBe(applied);
    const ctx = (await stubFor(s.sessionId).debugState()).context!;
    expect(ctx.members[p.memberId].helpRequest?.message).toBe(ids[applied - 1]);

    // The member is still a member: a new socket has a fresh budget.
    const again = await Client.connect(s.sessionId, p.ticket, "again");
    expect((await again.next((m) => m.type === "hello")).you.memberId).toBe(p.memberId);
    expect((await again.command({ type: "requestHelp", message: "calm again" })).type).toBe("ack");
    again.close();
    staff.close();
  }, 30_000);

  it("malformed frames count against the budget too (they cannot be used to flood for free)", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const p = await joinSession(s.sessionId, s.invite.token, "Junk");
    const c = await Client.connect(s.sessionId, p.ticket, "junk");
    await c.next((m) => placementIn(m) !== null);
    const from = c.messages.length;
    for (let i = 0; i < 60; i++) c.send(i % 2 ? "{not json" : (new Uint8Array([1, 2, 3]).buffer as unknown as string));
    for (let i = 0; i < 500 && !c.closed; i++) await sleep(10);
    expect(c.closed?.code).toBe(1008);
    const codes = c.messages.slice(from).map((m) => m.error?.code);
    expect(codes.at(-1)).toBe("RATE_LIMITED");
    expect(codes.filter((x) => x === "RATE_LIMITED")).toHaveLength(1);
    expect(new Set(codes.slice(0, -1))).toEqual(new Set(["BAD_JSON", "INVALID_MESSAGE"]));
  }, 30_000);
});
