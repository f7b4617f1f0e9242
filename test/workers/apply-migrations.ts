import { applyD1Migrations, env } from "cloudflare:test";

// Setup files run outside isolated storage and may run many times: applyD1Migrations is idempotent.
await applyD1Migrations((env as any).DB, (env as any).TEST_MIGRATIONS);
