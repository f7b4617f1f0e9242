/**
 * /api/sessions: create, invite, join, read state, run commands (the same path as the WebSocket), the mirrors of
 * the original edge functions, media tokens, and the WebSocket upgrade.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { CommandOutcome, RpcResult } from "../../lib/errors";
import { AgreementHashSchema, MEDIA_TOKEN_LIMIT } from "../../lib/protocol";
import { CommandSchema, IdSchema, SettingsSchema, type Command, type ServerMessage } from "../../lib/protocol";
import { defaultMediaProvider, twilioConfigured } from "../../lib/twilio/config";
import { issueMemberTicket } from "../auth/app-tokens";
import { guestForGroupJoin, guestForJoin, type GuestJoin } from "../auth/guests";
import { groupOfSession, recordGroupMember } from "../auth/group-roster";
import { NOT_CURRENT_STAFF, staffStandingIn } from "../auth/staff";
import { createInvite, type CreatedInvite, revokeInvite, verifyInviteForJoin } from "../auth/invites";
import { verifyUserOrDevToken } from "../auth/app-tokens";
import { AuthError, cleanDisplayName, type UserPrincipal } from "../auth/user-tokens";
import { apiError } from "../middleware/security";
import { defaultRateLimitKey, rateLimit } from "../middleware/rate-limit";
import { bearer, refusalOf, requireMember, requireUser, sessionStub, statusFor, unwrap, type AppEnv, type MemberContext } from "../http";
import type { Bindings } from "../../lib/runtime/env";
import { validJson } from "../validate";
import { randomHex } from "../random";
import type { SessionRecord } from "../../lib/cost";

const Id = IdSchema;

const CreateSessionBody = z
  .object({
    title: z.string().trim().min(1).max(120),
    settings: SettingsSchema.partial().strict().optional(),
    mediaProvider: z.enum(["twilio", "local"]).optional(),
  })
  .strict();

const InviteBody = z
  .object({
    role: z.enum(["participant", "cofacilitator"]).default("participant"),
    expiresInSeconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 24 * 3600)
      .optional(),
  })
  .strict();

const JoinBody = z
  .object({
    invite: z.string().min(10).max(2048).optional(),
    name: z.string().trim().min(1).max(80).optional(),
    /** What a guest's earlier join returned: presented with an invite of the same session, the guest is that member again. */
    guestCredential: z.string().min(10).max(2048).optional(),
    /** What an earlier join of one of a recurring group's sessions returned: the same member of the group, next week. */
    groupCredential: z.string().min(10).max(2048).optional(),
    /** The group agreement accepted: the `agreement.hash` the preview gave (clients join only with the current one). */
    agreementHash: AgreementHashSchema.optional(),
    /** How a client appears to the other clients when the roster setting is "firstNames" or "aliases" (staff see both). */
    alias: z.string().trim().min(1).max(80).optional(),
    /** No longer accepted (a key the client chose was a password staff could read); answered with a clear refusal. */
    deviceKey: z.unknown().optional(),
  })
  .strict();

const PreviewBody = z.object({ invite: z.string().min(10).max(2048) }).strict();

const CommandBody = z.object({ commandId: z.string().min(8).max(64), command: CommandSchema }).strict();

// Bodies of the mirrors of the original edge functions.
const CreateRoomsBody = z
  .object({
    count: z.number().int().min(1).max(50).optional(),
    names: z.array(z.string().trim().min(1).max(80)).min(1).max(50).optional(),
    mode: z.enum(["auto", "manual", "choose"]).default("auto"),
    capacity: z.number().int().min(1).max(50).nullable().optional(),
    durationSeconds: z
      .number()
      .int()
      .min(30)
      .max(4 * 3600)
      .nullable()
      .optional(),
    includeStaff: z.array(Id).max(50).optional(),
    /** Open the rooms right away (the original create-breakout-room did both). */
    open: z.boolean().optional(),
  })
  .strict();
const MoveBody = z.object({ memberId: Id, to: Id }).strict();
const BulkBody = z
  .object({
    assignments: z
      .array(z.object({ memberId: Id, roomId: Id.nullable() }).strict())
      .min(1)
      .max(50),
  })
  .strict();

const newSessionId = () => randomHex(10);

export function baseUrl(c: { env: { PUBLIC_BASE_URL?: string }; req: { url: string } }) {
  return (c.env.PUBLIC_BASE_URL || new URL(c.req.url).origin).replace(/\/$/, "");
}

function inviteUrl(c: { env: { PUBLIC_BASE_URL?: string }; req: { url: string } }, sessionId: string, token: string) {
  return `${baseUrl(c)}/join/${sessionId}?invite=${encodeURIComponent(token)}`;
}

/** The invite as the API answers it: the long link (the token inside) and the short one (/i/<code>). */
function invitePayload(c: { env: { PUBLIC_BASE_URL?: string }; req: { url: string } }, invite: CreatedInvite) {
  return {
    id: invite.inviteId,
    token: invite.token,
    url: inviteUrl(c, invite.sessionId, invite.token),
    shortUrl: `${baseUrl(c)}/i/${invite.shortCode}`,
    expiresAt: invite.expiresAt,
  };
}

/** Run one command for the calling member; the answer is the same whether it came over HTTP or the socket. */
async function runCommand(c: MemberContext, command: Command, commandId?: string) {
  const member = c.var.member;
  const id = commandId ?? c.req.header("Idempotency-Key") ?? crypto.randomUUID();
  const outcome = (await sessionStub(c.env, member.sessionId).command(member.memberId, id, command, "http")) as CommandOutcome;
  if (outcome.ok) return c.json({ ack: { commandId: id, seq: outcome.seq, duplicate: outcome.duplicate } });
  // Over the member's message budget (shared with their sockets): 429 with when to try again.
  const retry = (outcome.error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
  const headers = outcome.error.code === "RATE_LIMITED" && retry ? { "Retry-After": String(retry) } : undefined;
  return apiError(c, statusFor(outcome.error.code), outcome.error.code, outcome.error.message, outcome.error.details, headers);
}

/** Rate-limit key for the routes anyone holding an invite reaches: the session and the caller's network. */
const perSessionKey = (c: Context) => `session:${c.req.param("id")}:${defaultRateLimitKey(c)}`;

export const sessions = new Hono<AppEnv>();

sessions.post("/", requireUser, rateLimit({ binding: "RL_SESSIONS", scope: "create" }), validJson(CreateSessionBody), async (c) => {
  const user = c.var.principal;
  if (user.appRole !== "facilitator") return apiError(c, 403, "FORBIDDEN", "only facilitators create sessions");
  const created = await createSessionFor(c, user, c.req.valid("json"));
  if (created.refused !== undefined) return apiError(c, 409, "MEDIA_PROVIDER_ERROR", created.refused);
  return c.json(created, 201);
});

export type CreateSessionInput = z.infer<typeof CreateSessionBody>;

/**
 * A new session with `user` as its facilitator: the session object, their ticket and a participant invite (what
 * POST /api/sessions answers; session plans and recurring groups start sessions the same way), or why the media
 * provider asked for cannot be used (409 MEDIA_PROVIDER_ERROR).
 */
export async function createSessionFor(c: { env: Bindings; req: { url: string } }, user: UserPrincipal, body: CreateSessionInput) {
  let provider = body.mediaProvider ?? defaultMediaProvider(c.env);
  if (provider === "twilio" && !twilioConfigured(c.env)) return { refused: "Twilio is not configured on this deployment" } as const;
  if (provider === "local" && twilioConfigured(c.env) && c.env.APP_ENV !== "development") provider = "twilio";
  const sessionId = newSessionId();
  const identity = `user:${user.userId}`;
  const seed = crypto.getRandomValues(new Uint32Array(1))[0];
  const { memberId } = unwrap(
    await sessionStub(c.env, sessionId).initialize({
      sessionId,
      title: body.title,
      createdBy: identity,
      facilitatorName: user.name,
      settings: body.settings,
      mediaProvider: provider,
      seed,
    }),
  );
  const ticket = await issueMemberTicket(c.env, { sessionId, memberId, role: "facilitator", name: user.name });
  const invite = await createInvite(c.env, { sessionId, role: "participant", createdBy: identity });
  return {
    sessionId,
    memberId,
    mediaProvider: provider,
    ticket: ticket.token,
    ticketExpiresAt: ticket.expiresAt,
    invite: invitePayload(c, invite),
  };
}

sessions.post("/:id/invites", requireMember, validJson(InviteBody), async (c) => {
  const member = c.var.member;
  const body = c.req.valid("json");
  const info = await sessionStub(c.env, member.sessionId).memberInfo(member.memberId);
  if (info?.ended) return apiError(c, 409, "SESSION_ENDED", "the session has ended");
  if (!info || info.role === "participant" || info.status !== "admitted") return apiError(c, 403, "FORBIDDEN", "only facilitators invite people");
  if (body.role === "cofacilitator" && info.role !== "facilitator") return apiError(c, 403, "FORBIDDEN", "only the facilitator invites co-facilitators");
  const invite = await createInvite(c.env, { sessionId: member.sessionId, role: body.role, createdBy: member.memberId }, { ttlSeconds: body.expiresInSeconds });
  return c.json({ ...invitePayload(c, invite), role: body.role }, 201);
});

sessions.delete("/:id/invites/:inviteId", requireMember, async (c) => {
  const member = c.var.member;
  const info = await sessionStub(c.env, member.sessionId).memberInfo(member.memberId);
  if (!info || info.role === "participant" || info.status !== "admitted") return apiError(c, 403, "FORBIDDEN", "only facilitators revoke invites");
  const inviteId = c.req.param("inviteId");
  if (!Id.safeParse(inviteId).success) return apiError(c, 404, "NOT_FOUND", "no such invite");
  const result = await revokeInvite(c.env.DB, member.sessionId, inviteId);
  return c.json({ revoked: true, ...result });
});

// Per session and network too: twelve clients of a residential programme join from one address within a minute.
sessions.post("/:id/join", rateLimit({ binding: "RL_SIGNIN", scope: "join", key: perSessionKey }), validJson(JoinBody), async (c) => {
  const sessionId = c.req.param("id");
  const body = c.req.valid("json");
  if (body.deviceKey !== undefined) {
    return apiError(c, 400, "INVALID_MESSAGE", "deviceKey: no longer accepted; a guest re-joins with the guestCredential their first join returned");
  }
  const userToken = bearer(c);
  const user = userToken ? await verifyUserOrDevToken(c.env, userToken) : null;
  for (const field of ["guestCredential", "groupCredential"] as const) {
    if (user && body[field] !== undefined) return apiError(c, 400, "INVALID_MESSAGE", `${field}: only for guests; a signed-in user joins as themselves`);
    if (!body.invite && body[field] !== undefined) {
      return apiError(c, 401, "UNAUTHENTICATED", "an invite link is needed to join; a guest credential only works with one", { field: "invite" });
    }
  }
  if (body.guestCredential !== undefined && body.groupCredential !== undefined) {
    return apiError(c, 400, "INVALID_MESSAGE", "groupCredential: send it or the guestCredential, not both (the group's names the same guest)");
  }
  const stub = sessionStub(c.env, sessionId);

  let identity: string;
  let role: "participant" | "cofacilitator" | "facilitator";
  let guest: GuestJoin | null = null;
  let inviteId: string | undefined;
  let groupId: string | null = null;
  if (body.invite) {
    const { claims } = await verifyInviteForJoin(c.env, body.invite, sessionId);
    role = claims.role;
    inviteId = claims.inviteId;
    if (user) identity = `user:${user.userId}`;
    else {
      // The Worker picks a guest's identity; a re-join proves it with the credential issued then. A refused credential
      // is answered as such (details.field says which), so the browser can forget it and join as a new guest.
      // In a recurring group's session the guest is a member of the group: a group credential recognises them.
      groupId = await groupOfSession(c.env.DB, sessionId);
      const field = body.groupCredential !== undefined ? "groupCredential" : "guestCredential";
      try {
        if (groupId && body.guestCredential === undefined) guest = await guestForGroupJoin(c.env, claims, groupId, body.groupCredential);
        else if (body.groupCredential !== undefined) throw new AuthError("UNAUTHENTICATED", "this session is not one of that group's", { reason: "group" });
        else guest = await guestForJoin(c.env, claims, body.guestCredential, groupId);
      } catch (err) {
        if (err instanceof AuthError) return apiError(c, err.status, err.code, `${field}: ${err.message}`, { field });
        throw err;
      }
      identity = guest.identity;
    }
  } else if (user) {
    // Without an invite only the session's own facilitator may (re)join.
    identity = `user:${user.userId}`;
    role = "facilitator";
  } else {
    return apiError(c, 401, "UNAUTHENTICATED", "an invite link is needed to join");
  }
  // Cleaned before anything is created: a name of invisible characters must not make a nameless member.
  const name = cleanDisplayName(body.name ?? user?.name);
  if (!name) return apiError(c, 400, "INVALID_MESSAGE", "name: a display name is required");
  // Without an invite, only the session's creator may (re)join: the session checks.
  const joined = unwrap(
    await stub.join({
      identity,
      name,
      role,
      inviteId: inviteId ?? null,
      asCreator: !body.invite,
      agreementHash: body.agreementHash ?? null,
      alias: body.alias ?? null,
    }),
  );
  const ticket = await issueMemberTicket(c.env, { sessionId, memberId: joined.memberId, role: joined.role, name });
  if (body.invite && joined.role === "participant") {
    groupId ??= await groupOfSession(c.env.DB, sessionId);
    if (groupId) await recordGroupMember(c.env.DB, groupId, identity, name);
  }
  return c.json({
    memberId: joined.memberId,
    status: joined.status,
    role: joined.role,
    joinNote: joined.joinNote,
    ticket: ticket.token,
    ticketExpiresAt: ticket.expiresAt,
    ...(guest ? { guestCredential: guest.credential.token, guestCredentialExpiresAt: guest.credential.expiresAt } : {}),
    ...(guest?.groupCredential ? { groupId, groupCredential: guest.groupCredential.token, groupCredentialExpiresAt: guest.groupCredential.expiresAt } : {}),
  });
});

/** The signed-in facilitator's sessions, newest first (from D1: what the session record holds). */
sessions.get("/", requireUser, async (c) => {
  const user = c.var.principal;
  const { results } = await c.env.DB.prepare(
    `SELECT id, title, phase, media_provider AS mediaProvider, created_at AS createdAt, ended_at AS endedAt, rounds_completed AS roundsCompleted
     FROM sessions WHERE created_by = ?1 ORDER BY created_at DESC LIMIT 50`,
  )
    .bind(`user:${user.userId}`)
    .all<SessionRecord>();
  return c.json({ sessions: results }, 200, { "Cache-Control": "no-store" });
});

/**
 * What someone holding an invite may know before joining: the session's title, the facilitator's name, whether it is
 * still on, and the group agreement (text and SHA-256) they accept to join. Nothing else (no one's names, no state).
 */
// The door (preview, declining the agreement, resolving a short link) has its own scope: a page reads the preview
// before every join, and a group joining from one clinic network would otherwise spend the join limit twice over.
// It counts per session and network, so one clinic running several groups at once does not lock the others out.
const doorLimit = rateLimit({ binding: "RL_SIGNIN", scope: "door", key: perSessionKey });
sessions.post("/:id/preview", doorLimit, validJson(PreviewBody), async (c) => {
  const sessionId = c.req.param("id");
  await verifyInviteForJoin(c.env, c.req.valid("json").invite, sessionId);
  return c.json(unwrap(await sessionStub(c.env, sessionId).preview()), 200, { "Cache-Control": "no-store" });
});

/** Someone holding an invite declined the group agreement: counted by the session, nothing else kept (no name, no identity). */
sessions.post("/:id/agreement/decline", doorLimit, validJson(PreviewBody), async (c) => {
  const sessionId = c.req.param("id");
  await verifyInviteForJoin(c.env, c.req.valid("json").invite, sessionId);
  return c.json(unwrap(await sessionStub(c.env, sessionId).declineAgreement()));
});

sessions.get("/:id", requireMember, async (c) => {
  const member = c.var.member;
  const snap = unwrap((await sessionStub(c.env, member.sessionId).state(member.memberId)) as RpcResult<ServerMessage>);
  if (snap.type !== "snapshot") return apiError(c, 500, "INTERNAL", "unexpected state");
  // A member's ticket outlives their membership; the session's record decides. The whole session is for staff taking
  // part now (worker/auth/staff.ts): not one who was removed, left, or waits for a place.
  if (snap.staff) {
    const standing = staffStandingIn(snap.staff, member.memberId);
    if (standing.current) return c.json({ seq: snap.seq, staff: snap.staff });
    if (standing.why === "denied") return apiError(c, 403, "FORBIDDEN", "you were not admitted to this session");
    return apiError(c, 409, "NOT_ADMITTED", NOT_CURRENT_STAFF[standing.why]);
  }
  if (snap.view?.you.status === "denied") return apiError(c, 403, "FORBIDDEN", "you were not admitted to this session");
  return c.json({ seq: snap.seq, view: snap.view });
});

sessions.post("/:id/commands", requireMember, validJson(CommandBody), async (c) => {
  const body = c.req.valid("json");
  return runCommand(c, body.command, body.commandId);
});

// Mirrors of the original Supabase edge functions, on the same command path.
sessions.post("/:id/breakout-rooms", requireMember, validJson(CreateRoomsBody), async (c) => {
  const { open, ...rest } = c.req.valid("json");
  if ((rest.count === undefined) === (rest.names === undefined)) return apiError(c, 400, "INVALID_MESSAGE", "give either count or names");
  const created = await runCommand(c, { type: "createBreakouts", ...rest });
  if (!open || created.status !== 200) return created;
  const key = c.req.header("Idempotency-Key");
  return runCommand(c, { type: "openBreakouts" }, key ? `${key}:open` : undefined);
});
sessions.post("/:id/breakout-rooms/:roomId/close", requireMember, async (c) => {
  const roomId = c.req.param("roomId");
  if (!Id.safeParse(roomId).success) return apiError(c, 400, "INVALID_MESSAGE", "roomId: ids are letters, digits and _ . : @ -");
  return runCommand(c, { type: "closeRoom", roomId });
});
sessions.post("/:id/move-participant", requireMember, validJson(MoveBody), async (c) => runCommand(c, { type: "move", ...c.req.valid("json") }));
sessions.post("/:id/bulk-assign", requireMember, validJson(BulkBody), async (c) => runCommand(c, { type: "bulkAssign", ...c.req.valid("json") }));
sessions.post("/:id/end", requireMember, async (c) => runCommand(c, { type: "endSession" }));

/**
 * The original twilio-video-token: a grant for exactly the room the member belongs in now. The session counts each
 * member's requests (MEDIA_TOKEN_LIMIT: exact, per session and member, no extra call); over the limit it is 429.
 */
sessions.post("/:id/media-token", requireMember, async (c) => {
  const member = c.var.member;
  const result = await sessionStub(c.env, member.sessionId).mediaGrant(member.memberId);
  const refusal = refusalOf(result);
  if (refusal?.code === "RATE_LIMITED") {
    const { windowMs } = MEDIA_TOKEN_LIMIT;
    const retryAfterSeconds = Math.max(1, Math.ceil((windowMs - (Date.now() % windowMs)) / 1000));
    return apiError(c, 429, "RATE_LIMITED", refusal.message, { retryAfterSeconds }, { "Retry-After": String(retryAfterSeconds) });
  }
  const placement = unwrap(result);
  return c.json({ ...placement.media, location: placement.location, roomName: placement.roomName });
});

sessions.get("/:id/ws", requireMember, async (c) => {
  if (c.req.header("Upgrade") !== "websocket") return apiError(c, 426, "INVALID_MESSAGE", "expected a WebSocket upgrade");
  const member = c.var.member;
  const url = new URL(c.req.url);
  url.searchParams.delete("ticket");
  // Only the Worker sets who the member is; nothing the client sends can.
  const headers = new Headers({ Upgrade: "websocket", "x-mb-member": member.memberId });
  for (const h of ["Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"]) {
    const v = c.req.header(h);
    if (v) headers.set(h, v);
  }
  return sessionStub(c.env, member.sessionId).fetch(new Request(url.toString(), { headers }));
});
