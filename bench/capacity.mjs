#!/usr/bin/env node
// How many concurrent sessions one deployment carries, and what saturates first (docs/scaling.md). Reads what the
// benches wrote (bench/results/bill.json, idle.json, many.json, latest.json) and the platform limits below, so the
// projection follows the code whenever the benches are run again:
//   npm exec -- node bench/capacity.mjs [resultsDir]
// Nothing here is measured: it divides documented limits by measured per-session counts. Every limit is cited.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const dir = process.argv[2] ?? path.join(import.meta.dirname, "results");
const load = (name) => {
  const f = path.join(dir, name);
  return existsSync(f) ? JSON.parse(readFileSync(f, "utf8")) : null;
};

// Documented limits (as of 2026-12-02).
export const LIMITS = {
  // https://developers.cloudflare.com/d1/platform/limits/ (FAQ "How much work can a D1 database do?"): a database is
  // single-threaded and runs one query at a time; ~1 ms per simple query gives ~1,000 queries/s. Each statement of a
  // batch is one query.
  d1QueriesPerSecond: 1000,
  d1MaxBytes: 10e9, // Maximum database size: 10 GB (Workers Paid)
  d1QueriesPerInvocation: 1000, // Queries per Worker invocation (Workers Paid)
  d1MaxBoundParameters: 100, // per query
  // https://developers.cloudflare.com/analytics/analytics-engine/limits/: data points written per Worker invocation.
  aePointsPerInvocation: 250,
  // https://developers.cloudflare.com/durable-objects/platform/limits/ and the FAQ: one Durable Object is
  // single-threaded (one isolate thread: ~1 core).
  doCoreMsPerSecond: 1000,
  // https://www.twilio.com/docs/video/api/rooms-resource: a Group Room holds at most 50 participants.
  twilioGroupRoomMaxParticipants: 50,
};

const bill = load("bill.json")?.result;
const idle = load("idle.json")?.result;
const many = load("many.json")?.result;
const latest = load("latest.json");
const fmt = (x, d = 0) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toLocaleString("en-US", { maximumFractionDigits: d }));
const rows = [];
// unit: what `sessions` counts (concurrent sessions unless the row is a burst or a size).
const add = (what, perSession, limit, sessions, source, unit = "concurrent sessions") => rows.push({ what, perSession, limit, sessions, source, unit });

if (!bill) console.log(`no ${path.join(dir, "bill.json")}: run  npm run bench -- --only=bill --no-wrangler --out=<dir>`);
else {
  const h = bill.perSessionHour;
  const members = bill.members;
  // Average load: statements per second one session-hour puts on D1.
  const stmtsPerS = h.d1Statements / 3600;
  add(
    "D1 queries, average",
    `${fmt(h.d1Statements)} statements/session-hour (${fmt(stmtsPerS, 3)}/s)`,
    `${fmt(LIMITS.d1QueriesPerSecond)} queries/s`,
    LIMITS.d1QueriesPerSecond / stmtsPerS,
    "bill.json perSessionHour.d1Statements",
  );
  add(
    "D1 queries, at 50 % utilisation",
    "",
    `${fmt(LIMITS.d1QueriesPerSecond / 2)} queries/s`,
    LIMITS.d1QueriesPerSecond / 2 / stmtsPerS,
    "one queue at 50 % busy: mean wait half a query time (M/D/1)",
  );
  // Peak: sessions that open their breakouts in the same second (sessions starting on the hour do).
  const open = bill.steps.find((s) => /create 3 rooms \+ open/.test(s.name));
  if (open) {
    const st = open.counts["d1.statements"];
    add(
      "D1 queries, breakout openings in the same second",
      `${fmt(st)} statements per opening (${members} members, 3 rooms)`,
      `${fmt(LIMITS.d1QueriesPerSecond)} queries/s`,
      LIMITS.d1QueriesPerSecond / st,
      "bill.json step 'round 1: create 3 rooms + open'",
      "sessions opening in one second",
    );
  }
  if (h.d1BytesGrown > 0)
    add(
      "D1 size",
      `${fmt(h.d1BytesGrown / 1024, 1)} KiB/session-hour`,
      "10 GB",
      LIMITS.d1MaxBytes / h.d1BytesGrown,
      "session-hours until full, not concurrent sessions",
      "session-hours",
    );
  // Analytics Engine: points in one invocation. The opening is the largest single invocation (one point per member
  // moved and one per token minted, + the round); it caps session size, not the number of sessions.
  if (open) {
    const pts = (open.counts["ae.engine"] ?? 0) + (open.counts["ae.worker"] ?? 0);
    const perMember = pts / members;
    add(
      "Analytics Engine points in one invocation (openBreakouts)",
      `${fmt(pts)} for ${members} members (${fmt(perMember, 2)}/member)`,
      `${LIMITS.aePointsPerInvocation}/invocation`,
      null,
      `caps one session at ≈ ${fmt(LIMITS.aePointsPerInvocation / perMember)} members per opening`,
    );
  }
  add("Analytics Engine points", `${fmt(h.aeDataPoints)}/session-hour`, "no per-second limit documented", null, "billing only");
  add("DO requests", `${fmt(h.doRequestsBilled, 1)} billed/session-hour`, "per object, no account cap", null, "");
  const rooms = 1 + 3;
  add(
    "Twilio rooms and participants",
    `${rooms} rooms (main + 3), ${members} participants`,
    "account concurrency: set per account by Twilio (not published)",
    null,
    "concurrent rooms = live sessions × (1 + open breakout rooms)",
  );
}

const cpuMove = latest?.results?.movesWindow16?.workerdCpuMsPerCommand;
const cpuOpen = latest?.results?.fanout?.workerdCpuMsPerOpen;
if (cpuMove) {
  const noise = latest?.noise?.movesWindow16?.otherProcessesCores;
  add(
    "one session DO's CPU (~1 core)",
    `${fmt(cpuMove, 2)} ms per move, ${fmt(cpuOpen, 1)} ms per openBreakouts of 49 (all of workerd: DO + local D1 + sockets; other load ${noise ?? "?"} cores)`,
    "1,000 ms/s",
    null,
    `per session, not per deployment: ≈ ${fmt(LIMITS.doCoreMsPerSecond / cpuMove)} moves/s in one session (latest.json)`,
  );
}
if (many && !many.error) {
  add(
    "local workerd memory",
    `${fmt(many.memory?.perSocketKb)} KiB/socket, ${fmt(many.memory?.perSessionKb)} KiB/session with sockets`,
    "the machine",
    null,
    `many.json: ${many.socketsConnected} sockets on ${many.processes ?? 1} process(es); local only (Cloudflare runs each DO where it runs)`,
  );
}
if (idle && !idle.error)
  add(
    "idle session",
    `${idle.doRequestsDuringIdle} DO invocations in ${idle.idleSeconds} s of keepalives from ${idle.clients} clients`,
    "",
    null,
    "idle.json: keepalives cost nothing",
  );

console.log(`Capacity projection from ${dir}${bill ? ` (bill run ${load("bill.json").meta?.startedAt})` : ""}\n`);
console.log("| what | per session | limit | sessions it carries | note |\n|---|---|---|---|---|");
for (const r of rows)
  console.log(`| ${r.what} | ${r.perSession} | ${r.limit} | ${Number.isFinite(r.sessions) ? `${fmt(Math.floor(r.sessions))} ${r.unit}` : "–"} | ${r.source} |`);
const binding = rows.filter((r) => Number.isFinite(r.sessions) && !/size/.test(r.what)).sort((a, b) => a.sessions - b.sessions)[0];
if (binding) console.log(`\nSaturates first: ${binding.what} at ≈ ${fmt(Math.floor(binding.sessions))} ${binding.unit}.`);
