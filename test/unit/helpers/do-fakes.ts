/**
 * Stand-ins for the Durable Object runtime, for testing the session's collaborators on Node: storage on Node's own
 * SQLite (the same SQL the DO runs), a D1 database on another SQLite, and hibernatable WebSockets with attachments.
 */
import { DatabaseSync } from "node:sqlite";
import type { StorageLike } from "../../../durable-objects/store";
import type { SocketHost } from "../../../durable-objects/sockets";
import type { D1Like } from "../../../durable-objects/outbox";

type Row = Record<string, string | number | null>;

function cursor<T>(rows: T[]): Iterable<T> & { toArray(): T[] } {
  return { toArray: () => rows, [Symbol.iterator]: () => rows[Symbol.iterator]() };
}

/** The DO's storage API over an in-memory SQLite, with a count of statements that wrote. */
export function memoryStorage(): StorageLike & { db: DatabaseSync; writes: string[] } {
  const db = new DatabaseSync(":memory:");
  const writes: string[] = [];
  let depth = 0;
  return {
    db,
    writes,
    sql: {
      exec<T>(query: string, ...bindings: unknown[]) {
        const q = query.trim();
        if (!/^(SELECT|WITH)\b/i.test(q)) writes.push(q.split(/\s+/).slice(0, 3).join(" "));
        // Several statements in one call (migrations): SQLite's exec runs them all.
        if (bindings.length === 0 && /;\s*\S/.test(q)) {
          db.exec(q);
          return cursor<T>([]);
        }
        return cursor<T>(db.prepare(q).all(...(bindings as never[])) as T[]);
      },
    },
    transactionSync<T>(fn: () => T): T {
      if (depth > 0) return fn();
      depth++;
      db.exec("BEGIN");
      try {
        const r = fn();
        db.exec("COMMIT");
        return r;
      } catch (e) {
        db.exec("ROLLBACK");
        throw e;
      } finally {
        depth--;
      }
    },
  };
}

/** A D1 database as the outbox uses it (prepare/bind/run, batch in one transaction), with switchable failures. */
export function memoryD1(schema: string) {
  const db = new DatabaseSync(":memory:");
  db.exec(schema);
  const state = { down: false, batches: 0 };
  const d1: D1Like & { db: DatabaseSync; state: typeof state; rows(sql: string): Row[] } = {
    db,
    state,
    rows: (sql) => db.prepare(sql).all() as Row[],
    prepare(sql: string) {
      return {
        bind: (...values: unknown[]) => ({
          sql,
          values,
          run: async () => {
            if (state.down) throw new Error("D1_ERROR: network connection lost");
            try {
              db.prepare(sql).run(...(values as never[]));
            } catch (e) {
              throw new Error(`D1_ERROR: ${(e as Error).message}`);
            }
          },
        }),
      };
    },
    async batch(stmts: never[]) {
      state.batches++;
      if (state.down) throw new Error("D1_ERROR: network connection lost");
      db.exec("BEGIN");
      try {
        for (const s of stmts as { sql: string; values: unknown[] }[]) db.prepare(s.sql).run(...(s.values as never[]));
        db.exec("COMMIT");
      } catch (e) {
        db.exec("ROLLBACK");
        throw new Error(`D1_ERROR: ${(e as Error).message}`);
      }
    },
  };
  return d1;
}

/** A hibernatable server-side WebSocket: what it was sent, how it was closed, its attachment. */
export class FakeSocket {
  static readonly OPEN = 1;
  readyState = 1;
  readonly sent: string[] = [];
  closed: { code: number; reason: string } | null = null;
  private attachment: unknown = null;
  constructor(readonly tags: string[] = []) {}
  send(text: string) {
    if (this.readyState !== 1) throw new Error("socket closed");
    this.sent.push(text);
  }
  close(code: number, reason: string) {
    this.closed = { code, reason };
    this.readyState = 3;
  }
  serializeAttachment(v: unknown) {
    this.attachment = structuredClone(v);
  }
  deserializeAttachment() {
    return structuredClone(this.attachment);
  }
  frames(): Record<string, unknown>[] {
    return this.sent.map((t) => JSON.parse(t));
  }
}

/** The DO state's socket list, as the runtime keeps it across hibernation (the sockets outlive any one hub). */
export class FakeSocketHost implements SocketHost {
  readonly sockets: FakeSocket[] = [];
  acceptWebSocket(ws: WebSocket, tags: string[] = []) {
    (ws as unknown as FakeSocket).tags.push(...tags);
    this.sockets.push(ws as unknown as FakeSocket);
  }
  getWebSockets(tag?: string): WebSocket[] {
    return this.sockets.filter((s) => s.readyState === 1 && (tag === undefined || s.tags.includes(tag))) as unknown as WebSocket[];
  }
  newPair(): [WebSocket, WebSocket] {
    return [new FakeSocket() as unknown as WebSocket, new FakeSocket() as unknown as WebSocket];
  }
}
