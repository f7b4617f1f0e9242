/**
 * Error tracking with Sentry's Cloudflare SDK, off unless SENTRY_DSN is set.
 *
 * - The Worker's handlers (fetch, scheduled) go through `withSentry`; the session Durable Object class through
 *   `instrumentDurableObjectWithSentry` (fetch, alarm, WebSocket handlers, and the RPC methods the Worker calls: the
 *   Worker propagates trace context to the SESSION binding, the DO continues it).
 * - Uncaught errors are captured by the SDK. Errors our code catches and logs at error level (an INTERNAL route error,
 *   a failed session command, a D1 row set aside) are reported through the log's error reporter, so "every error line
 *   is a Sentry event" wherever it is logged. Refusals (4xx) and warnings are not events.
 * - Every event, transaction, span and breadcrumb passes lib/runtime/sentry-scrub.ts; request bodies are never read.
 * - With no DSN the plain handlers and class run: no SDK client, no per-request cost.
 *
 * Tags: `release` (SENTRY_RELEASE, else the version id of a CF_VERSION_METADATA binding), `environment`
 * (SENTRY_ENVIRONMENT, else APP_ENV), `component` ("worker" | "session").
 */
import {
  captureException,
  captureMessage,
  getClient,
  httpServerIntegration,
  instrumentDurableObjectWithSentry,
  withSentry,
  type CloudflareOptions,
} from "@sentry/cloudflare";
import type { DurableObject as DurableObjectBase } from "cloudflare:workers";
import type { Bindings } from "../lib/runtime/env";
import { redact, setErrorReporter, type LogFields } from "../lib/runtime/log";
import { sentryPrivacyOptions } from "../lib/runtime/sentry-scrub";

export type SentryEnv = Pick<Bindings, "SENTRY_DSN" | "SENTRY_RELEASE" | "SENTRY_ENVIRONMENT" | "APP_ENV" | "CF_VERSION_METADATA">;
type Component = "worker" | "session";

export const sentryEnabled = (env: Partial<SentryEnv> | undefined | null): boolean => Boolean(env?.SENTRY_DSN?.trim());

/** The SDK's options for one component. The SDK adds SENTRY_TRACES_SAMPLE_RATE and CF_VERSION_METADATA itself. */
export function sentryOptions(env: SentryEnv, component: Component): CloudflareOptions {
  return {
    dsn: env.SENTRY_DSN?.trim(),
    ...(env.SENTRY_RELEASE ? { release: env.SENTRY_RELEASE } : {}),
    environment: env.SENTRY_ENVIRONMENT || env.APP_ENV || "production",
    ...sentryPrivacyOptions,
    // Bodies carry names and chat: never read them (the scrubber would drop them anyway; this saves the read).
    integrations: [httpServerIntegration({ maxRequestBodySize: "none" })],
    initialScope: { tags: { component } },
    ...(component === "worker" ? { rpcTracePropagationBindings: ["SESSION"] } : { enableRpcTracePropagation: true }),
  };
}

/** Error-level log lines → Sentry events, when an SDK client is active for this invocation. */
function reportLoggedError(msg: string, error: unknown, fields: LogFields): void {
  // The per-request summary of a 5xx (worker/routes/monitoring.ts) is not an error of its own: its cause is reported.
  if (!getClient() || msg === "request") return;
  const { error: _error, ...rest } = fields;
  const context = { msg, ...(redact(rest) as Record<string, unknown>) };
  if (error instanceof Error) captureException(error, { contexts: { log: context } });
  else captureMessage(typeof error === "string" && error ? `${msg}: ${error}` : msg, { level: "error", contexts: { log: context } });
}
setErrorReporter(reportLoggedError);

/** The Worker's handlers, with Sentry when SENTRY_DSN is set. */
export function withErrorTracking<E extends SentryEnv>(handler: ExportedHandler<E>): ExportedHandler<E> {
  // withSentry instruments the object it is given in place: give it a copy, so `handler` stays plain.
  const tracked = withSentry<E>((env) => sentryOptions(env, "worker"), { ...handler });
  const pick = (env: E) => (sentryEnabled(env) ? tracked : handler);
  const out: ExportedHandler<E> = {};
  if (handler.fetch) out.fetch = (request, env, ctx) => pick(env).fetch!(request, env, ctx);
  if (handler.scheduled) out.scheduled = (controller, env, ctx) => pick(env).scheduled!(controller, env, ctx);
  return out;
}

/** The session Durable Object class, instrumented per instance when its env has SENTRY_DSN (the binding is the same for all). */
export function withSessionErrorTracking<C extends new (ctx: DurableObjectState, env: never) => object>(Base: C): C {
  type Ctor = new (ctx: DurableObjectState, env: SentryEnv) => DurableObjectBase;
  const Tracked = instrumentDurableObjectWithSentry<SentryEnv, DurableObjectBase, Ctor>((env) => sentryOptions(env, "session"), Base as unknown as Ctor);
  return new Proxy(Base, {
    construct(target, args, newTarget) {
      return Reflect.construct(sentryEnabled(args[1] as SentryEnv) ? Tracked : target, args, newTarget);
    },
  });
}
