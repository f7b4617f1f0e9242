/**
 * Worker entry: the Hono app answers HTTP, the Cron Trigger runs the alert rules, and the session Durable Object class
 * is exported for its binding. Sentry wraps both when SENTRY_DSN is set (worker/sentry.ts).
 */
import { SessionDurableObject as Session } from "../durable-objects/session-do";
import type { Bindings } from "../lib/runtime/env";
import { scheduled } from "./alerts";
import { app } from "./app";
import { withErrorTracking, withSessionErrorTracking } from "./sentry";

export const SessionDurableObject = withSessionErrorTracking(Session);
export default withErrorTracking<Bindings>({ fetch: app.fetch, scheduled });
