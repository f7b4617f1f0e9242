/**
 * Security headers on every kind of response the Worker gives (API successes, 4xx, unknown routes, 413, 429, refused
 * WebSocket upgrades, the web app's HTML), and CORS restricted to same-origin + CORS_ORIGINS.
 */
import { createExecutionContext, env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { api, BASE, createSession, joinSession } from "./helpers";
import { must, upgrade } from "./authz-world";

function expectSecurityHeaders(h: Headers, what: string) {
  const csp = h.get("content-security-policy") ?? "";
  expect(csp, `${what}: CSP`).toContain("default-src 'self'");
  expect(csp, `${what}: CSP frame-ancestors`).toContain("frame-ancestors 'none'");
  expect(csp, `${what}: CSP object-src`).toContain("object-src 'none'");
  expect(csp, `${what}: CSP script-src`).toMatch(/script-src 'self'(;|$)/);
  expect(csp, `${what}: CSP base-uri`).toContain("base-uri 'self'");
  const hsts = h.get("strict-transport-security") ?? "";
  expect(Number(/max-age=(\d+)/.exec(hsts)?.[1] ?? 0), `${what}: HSTS max-age ≥ 1 year`).toBeGreaterThanOrEqual(31536000);
  expect(hsts, `${what}: HSTS`).toContain("includeSubDomains");
  expect(h.get("x-frame-options"), `${what}: X-Frame-Options`).toBe("DENY");
  expect(h.get("x-content-type-options"), `${what}: nosniff`).toBe("nosniff");
  expect(h.get("referrer-policy"), `${what}: Referrer-Policy`).toMatch(/^(strict-origin-when-cross-origin|no-referrer|same-origin|strict-origin)$/);
  expect(h.get("permissions-policy"), `${what}: Permissions-Policy`).toContain("camera=(self)");
  expect(h.get("x-request-id"), `${what}: request id`).toBeTruthy();
}

const ip = () => `203.0.113.${(Math.random() * 250) | 0}`;

describe("security headers on every response", () => {
  it("API answers: 200, 201, 400, 401, 403, 404 (unknown route), 405-ish, 413", async () => {
    const s = await createSession();
    const cases: [string, Promise<{ status: number; headers: Headers }>, number][] = [
      ["GET /api/health", api("/api/health"), 200],
      ["GET /api/config", api("/api/config"), 200],
      ["POST /api/sessions/:id/invites", api(`/api/sessions/${s.sessionId}/invites`, { token: s.ticket, body: { role: "participant" } }), 201],
      ["GET /api/sessions/:id (staff)", api(`/api/sessions/${s.sessionId}`, { token: s.ticket }), 200],
      ["400 BAD_JSON", api(`/api/sessions/${s.sessionId}/commands`, { token: s.ticket, body: "{nope" }), 400],
      ["400 INVALID_MESSAGE", api(`/api/sessions/${s.sessionId}/commands`, { token: s.ticket, body: { what: 1 } }), 400],
      ["401", api(`/api/sessions/${s.sessionId}`), 401],
      ["403 foreign origin", api(`/api/sessions/${s.sessionId}/commands`, { token: s.ticket, body: {}, headers: { Origin: "https://evil.example" } }), 403],
      ["404 unknown API route", api("/api/no/such/route"), 404],
      ["404 wrong method", api("/api/health", { method: "DELETE" }), 404],
      ["413", api(`/api/sessions/${s.sessionId}/commands`, { token: s.ticket, body: JSON.stringify({ pad: "x".repeat(20_000) }) }), 413],
    ];
    for (const [what, pending, status] of cases) {
      const r = await pending;
      expect(r.status, what).toBe(status);
      expectSecurityHeaders(r.headers, what);
      if (status >= 400) expect(r.headers.get("content-type"), what).toMatch(/^application\/json/);
    }
  });

  it("429 RATE_LIMITED", async () => {
    const fixed = ip();
    let limited: Response | null = null;
    for (let i = 0; i < 25 && !limited; i++) {
      const r = await SELF.fetch(`${BASE}/api/auth/dev-signin`, {
        method: "POST",
        headers: { "content-type": "application/json", "CF-Connecting-IP": fixed },
        body: JSON.stringify({ name: "Headers", role: "participant" }),
      });
      if (r.status === 429) limited = r;
      else await r.arrayBuffer();
    }
    expect(limited?.status).toBe(429);
    expectSecurityHeaders(limited!.headers, "429");
    expect(limited!.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await limited!.json()) as any).error.code).toBe("RATE_LIMITED");
  });

  it("refused WebSocket upgrades (401, 403, 426) carry the headers too", async () => {
    const s = await createSession();
    const refusals = [
      ["401 no ticket", await upgrade(s.sessionId)],
      ["401 bad ticket", await upgrade(s.sessionId, "x.y.z")],
      ["403 foreign origin", await upgrade(s.sessionId, s.ticket, { Origin: "https://evil.example" })],
    ] as const;
    for (const [what, u] of refusals) {
      expect(u.status, what).toBe(Number(what.slice(0, 3)));
      expectSecurityHeaders(u.headers, what);
    }
    // The upgrade route without an Upgrade header: 426.
    const plain = await api(`/api/sessions/${s.sessionId}/ws?ticket=${encodeURIComponent(s.ticket)}`);
    expect(plain.status).toBe(426);
    expectSecurityHeaders(plain.headers, "426");
    // A refusal decided inside the Durable Object (a removed member) is re-wrapped with the headers as well.
    const p = await joinSession(s.sessionId, s.invite.token, "Gone");
    await must(s.sessionId, { label: "F", memberId: s.memberId, ticket: s.ticket }, { type: "removeMember", memberId: p.memberId });
    const removed = await upgrade(s.sessionId, p.ticket);
    expect(removed.status).toBe(403);
    expectSecurityHeaders(removed.headers, "403 from the Durable Object");
    // A successful upgrade is passed through untouched.
    const ok = await upgrade(s.sessionId, s.ticket);
    expect(ok.status).toBe(101);
    ok.ws!.close();
  });

  it("the web app: whatever the assets layer answers (here: no build → 404) gets the headers", async () => {
    for (const path of ["/", "/join/abc?invite=x", "/assets/app.js"]) {
      const r = await SELF.fetch(`${BASE}${path}`);
      await r.arrayBuffer();
      expectSecurityHeaders(r.headers, `GET ${path} (status ${r.status})`);
    }
  });

  it("the web app's HTML document, as the assets binding serves it, leaves the Worker with the headers", async () => {
    const html = "<!doctype html><html><head><title>MindBloom Video</title></head><body><div id=root></div></body></html>";
    const served: string[] = [];
    const assets = {
      fetch: async (req: Request) => {
        served.push(new URL(req.url).pathname);
        return new Response(html, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" } });
      },
    };
    for (const path of ["/", "/join/abc", "/session/xyz"]) {
      const r = await app.request(`${BASE}${path}`, undefined, { ...(env as object), ASSETS: assets }, createExecutionContext());
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(html);
      expect(r.headers.get("content-type")).toMatch(/^text\/html/);
      expectSecurityHeaders(r.headers, `HTML ${path}`);
    }
    expect(served).toEqual(["/", "/join/abc", "/session/xyz"]);
    // API paths never fall through to the app.
    const api404 = await app.request(`${BASE}/api/nope`, undefined, { ...(env as object), ASSETS: assets }, createExecutionContext());
    expect(api404.status).toBe(404);
    expect(served).toHaveLength(3);
  });
});

describe("CORS: same origin and CORS_ORIGINS only", () => {
  const preflight = (origin: string, path = "/api/sessions/abc/commands") =>
    new Request(`${BASE}${path}`, {
      method: "OPTIONS",
      headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type" },
    });

  it("with the deployed configuration (CORS_ORIGINS empty): same origin allowed, foreign origins get nothing", async () => {
    const same = await SELF.fetch(`${BASE}/api/health`, { headers: { Origin: BASE } });
    expect(same.headers.get("access-control-allow-origin")).toBe(BASE);
    await same.arrayBuffer();
    const foreign = await SELF.fetch(`${BASE}/api/health`, { headers: { Origin: "https://evil.example" } });
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    await foreign.arrayBuffer();
    const pre = await SELF.fetch(preflight("https://evil.example"));
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expectSecurityHeaders(pre.headers, "preflight (refused)");
    await pre.arrayBuffer();
    for (const origin of ["https://evil.example", "null", "https://mindbloom.test.evil.example"]) {
      const post = await SELF.fetch(`${BASE}/api/auth/dev-signin`, {
        method: "POST",
        headers: { Origin: origin, "content-type": "application/json", "CF-Connecting-IP": ip() },
        body: JSON.stringify({ name: "x" }),
      });
      expect({ origin, status: post.status, code: ((await post.json()) as any).error?.code }).toEqual({ origin, status: 403, code: "FORBIDDEN" });
    }
  });

  it("with CORS_ORIGINS set: listed origins are allowed (no credentials), others still refused, '*' is ignored", async () => {
    const corsEnv = { ...(env as object), CORS_ORIGINS: "https://clinic.example, *, not a url, https://portal.example:8443" };
    const run = (req: Request) => app.request(req, undefined, corsEnv, createExecutionContext());
    const pre = await run(preflight("https://clinic.example"));
    expect(pre.status).toBeLessThan(300);
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://clinic.example");
    expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
    expect((pre.headers.get("access-control-allow-headers") ?? "").toLowerCase()).toContain("authorization");
    expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
    const port = await run(preflight("https://portal.example:8443"));
    expect(port.headers.get("access-control-allow-origin")).toBe("https://portal.example:8443");
    const other = await run(preflight("https://other.example"));
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    // A listed origin's POST reaches the route (here: refused for lack of a ticket), with CORS headers.
    const post = await run(
      new Request(`${BASE}/api/sessions/abc/commands`, {
        method: "POST",
        headers: { Origin: "https://clinic.example", "content-type": "application/json" },
        body: "{}",
      }),
    );
    expect(post.status).toBe(401);
    expect(post.headers.get("access-control-allow-origin")).toBe("https://clinic.example");
    expect(post.headers.get("access-control-expose-headers")).toContain("Retry-After");
    const evil = await run(
      new Request(`${BASE}/api/sessions/abc/commands`, {
        method: "POST",
        headers: { Origin: "https://evil.example", "content-type": "application/json" },
        body: "{}",
      }),
    );
    expect(evil.status).toBe(403);
  });
});
