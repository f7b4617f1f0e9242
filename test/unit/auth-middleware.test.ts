/** The security and rate-limit middleware on a small Hono app, driven with app.request() in Node. */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { describe, expect, it, vi, afterEach } from "vitest";
import { rateLimit } from "../../worker/middleware/rate-limit";
import { buildContentSecurityPolicy, isOriginAllowed, jsonBodyLimit, parseAllowedOrigins, securityMiddleware } from "../../worker/middleware/security";

/**
 * Same contract as the Workers rate-limiting binding: `limit({ key })` → `{ success }`, a per-key allowance of `limit`
 * per `periodSeconds`, counted in fixed windows. The clock is injected so the test never waits.
 */
class FakeRateLimit implements RateLimit {
  readonly keys: string[] = [];
  private windows = new Map<string, { start: number; count: number }>();
  constructor(
    private readonly limitPerPeriod: number,
    private readonly periodSeconds: number,
    public now: number = 0,
  ) {}
  async limit({ key }: RateLimitOptions): Promise<RateLimitOutcome> {
    this.keys.push(key);
    const windowStart = Math.floor(this.now / (this.periodSeconds * 1000)) * this.periodSeconds * 1000;
    const w = this.windows.get(key);
    if (!w || w.start !== windowStart) {
      this.windows.set(key, { start: windowStart, count: 1 });
      return { success: 1 <= this.limitPerPeriod };
    }
    w.count++;
    return { success: w.count <= this.limitPerPeriod };
  }
}

type TestEnv = { Bindings: Record<string, unknown>; Variables: { principal?: { userId: string } } };

function makeApp() {
  const app = new Hono<TestEnv>();
  app.use(...securityMiddleware());
  app.get("/api/ok", (c) => c.json({ ok: true }));
  app.post("/api/echo", jsonBodyLimit(1024), async (c) => c.json(await c.req.json()));
  app.get("/api/throws", () => {
    throw new Error("boom");
  });
  app.get("/api/http-exception", () => {
    throw new HTTPException(418, { message: "teapot" });
  });
  app.get("/api/limited", rateLimit({ binding: "RL_SESSIONS", retryAfterSeconds: 30 }), (c) => c.text("ok"));
  app.get(
    "/api/limited-user",
    async (c, next) => {
      c.set("principal", { userId: c.req.header("x-test-user") ?? "nobody" });
      await next();
    },
    rateLimit({ binding: "RL_SESSIONS", scope: "create" }),
    (c) => c.text("ok"),
  );
  return app;
}

const BASE = "https://app.mindbloom.test";
const env = { APP_ENV: "production", CORS_ORIGINS: "https://partner.example.org, https://admin.example.org/" };

function expectSecurityHeaders(res: Response) {
  const csp = res.headers.get("content-security-policy") ?? "";
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).toContain("connect-src 'self' wss://app.mindbloom.test https://*.twilio.com wss://*.twilio.com");
  expect(csp).toContain("media-src 'self' blob:");
  expect(csp).toContain("img-src 'self' data: blob:");
  expect(csp).toContain("worker-src 'self' blob:");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  expect(res.headers.get("strict-transport-security")).toMatch(/^max-age=\d{8}; includeSubDomains$/);
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("referrer-policy")).toBe("strict-origin-when-cross-origin");
  expect(res.headers.get("x-frame-options")).toBe("DENY");
  expect(res.headers.get("permissions-policy")).toContain("camera=(self)");
  expect(res.headers.get("permissions-policy")).toContain("microphone=(self)");
  expect(res.headers.get("x-request-id")).toMatch(/^[\w=-]{1,64}$/);
}

afterEach(() => vi.restoreAllMocks());

describe("security headers", () => {
  it("are on every response: 200, 404, thrown errors (default and HTTPException), 413, preflight, 403, 429 and 503", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "log").mockImplementation(() => {});
    const app = makeApp();
    const rl = new FakeRateLimit(0, 60);
    const responses = [
      await app.request(`${BASE}/api/ok`, {}, env),
      await app.request(`${BASE}/nope`, {}, env),
      await app.request(`${BASE}/api/throws`, {}, env),
      await app.request(`${BASE}/api/http-exception`, {}, env),
      await app.request(`${BASE}/api/echo`, { method: "POST", body: "x".repeat(2048), headers: { "content-type": "application/json" } }, env),
      await app.request(
        `${BASE}/api/ok`,
        { method: "OPTIONS", headers: { origin: "https://partner.example.org", "access-control-request-method": "POST" } },
        env,
      ),
      await app.request(`${BASE}/api/echo`, { method: "POST", body: "{}", headers: { origin: "https://evil.example" } }, env),
      await app.request(`${BASE}/api/limited`, {}, { ...env, RL_SESSIONS: rl }),
      await app.request(`${BASE}/api/limited`, {}, env),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 404, 500, 418, 413, 204, 403, 429, 503]);
    for (const res of responses) expectSecurityHeaders(res);
  });

  it("use ws: for the socket over plain http (local development) and keep a well-formed incoming request id", async () => {
    const res = await makeApp().request("http://localhost:5173/api/ok", { headers: { "x-request-id": "abc-123" } }, env);
    expect(res.headers.get("content-security-policy")).toContain("connect-src 'self' ws://localhost:5173 https://*.twilio.com");
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    const bad = await makeApp().request(`${BASE}/api/ok`, { headers: { "x-request-id": "<script>alert(1)</script>" } }, env);
    expect(bad.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("are added to a refused WebSocket upgrade, which is an ordinary HTTP response", async () => {
    const app = new Hono();
    app.use(...securityMiddleware());
    app.get("/ws", (c) => c.text("upgrade handled elsewhere", 426));
    const res = await app.request(`${BASE}/ws`, { headers: { upgrade: "websocket" } }, env);
    expect(res.status).toBe(426);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
  });

  it("buildContentSecurityPolicy gives the static-asset header value", () => {
    expect(buildContentSecurityPolicy()).toContain("connect-src 'self' wss: https://*.twilio.com wss://*.twilio.com");
  });
});

describe("CORS allow-list", () => {
  const app = makeApp();

  it("allows listed origins (with and without trailing slash in the list) and same-origin", async () => {
    for (const origin of ["https://partner.example.org", "https://admin.example.org", BASE]) {
      const res = await app.request(`${BASE}/api/ok`, { headers: { origin } }, env);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("vary")).toContain("Origin");
    }
  });

  it("answers preflights for listed origins only", async () => {
    const init = (origin: string) => ({
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    const ok = await app.request(`${BASE}/api/echo`, init("https://partner.example.org"), env);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://partner.example.org");
    expect(ok.headers.get("access-control-allow-headers")).toContain("Authorization");
    const no = await app.request(`${BASE}/api/echo`, init("https://evil.example"), env);
    expect(no.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("gives no CORS grant to unlisted origins and refuses their state-changing requests", async () => {
    const get = await app.request(`${BASE}/api/ok`, { headers: { origin: "https://evil.example" } }, env);
    expect(get.status).toBe(200);
    expect(get.headers.get("access-control-allow-origin")).toBeNull();
    const post = await app.request(`${BASE}/api/echo`, { method: "POST", body: "{}", headers: { origin: "https://partner.example.org.evil.example" } }, env);
    expect(post.status).toBe(403);
    expect(await post.json()).toEqual({ error: { code: "FORBIDDEN", message: expect.any(String) } });
    const nullOrigin = await app.request(`${BASE}/api/echo`, { method: "POST", body: "{}", headers: { origin: "null" } }, env);
    expect(nullOrigin.status).toBe(403);
  });

  it("with CORS_ORIGINS empty, only same-origin is allowed", async () => {
    const res = await app.request(`${BASE}/api/ok`, { headers: { origin: "https://partner.example.org" } }, { CORS_ORIGINS: "" });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(isOriginAllowed(BASE, `${BASE}/x`, "")).toBe(true);
    expect(isOriginAllowed(undefined, `${BASE}/x`, "")).toBe(true);
    expect([...parseAllowedOrigins(" https://a.example , *, null, not a url, ftp://x.example, http://b.example:8080/path")]).toEqual([
      "https://a.example",
      "http://b.example:8080",
    ]);
  });
});

describe("body limit", () => {
  const app = makeApp();
  const body = (n: number) => JSON.stringify({ t: "x".repeat(n - 8) });

  it("passes bodies within the limit", async () => {
    const res = await app.request(`${BASE}/api/echo`, { method: "POST", body: body(1024), headers: { "content-type": "application/json" } }, env);
    expect(res.status).toBe(200);
  });

  it("answers 413 with the typed error, with Content-Length and for streamed bodies", async () => {
    const sized = await app.request(`${BASE}/api/echo`, { method: "POST", body: body(1025), headers: { "content-type": "application/json" } }, env);
    expect(sized.status).toBe(413);
    expect(await sized.json()).toEqual({ error: { code: "MESSAGE_TOO_LARGE", message: expect.stringContaining("1024"), details: { maxBytes: 1024 } } });

    const chunks = [new TextEncoder().encode('{"t":"'), new TextEncoder().encode("y".repeat(2000)), new TextEncoder().encode('"}')];
    const stream = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const streamed = await app.request(
      new Request(`${BASE}/api/echo`, { method: "POST", body: stream, headers: { "content-type": "application/json" }, duplex: "half" } as RequestInit),
      undefined,
      env,
    );
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe("MESSAGE_TOO_LARGE");
  });
});

describe("rate limit middleware", () => {
  it("trips after the limit with a typed 429 and Retry-After, and recovers in the next period", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const app = makeApp();
    const rl = new FakeRateLimit(3, 60, 0);
    const e = { ...env, RL_SESSIONS: rl };
    const hit = () => app.request(`${BASE}/api/limited`, { headers: { "CF-Connecting-IP": "203.0.113.7" } }, e);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await hit()).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await hit();
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("30");
    expect(await limited.json()).toEqual({ error: { code: "RATE_LIMITED", message: expect.any(String), details: { retryAfterSeconds: 30 } } });
    // another client is unaffected
    expect((await app.request(`${BASE}/api/limited`, { headers: { "CF-Connecting-IP": "198.51.100.1" } }, e)).status).toBe(200);
    // next period
    rl.now += 60_000;
    expect((await hit()).status).toBe(200);
    expect(rl.keys[0]).toBe("ip:203.0.113.7");
  });

  it("keys by user id when a principal is known, with the scope", async () => {
    const app = makeApp();
    const rl = new FakeRateLimit(1, 60);
    const e = { ...env, RL_SESSIONS: rl };
    const as = (user: string) => app.request(`${BASE}/api/limited-user`, { headers: { "x-test-user": user, "CF-Connecting-IP": "203.0.113.7" } }, e);
    vi.spyOn(console, "log").mockImplementation(() => {});
    expect((await as("alice")).status).toBe(200);
    expect((await as("alice")).status).toBe(429);
    expect((await as("bob")).status).toBe(200); // same IP, different user
    expect(rl.keys).toEqual(["create:user:alice", "create:user:alice", "create:user:bob"]);
  });

  it("without the binding: passes in development, fails closed (503, typed) anywhere else", async () => {
    const app = makeApp();
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    expect((await app.request(`${BASE}/api/limited`, {}, { APP_ENV: "development" })).status).toBe(200);
    for (const e of [{ APP_ENV: "production" }, {}, { APP_ENV: "staging" }]) {
      const res = await app.request(`${BASE}/api/limited`, {}, e);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: { code: "INTERNAL", message: expect.any(String) } });
    }
    expect(log.mock.calls.some(([line]) => String(line).includes("rate limit binding missing"))).toBe(true);
  });

  it("when the binding throws: fails closed in production, passes in development", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const app = makeApp();
    const broken = { limit: async () => Promise.reject(new Error("limiter down")) };
    expect((await app.request(`${BASE}/api/limited`, {}, { APP_ENV: "production", RL_SESSIONS: broken })).status).toBe(503);
    expect((await app.request(`${BASE}/api/limited`, {}, { APP_ENV: "development", RL_SESSIONS: broken })).status).toBe(200);
  });
});
