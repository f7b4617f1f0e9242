/**
 * Credentials end to end: tickets and invites bound to one session, expiry, revocation, tampering, kind confusion,
 * development sign-in outside development, and denied/removed members at the door.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { issueDevUserToken, issueInvite, issueMemberTicket } from "../../worker/auth/app-tokens";
import { createInvite } from "../../worker/auth/invites";
import { api, Client, createSession, d1, joinSession, signIn, stubFor } from "./helpers";
import { context, invite, join, must, upgrade } from "./authz-world";

const HOUR = 3600_000;
const appEnv = env as never;

/** The routes a member ticket opens, as a list of requests. */
function ticketRoutes(sessionId: string) {
  return [
    { method: "GET", path: `/api/sessions/${sessionId}` },
    {
      method: "POST",
      path: `/api/sessions/${sessionId}/commands`,
      body: { commandId: `cred-${crypto.randomUUID()}`, command: { type: "broadcast", text: "hi" } },
    },
    { method: "POST", path: `/api/sessions/${sessionId}/media-token` },
    { method: "POST", path: `/api/sessions/${sessionId}/invites`, body: { role: "participant" } },
    { method: "POST", path: `/api/sessions/${sessionId}/end` },
  ];
}

async function expectRefusedEverywhere(sessionId: string, token: string | undefined, status: number, code: string) {
  const before = await context(sessionId);
  for (const r of ticketRoutes(sessionId)) {
    const res = await api(r.path, { method: r.method, token, body: r.body });
    expect({ route: `${r.method} ${r.path}`, status: res.status, code: res.json?.error?.code }).toEqual({ route: `${r.method} ${r.path}`, status, code });
  }
  const u = await upgrade(sessionId, token);
  expect({ route: "ws upgrade", status: u.status, code: u.json?.error?.code }).toEqual({ route: "ws upgrade", status, code });
  expect(await context(sessionId)).toEqual(before);
}

/** Base64url JSON helpers for tampering. */
const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const unb64 = (s: string) => JSON.parse(atob(s.replace(/-/g, "+").replace(/_/g, "/")));

describe("tickets and invites belong to one session", () => {
  it("session A's ticket on session B: WRONG_SESSION on every route and at the WebSocket door", async () => {
    const a = await createSession({ title: "A" });
    const b = await createSession({ title: "B", settings: { autoAdmit: true } });
    // Same member id in both sessions (m1 = each facilitator): only the session binding stops A's facilitator.
    expect(a.memberId).toBe(b.memberId);
    await expectRefusedEverywhere(b.sessionId, a.ticket, 403, "WRONG_SESSION");
    const p = await joinSession(a.sessionId, a.invite.token, "Pat");
    await expectRefusedEverywhere(b.sessionId, p.ticket, 403, "WRONG_SESSION");
  });

  it("session A's invite on session B's join: WRONG_SESSION, nobody joins", async () => {
    const a = await createSession();
    const b = await createSession();
    const before = await context(b.sessionId);
    const r = await api(`/api/sessions/${b.sessionId}/join`, { body: { invite: a.invite.token, name: "Sneaky" } });
    expect({ status: r.status, code: r.json.error.code }).toEqual({ status: 403, code: "WRONG_SESSION" });
    expect(await context(b.sessionId)).toEqual(before);
  });

  it("revoking session A's invite through session B: WRONG_SESSION, the invite still works", async () => {
    const a = await createSession();
    const b = await createSession();
    const r = await api(`/api/sessions/${b.sessionId}/invites/${a.invite.id}`, { method: "DELETE", token: b.ticket });
    expect({ status: r.status, code: r.json.error.code }).toEqual({ status: 403, code: "WRONG_SESSION" });
    expect((await joinSession(a.sessionId, a.invite.token, "Still fine")).status).toBe("waiting");
    const unknown = await api(`/api/sessions/${a.sessionId}/invites/no-such-invite`, { method: "DELETE", token: a.ticket });
    expect({ status: unknown.status, code: unknown.json.error.code }).toEqual({ status: 404, code: "NOT_FOUND" });
  });
});

describe("expiry", () => {
  it("an expired ticket: CREDENTIAL_EXPIRED on every route and at the WebSocket door", async () => {
    const s = await createSession();
    const old = await issueMemberTicket(
      appEnv,
      { sessionId: s.sessionId, memberId: s.memberId, role: "facilitator", name: "Therapist" },
      { now: Date.now() - 13 * HOUR },
    );
    expect(old.expiresAt).toBeLessThan(Date.now());
    await expectRefusedEverywhere(s.sessionId, old.token, 401, "CREDENTIAL_EXPIRED");
  });

  it("an expired invite: CREDENTIAL_EXPIRED, nobody joins", async () => {
    const s = await createSession();
    const past = Date.now() - 2 * HOUR;
    const inv = await createInvite(appEnv, { sessionId: s.sessionId, role: "participant", createdBy: "user:test" }, { now: past, ttlSeconds: 3600 });
    const before = await context(s.sessionId);
    const r = await api(`/api/sessions/${s.sessionId}/join`, { body: { invite: inv.token, name: "Late" } });
    expect({ status: r.status, code: r.json.error.code }).toEqual({ status: 401, code: "CREDENTIAL_EXPIRED" });
    expect(await context(s.sessionId)).toEqual(before);
  });

  it("an invite signed but never recorded (no row) is refused as revoked (fail closed)", async () => {
    const s = await createSession();
    const inv = await issueInvite(appEnv, { sessionId: s.sessionId, role: "cofacilitator" });
    const r = await api(`/api/sessions/${s.sessionId}/join`, { body: { invite: inv.token, name: "Ghost" } });
    expect({ status: r.status, code: r.json.error.code }).toEqual({ status: 401, code: "CREDENTIAL_REVOKED" });
  });
});

describe("revocation", () => {
  it("a revoked invite: CREDENTIAL_REVOKED for new joins; people already in keep their place; revoking twice is idempotent", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const early = await joinSession(s.sessionId, s.invite.token, "Early");
    const r = await api(`/api/sessions/${s.sessionId}/invites/${s.invite.id}`, { method: "DELETE", token: s.ticket });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ revoked: true, inviteId: s.invite.id, alreadyRevoked: false });
    const [row] = await d1(`SELECT revoked_at FROM invites WHERE id = ?`, s.invite.id);
    expect(row.revoked_at).toBeTypeOf("number");

    const before = await context(s.sessionId);
    const late = await api(`/api/sessions/${s.sessionId}/join`, { body: { invite: s.invite.token, name: "Late" } });
    expect({ status: late.status, code: late.json.error.code }).toEqual({ status: 401, code: "CREDENTIAL_REVOKED" });
    // Re-joining with the same device (a page reload) is a join too: refused.
    const again = await api(`/api/sessions/${s.sessionId}/join`, { body: { invite: s.invite.token, name: "Early" } });
    expect(again.json.error.code).toBe("CREDENTIAL_REVOKED");
    expect(await context(s.sessionId)).toEqual(before);

    expect((await api(`/api/sessions/${s.sessionId}`, { token: early.ticket })).status).toBe(200);
    const twice = await api(`/api/sessions/${s.sessionId}/invites/${s.invite.id}`, { method: "DELETE", token: s.ticket });
    expect(twice.json).toMatchObject({ revoked: true, alreadyRevoked: true });
  });
});

describe("tampered and confused tokens: UNAUTHENTICATED", () => {
  it("edited payload, altered signature, alg none, another key, truncation, garbage", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const p = await joinSession(s.sessionId, s.invite.token, "Pat");
    const [h, body, sig] = p.ticket.split(".");
    const claims = unb64(body);
    expect(claims).toMatchObject({ sid: s.sessionId, sub: p.memberId, role: "participant", typ: "ticket" });
    const otherKey = await issueMemberTicket({ APP_SIGNING_SECRET: "another-secret-that-is-long-enough-0123456789" } as never, {
      sessionId: s.sessionId,
      memberId: s.memberId,
      role: "facilitator",
      name: "Therapist",
    });
    const forged = {
      "role raised to facilitator": `${h}.${b64({ ...claims, role: "facilitator" })}.${sig}`,
      "member switched to the facilitator": `${h}.${b64({ ...claims, sub: s.memberId })}.${sig}`,
      "expiry extended": `${h}.${b64({ ...claims, exp: claims.exp + 3600 })}.${sig}`,
      "signature altered": `${h}.${body}.${sig.slice(0, -4)}${sig.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`,
      "alg none": `${b64({ alg: "none", typ: "JWT" })}.${body}.`,
      "alg none, empty signature segment kept": `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...claims, role: "facilitator" })}.x`,
      "HS512 header": `${b64({ alg: "HS512", typ: "JWT" })}.${body}.${sig}`,
      "signed with another key": otherKey.token,
      truncated: p.ticket.slice(0, -10),
      garbage: "not-a-token",
      "huge token": `${h}.${"A".repeat(20_000)}.${sig}`,
    };
    for (const [what, token] of Object.entries(forged)) {
      const before = await context(s.sessionId);
      const r = await api(`/api/sessions/${s.sessionId}/commands`, {
        token,
        body: { commandId: `forged-${crypto.randomUUID()}`, command: { type: "endSession" } },
      });
      expect({ what, status: r.status, code: r.json?.error?.code }).toEqual({ what, status: 401, code: "UNAUTHENTICATED" });
      const u = await upgrade(s.sessionId, token);
      expect({ what, status: u.status, code: u.json?.error?.code }).toEqual({ what, status: 401, code: "UNAUTHENTICATED" });
      expect(await context(s.sessionId)).toEqual(before);
    }
  });

  it("one kind used as another", async () => {
    const s = await createSession();
    const user = await signIn("Someone", "facilitator");
    // An invite or a user token is not a ticket.
    for (const [what, token] of [
      ["invite as ticket", s.invite.token],
      ["user token as ticket", user],
    ] as const) {
      const r = await api(`/api/sessions/${s.sessionId}`, { token });
      expect({ what, status: r.status, code: r.json.error.code }).toEqual({ what, status: 401, code: "UNAUTHENTICATED" });
      const u = await upgrade(s.sessionId, token);
      expect({ what, status: u.status, code: u.json.error.code }).toEqual({ what, status: 401, code: "UNAUTHENTICATED" });
    }
    // A ticket is not an invite.
    const j = await api(`/api/sessions/${s.sessionId}/join`, { body: { invite: s.ticket, name: "Ticket holder" } });
    expect({ status: j.status, code: j.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    // A ticket (even the facilitator's) is not a user token.
    const c = await api(`/api/sessions`, { token: s.ticket, body: { title: "Mine now", mediaProvider: "local" } });
    expect({ status: c.status, code: c.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    // Joining with a role of one's choosing is not a thing (strict body).
    const role = await api(`/api/sessions/${s.sessionId}/join`, { body: { invite: s.invite.token, name: "Boss", role: "facilitator" } });
    expect({ status: role.status, code: role.json.error.code }).toEqual({ status: 400, code: "INVALID_MESSAGE" });
  });

  it("a ticket in the URL is only accepted by the WebSocket route", async () => {
    const s = await createSession();
    const q = `ticket=${encodeURIComponent(s.ticket)}`;
    const get = await api(`/api/sessions/${s.sessionId}?${q}`);
    expect({ status: get.status, code: get.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    const cmd = await api(`/api/sessions/${s.sessionId}/commands?${q}`, { body: { commandId: "url-ticket-01", command: { type: "endSession" } } });
    expect({ status: cmd.status, code: cmd.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    expect((await stubFor(s.sessionId).debugState()).phase).toBe("main");
    const ws = await upgrade(s.sessionId, s.ticket);
    expect(ws.status).toBe(101);
    ws.ws!.close();
  });

  it("joining without an invite: only the session's own facilitator, with their user token", async () => {
    const s = await createSession();
    const other = await signIn("OtherFacilitator", "facilitator");
    const anon = await api(`/api/sessions/${s.sessionId}/join`, { body: { name: "Nobody" } });
    expect({ status: anon.status, code: anon.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    const stranger = await api(`/api/sessions/${s.sessionId}/join`, { token: other, body: { name: "Other" } });
    expect({ status: stranger.status, code: stranger.json.error.code }).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    const own = await api(`/api/sessions/${s.sessionId}/join`, { token: s.userToken, body: {} });
    expect(own.status).toBe(200);
    expect(own.json).toMatchObject({ memberId: s.memberId, role: "facilitator", status: "admitted" });
  });
});

describe("development sign-in only in development", () => {
  const req = (body: unknown) =>
    new Request("https://mindbloom.test/api/auth/dev-signin", {
      method: "POST",
      headers: { "content-type": "application/json", "CF-Connecting-IP": `10.9.${(Math.random() * 255) | 0}.${(Math.random() * 255) | 0}` },
      body: JSON.stringify(body),
    });

  for (const [what, overrides] of [
    ["APP_ENV=production", { APP_ENV: "production" }],
    ["APP_ENV unset", { APP_ENV: undefined }],
    ["APP_ENV=development but DEV_SIGNIN off", { DEV_SIGNIN: "off" }],
  ] as const) {
    it(`refused with ${what}: 403 FORBIDDEN; config says so; existing dev tokens are refused`, async () => {
      const prodEnv = { ...(env as object), ...overrides };
      const r = await app.request(req({ name: "Mallory", role: "facilitator" }), undefined, prodEnv, createExecutionContext());
      expect(r.status).toBe(403);
      expect((await r.json()) as object).toMatchObject({ error: { code: "FORBIDDEN" } });
      const cfg = await app.request("https://mindbloom.test/api/config", undefined, prodEnv, createExecutionContext());
      expect(((await cfg.json()) as { devSignIn: boolean }).devSignIn).toBe(false);
      // A dev token minted while development was on is worthless here.
      const token = (await issueDevUserToken(appEnv, { userId: "mallory", name: "Mallory", appRole: "facilitator" })).token;
      const create = await app.request(
        new Request("https://mindbloom.test/api/sessions", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ title: "x", mediaProvider: "local" }),
        }),
        undefined,
        prodEnv,
        createExecutionContext(),
      );
      expect(create.status).toBe(401);
      expect((await create.json()) as object).toMatchObject({ error: { code: "UNAUTHENTICATED" } });
    });
  }

  it("the same request succeeds in development (the refusal above is the environment's doing)", async () => {
    const r = await app.request(req({ name: "Dev", role: "facilitator" }), undefined, env, createExecutionContext());
    expect(r.status).toBe(200);
  });
});

describe("denied, removed and departed members at the door", () => {
  it("removal and denial close the member's sockets (4003) and later upgrades are FORBIDDEN; they hear nothing more", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const co = await invite(s.sessionId, s.ticket, "cofacilitator");
    const RC = await join(s.sessionId, co.token, "RC");
    const R = await join(s.sessionId, s.invite.token, "R");
    const fac = await Client.connect(s.sessionId, s.ticket, "fac");
    const rcSocket = await Client.connect(s.sessionId, RC.ticket, "RC");
    const rSocket = await Client.connect(s.sessionId, R.ticket, "R");
    await rcSocket.next((m) => m.type === "snapshot");
    await rSocket.next((m) => m.type === "snapshot");
    await must(s.sessionId, { label: "F", memberId: s.memberId, ticket: s.ticket }, { type: "removeMember", memberId: RC.memberId });
    await must(s.sessionId, { label: "F", memberId: s.memberId, ticket: s.ticket }, { type: "removeMember", memberId: R.memberId });
    for (const c of [rcSocket, rSocket]) {
      for (let i = 0; i < 100 && !c.closed; i++) await new Promise((r) => setTimeout(r, 10));
      expect(c.closed).toEqual({ code: 4003, reason: "removed from the session" });
    }
    const seen = [rcSocket.messages.length, rSocket.messages.length];
    // Staff activity after the removal reaches nobody who was removed.
    await must(s.sessionId, { label: "F", memberId: s.memberId, ticket: s.ticket }, { type: "broadcast", text: "after the removal" });
    await fac.next((m) => m.type === "notice" && m.notice.kind === "broadcast");
    expect([rcSocket.messages.length, rSocket.messages.length]).toEqual(seen);

    for (const m of [RC, R]) {
      const u = await upgrade(s.sessionId, m.ticket);
      expect({ who: m.label, status: u.status, code: u.json.error.code }).toEqual({ who: m.label, status: 403, code: "FORBIDDEN" });
      const st = await api(`/api/sessions/${s.sessionId}`, { token: m.ticket });
      expect({ who: m.label, status: st.status, code: st.json.error.code }).toEqual({ who: m.label, status: 403, code: "FORBIDDEN" });
    }
    // The removed co-facilitator cannot invite or revoke any more.
    const inv = await api(`/api/sessions/${s.sessionId}/invites`, { token: RC.ticket, body: { role: "participant" } });
    expect({ status: inv.status, code: inv.json.error.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    const rev = await api(`/api/sessions/${s.sessionId}/invites/${s.invite.id}`, { method: "DELETE", token: RC.ticket });
    expect({ status: rev.status, code: rev.json.error.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    fac.close();
  });

  it("a denied guest re-joining with their guest credential is FORBIDDEN; without it they wait for a decision again", async () => {
    const s = await createSession();
    const d = await joinSession(s.sessionId, s.invite.token, "Dee");
    expect(d.status).toBe("waiting");
    const denied = await Client.connect(s.sessionId, d.ticket, "D");
    await denied.next((m) => m.type === "snapshot");
    await must(s.sessionId, { label: "F", memberId: s.memberId, ticket: s.ticket }, { type: "deny", memberId: d.memberId });
    for (let i = 0; i < 100 && !denied.closed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(denied.closed?.code).toBe(4003);
    const again = await api(`/api/sessions/${s.sessionId}/join`, { body: { invite: s.invite.token, name: "Dee", guestCredential: d.guestCredential } });
    expect({ status: again.status, code: again.json.error.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    const u = await upgrade(s.sessionId, d.ticket);
    expect({ status: u.status, code: u.json.error.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    // Guests are anonymous: without the credential it is another person to the session, and waits (autoAdmit is off).
    const other = await joinSession(s.sessionId, s.invite.token, "Dee");
    expect(other.status).toBe("waiting");
    expect(other.memberId).not.toBe(d.memberId);
  });

  it("a member who left must join again: upgrade 409 NOT_ADMITTED, commands FORBIDDEN", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const p = await joinSession(s.sessionId, s.invite.token, "Lee");
    await must(s.sessionId, { label: "P", memberId: p.memberId, ticket: p.ticket }, { type: "leave" });
    const u = await upgrade(s.sessionId, p.ticket);
    expect({ status: u.status, code: u.json.error.code }).toEqual({ status: 409, code: "NOT_ADMITTED" });
    const r = await api(`/api/sessions/${s.sessionId}/commands`, { token: p.ticket, body: { commandId: "after-leave-01", command: { type: "requestHelp" } } });
    expect({ status: r.status, code: r.json.error.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    expect((await stubFor(s.sessionId).debugState()).context!.members[p.memberId].status).toBe("left");
  });

  it("a WebSocket upgrade from a foreign page is refused even with a valid ticket; same origin is fine", async () => {
    const s = await createSession();
    const foreign = await upgrade(s.sessionId, s.ticket, { Origin: "https://evil.example" });
    expect({ status: foreign.status, code: foreign.json.error.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    const same = await upgrade(s.sessionId, s.ticket, { Origin: "https://mindbloom.test" });
    expect(same.status).toBe(101);
    same.ws!.close();
  });
});
