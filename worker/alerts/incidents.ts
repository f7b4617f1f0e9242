/**
 * Incident state in D1 (ops_incidents, migrations/0007_ops_alerts.sql): a rule that starts firing opens one incident,
 * announced once; while it keeps firing only its reading is updated; when it clears the incident is resolved and the
 * recovery announced once. "Once" holds across overlapping cron runs: an incident is opened by an insert that only one
 * run can win (one open incident per rule, a partial unique index), and a message is claimed (notified_at set where
 * it was NULL) before it is posted; a failed post gives the claim back, so the next run retries.
 */
import { RULES, isUnknown, type Evaluation, type RuleId } from "./rules";
import { postWebhook, slackMessage, type Delivery } from "./webhook";

export interface Incident {
  id: string;
  rule: RuleId;
  severity: string;
  summary: string;
  details: Record<string, unknown>;
  value: number;
  threshold: number;
  openedAt: number;
  lastSeenAt: number;
  resolvedAt: number | null;
  notifiedAt: number | null;
  resolvedNotifiedAt: number | null;
}

type Row = Record<string, unknown>;

function incidentOf(r: Row): Incident {
  let details: Record<string, unknown> = {};
  try {
    details = JSON.parse(String(r.details ?? "{}")) as Record<string, unknown>;
  } catch {
    /* keep {} */
  }
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: String(r.id),
    rule: String(r.rule) as RuleId,
    severity: String(r.severity),
    summary: String(r.summary),
    details,
    value: Number(r.value),
    threshold: Number(r.threshold),
    openedAt: Number(r.opened_at),
    lastSeenAt: Number(r.last_seen_at),
    resolvedAt: n(r.resolved_at),
    notifiedAt: n(r.notified_at),
    resolvedNotifiedAt: n(r.resolved_notified_at),
  };
}

export async function openIncidents(db: D1Database): Promise<Incident[]> {
  return (await db.prepare(`SELECT * FROM ops_incidents WHERE resolved_at IS NULL ORDER BY opened_at`).all<Row>()).results.map(incidentOf);
}

export async function recentIncidents(db: D1Database, since: number, limit = 50): Promise<Incident[]> {
  return (
    await db
      .prepare(`SELECT * FROM ops_incidents WHERE opened_at >= ? OR resolved_at >= ? ORDER BY opened_at DESC LIMIT ?`)
      .bind(since, since, limit)
      .all<Row>()
  ).results.map(incidentOf);
}

export interface Transitions {
  opened: string[];
  resolved: string[];
  unchanged: RuleId[];
  unknown: RuleId[];
}

/** Apply one run's evaluations to the stored incidents. */
export async function applyEvaluations(db: D1Database, evaluations: Evaluation[], now: number): Promise<Transitions> {
  const open = new Map((await openIncidents(db)).map((i) => [i.rule, i]));
  const out: Transitions = { opened: [], resolved: [], unchanged: [], unknown: [] };
  for (const e of evaluations) {
    if (isUnknown(e)) {
      out.unknown.push(e.rule);
      continue;
    }
    const current = open.get(e.rule);
    if (e.firing && current) {
      await db
        .prepare(`UPDATE ops_incidents SET last_seen_at = ?, summary = ?, details = ?, value = ?, threshold = ? WHERE id = ? AND resolved_at IS NULL`)
        .bind(now, e.summary, JSON.stringify(e.details), e.value, e.threshold, current.id)
        .run();
      out.unchanged.push(e.rule);
    } else if (e.firing) {
      const id = `${e.rule}:${now}`;
      const r = await db
        .prepare(
          `INSERT OR IGNORE INTO ops_incidents (id, rule, severity, summary, details, value, threshold, opened_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .bind(id, e.rule, RULES[e.rule].severity, e.summary, JSON.stringify(e.details), e.value, e.threshold, now, now)
        .run();
      if (r.meta.changes === 1) out.opened.push(id);
      else out.unchanged.push(e.rule); // another run opened it first
    } else if (current) {
      const r = await db
        .prepare(`UPDATE ops_incidents SET resolved_at = ?, summary = ?, value = ? WHERE id = ? AND resolved_at IS NULL`)
        .bind(now, e.summary, e.value, current.id)
        .run();
      if (r.meta.changes === 1) out.resolved.push(current.id);
    } else {
      out.unchanged.push(e.rule);
    }
  }
  return out;
}

export interface NotifyResult {
  sent: { id: string; kind: "firing" | "resolved" }[];
  failed: { id: string; kind: "firing" | "resolved"; error: string }[];
}

/**
 * Post every message not yet delivered: open incidents not announced, and resolved ones announced as firing whose
 * recovery was not (within a day: an old, never-delivered recovery is no news).
 */
export async function deliverPending(db: D1Database, webhookUrl: string, appEnv: string, now: number, post = postWebhook): Promise<NotifyResult> {
  const result: NotifyResult = { sent: [], failed: [] };
  const firing = (await db.prepare(`SELECT * FROM ops_incidents WHERE resolved_at IS NULL AND notified_at IS NULL`).all<Row>()).results.map(incidentOf);
  const recovered = (
    await db
      .prepare(`SELECT * FROM ops_incidents WHERE resolved_at IS NOT NULL AND notified_at IS NOT NULL AND resolved_notified_at IS NULL AND resolved_at >= ?`)
      .bind(now - 24 * 3600_000)
      .all<Row>()
  ).results.map(incidentOf);
  const jobs: [Incident, "firing" | "resolved"][] = [
    ...firing.map((i) => [i, "firing"] as [Incident, "firing"]),
    ...recovered.map((i) => [i, "resolved"] as [Incident, "resolved"]),
  ];
  for (const [inc, kind] of jobs) {
    const column = kind === "firing" ? "notified_at" : "resolved_notified_at";
    const claim = await db.prepare(`UPDATE ops_incidents SET ${column} = ? WHERE id = ? AND ${column} IS NULL`).bind(now, inc.id).run();
    if (claim.meta.changes !== 1) continue; // another run has it
    const delivery: Delivery = await post(
      webhookUrl,
      slackMessage({ rule: inc.rule, kind, summary: inc.summary, openedAt: inc.openedAt, resolvedAt: inc.resolvedAt, appEnv }),
    );
    if (delivery.ok) {
      result.sent.push({ id: inc.id, kind });
    } else {
      await db.prepare(`UPDATE ops_incidents SET ${column} = NULL WHERE id = ? AND ${column} = ?`).bind(inc.id, now).run();
      result.failed.push({ id: inc.id, kind, error: delivery.error });
    }
  }
  return result;
}
