#!/usr/bin/env node
// MindBloom Video performance benchmarks (issue "Performance"). One entry point:
//   npm run bench                       # everything (≈ 10–15 min on 2 cores)
//   npm run bench -- --only=fanout,moves --quick
//   npm run bench -- --profile          # also CPU-profile the worker isolate (separate, slower runs)
// Runs the product's production bundle on workerd (bench/lib/serve-workerd.mjs: Miniflare's API, a socket straight to
// the Worker, 127.0.0.1 only) with a bench-specific env, a fresh state directory (on tmpfs when there is one: local
// workerd fsyncs every SQLite commit on the request thread, which Cloudflare's storage does not; --state-dir=/tmp
// measures on disk), D1 migrations applied, and the local Twilio-compatible server. Then, for reference, fan-out and the
// token endpoint through `wrangler dev` (its dev proxy and entry Workers in front). Writes bench/results/latest.{json,md}.
// Numbers are reported, never asserted: the exit code is 0 whenever the benchmarks ran.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { applyMigrations, d1Query, fdLimit, freePort, noiseMeter, snapshotProject, startWorkerd, startWrangler, ROOT } from "./lib/wrangler.mjs";
import { Inspector, saveProfile, summarizeProfile } from "./lib/profiler.mjs";
import { renderMarkdown } from "./lib/report.mjs";
import * as fanout from "./fanout.mjs";
import * as moves from "./moves.mjs";
import * as token from "./token.mjs";
import * as many from "./many.mjs";
import * as resume from "./resume.mjs";
import * as micro from "./micro.mjs";
import * as flood from "./flood.mjs";
import * as idle from "./idle.mjs";
import * as bill from "./bill.mjs";

const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    // Experiments (e.g. a scratch copy with a proposed change, BENCH_PROJECT=dir): only the direct fan-out and the
    // windowed moves, with --quick sizes.
    minimal: { type: "boolean", default: false },
    out: { type: "string", default: path.join(import.meta.dirname, "results") },
    compare: { type: "string" },
    label: { type: "string" },
    "keep-tmp": { type: "boolean", default: false },
    nice: { type: "string", default: "-10" },
    // Where the state directory lives (default: /dev/shm when it exists, else the OS temp dir).
    "state-dir": { type: "string" },
    // Skip the `wrangler dev` reference phase.
    "no-wrangler": { type: "boolean", default: false },
    // bench/many.mjs: how many workerd processes the sessions are split over.
    "many-processes": { type: "string", default: "2" },
  },
});

// Sockets are file descriptors: make sure this process (and wrangler, which inherits it) may use the hard limit.
const lim = fdLimit(process.pid);
if (lim.soft < lim.hard && !process.env.BENCH_FD_RAISED) {
  const r = spawnSync("bash", ["-c", `ulimit -n ${lim.hard} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, BENCH_FD_RAISED: "1" },
  });
  process.exit(r.status ?? 1);
}

// A shared machine: run the bench processes (client, wrangler + workerd, the peer) at a higher scheduling priority
// than other work (root may; otherwise this is skipped). Other processes' CPU use is still recorded per bench.
const NICE = Number(args.nice);
if (NICE) {
  try {
    os.setPriority(0, NICE);
    process.env.BENCH_NICE = String(NICE);
  } catch {
    delete process.env.BENCH_NICE;
  }
}

const ALL = ["fanout", "moves", "token", "many", "resume", "micro", "flood"];
// Opt-in (--only=idle,bill): the idle minute and the scripted bill session, with the inspector open for call counts.
// Each also writes <out>/<name>.json, which bench/capacity.mjs reads.
const OPT_IN = ["idle", "bill"];
const only = new Set(args.only ? args.only.split(",").map((s) => s.trim()) : ALL);
const Q = args.quick || args.minimal;
const SIZES = {
  fanoutRounds: Q ? 30 : 200,
  movesSeconds: Q ? 4 : 10,
  tokenSessions: Q ? 6 : 24,
  tokenDuration: Q ? 4 : 8,
  tokenReps: Q ? 1 : 2,
  manySessions: Q ? 100 : 1000,
  manyBusy: Q ? 10 : 100,
  manySeconds: Q ? 8 : 20,
  resumeSessions: Q ? 20 : 100,
};

const log = (...a) => console.log(...a);
const started = new Date();
const stateBase = args["state-dir"] ?? (existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir());
const tmp = mkdtempSync(path.join(stateBase, "mindbloom-bench-"));
const persistTo = path.join(tmp, "state");
mkdirSync(persistTo);
const project = snapshotProject(path.join(tmp, "src"));
mkdirSync(args.out, { recursive: true });

// The local Twilio-compatible server is TypeScript; Node 22 strips the types.
const { startLocalTwilio } = await import(pathToFileURL(path.join(ROOT, "test", "support", "twilio-server.ts")).href);

const appSecret = `bench-app-signing-secret-${Math.random().toString(36).slice(2)}-0123456789abcdef`;
const results = {};
const noise = {};
const meta = {
  startedAt: started.toISOString(),
  project: ROOT,
  node: process.version,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  wrangler: JSON.parse(readFileSync(path.join(ROOT, "node_modules", "wrangler", "package.json"), "utf8")).version,
  sizes: SIZES,
  quick: Q,
  label: args.label ?? null,
  stateDir: stateBase,
  stateOnTmpfs: isTmpfs(stateBase),
  nice: process.env.BENCH_NICE ? Number(process.env.BENCH_NICE) : 0,
};

let twilio;
const BENCH_PUBLIC_URL = "https://bench.mindbloom.test";
/** Twilio's status callbacks to the Worker running now (its public URL stands for the direct socket). */
async function deliverToWorker(cb) {
  if (!w?.directUrl) return;
  const headers = { "X-Twilio-Signature": cb.signature, "I-Twilio-Idempotency-Token": cb.idempotencyToken, "User-Agent": "TwilioProxy/1.1" };
  if (cb.method === "POST") headers["Content-Type"] = "application/x-www-form-urlencoded";
  const res = await fetch(cb.url.replace(BENCH_PUBLIC_URL, w.directUrl), {
    method: cb.method,
    headers,
    body: cb.method === "POST" ? cb.body : undefined,
  }).catch(() => null);
  await res?.arrayBuffer();
  cb.workerStatus = res?.status ?? 0; // bench/moves.mjs counts refused deliveries
}
let w = null;
const stopW = async () => {
  if (w) await w.stop();
  w = null;
};

function benchVars() {
  return {
    APP_ENV: "development",
    DEV_SIGNIN: "on",
    APP_SIGNING_SECRET: appSecret,
    DEBUG_LOGS: "false",
    TWILIO_ACCOUNT_SID: twilio.credentials.accountSid,
    TWILIO_AUTH_TOKEN: twilio.credentials.authToken,
    TWILIO_API_KEY_SID: twilio.credentials.apiKeySid,
    TWILIO_API_KEY_SECRET: twilio.credentials.apiKeySecret,
    TWILIO_API_BASE: twilio.url,
    // Status callbacks configured, as in production: the local server posts them to the Worker under test
    // (deliverToWorker), signed over this public URL.
    PUBLIC_BASE_URL: BENCH_PUBLIC_URL,
    // Raised per-socket message budgets: the defaults (staff 600 burst / 300 per s) would close the facilitator's
    // socket long before 2,000 commands/s. Reported in the output.
    SOCKET_BUDGET_STAFF: "1000000/1000000",
    SOCKET_BUDGET_PARTICIPANT: "100000/100000",
    // The token benchmark asks for tokens far faster than a client would (the peer has no limit at all).
    MEDIA_TOKEN_REQUESTS_PER_MINUTE: "1000000",
  };
}

function isTmpfs(dir) {
  try {
    const mounts = readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" "))
      .filter((f) => f.length > 2);
    const real = path.resolve(dir);
    const best = mounts.filter(([, mnt]) => real === mnt || real.startsWith(mnt.endsWith("/") ? mnt : `${mnt}/`)).sort((a, b) => b[1].length - a[1].length)[0];
    return best?.[2] === "tmpfs";
  } catch {
    return false;
  }
}

/** The product on workerd (production bundle, direct socket); with `profile`, its inspector is opened too. */
async function start(label, { profile = false, defaultBudgets = false } = {}) {
  await stopW();
  log(`starting workerd (${label})…`);
  const inspectorPort = profile ? await freePort() : undefined;
  const vars = benchVars();
  if (defaultBudgets) for (const k of ["SOCKET_BUDGET_STAFF", "SOCKET_BUDGET_PARTICIPANT", "MEDIA_TOKEN_REQUESTS_PER_MINUTE"]) delete vars[k];
  w = await startWorkerd({ persistTo, vars, label, logDir: tmp, project, inspectorPort });
  log(`  workerd: Worker socket ${w.directUrl} (Miniflare entry ${w.url}); pids ${JSON.stringify(w.pids)}`);
  meta.vars = Object.fromEntries(Object.entries(benchVars()).map(([k, v]) => [k, /SECRET|TOKEN/.test(k) ? "(set)" : v]));
  return w;
}

/** The same sources under `wrangler dev` (reference: what a developer's laptop runs). */
async function startDev(label, logLevel) {
  await stopW();
  log(`starting wrangler dev (${label}, --log-level ${logLevel})…`);
  w = await startWrangler({ persistTo, vars: benchVars(), logLevel, label, logDir: tmp, project });
  log(`  wrangler ${w.url} (user worker direct ${w.directUrl}); pids ${JSON.stringify(w.pids)}`);
  if (!w.directUrl) throw new Error("could not find the user worker's own port");
  meta.vars = Object.fromEntries(Object.entries(benchVars()).map(([k, v]) => [k, /SECRET|TOKEN/.test(k) ? "(set)" : v]));
  return w;
}

const ourPids = () => [process.pid, w?.pids.wrangler].filter(Boolean);
async function timed(name, fn) {
  const m = noiseMeter(ourPids);
  const t0 = Date.now();
  try {
    results[name] = await fn();
  } catch (err) {
    results[name] = { error: String(err?.stack ?? err) };
    log(`  ${name} FAILED: ${err?.message ?? err}`);
  }
  noise[name] = m.stop();
  noise[name].wallSeconds = Math.round((Date.now() - t0) / 100) / 10;
  log(`  ${name}: done in ${noise[name].wallSeconds} s (other processes used ${noise[name].otherProcessesCores} cores meanwhile)`);
}

async function profiled(name, fn) {
  try {
    await profiledInner(name, fn);
  } catch (err) {
    results[`profile_${name}`] = { error: String(err?.stack ?? err) };
    log(`  profile ${name} FAILED: ${err?.message ?? err}`);
  }
}

async function profiledInner(name, fn) {
  const insp = await Inspector.connect(w.inspectorPort);
  await insp.start(100);
  let out;
  try {
    out = await fn();
  } finally {
    const prof = await insp.stop();
    insp.close();
    const file = path.join(args.out, `profile-${name}.cpuprofile`);
    saveProfile(file, prof);
    const s = summarizeProfile(prof, 40, w.bundle);
    const inclusiveNames = [
      "webSocketMessage",
      "command",
      "apply",
      "dispatch",
      "viewFrames",
      "placementFrames",
      "placementFor",
      "participantView",
      "diffForStaff",
      "recordsFor",
      "persisted",
      "enqueue",
      "deliver",
      "socketsFor",
      "scheduleAlarm",
      "nextAlarmTime",
      "flushOutbox",
      "rememberCommand",
      "recalledCommand",
      "sign",
      "jwtVerify",
      "verifyMemberTicket",
      "requireMember",
      "rateLimitMiddleware",
      "mediaGrant",
      "fetch",
      "securityHeadersMiddleware",
      "corsAllowList",
      "safeParse",
      "writeAnalytics",
      "resume",
      "snapshotFor",
      "load",
      "migrate",
    ];
    results[`profile_${name}`] = {
      file: path.relative(ROOT, file),
      busyMs: s.busyMs,
      idleMs: s.idleMs,
      // What the profiled run did (moves: commands acked; fan-out: rounds), to read the profile per event.
      events: out?.commands ?? out?.rounds ?? null,
      topSelf: s.topSelf,
      inclusive: s.inclusive(inclusiveNames),
    };
  }
}

// A second wrangler process reads the same SQLite file wrangler dev is writing: it may find it busy. Retry.
const countTransitions = async (sessionId) => {
  for (let attempt = 0; ; attempt++) {
    try {
      return Number(d1Query(persistTo, `SELECT COUNT(*) AS n FROM breakout_room_transitions WHERE session_id = '${sessionId}'`, project)[0]?.n ?? NaN);
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
};

try {
  log(`MindBloom bench: tmp ${tmp}; ${os.cpus().length} cpus; node ${process.version}`);
  // Ctrl-C / SIGTERM: stop wrangler (its own process group) and the local Twilio server before leaving.
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.once(sig, async () => {
      log(`\n${sig}: stopping wrangler…`);
      await stopW().catch(() => {});
      await twilio?.close().catch(() => {});
      if (!args["keep-tmp"]) rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    });
  }
  if (only.has("micro")) await timed("micro", () => micro.run({ project }));
  applyMigrations(persistTo, project);
  twilio = await startLocalTwilio({ port: 0, host: "127.0.0.1", deliverCallbacks: deliverToWorker });

  // Phase A: the product on workerd.
  if (["fanout", "moves", "token", "many", "resume"].some((n) => only.has(n))) await start("A");
  if (only.has("fanout")) await timed("fanout", () => fanout.run({ base: w.directUrl, rounds: SIZES.fanoutRounds, workerdPid: w.pids.userWorkerd, log }));
  if (only.has("moves")) {
    if (!args.minimal)
      await timed("moves", () =>
        moves.run({ base: w.directUrl, seconds: SIZES.movesSeconds, window: 1, countTransitions, workerdPid: w.pids.userWorkerd, log }),
      );
    await timed("movesWindow16", () =>
      moves.run({ base: w.directUrl, seconds: SIZES.movesSeconds, window: 16, countTransitions, workerdPid: w.pids.userWorkerd, log }),
    );
    // The same with everyone on media: each move also kicks the old connection (REST), and Twilio's callbacks
    // (disconnected, connected to the new room: an arrival) come back to the session.
    await timed("movesWindow16Media", () =>
      moves.run({ base: w.directUrl, seconds: SIZES.movesSeconds, window: 16, countTransitions, workerdPid: w.pids.userWorkerd, log, twilio }),
    );
  }
  const tokenRun = (targets, extra = {}) =>
    token.run({
      targets,
      sessions: SIZES.tokenSessions,
      duration: SIZES.tokenDuration,
      reps: SIZES.tokenReps,
      twilio: twilio.credentials,
      appSecret,
      pids: { host: w.pids.wrangler, proxyWorkerd: w.pids.proxyWorkerd, userWorkerd: w.pids.userWorkerd },
      log,
      ...extra,
    });
  if (only.has("token") && !args.minimal) await timed("token", () => tokenRun([{ label: "ours (workerd)", kind: "ours", url: w.directUrl }]));
  if (only.has("many") && !args.minimal) {
    // Sessions split over --many-processes workerd processes (default 2): the others with their own state (and D1).
    const extra = [];
    try {
      for (let k = 1; k < Number(args["many-processes"]); k++) {
        const dir = path.join(tmp, `state-many-${k}`);
        mkdirSync(dir);
        applyMigrations(dir, project);
        extra.push(await startWorkerd({ persistTo: dir, vars: benchVars(), label: `A${k + 1}`, logDir: tmp, project }));
        log(`  workerd ${k + 1}: Worker socket ${extra.at(-1).directUrl}; pid ${extra.at(-1).pids.userWorkerd}`);
      }
      const targets = [w, ...extra].map((x) => ({ base: x.directUrl, pids: { userWorkerd: x.pids.userWorkerd } }));
      await timed("many", () =>
        many.run({
          base: w.directUrl,
          proxyBase: null,
          pids: { userWorkerd: w.pids.userWorkerd, proxyWorkerd: null },
          targets,
          sessions: SIZES.manySessions,
          busySessions: SIZES.manyBusy,
          seconds: SIZES.manySeconds,
          log,
        }),
      );
    } finally {
      for (const x of extra) await x.stop();
    }
    if (results.many) writeFileSync(path.join(args.out, "many.json"), JSON.stringify({ meta, result: results.many, noise: noise.many }, null, 2));
  }
  let made;
  let expectedBefore;
  if (only.has("resume") && !args.minimal) {
    let probe;
    let probeSession;
    await timed("resumeWarm", async () => {
      made = await resume.prepare({ base: w.directUrl, sessions: SIZES.resumeSessions, log });
      const warm = await resume.measure({ base: w.directUrl, made, label: "warm", log });
      expectedBefore = await resume.readExpectations(w.directUrl, made);
      [probeSession] = await resume.prepare({ base: w.directUrl, sessions: 1 });
      probe = await resume.presenceProbeBefore(w.directUrl, probeSession);
      return warm;
    });
    // Phase C: restart on the same state; every session DO is rebuilt from its SQLite storage on first use.
    await start("C");
    probe?.close();
    await timed("resumeCold", async () => {
      const cold = await resume.measureCold({ base: w.directUrl, made, expectedBefore, log });
      cold.stalePresenceAfterRestart = await resume.presenceProbeAfter(w.directUrl, probeSession);
      return cold;
    });
  }

  // Phase F: one member floods the session; the product's default budgets, so the defence is what is measured.
  if (only.has("flood") && !args.minimal) {
    await start("F", { defaultBudgets: true });
    await timed("flood", () => flood.run({ base: w.directUrl, seconds: Q ? 5 : 10, log }));
  }

  // Phase I: invocation counts (V8 precise coverage through the inspector; counts do not depend on machine load).
  if (OPT_IN.some((n) => only.has(n))) {
    await start("I", { profile: true });
    const ctx = {
      base: w.directUrl,
      entryUrl: w.url,
      inspectorPort: w.inspectorPort,
      bundle: w.bundle,
      workerdPid: w.pids.userWorkerd,
      persistTo,
      project,
      log,
    };
    if (only.has("idle")) await timed("idle", () => idle.run({ ...ctx, idleSeconds: Q ? 20 : 60 }));
    if (only.has("bill")) await timed("bill", () => bill.run(ctx));
    for (const n of OPT_IN.filter((x) => only.has(x) && results[x]))
      writeFileSync(
        path.join(args.out, `${n}.json`),
        JSON.stringify({ meta: { ...meta, finishedAt: new Date().toISOString() }, result: results[n], noise: noise[n] }, null, 2),
      );
  }

  // Phase P: CPU profiles (separate runs; the profiler slows everything down).
  if (args.profile) {
    await start("P", { profile: true });
    if (only.has("fanout")) await profiled("fanout", () => fanout.run({ base: w.directUrl, rounds: 40 }));
    if (only.has("moves")) await profiled("moves", () => moves.run({ base: w.directUrl, seconds: 5, window: 16 }));
    if (only.has("moves")) await profiled("movesMedia", () => moves.run({ base: w.directUrl, seconds: 5, window: 16, twilio }));
    if (only.has("token"))
      await profiled("token", () =>
        token.run({
          targets: [{ label: "ours (workerd)", kind: "ours", url: w.directUrl }],
          withPeer: false,
          sessions: 4,
          duration: 5,
          reps: 1,
          warmup: 1,
          twilio: twilio.credentials,
          appSecret,
        }),
      );
    if (only.has("resume") && made) {
      await start("P2", { profile: true });
      await profiled("resumeCold", () => resume.measureCold({ base: w.directUrl, made: made.slice(0, 40), expectedBefore: expectedBefore.slice(0, 40) }));
    }
  }

  // Phase W: the same sources under `wrangler dev`, for reference (request logs as wrangler prints them).
  if (!args.minimal && !args["no-wrangler"] && (only.has("fanout") || only.has("token"))) {
    await startDev("W", "info");
    if (only.has("fanout")) await timed("fanoutViaWranglerPort", () => fanout.run({ base: w.url, rounds: Math.min(SIZES.fanoutRounds, 100), log }));
    if (only.has("token"))
      await timed("tokenViaWrangler", () => tokenRun([{ label: "ours via wrangler dev", kind: "ours", url: w.url, setupUrl: w.directUrl }]));
  }
} finally {
  await stopW();
  await twilio?.close();
  if (!args["keep-tmp"]) rmSync(tmp, { recursive: true, force: true });
}

meta.finishedAt = new Date().toISOString();
const compareFile = args.compare ?? path.join(args.out, "baseline.json");
const baseline =
  existsSync(compareFile) && path.resolve(compareFile) !== path.resolve(path.join(args.out, "latest.json"))
    ? JSON.parse(readFileSync(compareFile, "utf8"))
    : null;
const doc = { meta, results, noise };
writeFileSync(path.join(args.out, "latest.json"), JSON.stringify(doc, null, 2));
const md = renderMarkdown(doc, baseline, baseline ? path.relative(ROOT, compareFile) : null);
writeFileSync(path.join(args.out, "latest.md"), md);
log("\n" + md);
log(`wrote ${path.relative(process.cwd(), path.join(args.out, "latest.json"))} and latest.md`);
process.exit(0); // client sockets, timers and the Twilio server's keep-alives would otherwise hold the process
