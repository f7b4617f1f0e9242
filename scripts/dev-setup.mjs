// Prepares a fresh checkout for `npm run dev`: local settings (with a random signing secret) and the local D1 database
// with migrations applied.
import { execFileSync } from "node:child_process";
import { ensureDevVars } from "./dev-vars.mjs";

const vars = ensureDevVars(process.cwd());
if (vars.created) console.log("dev-setup: created .dev.vars from .dev.vars.example (local media mode, development sign-in on)");
if (vars.secret === "generated") console.log("dev-setup: wrote a random APP_SIGNING_SECRET to .dev.vars");
if (vars.secret === "replaced")
  console.log("dev-setup: APP_SIGNING_SECRET in .dev.vars was missing, too short or a published example value; replaced it with a random one");
execFileSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local"], { stdio: "inherit", env: { ...process.env, CI: "true" } });
