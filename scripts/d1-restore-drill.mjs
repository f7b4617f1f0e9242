#!/usr/bin/env node
// Backup-and-restore drill, end to end on this machine (docs/operations.md "Restore drill"):
//   1. a fresh local D1 (migrations applied) under a temporary persist dir A; `wrangler dev` on it;
//   2. a real session through the API: facilitator, three guests, two breakout rooms, a round opened and closed, ended;
//   3. the operator's report of it (GET /api/sessions/:id/report) and the live-session query of the old guide;
//   4. `scripts/d1-backup.mjs --local` (wrangler d1 export) of A;
//   5. a second, empty persist dir B: `wrangler d1 execute --local --file <export>` (the restore);
//   6. `wrangler dev` on B only — no Durable Object state at all, as after losing it — and the same report again.
// Exits 0 only when the restored report equals the original (field by field, `generatedAt`-like clocks excluded).
//
//   node scripts/d1-restore-drill.mjs [--keep-dirs]
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isDeepStrictEqual, parseArgs } from "node:util";

const { values } = parseArgs({ options: { "keep-dirs": { type: "boolean", default: false } } });
const root = path.resolve(import.meta.dirname, "..");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "mb-d1-drill-"));
// The original database is the default local state of a scratch project (wrangler d1 export reads only that one).
const project = path.join(work, "project");
const dirA = path.join(project, ".wrangler", "state");
const dirB = path.join(work, "restored");
const backups = path.join(work, "backups");
const secret = randomBytes(24).toString("hex");
const env = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" };
// The scratch project: this repository's wrangler.toml with absolute paths (the assets directory only has to exist).
fs.mkdirSync(path.join(root, "dist", "client"), { recursive: true });
fs.mkdirSync(project, { recursive: true });
const config = path.join(project, "wrangler.toml");
fs.writeFileSync(
  config,
  fs
    .readFileSync(path.join(root, "wrangler.toml"), "utf8")
    .replace(/^main = .*$/m, `main = ${JSON.stringify(path.join(root, "worker/index.ts"))}`)
    .replace(/^directory = .*$/m, `directory = ${JSON.stringify(path.join(root, "dist/client"))}`)
    .replace(/^migrations_dir = .*$/m, `migrations_dir = ${JSON.stringify(path.join(root, "migrations"))}`),
);

const step = (s) => console.log(`\n== ${s}`);
const wrangler = (args) =>
  execFileSync(path.join(root, "node_modules", ".bin", "wrangler"), [...args, "--config", config], {
    cwd: project,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });

async function serve(persistTo, port) {
  const vars = ["APP_ENV:development", "DEV_SIGNIN:on", `APP_SIGNING_SECRET:${secret}`, "REQUEST_LOG_SAMPLE_RATE:0"];
  const child = spawn(
    path.join(root, "node_modules", ".bin", "wrangler"),
    [
      "dev",
      "--config",
      config,
      "--local",
      "--persist-to",
      persistTo,
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--show-interactive-dev-session=false",
      ...vars.flatMap((v) => ["--var", v]),
    ],
    { cwd: project, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  const end = Date.now() + 90_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > end || child.exitCode !== null) throw new Error(`wrangler dev did not start:\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    base,
    stop: async () => {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        /* gone */
      }
      await new Promise((r) => setTimeout(r, 1500));
    },
  };
}

async function call(base, method, p, { token, body } = {}) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

let n = 0;
const command = (base, sessionId, ticket, cmd) =>
  call(base, "POST", `/api/sessions/${sessionId}/commands`, { token: ticket, body: { commandId: `drill-${++n}-${Date.now()}`, command: cmd } });
const signIn = async (base, name, role, userId) => (await call(base, "POST", "/api/auth/dev-signin", { body: { name, role, userId } })).token;

/** A report with the clock of the request left out (everything else must survive the restore). */
function stable(report) {
  const copy = structuredClone(report);
  const drop = (o) => {
    if (!o || typeof o !== "object") return;
    for (const k of Object.keys(o)) {
      if (/^(generatedAt|asOf|now)$/.test(k)) delete o[k];
      else drop(o[k]);
    }
  };
  drop(copy);
  return copy;
}

let a;
let b;
try {
  step(`fresh local D1 in ${dirA}`);
  process.stdout.write(wrangler(["d1", "migrations", "apply", "DB", "--local"]).split("\n").slice(-4).join("\n"));

  step("a session through the API (wrangler dev on the original)");
  a = await serve(dirA, 8911);
  const fac = await signIn(a.base, "Drill Facilitator", "facilitator", "drill-fac");
  const s = await call(a.base, "POST", "/api/sessions", {
    token: fac,
    body: { title: "Restore drill", mediaProvider: "local", settings: { autoAdmit: true } },
  });
  // Clients accept the group agreement the preview shows (by its hash) to join.
  const preview = await call(a.base, "POST", `/api/sessions/${s.sessionId}/preview`, { body: { invite: s.invite.token } });
  for (const name of ["Guest A", "Guest B", "Guest C"])
    await call(a.base, "POST", `/api/sessions/${s.sessionId}/join`, { body: { invite: s.invite.token, name, agreementHash: preview.agreement.hash } });
  await command(a.base, s.sessionId, s.ticket, { type: "createBreakouts", count: 2, mode: "auto" });
  await command(a.base, s.sessionId, s.ticket, { type: "openBreakouts" });
  await new Promise((r) => setTimeout(r, 1200));
  await command(a.base, s.sessionId, s.ticket, { type: "closeAll", countdownSeconds: 0 });
  await new Promise((r) => setTimeout(r, 300));
  await command(a.base, s.sessionId, s.ticket, { type: "endSession" });
  const operator = await signIn(a.base, "Drill Operator", "operator", "drill-ops");
  const before = await call(a.base, "GET", `/api/sessions/${s.sessionId}/report`, { token: operator });
  console.log(`report (${Object.keys(before).join(", ")}): ${before.attendance?.length ?? "?"} attendance rows, totals ${JSON.stringify(before.totals ?? {})}`);
  await a.stop();
  a = undefined;
  const liveA = wrangler(["d1", "execute", "DB", "--local", "--json", "--command", "SELECT COUNT(*) AS rows FROM breakout_room_participants"]);
  console.log(`breakout_room_participants rows (original): ${JSON.parse(liveA)[0].results[0].rows}`);

  step("backup: scripts/d1-backup.mjs --local (wrangler d1 export)");
  const out = execFileSync(process.execPath, ["scripts/d1-backup.mjs", "--local", "--config", config, "--out", backups], { cwd: root, env, encoding: "utf8" });
  const file = /wrote (\S+)/.exec(out)?.[1];
  console.log(out.trim().split("\n").slice(-1)[0]);
  if (!file) throw new Error("no export written");

  step(`restore into an empty database in ${dirB} (wrangler d1 execute --file)`);
  process.stdout.write(wrangler(["d1", "execute", "DB", "--local", "--persist-to", dirB, "--file", file, "--yes"]).split("\n").slice(-3).join("\n"));
  const liveB = wrangler([
    "d1",
    "execute",
    "DB",
    "--local",
    "--persist-to",
    dirB,
    "--json",
    "--command",
    "SELECT COUNT(*) AS rows FROM breakout_room_participants",
  ]);
  console.log(`\nbreakout_room_participants rows (restored): ${JSON.parse(liveB)[0].results[0].rows}`);

  step("the same report from the restored database (no Durable Object state)");
  b = await serve(dirB, 8912);
  const operatorB = await signIn(b.base, "Drill Operator", "operator", "drill-ops");
  const after = await call(b.base, "GET", `/api/sessions/${s.sessionId}/report`, { token: operatorB });
  const same = isDeepStrictEqual(stable(before), stable(after));
  console.log(same ? "restored report equals the original" : "REPORTS DIFFER");
  if (!same) {
    fs.writeFileSync(path.join(work, "before.json"), JSON.stringify(before, null, 2));
    fs.writeFileSync(path.join(work, "after.json"), JSON.stringify(after, null, 2));
    console.log(`see ${work}/before.json and after.json`);
    process.exitCode = 1;
  }
} finally {
  await a?.stop();
  await b?.stop();
  if (!values["keep-dirs"] && !process.exitCode) fs.rmSync(work, { recursive: true, force: true });
}
