// 4. Many sessions on local workerd: N sessions × M connected participants (+ each facilitator), broadcast latency
// while some sessions run commands, memory per session and per socket, and where the socket limit really is.
// With `targets` (several workerd processes) the sessions are split over them by a hash of a client-side key: sessions
// are independent Durable Objects, so nothing crosses processes. Each process has its own state directory, hence its
// own local D1 (production has one D1 database for all sessions; docs/scaling.md is about that one).
import { request } from "node:http";
import { performance } from "node:perf_hooks";
import { Api, WsClient, pool, sleep, summarize } from "./lib/client.mjs";
import { memoryOf, openFiles, fdLimit } from "./lib/wrangler.mjs";

/** FNV-1a of a string: which process a session goes to. */
function hash(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * What the WebSocket upgrade answers when a browser offers permessage-deflate (Chrome and Firefox send this exact
 * offer): the Sec-WebSocket-Extensions response header, null when compression is not negotiated.
 */
function upgradeExtensions(base, sessionId, ticket) {
  const u = new URL(`${base}/api/sessions/${sessionId}/ws?ticket=${encodeURIComponent(ticket)}`);
  return new Promise((resolve, reject) => {
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": Buffer.from(Array.from({ length: 16 }, () => Math.floor(Math.random() * 256))).toString("base64"),
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
      },
      timeout: 10_000,
    });
    req.on("upgrade", (res, socket) => {
      resolve({ status: res.statusCode, extensions: res.headers["sec-websocket-extensions"] ?? null });
      socket.destroy();
    });
    req.on("response", (res) => resolve({ status: res.statusCode, extensions: res.headers["sec-websocket-extensions"] ?? null }));
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("upgrade timed out")));
    req.end();
  });
}

const mb = (kb) => Math.round((kb / 1024) * 10) / 10;

/** How many file descriptors one session socket costs in each workerd, measured on a small batch. */
async function fdPerSocket({ base, pids, n = 100 }) {
  const api = new Api(base);
  const s = await api.sessionWithParticipants(10, { mediaProvider: "twilio" });
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, openFiles(p)]));
  const clients = [];
  for (let i = 0; i < n; i++) {
    const p = s.participants[i % s.participants.length];
    clients.push(await WsClient.connect(base, s.sessionId, p.ticket, { name: `fd${i}`, until: (m) => m.type === "snapshot" }));
  }
  await sleep(300);
  const after = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, openFiles(p)]));
  await Promise.all(clients.map((c) => c.closeAndWait(3000)));
  return Object.fromEntries(Object.keys(pids).map((k) => [k, +((after[k] - before[k]) / n).toFixed(2)]));
}

export async function run({
  base,
  proxyBase,
  pids,
  // [{ base, pids: { userWorkerd } }, …]: several workerd processes; default one, { base, pids }.
  targets = [{ base, pids }],
  sessions = 1000,
  perSession = 10,
  busySessions = 100,
  seconds = 20,
  setupBudgetSeconds = 900,
  connectBudgetSeconds = 900,
  fdMargin = 1200,
  // Each busy session's facilitator issues a move every busyIntervalMs (1/s: a facilitator working hard); 0 = as fast
  // as acks return (a closed loop per session: 100 of them saturate the single local workerd thread).
  busyIntervalMs = 1000,
  maxSamples = 3000,
  measureConcurrency = 8,
  log = () => {},
}) {
  const out = { sessionsRequested: sessions, perSession, busySessionsRequested: busySessions };
  out.fdLimits = Object.fromEntries(
    Object.entries(pids)
      .filter(([, p]) => p)
      .map(([k, p]) => [k, fdLimit(p)]),
  );
  out.fdLimits.benchClient = fdLimit(process.pid);
  out.processes = targets.length;
  if (proxyBase) {
    out.fdPerSocketViaWranglerPort = await fdPerSocket({ base: proxyBase, pids });
    out.fdPerSocketDirect = await fdPerSocket({ base, pids });
    log(`  many: fds per socket via wrangler port ${JSON.stringify(out.fdPerSocketViaWranglerPort)}, direct ${JSON.stringify(out.fdPerSocketDirect)}`);
  }
  await sleep(1000);
  // RSS of every workerd holding sessions (summed), and of wrangler's proxy when there is one.
  const userRss = () => targets.reduce((a, t) => a + memoryOf(t.pids.userWorkerd).rssKb, 0);
  const userHwm = () => targets.reduce((a, t) => a + memoryOf(t.pids.userWorkerd).hwmKb, 0);
  const rss0 = { user: userRss(), proxy: memoryOf(pids?.proxyWorkerd).rssKb };
  const rssEach0 = targets.map((t) => memoryOf(t.pids.userWorkerd).rssKb);
  const fdsEach0 = targets.map((t) => openFiles(t.pids.userWorkerd));

  // Sessions and members over HTTP, each on the process its key hashes to.
  const apis = targets.map((t) => new Api(t.base));
  const tSetup = performance.now();
  const setupDeadline = tSetup + setupBudgetSeconds * 1000;
  const made = (
    await pool(
      Array.from({ length: sessions }, (_, i) => i),
      24,
      async (i) => {
        if (performance.now() > setupDeadline) return null; // bounded: report how far it got
        const title = `Group ${i + 1}`;
        const k = hash(title) % targets.length;
        const s = await apis[k].sessionWithParticipants(perSession, { mediaProvider: "twilio", concurrency: 4, title });
        if ((i + 1) % 100 === 0) log(`  many: ${i + 1} sessions created`);
        return { ...s, target: k, base: targets[k].base };
      },
    )
  ).filter(Boolean);
  out.sessionsCreated = made.length;
  out.setupSeconds = +((performance.now() - tSetup) / 1000).toFixed(1);
  out.joinsPerSecond = Math.round((made.length * (perSession + 2)) / out.setupSeconds);
  await sleep(2000);
  const rssA = { user: userRss(), proxy: memoryOf(pids?.proxyWorkerd).rssKb };
  out.sessionsPerProcess = targets.map((_, k) => made.filter((s) => s.target === k).length);
  if (made[0]) {
    out.permessageDeflate = await upgradeExtensions(made[0].base, made[0].sessionId, made[0].participants[0].ticket).catch((err) => ({
      error: String(err.message ?? err),
    }));
    out.permessageDeflate.negotiated = Boolean(out.permessageDeflate.extensions?.includes("permessage-deflate"));
    log(`  many: Sec-WebSocket-Extensions answered: ${out.permessageDeflate.extensions ?? "(none)"}`);
    await sleep(500);
  }

  // Sockets: facilitator + participants of every session. Stop at the first failure wave and report the real limit.
  const tConnect = performance.now();
  const conns = made.map((s) => ({ s, fac: null, clients: [] }));
  let failures = 0;
  let firstError = null;
  let connected = 0;
  const jobs = [];
  for (const c of conns) {
    jobs.push({ c, kind: "fac", ticket: c.s.ticket });
    for (const p of c.s.participants) jobs.push({ c, kind: "p", ticket: p.ticket });
  }
  const connectDeadline = tConnect + connectBudgetSeconds * 1000;
  // workerd dies (accept(): EMFILE, "Too many open files") when it runs out of descriptors: stop short of that.
  const fdCeilings = targets.map((t) => fdLimit(t.pids.userWorkerd).soft - fdMargin);
  let skipped = 0;
  let stoppedAtFdCeiling = false;
  let started = 0;
  await pool(jobs, 32, async (j) => {
    if (failures > 50) return;
    if (performance.now() > connectDeadline || stoppedAtFdCeiling) {
      skipped++;
      return;
    }
    const k = j.c.s.target;
    if (++started % 50 === 0 && openFiles(targets[k].pids.userWorkerd) >= fdCeilings[k]) {
      stoppedAtFdCeiling = true;
      skipped++;
      return;
    }
    try {
      const ws = await WsClient.connect(j.c.s.base, j.c.s.sessionId, j.ticket, {
        name: j.kind,
        until: (m) => m.type === "snapshot",
        timeoutMs: 60_000,
      });
      if (j.kind === "fac") j.c.fac = ws;
      else j.c.clients.push(ws);
      connected++;
      if (connected % 1000 === 0) log(`  many: ${connected} sockets`);
    } catch (err) {
      failures++;
      firstError ??= String(err.message ?? err);
    }
  });
  out.connectSeconds = +((performance.now() - tConnect) / 1000).toFixed(1);
  out.socketsRequested = jobs.length;
  out.socketsConnected = connected;
  out.connectFailures = failures;
  out.connectSkipped = skipped;
  out.stoppedAtFdCeiling = stoppedAtFdCeiling
    ? {
        ceiling: fdCeilings[0],
        userWorkerdOpenFiles: Math.max(...targets.map((t) => openFiles(t.pids.userWorkerd))),
        softLimit: fdLimit(targets[0].pids.userWorkerd).soft,
      }
    : null;
  out.connectsPerSecond = Math.round(connected / out.connectSeconds);
  out.firstConnectError = firstError;
  out.openFilesAtPeak = Object.fromEntries(targets.map((t, k) => [`workerd${k}`, openFiles(t.pids.userWorkerd)]));
  out.openFilesAtPeak.benchClient = openFiles(process.pid);
  await sleep(3000);
  const rssB = { user: userRss(), proxy: memoryOf(pids?.proxyWorkerd).rssKb };
  out.perProcess = targets.map((t, k) => ({
    sessions: out.sessionsPerProcess[k],
    sockets: conns.filter((c) => c.s.target === k).reduce((a, c) => a + (c.fac ? 1 : 0) + c.clients.length, 0),
    rssMb: { before: mb(rssEach0[k]), afterSockets: mb(memoryOf(t.pids.userWorkerd).rssKb) },
    openFiles: openFiles(t.pids.userWorkerd),
    fdSoftLimit: fdLimit(t.pids.userWorkerd).soft,
  }));
  // Descriptors added per socket (over the process's own before any session existed).
  out.perProcess.forEach((p, k) => {
    p.fdPerSocket = p.sockets ? +((p.openFiles - fdsEach0[k]) / p.sockets).toFixed(2) : null;
  });
  const full = conns.filter((c) => c.fac && c.clients.length === perSession);
  out.fullyConnectedSessions = full.length;
  out.memory = {
    userWorkerdRssMb: { before: mb(rss0.user), afterSessions: mb(rssA.user), afterSockets: mb(rssB.user) },
    proxyWorkerdRssMb: { before: mb(rss0.proxy), afterSessions: mb(rssA.proxy), afterSockets: mb(rssB.proxy) },
    perSessionKb: Math.round((rssB.user - rss0.user) / Math.max(1, full.length)),
    perSessionWithoutSocketsKb: Math.round((rssA.user - rss0.user) / Math.max(1, made.length)),
    perSocketKb: Math.round((rssB.user - rssA.user) / Math.max(1, connected)),
  };
  log(`  many: ${connected}/${jobs.length} sockets, ${full.length} full sessions; user workerd RSS ${mb(rss0.user)} → ${mb(rssB.user)} MB`);

  // Busy sessions: open 2 rooms and move participants back and forth, one command in flight per session.
  const busy = full.slice(0, busySessions);
  const idle = full.slice(busySessions);
  for (const c of busy) {
    const a = await c.fac.command({ type: "createBreakouts", count: 2, mode: "auto" });
    if (a.msg.type !== "ack") throw new Error(`createBreakouts: ${JSON.stringify(a.msg)}`);
    const placed = c.clients.map((p) => p.waitFor((m) => m.type === "placement" && m.placement.reason === "breakouts-opened", 30_000));
    const b = await c.fac.command({ type: "openBreakouts" });
    if (b.msg.type !== "ack") throw new Error(`openBreakouts: ${JSON.stringify(b.msg)}`);
    const got = await Promise.all(placed);
    c.where = new Map(c.clients.map((p, i) => [p.memberId, got[i].msg.placement.location]));
  }
  let stop = false;
  const busyAcks = [];
  const busyRefusals = {};
  let busyOk = 0;
  const busyLoops = busy.map(async (c) => {
    // Move each participant to the other of the two rooms, round robin.
    const ids = [...c.where.keys()];
    const rooms = [...new Set(c.where.values())];
    let k = 0;
    while (!stop) {
      const memberId = ids[k++ % ids.length];
      const to = rooms.find((r) => r !== c.where.get(memberId)) ?? rooms[0];
      const tStart = performance.now();
      try {
        const r = await c.fac.command({ type: "move", memberId, to }, 30_000);
        busyAcks.push(r.t - r.sentAt);
        if (r.msg.type === "ack") {
          busyOk++;
          c.where.set(memberId, to);
        } else busyRefusals[r.msg.error.code] = (busyRefusals[r.msg.error.code] ?? 0) + 1;
      } catch {
        busyRefusals.TIMEOUT = (busyRefusals.TIMEOUT ?? 0) + 1;
      }
      const wait = busyIntervalMs - (performance.now() - tStart);
      if (wait > 0 && !stop) await sleep(wait);
    }
  });

  // Broadcasts: a facilitator broadcasts; latency = until all of that session's participants hold the notice.
  const samples = { idle: [], busy: [] };
  let failuresB = 0;
  let n = 0;
  const tB = performance.now();
  const endAt = tB + seconds * 1000;
  await Promise.all(
    Array.from({ length: measureConcurrency }, async (_, w) => {
      while (performance.now() < endAt && n < maxSamples) {
        const fromBusy = busy.length > 0 && n % 5 === 0; // one in five in a busy session
        const group = fromBusy ? busy : idle.length ? idle : busy;
        const c = group[Math.floor(Math.random() * group.length)];
        if (c.measuring) continue;
        c.measuring = true;
        const text = `notice ${w}-${n++}`;
        const waits = c.clients.map((p) => p.waitFor((m) => m.type === "notice" && m.notice.text === text, 30_000));
        const t0 = performance.now();
        try {
          const ack = await c.fac.command({ type: "broadcast", text }, 30_000);
          if (ack.msg.type !== "ack") throw new Error(JSON.stringify(ack.msg.error));
          const got = await Promise.all(waits);
          (fromBusy ? samples.busy : samples.idle).push(Math.max(...got.map((g) => g.t)) - t0);
        } catch {
          failuresB++;
        }
        c.measuring = false;
      }
    }),
  );
  const measuredSeconds = (performance.now() - tB) / 1000;
  stop = true;
  await Promise.allSettled(busyLoops);
  out.broadcast = {
    all: summarize([...samples.idle, ...samples.busy]),
    idleSessions: summarize(samples.idle),
    busySessions: summarize(samples.busy),
    failures: failuresB,
    seconds: +measuredSeconds.toFixed(1),
  };
  out.busy = {
    intervalMs: busyIntervalMs,
    sessions: busy.length,
    movesOk: busyOk,
    movesPerSecond: Math.round(busyOk / measuredSeconds),
    ackMs: summarize(busyAcks),
    refusals: busyRefusals,
  };
  out.rssAfterLoadMb = { user: mb(userRss()), hwmUser: mb(userHwm()) };

  const tClose = performance.now();
  await pool(
    conns.flatMap((c) => [c.fac, ...c.clients].filter(Boolean)),
    256,
    (ws) => ws.closeAndWait(5000),
  );
  out.closeSeconds = +((performance.now() - tClose) / 1000).toFixed(1);
  return out;
}
