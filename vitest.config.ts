import { defineConfig } from "vitest/config";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import path from "node:path";

const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));

/** Bindings the tests run with: local media mode, development sign-in on, fixed test secrets. */
const testBindings = {
  APP_ENV: "development",
  DEV_SIGNIN: "on",
  APP_SIGNING_SECRET: "test-app-signing-secret-0123456789abcdef",
  TEST_MIGRATIONS: migrations,
};

export default defineConfig({
  test: {
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
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { ...testBindings, TWILIO_API_BASE: `http://127.0.0.1:${inject<number>("twilioPort")}` },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          setupFiles: ["./test/workers/apply-migrations.ts"],
          globalSetup: ["./test/support/global-setup.ts"],
        },
      },
    ],
  },
});
