/**
 * D1 rows survive replays: the outbox re-sends a batch whose response was lost (it may have been applied), oldest row
 * first, before anything newer; applying those events' statements again must leave every table as it would have been.
 * Runs the real migrations and the real statements on SQLite (node:sqlite).
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { SessionEngine } from "../../durable-objects/logic/engine";
import { SYSTEM, type Actor, type SessionEvent } from "../../durable-objects/logic/model";
import { recordsFor, type Statement } from "../../durable-objects/logic/records";

function database() {
  const db = new DatabaseSync(":memory:");
  const dir = path.join(import.meta.dirname, "..", "..", "migrations");
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort())
    db.exec(readFileSync(path.join(dir, f), "utf8"));
  return db;
}

const run = (db: DatabaseSync, statements: Statement[]) => {
  for (const s of statements) db.prepare(s.sql).run(...(s.params as never[]));
};

describe("D1 records replayed", () => {
  it("re-applying a batch of events after it was applied (same millisecond included) changes no row", () => {
    const now = 5_000_000;
    const engine = SessionEngine.create({
      sessionId: "s1",
      title: "G",
      createdAt: now,
      createdBy: "user:f",
      settings: { autoAdmit: true },
      seed: 3,
      mediaProvider: "local",
    });
    const batches: Statement[][] = [];
    let eventNo = 0;
    const apply = (event: SessionEvent, actor: Actor) => {
      const r = engine.dispatch(event);
      if (!r.ok) throw new Error(`${event.type}: ${r.error.code}`);
      batches.push(
        recordsFor({ eventNo: ++eventNo, event, actor, prev: r.prev, next: r.next, prevPhase: r.prevPhase, phase: r.phase, notices: r.notices }).statements,
      );
    };
    apply({ type: "memberJoined", identity: "user:f", name: "F", role: "facilitator", now } as SessionEvent, SYSTEM);
    const fac: Actor = { memberId: "m1", role: "facilitator" };
    for (let i = 0; i < 4; i++) apply({ type: "memberJoined", identity: `user:p${i}`, name: `P${i}`, role: "participant", now } as SessionEvent, SYSTEM);
    apply({ type: "createBreakouts", count: 2, mode: "auto", actor: fac, now } as SessionEvent, fac);
    apply({ type: "openBreakouts", actor: fac, now } as SessionEvent, fac);
    // The same member moved back and forth within one millisecond, then elsewhere a little later.
    const rooms = Object.keys(engine.context.rooms);
    for (const [i, to] of ["main", rooms[0], rooms[1], "main", rooms[0]].entries())
      apply({ type: "move", memberId: "m2", to, actor: fac, now: now + (i < 3 ? 0 : i) } as SessionEvent, fac);

    const db = database();
    for (const b of batches) run(db, b);
    const tables = ["breakout_room_participants", "breakout_room_transitions", "session_participants", "breakout_rooms", "session_analytics_events"];
    const dump = () => Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all()]));
    const once = dump();
    // m2 has exactly one open stay, in the room it was moved to last.
    expect(db.prepare(`SELECT location FROM breakout_room_participants WHERE member_id = 'm2' AND left_at IS NULL`).all()).toEqual([{ location: rooms[0] }]);

    // The outbox's retry: rows 0..k were applied but not acknowledged, rows f..k are sent again, then the rest.
    for (let k = 1; k <= batches.length; k++) {
      for (let f = 0; f < k; f++) {
        const replayed = database();
        for (const b of batches.slice(0, k)) run(replayed, b);
        for (const b of batches.slice(f, k)) run(replayed, b);
        for (const b of batches.slice(k)) run(replayed, b);
        const got = Object.fromEntries(tables.map((t) => [t, replayed.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all()]));
        expect(got, `applied 0..${k}, replayed ${f}..${k}`).toEqual(once);
      }
    }
  });
});
