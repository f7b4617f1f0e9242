// Prepares a fresh checkout for `npm run dev`: local settings and the local D1 database with migrations applied.
import { copyFileSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("dev-setup: created .dev.vars from .dev.vars.example (local media mode, development sign-in on)");
}
execFileSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local"], { stdio: "inherit", env: { ...process.env, CI: "true" } });
