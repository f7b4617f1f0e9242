/**
 * /api/plans: a facilitator's session plans (ordered steps, lib/protocol.ts PlanBodySchema), stored in D1
 * (`session_plans`), and sessions started from one.
 * - GET    /                  the caller's plans, newest first
 * - POST   /                  save a new plan                       { name, steps }
 * - GET    /:planId           one plan
 * - PUT    /:planId           replace its name and steps           { name, steps }
 * - DELETE /:planId           delete it
 * - POST   /:planId/sessions  start a session from it (as POST /api/sessions, then the plan is loaded into the session:
 *                             staff run it with the "nextStep" command)   { title?, settings?, mediaProvider? }
 *
 * Signed-in facilitators only (user token); a plan is its owner's alone: anyone else's plan answers 404 NOT_FOUND, as
 * one that does not exist (a plan's existence is not disclosed).
 */
import { Hono } from "hono";
import { z } from "zod";
import type { CommandOutcome } from "../../lib/errors";
import { IdSchema, PlanBodySchema, PlanStepSchema, SettingsSchema, type PlanBody, type PlanStep } from "../../lib/protocol";
import type { Bindings } from "../../lib/runtime/env";
import { requireFacilitator, requireUser, sessionStub, statusFor, type AppEnv, type UserEnv } from "../http";
import { apiError } from "../middleware/security";
import { rateLimit } from "../middleware/rate-limit";
import { validJson } from "../validate";
import { randomHex } from "../random";
import { createSessionFor } from "./sessions";

export interface PlanRecord {
  id: string;
  name: string;
  steps: PlanStep[];
  createdAt: number;
  updatedAt: number;
}

interface PlanRow {
  id: string;
  owner: string;
  name: string;
  steps: string;
  created_at: number;
  updated_at: number;
}

/** Starting a session from a plan or a group: what POST /api/sessions takes, the title optional. */
export const StartSessionBody = z
  .object({
    /** The session's title; by default the plan's name, or the group's name and the date. */
    title: z.string().trim().min(1).max(120).optional(),
    settings: SettingsSchema.partial().strict().optional(),
    mediaProvider: z.enum(["twilio", "local"]).optional(),
  })
  .strict();

const NO_STORE = { "Cache-Control": "no-store" };
const newPlanId = () => `plan_${randomHex(9)}`;

function toRecord(row: PlanRow): PlanRecord {
  // Rows are written only from validated bodies; parsing again keeps a hand-edited row from reaching a session.
  const steps = z.array(PlanStepSchema).parse(JSON.parse(row.steps));
  return { id: row.id, name: row.name, steps, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** The owner's plan, or null (no such plan, or someone else's). */
export async function ownPlan(env: Bindings, owner: string, planId: string): Promise<PlanRecord | null> {
  if (!IdSchema.safeParse(planId).success) return null;
  const row = await env.DB.prepare(`SELECT id, owner, name, steps, created_at, updated_at FROM session_plans WHERE id = ?1 AND owner = ?2`)
    .bind(planId, owner)
    .first<PlanRow>();
  return row ? toRecord(row) : null;
}

export const plans = new Hono<AppEnv>();

const ownerOf = (c: { var: UserEnv["Variables"] }) => `user:${c.var.principal.userId}`;
const NOT_FOUND = "no such plan";

plans.get("/", requireUser, requireFacilitator, async (c) => {
  const { results } = await c.env.DB.prepare(
    `SELECT id, owner, name, steps, created_at, updated_at FROM session_plans WHERE owner = ?1 ORDER BY updated_at DESC, id LIMIT 200`,
  )
    .bind(ownerOf(c))
    .all<PlanRow>();
  return c.json({ plans: results.map(toRecord) }, 200, NO_STORE);
});

plans.post("/", requireUser, requireFacilitator, validJson(PlanBodySchema), async (c) => {
  const body: PlanBody = c.req.valid("json");
  const now = Date.now();
  const id = newPlanId();
  await c.env.DB.prepare(`INSERT INTO session_plans (id, owner, name, steps, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)`)
    .bind(id, ownerOf(c), body.name, JSON.stringify(body.steps), now)
    .run();
  return c.json({ plan: { id, name: body.name, steps: body.steps, createdAt: now, updatedAt: now } satisfies PlanRecord }, 201);
});

plans.get("/:planId", requireUser, requireFacilitator, async (c) => {
  const plan = await ownPlan(c.env, ownerOf(c), c.req.param("planId"));
  return plan ? c.json({ plan }, 200, NO_STORE) : apiError(c, 404, "NOT_FOUND", NOT_FOUND);
});

plans.put("/:planId", requireUser, requireFacilitator, validJson(PlanBodySchema), async (c) => {
  const planId = c.req.param("planId");
  if (!IdSchema.safeParse(planId).success) return apiError(c, 404, "NOT_FOUND", NOT_FOUND);
  const body: PlanBody = c.req.valid("json");
  const now = Date.now();
  const updated = await c.env.DB.prepare(`UPDATE session_plans SET name = ?1, steps = ?2, updated_at = ?3 WHERE id = ?4 AND owner = ?5`)
    .bind(body.name, JSON.stringify(body.steps), now, planId, ownerOf(c))
    .run();
  if ((updated.meta?.changes ?? 0) === 0) return apiError(c, 404, "NOT_FOUND", NOT_FOUND);
  const plan = await ownPlan(c.env, ownerOf(c), planId);
  return c.json({ plan });
});

plans.delete("/:planId", requireUser, requireFacilitator, async (c) => {
  const planId = c.req.param("planId");
  if (!IdSchema.safeParse(planId).success) return apiError(c, 404, "NOT_FOUND", NOT_FOUND);
  const deleted = await c.env.DB.prepare(`DELETE FROM session_plans WHERE id = ?1 AND owner = ?2`).bind(planId, ownerOf(c)).run();
  if ((deleted.meta?.changes ?? 0) === 0) return apiError(c, 404, "NOT_FOUND", NOT_FOUND);
  return c.json({ deleted: true, id: planId });
});

plans.post(
  "/:planId/sessions",
  requireUser,
  requireFacilitator,
  rateLimit({ binding: "RL_SESSIONS", scope: "create" }),
  validJson(StartSessionBody),
  async (c) => {
    const user = c.var.principal;
    const plan = await ownPlan(c.env, ownerOf(c), c.req.param("planId"));
    if (!plan) return apiError(c, 404, "NOT_FOUND", NOT_FOUND);
    const body = c.req.valid("json");
    const created = await startSessionFromPlan(c.env, c.req.url, user, plan, { ...body, title: body.title ?? plan.name });
    if (created.refused) return apiError(c, statusFor(created.refused.code), created.refused.code, created.refused.message);
    return c.json(created, 201);
  },
);

/**
 * A session with `user` as facilitator, the plan loaded into it by its facilitator (the "loadPlan" command, audited
 * like any other): what POST /api/sessions answers, plus the plan.
 */
export async function startSessionFromPlan(
  env: Bindings,
  url: string,
  user: UserEnv["Variables"]["principal"],
  plan: PlanRecord,
  body: Parameters<typeof createSessionFor>[2],
) {
  const created = await createSessionFor({ env, req: { url } }, user, body);
  if (created.refused !== undefined) return { refused: { code: "MEDIA_PROVIDER_ERROR" as const, message: created.refused } };
  const outcome = (await sessionStub(env, created.sessionId).command(
    created.memberId,
    `load-plan-${plan.id}`,
    { type: "loadPlan", plan: { id: plan.id, name: plan.name, steps: plan.steps } },
    "http",
  )) as CommandOutcome;
  if (!outcome.ok) return { refused: { code: outcome.error.code, message: `the plan could not be loaded: ${outcome.error.message}` } };
  return { ...created, plan: { id: plan.id, name: plan.name, steps: plan.steps.length } };
}
