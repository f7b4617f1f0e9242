// Prepares a fresh checkout for `npm run dev`: local settings (with a random signing secret) and the local D1 database
// with migrations applied. Run by scripts/dev.mjs, or on its own (`node scripts/dev-setup.mjs`).
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDevVars } from "./dev-vars.mjs";

/** Quiet unless something changes or fails: one line for the database, wrangler's full output only on failure. */
export function setUpDev({ env = process.env, cwd = process.cwd() } = {}) {
  const vars = ensureDevVars(cwd);
  if (vars.created) console.log("dev-setup: created .dev.vars from .dev.vars.example (local media mode, development sign-in on)");
  if (vars.secret === "generated") console.log("dev-setup: wrote a random APP_SIGNING_SECRET to .dev.vars");
  if (vars.secret === "replaced")
    console.log("dev-setup: APP_SIGNING_SECRET in .dev.vars was missing, too short or a published example value; replaced it with a random one");
  let output;
  try {
    output = execFileSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    });
  } catch (error) {
    process.stderr.write(`${error.stdout ?? ""}${error.stderr ?? ""}`);
    throw new Error("applying the D1 migrations to the local database failed (wrangler's output above)");
  }
  const applied = /About to apply (\d+) migration/.exec(output)?.[1];
  console.log(applied ? `dev-setup: local D1 database: applied ${applied} migration(s)` : "dev-setup: local D1 database is up to date");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) setUpDev();
