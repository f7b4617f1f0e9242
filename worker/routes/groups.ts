/**
 * Recurring groups (docs/protocol.md 17.7): a facilitator's standing group, stored in D1 (`therapy_groups`,
 * `group_sessions`, `group_members`).
 * - GET    /api/groups                     the caller's groups, newest first
 * - POST   /api/groups                     a new group                       { name, planId? }
 * - GET    /api/groups/:groupId            the group and its attendance history
 * - PATCH  /api/groups/:groupId            rename it, set or clear its plan   { name?, planId? }
 * - POST   /api/groups/:groupId/link       replace the standing link (the old one stops working)
 * - POST   /api/groups/:groupId/sessions   this week's session                { title?, settings?, mediaProvider? }
 * - GET    /api/group-links/:code          public: the standing link resolved to the current session's invite
 *
 * Signed-in facilitators only, each their own groups: anyone else's answers 404 NOT_FOUND, as one that does not exist.
 * How a returning guest is recognised (the group credential) is the join's business: worker/routes/sessions.ts.
 */
import { Hono } from "hono";
import { z } from "zod";
import { buildReport, priceNanosFrom } from "../../lib/cost";
import { buildGroupHistory, GROUP_HISTORY_SESSIONS, type GroupHistoryInput, type GroupLinkAnswer, type GroupSummary } from "../../lib/groups";
import { IdSchema } from "../../lib/protocol";
import type { Bindings } from "../../lib/runtime/env";
import { inviteTokenFor } from "../auth/invites";
import { requireFacilitator, requireUser, sessionStub, statusFor, type AppEnv, type UserEnv } from "../http";
import { apiError } from "../middleware/security";
import { defaultRateLimitKey, rateLimit } from "../middleware/rate-limit";
import { validJson } from "../validate";
import { randomBase64url, randomHex } from "../random";
import { ownPlan, StartSessionBody, startSessionFromPlan } from "./plans";
import { baseUrl, createSessionFor } from "./sessions";
import { rowsOfSessions, sessionNow } from "./reports";

interface GroupRow {
  id: string;
  owner: string;
  owner_name: string;
  name: string;
  link_code: string;
  plan_id: string | null;
  created_at: number;
  updated_at: number;
}

const GroupName = z.string().trim().min(1).max(120);
const CreateBody = z.object({ name: GroupName, planId: IdSchema.optional() }).strict();
const UpdateBody = z
  .object({ name: GroupName.optional(), planId: IdSchema.nullable().optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.planId !== undefined, { message: "give name or planId" });

/** 22 base64url characters, 128 random bits: the standing link is a bearer credential, like an invite token. */
export const GROUP_LINK_RE = /^[A-Za-z0-9_-]{22}$/;
const newLinkCode = () => randomBase64url(16);
const newGroupId = () => `grp_${randomHex(9)}`;

const NO_STORE = { "Cache-Control": "no-store" };
const NOT_FOUND = "no such group";
const COLUMNS = "id, owner, owner_name, name, link_code, plan_id, created_at, updated_at";
const ownerOf = (c: { var: UserEnv["Variables"] }) => `user:${c.var.principal.userId}`;

/**
 * The session of the group still running, if any: its latest, unless D1 records it ended. A session started a moment
 * ago may not have its `sessions` row yet (the outbox writes it), and counts as running.
 */
const CURRENT_SQL = `SELECT gs.session_id AS sessionId, gs.invite_id AS inviteId, gs.started_at AS startedAt, s.title AS title
  FROM group_sessions gs LEFT JOIN sessions s ON s.id = gs.session_id
  WHERE gs.group_id = ?1 AND s.ended_at IS NULL AND (s.phase IS NULL OR s.phase <> 'ended')
  ORDER BY gs.started_at DESC LIMIT 1`;
interface CurrentRow {
  sessionId: string;
  inviteId: string;
  startedAt: number;
  title: string | null;
}

/** CURRENT_SQL, confirmed with the session itself: D1 learns that a session ended through its outbox, a moment later. */
async function currentSession(env: Bindings, groupId: string): Promise<CurrentRow | null> {
  const row = await env.DB.prepare(CURRENT_SQL).bind(groupId).first<CurrentRow>();
  if (!row) return null;
  const preview = await sessionStub(env, row.sessionId).preview();
  return preview.ok && !preview.value.ended ? row : null;
}

async function ownGroup(env: Bindings, owner: string, groupId: string): Promise<GroupRow | null> {
  if (!IdSchema.safeParse(groupId).success) return null;
  return env.DB.prepare(`SELECT ${COLUMNS} FROM therapy_groups WHERE id = ?1 AND owner = ?2`).bind(groupId, owner).first<GroupRow>();
}

async function summaries(env: Bindings, url: string, rows: GroupRow[]): Promise<GroupSummary[]> {
  if (rows.length === 0) return [];
  const statements = rows.flatMap((g) => [
    env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM group_sessions WHERE group_id = ?1) AS sessions, (SELECT COUNT(*) FROM group_members WHERE group_id = ?1) AS members`,
    ).bind(g.id),
    env.DB.prepare(CURRENT_SQL).bind(g.id),
  ]);
  const results = await env.DB.batch(statements);
  const base = baseUrl({ env, req: { url } });
  return rows.map((g, i) => {
    const counts = (results[2 * i].results[0] ?? { sessions: 0, members: 0 }) as { sessions: number; members: number };
    const current = results[2 * i + 1].results[0] as CurrentRow | undefined;
    return {
      id: g.id,
      name: g.name,
      planId: g.plan_id,
      linkUrl: `${base}/g/${g.link_code}`,
      createdAt: g.created_at,
      sessions: counts.sessions,
      members: counts.members,
      current: current ? { sessionId: current.sessionId, title: current.title ?? g.name, startedAt: current.startedAt } : null,
    };
  });
}

export const groups = new Hono<AppEnv>();

groups.get("/", requireUser, requireFacilitator, async (c) => {
  const { results } = await c.env.DB.prepare(`SELECT ${COLUMNS} FROM therapy_groups WHERE owner = ?1 ORDER BY created_at DESC, id LIMIT 100`)
    .bind(ownerOf(c))
    .all<GroupRow>();
  return c.json({ groups: await summaries(c.env, c.req.url, results) }, 200, NO_STORE);
});

groups.post("/", requireUser, requireFacilitator, validJson(CreateBody), async (c) => {
  const body = c.req.valid("json");
  if (body.planId !== undefined && !(await ownPlan(c.env, ownerOf(c), body.planId))) return apiError(c, 404, "NOT_FOUND", "planId: no such plan");
  const now = Date.now();
  const row: GroupRow = {
    id: newGroupId(),
    owner: ownerOf(c),
    owner_name: c.var.principal.name,
    name: body.name,
    link_code: newLinkCode(),
    plan_id: body.planId ?? null,
    created_at: now,
    updated_at: now,
  };
  await c.env.DB.prepare(`INSERT INTO therapy_groups (${COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`)
    .bind(row.id, row.owner, row.owner_name, row.name, row.link_code, row.plan_id, row.created_at, row.updated_at)
    .run();
  const [group] = await summaries(c.env, c.req.url, [row]);
  return c.json({ group }, 201);
});

groups.get("/:groupId", requireUser, requireFacilitator, async (c) => {
  const group = await ownGroup(c.env, ownerOf(c), c.req.param("groupId"));
  if (!group) return apiError(c, 404, "NOT_FOUND", NOT_FOUND);
  const past = await history(c.env, group.id);
  const [summary] = await summaries(c.env, c.req.url, [group]);
  return c.json({ group: summary, ...past }, 200, NO_STORE);
});

groups.patch("/:groupId", requireUser, requireFacilitator, validJson(UpdateBody), async (c) => {
  const group = await ownGroup(c.env, ownerOf(c), c.req.param("groupId"));
  if (!group) return apiError(c, 404, "NOT_FOUND", NOT_FOUND);
  const body = c.req.valid("json");
  if (body.planId && !(await ownPlan(c.env, ownerOf(c), body.planId))) return apiError(c, 404, "NOT_FOUND", "planId: no such plan");
  const next: GroupRow = { ...group, name: body.name ?? group.name, plan_id: body.planId === undefined ? group.plan_id : body.planId, updated_at: Date.now() };
  await c.env.DB.prepare(`UPDATE therapy_groups SET name = ?1, plan_id = ?2, updated_at = ?3 WHERE id = ?4 AND owner = ?5`)
    .bind(next.name, next.plan_id, next.updated_at, group.id, group.owner)
    .run();
  const [summary] = await summaries(c.env, c.req.url, [next]);
  return c.json({ group: summary });
});

groups.post("/:groupId/link", requireUser, requireFacilitator, async (c) => {
  const group = await ownGroup(c.env, ownerOf(c), c.req.param("groupId"));
  if (!group) return apiError(c, 404, "NOT_FOUND", NOT_FOUND);
  const next: GroupRow = { ...group, link_code: newLinkCode(), updated_at: Date.now() };
  await c.env.DB.prepare(`UPDATE therapy_groups SET link_code = ?1, updated_at = ?2 WHERE id = ?3 AND owner = ?4`)
    .bind(next.link_code, next.updated_at, group.id, group.owner)
    .run();
  const [summary] = await summaries(c.env, c.req.url, [next]);
  return c.json({ group: summary });
});

groups.post(
  "/:groupId/sessions",
  requireUser,
  requireFacilitator,
  rateLimit({ binding: "RL_SESSIONS", scope: "create" }),
  validJson(StartSessionBody),
  async (c) => {
    const user = c.var.principal;
    const group = await ownGroup(c.env, ownerOf(c), c.req.param("groupId"));
    if (!group) return apiError(c, 404, "NOT_FOUND", NOT_FOUND);
    const running = await currentSession(c.env, group.id);
    if (running) {
      return apiError(c, 409, "INVALID_STATE", "this group's session is still running: open it, or end it before starting the next", {
        sessionId: running.sessionId,
      });
    }
    const body = c.req.valid("json");
    const title = body.title ?? `${group.name} — ${new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric" }).format(Date.now())}`;
    // A plan deleted since it was chosen leaves the group without one: the session starts plain.
    const plan = group.plan_id ? await ownPlan(c.env, group.owner, group.plan_id) : null;
    const created = plan ? await startSessionFromPlan(c.env, c.req.url, user, plan, { ...body, title }) : await createSessionFor(c, user, { ...body, title });
    if (created.refused !== undefined) {
      const refused = typeof created.refused === "string" ? { code: "MEDIA_PROVIDER_ERROR" as const, message: created.refused } : created.refused;
      return apiError(c, statusFor(refused.code), refused.code, refused.message);
    }
    await c.env.DB.prepare(`INSERT INTO group_sessions (session_id, group_id, invite_id, started_at) VALUES (?1, ?2, ?3, ?4)`)
      .bind(created.sessionId, group.id, created.invite.id, Date.now())
      .run();
    // The console offers the group's standing link, the one clients keep, beside the session's own invite.
    return c.json({ ...created, groupId: group.id, group: { id: group.id, name: group.name, linkUrl: `${baseUrl(c)}/g/${group.link_code}` } }, 201);
  },
);

/** The attendance history: the group's last sessions, each one's report as its attendance record computes it. */
async function history(env: Bindings, groupId: string) {
  // A session D1 still records as running may have newer rows (or its end) in its outbox.
  const running = await env.DB.prepare(CURRENT_SQL).bind(groupId).first<CurrentRow>();
  if (running)
    await sessionStub(env, running.sessionId)
      .flushOutbox()
      .catch(() => undefined);
  const [{ results: sessionRows }, { results: members }] = await env.DB.batch([
    env.DB.prepare(`SELECT session_id, started_at FROM group_sessions WHERE group_id = ?1 ORDER BY started_at DESC LIMIT ${GROUP_HISTORY_SESSIONS}`).bind(
      groupId,
    ),
    env.DB.prepare(`SELECT identity, display_name, first_seen_at, last_seen_at FROM group_members WHERE group_id = ?1`).bind(groupId),
  ]);
  const started = sessionRows as unknown as { session_id: string; started_at: number }[];
  const rows = await rowsOfSessions(
    env,
    started.map((row) => row.session_id),
  );
  const priceNanos = priceNanosFrom(env.PRICE_PER_PARTICIPANT_MINUTE);
  const sessions = await Promise.all(
    started.map(async ({ session_id: sessionId, started_at: startedAt }) => {
      const of = rows.get(sessionId);
      const now = of ? (of.session.ended_at ?? (await sessionNow(env, sessionId))) : 0;
      return { sessionId, startedAt, report: of ? buildReport({ ...of, now, priceNanos }) : null };
    }),
  );
  return buildGroupHistory({
    sessions,
    members: members as unknown as GroupHistoryInput["members"],
    participants: [...rows.values()].flatMap((of) => of.members.map((m) => ({ session_id: of.session.id, member_id: m.member_id, identity: m.identity }))),
  });
}

/** The standing link: public (its code is the credential) and counted like the session door, per link and network. */
export const groupLinks = new Hono<AppEnv>();

groupLinks.get(
  "/:code",
  rateLimit({ binding: "RL_SIGNIN", scope: "door", key: (c) => `group:${c.req.param("code")}:${defaultRateLimitKey(c)}` }),
  async (c) => {
    const code = c.req.param("code");
    const gone = () => apiError(c, 404, "NOT_FOUND", "this group link is not (or no longer) in use; ask your therapist for the current one");
    if (!GROUP_LINK_RE.test(code)) return gone();
    const group = await c.env.DB.prepare(`SELECT ${COLUMNS} FROM therapy_groups WHERE link_code = ?1`).bind(code).first<GroupRow>();
    if (!group) return gone();
    const current = await currentSession(c.env, group.id);
    let session: GroupLinkAnswer["session"] = null;
    if (current) {
      // The facilitator may have revoked the session's invite; then there is nothing to hand out until the next session.
      const invite = await inviteTokenFor(c.env, current.inviteId).catch(() => null);
      if (invite) session = { sessionId: current.sessionId, title: current.title ?? group.name, invite: invite.invite };
    }
    return c.json({ groupId: group.id, groupName: group.name, facilitatorName: group.owner_name, session } satisfies GroupLinkAnswer, 200, NO_STORE);
  },
);
