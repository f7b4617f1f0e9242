/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** "true" turns on debug logging in the browser console (also on when /api/config says debugLogs). */
  readonly VITE_ENABLE_DEBUG_LOGS?: string;
  /** Sentry DSN for browser errors; unset: no Sentry code is loaded. See README "Configuration". */
  readonly VITE_SENTRY_DSN?: string;
  /** Release tag (use the Worker's SENTRY_RELEASE value, e.g. the git commit). */
  readonly VITE_SENTRY_RELEASE?: string;
  /** Environment tag; defaults to the Vite mode ("production" for `vite build`). */
  readonly VITE_SENTRY_ENVIRONMENT?: string;
  /** Share (0–1) of page loads traced; unset: errors only. */
  readonly VITE_SENTRY_TRACES_SAMPLE_RATE?: string;
}
