// 2. Live moves: the facilitator moves participants between open rooms as fast as acks return; D1 must end up with
// exactly one breakout_room_transitions row per location change.
import { performance } from "node:perf_hooks";
import { summarize, sleep } from "./lib/client.mjs";
import { cpuSplitMs, threadCpuMs } from "./lib/wrangler.mjs";
import { connectedSession, closeSession } from "./fanout.mjs";

// With `twilio` (the local Twilio server), every participant is on media: connected to the room they are placed in
// (as their browser would be, right after each placement), so moves cost what they cost in production.
export async function run({ base, seconds = 10, window = 1, participants = 49, provider = "twilio", countTransitions, workerdPid, log = () => {}, twilio }) {
  const conn = await connectedSession(base, participants, { provider });
  const { fac, clients, session } = conn;
  const created = await fac.command({ type: "createBreakouts", count: 10, mode: "auto" });
  if (created.msg.type !== "ack") throw new Error(`createBreakouts refused: ${JSON.stringify(created.msg.error)}`);
  const placed = clients.map((c) => c.waitFor((m) => m.type === "placement" && m.placement.reason === "breakouts-opened", 10_000));
  const opened = await fac.command({ type: "openBreakouts" });
  if (opened.msg.type !== "ack") throw new Error(`openBreakouts refused: ${JSON.stringify(opened.msg.error)}`);
  const where = (await Promise.all(placed)).map((g) => g.msg.placement.location);
  const memberIds = session.participants.map((p) => p.memberId);
  const rooms = [...new Set(where)].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  if (rooms.length !== 10) throw new Error(`expected 10 rooms in use, got ${rooms.join(",")}`);
  const mediaRoom = (key) => `mb-${session.sessionId}-${key}`;
  const callbacks0 = twilio?.deliveries.length ?? 0;
  if (twilio) {
    memberIds.forEach((id, i) => twilio.connectParticipant(mediaRoom(where[i]), id));
    await twilio.flushDeliveries();
  }

  const acks = [];
  const refusals = {};
  let ok = 0;
  let next = 0;
  const inFlight = new Set();
  const cpu0 = workerdPid ? cpuSplitMs(workerdPid) : null;
  const threads0 = workerdPid ? threadCpuMs(workerdPid) : {};
  const t0 = performance.now();
  const stopAt = t0 + seconds * 1000;
  const maxCommands = 200_000; // bound by count as well as time
  let sent = 0;
  async function worker() {
    while (performance.now() < stopAt && sent < maxCommands) {
      let i = next++ % participants;
      let guard = 0;
      while (inFlight.has(i) && guard++ < participants) i = next++ % participants;
      inFlight.add(i);
      const to = rooms[(rooms.indexOf(where[i]) + 1) % rooms.length];
      sent++;
      const r = await fac.command({ type: "move", memberId: memberIds[i], to });
      inFlight.delete(i);
      acks.push(r.t - r.sentAt);
      if (r.msg.type === "ack") {
        ok++;
        where[i] = to;
        if (twilio) twilio.connectParticipant(mediaRoom(to), memberIds[i]);
      } else refusals[r.msg.error.code] = (refusals[r.msg.error.code] ?? 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: window }, worker));
  // With media, a move is done when its callbacks are handled too.
  if (twilio) await twilio.flushDeliveries();
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = workerdPid ? cpuSplitMs(workerdPid) : null;
  const perCommand = (ms) => +(ms / Math.max(1, sent)).toFixed(2);
  const workerdCpuMsPerCommand = cpu0 && cpu1 ? perCommand(cpu1.user - cpu0.user + cpu1.system - cpu0.system) : null;
  // Of it, the kernel's share (socket writes and reads, SQLite's file calls).
  const workerdSystemCpuMsPerCommand = cpu0 && cpu1 ? perCommand(cpu1.system - cpu0.system) : null;
  // By thread (workerd runs the isolates on its main thread; others do I/O): where the process's CPU went.
  const threads1 = workerdPid ? threadCpuMs(workerdPid) : {};
  const workerdCpuMsPerCommandByThread = Object.entries(threads1)
    .map(([tid, t]) => ({ thread: `${t.name}#${tid}`, ms: t.ms - (threads0[tid]?.ms ?? 0) }))
    .filter((t) => t.ms > 0)
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 6)
    .map((t) => ({ thread: t.thread, msPerCommand: perCommand(t.ms) }));
  log(`  moves: ${ok} ok in ${elapsed.toFixed(1)} s (window ${window}); checking D1…`);

  // Every move is one transition row; joins (facilitator + participants) and the opening moves are the others.
  const expected = 1 + participants + participants + ok;
  let d1Rows = null;
  let drainedAfterMs = null;
  const tEnd = performance.now();
  if (countTransitions) {
    const limit = tEnd + 90_000;
    while (performance.now() < limit) {
      d1Rows = await countTransitions(session.sessionId);
      if (d1Rows >= expected) break;
      await sleep(1000);
    }
    drainedAfterMs = Math.round(performance.now() - tEnd);
  }
  // Participants saw their own moves: the last placement of a sample of them names where they were last moved.
  await closeSession(conn);
  return {
    participants,
    window,
    seconds: +elapsed.toFixed(2),
    commands: sent,
    moved: ok,
    refusals,
    ...(twilio && {
      media: {
        callbacks: twilio.deliveries.length - callbacks0,
        failedCallbacks: twilio.deliveries.slice(callbacks0).filter((d) => !(d.callback.workerStatus >= 200 && d.callback.workerStatus < 300)).length,
      },
    }),
    commandsPerSecond: Math.round(ok / elapsed),
    // CPU the user worker's workerd process (session DO + D1 + runtime) spent per command: robust to other load.
    workerdCpuMsPerCommand,
    workerdSystemCpuMsPerCommand,
    workerdCpuMsPerCommandByThread,
    ackMs: summarize(acks),
    d1: { expectedTransitions: expected, rows: d1Rows, match: d1Rows === expected, observedAfterMs: drainedAfterMs },
  };
}
