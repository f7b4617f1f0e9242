/**
 * Local stand-ins for the two services this machine cannot reach, each held to its published contract:
 *
 * - A Sentry envelope endpoint: `POST /api/<project>/envelope/`, authenticated by the DSN's public key (the
 *   `X-Sentry-Auth` header's `sentry_key`, or `?sentry_key=` as the browser SDK sends it), body in Sentry's envelope
 *   format (a header line, then item header + payload pairs), parsed with the SDK's own `parseEnvelope`. A wrong key or
 *   a body that is not an envelope is refused (401 / 400), as Sentry's relay refuses it.
 * - A Slack incoming webhook: `POST /slack/<hook>` with `Content-Type: application/json` and a JSON body whose `text`
 *   is a non-empty string and whose optional `blocks` are Block Kit blocks (header/section/context with typed text);
 *   answers 200 "ok", or 400 "invalid_payload" / "no_text" like Slack. It can be told to fail the next posts (500).
 *
 * What they received is readable over HTTP (`/__ops/…`) for tests running inside workerd.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseEnvelope, type Envelope } from "@sentry/core";

export const SENTRY_PUBLIC_KEY = "0123456789abcdef0123456789abcdef";
export const SENTRY_PROJECT = "42";

export interface ReceivedEnvelope {
  at: number;
  /** The raw body as posted (what a leak check must read: nothing is dropped or re-encoded). */
  raw: string;
  header: Record<string, unknown>;
  items: { type: string; payload: unknown }[];
}

export interface ReceivedWebhook {
  at: number;
  hook: string;
  body: { text: string; blocks?: unknown[] };
}

function read(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Block Kit's shape for the blocks our messages may use; anything else is invalid_blocks. */
function validBlocks(blocks: unknown): boolean {
  if (blocks === undefined) return true;
  if (!Array.isArray(blocks) || blocks.length > 50) return false;
  const text = (t: unknown, types: string[]) =>
    !!t && typeof t === "object" && types.includes((t as { type?: unknown }).type as string) && typeof (t as { text?: unknown }).text === "string";
  return blocks.every((b) => {
    if (!b || typeof b !== "object") return false;
    const block = b as { type?: unknown; text?: unknown; elements?: unknown };
    if (block.type === "header") return text(block.text, ["plain_text"]) && String((block.text as { text: string }).text).length <= 150;
    if (block.type === "section") return text(block.text, ["plain_text", "mrkdwn"]) && String((block.text as { text: string }).text).length <= 3000;
    if (block.type === "context")
      return Array.isArray(block.elements) && block.elements.length <= 10 && block.elements.every((e) => text(e, ["plain_text", "mrkdwn"]));
    return false;
  });
}

export async function startOpsReceivers(port = 0) {
  let envelopes: ReceivedEnvelope[] = [];
  let webhooks: ReceivedWebhook[] = [];
  let failWebhooks = 0;

  const send = (res: ServerResponse, status: number, body: unknown, type = "application/json") => {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, { "content-type": type, "access-control-allow-origin": "*" });
    res.end(text);
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://local");
    const body = await read(req);
    // The browser SDK posts cross-origin: answer its preflight as Sentry does.
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "access-control-allow-origin": "*", "access-control-allow-headers": "*", "access-control-allow-methods": "POST" });
      return res.end();
    }
    const envelopeRoute = /^\/api\/([^/]+)\/envelope\/?$/.exec(url.pathname);
    if (req.method === "POST" && envelopeRoute) {
      const auth = String(req.headers["x-sentry-auth"] ?? "");
      const key = /sentry_key=([^,\s]+)/.exec(auth)?.[1] ?? url.searchParams.get("sentry_key");
      if (envelopeRoute[1] !== SENTRY_PROJECT || key !== SENTRY_PUBLIC_KEY) return send(res, 401, { detail: "bad DSN" });
      let parsed: Envelope;
      try {
        parsed = parseEnvelope(new Uint8Array(body));
        if (!parsed[0] || typeof parsed[0] !== "object" || !Array.isArray(parsed[1])) throw new Error("not an envelope");
      } catch {
        return send(res, 400, { detail: "invalid envelope" });
      }
      envelopes.push({
        at: Date.now(),
        raw: body.toString("utf8"),
        header: parsed[0] as Record<string, unknown>,
        items: parsed[1].map(([h, payload]) => ({ type: String((h as { type?: unknown }).type), payload })),
      });
      return send(res, 200, { id: (parsed[0] as { event_id?: string }).event_id ?? null });
    }
    const slackRoute = /^\/slack\/(.+)$/.exec(url.pathname);
    if (req.method === "POST" && slackRoute) {
      if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) return send(res, 400, "invalid_payload", "text/plain");
      let json: { text?: unknown; blocks?: unknown };
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch {
        return send(res, 400, "invalid_payload", "text/plain");
      }
      if (typeof json.text !== "string" || !json.text.trim()) return send(res, 400, "no_text", "text/plain");
      if (!validBlocks(json.blocks)) return send(res, 400, "invalid_blocks", "text/plain");
      if (failWebhooks > 0) {
        failWebhooks--;
        return send(res, 500, "internal_error", "text/plain");
      }
      webhooks.push({ at: Date.now(), hook: slackRoute[1], body: json as ReceivedWebhook["body"] });
      return send(res, 200, "ok", "text/plain");
    }
    if (url.pathname === "/__ops/envelopes") return send(res, 200, { envelopes });
    if (url.pathname === "/__ops/webhooks") return send(res, 200, { webhooks });
    if (req.method === "POST" && url.pathname === "/__ops/reset") {
      envelopes = [];
      webhooks = [];
      failWebhooks = 0;
      return send(res, 200, { ok: true });
    }
    if (req.method === "POST" && url.pathname === "/__ops/fail-webhooks") {
      failWebhooks = Number(url.searchParams.get("times") ?? 1);
      return send(res, 200, { ok: true });
    }
    send(res, 404, { detail: "not found" });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actualPort = (server.address() as AddressInfo).port;
  return {
    port: actualPort,
    dsn: `http://${SENTRY_PUBLIC_KEY}@127.0.0.1:${actualPort}/${SENTRY_PROJECT}`,
    webhookUrl: `http://127.0.0.1:${actualPort}/slack/T000/B000/XXXX`,
    envelopes: () => envelopes,
    webhooks: () => webhooks,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
