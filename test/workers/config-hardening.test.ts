/**
 * Hardening of the Worker's configuration and credentials (issue 12, finding 8), over HTTP with the environment of a
 * production deployment:
 * - an identity provider without AUTH_ISSUER: sign-in tokens of any issuer refused, /api/health 503 naming it, logged;
 * - no identity provider at all: a bearer token is the caller's 401, not a 500;
 * - the signing secret .dev.vars.example used to ship: refused, and named by /api/health;
 * - a validly signed ticket with a 10-year lifetime: refused.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../../worker/app";
import { api, createSession } from "./helpers";

const IDP_SECRET = "idp-shared-secret-for-the-hardening-test-0123456789";
const ISSUER = "https://idp.mindbloom.test/auth/v1";
const production = { ...(env as object), APP_ENV: "production", DEV_SIGNIN: "off" };

afterEach(() => vi.restoreAllMocks());

async function call(path: string, bindings: object, init: { method?: string; token?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = { "CF-Connecting-IP": `10.7.${(Math.random() * 255) | 0}.${(Math.random() * 255) | 0}` };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await app.request(
    `https://mindbloom.test${path}`,
    { method: init.method ?? (init.body === undefined ? "GET" : "POST"), headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) },
    bindings,
    createExecutionContext(),
  );
  return { status: res.status, json: (await res.json()) as any };
}

/** A facilitator's token as a Supabase-style IdP signs it (HS256 shared secret). */
const idpToken = (iss: string) =>
  new SignJWT({ app_metadata: { role: "facilitator" }, user_metadata: { full_name: "Dr. Ada" } })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(iss)
    .setAudience("authenticated")
    .setSubject(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(IDP_SECRET));

const createBody = { title: "Group", mediaProvider: "local" };

describe("an identity provider without AUTH_ISSUER, in production", () => {
  const noIssuer = { ...production, AUTH_JWT_SECRET: IDP_SECRET };

  it("refuses every sign-in token with a clear configuration error, says so on /api/health (503) and in the log, once", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(String(args[0])));
    for (const iss of ["https://evil.example/auth/v1", ISSUER]) {
      const r = await call("/api/sessions", noIssuer, { token: await idpToken(iss), body: createBody });
      expect({ status: r.status, code: r.json.error.code }).toEqual({ status: 500, code: "INTERNAL" });
      expect(r.json.error.message).toMatch(/AUTH_ISSUER must be set/);
    }
    const health = await call("/api/health", noIssuer);
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({ ok: false, d1: "ok", config: { ok: false, problems: [expect.stringMatching(/^AUTH_ISSUER must be set/)] } });
    const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "configuration problem");
    expect(logged).toEqual([expect.objectContaining({ level: "error", problem: expect.stringMatching(/^AUTH_ISSUER must be set/) })]);
  });

  it("with AUTH_ISSUER set: only that issuer's tokens sign in, and /api/health is fine", async () => {
    const withIssuer = { ...noIssuer, AUTH_ISSUER: ISSUER };
    const foreign = await call("/api/sessions", withIssuer, { token: await idpToken("https://evil.example/auth/v1"), body: createBody });
    expect({ status: foreign.status, code: foreign.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    const own = await call("/api/sessions", withIssuer, { token: await idpToken(ISSUER), body: createBody });
    expect(own.status).toBe(201);
    const health = await call("/api/health", withIssuer);
    expect({ status: health.status, ok: health.json.ok, config: health.json.config }).toEqual({ status: 200, ok: true, config: { ok: true } });
  });
});

describe("no identity provider, in production", () => {
  it("a bearer token is answered 401 UNAUTHENTICATED with the reason, not 500", async () => {
    const r = await call("/api/sessions", production, { token: await idpToken(ISSUER), body: createBody });
    expect({ status: r.status, code: r.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    expect(r.json.error.message).toMatch(/no identity provider is configured/);
    const monitoring = await call("/api/monitoring/overview", production, { token: await idpToken(ISSUER) });
    expect({ status: monitoring.status, code: monitoring.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
  });
});

describe("the published example signing secret", () => {
  it("is refused (no ticket, invite or sign-in is issued with it) and named by /api/health", async () => {
    const example = { ...(env as object), APP_SIGNING_SECRET: "local-development-signing-secret-change-me-0123456789" };
    const signin = await call("/api/auth/dev-signin", example, { body: { name: "Dev", role: "facilitator" } });
    expect({ status: signin.status, code: signin.json.error.code }).toEqual({ status: 500, code: "INTERNAL" });
    expect(signin.json.error.message).toMatch(/published example value/);
    const health = await call("/api/health", example);
    expect(health.status).toBe(503);
    expect(health.json.config.problems).toEqual([expect.stringMatching(/^APP_SIGNING_SECRET is the published example value/)]);
  });
});

describe("token lifetimes over HTTP", () => {
  it("a ticket signed with the real key but valid for 10 years is refused at every door", async () => {
    const s = await createSession();
    const secret = (env as unknown as { APP_SIGNING_SECRET: string }).APP_SIGNING_SECRET;
    const enc = new TextEncoder();
    const base = await crypto.subtle.importKey("raw", enc.encode(secret), "HKDF", false, ["deriveKey"]);
    const key = await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: enc.encode("mindbloom-video/app-tokens/v1"), info: enc.encode("hs256:ticket") },
      base,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign"],
    );
    const now = Math.floor(Date.now() / 1000);
    const sign = (exp: number) =>
      new SignJWT({ typ: "ticket", sid: s.sessionId, role: "facilitator", name: "Therapist" })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setIssuer("mindbloom-video")
        .setAudience("mindbloom-video:ticket")
        .setSubject(s.memberId)
        .setIssuedAt(now)
        .setExpirationTime(exp)
        .sign(key);
    // The same forging with a normal lifetime works: only the lifetime is refused.
    expect((await api(`/api/sessions/${s.sessionId}`, { token: await sign(now + 3600) })).status).toBe(200);
    const decade = await sign(now + 10 * 365 * 24 * 3600);
    const r = await api(`/api/sessions/${s.sessionId}`, { token: decade });
    expect({ status: r.status, code: r.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    const ws = await api(`/api/sessions/${s.sessionId}/ws?ticket=${decade}`, { headers: { Upgrade: "websocket" } });
    expect({ status: ws.status, code: ws.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
  });
});
