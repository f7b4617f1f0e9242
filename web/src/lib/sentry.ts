/**
 * Browser error tracking (@sentry/solid), loaded only when the build has VITE_SENTRY_DSN. Every event, breadcrumb and
 * transaction passes the same scrubber as the Worker's (lib/runtime/sentry-scrub.ts): no names, chat or help text,
 * identities, tickets, invites, guest credentials or media tokens leave the page, and the URL's ?invite= is filtered.
 * No session replay, no user feedback widget, no tracing unless VITE_SENTRY_TRACES_SAMPLE_RATE says so.
 */
import * as Sentry from "@sentry/solid";
import { sentryPrivacyOptions } from "../../../lib/runtime/sentry-scrub";

export function initSentry(dsn: string): void {
  const rate = Number(import.meta.env.VITE_SENTRY_TRACES_SAMPLE_RATE);
  Sentry.init({
    dsn,
    release: import.meta.env.VITE_SENTRY_RELEASE || undefined,
    environment: import.meta.env.VITE_SENTRY_ENVIRONMENT || import.meta.env.MODE,
    ...sentryPrivacyOptions,
    ...(Number.isFinite(rate) && rate > 0 ? { tracesSampleRate: rate, integrations: [Sentry.browserTracingIntegration()] } : {}),
  });
}
