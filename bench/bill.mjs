// 7. What one session costs on Cloudflare (issue 16, item 4): a 60-minute, 10-person session with two breakout rounds.
// The counts that scale with events are MEASURED by driving the scripted session at compressed time on workerd and
// counting, inside workerd (bench/lib/counters.mjs): Durable Object requests (WebSocket messages in, the upgrade
// fetches, RPC calls from the Worker, alarms), Worker requests, outbox batches and statements to D1, D1's own rows
// read/written per statement (Miniflare's D1 reports them as D1 bills them), Analytics Engine data points
// (writeDataPoint calls), and the DO's SQLite rows read/written (every cursor of ctx.storage.sql). The counts that
// scale with time over 60 minutes are added from the code's constants (token refresh, the alert cron's opsHealth call,
// keepalives = 0 invocations as bench/idle.mjs measures), their per-occurrence cost measured here too. Priced with
// Cloudflare's list prices (PRICES below), next to Twilio Group Rooms' media cost for the same session.
import { performance } from "node:perf_hooks";
import { Api, WsClient, sleep, summarize } from "./lib/client.mjs";
import { INVOCATIONS, LineCounters, RPC, WRITES, d1Totals } from "./lib/counters.mjs";
import { cpuMs } from "./lib/wrangler.mjs";

// List prices as of this script's date (2026-12-02); included allowances ignored per session (a session's share of a
// monthly allowance depends on the account's other traffic). Sources:
//   Workers:          https://developers.cloudflare.com/workers/platform/pricing/ (Workers Paid: requests, CPU ms)
//   Durable Objects:  https://developers.cloudflare.com/durable-objects/platform/pricing/ (requests incl. HTTP, RPC
//                     sessions, WebSocket messages, alarm invocations; incoming WebSocket messages billed 20:1;
//                     duration at 128 MB while active or idle-but-not-hibernatable; SQLite storage rows)
//   D1:               https://developers.cloudflare.com/d1/platform/pricing/
//   Analytics Engine: https://developers.cloudflare.com/analytics/analytics-engine/pricing/
//   Twilio Video:     https://www.twilio.com/en-us/video/pricing (Group Rooms, per participant-minute)
export const PRICES = {
  workersRequestPerM: 0.3, // beyond 10M included
  workersCpuMsPerM: 0.02, // beyond 30M included
  doRequestPerM: 0.15, // beyond 1M included
  doGbSecondPerM: 12.5, // beyond 400k GB-s included
  doMemoryGb: 0.128, // duration is billed at 128 MB per object
  wsIncomingPerRequest: 20, // 20 incoming WebSocket messages = 1 request
  doSqliteRowsReadPerM: 0.001, // beyond 25B included
  doSqliteRowsWrittenPerM: 1.0, // beyond 50M included
  d1RowsReadPerM: 0.001,
  d1RowsWrittenPerM: 1.0,
  aeDataPointPerM: 0.25, // beyond 10M included
  twilioGroupPerParticipantMinute: 0.004,
};

// The product's constants the time-driven counts come from.
const SESSION_MINUTES = 60;
const KEEPALIVE_EVERY_S = 20; // web/src/lib/session-core.ts pingIntervalMs
const TOKEN_TTL_S = 600; // wrangler.toml MEDIA_TOKEN_TTL_SECONDS
const TOKEN_REFRESH_EVERY_S = TOKEN_TTL_S - Math.min(300, TOKEN_TTL_S / 2); // durable-objects/grants.ts refreshLeadMs: refreshed at expiry − min(5 min, ttl/2)
const ALERT_CRON_EVERY_S = 60; // wrangler.toml crons "* * * * *": opsHealth on every live session and those ended within the hour
const ALERT_AFTER_END_MIN = 60; // worker/alerts/rules.ts: sessions ended within the hour are still read

/** SQLite rows of every ctx.storage.sql cursor in the isolate: patched once, from the DO constructor (a counter hit). */
const DO_SQLITE = {
  label: "do.sqlite.patched",
  target: "core:user:",
  script: "var SessionDurableObject = class extends DurableObject",
  from: "var SessionDurableObject = class extends DurableObject",
  at: "constructor(ctx, env) {",
  add: `(() => { const p = Object.getPrototypeOf(ctx.storage.sql); if (p.__mbPatched) return 0; const exec = p.exec; const cursors = (globalThis.__mbCursors = []);
    p.exec = function (...a) { const c = exec.apply(this, a); cursors.push(c); return c; }; p.__mbPatched = true; return 1; })()`,
};
const SQLITE_TOTALS = `(() => { let r = 0, w = 0, n = 0; for (const c of globalThis.__mbCursors ?? []) { r += c.rowsRead; w += c.rowsWritten; n++; } globalThis.__mbCursors && (globalThis.__mbCursors.length = 0); return JSON.stringify({ rowsRead: r, rowsWritten: w, statements: n }); })()`;

async function sqliteTotals(counters) {
  return JSON.parse(await counters.evaluate("core:user:", SQLITE_TOTALS));
}

const doRequests = (c) => {
  const rpc = Object.entries(c).reduce((a, [k, v]) => a + (k.startsWith("rpc.") ? v : 0), 0) - (c.socketCommands ?? 0);
  return { http: c["do.fetch"], rpc, alarms: c["do.alarm"], wsIn: c["do.webSocketMessage"] + c["do.webSocketClose"] + c["do.webSocketError"] };
};

export async function run({ base, inspectorPort, workerdPid, people = 10, gapMs = 6500, log = () => {} }) {
  const counters = await LineCounters.attach(inspectorPort, [...INVOCATIONS, ...RPC, ...WRITES, DO_SQLITE]);
  try {
    return await script(counters, { base, workerdPid, people, gapMs, log });
  } finally {
    await counters.close();
  }
}

async function script(counters, { base, workerdPid, people, gapMs, log }) {
  // Counts are isolate-wide: let what came before (an idle bench's closing sockets and their outbox alarm) finish.
  await sleep(7000);
  // One request through the Worker so the D1 binding is wrapped (and its size known) before the session starts.
  await fetch(`${base}/api/config`);
  await counters.take();
  await sqliteTotals(counters);
  let d1Size = (await d1Totals(counters))?.sizeAfter ?? null;
  // D1 counts of a step as the bill's keys; the size grown since the previous step.
  const d1Counts = (t) => {
    if (!t) return { "d1.requests": null, "d1.statements": null, "d1.rowsRead": null, "d1.rowsWritten": null, "d1.bytesGrown": null };
    const grown = d1Size !== null && t.sizeAfter ? t.sizeAfter - d1Size : null;
    if (t.sizeAfter) d1Size = t.sizeAfter;
    return { "d1.requests": t.requests, "d1.statements": t.statements, "d1.rowsRead": t.rowsRead, "d1.rowsWritten": t.rowsWritten, "d1.bytesGrown": grown };
  };
  const api = new Api(base);
  const steps = [];
  let socketCommands = 0;
  const cpu0 = cpuMs(workerdPid);
  // One scripted step: its wall time (the DO's active time is estimated from it) and the counters it moved.
  async function step(name, sessionMinute, fn) {
    const t0 = performance.now();
    const c0 = socketCommands;
    await fn();
    const wallMs = performance.now() - t0;
    // Let the outbox flush (20 ms) and its grid alarm (5 s grid, 1–6 s after a pending row) happen inside the step.
    await sleep(gapMs);
    const counts = await counters.take();
    counts.socketCommands = socketCommands - c0;
    counts.sqlite = await sqliteTotals(counters);
    Object.assign(counts, d1Counts(await d1Totals(counters)));
    steps.push({ name, sessionMinute, wallMs: +wallMs.toFixed(1), counts });
    log(
      `  bill: ${name}: ${wallMs.toFixed(0)} ms; DO ${JSON.stringify(doRequests(counts))}; D1 ${counts["d1.statements"]} stmts / ${counts["d1.rowsWritten"]} rows written`,
    );
  }
  const cmd = async (ws, command) => {
    socketCommands++;
    const r = await ws.command(command, 30_000);
    if (r.msg.type !== "ack") throw new Error(`${command.type}: ${JSON.stringify(r.msg)}`);
    return r;
  };

  let s;
  let fac;
  const ps = [];
  const joined = [];
  await step("create session", 0, async () => {
    s = await api.createSession({ settings: { autoAdmit: false }, mediaProvider: "twilio", title: "Bill" });
  });
  await step(`${people} join (waiting room)`, 1, async () => {
    for (let i = 0; i < people; i++) joined.push(await api.join(s.sessionId, s.invite.token, `Participant ${i + 1}`));
  });
  await step(`${people + 1} sockets connect`, 1, async () => {
    fac = await WsClient.connect(base, s.sessionId, s.ticket, { name: "fac", until: (m) => m.type === "snapshot" });
    for (const j of joined) ps.push(await WsClient.connect(base, s.sessionId, j.ticket, { name: "p", until: (m) => m.type === "snapshot" }));
  });
  await step(`admit ${people}`, 2, async () => {
    for (const p of ps) {
      const placed = p.waitFor((m) => m.type === "placement" && m.placement.location !== null, 30_000);
      await cmd(fac, { type: "admit", memberId: p.memberId });
      await placed;
    }
  });
  const chat = async (n) => {
    for (let i = 0; i < n; i++) await cmd(ps[i % ps.length], { type: "sendChat", channel: "room:main", text: `hello ${i}` });
  };
  await step("chat 10 messages", 5, () => chat(10));
  for (const round of [1, 2]) {
    const m0 = round === 1 ? 10 : 30;
    let rooms;
    await step(`round ${round}: create 3 rooms + open`, m0, async () => {
      await cmd(fac, { type: "createBreakouts", count: 3, mode: "auto", durationSeconds: 900 });
      const placed = ps.map((p) => p.waitFor((m) => m.type === "placement" && m.placement.reason === "breakouts-opened", 30_000));
      await cmd(fac, { type: "openBreakouts" });
      const got = await Promise.all(placed);
      rooms = got.map((g) => g.msg.placement.location);
    });
    await step(`round ${round}: 4 moves`, m0 + 5, async () => {
      const distinct = [...new Set(rooms)];
      for (let i = 0; i < 4; i++) {
        const to = distinct.find((r) => r !== rooms[i]) ?? distinct[0];
        await cmd(fac, { type: "move", memberId: ps[i].memberId, to });
        rooms[i] = to;
      }
    });
    await step(`round ${round}: closeAll`, m0 + 15, async () => {
      const back = ps.map((p) => p.waitFor((m) => m.type === "placement" && m.placement.location === "main", 30_000));
      await cmd(fac, { type: "closeAll", countdownSeconds: 0 });
      await Promise.all(back);
    });
  }
  await step("chat 10 messages", 50, () => chat(10));
  // One refresh of every member's media token, as the refresh alarm does it (here asked by each client:
  // refreshMedia runs the same refreshGrant): its per-refresh cost, scaled to 60 minutes below.

  await step("token refresh (all members)", null, async () => {
    const got = [fac, ...ps].map((c) => c.waitFor((m) => m.type === "mediaToken" || m.type === "error", 30_000));
    for (const c of [fac, ...ps]) c.send({ type: "refreshMedia" });
    await Promise.all(got);
  });
  const refreshCounts = steps.at(-1).counts;
  // The alert cron (every minute) is not triggered here: Miniflare's scheduled trigger needs unsafeTriggerHandlers,
  // which bench/lib/serve-workerd.mjs does not set. Its per-session cost is one opsHealth RPC per run (counted below).
  const alertCounts = null;
  await step("end session", 60, async () => {
    await cmd(fac, { type: "endSession" });
  });
  await Promise.all([fac, ...ps].map((c) => c.closeAndWait(3000)));
  await sleep(1000);
  const closeCounts = await counters.take();
  closeCounts.sqlite = await sqliteTotals(counters);
  Object.assign(closeCounts, d1Counts(await d1Totals(counters)));
  steps.push({ name: "sockets close", sessionMinute: 60, wallMs: 0, counts: closeCounts });
  const cpuMsTotal = cpuMs(workerdPid) - cpu0;
  const placedCounters = counters.placed;
  const missingCounters = counters.missing;

  // ---- Sum the event-driven part (everything but the refresh and alert probes, which are scaled by time).
  const eventSteps = steps.filter((x) => x.sessionMinute !== null);
  const sum = (f, list = eventSteps) => list.reduce((a, x) => a + (f(x.counts) || 0), 0);
  const ev = {
    workerRequests: sum((c) => c["worker.fetch"]),
    doHttp: sum((c) => doRequests(c).http),
    doRpc: sum((c) => doRequests(c).rpc),
    doAlarms: sum((c) => doRequests(c).alarms),
    doWsIn: sum((c) => doRequests(c).wsIn),
    outboxBatches: sum((c) => c["outbox.batches"]),
    outboxStatements: sum((c) => c["outbox.statements"]),
    d1Requests: sum((c) => c["d1.requests"]),
    d1Statements: sum((c) => c["d1.statements"]),
    d1RowsRead: sum((c) => c["d1.rowsRead"]),
    d1RowsWritten: sum((c) => c["d1.rowsWritten"]),
    d1BytesGrown: sum((c) => c["d1.bytesGrown"]),
    aeDataPoints: sum((c) => c["ae.engine"] + c["ae.worker"]),
    doSqliteRowsRead: sum((c) => c.sqlite.rowsRead),
    doSqliteRowsWritten: sum((c) => c.sqlite.rowsWritten),
    doSqliteStatements: sum((c) => c.sqlite.statements),
    constructed: sum((c) => c["do.constructed"]),
  };

  // opsHealth is not measured (no scheduled trigger here): two COUNT(*) on the DO's own outbox tables. Its active time
  // is taken as the shortest measured step (a conservative stand-in).
  const opsHealthActiveMs = Math.min(...eventSteps.map((x) => x.wallMs));

  // ---- Time-driven over 60 minutes, from the constants, each occurrence priced at its measured cost.
  const members = people + 1;
  const refreshes = Math.floor((SESSION_MINUTES * 60) / TOKEN_REFRESH_EVERY_S); // per member, an upper bound (a move re-mints and restarts the clock)
  const alertCalls = Math.round((SESSION_MINUTES * 60) / ALERT_CRON_EVERY_S) + ALERT_AFTER_END_MIN;
  const per = (c, k) => (c ? c[k] || 0 : 0);
  const time = {
    keepalives: {
      count: members * Math.floor((SESSION_MINUTES * 60) / KEEPALIVE_EVERY_S),
      doInvocations: 0,
      note: "answered by setWebSocketAutoResponse (bench/idle.mjs counts 0 invocations)",
    },
    tokenRefresh: {
      rounds: refreshes,
      every: `${TOKEN_REFRESH_EVERY_S} s`,
      // The alarm pushes every member's refresh in one wake (REFRESH_COALESCE_MS): 1 alarm per round.
      doAlarms: refreshes,
      d1Statements: refreshes * per(refreshCounts, "d1.statements"),
      d1Requests: refreshes * per(refreshCounts, "d1.requests"),
      d1RowsWritten: refreshes * per(refreshCounts, "d1.rowsWritten"),
      d1RowsRead: refreshes * per(refreshCounts, "d1.rowsRead"),
      outboxBatches: refreshes * per(refreshCounts, "outbox.batches"),
      outboxStatements: refreshes * per(refreshCounts, "outbox.statements"),
      aeDataPoints: refreshes * (per(refreshCounts, "ae.engine") + per(refreshCounts, "ae.worker")),
      doSqliteRowsWritten: refreshes * (refreshCounts?.sqlite.rowsWritten ?? 0),
      doSqliteRowsRead: refreshes * (refreshCounts?.sqlite.rowsRead ?? 0),
      measuredRound: refreshCounts && { members, ...refreshCounts },
    },
    alertCron: {
      calls: alertCalls,
      doRpc: alertCalls, // one opsHealth per session per run (worker/alerts/index.ts); the measured run asks every live session in this D1

      note: "opsHealth RPC once a minute while live and for the hour after the end; the cron's own D1 queries are per account, not per session",
      measuredRun: alertCounts,
      activeMsEach: opsHealthActiveMs,
    },
  };

  // ---- Durable Object active time. Assumption: in the real 60-minute session the DO is active only while it handles a
  // step (the measured wall time of that step here, client round trips included: an over-estimate) plus the outbox
  // flush it schedules; it is hibernatable between steps (no timers but the alarm, sockets hibernatable), and
  // Cloudflare bills no duration while it is hibernatable. Time-driven wakes (refresh alarms, opsHealth) cost the
  // measured wall time of the probe step each. Upper bound: a DO that never hibernates for the whole hour.
  const refreshStep = steps.find((x) => x.name.startsWith("token refresh"));
  const activeS = (eventSteps.reduce((a, x) => a + x.wallMs, 0) + refreshes * (refreshStep?.wallMs ?? 0) + alertCalls * opsHealthActiveMs) / 1000;

  const doRequestsBilled = ev.doHttp + ev.doRpc + ev.doAlarms + time.tokenRefresh.doAlarms + time.alertCron.doRpc + ev.doWsIn / PRICES.wsIncomingPerRequest;
  const P = PRICES;
  const lines = [
    ["Workers requests", ev.workerRequests, P.workersRequestPerM],
    ["Workers CPU ms (all of workerd's CPU in the run: an upper bound)", Math.round(cpuMsTotal), P.workersCpuMsPerM],
    ["DO requests (HTTP + RPC + alarms + WS in / 20)", +doRequestsBilled.toFixed(1), P.doRequestPerM],
    ["DO duration GB-s (estimated active time × 128 MB)", +(activeS * P.doMemoryGb).toFixed(2), P.doGbSecondPerM],
    ["DO duration GB-s if it never hibernated (upper bound)", SESSION_MINUTES * 60 * P.doMemoryGb, P.doGbSecondPerM, "bound"],
    ["DO SQLite rows read", ev.doSqliteRowsRead + time.tokenRefresh.doSqliteRowsRead, P.doSqliteRowsReadPerM],
    ["DO SQLite rows written", ev.doSqliteRowsWritten + time.tokenRefresh.doSqliteRowsWritten, P.doSqliteRowsWrittenPerM],
    ["D1 rows read", ev.d1RowsRead + time.tokenRefresh.d1RowsRead, P.d1RowsReadPerM],
    ["D1 rows written", ev.d1RowsWritten + time.tokenRefresh.d1RowsWritten, P.d1RowsWrittenPerM],
    ["Analytics Engine data points", ev.aeDataPoints + time.tokenRefresh.aeDataPoints, P.aeDataPointPerM],
  ].map(([item, qty, perM, kind]) => ({ item, qty, usdPerMillion: perM, usd: +((qty * perM) / 1e6).toFixed(8), bound: kind === "bound" }));
  const cloudflareUsd = lines.filter((l) => !l.bound).reduce((a, l) => a + l.usd, 0);
  const twilio = {
    ours: {
      participants: members,
      minutes: SESSION_MINUTES,
      usd: +(members * SESSION_MINUTES * P.twilioGroupPerParticipantMinute).toFixed(2),
      assumption: "facilitator + 10 participants, all 60 minutes in Group Rooms",
    },
    brief: { participants: 10, minutes: 60, usd: +(10 * 60 * P.twilioGroupPerParticipantMinute).toFixed(2), assumption: "10 participant-hours × $0.004/min" },
    guideExample: { usd: 1.2, assumption: "the guide's own example ($1.20): the same rate for 300 participant-minutes, e.g. 5 people × 60 min or 10 × 30 min" },
  };

  const out = {
    people,
    members,
    sessionMinutes: SESSION_MINUTES,
    gapMs,
    steps,
    eventDriven: ev,
    checks: {
      // Every socket command and every refreshMedia is one webSocketMessage (the counters see what the clients sent).
      socketCommands: sum((c) => c.socketCommands),
      refreshMediaSent: members,
      webSocketMessages: sum((c) => c["do.webSocketMessage"], steps),
      doObjectsConstructed: ev.constructed,
    },
    timeDriven: time,
    perSessionHour: {
      d1Statements: ev.d1Statements + time.tokenRefresh.d1Statements,
      d1Requests: ev.d1Requests + time.tokenRefresh.d1Requests,
      d1RowsWritten: ev.d1RowsWritten + time.tokenRefresh.d1RowsWritten,
      d1RowsRead: ev.d1RowsRead + time.tokenRefresh.d1RowsRead,
      d1BytesGrown: ev.d1BytesGrown + refreshes * per(refreshCounts, "d1.bytesGrown"),
      outboxBatches: ev.outboxBatches + time.tokenRefresh.outboxBatches,
      outboxStatements: ev.outboxStatements + time.tokenRefresh.outboxStatements,
      aeDataPoints: ev.aeDataPoints + time.tokenRefresh.aeDataPoints,
      doRequestsBilled: +doRequestsBilled.toFixed(1),
      doActiveSeconds: +activeS.toFixed(2),
      maxAePointsInOneInvocation: Math.max(...steps.map((x) => (x.counts["ae.engine"] || 0) + (x.counts["ae.worker"] || 0))),
    },
    stepWallMs: summarize(eventSteps.map((x) => x.wallMs)),
    workerdCpuMs: Math.round(cpuMsTotal),
    bill: { lines, cloudflareUsd: +cloudflareUsd.toFixed(6), twilio, ratioTwilioToCloudflare: +(twilio.ours.usd / cloudflareUsd).toFixed(0) },
    prices: PRICES,
    pricesNote: "list prices as of the script's date (2026-12-02); included allowances ignored per session",
    counters: placedCounters,
    // Counters that could not be placed (null in the steps, 0 in the sums): say so rather than bill zero.
    countersMissing: missingCounters,
  };
  log(
    `  bill: Cloudflare $${out.bill.cloudflareUsd} per session-hour vs Twilio media $${twilio.ours.usd} (${twilio.brief.usd} for 10 people; guide example $1.20)`,
  );
  for (const l of lines) log(`    ${l.item}: ${l.qty} → $${l.usd}${l.bound ? " (bound, not summed)" : ""}`);
  return out;
}
