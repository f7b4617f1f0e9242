/**
 * Twilio status callbacks: verified exactly as twilio.validateRequest does (HMAC-SHA1 with the account Auth Token
 * over the public URL + sorted form params), then handed to the session's Durable Object, which orders them by
 * Timestamp and ignores repeats. A rejected request changes nothing and is logged.
 */
import { Hono } from "hono";
import type { Bindings } from "../../lib/runtime/env";
import { recordWorkerEvent } from "../../lib/runtime/analytics";
import { safeParseStatusCallback } from "../../lib/twilio/callbacks";
import { formParams, TwilioRequestValidator } from "../../lib/twilio/signature";
import { apiError } from "../middleware/security";
import { log } from "../../lib/runtime/log";
import { sessionStub, type AppEnv } from "../http";

const validators = new Map<string, TwilioRequestValidator>();
function validatorFor(authToken: string) {
  let v = validators.get(authToken);
  if (!v) validators.set(authToken, (v = new TwilioRequestValidator(authToken)));
  return v;
}

/**
 * Whether Twilio signed this request with our auth token, or with TWILIO_AUTH_TOKEN_PREVIOUS while a token rotation
 * is under way (Twilio signs with the account's primary token; promoting the secondary one changes it at once).
 */
export async function signedByTwilio(
  env: Pick<Bindings, "TWILIO_AUTH_TOKEN" | "TWILIO_AUTH_TOKEN_PREVIOUS">,
  signature: string | undefined,
  url: string,
  params: Parameters<TwilioRequestValidator["validate"]>[2],
): Promise<boolean> {
  for (const token of [env.TWILIO_AUTH_TOKEN, env.TWILIO_AUTH_TOKEN_PREVIOUS])
    if (token && (await validatorFor(token).validate(signature, url, params))) return true;
  return false;
}

export const twilio = new Hono<AppEnv>();

twilio.post("/status-callback/:sessionId", async (c) => {
  const token = c.env.TWILIO_AUTH_TOKEN;
  if (!token) return apiError(c, 404, "NOT_FOUND", "Twilio is not configured on this deployment");
  const sessionId = c.req.param("sessionId");
  const requestId = c.get("requestId");
  const reject = async (status: number, code: "FORBIDDEN" | "INVALID_MESSAGE", reason: string) => {
    log("warn", "twilio callback rejected", { reason, path: c.req.path }, { requestId });
    c.executionCtx.waitUntil(recordWorkerEvent(c.env, "callback_rejected", { reason, httpStatus: status }));
    return apiError(c, status, code, code === "FORBIDDEN" ? "request signature is not valid" : "not a status callback");
  };

  const body = await c.req.text();
  const params = formParams(body);
  // Twilio signed the URL it called: the public one (PUBLIC_BASE_URL when the Worker sits behind another host name).
  const url = new URL(c.req.url);
  const publicUrl = c.env.PUBLIC_BASE_URL ? `${c.env.PUBLIC_BASE_URL.replace(/\/$/, "")}${url.pathname}${url.search}` : url.toString();
  const ok = await signedByTwilio(c.env, c.req.header("X-Twilio-Signature"), publicUrl, params);
  if (!ok) return reject(403, "FORBIDDEN", "signature");

  const parsed = safeParseStatusCallback(new URLSearchParams(body));
  if (!parsed.ok) return reject(400, "INVALID_MESSAGE", "parse");
  const event = parsed.event;
  if (c.env.TWILIO_ACCOUNT_SID && event.accountSid !== c.env.TWILIO_ACCOUNT_SID) return reject(403, "FORBIDDEN", "account");
  if (!event.roomName.startsWith(`mb-${sessionId}-`)) return reject(400, "INVALID_MESSAGE", "unknown-room");

  const result = await sessionStub(c.env, sessionId).twilioEvent(event);
  return c.json(result);
});
