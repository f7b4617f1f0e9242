/** Health, client configuration and the development sign-in. */
import { Hono } from "hono";
import { z } from "zod";
import { defaultMediaProvider } from "../../lib/twilio/config";
import { devSignInEnabled, issueDevUserToken } from "../auth/app-tokens";
import { logConfigurationProblemsOnce } from "../config";
import { apiError } from "../middleware/security";
import { rateLimit } from "../middleware/rate-limit";
import type { AppEnv } from "../http";
import { validJson } from "../validate";

export const system = new Hono<AppEnv>();

system.get("/health", async (c) => {
  const started = Date.now();
  let d1 = "ok";
  try {
    await c.env.DB.prepare("SELECT 1").first();
  } catch {
    d1 = "error";
  }
  // An unsafe setting is a failed health check: deploy checks and uptime monitors see it, not only the logs.
  const problems = logConfigurationProblemsOnce(c.env, c.get("requestId"));
  const ok = d1 === "ok" && problems.length === 0;
  return c.json(
    {
      ok,
      d1,
      config: problems.length ? { ok: false, problems } : { ok: true },
      mediaProvider: defaultMediaProvider(c.env),
      env: c.env.APP_ENV ?? "production",
      latencyMs: Date.now() - started,
    },
    ok ? 200 : 503,
  );
});

system.get("/config", (c) =>
  c.json({
    mediaProvider: defaultMediaProvider(c.env),
    devSignIn: devSignInEnabled(c.env),
    debugLogs: c.env.DEBUG_LOGS === "true",
  }),
);

const DevSignInBody = z
  .object({
    name: z.string().trim().min(1).max(80),
    role: z.enum(["facilitator", "cofacilitator", "participant", "operator"]).default("participant"),
    userId: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_.:@-]+$/)
      .optional(),
  })
  .strict();

system.post("/auth/dev-signin", rateLimit({ binding: "RL_SIGNIN", scope: "signin" }), validJson(DevSignInBody), async (c) => {
  if (!devSignInEnabled(c.env)) return apiError(c, 403, "FORBIDDEN", "development sign-in is disabled on this deployment");
  const body = c.req.valid("json");
  const userId = body.userId ?? `dev-${crypto.randomUUID()}`;
  const issued = await issueDevUserToken(c.env, { userId, name: body.name, appRole: body.role });
  return c.json({ token: issued.token, expiresAt: issued.expiresAt, user: issued.principal });
});
