// 6. A sleeping session (issue 16, item 4): one session, a facilitator + 10 participants connected, nothing due, for
// one idle minute in which every client sends the keepalive (PING_FRAME) every 20 s as the web client does
// (web/src/lib/session-core.ts pingIntervalMs). The session DO answers it through setWebSocketAutoResponse, so the
// keepalives should cost no invocation at all. Counted for real in the workerd isolate: every entry of the session DO
// (its handlers, its RPC methods, its constructor) and the Worker's fetch, by counting breakpoints through the inspector
// (bench/lib/counters.mjs; V8 precise coverage answers "Profiler is not enabled" on workerd's inspector); and
// workerd's CPU over the minute. A positive control at the end sends one keepalive that is not byte for byte PING_FRAME from
// every client (the DO's own `ping` case answers it): those must show up as webSocketMessage calls.
import { performance } from "node:perf_hooks";
import { Api, WsClient, sleep } from "./lib/client.mjs";
import { INVOCATIONS, LineCounters, RPC } from "./lib/counters.mjs";
import { cpuMs, memoryOf } from "./lib/wrangler.mjs";

// lib/protocol.ts PING_FRAME / PONG_FRAME (the exact bytes the runtime matches).
const PING_FRAME = '{"type":"ping"}';
const NOT_EXACT_PING = '{ "type": "ping" }';

const doRequests = (c) => Object.entries(c).reduce((a, [k, v]) => a + (k.startsWith("rpc.") || (k.startsWith("do.") && k !== "do.constructed") ? v : 0), 0);

export async function run({ base, inspectorPort, workerdPid, clients = 10, idleSeconds = 60, pingEveryMs = 20_000, settleMs = 7_000, log = () => {} }) {
  const api = new Api(base);
  const s = await api.sessionWithParticipants(clients, { mediaProvider: "twilio" });
  const fac = await WsClient.connect(base, s.sessionId, s.ticket, { name: "fac", until: (m) => m.type === "snapshot" });
  const ps = [];
  for (const p of s.participants) ps.push(await WsClient.connect(base, s.sessionId, p.ticket, { name: "p", until: (m) => m.type === "snapshot" }));
  const all = [fac, ...ps];
  let pongs = 0;
  for (const c of all) c.ws.addEventListener("message", (ev) => ev.data === '{"type":"pong"}' && pongs++);
  // Let the connections' outbox flush and its 5 s grid alarm (durable-objects/outbox.ts) pass: then nothing is due for
  // minutes (the next alarm is the media-token refresh, min(5 min, ttl/2) after the tokens were minted).
  await sleep(settleMs);

  const counters = await LineCounters.attach(inspectorPort, [...INVOCATIONS, ...RPC]);
  try {
    return await measure();
  } finally {
    await counters.close();
    await Promise.all(all.map((c) => c.closeAndWait(3000)));
  }

  async function measure() {
    await counters.take(); // reset
    const cpu0 = cpuMs(workerdPid);
    const rss0 = memoryOf(workerdPid).rssKb;
    const received0 = all.reduce((a, c) => a + c.received, 0);
    const t0 = performance.now();
    let pingsSent = 0;
    // Every client on its own 20 s timer, spread over the first interval as independent browsers would be.
    const timers = all.map((c, i) => {
      const first = Math.round((pingEveryMs * i) / all.length);
      return new Promise((resolve) => {
        const tick = () => {
          if (performance.now() - t0 >= idleSeconds * 1000) return resolve();
          c.ws.send(PING_FRAME);
          pingsSent++;
          // The window is exactly idleSeconds: a client whose next keepalive falls after it stops here.
          if (performance.now() - t0 + pingEveryMs >= idleSeconds * 1000) return resolve();
          setTimeout(tick, pingEveryMs);
        };
        setTimeout(tick, first);
      });
    });
    await Promise.all(timers);
    await sleep(Math.max(0, idleSeconds * 1000 - (performance.now() - t0)));
    const wallMs = performance.now() - t0;
    const cpu1 = cpuMs(workerdPid);
    const idleCounts = await counters.take();
    const otherFrames = all.reduce((a, c) => a + c.received, 0) - received0 - pongs;

    // Positive control: the same number of keepalives, each not byte for byte PING_FRAME.
    const pongsBefore = pongs;
    for (const c of all) c.ws.send(NOT_EXACT_PING);
    const deadline = performance.now() + 10_000;
    while (pongs - pongsBefore < all.length && performance.now() < deadline) await sleep(20);
    const controlCounts = await counters.take();

    const out = {
      clients: all.length,
      idleSeconds: +(wallMs / 1000).toFixed(1),
      pingEveryMs,
      keepalivesSent: pingsSent,
      pongsReceived: pongsBefore,
      otherFramesReceived: otherFrames,
      invocationsDuringIdle: idleCounts,
      doRequestsDuringIdle: doRequests(idleCounts),
      counters: counters.placed,
      workerdCpuMsDuringIdle: +(cpu1 - cpu0).toFixed(0),
      workerdRssMb: +(rss0 / 1024).toFixed(1),
      control: {
        sent: all.length,
        pongs: pongs - pongsBefore,
        webSocketMessageCalls: controlCounts["do.webSocketMessage"],
        doRequests: doRequests(controlCounts),
      },
    };
    log(
      `  idle: ${out.keepalivesSent} keepalives over ${out.idleSeconds} s, ${out.pongsReceived} pongs; DO invocations ${out.doRequestsDuringIdle} ` +
        `(${JSON.stringify(Object.fromEntries(Object.entries(idleCounts).filter(([, v]) => v)))}), Worker fetch ${idleCounts["worker.fetch"]}; ` +
        `workerd CPU ${out.workerdCpuMsDuringIdle} ms; control: ${out.control.webSocketMessageCalls} webSocketMessage for ${all.length} inexact pings`,
    );
    return out;
  }
}
