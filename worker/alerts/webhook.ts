/**
 * Alert messages for a Slack-compatible incoming webhook (ALERT_WEBHOOK_URL): a JSON POST with `text` (the fallback
 * every client shows, and all that Mattermost/Discord-style "Slack-compatible" endpoints read) and Block Kit `blocks`.
 * Slack answers 200 "ok"; anything else (400 invalid_payload, 403, 404 no_service, 410 channel_is_archived, 5xx,
 * a time-out) is a failed delivery that the next cron run retries.
 */
import { RULES, type RuleId } from "./rules";

export interface IncidentMessage {
  rule: RuleId;
  kind: "firing" | "resolved";
  summary: string;
  openedAt: number;
  resolvedAt?: number | null;
  appEnv: string;
}

export interface SlackMessage {
  text: string;
  blocks: (
    | { type: "header"; text: { type: "plain_text"; text: string } }
    | { type: "section"; text: { type: "mrkdwn"; text: string } }
    | { type: "context"; elements: { type: "mrkdwn"; text: string }[] }
  )[];
}

const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");

/** Slack's mrkdwn needs &, < and > escaped. */
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function slackMessage(m: IncidentMessage): SlackMessage {
  const def = RULES[m.rule];
  const firing = m.kind === "firing";
  const head = firing ? `[${def.severity.toUpperCase()}] ${def.title}` : `[RESOLVED] ${def.title}`;
  const lasted = !firing && m.resolvedAt ? ` after ${Math.max(1, Math.round((m.resolvedAt - m.openedAt) / 60_000))} min` : "";
  const text = `MindBloom Video (${m.appEnv}) ${head}: ${m.summary}${lasted}`;
  return {
    text,
    blocks: [
      { type: "header", text: { type: "plain_text", text: head.slice(0, 150) } },
      {
        type: "section",
        text: { type: "mrkdwn", text: esc(firing ? `${m.summary}\n*What to do:* ${def.action}` : `Cleared${lasted}. Last reading: ${m.summary}`) },
      },
      {
        type: "context",
        elements: [
          { type: "mrkdwn", text: esc(`rule ${m.rule} · ${m.appEnv} · opened ${iso(m.openedAt)}${m.resolvedAt ? ` · resolved ${iso(m.resolvedAt)}` : ""}`) },
        ],
      },
    ],
  };
}

export type Delivery = { ok: true } | { ok: false; error: string };

/** POST one message; never throws. */
export async function postWebhook(url: string, message: SlackMessage, timeoutMs = 5000): Promise<Delivery> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.text()).slice(0, 200);
    return res.ok ? { ok: true } : { ok: false, error: `HTTP ${res.status} ${body}` };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}
