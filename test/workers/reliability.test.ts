/** Faults this stack can throw, injected for real: D1 failing, the DO evicted with sockets closed, mass reconnects. */
import { describe, expect, it } from "vitest";
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { Client, createSession, d1, flush, joinSession, sleep, stubFor, placementIn } from "./helpers";

async function sessionWith(n: number) {
  const s = await createSession({ settings: { autoAdmit: true } });
  const fac = await Client.connect(s.sessionId, s.ticket, "fac");
  await fac.next((m) => m.type === "snapshot");
  const people: { memberId: string; ticket: string; c: Client }[] = [];
  for (let i = 0; i < n; i++) {
    const j = await joinSession(s.sessionId, s.invite.token, `Client ${i + 1}`);
    const c = await Client.connect(s.sessionId, j.ticket, `p${i + 1}`);
    await c.next((m) => placementIn(m) !== null);
    people.push({ ...j, c });
  }
  return { s, fac, people };
}

const db = () => (env as any).DB as D1Database;

describe("reliability under faults", () => {
  it("keeps running while D1 fails, then writes every row exactly once", async () => {
    const { s, fac, people } = await sessionWith(4);
    await flush(s.sessionId);
    const stub = stubFor(s.sessionId);
    // D1 starts failing: every batch touching transitions errors (a real SQL error, not a mock).
    await db().exec("ALTER TABLE breakout_room_transitions RENAME TO breakout_room_transitions_away");
    try {
      expect((await fac.command({ type: "createBreakouts", count: 2, mode: "auto" })).type).toBe("ack");
      expect((await fac.command({ type: "openBreakouts" })).type).toBe("ack");
      for (const p of people) await p.c.next((m) => placementIn(m)?.reason === "breakouts-opened");
      expect((await fac.command({ type: "move", memberId: people[0].memberId, to: "main" })).type).toBe("ack");
      expect((await fac.command({ type: "closeAll", countdownSeconds: 0 })).type).toBe("ack");
      for (const p of people.slice(1)) await p.c.next((m) => placementIn(m)?.reason === "round-ended");
      await flush(s.sessionId); // fails, backs off
      const during = await stub.debugState();
      expect(during.outbox).toBeGreaterThan(0);
      expect(during.phase).toBe("main");
      expect(during.alarm).not.toBeNull(); // a retry is scheduled
    } finally {
      await db().exec("ALTER TABLE breakout_room_transitions_away RENAME TO breakout_room_transitions");
    }
    // D1 is back: the alarm's retry drains the outbox.
    for (let i = 0; i < 50 && (await stub.debugState()).outbox > 0; i++) {
      await runDurableObjectAlarm(stub);
      await flush(s.sessionId);
      await sleep(20);
    }
    expect((await stub.debugState()).outbox).toBe(0);
    const rows = await d1(
      `SELECT member_id, seq, from_location, to_location FROM breakout_room_transitions WHERE session_id = ? ORDER BY seq, member_id`,
      s.sessionId,
    );
    // Every participant: join → main, main → room, room → main; people[0] moved back to main by hand first.
    for (const p of people) {
      const mine = rows.filter((r) => r.member_id === p.memberId).map((r) => [r.from_location, r.to_location === "main" ? "main" : "room"]);
      expect(mine).toEqual([
        [null, "main"],
        ["main", "room"],
        [expect.stringMatching(/^r/), "main"],
      ]);
    }
    const dup = await d1(`SELECT id, COUNT(*) AS n FROM breakout_room_transitions WHERE session_id = ? GROUP BY id HAVING n > 1`, s.sessionId);
    expect(dup).toEqual([]);
    // Flushing again after success writes nothing twice (idempotent rows).
    await flush(s.sessionId);
    expect((await d1(`SELECT COUNT(*) AS n FROM breakout_room_transitions WHERE session_id = ?`, s.sessionId))[0].n).toBe(rows.length);
    fac.close();
    people.forEach((p) => p.c.close());
  });

  it("survives eviction with sockets closed: clients reconnect from their seq and converge", async () => {
    const { s, fac, people } = await sessionWith(6);
    await fac.command({ type: "createBreakouts", count: 3, mode: "auto", durationSeconds: 600 });
    await fac.command({ type: "openBreakouts" });
    for (const p of people) await p.c.next((m) => placementIn(m)?.reason === "breakouts-opened");
    const stub = stubFor(s.sessionId);
    const before = await stub.debugState();
    await evictDurableObject(stub, { webSockets: "close" });
    await sleep(20);
    // While away, the facilitator's command arrives over a fresh socket (the DO rebuilds from storage).
    const fac2 = await Client.connect(s.sessionId, s.ticket, "fac2", fac.lastSeq);
    expect((await fac2.command({ type: "move", memberId: people[0].memberId, to: "main" })).type).toBe("ack");
    // Everyone reconnects at once with their last seq.
    const again = await Promise.all(people.map((p) => Client.connect(s.sessionId, p.ticket, `${p.c.name}-again`, p.c.lastSeq)));
    await again[0].next((m) => placementIn(m)?.location === "main");
    const after = await stub.debugState();
    expect(after.context!.round).toEqual(before.context!.round);
    expect(after.context!.rooms).toEqual(before.context!.rooms);
    for (const [i, c] of again.entries()) {
      await sleep(0);
      // Resumed, not re-snapshotted: what the old socket had plus what the new one replayed is where they are.
      expect(c.messages.some((m) => m.type === "snapshot")).toBe(false);
      expect(c.messages[0]).toMatchObject({ type: "hello", resume: { from: people[i].c.lastSeq } });
      expect([...people[i].c.placements(), ...c.placements()].at(-1).location).toBe(after.context!.members[people[i].memberId].location);
    }
    // With the outbox drained, the one alarm is armed at exactly the round's next deadline (its warning), so the
    // timer fires on time after the rebuild.
    await flush(s.sessionId);
    await runDurableObjectAlarm(stub);
    const armed = await stub.debugState();
    expect(armed.outbox).toBe(0);
    expect(armed.alarm).toBe(after.context!.round!.endsAt! - 60_000);
    fac.close();
    fac2.close();
    again.forEach((c) => c.close());
    people.forEach((p) => p.c.close());
  });

  it("50 clients drop and reconnect at the same moment; everyone converges to the same view", async () => {
    const { s, fac, people } = await sessionWith(49);
    await fac.command({ type: "createBreakouts", count: 7, mode: "auto" });
    await fac.command({ type: "openBreakouts" });
    await Promise.all(people.map((p) => p.c.next((m) => placementIn(m)?.reason === "breakouts-opened", 15000)));
    const seqs = people.map((p) => p.c.lastSeq);
    people.forEach((p) => p.c.close());
    fac.close();
    await sleep(20);
    // Changes happen while they are away.
    const fac2 = await Client.connect(s.sessionId, s.ticket, "fac2");
    await fac2.next((m) => m.type === "snapshot");
    await fac2.command({ type: "swap", memberA: people[0].memberId, memberB: people[48].memberId });
    await fac2.command({ type: "closeRoom", roomId: "r3" });
    const back = await Promise.all(people.map((p, i) => Client.connect(s.sessionId, p.ticket, `back${i}`, seqs[i])));
    await sleep(100);
    const truth = (await stubFor(s.sessionId).debugState()).context!;
    for (const [i, c] of back.entries()) {
      const expected = truth.members[people[i].memberId].location;
      // Moved while away (the swap, the closed room): the replay carries the placement. Everyone else already had it.
      const moved = people[i].c.lastPlacement().location !== expected;
      if (moved) await c.next((m) => placementIn(m)?.location === expected, 15000);
      expect([...people[i].c.placements(), ...c.placements()].at(-1).location).toBe(expected);
      const view = [...people[i].c.views(), ...c.views()].at(-1);
      expect(view.you.location).toBe(expected);
    }
    expect(Object.values(truth.members).filter((m: any) => m.role === "participant" && m.connected).length).toBe(49);
    fac2.close();
    back.forEach((c) => c.close());
  }, 60_000);
});

describe("stored state format", () => {
  it("members and rooms are stored one row each, changed ones rewritten; an older inline snapshot still loads", async () => {
    const { s, fac, people } = await sessionWith(4);
    await fac.command({ type: "createBreakouts", count: 2, mode: "auto" });
    await fac.command({ type: "openBreakouts" });
    const stub = stubFor(s.sessionId);
    const rows = () =>
      runInDurableObject(stub, (_o, state) => {
        const kv = state.storage.sql.exec<{ v: string }>(`SELECT v FROM kv WHERE k = 'snapshot'`).one().v;
        const parts = state.storage.sql.exec<{ part: string; id: string; value: string }>(`SELECT part, id, value FROM state_parts`).toArray();
        const of = (part: string) => Object.fromEntries(parts.filter((r) => r.part === part).map((r) => [r.id, JSON.parse(r.value)]));
        return { snapshot: JSON.parse(kv), members: of("members"), rooms: of("rooms") };
      });
    const before = await stub.debugState();
    const stored = await rows();
    expect(stored.snapshot.partsInTable).toEqual(["members", "rooms", "media", "chat"]);
    expect(stored.snapshot.context.members).toEqual({});
    expect(stored.snapshot.context.rooms).toEqual({});
    expect(stored.members).toEqual(before.context!.members);
    expect(stored.rooms).toEqual(before.context!.rooms);

    // A move rewrites the moved member's row (the rows still equal the state after it).
    const moved = people[0].memberId;
    expect((await fac.command({ type: "move", memberId: moved, to: "main" })).type).toBe("ack");
    const afterMove = await stub.debugState();
    expect((await rows()).members).toEqual(afterMove.context!.members);
    expect((await rows()).rooms).toEqual(afterMove.context!.rooms);

    // Rewrite storage the way earlier versions kept it (members inline, no rows), then rebuild from it.
    await runInDurableObject(stub, (_o, state) => {
      const current = JSON.parse(state.storage.sql.exec<{ v: string }>(`SELECT v FROM kv WHERE k = 'snapshot'`).one().v);
      const inline = { ...current, context: { ...current.context, members: afterMove.context!.members, rooms: afterMove.context!.rooms } };
      delete inline.partsInTable;
      state.storage.sql.exec(`UPDATE kv SET v = ? WHERE k = 'snapshot'`, JSON.stringify(inline));
      state.storage.sql.exec(`DELETE FROM state_parts`);
    });
    await evictDurableObject(stub, { webSockets: "close" });
    expect((await stub.debugState()).context!.members).toEqual(afterMove.context!.members);
    // The first event after it writes every member as a row again.
    const fac2 = await Client.connect(s.sessionId, s.ticket, "fac2");
    await fac2.next((m) => m.type === "snapshot");
    expect((await fac2.command({ type: "move", memberId: people[1].memberId, to: "main" })).type).toBe("ack");
    const last = await stub.debugState();
    const again = await rows();
    expect(again.snapshot.partsInTable).toEqual(["members", "rooms", "media", "chat"]);
    expect(again.members).toEqual(last.context!.members);
    expect(again.rooms).toEqual(last.context!.rooms);
    await evictDurableObject(stub, { webSockets: "close" });
    expect((await stub.debugState()).context).toEqual(last.context);
    fac.close();
    fac2.close();
    people.forEach((p) => p.c.close());
  });
});
