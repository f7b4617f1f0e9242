import { describe, expect, it } from "vitest";
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { api, Client, d1, flush, staffMirror, stubFor, sleep, placementIn, sessionWithClients } from "./helpers";

describe("a full session over WebSockets", () => {
  it("runs two breakout rounds; each client hears exactly what it may", async () => {
    const { s, fac, people } = await sessionWithClients(6);
    for (const p of people) await p.c.next((m) => placementIn(m)?.location === "main");

    // Round 1: 3 rooms, automatic.
    const create = await fac.command({ type: "createBreakouts", count: 3, mode: "auto" });
    expect(create.type).toBe("ack");
    const open = await fac.command({ type: "openBreakouts" });
    expect(open.type).toBe("ack");
    for (const p of people) await p.c.next((m) => placementIn(m)?.reason === "breakouts-opened");
    const rooms = people.map((p) => p.c.lastPlacement().location);
    const counts = Object.values(rooms.reduce((a: Record<string, number>, r: string) => ((a[r] = (a[r] ?? 0) + 1), a), {}));
    expect(counts.sort()).toEqual([2, 2, 2]);
    for (const p of people) {
      const pl = p.c.lastPlacement();
      expect(pl.media).toMatchObject({ provider: "local", room: `mb-${s.sessionId}-${pl.location}`, identity: p.memberId });
    }

    // A participant's view names only their own room-mates.
    const p1 = people[0];
    await sleep(20);
    const v = p1.c.lastView();
    expect(v.you.location).toBe(p1.c.lastPlacement().location);
    const mates = people.filter((p) => p.c.lastPlacement().location === v.you.location && p !== p1).map((p) => p.memberId);
    expect(v.roommates.map((r: any) => r.id).sort()).toEqual(mates.sort());
    // Participants never receive staff patches or other people's placements.
    for (const p of people) {
      expect(p.c.messages.some((m) => m.type === "patch")).toBe(false);
      expect(p.c.messages.some((m) => m.type === "snapshot" && m.staff)).toBe(false);
    }

    // Live move: p1 to another room; only p1 gets a new placement.
    const target = ["r1", "r2", "r3"].find((r) => r !== p1.c.lastPlacement().location)!;
    const before = people.map((p) => p.c.placements().length);
    const mv = await fac.command({ type: "move", memberId: p1.memberId, to: target });
    expect(mv.type).toBe("ack");
    await p1.c.next((m) => placementIn(m)?.location === target);
    await sleep(20);
    people.slice(1).forEach((p, i) => expect(p.c.placements().length).toBe(before[i + 1]));

    // Close all with a countdown: participants are told, then the alarm returns everyone to main.
    const close = await fac.command({ type: "closeAll", countdownSeconds: 30 });
    expect(close.type).toBe("ack");
    for (const p of people) await p.c.next((m) => m.type === "notice" && m.notice.kind === "closingCountdown");
    const stub = stubFor(s.sessionId);
    // Move the deadline into the past by running the alarm after rewriting nothing: the countdown is 30 s, so the alarm would not yet fire.
    expect((await stub.debugState()).phase).toBe("closing");
    await fac.command({ type: "closeAll" }); // a second close-all ends the countdown now
    for (const p of people) await p.c.next((m) => placementIn(m)?.location === "main" && m.placement.reason === "round-ended");
    expect((await stub.debugState()).phase).toBe("main");

    // Round 2: manual, bulk assignment.
    expect((await fac.command({ type: "createBreakouts", names: ["Pairs A", "Pairs B"], mode: "manual" })).type).toBe("ack");
    const assignments = people.map((p, i) => ({ memberId: p.memberId, roomId: i % 2 ? "r5" : "r4" }));
    expect((await fac.command({ type: "bulkAssign", assignments })).type).toBe("ack");
    expect((await fac.command({ type: "openBreakouts" })).type).toBe("ack");
    for (const [i, p] of people.entries()) await p.c.next((m) => placementIn(m)?.location === (i % 2 ? "r5" : "r4"));
    expect((await fac.command({ type: "closeRoom", roomId: "r4" })).type).toBe("ack");
    for (const [i, p] of people.entries()) if (i % 2 === 0) await p.c.next((m) => placementIn(m)?.reason === "room-closed");
    expect((await fac.command({ type: "closeAll", countdownSeconds: 0 })).type).toBe("ack");
    for (const p of people) await p.c.next((m) => placementIn(m)?.location === "main" && m.placement.reason === "round-ended");

    // The console's mirror (snapshot + patches only) equals the engine's state.
    await sleep(20);
    const mirror = staffMirror(fac);
    const truth = await stub.debugState();
    expect(mirror.session.phase).toBe("main");
    expect(mirror.session.roundsCompleted).toBe(2);
    for (const m of Object.values(truth.context!.members)) expect(mirror.members.find((x: any) => x.id === m.id)).toEqual(m);
    for (const r of Object.values(truth.context!.rooms)) expect(mirror.rooms.find((x: any) => x.id === r.id)).toEqual(r);

    // Every participant's latest view (built from view frames only) equals what the engine would show them now.
    for (const p of people) expect(p.c.lastView()).toEqual(((await stub.state(p.memberId)) as any).value.view);

    // D1 holds every change.
    await flush(s.sessionId);
    const [sess] = await d1(`SELECT * FROM sessions WHERE id = ?`, s.sessionId);
    expect(sess).toMatchObject({ phase: "main", rounds_completed: 2, media_provider: "local" });
    const roomsRows = await d1(`SELECT room_id, status, round, is_active FROM breakout_rooms WHERE session_id = ? ORDER BY room_id`, s.sessionId);
    expect(roomsRows.map((r) => [r.room_id, r.status, r.round, r.is_active])).toEqual([
      ["r1", "closed", 1, 0],
      ["r2", "closed", 1, 0],
      ["r3", "closed", 1, 0],
      ["r4", "closed", 2, 0],
      ["r5", "closed", 2, 0],
    ]);
    const trans = await d1(
      `SELECT member_id, from_location, to_location, actor, reason FROM breakout_room_transitions WHERE session_id = ? AND member_id = ? ORDER BY seq`,
      s.sessionId,
      p1.memberId,
    );
    expect(trans.map((t) => [t.from_location, t.to_location, t.reason])).toEqual([
      [null, "main", "memberJoined"],
      ["main", expect.stringMatching(/^r[123]$/), "openBreakouts"],
      [expect.stringMatching(/^r[123]$/), target, "move"],
      [target, "main", "closeAll"],
      ["main", "r4", "openBreakouts"],
      ["r4", "main", "closeRoom"],
    ]);
    expect(trans[2].actor).toBe(s.memberId);
    const stays = await d1(
      `SELECT location, left_at FROM breakout_room_participants WHERE session_id = ? AND member_id = ? ORDER BY joined_at, id`,
      s.sessionId,
      p1.memberId,
    );
    expect(stays.filter((x) => x.left_at === null).map((x) => x.location)).toEqual(["main"]);
    expect(stays).toHaveLength(6);
    const events = await d1(`SELECT event FROM session_analytics_events WHERE session_id = ?`, s.sessionId);
    expect(events.map((e) => e.event)).toEqual(
      expect.arrayContaining(["session_created", "participant_joined", "breakout_round_opened", "breakout_round_closed", "participant_moved"]),
    );
    const audit = await d1(`SELECT action, result FROM audit_log WHERE session_id = ? AND action = 'move'`, s.sessionId);
    expect(audit).toEqual([{ action: "move", result: "ok" }]);

    fac.close();
    people.forEach((p) => p.c.close());
  });

  it("answers a retried command again without applying it twice", async () => {
    const { s, fac, people } = await sessionWithClients(2);
    const a = await fac.command({ type: "createBreakouts", count: 2, mode: "auto" }, "retry-cmd-0001");
    const b = await fac.command({ type: "createBreakouts", count: 2, mode: "auto" }, "retry-cmd-0001");
    const c = await fac.command({ type: "createBreakouts", count: 2, mode: "auto" }, "retry-cmd-0001");
    expect(a).toMatchObject({ type: "ack", duplicate: false });
    expect(b).toMatchObject({ type: "ack", duplicate: true, seq: a.seq });
    expect(c).toMatchObject({ type: "ack", duplicate: true, seq: a.seq });
    const st = await stubFor(s.sessionId).debugState();
    expect(Object.keys(st.context!.rooms)).toHaveLength(2);
    // Over HTTP the same id is the same command too.
    const h1 = await api(`/api/sessions/${s.sessionId}/commands`, {
      token: s.ticket,
      body: { commandId: "retry-cmd-0002", command: { type: "openBreakouts" } },
    });
    const h2 = await api(`/api/sessions/${s.sessionId}/commands`, {
      token: s.ticket,
      body: { commandId: "retry-cmd-0002", command: { type: "openBreakouts" } },
    });
    expect(h1.json.ack.duplicate).toBe(false);
    expect(h2.json.ack).toEqual({ ...h1.json.ack, duplicate: true });
    fac.close();
    people.forEach((p) => p.c.close());
  });

  it("resumes a reconnecting client from its last seq, or with a snapshot when too far behind", async () => {
    const { s, fac, people } = await sessionWithClients(3);
    const p = people[0];
    const seqBefore = p.c.lastSeq;
    p.c.close();
    await sleep(20);
    await fac.command({ type: "createBreakouts", count: 1, mode: "auto" });
    await fac.command({ type: "openBreakouts" });
    const again = await Client.connect(s.sessionId, p.ticket, "p1-again", seqBefore);
    const pl = await again.next((m) => placementIn(m)?.location === "r1");
    expect(pl.seq).toBeGreaterThan(seqBefore);
    expect(again.messages.some((m) => m.type === "snapshot")).toBe(false);
    // A client claiming a seq from the future gets a snapshot.
    const fresh = await Client.connect(s.sessionId, p.ticket, "p1-fresh", 999999);
    const snap = await fresh.next((m) => m.type === "snapshot");
    expect(snap.view.you.location).toBe("r1");
    await fresh.next((m) => placementIn(m)?.location === "r1");
    fac.close();
    again.close();
    fresh.close();
    people.forEach((x) => x.c.close());
  });

  it("restores the session after the Durable Object is evicted mid-breakout, timers still firing", async () => {
    const { s, fac, people } = await sessionWithClients(4);
    await fac.command({ type: "createBreakouts", count: 2, mode: "auto", durationSeconds: 300 });
    await fac.command({ type: "openBreakouts" });
    const stub = stubFor(s.sessionId);
    const before = await stub.debugState();
    expect(before.phase).toBe("open");
    const endsAt = before.context!.round!.endsAt!;
    await evictDurableObject(stub);
    const after = await stub.debugState();
    expect(after.context).toEqual(before.context);
    expect(after.phase).toBe("open");
    expect(after.seq).toBe(before.seq);
    expect(after.alarm).toBe(before.alarm);
    // Sockets survived (hibernated) and still work after the rebuild.
    expect((await fac.command({ type: "broadcast", text: "Two minutes left" })).type).toBe("ack");
    for (const p of people) await p.c.next((m) => m.type === "notice" && m.notice.kind === "broadcast");

    // The warning fires from the alarm restored from storage, 60 s before the end.
    // The alarm may already have fired by itself (it is due at once after the clock jump): run it if still pending.
    await stub.advanceClock(241_000);
    await runDurableObjectAlarm(stub);
    for (const p of people) await p.c.next((m) => m.type === "notice" && m.notice.kind === "roundWarning" && m.notice.endsAt === endsAt);
    await evictDurableObject(stub);
    // At the end the closing countdown starts (60 s default), then everyone returns to main.
    await stub.advanceClock(60_000);
    await runDurableObjectAlarm(stub);
    for (const p of people) await p.c.next((m) => m.type === "notice" && m.notice.kind === "closingCountdown");
    expect((await stub.debugState()).phase).toBe("closing");
    await evictDurableObject(stub);
    await stub.advanceClock(60_000);
    await runDurableObjectAlarm(stub);
    for (const p of people) await p.c.next((m) => placementIn(m)?.location === "main" && m.placement.reason === "round-ended");
    const end = await stub.debugState();
    expect(end.phase).toBe("main");
    // Each member's transitions are recorded exactly once across the evictions.
    await flush(s.sessionId);
    const rows = await d1(`SELECT member_id, COUNT(*) AS n FROM breakout_room_transitions WHERE session_id = ? GROUP BY member_id`, s.sessionId);
    for (const p of people) expect(rows.find((r) => r.member_id === p.memberId)?.n).toBe(3); // join→main, main→room, room→main
    fac.close();
    people.forEach((p) => p.c.close());
  });
});
