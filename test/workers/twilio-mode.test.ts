/**
 * Twilio mode end to end against the local Twilio-compatible server: real REST calls from the session DO,
 * access tokens checked against Twilio's claims, signed status callbacks turned into arrival state, faults.
 * One file, sequential: the local server (and its fault rules and callback queue) is shared.
 */
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { runDurableObjectAlarm } from "cloudflare:test";
import { api, Client, createSession, joinSession, sleep, staffMirror, stubFor, placementIn } from "./helpers";

const twilioBase = () => `http://127.0.0.1:${inject("twilioPort")}`;

async function local(path: string, body?: unknown) {
  const res = await fetch(`${twilioBase()}/__local/${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  return res.json() as Promise<any>;
}

const roomsOf = async (sessionId: string) => (await local("state")).rooms.filter((r: any) => r.unique_name.startsWith(`mb-${sessionId}-`));

/** Deliver queued status callbacks for this session to the Worker, exactly as Twilio would post them. */
async function deliverCallbacks(sessionId: string, transform: (cbs: any[]) => any[] = (x) => x) {
  const { callbacks } = await local("callbacks");
  const mine = callbacks.filter((cb: any) => cb.url.includes(`/status-callback/${sessionId}`));
  const results = [];
  for (const cb of transform(mine)) {
    const r = await api(new URL(cb.url).pathname, {
      body: cb.body,
      headers: { "content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": cb.signature },
    });
    results.push(r);
  }
  return results;
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await sleep(25);
  }
}

describe("Twilio mode", () => {
  it("drives real rooms through two rounds, turns callbacks into arrivals, and leaves no room billing", async () => {
    const s = await createSession({ mediaProvider: "twilio", settings: { autoAdmit: true } });
    const stub = stubFor(s.sessionId);
    const fac = await Client.connect(s.sessionId, s.ticket, "fac");
    await fac.next((m) => m.type === "snapshot");
    // The main room is created over REST as soon as the session exists.
    await until(
      () => stub.debugState(),
      (st) => st.context!.media.main?.status === "ready",
      "main media room",
    );
    const [mainRoom] = await roomsOf(s.sessionId);
    expect(mainRoom).toMatchObject({ unique_name: `mb-${s.sessionId}-main`, status: "in-progress", type: "group", max_participants: 50 });
    expect(mainRoom.status_callback).toBe(`https://mindbloom.test/api/twilio/status-callback/${s.sessionId}`);

    const people: { memberId: string; ticket: string; c: Client }[] = [];
    for (let i = 0; i < 4; i++) {
      const j = await joinSession(s.sessionId, s.invite.token, `Client ${i + 1}`);
      const c = await Client.connect(s.sessionId, j.ticket, `p${i + 1}`);
      people.push({ ...j, c });
    }
    // Each placement carries a Twilio access token for exactly the member's room.
    for (const p of people) {
      const pl = (await p.c.next((m) => placementIn(m)?.location === "main")).placement;
      expect(pl.media.provider).toBe("twilio");
      expect(decodeProtectedHeader(pl.media.token)).toEqual({ alg: "HS256", typ: "JWT", cty: "twilio-fpa;v=1" });
      const claims = decodeJwt(pl.media.token) as any;
      expect(claims.grants).toEqual({ identity: p.memberId, video: { room: `mb-${s.sessionId}-main` } });
      expect(claims.iss).toBe("SK0123456789abcdef0123456789abcdef");
      expect(claims.sub).toBe("AC0123456789abcdef0123456789abcdef");
      expect(claims.exp - claims.iat).toBe(600);
      expect(pl.media.expiresAt).toBe(claims.exp * 1000);
    }

    // Arrival: only when Twilio says the member connected to their room.
    for (const p of people) await local(`rooms/${encodeURIComponent(mainRoom.sid)}/participants`, { identity: p.memberId });
    const delivered = await deliverCallbacks(s.sessionId);
    expect(delivered.every((r) => r.status === 200)).toBe(true);
    await until(
      () => stub.debugState(),
      (st) => people.every((p) => st.context!.members[p.memberId].arrivedIn === `mb-${s.sessionId}-main`),
      "arrivals in main",
    );
    await sleep(20);
    expect(staffMirror(fac).members.find((m: any) => m.id === people[0].memberId).arrivedIn).toBe(`mb-${s.sessionId}-main`);

    // Round 1: two rooms, with Twilio failing on the way (500, 429 with Retry-After, a lost response, a time-out).
    await local("fail-next", { kind: "status", status: 500, method: "POST", path: "/v1/Rooms", times: 1 });
    await local("fail-next", { kind: "status", status: 429, code: 20429, retryAfter: 1, method: "POST", path: "/v1/Rooms", times: 1 });
    await local("fail-next", { kind: "lose-response", method: "POST", path: "/v1/Rooms", times: 1 });
    await local("fail-next", { kind: "hang", method: "POST", path: "/v1/Rooms", times: 1 });
    expect((await fac.command({ type: "createBreakouts", count: 2, mode: "auto" })).type).toBe("ack");
    const ready = await until(
      () => stub.debugState(),
      (st) => ["r1", "r2"].every((k) => st.context!.media[k]?.status === "ready"),
      "breakout rooms ready",
      15000,
    );
    const rooms1 = await roomsOf(s.sessionId);
    // No duplicate room despite the retries: one room per UniqueName.
    const names = rooms1.map((r: any) => r.unique_name).sort();
    expect(names).toEqual([`mb-${s.sessionId}-main`, `mb-${s.sessionId}-r1`, `mb-${s.sessionId}-r2`]);
    expect(ready.context!.media.r1.sid).toBe(rooms1.find((r: any) => r.unique_name.endsWith("-r1")).sid);

    expect((await fac.command({ type: "openBreakouts" })).type).toBe("ack");
    for (const p of people) {
      const pl = (await p.c.next((m) => placementIn(m)?.reason === "breakouts-opened")).placement;
      expect((decodeJwt(pl.media.token) as any).grants.video.room).toBe(`mb-${s.sessionId}-${pl.location}`);
    }
    // Arrival resets on a move and comes back only from the new room's callback.
    const st1 = await stub.debugState();
    for (const p of people) expect(st1.context!.members[p.memberId].arrivedIn).toBeNull();
    for (const p of people) {
      const loc = st1.context!.members[p.memberId].location!;
      await local(`rooms/${encodeURIComponent(`mb-${s.sessionId}-${loc}`)}/participants`, { identity: p.memberId });
    }
    // Deliver twice and out of order: repeats are ignored, the outcome is the same.
    const results = await deliverCallbacks(s.sessionId, (cbs) => [...cbs].reverse().concat(cbs));
    expect(results.filter((r) => r.json.verdict === "duplicate").length).toBeGreaterThan(0);
    await until(
      () => stub.debugState(),
      (st) => people.every((p) => st.context!.members[p.memberId].arrivedIn === `mb-${s.sessionId}-${st.context!.members[p.memberId].location}`),
      "arrivals in breakout rooms",
    );

    // Close all now: the breakout rooms are completed at Twilio; main stays.
    expect((await fac.command({ type: "closeAll", countdownSeconds: 0 })).type).toBe("ack");
    await until(
      () => roomsOf(s.sessionId),
      (rs) => rs.filter((r: any) => r.status === "in-progress").length === 1,
      "breakout rooms completed",
    );
    const afterRound = await roomsOf(s.sessionId);
    expect(afterRound.find((r: any) => r.status === "in-progress").unique_name).toBe(`mb-${s.sessionId}-main`);

    // Round 2 with a time-out on completion; the alarm's reconciliation converges.
    expect((await fac.command({ type: "createBreakouts", names: ["Pairs A", "Pairs B"], mode: "auto" })).type).toBe("ack");
    await until(
      () => stub.debugState(),
      (st) => ["r3", "r4"].every((k) => st.context!.media[k]?.status === "ready"),
      "round 2 rooms",
    );
    expect((await fac.command({ type: "openBreakouts" })).type).toBe("ack");
    await local("fail-next", { kind: "status", status: 503, method: "POST", pathPattern: "^/v1/Rooms/RM", times: 8 });
    expect((await fac.command({ type: "endSession" })).type).toBe("ack");
    await sleep(200);
    await runDurableObjectAlarm(stub);
    await until(
      async () => {
        await runDurableObjectAlarm(stub);
        return roomsOf(s.sessionId);
      },
      (rs) => rs.every((r: any) => r.status === "completed"),
      "every room completed after the session ended",
      20000,
    );
    const final = await stub.debugState();
    expect(Object.values(final.context!.media).every((m: any) => m.status === "completed")).toBe(true);
    // A sweep that lists Twilio's in-progress rooms finds nothing of this session left.
    const sweep = await stub.sweepProviderRooms();
    expect(sweep.completed).toEqual([]);
    fac.close();
    people.forEach((p) => p.c.close());
  });

  it("refuses forged and tampered callbacks and changes nothing", async () => {
    const s = await createSession({ mediaProvider: "twilio", settings: { autoAdmit: true } });
    const stub = stubFor(s.sessionId);
    await until(
      () => stub.debugState(),
      (st) => st.context!.media.main?.status === "ready",
      "main media room",
    );
    const j = await joinSession(s.sessionId, s.invite.token, "Pat");
    const [room] = await roomsOf(s.sessionId);
    await local(`rooms/${encodeURIComponent(room.sid)}/participants`, { identity: j.memberId });
    const { callbacks } = await local("callbacks");
    const cb = callbacks.find((x: any) => x.event === "participant-connected" && x.url.includes(s.sessionId));
    expect(cb).toBeTruthy();
    const before = await stub.debugState();
    const path = new URL(cb.url).pathname;
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const forged = await api(path, { body: cb.body, headers: { ...form, "X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" } });
    expect(forged.status).toBe(403);
    expect(forged.json.error.code).toBe("FORBIDDEN");
    const tampered = await api(path, { body: cb.body.replace(j.memberId, "m1"), headers: { ...form, "X-Twilio-Signature": cb.signature } });
    expect(tampered.status).toBe(403);
    const unsigned = await api(path, { body: cb.body, headers: form });
    expect(unsigned.status).toBe(403);
    expect((await stub.debugState()).context).toEqual(before.context);
    // The genuine one is accepted, once.
    const ok = await api(path, { body: cb.body, headers: { ...form, "X-Twilio-Signature": cb.signature } });
    expect(ok.json).toEqual({ applied: true, verdict: "apply" });
    const again = await api(path, { body: cb.body, headers: { ...form, "X-Twilio-Signature": cb.signature } });
    expect(again.json).toEqual({ applied: false, verdict: "duplicate" });
    expect((await stub.debugState()).context!.members[j.memberId].arrivedIn).toBe(`mb-${s.sessionId}-main`);
    await api(`/api/sessions/${s.sessionId}/end`, { token: s.ticket, body: {} });
  });
});
