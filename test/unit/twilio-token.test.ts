/** Access tokens: our jose signer against twilio's own AccessToken (the oracle), decoded JSON compared, not bytes. */
import fc from "fast-check";
import { decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import twilio from "twilio";
import { describe, expect, it } from "vitest";
import { DEFAULT_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS, TwilioTokenError, TwilioTokenSigner, signVideoToken } from "../../lib/twilio/token";

const ACCOUNT_SID = "AC" + "a1".repeat(16);
const API_KEY_SID = "SK" + "b2".repeat(16);
const API_KEY_SECRET = "api-key-secret-0123456789abcdef";
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0, 789);

const { AccessToken } = twilio.jwt;

function oracleToken(identity: string, room: string | undefined, ttl: number): string {
  const token = new AccessToken(ACCOUNT_SID, API_KEY_SID, API_KEY_SECRET, { identity, ttl });
  token.addGrant(new AccessToken.VideoGrant(room === undefined ? {} : { room }));
  return token.toJwt();
}

/**
 * Claims with the clock-dependent values replaced by their relation to iat. The jti suffix is matched loosely:
 * AccessToken reads the clock for jti and jsonwebtoken again for iat, so the oracle's two can straddle a second.
 */
function normalised(jwt: string) {
  const claims = decodeJwt(jwt) as Record<string, unknown> & { iat: number; exp: number; jti: string };
  return {
    header: decodeProtectedHeader(jwt),
    claims: { ...claims, iat: "iat", exp: claims.exp - claims.iat, jti: claims.jti.replace(/-\d+$/, "-<time>") },
  };
}

const signer = new TwilioTokenSigner({ accountSid: ACCOUNT_SID, apiKeySid: API_KEY_SID, apiKeySecret: API_KEY_SECRET });

describe("TwilioTokenSigner against twilio.jwt.AccessToken", () => {
  it("produces the same header and claims for a room grant", async () => {
    const ours = await signer.sign({ identity: "alice@example.com", room: "session-1:main" });
    expect(normalised(ours.token)).toEqual(normalised(oracleToken("alice@example.com", "session-1:main", 3600)));
  });

  it("produces the same header and claims without a room (video: {})", async () => {
    const ours = await signer.sign({ identity: "bob" });
    const expected = normalised(oracleToken("bob", undefined, 3600));
    expect(normalised(ours.token)).toEqual(expected);
    expect(decodeJwt(ours.token).grants).toEqual({ identity: "bob", video: {} });
  });

  it("matches the oracle for arbitrary identities, rooms and TTLs", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" }),
        fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: undefined }),
        fc.integer({ min: 1, max: MAX_TOKEN_TTL_SECONDS }),
        async (identity, room, ttl) => {
          const ours = await signer.sign({ identity, room, ttlSeconds: ttl });
          expect(normalised(ours.token)).toEqual(normalised(oracleToken(identity, room, ttl)));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("has exactly the header Twilio expects", async () => {
    const { token } = await signer.sign({ identity: "carol", room: "r" });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT", cty: "twilio-fpa;v=1" });
  });

  it("adds twr only when a region is configured, as AccessToken does", async () => {
    const regional = new TwilioTokenSigner({
      accountSid: ACCOUNT_SID,
      apiKeySid: API_KEY_SID,
      apiKeySecret: API_KEY_SECRET,
      region: "ie1",
    });
    const oracle = new AccessToken(ACCOUNT_SID, API_KEY_SID, API_KEY_SECRET, { identity: "d", region: "ie1" });
    oracle.addGrant(new AccessToken.VideoGrant({ room: "r" }));
    const ours = await regional.sign({ identity: "d", room: "r" });
    expect(normalised(ours.token)).toEqual(normalised(oracle.toJwt()));
    expect(decodeProtectedHeader(ours.token).twr).toBe("ie1");
  });
});

describe("TwilioTokenSigner claims and verification", () => {
  it("derives iat/exp/jti from the injected clock and reports expiry in epoch ms", async () => {
    const result = await signer.sign({ identity: "alice", room: "room-a", now: NOW });
    const iat = Math.floor(NOW / 1000);
    expect(decodeJwt(result.token)).toEqual({
      jti: `${API_KEY_SID}-${iat}`,
      grants: { identity: "alice", video: { room: "room-a" } },
      iat,
      exp: iat + DEFAULT_TOKEN_TTL_SECONDS,
      iss: API_KEY_SID,
      sub: ACCOUNT_SID,
    });
    expect(result.issuedAt).toBe(iat * 1000);
    expect(result.expiresAt).toBe((iat + DEFAULT_TOKEN_TTL_SECONDS) * 1000);
    expect(result).toMatchObject({ identity: "alice", room: "room-a" });
  });

  it("verifies with the API key secret and not with another secret", async () => {
    const { token } = await signer.sign({ identity: "alice", room: "room-a" });
    const good = await jwtVerify(token, new TextEncoder().encode(API_KEY_SECRET), {
      algorithms: ["HS256"],
      issuer: API_KEY_SID,
      subject: ACCOUNT_SID,
    });
    expect(good.payload.grants).toEqual({ identity: "alice", video: { room: "room-a" } });
    await expect(jwtVerify(token, new TextEncoder().encode("another-secret"))).rejects.toThrow();
  });

  it("oracle tokens and ours verify with the same key (interchangeable signatures)", async () => {
    const key = new TextEncoder().encode(API_KEY_SECRET);
    await expect(jwtVerify(oracleToken("x", "y", 60), key)).resolves.toBeTruthy();
    await expect(jwtVerify((await signer.sign({ identity: "x", room: "y", ttlSeconds: 60 })).token, key)).resolves.toBeTruthy();
  });

  it("reuses one imported key: many concurrent signs all verify", async () => {
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => signer.sign({ identity: `user-${i}`, room: "r", now: NOW + i * 1000 })));
    const key = new TextEncoder().encode(API_KEY_SECRET);
    for (const [i, t] of tokens.entries()) {
      const { payload } = await jwtVerify(t.token, key, { currentDate: new Date(NOW) });
      expect(payload.grants).toEqual({ identity: `user-${i}`, video: { room: "r" } });
    }
  });

  it("signVideoToken (one-off) gives the same claims as the signer", async () => {
    const one = await signVideoToken(
      { accountSid: ACCOUNT_SID, apiKeySid: API_KEY_SID, apiKeySecret: API_KEY_SECRET, ttlSeconds: 600 },
      { identity: "e", room: "f", now: NOW },
    );
    const two = await new TwilioTokenSigner({
      accountSid: ACCOUNT_SID,
      apiKeySid: API_KEY_SID,
      apiKeySecret: API_KEY_SECRET,
      ttlSeconds: 600,
    }).sign({ identity: "e", room: "f", now: NOW });
    expect(one.token).toBe(two.token); // same input, same key, deterministic HS256
  });
});

describe("TTL and input validation", () => {
  const base = { accountSid: ACCOUNT_SID, apiKeySid: API_KEY_SID, apiKeySecret: API_KEY_SECRET };

  it("accepts the cap and signs exp = iat + ttl", async () => {
    const s = new TwilioTokenSigner({ ...base, ttlSeconds: MAX_TOKEN_TTL_SECONDS });
    const claims = decodeJwt((await s.sign({ identity: "a", now: NOW })).token);
    expect(claims.exp! - claims.iat!).toBe(3600);
    const short = decodeJwt((await s.sign({ identity: "a", now: NOW, ttlSeconds: 90 })).token);
    expect(short.exp! - short.iat!).toBe(90);
  });

  it.each([3601, 86400, 0, -1, 1.5, Number.NaN])("rejects ttl %s with a typed error", async (ttl) => {
    expect(() => new TwilioTokenSigner({ ...base, ttlSeconds: ttl })).toThrow(TwilioTokenError);
    await expect(signer.sign({ identity: "a", ttlSeconds: ttl })).rejects.toMatchObject({
      name: "TwilioTokenError",
      code: "invalid_ttl",
    });
  });

  it("rejects missing credentials, empty identity and empty room", async () => {
    expect(() => new TwilioTokenSigner({ ...base, apiKeySecret: "" })).toThrow(expect.objectContaining({ code: "invalid_config" }));
    await expect(signer.sign({ identity: "" })).rejects.toMatchObject({ code: "invalid_identity" });
    await expect(signer.sign({ identity: "a", room: "" })).rejects.toMatchObject({ code: "invalid_room" });
    await expect(signer.sign({ identity: "a", now: Number.NaN })).rejects.toMatchObject({ code: "invalid_time" });
  });
});
