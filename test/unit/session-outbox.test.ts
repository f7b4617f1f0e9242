/**
 * The D1 outbox on Node's SQLite (session storage) and a second SQLite standing in for D1: rows enqueued in a
 * transaction reach D1 once, a failed batch backs off and is retried whole, a row D1 refuses for a constraint is set
 * aside while the rest are written, and the alarm time follows the outbox.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Outbox } from "../../durable-objects/outbox";
import { memoryD1, memoryStorage } from "./helpers/do-fakes";

const SCHEMA = `CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER NOT NULL);`;
const row = (id: string, v: number) => ({ sql: `INSERT OR IGNORE INTO t (id, v) VALUES (?, ?)`, params: [id, v] });

function setup() {
  const storage = memoryStorage();
  const d1 = memoryD1(SCHEMA);
  let now = 1_000_000;
  const logs: string[] = [];
  const rescheduled = vi.fn(async () => {});
  const pending: Promise<unknown>[] = [];
  const outbox = new Outbox(storage, () => d1, {
    now: () => now,
    waitUntil: (p) => void pending.push(p),
    log: (_level, msg) => void logs.push(msg),
    rescheduled,
  });
  return { storage, d1, outbox, logs, rescheduled, pending, advance: (ms: number) => (now += ms), now: () => now };
}

describe("Outbox", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("writes an event's rows to D1 shortly after the event, once, and then holds nothing", async () => {
    const { storage, d1, outbox, pending } = setup();
    storage.transactionSync(() => outbox.enqueue([row("a", 1), row("b", 2)]));
    storage.transactionSync(() => outbox.enqueue([row("c", 3)]));
    outbox.scheduleFlush();
    outbox.scheduleFlush();
    expect(d1.rows("SELECT * FROM t")).toEqual([]);
    await vi.advanceTimersByTimeAsync(25);
    await Promise.all(pending);
    expect(d1.rows("SELECT id, v FROM t ORDER BY id")).toEqual([
      { id: "a", v: 1 },
      { id: "b", v: 2 },
      { id: "c", v: 3 },
    ]);
    // Both events went in one batch (the flush waited for the busy moment), and nothing is left.
    expect(d1.state.batches).toBe(1);
    expect(outbox.size()).toBe(0);
    expect(outbox.dueAt()).toBeNull();
  });

  it("rows enqueued in a transaction that fails are never written", async () => {
    const { storage, d1, outbox } = setup();
    expect(() =>
      storage.transactionSync(() => {
        outbox.enqueue([row("x", 1)]);
        throw new Error("storage refused");
      }),
    ).toThrow();
    await outbox.flush();
    expect(d1.rows("SELECT * FROM t")).toEqual([]);
  });

  it("while D1 is down it backs off (the alarm retries), then writes every row exactly once", async () => {
    const { storage, d1, outbox, rescheduled, advance, now } = setup();
    d1.state.down = true;
    storage.transactionSync(() => outbox.enqueue([row("a", 1)]));
    await outbox.flush();
    expect(rescheduled).toHaveBeenCalledTimes(1);
    const retryAt = outbox.dueAt()!;
    expect(retryAt).toBeGreaterThan(now());
    // New events during the backoff do not hammer D1.
    storage.transactionSync(() => outbox.enqueue([row("b", 2)]));
    outbox.scheduleFlush();
    await vi.advanceTimersByTimeAsync(25);
    expect(d1.state.batches).toBe(1);
    // An alarm before the retry time leaves it alone; at the retry time it writes everything.
    await outbox.onAlarm();
    expect(d1.state.batches).toBe(1);
    d1.state.down = false;
    advance(retryAt - now());
    await outbox.onAlarm();
    expect(d1.rows("SELECT id FROM t ORDER BY id")).toEqual([{ id: "a" }, { id: "b" }]);
    expect(outbox.size()).toBe(0);
    // Written again after a lost response: idempotent rows change nothing.
    storage.transactionSync(() => outbox.enqueue([row("a", 1)]));
    await outbox.flush();
    expect(d1.rows("SELECT COUNT(*) AS n FROM t")).toEqual([{ n: 2 }]);
  });

  it("a row D1 refuses for a constraint is set aside; the rest of the batch is written", async () => {
    const { storage, d1, outbox, logs } = setup();
    storage.transactionSync(() => outbox.enqueue([row("a", 1), { sql: `INSERT INTO t (id, v) VALUES (?, ?)`, params: ["bad", null] }, row("c", 3)]));
    await outbox.flush();
    expect(d1.rows("SELECT id FROM t ORDER BY id")).toEqual([{ id: "a" }, { id: "c" }]);
    expect(outbox.deadLetters()).toBe(1);
    expect(outbox.size()).toBe(0);
    expect(logs).toContain("d1 row refused permanently; set aside");
  });

  it("asks the alarm for a grid time while rows wait, and keeps it stable across events", () => {
    const { storage, outbox, advance } = setup();
    expect(outbox.dueAt()).toBeNull();
    storage.transactionSync(() => outbox.enqueue([row("a", 1)]));
    const first = outbox.dueAt()!;
    expect(first % 5000).toBe(0);
    advance(700);
    storage.transactionSync(() => outbox.enqueue([row("b", 1)]));
    expect(outbox.dueAt()).toBe(first);
  });
});
