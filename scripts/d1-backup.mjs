#!/usr/bin/env node
// Nightly D1 backup: `wrangler d1 export` of the whole database (schema + data) to a timestamped .sql file.
//
//   node scripts/d1-backup.mjs --remote                 # production (needs CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID)
//   node scripts/d1-backup.mjs --local                  # the local database (`npm run dev`'s: .wrangler/state beside --config)
//   options: --database mindbloom-video  --out backups  --keep 30  --config wrangler.toml
//
// Prints the file written and its size; exits non-zero when the export fails or writes nothing. `--keep N` deletes all
// but the N newest exports of that database in --out. Restore: docs/operations.md ("Restore from an export").
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    remote: { type: "boolean", default: false },
    local: { type: "boolean", default: false },
    database: { type: "string", default: "mindbloom-video" },
    out: { type: "string", default: "backups" },
    keep: { type: "string" },
    config: { type: "string", default: "wrangler.toml" },
  },
});
if (values.remote === values.local) {
  console.error("d1-backup: say --remote (production) or --local");
  process.exit(2);
}

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
fs.mkdirSync(values.out, { recursive: true });
const file = path.resolve(values.out, `${values.database}-${values.remote ? "remote" : "local"}-${stamp}.sql`);
// --skip-confirmation: the remote export asks before it runs (a large export makes the database busy for its duration).
const args = ["d1", "export", values.database, values.remote ? "--remote" : "--local", "--output", file, "--config", values.config, "--skip-confirmation"];
// wrangler d1 export has no --persist-to: a local export reads the .wrangler/state of the directory it runs in.
const wrangler = path.join(import.meta.dirname, "..", "node_modules", ".bin", "wrangler");
execFileSync(wrangler, args, { cwd: path.dirname(path.resolve(values.config)), stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, CI: "true" } });

const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
if (size === 0) {
  console.error(`d1-backup: ${file} is missing or empty`);
  process.exit(1);
}
const tables = (fs.readFileSync(file, "utf8").match(/^CREATE TABLE/gm) ?? []).length;
console.log(`d1-backup: wrote ${file} (${size} bytes, ${tables} tables)`);

if (values.keep) {
  const keep = Number(values.keep);
  const mine = fs
    .readdirSync(values.out)
    .filter((f) => f.startsWith(`${values.database}-${values.remote ? "remote" : "local"}-`) && f.endsWith(".sql"))
    .sort()
    .reverse();
  for (const old of mine.slice(keep)) {
    fs.rmSync(path.join(values.out, old));
    console.log(`d1-backup: removed ${old} (keeping the ${keep} newest)`);
  }
}
