// Issue 12's attack, measured: one participant floods the session (100 sockets on one ticket, then as many messages
// as its sockets will carry, reconnecting whenever the session closes one, plus HTTP commands) while the facilitator
// runs the session. The figure is the facilitator's command latency with and without the flood. Run with the
// product's DEFAULT budgets (bench/run.mjs starts a separate workerd for it), so what is measured is the defence.
import { performance } from "node:perf_hooks";
import { Api, WsClient, sleep, summarize } from "./lib/client.mjs";
import { connectedSession, closeSession } from "./fanout.mjs";

/** The facilitator's broadcasts, one every `everyMs`, for `seconds`: ack latencies. */
async function facilitatorLatency(fac, seconds, everyMs = 25) {
  const acks = [];
  const refused = {};
  const stopAt = performance.now() + seconds * 1000;
  let i = 0;
  while (performance.now() < stopAt) {
    const t = performance.now();
    const r = await fac.command({ type: "broadcast", text: `note ${++i}` }, 30_000);
    if (r.msg.type === "ack") acks.push(r.t - r.sentAt);
    else refused[r.msg.error.code] = (refused[r.msg.error.code] ?? 0) + 1;
    const wait = everyMs - (performance.now() - t);
    if (wait > 0) await sleep(wait);
  }
  return { ackMs: summarize(acks), refused };
}

export async function run({ base, seconds = 10, participants = 9, log = () => {} }) {
  const conn = await connectedSession(base, participants, { provider: "twilio" });
  const { fac, session } = conn;
  const attacker = session.participants[0];

  const quiet = await facilitatorLatency(fac, seconds);
  log(`  flood: facilitator alone p99 ${quiet.ackMs.p99} ms`);

  // 1. One hundred sockets on one ticket: the session keeps the newest three and closes the rest with 4008.
  const opened = [];
  for (let i = 0; i < 100; i++) {
    try {
      opened.push(await WsClient.connect(base, session.sessionId, attacker.ticket, { name: `a${i}`, until: (m) => m.type === "hello", timeoutMs: 10_000 }));
    } catch {
      // refused or closed before hello: counted below as not open
    }
  }
  await sleep(500);
  // A socket the session closed is CLOSING here at once (the close frame arrived and was answered); local workerd
  // does not always finish the TCP close, so Node's close event can lag: readyState is the figure.
  const isOpen = (c) => c && !c.closed && c.ws.readyState === WebSocket.OPEN;
  const stillOpen = opened.filter(isOpen).length;
  const closeCodes = {};
  for (const c of opened) if (c.closed) closeCodes[c.closed.code] = (closeCodes[c.closed.code] ?? 0) + 1;

  // 2. The flood: every open attacker socket sends as fast as the runtime takes it; a closed one reconnects at once.
  let sent = 0;
  let reconnects = 0;
  let httpSent = 0;
  const httpStatus = {};
  let flooding = true;
  const api = new Api(base);
  async function socketFlooder(seed) {
    let c = seed;
    while (flooding) {
      if (!isOpen(c)) {
        reconnects++;
        c = await WsClient.connect(base, session.sessionId, attacker.ticket, { name: "again", timeoutMs: 5_000 }).catch(() => null);
        if (!c) {
          await sleep(5);
          continue;
        }
      }
      // As fast as the socket drains (Node buffers whatever the network has not taken yet).
      for (let k = 0; k < 50 && isOpen(c) && c.ws.bufferedAmount < 64 * 1024; k++, sent++)
        c.send({ type: "command", commandId: `flood-${sent}`, command: { type: "requestHelp" } });
      await sleep(1);
    }
    c?.close();
  }
  async function httpFlooder() {
    while (flooding) {
      const r = await api.call(`/api/sessions/${session.sessionId}/commands`, {
        method: "POST",
        token: attacker.ticket,
        body: { commandId: `http-flood-${httpSent++}`, command: { type: "requestHelp" } },
      });
      httpStatus[r.status] = (httpStatus[r.status] ?? 0) + 1;
    }
  }
  const flooders = [...opened.filter(isOpen).map(socketFlooder), httpFlooder(), httpFlooder()];
  await sleep(300);
  const flooded = await facilitatorLatency(fac, seconds);
  flooding = false;
  await Promise.allSettled(flooders);
  for (const c of opened) c.close();
  log(`  flood: facilitator under flood p99 ${flooded.ackMs.p99} ms (${sent} socket messages, ${httpSent} HTTP commands)`);

  await closeSession(conn);
  return {
    participants,
    seconds,
    attackerSockets: { tried: 100, openAfter: stillOpen, closeCodes },
    flood: { socketMessagesSent: sent, reconnects, httpCommands: httpSent, httpStatus },
    facilitatorAlone: quiet,
    facilitatorUnderFlood: flooded,
    p99Ratio: +(flooded.ackMs.p99 / Math.max(0.001, quiet.ackMs.p99)).toFixed(2),
  };
}
