/**
 * The session store on Node's SQLite (the DO's SQL, no workerd): state round trips with only changed entries
 * rewritten, the frame log replays exactly what was appended, command answers are remembered, grants are kept, and a
 * head written by the previous layout still loads.
 */
import { describe, expect, it } from "vitest";
import { persistSnapshot, STORED_PARTS } from "../../durable-objects/logic/engine";
import { SessionStore } from "../../durable-objects/store";
import { memoryStorage } from "./helpers/do-fakes";
import { createSession } from "./helpers/session-fixture";

describe("SessionStore", () => {
  it("stores a step and loads it back as the same snapshot, seq and event count", () => {
    const storage = memoryStorage();
    const store = new SessionStore(storage);
    expect(store.load()).toBeNull();
    const s = createSession({ participants: 4 });
    const prev = s.ctx;
    const r = s.ok("createBreakouts", { count: 2 });
    store.transaction(() => store.saveState(s.engine.snapshot, { ...prev, members: {}, rooms: {}, media: {} }, 17, 9));
    const loaded = new SessionStore(storage).load()!;
    expect(loaded.seq).toBe(17);
    expect(loaded.eventNo).toBe(9);
    expect(loaded.snapshot.context).toEqual(r.next);
    expect(loaded.snapshot.value).toEqual(s.engine.snapshot.value);
  });

  it("rewrites only the members and rooms a step changed", () => {
    const storage = memoryStorage();
    const store = new SessionStore(storage);
    const s = createSession({ participants: 6 });
    s.ok("createBreakouts", { count: 2 });
    s.ok("openBreakouts");
    store.transaction(() => store.saveState(s.engine.snapshot, { ...s.ctx, members: {}, rooms: {}, media: {} }, 1, 1));
    const before = s.ctx;
    const mover = s.participants[0];
    const to = Object.keys(s.ctx.rooms).find((id) => id !== s.ctx.members[mover].location)!;
    s.ok("move", { memberId: mover, to });
    storage.writes.length = 0;
    store.transaction(() => store.saveState(s.engine.snapshot, before, 2, 2));
    const partWrites = storage.writes.filter((w) => w.startsWith("INSERT INTO state_parts"));
    // The mover, and the two rooms whose emptiness may have been re-checked (only those that changed).
    const changedRooms = Object.keys(s.ctx.rooms).filter((id) => s.ctx.rooms[id] !== before.rooms[id]).length;
    expect(partWrites).toHaveLength(1 + changedRooms);
    expect(new SessionStore(storage).load()!.snapshot.context).toEqual(s.ctx);
  });

  it("replays the frame log exactly: every frame after a seq, in order, with its audience", () => {
    const store = new SessionStore(memoryStorage());
    const frames = Array.from({ length: 7 }, (_, i) => ({ seq: i + 1, audience: i % 2 ? ["staff"] : ["*", `m:m${i}`], text: `{"n":${i + 1}}` }));
    store.transaction(() => {
      store.appendFrames(frames.slice(0, 3));
      store.appendFrames(frames.slice(3, 4));
      store.appendFrames(frames.slice(4));
    });
    expect(store.oldestSeq()).toBe(1);
    expect([...store.framesAfter(0)]).toEqual(frames);
    expect([...store.framesAfter(2)]).toEqual(frames.slice(2));
    expect([...store.framesAfter(7)]).toEqual([]);
    store.prune(3, 10);
    expect(store.oldestSeq()).toBe(4);
    expect([...store.framesAfter(3)]).toEqual(frames.slice(3));
  });

  it("remembers command answers across instances and forgets the oldest beyond the limit", () => {
    const storage = memoryStorage();
    const store = new SessionStore(storage);
    store.transaction(() => {
      for (let i = 0; i < 5; i++) store.rememberCommand(`m2:c${i}`, { ok: true, seq: i }, 1000 + i);
    });
    expect(new SessionStore(storage).recallCommand(`m2:c3`)).toEqual({ ok: true, seq: 3 });
    expect(store.recallCommand(`m3:c3`)).toBeNull();
    store.prune(0, 2);
    expect(store.recallCommand(`m2:c0`)).toBeNull();
    expect(store.recallCommand(`m2:c4`)).toEqual({ ok: true, seq: 4 });
  });

  it("keeps held grants, and drops one set to null", () => {
    const store = new SessionStore(memoryStorage());
    const g = { provider: "twilio" as const, room: "mb-s-main", identity: "m2", token: "jwt", expiresAt: 5 };
    store.transaction(() =>
      store.writeGrants(
        new Map([
          ["m2", g],
          ["m3", { ...g, identity: "m3" }],
        ]),
      ),
    );
    store.transaction(() => store.writeGrants(new Map([["m3", null]])));
    expect(Object.fromEntries(store.loadGrants())).toEqual({ m2: g });
  });

  it("a write that fails inside the transaction leaves storage as it was", () => {
    const storage = memoryStorage();
    const store = new SessionStore(storage);
    const s = createSession({ participants: 2 });
    store.transaction(() => store.saveState(s.engine.snapshot, { ...s.ctx, members: {}, rooms: {}, media: {} }, 3, 1));
    const before = new SessionStore(storage).load();
    const prev = s.ctx;
    s.ok("createBreakouts", { count: 1 });
    expect(() =>
      store.transaction(() => {
        store.saveState(s.engine.snapshot, prev, 9, 2);
        store.appendFrames([{ seq: 4, audience: ["*"], text: "{}" }]);
        throw new Error("disk full");
      }),
    ).toThrow("disk full");
    expect(new SessionStore(storage).load()).toEqual(before);
    expect(store.oldestSeq()).toBeNull();
  });

  it("a frame log written by the previous layout (one JSON array per event) replays the same after the upgrade", () => {
    const storage = memoryStorage();
    storage.db.exec(`CREATE TABLE frames (first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, frames TEXT NOT NULL)`);
    const texts = [`{"type":"patch","seq":5,"note":"a\\nb \\"quoted\\""}`, `{"type":"view","seq":6}`, `{"type":"ack","seq":7}`];
    storage.db.prepare(`INSERT INTO frames VALUES (?, ?, ?)`).run(
      5,
      6,
      JSON.stringify([
        ["staff", texts[0]],
        ["m:m1 staff", texts[1]],
      ]),
    );
    storage.db.prepare(`INSERT INTO frames VALUES (?, ?, ?)`).run(7, 7, JSON.stringify([["*", texts[2]]]));
    const store = new SessionStore(storage);
    expect([...store.framesAfter(4)]).toEqual([
      { seq: 5, audience: ["staff"], text: texts[0] },
      { seq: 6, audience: ["m:m1", "staff"], text: texts[1] },
      { seq: 7, audience: ["*"], text: texts[2] },
    ]);
    expect(storage.db.prepare(`SELECT name FROM sqlite_master WHERE name = 'frames'`).all()).toEqual([]);
    expect(store.oldestSeq()).toBe(5);
  });

  it("keeps Twilio callback ordering marks one row per scope, forgets an ended room's, and splits the old single row", () => {
    const storage = memoryStorage();
    const old = new SessionStore(storage);
    old.kvSet("callbacks", JSON.stringify({ RM1: { at: 1, keys: ["a"] }, "RM1/PA1": { at: 2, keys: ["b"] }, RM2: { at: 3, keys: ["c"] } }));
    const store = new SessionStore(storage);
    expect(store.kvGet("callbacks")).toBeNull();
    expect(store.callbackMarks(["RM1/PA1", "RM1", undefined, "RM9"])).toEqual({ "RM1/PA1": { at: 2, keys: ["b"] }, RM1: { at: 1, keys: ["a"] } });
    store.saveCallbackMark("RM1/PA1/MT1", { at: 4, keys: ["d"] });
    store.forgetCallbackRoom("RM1");
    expect(store.callbackMarks(["RM1", "RM1/PA1", "RM1/PA1/MT1", "RM2"])).toEqual({ RM2: { at: 3, keys: ["c"] } });
  });

  it("loads a head written by the previous layout (inline context, seq and eventNo in their own rows)", () => {
    const storage = memoryStorage();
    const store = new SessionStore(storage);
    const s = createSession({ participants: 3 });
    const persisted = persistSnapshot(s.engine.snapshot);
    store.kvSet("snapshot", JSON.stringify({ status: "active", ...persisted, historyValue: {}, children: {} }));
    store.kvSet("seq", "41");
    store.kvSet("eventNo", "12");
    const loaded = new SessionStore(storage).load()!;
    expect(loaded).toMatchObject({ seq: 41, eventNo: 12 });
    expect(loaded.snapshot.context).toEqual(s.ctx);
    expect(STORED_PARTS.every((p) => Object.keys(loaded.snapshot.context[p]).length === Object.keys(s.ctx[p]).length)).toBe(true);
  });
});
