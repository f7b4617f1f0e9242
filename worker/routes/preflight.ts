/**
 * POST /api/sessions/:id/preflight-token — what the "test my camera and connection" step needs before joining:
 * `{ provider: "local" }`, or in Twilio mode a short-lived access token for twilio-video's `runPreflight` (which only
 * fetches TURN credentials through Twilio's signaling and loops media between two local peer connections; it joins no
 * room). Proof of being invited is enough: an invite of this session (`{ invite }`, as the join page has it) or a member
 * ticket (Authorization). The grant names a room nobody creates (`mb-<session>-preflight-<random>`) under an identity
 * of its own, so the token opens no session room and cannot displace anyone (53205). Rate-limited like joins.
 */
import { Hono } from "hono";
import { z } from "zod";
import { mediaRoomName } from "../../lib/protocol";
import { twilioConfigured } from "../../lib/twilio/config";
import { TwilioTokenSigner } from "../../lib/twilio/token";
import { verifyMemberTicket } from "../auth/app-tokens";
import { verifyInviteForJoin } from "../auth/invites";
import { bearer, sessionStub, type AppEnv } from "../http";
import { apiError } from "../middleware/security";
import { rateLimit } from "../middleware/rate-limit";
import { validJson } from "../validate";

export const PREFLIGHT_TOKEN_TTL_SECONDS = 600;

const Body = z.object({ invite: z.string().min(10).max(2048).optional() }).strict();

export const preflight = new Hono<AppEnv>();

preflight.post("/:id/preflight-token", rateLimit({ binding: "RL_SIGNIN", scope: "preflight" }), validJson(Body), async (c) => {
  const sessionId = c.req.param("id");
  const ticket = bearer(c);
  const invite = c.req.valid("json").invite;
  if (ticket) await verifyMemberTicket(c.env, ticket, sessionId);
  else if (invite) await verifyInviteForJoin(c.env, invite, sessionId);
  else return apiError(c, 401, "UNAUTHENTICATED", "an invite of this session or a member ticket is required");
  const stub = sessionStub(c.env, sessionId);
  if (!(await stub.preview()).ok) return apiError(c, 404, "NOT_FOUND", "no such session");
  // The session's own provider decides; a deployment without Twilio only has local sessions.
  if (!twilioConfigured(c.env)) return c.json({ provider: "local", token: null, expiresAt: null }, 200, { "Cache-Control": "no-store" });
  const providerOf = () => c.env.DB.prepare(`SELECT media_provider FROM sessions WHERE id = ?`).bind(sessionId).first<{ media_provider: string }>();
  // A session created a moment ago may not have its D1 row yet: the session writes it now.
  let state = await providerOf();
  if (!state) {
    await stub.flushOutbox();
    state = await providerOf();
  }
  if (state?.media_provider === "local") return c.json({ provider: "local", token: null, expiresAt: null }, 200, { "Cache-Control": "no-store" });
  const random = crypto.randomUUID().slice(0, 8);
  const signer = new TwilioTokenSigner({
    accountSid: c.env.TWILIO_ACCOUNT_SID ?? "",
    apiKeySid: c.env.TWILIO_API_KEY_SID ?? "",
    apiKeySecret: c.env.TWILIO_API_KEY_SECRET ?? "",
    ttlSeconds: PREFLIGHT_TOKEN_TTL_SECONDS,
  });
  const t = await signer.sign({ identity: `preflight-${random}`, room: mediaRoomName(sessionId, `preflight-${random}`) });
  return c.json({ provider: "twilio", token: t.token, expiresAt: t.expiresAt }, 200, { "Cache-Control": "no-store" });
});
