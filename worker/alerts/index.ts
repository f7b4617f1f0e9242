/**
 * The alert run: the Cron Trigger (wrangler.toml [triggers] crons, every minute) evaluates every rule, updates the
 * incidents in D1 and posts what is new to ALERT_WEBHOOK_URL. Without a webhook the incidents are still kept and shown
 * on the monitoring page. A run's "now" is the controller's scheduledTime, so a run is about the minute it was due.
 */
import type { MiddlewareHandler } from "hono";
import type { Bindings } from "../../lib/runtime/env";
import { log } from "../../lib/runtime/log";
import { twilioConfigured } from "../../lib/twilio/config";
import { TwilioVideoClient } from "../../lib/twilio/rest";
import type { AppEnv } from "../http";
import { applyEvaluations, deliverPending, type NotifyResult, type Transitions } from "./incidents";
import { evaluateAll, thresholdsFrom, type Evaluation, type SessionHealth } from "./rules";

/** The RPC the session Durable Object answers for the outbox rules (worker/session.ts). */
export interface OpsHealthStub {
  opsHealth(): Promise<SessionHealth>;
}

const HEALTH_CONCURRENCY = 8;
const HEALTH_TIMEOUT_MS = 5000;

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Each session's outbox through its Durable Object, a few at a time. */
export function sessionHealthReader(env: Bindings) {
  return async (ids: string[]) => {
    const health = new Map<string, SessionHealth>();
    const unreachable: string[] = [];
    const ns = env.SESSION as unknown as DurableObjectNamespace;
    for (let k = 0; k < ids.length; k += HEALTH_CONCURRENCY) {
      await Promise.all(
        ids.slice(k, k + HEALTH_CONCURRENCY).map(async (id) => {
          try {
            const stub = ns.get(ns.idFromName(id)) as unknown as OpsHealthStub;
            health.set(id, await withTimeout(stub.opsHealth(), HEALTH_TIMEOUT_MS));
          } catch {
            unreachable.push(id);
          }
        }),
      );
    }
    return { health, unreachable };
  };
}

function twilioRoomsReader(env: Bindings) {
  if (!twilioConfigured(env)) return null;
  const client = new TwilioVideoClient({
    apiKeySid: env.TWILIO_API_KEY_SID ?? "",
    apiKeySecret: env.TWILIO_API_KEY_SECRET ?? "",
    baseUrl: env.TWILIO_API_BASE,
    timeoutMs: Number(env.TWILIO_TIMEOUT_MS) || 10_000,
  });
  return () => client.listRooms({ status: "in-progress", pageSize: 100, limit: 1000 });
}

export interface AlertRun {
  now: number;
  evaluations: Evaluation[];
  transitions: Transitions;
  notifications: NotifyResult | null;
  problems: string[];
}

export async function runAlerts(env: Bindings, now: number): Promise<AlertRun> {
  const { thresholds, problem } = thresholdsFrom(env.ALERT_THRESHOLDS);
  const problems = problem ? [problem] : [];
  const evaluations = await evaluateAll({ db: env.DB, now, thresholds, sessionHealth: sessionHealthReader(env), twilioRooms: twilioRoomsReader(env) });
  const transitions = await applyEvaluations(env.DB, evaluations, now);
  const url = env.ALERT_WEBHOOK_URL?.trim();
  const notifications = url ? await deliverPending(env.DB, url, env.APP_ENV ?? "production", now) : null;
  await env.DB.prepare(`INSERT INTO ops_state (k, v) VALUES ('alerts_last_run', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`)
    .bind(JSON.stringify({ at: now, unknown: transitions.unknown, problems }))
    .run();
  for (const p of problems) log("warn", "alert configuration problem", { problem: p });
  for (const f of notifications?.failed ?? []) log("warn", "alert webhook delivery failed", { incident: f.id, kind: f.kind, error: f.error });
  if (transitions.opened.length || transitions.resolved.length)
    log("info", "alert incidents changed", { opened: transitions.opened, resolved: transitions.resolved, unknown: transitions.unknown });
  return { now, evaluations, transitions, notifications, problems };
}

/** The Worker's `scheduled` handler. A failing run throws (Workers then shows the cron as failed; Sentry captures it). */
export async function scheduled(controller: ScheduledController, env: Bindings, _ctx: ExecutionContext): Promise<void> {
  await runAlerts(env, controller.scheduledTime);
}

/** Counts the Worker's 5xx answers per minute (ops_error_counts) for the error-rate rule; off the response path. */
export function countServerErrors(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if ((c.res?.status ?? 200) < 500) return;
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const write = c.env.DB.prepare(`INSERT INTO ops_error_counts (minute, source, n) VALUES (?, 'http', 1) ON CONFLICT(minute, source) DO UPDATE SET n = n + 1`)
      .bind(minute)
      .run()
      .then(
        () => undefined,
        // D1 may be the failure being answered: the count is lost, the response is not.
        () => undefined,
      );
    try {
      c.executionCtx.waitUntil(write);
    } catch {
      await write;
    }
  };
}
