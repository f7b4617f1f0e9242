import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refusal } from "./helpers/auth";
import { AuthError, clearUserTokenCaches, readBearer, readClaim, toAppRole, verifyUserToken, type UserTokenEnv } from "../../worker/auth/user-tokens";

/** A fixed instant: every token below is issued relative to it and verified with `now`, never the wall clock. */
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const NOW_S = Math.floor(NOW / 1000);
const SUPABASE_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
const SUPABASE_ISS = "https://abcdefghijklmnopqrst.supabase.co/auth/v1";
const USER_ID = "8d0b5a2e-8c1f-4c1e-9f55-3f6a0d3c2b11";

/** Claims as Supabase Auth (GoTrue) issues them for a signed-in user. */
function supabaseClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    aud: "authenticated",
    exp: NOW_S + 3600,
    iat: NOW_S - 60,
    iss: SUPABASE_ISS,
    sub: USER_ID,
    email: "ada@example.org",
    phone: "",
    app_metadata: { provider: "email", providers: ["email"], role: "facilitator" },
    user_metadata: { email: "ada@example.org", email_verified: true, full_name: "Dr. Ada Lovelace", phone_verified: false, sub: USER_ID },
    role: "authenticated",
    aal: "aal1",
    amr: [{ method: "password", timestamp: NOW_S - 60 }],
    session_id: "0b7d1d3e-1b0e-4b8e-a7c1-2f6f1c8d9e00",
    is_anonymous: false,
    ...overrides,
  };
}

async function hs256(claims: JWTPayload, secret = SUPABASE_SECRET, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT", ...header }).sign(new TextEncoder().encode(secret));
}

// Production (no APP_ENV) needs the issuer configured; the "issuer" tests below show what happens without it.
const supabaseEnv: UserTokenEnv = { AUTH_JWT_SECRET: SUPABASE_SECRET, AUTH_ISSUER: SUPABASE_ISS };

describe("IdP tokens with a shared HS256 secret (Supabase)", () => {
  it("accepts Supabase's default claims with the JWT secret and the project's issuer configured", async () => {
    const p = await verifyUserToken(supabaseEnv, await hs256(supabaseClaims()), { now: NOW });
    expect(p).toEqual({ userId: USER_ID, name: "Dr. Ada Lovelace", appRole: "facilitator", source: "idp", email: "ada@example.org" });
  });

  it("accepts them with the project's issuer and audience configured explicitly", async () => {
    const env = { ...supabaseEnv, AUTH_ISSUER: SUPABASE_ISS, AUTH_AUDIENCE: "authenticated", AUTH_ROLE_CLAIM: "app_metadata.role" };
    const p = await verifyUserToken(env, await hs256(supabaseClaims()), { now: NOW });
    expect(p.appRole).toBe("facilitator");
  });

  it("maps a missing or unknown app role to participant, ignoring Supabase's top-level role", async () => {
    const noRole = await hs256(supabaseClaims({ app_metadata: { provider: "email" } }));
    expect((await verifyUserToken(supabaseEnv, noRole, { now: NOW })).appRole).toBe("participant");
    const unknown = await hs256(supabaseClaims({ app_metadata: { role: "admin" } }));
    expect((await verifyUserToken(supabaseEnv, unknown, { now: NOW })).appRole).toBe("participant");
    // With AUTH_ROLE_CLAIM pointing at the top-level claim, "authenticated" is not an app role either.
    const top = await verifyUserToken({ ...supabaseEnv, AUTH_ROLE_CLAIM: "role" }, await hs256(supabaseClaims()), { now: NOW });
    expect(top.appRole).toBe("participant");
  });

  it("reads other role claim paths, including namespaced top-level claims and lists", async () => {
    const ns = await hs256(supabaseClaims({ "https://mindbloom.app/role": "Co-Facilitator" }));
    const p1 = await verifyUserToken({ ...supabaseEnv, AUTH_ROLE_CLAIM: "https://mindbloom.app/role" }, ns, { now: NOW });
    expect(p1.appRole).toBe("cofacilitator");
    const list = await hs256(supabaseClaims({ app_metadata: { roles: ["participant", "operator", "facilitator"] } }));
    const p2 = await verifyUserToken({ ...supabaseEnv, AUTH_ROLE_CLAIM: "app_metadata.roles" }, list, { now: NOW });
    expect(p2.appRole).toBe("operator");
  });

  it("derives the display name from user_metadata and never from the email", async () => {
    const named = await hs256(supabaseClaims({ user_metadata: { name: "  Grace\u0000 Hopper  " } }));
    expect((await verifyUserToken(supabaseEnv, named, { now: NOW })).name).toBe("Grace Hopper");
    const anonymous = await hs256(supabaseClaims({ user_metadata: {} }));
    expect((await verifyUserToken(supabaseEnv, anonymous, { now: NOW })).name).toBe("Guest");
    const long = await hs256(supabaseClaims({ user_metadata: { full_name: "x".repeat(200) } }));
    expect((await verifyUserToken(supabaseEnv, long, { now: NOW })).name).toHaveLength(80);
  });

  it("refuses a wrong issuer", async () => {
    const env = { ...supabaseEnv, AUTH_ISSUER: SUPABASE_ISS };
    const e = await refusal(verifyUserToken(env, await hs256(supabaseClaims({ iss: "https://evil.supabase.co/auth/v1" })), { now: NOW }));
    expect([e.code, e.status, e.reason]).toEqual(["UNAUTHENTICATED", 401, "issuer"]);
  });

  it("refuses a wrong audience, including the default one", async () => {
    const e1 = await refusal(verifyUserToken(supabaseEnv, await hs256(supabaseClaims({ aud: "anon" })), { now: NOW }));
    expect([e1.code, e1.reason]).toEqual(["UNAUTHENTICATED", "audience"]);
    const env = { ...supabaseEnv, AUTH_AUDIENCE: "mindbloom-api" };
    const e2 = await refusal(verifyUserToken(env, await hs256(supabaseClaims()), { now: NOW }));
    expect([e2.code, e2.reason]).toEqual(["UNAUTHENTICATED", "audience"]);
    // several audiences may be configured
    const env3 = { ...supabaseEnv, AUTH_AUDIENCE: "mindbloom-api, authenticated" };
    expect((await verifyUserToken(env3, await hs256(supabaseClaims()), { now: NOW })).userId).toBe(USER_ID);
  });

  it("refuses a bad signature", async () => {
    const e = await refusal(verifyUserToken(supabaseEnv, await hs256(supabaseClaims(), "another-secret-of-at-least-thirty-two-chars"), { now: NOW }));
    expect([e.code, e.reason]).toEqual(["UNAUTHENTICATED", "signature"]);
    // tampering with the payload of a genuine token
    const [h, , s] = (await hs256(supabaseClaims())).split(".");
    const forged = Buffer.from(JSON.stringify(supabaseClaims({ app_metadata: { role: "operator" } }))).toString("base64url");
    const e2 = await refusal(verifyUserToken(supabaseEnv, `${h}.${forged}.${s}`, { now: NOW }));
    expect([e2.code, e2.reason]).toEqual(["UNAUTHENTICATED", "signature"]);
  });

  it("refuses an expired token with CREDENTIAL_EXPIRED, within a small clock tolerance", async () => {
    const token = await hs256(supabaseClaims({ exp: NOW_S + 100 }));
    expect((await verifyUserToken(supabaseEnv, token, { now: (NOW_S + 110) * 1000 })).userId).toBe(USER_ID); // 10 s skew ok
    const e = await refusal(verifyUserToken(supabaseEnv, token, { now: (NOW_S + 200) * 1000 }));
    expect([e.code, e.status]).toEqual(["CREDENTIAL_EXPIRED", 401]);
  });

  it("refuses tokens without subject or expiry, Supabase's anon key, unsecured and malformed tokens", async () => {
    const noSub = supabaseClaims();
    delete noSub.sub;
    expect((await refusal(verifyUserToken(supabaseEnv, await hs256(noSub), { now: NOW }))).code).toBe("UNAUTHENTICATED");
    const noExp = supabaseClaims();
    delete noExp.exp;
    expect((await refusal(verifyUserToken(supabaseEnv, await hs256(noExp), { now: NOW }))).code).toBe("UNAUTHENTICATED");
    // The public anon key is signed with the same secret: no sub, no aud.
    const anonKey = await hs256({ iss: "supabase", ref: "abcdefghijklmnopqrst", role: "anon", iat: NOW_S - 10, exp: NOW_S + 10 ** 8 });
    expect((await refusal(verifyUserToken(supabaseEnv, anonKey, { now: NOW }))).code).toBe("UNAUTHENTICATED");
    const unsecured = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify(supabaseClaims())).toString("base64url")}.`;
    expect((await refusal(verifyUserToken(supabaseEnv, unsecured, { now: NOW }))).reason).toBe("malformed");
    expect((await refusal(verifyUserToken(supabaseEnv, "not-a-jwt", { now: NOW }))).reason).toBe("malformed");
    expect((await refusal(verifyUserToken(supabaseEnv, "", { now: NOW }))).reason).toBe("missing");
    expect((await refusal(verifyUserToken(supabaseEnv, `a.${"b".repeat(9000)}.c`, { now: NOW }))).reason).toBe("malformed");
  });

  it("refuses HS384/HS512 tokens (HS256 only)", async () => {
    const t = await new SignJWT(supabaseClaims()).setProtectedHeader({ alg: "HS512" }).sign(new TextEncoder().encode(SUPABASE_SECRET.repeat(2)));
    expect((await refusal(verifyUserToken(supabaseEnv, t, { now: NOW }))).code).toBe("UNAUTHENTICATED");
  });

  it("with no identity provider configured, a bearer token is a 401 for the caller, not a server error", async () => {
    const e1 = await refusal(verifyUserToken({}, await hs256(supabaseClaims()), { now: NOW }));
    expect([e1.code, e1.status, e1.reason]).toEqual(["UNAUTHENTICATED", 401, "no-idp"]);
    expect(e1.message).toMatch(/no identity provider is configured/);
  });

  it("fails with a configuration error when the IdP secret equals the app secret", async () => {
    const token = await hs256(supabaseClaims());
    const e2 = await refusal(verifyUserToken({ ...supabaseEnv, APP_SIGNING_SECRET: SUPABASE_SECRET }, token, { now: NOW }));
    expect([e2.code, e2.status]).toEqual(["INTERNAL", 500]);
  });

  it("in production, refuses every token while AUTH_ISSUER is unset (any issuer would do); in development it is optional", async () => {
    const foreign = await hs256(supabaseClaims({ iss: "https://evil.example/auth/v1" }));
    const own = await hs256(supabaseClaims());
    for (const env of [{ AUTH_JWT_SECRET: SUPABASE_SECRET }, { AUTH_JWT_SECRET: SUPABASE_SECRET, APP_ENV: "production" }]) {
      for (const token of [foreign, own]) {
        const e = await refusal(verifyUserToken(env, token, { now: NOW }));
        expect([e.code, e.status, e.reason]).toEqual(["INTERNAL", 500, "config"]);
        expect(e.message).toMatch(/AUTH_ISSUER must be set/);
      }
    }
    // Configured, only the configured issuer passes.
    expect((await refusal(verifyUserToken(supabaseEnv, foreign, { now: NOW }))).reason).toBe("issuer");
    expect((await verifyUserToken(supabaseEnv, own, { now: NOW })).userId).toBe(USER_ID);
    // Development without an issuer: accepted (a local IdP), as before.
    expect((await verifyUserToken({ AUTH_JWT_SECRET: SUPABASE_SECRET, APP_ENV: "development" }, foreign, { now: NOW })).userId).toBe(USER_ID);
  });
});

describe("IdP tokens verified against a JWKS URL", () => {
  let server: Server;
  let baseUrl: string;
  const hits: Record<string, number> = {};
  const keys: Record<string, { privateKey: CryptoKey; jwk: Record<string, unknown> }> = {};

  beforeAll(async () => {
    for (const [kid, alg] of [
      ["es-1", "ES256"],
      ["rs-1", "RS256"],
      ["es-unpublished", "ES256"],
    ] as const) {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      keys[kid] = { privateKey: privateKey as CryptoKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
    }
    server = createServer((req, res) => {
      const path = req.url ?? "/";
      hits[path] = (hits[path] ?? 0) + 1;
      if (path === "/auth/v1/.well-known/jwks.json") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ keys: [keys["es-1"].jwk, keys["rs-1"].jwk] }));
      } else if (path === "/broken/jwks.json") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"not":"a jwks"}');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    clearUserTokenCaches();
  });
  afterAll(async () => {
    clearUserTokenCaches();
    await new Promise((resolve) => server.close(resolve));
  });

  const jwksEnv = (): UserTokenEnv => ({ AUTH_JWKS_URL: `${baseUrl}/auth/v1/.well-known/jwks.json`, AUTH_ISSUER: SUPABASE_ISS });

  async function signWith(kid: string, alg: string, claims: JWTPayload = supabaseClaims()): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg, kid, typ: "JWT" }).sign(keys[kid].privateKey);
  }

  it("verifies ES256 and RS256 tokens and fetches the key set once (cached per URL)", async () => {
    const before = hits["/auth/v1/.well-known/jwks.json"] ?? 0;
    const p1 = await verifyUserToken(jwksEnv(), await signWith("es-1", "ES256"), { now: NOW });
    expect(p1).toMatchObject({ userId: USER_ID, appRole: "facilitator", source: "idp" });
    const p2 = await verifyUserToken(jwksEnv(), await signWith("rs-1", "RS256"), { now: NOW });
    expect(p2.userId).toBe(USER_ID);
    await verifyUserToken(jwksEnv(), await signWith("es-1", "ES256"), { now: NOW });
    expect((hits["/auth/v1/.well-known/jwks.json"] ?? 0) - before).toBe(1);
  });

  it("refuses a key the JWKS does not publish, a wrong issuer and an expired token", async () => {
    const e1 = await refusal(verifyUserToken(jwksEnv(), await signWith("es-unpublished", "ES256"), { now: NOW }));
    expect([e1.code, e1.reason]).toEqual(["UNAUTHENTICATED", "key"]);
    const e2 = await refusal(verifyUserToken(jwksEnv(), await signWith("es-1", "ES256", supabaseClaims({ iss: "https://other/auth/v1" })), { now: NOW }));
    expect([e2.code, e2.reason]).toEqual(["UNAUTHENTICATED", "issuer"]);
    const e3 = await refusal(verifyUserToken(jwksEnv(), await signWith("es-1", "ES256"), { now: (NOW_S + 7200) * 1000 }));
    expect(e3.code).toBe("CREDENTIAL_EXPIRED");
  });

  it("refuses HS256 tokens when only a JWKS is configured (no algorithm confusion)", async () => {
    const e = await refusal(verifyUserToken(jwksEnv(), await hs256(supabaseClaims()), { now: NOW }));
    expect([e.code, e.reason]).toEqual(["UNAUTHENTICATED", "algorithm"]);
  });

  it("with both a JWKS and a secret (Supabase key migration), picks the key source by alg", async () => {
    const env = { ...jwksEnv(), AUTH_JWT_SECRET: SUPABASE_SECRET };
    expect((await verifyUserToken(env, await hs256(supabaseClaims()), { now: NOW })).source).toBe("idp");
    expect((await verifyUserToken(env, await signWith("es-1", "ES256"), { now: NOW })).source).toBe("idp");
  });

  it("answers 503 when the key set cannot be fetched or is invalid, and refuses plain http to non-loopback hosts", async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, "127.0.0.1", resolve));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((resolve) => dead.close(resolve));
    const iss = { AUTH_ISSUER: SUPABASE_ISS };
    const e1 = await refusal(verifyUserToken({ ...iss, AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks.json` }, await signWith("es-1", "ES256"), { now: NOW }));
    expect([e1.code, e1.status]).toEqual(["INTERNAL", 503]);
    const e2 = await refusal(verifyUserToken({ ...iss, AUTH_JWKS_URL: `${baseUrl}/broken/jwks.json` }, await signWith("es-1", "ES256"), { now: NOW }));
    expect([e2.code, e2.status]).toEqual(["INTERNAL", 503]);
    const e3 = await refusal(verifyUserToken({ ...iss, AUTH_JWKS_URL: "http://idp.example.com/jwks.json" }, await signWith("es-1", "ES256"), { now: NOW }));
    expect([e3.code, e3.status, e3.reason]).toEqual(["INTERNAL", 500, "config"]);
    expect(e3.message).toMatch(/https/);
  });
});

describe("helpers", () => {
  it("readBearer, readClaim and toAppRole", () => {
    expect(readBearer("Bearer abc.def.ghi")).toBe("abc.def.ghi");
    expect(readBearer("bearer   abc")).toBe("abc");
    expect(readBearer("Basic abc")).toBeNull();
    expect(readBearer(undefined)).toBeNull();
    expect(readClaim({ a: { b: { c: 1 } } }, "a.b.c")).toBe(1);
    expect(readClaim({ a: { b: 1 } }, "a.b.c")).toBeUndefined();
    expect(readClaim({ a: [1] }, "a.0")).toBeUndefined();
    expect(toAppRole("FACILITATOR")).toBe("facilitator");
    expect(toAppRole("co_facilitator")).toBe("cofacilitator");
    expect(toAppRole(42)).toBe("participant");
    expect(toAppRole(["nope"])).toBe("participant");
  });

  it("AuthError serialises to the typed error body without the cause", () => {
    const e = new AuthError("WRONG_SESSION", "nope", { reason: "session", cause: new Error("secret detail") });
    expect(e.status).toBe(403);
    expect(JSON.parse(JSON.stringify(e))).toEqual({ error: { code: "WRONG_SESSION", message: "nope" } });
  });
});
