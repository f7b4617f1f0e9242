import { SignJWT, decodeJwt } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { refusal } from "./helpers/auth";
import {
  INVITE_MAX_TTL_SECONDS,
  devSignInEnabled,
  issueDevUserToken,
  issueInvite,
  issueMemberTicket,
  verifyDevUserToken,
  verifyInvite,
  verifyMemberTicket,
  verifyUserOrDevToken,
} from "../../worker/auth/app-tokens";

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const SECRET = "test-app-signing-secret-0123456789abcdef";
const dev = { APP_ENV: "development", DEV_SIGNIN: "on", APP_SIGNING_SECRET: SECRET };
const prod = { APP_ENV: "production", DEV_SIGNIN: "on", APP_SIGNING_SECRET: SECRET };

afterEach(() => vi.restoreAllMocks());

describe("development sign-in tokens", () => {
  it("are enabled only by APP_ENV=development AND DEV_SIGNIN=on", () => {
    expect(devSignInEnabled(dev)).toBe(true);
    expect(devSignInEnabled(prod)).toBe(false);
    expect(devSignInEnabled({ APP_ENV: "development" })).toBe(false);
    expect(devSignInEnabled({ APP_ENV: "development", DEV_SIGNIN: "true" })).toBe(false);
    expect(devSignInEnabled({ DEV_SIGNIN: "on" })).toBe(false);
  });

  it("round-trip in development as a dev principal, through verifyUserOrDevToken too", async () => {
    const issued = await issueDevUserToken(dev, { userId: "alice", name: " Alice ", appRole: "facilitator" }, { now: NOW });
    const expected = { userId: "alice", name: "Alice", appRole: "facilitator", source: "dev" };
    expect(issued.principal).toEqual(expected);
    expect(await verifyDevUserToken(dev, issued.token, { now: NOW })).toEqual(expected);
    expect(await verifyUserOrDevToken(dev, issued.token, { now: NOW })).toEqual(expected);
  });

  it("are not issued outside development", async () => {
    for (const env of [prod, { ...dev, DEV_SIGNIN: "off" }, { ...dev, APP_ENV: "staging" }, { APP_SIGNING_SECRET: SECRET }]) {
      const e = await refusal(issueDevUserToken(env, { userId: "alice", name: "Alice" }, { now: NOW }));
      expect([e.code, e.status]).toEqual(["FORBIDDEN", 403]);
    }
  });

  it("are refused at verification time outside development, even when validly signed", async () => {
    const { token } = await issueDevUserToken(dev, { userId: "mallory", name: "Mallory", appRole: "operator" }, { now: NOW });
    for (const env of [prod, { ...dev, DEV_SIGNIN: "off" }]) {
      const e1 = await refusal(verifyDevUserToken(env, token, { now: NOW }));
      expect([e1.code, e1.reason]).toEqual(["UNAUTHENTICATED", "dev-disabled"]);
      // also when an IdP is configured: the dev token must not fall through to the IdP path and be accepted
      const e2 = await refusal(verifyUserOrDevToken({ ...env, AUTH_JWT_SECRET: "idp-secret-0123456789-0123456789-0123" }, token, { now: NOW }));
      expect([e2.code, e2.reason]).toEqual(["UNAUTHENTICATED", "dev-disabled"]);
    }
  });

  it("expire", async () => {
    const { token, expiresAt } = await issueDevUserToken(dev, { userId: "alice", name: "Alice" }, { now: NOW, ttlSeconds: 60 });
    expect(expiresAt).toBe(NOW + 60_000);
    const e = await refusal(verifyDevUserToken(dev, token, { now: NOW + 120_000 }));
    expect(e.code).toBe("CREDENTIAL_EXPIRED");
  });

  it("validate their input", async () => {
    expect((await refusal(issueDevUserToken(dev, { userId: "has space", name: "A" }))).code).toBe("INVALID_MESSAGE");
    expect((await refusal(issueDevUserToken(dev, { userId: "a", name: "   " }))).code).toBe("INVALID_MESSAGE");
    expect((await refusal(issueDevUserToken(dev, { userId: "a", name: "A", appRole: "root" as never }))).code).toBe("INVALID_MESSAGE");
  });

  it("in development, a non-dev token without a configured IdP is a 401, not a server error", async () => {
    const foreign = await new SignJWT({ sub: "x" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(NOW / 1000 + 60)
      .sign(new TextEncoder().encode("x".repeat(32)));
    const e = await refusal(verifyUserOrDevToken(dev, foreign, { now: NOW }));
    expect([e.code, e.status]).toEqual(["UNAUTHENTICATED", 401]);
  });
});

describe("invites", () => {
  it("verify for their own session with their claims", async () => {
    const issued = await issueInvite(dev, { sessionId: "s1", role: "participant" }, { now: NOW, ttlSeconds: 3600 });
    expect(issued.inviteId).toMatch(/^[0-9a-f-]{36}$/);
    const claims = await verifyInvite(prod, issued.token, "s1", { now: NOW + 1000 });
    expect(claims).toEqual({ sessionId: "s1", inviteId: issued.inviteId, role: "participant", issuedAt: NOW, expiresAt: NOW + 3_600_000 });
    expect(decodeJwt(issued.token)).toMatchObject({ typ: "invite", sid: "s1", inv: issued.inviteId, role: "participant", exp: (NOW + 3_600_000) / 1000 });
  });

  it("are refused for another session with WRONG_SESSION", async () => {
    const { token } = await issueInvite(prod, { sessionId: "s1", role: "cofacilitator", inviteId: "inv-1" }, { now: NOW });
    const e = await refusal(verifyInvite(prod, token, "s2", { now: NOW }));
    expect([e.code, e.status]).toEqual(["WRONG_SESSION", 403]);
  });

  it("expire with CREDENTIAL_EXPIRED", async () => {
    const { token } = await issueInvite(prod, { sessionId: "s1", role: "participant" }, { now: NOW, ttlSeconds: 600 });
    expect((await verifyInvite(prod, token, "s1", { now: NOW + 599_000 })).sessionId).toBe("s1");
    const e = await refusal(verifyInvite(prod, token, "s1", { now: NOW + 700_000 }));
    expect([e.code, e.status]).toEqual(["CREDENTIAL_EXPIRED", 401]);
  });

  it("cap the lifetime and validate the role", async () => {
    const { expiresAt } = await issueInvite(prod, { sessionId: "s1", role: "participant" }, { now: NOW, ttlSeconds: 10 ** 9 });
    expect(expiresAt).toBe(NOW + INVITE_MAX_TTL_SECONDS * 1000);
    expect((await refusal(issueInvite(prod, { sessionId: "s1", role: "facilitator" as never }))).code).toBe("INVALID_MESSAGE");
  });

  it("cannot be altered or signed with another secret", async () => {
    const { token } = await issueInvite(prod, { sessionId: "s1", role: "participant" }, { now: NOW });
    const [h, p, s] = token.split(".");
    const claims = JSON.parse(Buffer.from(p, "base64url").toString());
    const altered = Buffer.from(JSON.stringify({ ...claims, sid: "s2", role: "cofacilitator" })).toString("base64url");
    expect((await refusal(verifyInvite(prod, `${h}.${altered}.${s}`, "s2", { now: NOW }))).reason).toBe("signature");
    const other = { ...prod, APP_SIGNING_SECRET: "another-signing-secret-0123456789abcdef" };
    expect((await refusal(verifyInvite(other, token, "s1", { now: NOW }))).reason).toBe("signature");
  });
});

describe("member tickets", () => {
  const input = { sessionId: "s1", memberId: "m-1", role: "participant" as const, name: "Bo" };

  it("verify for their own session", async () => {
    const { token, expiresAt } = await issueMemberTicket(prod, input, { now: NOW, ttlSeconds: 120 });
    expect(expiresAt).toBe(NOW + 120_000);
    expect(await verifyMemberTicket(prod, token, "s1", { now: NOW })).toEqual({ ...input, issuedAt: NOW, expiresAt });
  });

  it("are refused for another session, and when expired", async () => {
    const { token } = await issueMemberTicket(prod, input, { now: NOW, ttlSeconds: 120 });
    expect((await refusal(verifyMemberTicket(prod, token, "s2", { now: NOW }))).code).toBe("WRONG_SESSION");
    expect((await refusal(verifyMemberTicket(prod, token, "s1", { now: NOW + 130_000 }))).code).toBe("CREDENTIAL_EXPIRED");
  });

  it("need a protocol role and a name", async () => {
    expect((await refusal(issueMemberTicket(prod, { ...input, role: "operator" as never }))).code).toBe("INVALID_MESSAGE");
    expect((await refusal(issueMemberTicket(prod, { ...input, name: "" }))).code).toBe("INVALID_MESSAGE");
    expect((await refusal(issueMemberTicket(prod, { ...input, memberId: "a/b" }))).code).toBe("INVALID_MESSAGE");
  });
});

describe("one kind can never pass as another", () => {
  it("tickets, invites and dev tokens are refused by each other's verifiers", async () => {
    const ticket = (await issueMemberTicket(dev, { sessionId: "s1", memberId: "m-1", role: "facilitator", name: "F" }, { now: NOW })).token;
    const invite = (await issueInvite(dev, { sessionId: "s1", role: "participant" }, { now: NOW })).token;
    const devToken = (await issueDevUserToken(dev, { userId: "m-1", name: "F", appRole: "facilitator" }, { now: NOW })).token;

    const cases: [string, () => Promise<unknown>][] = [
      ["ticket as invite", () => verifyInvite(dev, ticket, "s1", { now: NOW })],
      ["invite as ticket", () => verifyMemberTicket(dev, invite, "s1", { now: NOW })],
      ["dev token as ticket", () => verifyMemberTicket(dev, devToken, "s1", { now: NOW })],
      ["dev token as invite", () => verifyInvite(dev, devToken, "s1", { now: NOW })],
      ["ticket as dev token", () => verifyDevUserToken(dev, ticket, { now: NOW })],
      ["ticket as user token", () => verifyUserOrDevToken(dev, ticket, { now: NOW })],
      ["invite as user token", () => verifyUserOrDevToken({ ...dev, AUTH_JWT_SECRET: SECRET + "-idp" }, invite, { now: NOW })],
    ];
    for (const [label, p] of cases) {
      const e = await refusal(p());
      expect([label, e.code, e.reason]).toEqual([label, "UNAUTHENTICATED", "kind"]);
    }
  });

  it("a token with the right claims but signed with the raw secret (not the kind's derived key) is refused", async () => {
    const forged = await new SignJWT({ typ: "ticket", sid: "s1", role: "facilitator", name: "F" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("m-1")
      .setIssuer("mindbloom-video")
      .setAudience("mindbloom-video:ticket")
      .setIssuedAt(NOW / 1000)
      .setExpirationTime(NOW / 1000 + 600)
      .sign(new TextEncoder().encode(SECRET));
    const e = await refusal(verifyMemberTicket(prod, forged, "s1", { now: NOW }));
    expect(e.code).toBe("UNAUTHENTICATED");
  });
});

describe("keys", () => {
  it("refuse to sign without a strong APP_SIGNING_SECRET", async () => {
    for (const secret of [undefined, "", "short"]) {
      const e = await refusal(issueMemberTicket({ APP_SIGNING_SECRET: secret }, { sessionId: "s", memberId: "m", role: "participant", name: "N" }));
      expect([e.code, e.status]).toEqual(["INTERNAL", 500]);
    }
  });

  it("are derived once per secret, not per token (hot path)", async () => {
    const derive = vi.spyOn(crypto.subtle, "deriveKey");
    const importKey = vi.spyOn(crypto.subtle, "importKey");
    const env = { APP_SIGNING_SECRET: "fresh-secret-for-the-cache-test-0123456789" };
    for (let i = 0; i < 20; i++) {
      const { token } = await issueMemberTicket(env, { sessionId: "s", memberId: `m${i}`, role: "participant", name: "N" }, { now: NOW });
      await verifyMemberTicket(env, token, "s", { now: NOW });
    }
    expect(derive).toHaveBeenCalledTimes(5); // one HMAC key per kind (dev, invite, ticket, guest, group)
    expect(importKey).toHaveBeenCalledTimes(1);
  });
});
