import { defineConfig } from "vitest/config";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import path from "node:path";
import { LOCAL_TWILIO_DEFAULTS } from "./test/support/twilio-server.ts";
import { SENTRY_PROJECT, SENTRY_PUBLIC_KEY } from "./test/support/ops-receivers.ts";

const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));

/** Bindings the tests run with: local media mode, development sign-in on, fixed test secrets. */
const testBindings = {
  APP_ENV: "development",
  DEV_SIGNIN: "on",
  APP_SIGNING_SECRET: "test-app-signing-secret-0123456789abcdef",
  TEST_MIGRATIONS: migrations,
  // Twilio credentials of the local Twilio-compatible server (test/support/twilio-server.ts): sessions created with
  // mediaProvider "twilio" drive real REST calls and signed callbacks against it; "local" sessions never touch it.
  TWILIO_ACCOUNT_SID: LOCAL_TWILIO_DEFAULTS.accountSid,
  TWILIO_AUTH_TOKEN: LOCAL_TWILIO_DEFAULTS.authToken,
  TWILIO_API_KEY_SID: LOCAL_TWILIO_DEFAULTS.apiKeySid,
  TWILIO_API_KEY_SECRET: LOCAL_TWILIO_DEFAULTS.apiKeySecret,
  PUBLIC_BASE_URL: "https://mindbloom.test",
  // Short enough that an injected hang turns into a retried time-out within a test.
  TWILIO_TIMEOUT_MS: "400",
  // Every request line (production samples the routine ones): the request-log tests read them.
  REQUEST_LOG_SAMPLE_RATE: "1",
};

export default defineConfig({
  test: {
    // The Worker logs one JSON line per request; keep test output to warnings and errors.
    // The Worker and the session log one JSON line per event worth noting. Tests cause warnings on purpose (D1 down,
    // forged callbacks, Twilio faults) and assert the behaviour, not the line: keep only errors, except the ones a test
    // injects (a signing fault, the published example secret).
    onConsoleLog: (line: string) => !/"level":"(info|debug|warn)"|"msg":"request"|injected: |"msg":"configuration problem"/.test(line),
    projects: [
      {
        // Pure logic (machine, assignment, cost) and Twilio oracles, on Node.
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        // The Worker, the session Durable Object, D1 and WebSockets inside workerd.
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            // The production Worker, with the test-only methods on the session Durable Object (test/workers/entry.ts).
            main: "./test/workers/entry.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { ...testBindings, TWILIO_API_BASE: `http://127.0.0.1:${inject<number>("twilioPort")}` },
              // Same limit as wrangler.toml, on a 10 s window instead of 60 s, so the rate-limit test can wait for its
              // recovery (miniflare's limiter is a fixed window aligned to the clock). See docs/authorization.md.
              ratelimits: { RL_SIGNIN: { namespace_id: "1003", simple: { limit: 10, period: 10 } } },
            },
          })),
        ],
        test: {
          name: "workers",
          // Sessions with many sockets are slow on a loaded 2-core machine: generous, but still bounded.
          testTimeout: 30_000,
          hookTimeout: 60_000,
          include: ["test/workers/**/*.test.ts"],
          setupFiles: ["./test/workers/apply-migrations.ts"],
          globalSetup: ["./test/support/global-setup.ts"],
        },
      },
      {
        // Operations inside workerd: the production entry's Sentry wrapping with SENTRY_DSN pointed at a local
        // envelope receiver, and the alert cron posting to a local Slack-compatible webhook (test/support/ops-receivers.ts).
        plugins: [
          cloudflareTest(async ({ inject }) => {
            const ops = `127.0.0.1:${inject<number>("opsPort")}`;
            return {
              main: "./test/workers-ops/entry.ts",
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  ...testBindings,
                  TWILIO_API_BASE: `http://127.0.0.1:${inject<number>("twilioPort")}`,
                  SENTRY_DSN: `http://${SENTRY_PUBLIC_KEY}@${ops}/${SENTRY_PROJECT}`,
                  SENTRY_RELEASE: "mindbloom-video@ops-test",
                  SENTRY_ENVIRONMENT: "ops-test",
                  ALERT_WEBHOOK_URL: `http://${ops}/slack/T000/B000/XXXX`,
                  // A small backlog is enough to show the rule (the default is 100 rows).
                  ALERT_THRESHOLDS: JSON.stringify({ outbox_backlog: 3 }),
                },
              },
            };
          }),
        ],
        test: {
          name: "workers-ops",
          testTimeout: 30_000,
          hookTimeout: 60_000,
          include: ["test/workers-ops/**/*.test.ts"],
          setupFiles: ["./test/workers/apply-migrations.ts"],
          globalSetup: ["./test/support/ops-global-setup.ts"],
          // One file at a time: the receivers and the alert incidents (one D1) are shared.
          fileParallelism: false,
        },
      },
      {
        // The built web app's Sentry in headless Chromium, against a local envelope receiver (no Worker needed).
        test: {
          name: "browser-ops",
          include: ["test/browser-ops/**/*.test.ts"],
          environment: "node",
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        // Real browsers: headless Chromium (fake camera and microphone) against the built product served by
        // `wrangler dev` (test/browser/global-setup.ts builds, serves and stops it). One file at a time: each runs
        // several browser pages in a peer-to-peer mesh, which is all two cores can carry.
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          globalSetup: ["./test/browser/global-setup.ts"],
          fileParallelism: false,
          // After the unit and workers projects (group 0), not alongside them: the meshes need the CPU.
          sequence: { groupOrder: 1 },
          testTimeout: 240_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
