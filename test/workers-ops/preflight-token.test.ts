/** The pre-join connection check's token (worker/routes/preflight.ts): invite or ticket only, a room nobody uses. */
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { api, createSession } from "../workers/helpers";

describe("POST /api/sessions/:id/preflight-token", () => {
  it("Twilio session: a short token bound to a preflight room under its own identity; local session: no token", async () => {
    const s = await createSession({ mediaProvider: "twilio" });
    const r = await api(`/api/sessions/${s.sessionId}/preflight-token`, { body: { invite: s.invite.token } });
    expect(r.status).toBe(200);
    expect(r.json.provider).toBe("twilio");
    const claims = decodeJwt(r.json.token) as any;
    expect(claims.grants.identity).toMatch(/^preflight-[0-9a-f]{8}$/);
    expect(claims.grants.video.room).toBe(`mb-${s.sessionId}-${claims.grants.identity}`);
    expect(claims.exp - claims.iat).toBe(600);
    // A member ticket works too.
    expect((await api(`/api/sessions/${s.sessionId}/preflight-token`, { body: {}, token: s.ticket })).json.provider).toBe("twilio");

    const local = await createSession({ mediaProvider: "local" });
    expect((await api(`/api/sessions/${local.sessionId}/preflight-token`, { body: { invite: local.invite.token } })).json).toEqual({
      provider: "local",
      token: null,
      expiresAt: null,
    });
  });

  it("refuses without proof, with another session's invite, and for no session", async () => {
    const a = await createSession({ mediaProvider: "twilio" });
    const b = await createSession({ mediaProvider: "twilio" });
    expect((await api(`/api/sessions/${a.sessionId}/preflight-token`, { body: {} })).status).toBe(401);
    expect((await api(`/api/sessions/${a.sessionId}/preflight-token`, { body: { invite: b.invite.token } })).json.error.code).toBe("WRONG_SESSION");
    expect((await api(`/api/sessions/${a.sessionId}/preflight-token`, { body: { invite: "not-a-token-at-all" } })).status).toBe(401);
  });
});
