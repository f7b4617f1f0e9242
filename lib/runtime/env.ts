/**
 * Everything the Worker and the session Durable Object are bound to. The bindings come from wrangler.toml through
 * `npm run types` (`wrangler types` writes worker-configuration.d.ts; `npm run lint` checks it is current); the vars and
 * secrets are described here (README "Configuration"), all optional: absent means the default.
 */
export interface Bindings extends Pick<WranglerEnv, "SESSION" | "DB">, Partial<Pick<WranglerEnv, "ASSETS" | "ANALYTICS" | "RL_SESSIONS" | "RL_SIGNIN">> {
  /** "development" enables the development sign-in (with DEV_SIGNIN="on"); anything else is production. */
  APP_ENV?: string;
  DEV_SIGNIN?: string;
  /** HS256 secret for the Worker's own tokens: dev sign-in, invites, socket tickets. Required. */
  APP_SIGNING_SECRET?: string;

  /** External identity provider: a JWKS URL, or an HS256 shared secret (Supabase's JWT secret). */
  AUTH_JWKS_URL?: string;
  AUTH_JWT_SECRET?: string;
  AUTH_ISSUER?: string;
  AUTH_AUDIENCE?: string;
  /** Dotted path of the claim carrying the app role, e.g. "app_metadata.role" (Supabase). */
  AUTH_ROLE_CLAIM?: string;

  /** Allowed browser origins for the API, comma-separated. Same-origin always works. */
  CORS_ORIGINS?: string;
  /** Public base URL of this Worker, used to build Twilio status-callback URLs. */
  PUBLIC_BASE_URL?: string;

  TWILIO_ACCOUNT_SID?: string;
  TWILIO_AUTH_TOKEN?: string;
  /** The auth token being rotated out: status callbacks it signed are still accepted. docs/operations.md. */
  TWILIO_AUTH_TOKEN_PREVIOUS?: string;
  TWILIO_API_KEY_SID?: string;
  TWILIO_API_KEY_SECRET?: string;
  /** Defaults to https://video.twilio.com; tests and local Twilio mode point it at the local Twilio-compatible server. */
  TWILIO_API_BASE?: string;
  /** Per-attempt time-out for Twilio REST calls, ms (default 10000). */
  TWILIO_TIMEOUT_MS?: string;
  /** Media token lifetime, seconds (120–3600, default 600). */
  MEDIA_TOKEN_TTL_SECONDS?: string;
  /** HTTP media-token requests allowed per member per clock-aligned minute (default 60). */
  MEDIA_TOKEN_REQUESTS_PER_MINUTE?: string;
  PRICE_PER_PARTICIPANT_MINUTE?: string;
  /** Share (0–1) of successful, fast requests that get a request log line; errors and slow ones always do. Default 0.05. */
  REQUEST_LOG_SAMPLE_RATE?: string;
  /** Per-socket message budget "burst/perSecond"; defaults 30/10 for participants, 600/300 for staff. */
  SOCKET_BUDGET_PARTICIPANT?: string;
  SOCKET_BUDGET_STAFF?: string;
  /** New connections per member, "burst/perSecond" (default "10/1"). */
  SOCKET_CONNECT_BUDGET?: string;
  /** "true" adds debug-level structured logs. */
  DEBUG_LOGS?: string;

  /**
   * The signing secret being rotated out: tokens signed with it still verify (nothing new is signed with it), so
   * live sessions keep their tickets, invites and guest credentials while APP_SIGNING_SECRET changes. docs/operations.md.
   */
  APP_SIGNING_SECRET_PREVIOUS?: string;

  /** Error tracking (worker/sentry.ts): off unless set. Events are scrubbed (lib/runtime/sentry-scrub.ts). */
  SENTRY_DSN?: string;
  /** Release tag; defaults to the deployed version id when a version-metadata binding CF_VERSION_METADATA exists. */
  SENTRY_RELEASE?: string;
  /** Environment tag; defaults to APP_ENV. */
  SENTRY_ENVIRONMENT?: string;
  /** Share (0–1) of requests traced; unset: errors only, no performance data. */
  SENTRY_TRACES_SAMPLE_RATE?: string;
  CF_VERSION_METADATA?: { id: string; tag?: string; timestamp?: string };

  /** Alerts (worker/alerts): a Slack-compatible incoming webhook; unset: incidents are kept in D1 and shown, not posted. */
  ALERT_WEBHOOK_URL?: string;
  /** JSON object overriding alert thresholds by rule id, e.g. {"error_rate":20}. See docs/operations.md. */
  ALERT_THRESHOLDS?: string;
}
