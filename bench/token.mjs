// 3. Token endpoint: POST /api/sessions/:id/media-token (Bearer member ticket) against a Twilio-reference-style peer
// (Express + twilio AccessToken + jsonwebtoken ticket check), with autocannon, in the same run.
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { Api, decodeJwt, pool } from "./lib/client.mjs";
import { cpuMs } from "./lib/wrangler.mjs";

const PEER = path.join(import.meta.dirname, "peer-token-server.mjs");

export async function startPeer(env) {
  const child = spawn(process.execPath, [PEER], { env: { ...process.env, ...env, PORT: "0" }, stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    let buf = "";
    const t = setTimeout(() => reject(new Error("peer token server did not start")), 20_000);
    child.stdout.on("data", (d) => {
      buf += d;
      const m = /listening (\d+)/.exec(buf);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => reject(new Error(`peer token server exited (${code})`)));
  });
  if (process.env.BENCH_NICE) {
    try {
      os.setPriority(child.pid, Number(process.env.BENCH_NICE)); // the same priority as the worker it is compared with
    } catch {
      /* not permitted */
    }
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r();
        child.once("exit", r);
        child.kill("SIGTERM");
      }),
  };
}

/** One autocannon run; `next()` gives the next request (path, headers, body). */
function cannon(url, next, { connections, duration, overallRate }) {
  return autocannon({
    url,
    connections,
    duration,
    ...(overallRate ? { overallRate } : {}),
    requests: [
      {
        method: "POST",
        setupRequest(req) {
          const r = next();
          req.path = r.path;
          req.headers = r.headers;
          req.body = r.body;
          return req;
        },
      },
    ],
  });
}

export async function run({
  targets,
  sessions = 20,
  participants = 49,
  connections = 20,
  duration = 8,
  reps = 2,
  warmup = 2,
  twilio,
  appSecret,
  pids = {},
  withPeer = true,
  beforeMeasure,
  log = () => {},
}) {
  // Members to rotate through: the rate limiter allows each member 60 tokens a minute.
  // Set up through the Worker's own socket when a target names one (wrangler's dev proxy link drops requests at times).
  const setupBase = targets.find((t) => t.setupUrl)?.setupUrl ?? targets.find((t) => t.kind === "ours").url;
  const api = new Api(setupBase);
  const made = await pool(
    Array.from({ length: sessions }, (_, i) => i),
    4,
    () => api.sessionWithParticipants(participants, { mediaProvider: "twilio" }),
  );
  const members = made.flatMap((s) => s.participants.map((p) => ({ sessionId: s.sessionId, memberId: p.memberId, ticket: p.ticket })));
  log(`  token: ${members.length} members in ${sessions} sessions`);

  const peer = await startPeer({
    APP_SIGNING_SECRET: appSecret,
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_API_KEY_SID: twilio.apiKeySid,
    TWILIO_API_KEY_SECRET: twilio.apiKeySecret,
  });
  const all = [...(withPeer ? [{ label: "peer (Express + twilio + jsonwebtoken)", kind: "peer", url: peer.url }] : []), ...targets];

  let k = 0;
  const nextFor = (t) => () => {
    const m = members[k++ % members.length];
    return t.kind === "peer"
      ? {
          path: "/token",
          headers: { authorization: `Bearer ${m.ticket}`, "content-type": "application/json" },
          body: JSON.stringify({ user_identity: m.memberId, room_name: `mb-${m.sessionId}-main`, create_room: false }),
        }
      : { path: `/api/sessions/${m.sessionId}/media-token`, headers: { authorization: `Bearer ${m.ticket}`, "cf-connecting-ip": "10.9.9.9" }, body: undefined };
  };

  // Both answer a correct token for the same member before anything is timed.
  const checks = {};
  for (const t of all) {
    const r = nextFor(t)();
    const res = await fetch(`${t.url}${r.path}`, { method: "POST", headers: r.headers, body: r.body });
    const body = await res.json();
    if (res.status !== 200) throw new Error(`${t.label}: ${res.status} ${JSON.stringify(body)}`);
    const { header, payload } = decodeJwt(body.token);
    checks[t.label] = {
      cty: header.cty,
      iss: payload.iss,
      sub: payload.sub,
      identity: payload.grants.identity,
      room: payload.grants.video.room,
      ttl: payload.exp - payload.iat,
    };
  }

  const runs = [];
  const fixedRate = {};
  try {
    for (const t of all) await cannon(t.url, nextFor(t), { connections, duration: warmup });
    await beforeMeasure?.();
    for (let rep = 0; rep < reps; rep++) {
      for (const t of all) {
        const procs = { ...pids, peer: peer.pid, bench: process.pid };
        const cpu0 = Object.fromEntries(Object.entries(procs).map(([n, p]) => [n, cpuMs(p)]));
        const r = await cannon(t.url, nextFor(t), { connections, duration });
        const cpu = Object.fromEntries(Object.entries(procs).map(([n, p]) => [n, Math.round(cpuMs(p) - cpu0[n])]));
        const ok = r["2xx"];
        runs.push({
          label: t.label,
          kind: t.kind,
          rep,
          okPerSecond: Math.round(ok / r.duration),
          ok,
          non2xx: r.non2xx,
          errors: r.errors + r.timeouts,
          latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max, mean: r.latency.average },
          cpuMsByProcess: cpu,
        });
        log(`  token: ${t.label} rep ${rep + 1}: ${Math.round(ok / r.duration)} ok/s, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}`);
      }
    }
    // The same offered rate for both, half the peer's maximum: latency without saturation (issue 16's goal 3).
    const peerRuns = runs.filter((r) => r.kind === "peer");
    if (peerRuns.length) {
      const rate = Math.round(peerRuns.reduce((a, r) => a + r.okPerSecond, 0) / peerRuns.length / 2);
      for (const t of all) {
        const r = await cannon(t.url, nextFor(t), { connections, duration, overallRate: rate });
        fixedRate[t.label] = {
          offeredPerSecond: rate,
          okPerSecond: Math.round(r["2xx"] / r.duration),
          non2xx: r.non2xx,
          p50: r.latency.p50,
          p99: r.latency.p99,
          max: r.latency.max,
        };
        log(`  token: ${t.label} at ${rate}/s: p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`);
      }
    }
  } finally {
    await peer.stop();
  }
  const byTarget = all.map((t) => {
    const rs = runs.filter((r) => r.label === t.label);
    const mean = (f) => Math.round((rs.reduce((a, r) => a + f(r), 0) / rs.length) * 100) / 100;
    return {
      label: t.label,
      kind: t.kind,
      okPerSecond: mean((r) => r.okPerSecond),
      p50: mean((r) => r.latencyMs.p50),
      p99: mean((r) => r.latencyMs.p99),
      max: Math.max(...rs.map((r) => r.latencyMs.max)),
      non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
      atHalfPeerRate: fixedRate[t.label] ?? null,
      cpuMsPerRequest: Object.fromEntries(
        Object.keys(rs[0].cpuMsByProcess).map((p) => [
          p,
          +(rs.reduce((a, r) => a + r.cpuMsByProcess[p], 0) / rs.reduce((a, r) => a + r.ok + r.non2xx, 0)).toFixed(3),
        ]),
      ),
    };
  });
  const peerRow = byTarget.find((t) => t.kind === "peer");
  for (const t of peerRow ? byTarget : []) {
    t.throughputVsPeer = +(t.okPerSecond / peerRow.okPerSecond).toFixed(2);
    t.p99VsPeer = +(t.p99 / peerRow.p99).toFixed(2);
  }
  return { members: members.length, connections, duration, reps, tokenChecks: checks, targets: byTarget, runs };
}
