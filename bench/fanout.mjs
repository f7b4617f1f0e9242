// 1. Breakout fan-out: openBreakouts → every participant holds its new placement (with media grant).
import { performance } from "node:perf_hooks";
import { Api, WsClient, pool, summarize } from "./lib/client.mjs";
import { cpuMs } from "./lib/wrangler.mjs";

/** A session of `n` auto-admitted participants plus the facilitator, everyone connected. */
export async function connectedSession(base, n, { provider = "twilio" } = {}) {
  const api = new Api(base);
  const s = await api.sessionWithParticipants(n, { mediaProvider: provider });
  const fac = await WsClient.connect(base, s.sessionId, s.ticket, { name: "fac", until: (m) => m.type === "snapshot" });
  const clients = await pool(s.participants, 16, (p, i) =>
    WsClient.connect(base, s.sessionId, p.ticket, { name: `p${i + 1}`, until: (m) => m.type === "snapshot" }),
  );
  // Let the connection events (one per socket) settle before measuring.
  await fac.command({ type: "broadcast", text: "settle" });
  return { api, session: s, fac, clients };
}

export async function closeSession(conn) {
  // Ended, not just left: a session left running keeps its timers (token refresh, sweeps) and would load the next bench.
  await conn.fac.command({ type: "endSession" }).catch(() => {});
  await Promise.all([conn.fac, ...conn.clients].map((c) => c.closeAndWait(3000)));
}

function checkPlacement(sessionId, provider, m) {
  const p = m.placement;
  if (!p?.location || p.location === "main") return "not placed in a breakout room";
  if (!p.media) return "no media grant";
  if (p.media.room !== `mb-${sessionId}-${p.location}`) return `grant for ${p.media.room}, placed in ${p.location}`;
  if (provider === "twilio" && (typeof p.media.token !== "string" || p.media.token.split(".").length !== 3)) return "no Twilio token";
  return null;
}

export async function run({ base, rounds = 200, maxSeconds = 180, participants = 49, provider = "twilio", workerdPid, log = () => {} }) {
  const conn = await connectedSession(base, participants, { provider });
  const { fac, clients, session } = conn;
  const open = [];
  const firstArrival = [];
  const openAck = [];
  const close = [];
  const framesPerOpen = [];
  const problems = [];
  const deadline = performance.now() + maxSeconds * 1000;
  let done = 0;
  const cpuOpen = [];
  const cpuRound = [];
  try {
    for (let r = 0; r < rounds && performance.now() < deadline; r++) {
      const created = await fac.command({ type: "createBreakouts", count: 10, mode: "auto" });
      if (created.msg.type !== "ack") throw new Error(`createBreakouts refused: ${JSON.stringify(created.msg.error)}`);
      const before = clients.reduce((a, c) => a + c.received, 0);
      const waits = clients.map((c) => c.waitFor((m) => m.type === "placement" && m.placement.reason === "breakouts-opened", 10_000));
      const c0 = workerdPid ? cpuMs(workerdPid) : NaN;
      const t0 = performance.now();
      const ackP = fac.command({ type: "openBreakouts" });
      const got = await Promise.all(waits);
      const ack = await ackP;
      const c1 = workerdPid ? cpuMs(workerdPid) : NaN;
      if (ack.msg.type !== "ack") throw new Error(`openBreakouts refused: ${JSON.stringify(ack.msg.error)}`);
      const times = got.map((g) => g.t - t0);
      open.push(Math.max(...times));
      firstArrival.push(Math.min(...times));
      openAck.push(ack.t - t0);
      for (const g of got) {
        const bad = checkPlacement(session.sessionId, provider, g.msg);
        if (bad) problems.push(`round ${r + 1}: ${bad}`);
      }
      const perRoom = {};
      for (const g of got) perRoom[g.msg.placement.location] = (perRoom[g.msg.placement.location] ?? 0) + 1;
      if (Object.keys(perRoom).length !== 10 || Math.max(...Object.values(perRoom)) > Math.ceil(participants / 10))
        problems.push(`round ${r + 1}: uneven placement ${JSON.stringify(perRoom)}`);
      framesPerOpen.push(clients.reduce((a, c) => a + c.received, 0) - before);

      const backs = clients.map((c) => c.waitFor((m) => m.type === "placement" && m.placement.location === "main", 10_000));
      const t1 = performance.now();
      const closed = await fac.command({ type: "closeAll", countdownSeconds: 0 });
      if (closed.msg.type !== "ack") throw new Error(`closeAll refused: ${JSON.stringify(closed.msg.error)}`);
      const back = await Promise.all(backs);
      close.push(Math.max(...back.map((g) => g.t - t1)));
      if (workerdPid) {
        cpuOpen.push(c1 - c0);
        cpuRound.push(cpuMs(workerdPid) - c0);
      }
      done++;
      if (done % 50 === 0) log(`  fan-out: ${done} rounds`);
    }
  } finally {
    await closeSession(conn);
  }
  return {
    participants,
    rounds: done,
    provider,
    openToAllPlacedMs: summarize(open),
    openToFirstPlacedMs: summarize(firstArrival),
    openAckMs: summarize(openAck),
    closeAllToAllBackMs: summarize(close),
    participantFramesPerOpen: summarize(framesPerOpen),
    // CPU of the user worker's workerd process (10 ms ticks, so read the mean): robust to other load on the machine.
    workerdCpuMsPerOpen: workerdPid ? summarize(cpuOpen).mean : null,
    workerdCpuMsPerRound: workerdPid ? summarize(cpuRound).mean : null,
    problems: problems.slice(0, 20),
    problemCount: problems.length,
  };
}
