/**
 * Rotating APP_SIGNING_SECRET without ending live sessions: with the old value in APP_SIGNING_SECRET_PREVIOUS, every
 * token signed before the change (tickets, invites, guest credentials, development sign-in) still verifies, nothing
 * new is signed with the old value, and every other check (kind, session, expiry, lifetime) is unchanged. Twilio's
 * status callbacks likewise verify under TWILIO_AUTH_TOKEN_PREVIOUS (twilio's own signer as the oracle).
 */
import { describe, expect, it } from "vitest";
import { refusal } from "./helpers/auth";
import {
  issueDevUserToken,
  issueGuestCredential,
  issueInvite,
  issueMemberTicket,
  verifyDevUserToken,
  verifyGuestCredential,
  verifyInvite,
  verifyMemberTicket,
} from "../../worker/auth/app-tokens";
import twilio from "twilio";
import { signedByTwilio } from "../../worker/routes/twilio";

const NOW = Date.UTC(2026, 10, 1, 12, 0, 0);
const OLD = "old-app-signing-secret-0123456789abcdef";
const NEW = "new-app-signing-secret-fedcba9876543210";
const base = { APP_ENV: "development", DEV_SIGNIN: "on" };
const before = { ...base, APP_SIGNING_SECRET: OLD };
const rotating = { ...base, APP_SIGNING_SECRET: NEW, APP_SIGNING_SECRET_PREVIOUS: OLD };
const after = { ...base, APP_SIGNING_SECRET: NEW };
const ticketInput = { sessionId: "s1", memberId: "m2", role: "participant" as const, name: "Member" };

describe("APP_SIGNING_SECRET rotation", () => {
  it("tokens signed with the old secret verify while it is the previous one, and not once it is gone", async () => {
    const ticket = await issueMemberTicket(before, ticketInput, { now: NOW });
    const invite = await issueInvite(before, { sessionId: "s1", role: "participant", inviteId: "inv1" }, { now: NOW });
    const guest = await issueGuestCredential(before, { sessionId: "s1", inviteId: "inv1", identity: "guest:abc123" }, { now: NOW });
    const dev = await issueDevUserToken(before, { userId: "u1", name: "Fac", appRole: "facilitator" }, { now: NOW });

    expect(await verifyMemberTicket(rotating, ticket.token, "s1", { now: NOW + 1000 })).toMatchObject({ memberId: "m2", role: "participant" });
    expect(await verifyInvite(rotating, invite.token, "s1", { now: NOW + 1000 })).toMatchObject({ inviteId: "inv1" });
    expect(await verifyGuestCredential(rotating, guest.token, "s1", { now: NOW + 1000 })).toMatchObject({ identity: "guest:abc123" });
    expect(await verifyDevUserToken(rotating, dev.token, { now: NOW + 1000 })).toMatchObject({ userId: "u1" });

    // Rotation finished: the old tokens are refused as forged (the cached ticket too).
    expect((await refusal(verifyMemberTicket(after, ticket.token, "s1", { now: NOW + 2000 }))).code).toBe("UNAUTHENTICATED");
    expect((await refusal(verifyInvite(after, invite.token, "s1", { now: NOW + 2000 }))).code).toBe("UNAUTHENTICATED");
    expect((await refusal(verifyGuestCredential(after, guest.token, "s1", { now: NOW + 2000 }))).code).toBe("UNAUTHENTICATED");
  });

  it("new tokens are signed with the new secret only", async () => {
    const ticket = await issueMemberTicket(rotating, ticketInput, { now: NOW });
    expect(await verifyMemberTicket(after, ticket.token, "s1", { now: NOW })).toMatchObject({ memberId: "m2" });
    expect((await refusal(verifyMemberTicket(before, ticket.token, "s1", { now: NOW }))).code).toBe("UNAUTHENTICATED");
  });

  it("the previous secret changes nothing else: another secret, another kind, another session, expiry", async () => {
    const other = await issueMemberTicket({ ...base, APP_SIGNING_SECRET: "a-third-secret-that-was-never-ours-000" }, ticketInput, { now: NOW });
    expect((await refusal(verifyMemberTicket(rotating, other.token, "s1", { now: NOW }))).code).toBe("UNAUTHENTICATED");
    const invite = await issueInvite(before, { sessionId: "s1", role: "participant", inviteId: "inv2" }, { now: NOW });
    expect((await refusal(verifyMemberTicket(rotating, invite.token, "s1", { now: NOW }))).message).toMatch(/invite cannot be used as a member ticket/);
    const ticket = await issueMemberTicket(before, ticketInput, { now: NOW, ttlSeconds: 60 });
    expect((await refusal(verifyMemberTicket(rotating, ticket.token, "s2", { now: NOW }))).code).toBe("WRONG_SESSION");
    expect((await refusal(verifyMemberTicket(rotating, ticket.token, "s1", { now: NOW + 120_000 }))).code).toBe("CREDENTIAL_EXPIRED");
  });
});

describe("TWILIO_AUTH_TOKEN rotation", () => {
  const url = "https://mindbloom.example/api/twilio/status-callback/s1";
  const params = { RoomName: "mb-s1-main", StatusCallbackEvent: "room-created", AccountSid: "AC1" };
  const OLD_TOKEN = "old-twilio-auth-token-0123456789ab";
  const NEW_TOKEN = "new-twilio-auth-token-ba9876543210";

  it("callbacks signed with the previous auth token are accepted while it is set; others never", async () => {
    const signedOld = twilio.getExpectedTwilioSignature(OLD_TOKEN, url, params);
    const signedNew = twilio.getExpectedTwilioSignature(NEW_TOKEN, url, params);
    expect(await signedByTwilio({ TWILIO_AUTH_TOKEN: NEW_TOKEN, TWILIO_AUTH_TOKEN_PREVIOUS: OLD_TOKEN }, signedOld, url, params)).toBe(true);
    expect(await signedByTwilio({ TWILIO_AUTH_TOKEN: NEW_TOKEN, TWILIO_AUTH_TOKEN_PREVIOUS: OLD_TOKEN }, signedNew, url, params)).toBe(true);
    expect(await signedByTwilio({ TWILIO_AUTH_TOKEN: NEW_TOKEN }, signedOld, url, params)).toBe(false);
    const forged = twilio.getExpectedTwilioSignature("someone-elses-token-000000000000", url, params);
    expect(await signedByTwilio({ TWILIO_AUTH_TOKEN: NEW_TOKEN, TWILIO_AUTH_TOKEN_PREVIOUS: OLD_TOKEN }, forged, url, params)).toBe(false);
  });
});
