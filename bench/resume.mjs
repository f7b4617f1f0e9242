// 5. Resume: a session DO rebuilt from storage answers a reconnecting client with a correct snapshot.
// Cold rebuilds are forced by restarting wrangler dev on the same --persist-to directory (every DO starts from SQLite);
// the same reconnects against live DOs are the warm peer.
import { performance } from "node:perf_hooks";
import { isDeepStrictEqual } from "node:util";
import { Api, WsClient, pool, summarize } from "./lib/client.mjs";

/** Sessions in an interesting state: participants joined, rooms open. Returns what each should look like. */
export async function prepare({ base, sessions = 100, participants = 10, log = () => {} }) {
  const api = new Api(base);
  const made = await pool(
    Array.from({ length: sessions }, (_, i) => i),
    8,
    async (i) => {
      const s = await api.sessionWithParticipants(participants, { mediaProvider: "twilio", title: `Resume ${i + 1}`, concurrency: 4 });
      for (const command of [{ type: "createBreakouts", count: 3, mode: "auto" }, { type: "openBreakouts" }, { type: "broadcast", text: "welcome back" }]) {
        await api.ok(`/api/sessions/${s.sessionId}/commands`, { token: s.ticket, body: { commandId: `prep-${command.type}-${i}`, command } });
      }
      return s;
    },
  );
  log(`  resume: ${made.length} sessions prepared`);
  return made;
}

/** What the facilitator and one participant should see (read over HTTP: no socket is open, nothing is in flight). */
async function expectations(api, s) {
  const staff = await api.ok(`/api/sessions/${s.sessionId}`, { method: "GET", token: s.ticket });
  const view = await api.ok(`/api/sessions/${s.sessionId}`, { method: "GET", token: s.participants[0].ticket });
  return { staff: staff.staff, seq: staff.seq, view: view.view };
}

/** Reconnect the facilitator (staff snapshot) then one participant (view + placement); time to their snapshot. */
async function reconnect(base, s, expected) {
  const t0 = performance.now();
  const fac = await WsClient.connect(base, s.sessionId, s.ticket, { name: "fac", until: (m) => m.type === "snapshot", timeoutMs: 30_000 });
  const facMs = performance.now() - t0;
  const snap = fac.firstMatch;
  const problems = [];
  if (!isDeepStrictEqual(snap.staff, expected.staff)) problems.push("staff snapshot differs from the state before");
  if (snap.seq < expected.seq) problems.push(`snapshot seq ${snap.seq} < ${expected.seq}`);
  const t1 = performance.now();
  const p = await WsClient.connect(base, s.sessionId, s.participants[0].ticket, {
    name: "p",
    until: (m) => m.type === "snapshot",
    timeoutMs: 30_000,
    keep: true,
  });
  const partMs = performance.now() - t1;
  const pSnap = p.keep.find((m) => m.type === "snapshot");
  const placement = p.firstMatch.placement;
  if (!pSnap || !isDeepStrictEqual(pSnap.view, expected.view)) problems.push("participant view differs from the view before");
  if (!placement || placement.location !== expected.view.you.location || placement.media?.room !== `mb-${s.sessionId}-${placement.location}`)
    problems.push("placement does not match the member's room");
  await Promise.all([fac.closeAndWait(3000), p.closeAndWait(3000)]);
  return { facMs, partMs, problems };
}

export async function measure({ base, made, label, log = () => {} }) {
  const api = new Api(base);
  const fac = [];
  const part = [];
  const problems = [];
  for (const s of made) {
    // Expectations are re-read each time: a reconnect toggles `connected`, which a closed socket toggles back.
    const expected = await expectations(api, s);
    const r = await reconnect(base, s, expected);
    fac.push(r.facMs);
    part.push(r.partMs);
    for (const p of r.problems) problems.push(`${s.sessionId}: ${p}`);
  }
  log(`  resume (${label}): facilitator snapshot p50 ${summarize(fac).p50} ms`);
  return {
    sessions: made.length,
    facilitatorSnapshotMs: summarize(fac),
    participantSnapshotMs: summarize(part),
    problems: problems.slice(0, 10),
    problemCount: problems.length,
  };
}

/**
 * Cold pass: `expected` must have been read before the restart (reading it after would wake the DO first).
 * The worker isolate is warmed with GET /api/config, so only the session DOs start cold.
 */
export async function measureCold({ base, made, expectedBefore, log = () => {} }) {
  await fetch(`${base}/api/config`);
  const fac = [];
  const part = [];
  const problems = [];
  for (let i = 0; i < made.length; i++) {
    const r = await reconnect(base, made[i], expectedBefore[i]);
    fac.push(r.facMs);
    part.push(r.partMs);
    for (const p of r.problems) problems.push(`${made[i].sessionId}: ${p}`);
  }
  log(`  resume (cold): facilitator snapshot p50 ${summarize(fac).p50} ms`);
  return {
    sessions: made.length,
    facilitatorSnapshotMs: summarize(fac),
    participantSnapshotMs: summarize(part),
    problems: problems.slice(0, 10),
    problemCount: problems.length,
  };
}

export async function readExpectations(base, made) {
  const api = new Api(base);
  return pool(made, 8, (s) => expectations(api, s));
}

/**
 * Stale presence after a restart: a participant connected while the server restarts never gets a close event in
 * the new instance. Returns what the facilitator's snapshot says about that member after the restart.
 */
export async function presenceProbeBefore(base, s) {
  return WsClient.connect(base, s.sessionId, s.participants[1].ticket, { name: "probe", until: (m) => m.type === "snapshot" });
}

export async function presenceProbeAfter(base, s) {
  const fac = await WsClient.connect(base, s.sessionId, s.ticket, { name: "fac", until: (m) => m.type === "snapshot" });
  const member = fac.firstMatch.staff.members.find((m) => m.id === s.participants[1].memberId);
  await fac.closeAndWait(3000);
  return { memberConnectedInSnapshot: member?.connected ?? null };
}
