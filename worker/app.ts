/**
 * The HTTP API. Routes are grouped by resource; cross-cutting concerns (request id, security headers, CORS, body
 * limits, typed errors) are middleware. Static files of the web app are served by Workers assets.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { apiError, jsonBodyLimit, securityMiddleware } from "./middleware/security";
import { errorResponse, type AppEnv } from "./http";
import { inviteLinks } from "./routes/invite-links";
import { sessions } from "./routes/sessions";
import { system } from "./routes/system";
import { twilio } from "./routes/twilio";
import { reports } from "./routes/reports";
import { plans } from "./routes/plans";
import { groupLinks, groups } from "./routes/groups";
import { preflight } from "./routes/preflight";
import { monitoring, requestLogger } from "./routes/monitoring";
import { logConfigurationProblemsOnce } from "./config";
import { countServerErrors } from "./alerts";

export const app = new Hono<AppEnv>();

// Request id first, then one structured log line per request (with that id), then the rest of the security middleware.
const [requestIdMw, ...security] = securityMiddleware();
app.use("*", requestIdMw, requestLogger(), countServerErrors());
// An unsafe setting (worker/config.ts) is logged by each isolate once, whatever request it serves first.
app.use("*", async (c, next) => {
  logConfigurationProblemsOnce(c.env, c.get("requestId"));
  await next();
});
for (const mw of security) app.use("*", mw);
app.use("/api/*", jsonBodyLimit());

app.route("/api", system);
app.route("/api/sessions", sessions);
app.route("/api/invite-links", inviteLinks);
app.route("/api/twilio", twilio);
app.route("/api/sessions", reports);
app.route("/api/sessions", preflight);
app.route("/api/monitoring", monitoring);
app.route("/api/plans", plans);
app.route("/api/groups", groups);
app.route("/api/group-links", groupLinks);

app.notFound(async (c) => {
  if (c.req.path.startsWith("/api/") || !c.env.ASSETS) return apiError(c, 404, "NOT_FOUND", `no route ${c.req.method} ${c.req.path}`);
  // Everything else is the web app (static assets, single-page fallback), re-wrapped so middleware can add headers.
  const asset = await c.env.ASSETS.fetch(c.req.raw);
  return new Response(asset.body, asset);
});

app.onError((err, c) => {
  if (err instanceof HTTPException) {
    const malformed = /malformed json/i.test(err.message);
    return apiError(c, err.status, malformed ? "BAD_JSON" : "INVALID_MESSAGE", malformed ? "the request body is not valid JSON" : err.message);
  }
  return errorResponse(c, err);
});
