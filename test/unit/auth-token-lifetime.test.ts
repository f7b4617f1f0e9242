/**
 * Our own tokens are refused when their lifetime is one we never issue (issue 12, finding 8): a token signed with the
 * real key (as anyone holding APP_SIGNING_SECRET, or a leaked one, could) but with `exp - iat` over the kind's maximum,
 * or an `iat` in the future, does not verify.
 */
import { hkdfSync } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { refusal } from "./helpers/auth";
import {
  APP_TOKEN_ISSUER,
  DEV_TOKEN_TTL_SECONDS,
  GROUP_CREDENTIAL_TTL_SECONDS,
  GUEST_CREDENTIAL_TTL_SECONDS,
  INVITE_MAX_TTL_SECONDS,
  TICKET_MAX_TTL_SECONDS,
  verifyDevUserToken,
  verifyGroupCredential,
  verifyGuestCredential,
  verifyInvite,
  verifyMemberTicket,
} from "../../worker/auth/app-tokens";

const SECRET = "test-app-signing-secret-0123456789abcdef";
const env = { APP_ENV: "development", DEV_SIGNIN: "on", APP_SIGNING_SECRET: SECRET };
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const NOW_S = NOW / 1000;
const YEAR = 365 * 24 * 3600;

/** The kind's key exactly as worker/auth/app-tokens.ts derives it (HKDF-SHA-256, purpose-bound). */
const keyFor = (kind: string) => new Uint8Array(hkdfSync("sha256", SECRET, "mindbloom-video/app-tokens/v1", `hs256:${kind}`, 32));

const KINDS = {
  ticket: {
    max: TICKET_MAX_TTL_SECONDS,
    claims: { typ: "ticket", sid: "s1", role: "participant", name: "Pat" },
    sub: "m2",
    aud: "mindbloom-video:ticket",
    verify: (t: string) => verifyMemberTicket(env, t, "s1", { now: NOW }),
  },
  invite: {
    max: INVITE_MAX_TTL_SECONDS,
    claims: { typ: "invite", sid: "s1", inv: "inv-1", role: "participant" },
    sub: undefined,
    aud: "mindbloom-video:invite",
    verify: (t: string) => verifyInvite(env, t, "s1", { now: NOW }),
  },
  dev: {
    max: DEV_TOKEN_TTL_SECONDS,
    claims: { typ: "dev", name: "Dev", role: "operator" },
    sub: "dev-1",
    aud: "mindbloom-video:dev-signin",
    verify: (t: string) => verifyDevUserToken(env, t, { now: NOW }),
  },
  guest: {
    max: GUEST_CREDENTIAL_TTL_SECONDS,
    claims: { typ: "guest", sid: "s1", inv: "inv-1" },
    sub: "guest:inv-1:0123456789abcdef0123456789abcdef",
    aud: "mindbloom-video:guest",
    verify: (t: string) => verifyGuestCredential(env, t, "s1", { now: NOW }),
  },
  group: {
    max: GROUP_CREDENTIAL_TTL_SECONDS,
    claims: { typ: "group-guest", grp: "grp_1" },
    sub: "guest:grp_1:0123456789abcdef0123456789abcdef",
    aud: "mindbloom-video:group-guest",
    verify: (t: string) => verifyGroupCredential(env, t, "grp_1", { now: NOW }),
  },
} as const;

async function signed(kind: keyof typeof KINDS, iat: number, exp: number) {
  const k = KINDS[kind];
  const jwt = new SignJWT({ ...k.claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(APP_TOKEN_ISSUER)
    .setAudience(k.aud)
    .setIssuedAt(iat)
    .setExpirationTime(exp);
  if (k.sub) jwt.setSubject(k.sub);
  return jwt.sign(keyFor(kind));
}

describe("token lifetimes are enforced on verify", () => {
  for (const kind of Object.keys(KINDS) as (keyof typeof KINDS)[]) {
    const k = KINDS[kind];

    it(`${kind}: the longest lifetime we issue verifies (the forging above is faithful)`, async () => {
      await expect(k.verify(await signed(kind, NOW_S - 60, NOW_S - 60 + k.max))).resolves.toBeTruthy();
    });

    it(`${kind}: a validly signed one with a 10-year exp is refused`, async () => {
      const e = await refusal(k.verify(await signed(kind, NOW_S - 60, NOW_S + 10 * YEAR)));
      expect([e.code, e.status, e.reason]).toEqual(["UNAUTHENTICATED", 401, "lifetime"]);
    });

    it(`${kind}: one second over the maximum is refused`, async () => {
      const e = await refusal(k.verify(await signed(kind, NOW_S - 60, NOW_S - 60 + k.max + 1)));
      expect(e.reason).toBe("lifetime");
    });

    it(`${kind}: an iat in the future beyond the small skew is refused; within it, accepted`, async () => {
      const e = await refusal(k.verify(await signed(kind, NOW_S + 3600, NOW_S + 3600 + 60)));
      expect([e.code, e.status]).toEqual(["UNAUTHENTICATED", 401]);
      await expect(k.verify(await signed(kind, NOW_S + 2, NOW_S + 600))).resolves.toBeTruthy();
    });
  }
});
