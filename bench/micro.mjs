// Where the session DO's CPU goes per event, outside workerd: the pure parts of one `move` and one `openBreakouts`
// (validation, engine, views, D1 records, persisted snapshot, frame JSON, token signing) timed in Node on the same
// code, bundled with esbuild. zod runs jitless, as in workerd (no eval there). Storage, sockets and D1 are not in here:
// the difference between these sums and the workerd CPU per event (fanout/moves benches) is the runtime's share.
import { build } from "esbuild";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { ROOT } from "./lib/wrangler.mjs";

const ENTRY = `
import { z } from "zod";
z.config({ jitless: true });
export { SessionEngine } from "./durable-objects/logic/engine";
export { participantView, diffForStaff, staffState } from "./durable-objects/logic/views";
export { recordsFor } from "./durable-objects/logic/records";
export { ClientMessageSchema } from "./lib/protocol";
export { TwilioTokenSigner } from "./lib/twilio/token";
export { issueMemberTicket, verifyMemberTicket } from "./worker/auth/app-tokens";
`;

async function load(project = ROOT) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "mb-micro-"));
  const entry = path.join(project, `.bench-micro-entry-${process.pid}.ts`);
  writeFileSync(entry, ENTRY);
  try {
    await build({
      entryPoints: [entry],
      bundle: true,
      format: "esm",
      platform: "neutral",
      outfile: path.join(dir, "m.mjs"),
      logLevel: "silent",
      mainFields: ["module", "main"],
      conditions: ["worker", "browser"],
    });
  } finally {
    rmSync(entry, { force: true });
  }
  const mod = await import(pathToFileURL(path.join(dir, "m.mjs")).href);
  rmSync(dir, { recursive: true, force: true });
  return mod;
}

/** Mean µs per call of fn, best of `batches` batches (the least disturbed by other load). */
async function time(fn, { n = 200, batches = 7 } = {}) {
  for (let i = 0; i < Math.min(n, 50); i++) await fn(i);
  let best = Infinity;
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn(i);
    best = Math.min(best, ((performance.now() - t0) * 1000) / n);
  }
  return Math.round(best * 10) / 10;
}

export async function run({ participants = 49, project = ROOT } = {}) {
  const m = await load(project);
  const now = 1_800_000_000_000;
  const newSession = () => {
    const e = m.SessionEngine.create({
      sessionId: "s1",
      title: "Group",
      createdAt: now,
      createdBy: "user:f",
      settings: { autoAdmit: true },
      seed: 7,
      mediaProvider: "twilio",
    });
    e.dispatch({ type: "memberJoined", identity: "user:f", name: "Facilitator", role: "facilitator", now });
    for (let i = 0; i < participants; i++) e.dispatch({ type: "memberJoined", identity: `guest:${i}`, name: `Participant ${i + 1}`, role: "participant", now });
    return e;
  };
  const fac = { memberId: "m1", role: "facilitator" };
  const e = newSession();
  e.dispatch({ type: "createBreakouts", count: 10, mode: "auto", actor: fac, now });
  e.dispatch({ type: "openBreakouts", actor: fac, now });
  const ids = Object.values(e.context.members)
    .filter((x) => x.role === "participant")
    .map((x) => x.id);
  const rooms = Object.keys(e.context.rooms);
  const moveEvent = (i) => {
    const id = ids[i % ids.length];
    const at = e.context.members[id].location;
    return { type: "move", memberId: id, to: rooms[(rooms.indexOf(at) + 1) % rooms.length], actor: fac, now: now + i };
  };

  const out = { participants, note: "µs per call, Node 22, best of 7 batches; zod jitless like workerd" };
  const frame = JSON.stringify({ type: "command", commandId: "fac-123-abcdef", command: { type: "move", memberId: "m7", to: "r3" } });
  out.parseFrameJson = await time(() => JSON.parse(frame), { n: 2000 });
  out.zodClientMessage = await time(() => m.ClientMessageSchema.safeParse(JSON.parse(frame)), { n: 2000 });

  let k = 0;
  out.engineDispatchMove = await time(() => e.dispatch(moveEvent(k++)), { n: 500 });
  const r = e.dispatch(moveEvent(k++));
  out.diffForStaff = await time(() => m.diffForStaff(r.prev, r.next, r.prevPhase, r.phase), { n: 2000 });
  out.participantViewsAll = await time(
    () => {
      for (const id of ids) JSON.stringify(m.participantView(r.next, r.phase, id));
    },
    { n: 200 },
  );
  out.participantViewOne = Math.round((out.participantViewsAll / ids.length) * 10) / 10;
  out.recordsForMove = await time(
    () => m.recordsFor({ eventNo: 5, event: moveEvent(1), actor: fac, prev: r.prev, next: r.next, prevPhase: r.phase, phase: r.phase, notices: [] }),
    { n: 2000 },
  );
  out.persistedSnapshotJson = await time(() => JSON.stringify(e.persisted()), { n: 300 });
  out.staffSnapshotJson = await time(() => JSON.stringify(m.staffState(e.context, e.phase)), { n: 300 });

  const signer = new m.TwilioTokenSigner({
    accountSid: "AC" + "0".repeat(32),
    apiKeySid: "SK" + "0".repeat(32),
    apiKeySecret: "secret-secret-secret",
    ttlSeconds: 3600,
  });
  out.twilioTokenSign = await time(() => signer.sign({ identity: "m7", room: "mb-s1-r3", now }), { n: 1000 });
  const env = { APP_ENV: "development", DEV_SIGNIN: "on", APP_SIGNING_SECRET: "micro-bench-secret-0123456789abcdef0123" };
  const ticket = (await m.issueMemberTicket(env, { sessionId: "s1", memberId: "m7", role: "participant", name: "P" })).token;
  out.ticketVerify = await time(() => m.verifyMemberTicket(env, ticket, "s1"), { n: 1000 });

  // openBreakouts on 49 participants: create → open → closeAll(0) cycles; only the open is timed.
  const e2 = newSession();
  const openUs = [];
  const frameUs = [];
  for (let i = 0; i < 40; i++) {
    e2.dispatch({ type: "createBreakouts", count: 10, mode: "auto", actor: fac, now: now + i });
    const t0 = performance.now();
    const res = e2.dispatch({ type: "openBreakouts", actor: fac, now: now + i });
    const t1 = performance.now();
    const ps = Object.values(res.next.members).filter((x) => x.role === "participant");
    for (const p of ps) JSON.stringify({ type: "view", view: m.participantView(res.next, res.phase, p.id), seq: i });
    m.recordsFor({
      eventNo: 9,
      event: { type: "openBreakouts", actor: fac, now },
      actor: fac,
      prev: res.prev,
      next: res.next,
      prevPhase: res.prevPhase,
      phase: res.phase,
      notices: [],
    });
    const t2 = performance.now();
    if (i >= 10) {
      openUs.push((t1 - t0) * 1000);
      frameUs.push((t2 - t1) * 1000);
    }
    e2.dispatch({ type: "closeAll", countdownSeconds: 0, actor: fac, now: now + i });
  }
  openUs.sort((a, b) => a - b);
  frameUs.sort((a, b) => a - b);
  out.engineDispatchOpen = Math.round(openUs[Math.floor(openUs.length / 2)]);
  out.openViewsAndRecords = Math.round(frameUs[Math.floor(frameUs.length / 2)]);
  out.signTokensForOpen = Math.round(out.twilioTokenSign * participants);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(JSON.stringify(await run(), null, 2));
