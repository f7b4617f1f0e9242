// Soak: a scripted session of random facilitator commands, participant actions, client churn and injected faults
// (Twilio REST failures, a restart of the local runtime with persisted state, D1 failing for a while), checked every
// second by an invariant checker. Runs the product on workerd (`wrangler dev`) in Twilio mode against the local
// Twilio-compatible server. Prints the counts; exits non-zero when an invariant was violated or a row was lost.
//
//   npm run soak                      # 10 minutes
//   npm run soak -- --minutes 2       # shorter
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Api, WsClient, sleep } from "./lib/client.mjs";
import { ROOT, applyMigrations, d1Query, startWrangler } from "./lib/wrangler.mjs";
import { startLocalTwilio, LOCAL_TWILIO_DEFAULTS } from "../test/support/twilio-server.ts";

const { values: args } = parseArgs({
  options: { minutes: { type: "string", default: "10" }, participants: { type: "string", default: "16" }, seed: { type: "string", default: "7" } },
});
const DURATION_MS = Number(args.minutes) * 60_000;
const N = Number(args.participants);

// A small deterministic PRNG so a failing run can be replayed with the same --seed.
let seed = Number(args.seed) >>> 0;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

const counts = {
  commands: 0,
  acks: 0,
  refusals: 0,
  commandErrors: 0,
  faults: { twilio: 0, restart: 0, d1: 0, churn: 0 },
  reconnects: 0,
  checks: 0,
  invariantViolations: 0,
  violations: [],
  rowsLost: 0,
  orphanRooms: 0,
  callbacksDelivered: 0,
};
const PUBLIC = "http://soak.mindbloom.test";
const persistTo = mkdtempSync(path.join(tmpdir(), "mb-soak-"));
const logDir = path.join(ROOT, "bench", "results");
mkdirSync(logDir, { recursive: true });

let server; // the running wrangler dev
const twilio = await startLocalTwilio({
  port: 0,
  // Twilio posts callbacks to the public URL it was given; deliver them to wherever the runtime is now.
  deliverCallbacks: async (cb) => {
    if (!server) return;
    const url = `${server.url}${new URL(cb.url).pathname}`;
    try {
      await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": cb.signature, "CF-Connecting-IP": "10.9.9.9" },
        body: cb.body,
        signal: AbortSignal.timeout(10_000),
      });
      counts.callbacksDelivered++;
    } catch {
      /* the runtime is restarting: Twilio would retry; the sweep and reconciliation cover the rest */
    }
  },
});

const vars = {
  APP_ENV: "development",
  DEV_SIGNIN: "on",
  APP_SIGNING_SECRET: "soak-signing-secret-0123456789abcdef0123",
  TWILIO_ACCOUNT_SID: LOCAL_TWILIO_DEFAULTS.accountSid,
  TWILIO_AUTH_TOKEN: LOCAL_TWILIO_DEFAULTS.authToken,
  TWILIO_API_KEY_SID: LOCAL_TWILIO_DEFAULTS.apiKeySid,
  TWILIO_API_KEY_SECRET: LOCAL_TWILIO_DEFAULTS.apiKeySecret,
  TWILIO_API_BASE: twilio.url,
  TWILIO_TIMEOUT_MS: "1000",
  PUBLIC_BASE_URL: PUBLIC,
  SOCKET_BUDGET_STAFF: "2000/1000",
  SOCKET_BUDGET_PARTICIPANT: "200/100",
};

applyMigrations(persistTo);
server = await startWrangler({ persistTo, vars, label: "soak", logDir, logLevel: "warn" });
const api = () => new Api(server.url);

// ---------------------------------------------------------------------------------------------------------------
// Clients that reconnect by themselves with their last seq, like the web client (partysocket + resume).
// ---------------------------------------------------------------------------------------------------------------

class Member {
  constructor(sessionId, ticket, name, staff) {
    Object.assign(this, {
      sessionId,
      ticket,
      name,
      staff,
      ws: null,
      lastSeq: 0,
      placement: null,
      stopped: false,
      connecting: null,
      memberId: null,
      mirror: null,
    });
  }
  async connect() {
    if (this.connecting) return this.connecting;
    this.connecting = (async () => {
      for (let attempt = 0; !this.stopped; attempt++) {
        try {
          const c = await WsClient.connect(server.url, this.sessionId, this.ticket, { name: this.name, lastSeq: this.lastSeq || undefined, timeoutMs: 15_000 });
          c.lastSeq = this.lastSeq;
          c.ws.addEventListener("message", (ev) => this.onFrame(JSON.parse(ev.data)));
          c.ws.addEventListener("close", () => {
            if (this.ws === c && !this.stopped) {
              this.ws = null;
              counts.reconnects++;
              setTimeout(() => this.connect(), 100 + rand() * 400);
            }
          });
          this.ws = c;
          return;
        } catch {
          await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5)));
        }
      }
    })().finally(() => (this.connecting = null));
    return this.connecting;
  }
  onFrame(m) {
    if (typeof m.seq === "number" && m.seq > this.lastSeq) this.lastSeq = m.seq;
    if (m.type === "hello") this.memberId = m.you.memberId;
    if (m.type === "placement") {
      this.placement = m.placement;
      // The "media SDK": connect to the granted Twilio room, as a browser would.
      const grant = m.placement.media;
      if (grant?.provider === "twilio") {
        try {
          twilio.connectParticipant(grant.room, grant.identity);
        } catch {
          /* the room is not created yet (pending): a real client retries; the next placement or churn does */
        }
      }
    }
  }
  async command(command) {
    if (!this.ws) return null;
    counts.commands++;
    try {
      const { msg } = await this.ws.command(command, 15_000);
      if (msg.type === "ack") counts.acks++;
      else counts.refusals++;
      return msg;
    } catch {
      counts.commandErrors++; // socket dropped mid-command (restart fault); the client would retry with the same id
      return null;
    }
  }
  drop() {
    const c = this.ws;
    if (c) c.close(); // the close handler reconnects
  }
  stop() {
    this.stopped = true;
    this.ws?.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Session set-up
// ---------------------------------------------------------------------------------------------------------------

const created = await api().createSession({
  title: "Soak group",
  settings: { autoAdmit: true, emptyRoomTimeoutSeconds: 30, closingCountdownSeconds: 3 },
  mediaProvider: "twilio",
});
const sessionId = created.sessionId;
const fac = new Member(sessionId, created.ticket, "facilitator", true);
await fac.connect();
const people = [];
for (let i = 0; i < N; i++) {
  const j = await api().join(sessionId, created.invite.token, `Soak ${i + 1}`);
  const m = new Member(sessionId, j.ticket, `p${i + 1}`, false);
  m.memberId = j.memberId;
  await m.connect();
  people.push(m);
}
console.log(`soak: session ${sessionId}, ${N} participants, ${args.minutes} min, seed ${args.seed}, runtime ${server.url}, twilio ${twilio.url}`);

const staffState = async () => (await api().ok(`/api/sessions/${sessionId}`, { token: created.ticket })).staff;

// ---------------------------------------------------------------------------------------------------------------
// Invariant checker (every second)
// ---------------------------------------------------------------------------------------------------------------

const orphanSince = new Map();
function violation(what) {
  counts.invariantViolations++;
  if (counts.violations.length < 20) counts.violations.push(`${new Date().toISOString()} ${what}`);
}
async function check() {
  let st;
  try {
    st = await staffState();
  } catch {
    return; // runtime restarting
  }
  counts.checks++;
  const open = new Map(st.rooms.filter((r) => r.status === "open").map((r) => [r.id, r]));
  const per = new Map();
  for (const m of st.members) {
    if (m.status !== "admitted") {
      if (m.location !== null) violation(`${m.id} is ${m.status} but placed in ${m.location}`);
      continue;
    }
    if (m.location === null) violation(`${m.id} admitted but nowhere`);
    else if (m.location !== "main" && !open.has(m.location)) violation(`${m.id} in non-open room ${m.location}`);
    per.set(m.location, (per.get(m.location) ?? 0) + 1);
  }
  for (const [id, r] of open) if ((per.get(id) ?? 0) > r.capacity) violation(`room ${id} over capacity`);
  if ((per.get("main") ?? 0) > 50) violation("main over 50");
  // No orphan media room: an in-progress Twilio room of this session must be one the engine wants; allow the
  // reconciliation a grace period (REST retries, a restart in between).
  const wanted = new Set([...open.keys(), ...st.rooms.filter((r) => r.status === "preparing").map((r) => r.id)]);
  if (st.session.phase !== "ended") wanted.add("main");
  const now = Date.now();
  for (const room of twilio.rooms.values()) {
    if (room.status !== "in-progress" || !room.uniqueName.startsWith(`mb-${sessionId}-`)) continue;
    const key = room.uniqueName.slice(`mb-${sessionId}-`.length);
    if (wanted.has(key)) {
      orphanSince.delete(room.sid);
      continue;
    }
    const since = orphanSince.get(room.sid) ?? now;
    orphanSince.set(room.sid, since);
    if (now - since > 45_000) {
      counts.orphanRooms++;
      violation(`orphan media room ${room.uniqueName} for ${Math.round((now - since) / 1000)} s`);
      orphanSince.set(room.sid, now); // count once per 45 s
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Random facilitator and participant behaviour
// ---------------------------------------------------------------------------------------------------------------

async function facilitatorStep() {
  let st;
  try {
    st = await staffState();
  } catch {
    return;
  }
  const phase = st.session.phase;
  const participants = st.members.filter((m) => m.role === "participant" && m.status === "admitted");
  const openRooms = st.rooms.filter((r) => r.status === "open");
  const r = rand();
  if (phase === "main") {
    if (r < 0.6)
      await fac.command({
        type: "createBreakouts",
        count: 2 + Math.floor(rand() * 4),
        mode: pick(["auto", "auto", "manual", "choose"]),
        durationSeconds: rand() < 0.3 ? 30 : null,
      });
    else await fac.command({ type: "broadcast", text: "Welcome back" });
  } else if (phase === "preparing") {
    if (r < 0.2 && participants.length)
      await fac.command({ type: "assign", memberId: pick(participants).id, roomId: pick(st.rooms.filter((x) => x.status === "preparing")).id });
    else if (r < 0.3) await fac.command({ type: "addRoom" });
    else await fac.command({ type: "openBreakouts" });
  } else if (phase === "open" || phase === "closing") {
    if (r < 0.45 && participants.length && openRooms.length)
      await fac.command({ type: "move", memberId: pick(participants).id, to: pick([...openRooms.map((x) => x.id), "main"]) });
    else if (r < 0.6 && participants.length > 1) await fac.command({ type: "swap", memberA: pick(participants).id, memberB: pick(participants).id });
    else if (r < 0.7 && openRooms.length) await fac.command({ type: "closeRoom", roomId: pick(openRooms).id });
    else if (r < 0.78) await fac.command({ type: "broadcast", text: "Two minutes left", roomId: openRooms.length && rand() < 0.5 ? pick(openRooms).id : null });
    else if (r < 0.84) await fac.command({ type: "extendRound", seconds: 30 });
    else if (r < 0.9) await fac.command({ type: "visitRoom", to: pick([...openRooms.map((x) => x.id), "main"]) });
    else await fac.command({ type: "closeAll", countdownSeconds: pick([0, 2, 3]) });
  }
}

async function participantStep() {
  const p = pick(people);
  const r = rand();
  if (r < 0.4) await p.command({ type: "requestHelp", message: "stuck" });
  else if (r < 0.7) await p.command({ type: "returnToMain" });
  else await p.command({ type: "chooseRoom", roomId: `r${1 + Math.floor(rand() * 12)}` });
}

// ---------------------------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------------------------

async function injectFault() {
  const kind = pick(["twilio", "twilio", "restart", "d1", "churn", "churn"]);
  counts.faults[kind]++;
  if (kind === "twilio") {
    const f = pick([{ kind: "status", status: 500 }, { kind: "status", status: 429, code: 20429, retryAfter: 1 }, { kind: "hang" }, { kind: "lose-response" }]);
    twilio.failNext({ ...f, method: "POST", path: "/v1/Rooms", times: 1 + Math.floor(rand() * 3) });
  } else if (kind === "restart") {
    // The local runtime goes away mid-session and comes back with its persisted state.
    await server.stop();
    server = await startWrangler({ persistTo, vars, label: "soak", logDir, logLevel: "warn" });
  } else if (kind === "d1") {
    // D1 fails for ~10 s: every outbox batch touching transitions errors, then the table is back.
    try {
      d1Query(persistTo, "ALTER TABLE breakout_room_transitions RENAME TO brt_away");
      await sleep(10_000);
      d1Query(persistTo, "ALTER TABLE brt_away RENAME TO breakout_room_transitions");
    } catch (err) {
      counts.faults.d1--;
      console.log(`soak: d1 fault not injected (${String(err).slice(0, 120)})`);
    }
  } else {
    // Churn: several clients drop at once and reconnect with their last seq.
    for (const p of people.slice(0, 1 + Math.floor(rand() * 6))) p.drop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------------------------------

const started = Date.now();
let stop = false;
const checker = (async () => {
  while (!stop) {
    await check();
    await sleep(1000);
  }
})();
const faults = (async () => {
  await sleep(15_000);
  while (!stop) {
    await injectFault();
    await sleep(20_000 + rand() * 20_000);
  }
})();
while (Date.now() - started < DURATION_MS) {
  await facilitatorStep();
  if (rand() < 0.5) await participantStep();
  await sleep(150 + rand() * 150);
}
stop = true;
await Promise.all([checker, faults]);

// Wind down: end the session, let the outbox and the media reconciliation drain, then audit D1 and Twilio.
for (const m of [fac, ...people]) m.stopped = true; // the end closes every socket: no reconnects from here on
await fac.command({ type: "endSession" });
for (const m of [fac, ...people]) m.stop();
let engine;
for (let i = 0; i < 120; i++) {
  await sleep(1000);
  try {
    engine = await staffState();
  } catch {
    continue;
  }
  const live = [...twilio.rooms.values()].filter((r) => r.status === "in-progress" && r.uniqueName.startsWith(`mb-${sessionId}-`));
  const pending = d1Query(persistTo, `SELECT COUNT(*) AS n FROM sessions WHERE id = '${sessionId}' AND phase = 'ended'`)[0]?.n === 1;
  if (!live.length && pending) break;
}
const liveRooms = [...twilio.rooms.values()].filter((r) => r.status === "in-progress" && r.uniqueName.startsWith(`mb-${sessionId}-`));
counts.orphanRooms += liveRooms.length;
for (const r of liveRooms) violation(`room ${r.uniqueName} still in progress after the session ended`);

// D1 agrees with the engine: every member's transitions form an unbroken chain from nowhere, through each place,
// to where the engine last had them (nowhere, once ended); a missing row breaks the chain.
const rows = d1Query(
  persistTo,
  `SELECT member_id, seq, from_location, to_location FROM breakout_room_transitions WHERE session_id = '${sessionId}' ORDER BY member_id, seq`,
);
const byMember = new Map();
for (const r of rows) (byMember.get(r.member_id) ?? byMember.set(r.member_id, []).get(r.member_id)).push(r);
for (const m of engine?.members ?? []) {
  const chain = byMember.get(m.id) ?? [];
  let at = null;
  for (const r of chain) {
    if (r.from_location !== at) counts.rowsLost++;
    at = r.to_location;
  }
  if (at !== m.location) counts.rowsLost++;
}
const dupes = d1Query(persistTo, `SELECT COUNT(*) AS n FROM (SELECT id FROM breakout_room_transitions GROUP BY id HAVING COUNT(*) > 1)`)[0]?.n ?? 0;

await server.stop();
await twilio.close();

const result = {
  when: new Date().toISOString(),
  minutes: Number(args.minutes),
  participants: N,
  seed: Number(args.seed),
  ...counts,
  transitionsInD1: rows.length,
  duplicateRows: dupes,
};
writeFileSync(path.join(logDir, "soak.json"), JSON.stringify(result, null, 2));
console.log(JSON.stringify(result, null, 2));
console.log(
  `\nsoak: ${counts.commands} commands, ${Object.values(counts.faults).reduce((a, b) => a + b, 0)} faults injected, ${counts.reconnects} reconnects, ${counts.invariantViolations} invariant violations, ${counts.rowsLost} rows lost, ${counts.orphanRooms} orphan rooms`,
);
process.exit(counts.invariantViolations === 0 && counts.rowsLost === 0 && dupes === 0 ? 0 : 1);
