/**
 * The transactional outbox to D1. An event's rows are written to the session's own storage in the event's transaction
 * (`enqueue`), then flushed to D1 in batches shortly after: frames reach the sockets first, and the events of a busy
 * moment share one batch. A failed batch is retried with backoff (the alarm wakes it); a row D1 refuses for a
 * constraint can never succeed, so it is found one by one and set aside (kept, logged), and the rest written. Every
 * statement is idempotent (records.ts), so a batch whose response was lost is simply written again.
 */
import type { Statement } from "./logic/records";
import { backoffMs } from "../lib/runtime/backoff";
import type { StorageLike } from "./store";

/** Outbox rows (events) per D1 batch; an openBreakouts of 49 is ~250 statements in one row. */
const OUTBOX_BATCH = 20;
const OUTBOX_MAX_BACKOFF_MS = 30_000;
/** Rows wait this long for the next D1 batch. */
const OUTBOX_FLUSH_DELAY_MS = 20;
/** A pending outbox is re-checked by the alarm at the next multiple of this (1–6 s after it filled). */
const OUTBOX_CHECK_GRID_MS = 5_000;

export interface D1Like {
  prepare(sql: string): { bind(...values: unknown[]): unknown; run?: () => Promise<unknown> };
  batch(statements: never[]): Promise<unknown>;
}

export interface OutboxHost {
  now(): number;
  waitUntil(p: Promise<unknown>): void;
  log(level: "warn" | "error", msg: string, fields: Record<string, unknown>): void;
  /** The outbox's due time changed (a backoff began): the alarm should be set again. */
  rescheduled(): Promise<void>;
}

export class Outbox {
  private flushing: Promise<void> | null = null;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private retryAt: number | null = null;
  /** A pending outbox is checked at this time, kept stable so the alarm is not rewritten on every event. */
  private checkAt: number | null = null;

  constructor(
    private readonly storage: StorageLike,
    private readonly db: () => D1Like,
    private readonly host: OutboxHost,
  ) {
    storage.sql.exec(`CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, stmt TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox_dead (id INTEGER PRIMARY KEY AUTOINCREMENT, stmt TEXT NOT NULL, error TEXT NOT NULL, at INTEGER NOT NULL);`);
  }

  /** One row per event (a JSON array of its statements). Call inside the event's storage transaction. */
  enqueue(statements: readonly Statement[]) {
    if (statements.length) this.storage.sql.exec(`INSERT INTO outbox (stmt) VALUES (?)`, JSON.stringify(statements.length === 1 ? statements[0] : statements));
  }

  /** Flush soon, not now (the rows are already durable here). */
  scheduleFlush() {
    if (this.retryAt !== null && this.host.now() < this.retryAt) return; // backing off; the alarm retries
    if (this.flushTimer !== null || this.flushing) return; // a flush is due or running; its loop takes new rows too
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.host.waitUntil(this.flush());
    }, OUTBOX_FLUSH_DELAY_MS);
  }

  /** Flush everything pending; concurrent callers share one flush loop. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const run = this.drain();
    // Cleared after assignment: the loop may finish synchronously when the outbox is empty.
    const tracked = run.finally(() => {
      if (this.flushing !== tracked) return;
      this.flushing = null;
      // Rows enqueued while the loop was finishing would otherwise wait for the alarm.
      if (this.retryAt === null && this.pending()) this.scheduleFlush();
    });
    this.flushing = tracked;
    return tracked;
  }

  private async drain() {
    for (;;) {
      const rows = this.storage.sql.exec<{ id: number; stmt: string }>(`SELECT id, stmt FROM outbox ORDER BY id LIMIT ?`, OUTBOX_BATCH).toArray();
      if (!rows.length) return;
      try {
        const db = this.db();
        const stmts = rows.flatMap((r) => rowStatements(r.stmt).map((s) => db.prepare(s.sql).bind(...s.params)));
        try {
          await db.batch(stmts as never[]);
        } catch (err) {
          // A constraint violation can never succeed on retry; anything else (D1 down, a time-out) retries whole.
          if (!/constraint/i.test(String(err))) throw err;
          await this.writeOneByOne(rows);
        }
      } catch (err) {
        this.failures++;
        this.retryAt = this.host.now() + backoffMs(this.failures, { baseMs: 250, maxMs: OUTBOX_MAX_BACKOFF_MS });
        this.host.log("warn", "d1 outbox flush failed", { pending: rows.length, attempt: this.failures, error: err });
        await this.host.rescheduled();
        return;
      }
      this.storage.sql.exec(`DELETE FROM outbox WHERE id <= ?`, rows[rows.length - 1].id);
      this.failures = 0;
      this.retryAt = null;
      this.checkAt = null;
    }
  }

  private async writeOneByOne(rows: { id: number; stmt: string }[]) {
    const db = this.db();
    for (const r of rows)
      for (const st of rowStatements(r.stmt)) {
        try {
          await (db.prepare(st.sql).bind(...st.params) as { run(): Promise<unknown> }).run();
        } catch (err) {
          if (!/constraint/i.test(String(err))) throw err;
          this.storage.sql.exec(`INSERT INTO outbox_dead (stmt, error, at) VALUES (?, ?, ?)`, JSON.stringify(st), String(err).slice(0, 500), this.host.now());
          this.host.log("error", "d1 row refused permanently; set aside", { error: err });
        }
      }
  }

  size(): number {
    return this.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM outbox`).toArray()[0].n;
  }

  deadLetters(): number {
    return this.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM outbox_dead`).toArray()[0].n;
  }

  pending(): boolean {
    return this.storage.sql.exec<{ n: number }>(`SELECT EXISTS (SELECT 1 FROM outbox) AS n`).toArray()[0].n === 1;
  }

  /** When the alarm should look at the outbox: the retry time while backing off, else a grid time while rows wait. */
  dueAt(): number | null {
    if (this.retryAt !== null) return this.retryAt;
    if (!this.pending()) return null;
    // On a grid: a busy session empties and refills the outbox on every event, and a time derived from "now" would
    // rewrite the alarm (a storage write) each time.
    this.checkAt ??= Math.ceil((this.host.now() + 1000) / OUTBOX_CHECK_GRID_MS) * OUTBOX_CHECK_GRID_MS;
    return this.checkAt;
  }

  /** The alarm fired: retry after a backoff, or flush what the grid check found waiting. */
  async onAlarm() {
    this.checkAt = null;
    if (this.retryAt !== null) {
      if (this.host.now() < this.retryAt) return;
      this.retryAt = null;
    }
    if (this.pending()) await this.flush();
  }
}

/** An outbox row holds one statement (older rows, single-statement events) or an event's array of them. */
function rowStatements(stmt: string): Statement[] {
  const parsed = JSON.parse(stmt) as Statement | Statement[];
  return Array.isArray(parsed) ? parsed : [parsed];
}
