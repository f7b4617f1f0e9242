/**
 * The Worker as production exports it (worker/index.ts: Sentry around the handlers and the session class, the cron's
 * `scheduled`, the session's `opsHealth`), over the workers tests' session subclass (test-only methods, injected faults).
 */
import { app } from "../../worker/app";
import { scheduled } from "../../worker/alerts";
import { withErrorTracking, withSessionErrorTracking } from "../../worker/sentry";
import type { Bindings } from "../../lib/runtime/env";
import { SessionDurableObject as TestSession } from "../workers/entry";

export const SessionDurableObject = withSessionErrorTracking(TestSession);
export default withErrorTracking<Bindings>({ fetch: app.fetch, scheduled });
