/**
 * Guests re-join with a credential the Worker issued (issue 12, finding 5): a guest's identity, which staff can read,
 * holds no secret; the old client-chosen `deviceKey` can no longer pick an identity; a wrong, forged, foreign or expired
 * credential is refused with a typed error and lets nobody in.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { issueGuestCredential, issueMemberTicket } from "../../worker/auth/app-tokens";
import { api, createSession, defaultAgreementHash, joinSession } from "./helpers";
import { context, invite, must } from "./authz-world";

const DAY = 24 * 3600_000;
const appEnv = env as never;

const staffState = async (sessionId: string, ticket: string) => (await api(`/api/sessions/${sessionId}`, { token: ticket })).json.staff;
/** A join accepting the (default) group agreement, so each refusal here is about the credential. */
const joinBody = async (sessionId: string, body: Record<string, unknown>, token?: string) =>
  api(`/api/sessions/${sessionId}/join`, { body: { agreementHash: await defaultAgreementHash(), ...body }, token });

describe("guest credentials", () => {
  it("a guest's identity (what staff read) is no key: knowing it, an invite holder cannot take over or rename the member", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const guest = await joinSession(s.sessionId, s.invite.token, "Gina");
    const identity: string = (await staffState(s.sessionId, s.ticket)).members.find((m: { id: string }) => m.id === guest.memberId).identity;
    expect(identity).toMatch(/^guest:[0-9a-f-]{8}:[0-9a-f]{32}$/);
    const before = await context(s.sessionId);
    // Everything a co-facilitator (or anyone shown the identity) could try with the invite.
    const secretPart = identity.split(":").at(-1)!;
    for (const body of [
      { invite: s.invite.token, name: "Mallory", deviceKey: secretPart },
      { invite: s.invite.token, name: "Mallory", deviceKey: identity },
      { invite: s.invite.token, name: "Mallory", guestCredential: secretPart },
      { invite: s.invite.token, name: "Mallory", guestCredential: identity },
    ]) {
      const r = await joinBody(s.sessionId, body);
      expect(r.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(r.json.memberId).toBeUndefined();
      expect(r.json.error.code).toMatch(/^(INVALID_MESSAGE|UNAUTHENTICATED)$/);
    }
    expect(await context(s.sessionId)).toEqual(before);
    // And the credential itself appears nowhere in what staff see.
    expect(JSON.stringify(await staffState(s.sessionId, s.ticket))).not.toContain(guest.guestCredential);
  });

  it("deviceKey is refused with a clear INVALID_MESSAGE, and joins nobody", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const before = await context(s.sessionId);
    const r = await joinBody(s.sessionId, { invite: s.invite.token, name: "Dev", deviceKey: "my-own-key-123" });
    expect({ status: r.status, code: r.json.error.code }).toEqual({ status: 400, code: "INVALID_MESSAGE" });
    expect(r.json.error.message).toMatch(/^deviceKey: .*guestCredential/);
    expect(await context(s.sessionId)).toEqual(before);
  });

  it("a guest who left re-joins with the credential their join returned: the same member, renamed by them only", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const first = await joinSession(s.sessionId, s.invite.token, "Gina");
    expect(first.guestCredential).toEqual(expect.any(String));
    expect(first.guestCredentialExpiresAt).toBeGreaterThan(Date.now() + 89 * DAY);
    expect(first.guestCredentialExpiresAt).toBeLessThanOrEqual(Date.now() + 90 * DAY + 5_000);
    await must(s.sessionId, { label: "G", memberId: first.memberId, ticket: first.ticket }, { type: "leave" });

    const again = await joinSession(s.sessionId, s.invite.token, "Gina B.", first.guestCredential);
    expect({ memberId: again.memberId, status: again.status }).toEqual({ memberId: first.memberId, status: "admitted" });
    expect(again.guestCredential).toEqual(expect.any(String)); // renewed on each join
    const members = (await staffState(s.sessionId, s.ticket)).members as { id: string; name: string }[];
    expect(members.filter((m) => m.name.startsWith("Gina"))).toEqual([expect.objectContaining({ id: first.memberId, name: "Gina B." })]);

    // Without the credential the same invite makes a new guest, who takes over nobody.
    const stranger = await joinSession(s.sessionId, s.invite.token, "Gina");
    expect(stranger.memberId).not.toBe(first.memberId);
  });

  it("refuses a forged, foreign, other-invite, expired or wrong-kind credential with a typed error naming the field; nobody joins", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const other = await createSession({ settings: { autoAdmit: true } });
    const second = await invite(s.sessionId, s.ticket);
    const guest = await joinSession(s.sessionId, s.invite.token, "Gina");
    const foreign = await joinSession(other.sessionId, other.invite.token, "Olga");
    const [h, p, sig] = guest.guestCredential.split(".");
    const expired = await issueGuestCredential(
      appEnv,
      { sessionId: s.sessionId, inviteId: s.invite.id, identity: `guest:${s.invite.id.slice(0, 8)}:${"0".repeat(32)}` },
      { now: Date.now() - 91 * DAY },
    );
    const ticket = await issueMemberTicket(appEnv, { sessionId: s.sessionId, memberId: guest.memberId, role: "participant", name: "Gina" });
    const cases: [string, Record<string, unknown>, number, string][] = [
      [
        "altered signature",
        { invite: s.invite.token, guestCredential: `${h}.${p}.${sig.slice(0, -2)}${sig.endsWith("AA") ? "BB" : "AA"}` },
        401,
        "UNAUTHENTICATED",
      ],
      ["another session's credential", { invite: s.invite.token, guestCredential: foreign.guestCredential }, 403, "WRONG_SESSION"],
      ["issued with another invite", { invite: second.token, guestCredential: guest.guestCredential }, 401, "UNAUTHENTICATED"],
      ["expired", { invite: s.invite.token, guestCredential: expired.token }, 401, "CREDENTIAL_EXPIRED"],
      ["a member ticket", { invite: s.invite.token, guestCredential: ticket.token }, 401, "UNAUTHENTICATED"],
      ["not a token at all", { invite: s.invite.token, guestCredential: "not-a-credential" }, 401, "UNAUTHENTICATED"],
    ];
    const before = await context(s.sessionId);
    for (const [what, body, status, code] of cases) {
      const r = await joinBody(s.sessionId, { name: "Mallory", ...body });
      expect({ what, status: r.status, code: r.json.error?.code, field: r.json.error?.details?.field }).toEqual({
        what,
        status,
        code,
        field: "guestCredential",
      });
      expect(r.json.error.message, what).toMatch(/^guestCredential: /);
    }
    expect(await context(s.sessionId)).toEqual(before);
  });

  it("a guest credential is no ticket, no invite and no sign-in", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const guest = await joinSession(s.sessionId, s.invite.token, "Gina");
    const asTicket = await api(`/api/sessions/${s.sessionId}`, { token: guest.guestCredential });
    expect({ status: asTicket.status, code: asTicket.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    expect(asTicket.json.error.message).toMatch(/guest credential cannot be used as a member ticket/);
    const asInvite = await joinBody(s.sessionId, { invite: guest.guestCredential, name: "Gina" });
    expect({ status: asInvite.status, code: asInvite.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    const asUser = await api("/api/sessions", { token: guest.guestCredential, body: { title: "x", mediaProvider: "local" } });
    expect({ status: asUser.status, code: asUser.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
  });

  it("a signed-in user joins as themselves: a guest credential with a user token is refused; none is issued to them", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const guest = await joinSession(s.sessionId, s.invite.token, "Gina");
    const both = await joinBody(s.sessionId, { invite: s.invite.token, name: "Una", guestCredential: guest.guestCredential }, s.userToken);
    expect({ status: both.status, code: both.json.error.code }).toEqual({ status: 400, code: "INVALID_MESSAGE" });
    const noInvite = await joinBody(s.sessionId, { name: "Gina", guestCredential: guest.guestCredential });
    expect({ status: noInvite.status, code: noInvite.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    const own = await joinBody(s.sessionId, { name: "Therapist" }, s.userToken);
    expect(own.status).toBe(200);
    expect(own.json.guestCredential).toBeUndefined();
  });
});
