/**
 * /api/invite-links/:code: the short link of an invite (/i/<code>) resolved to what the join page needs. Public (the
 * code is the credential, like the long link's token) and rate-limited like joins.
 */
import { Hono } from "hono";
import { resolveShortCode, SHORT_CODE_RE } from "../auth/invites";
import type { AppEnv } from "../http";
import { apiError } from "../middleware/security";
import { rateLimit } from "../middleware/rate-limit";

export const inviteLinks = new Hono<AppEnv>();

inviteLinks.get("/:code", rateLimit({ binding: "RL_SIGNIN", scope: "door" }), async (c) => {
  const code = c.req.param("code");
  if (!SHORT_CODE_RE.test(code)) return apiError(c, 404, "NOT_FOUND", "this link is not (or no longer) an invitation");
  return c.json(await resolveShortCode(c.env, code), 200, { "Cache-Control": "no-store" });
});
