/**
 * The session's own storage (the Durable Object's SQLite): schema and migrations, the state (a head row plus one row
 * per member, room and media room, only changed entries rewritten), the frame log that resume replays, remembered
 * command answers (idempotent retries) and the media grants held. Synchronous: every write of one event happens in
 * one `transaction`. Runs on anything with `exec` and `transactionSync`, so it is tested on Node's SQLite too.
 */
import type { MediaGrant } from "../lib/protocol";
import type { CallbackOrderingState, ScopeMark } from "../lib/twilio/callbacks";
import { type PersistedSession, restoreSnapshot, STORED_PARTS, type StoredPart } from "./logic/engine";
import type { SessionSnapshot } from "./logic/machine";
import type { SessionContext } from "./logic/model";

type SqlValue = string | number | null | ArrayBuffer;

export interface SqlLike {
  exec<T extends Record<string, SqlValue>>(query: string, ...bindings: unknown[]): Iterable<T> & { toArray(): T[] };
}

export interface StorageLike {
  sql: SqlLike;
  transactionSync<T>(fn: () => T): T;
}

/** A frame of the session's ordered stream, as sent: its seq, who received it, its text. */
export interface LoggedFrame {
  seq: number;
  audience: string[];
  text: string;
}

/** What the head row holds besides the snapshot: the stream position and the event count. */
interface Head {
  seq: number;
  eventNo: number;
  /** Parts of the context kept as rows of state_parts (older heads carry everything inline). */
  partsInTable?: StoredPart[];
  value: PersistedSession["value"];
  context: SessionContext;
}

export interface LoadedSession {
  snapshot: SessionSnapshot;
  seq: number;
  eventNo: number;
}

export class SessionStore {
  private readonly sql: SqlLike;
  /** Keys of remembered commands, read once per instance; the table stays the durable record. */
  private commandKeys: Set<string> | null = null;
  /** Whether state_parts holds every stored part as of the last stored event (false: an inline snapshot was loaded). */
  private partsStored = true;

  constructor(private readonly storage: StorageLike) {
    this.sql = storage.sql;
    this.migrate();
  }

  transaction<T>(fn: () => T): T {
    return this.storage.transactionSync(fn);
  }

  private migrate() {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS event_frames (first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, audiences TEXT NOT NULL, texts TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS commands (id TEXT PRIMARY KEY, response TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS grants (member TEXT PRIMARY KEY, grant TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS state_parts (part TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (part, id));
      DROP TABLE IF EXISTS seen_callbacks;
      DROP TABLE IF EXISTS log;`);
    // Older objects logged each event's frames as one JSON array of [audience, text] (every text escaped again).
    if (this.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'frames'`).toArray().length)
      this.transaction(() => {
        for (const row of this.sql.exec<{ first_seq: number; frames: string }>(`SELECT first_seq, frames FROM frames ORDER BY first_seq`).toArray()) {
          const list = JSON.parse(row.frames) as [string, string][];
          this.appendFrames(list.map(([audience, text], i) => ({ seq: row.first_seq + i, audience: audience.split(" "), text })));
        }
        this.sql.exec(`DROP TABLE frames`);
      });
    // Older objects kept every callback ordering mark in one row, read and rewritten whole on each callback.
    const legacy = this.kvGet("callbacks");
    if (legacy !== null)
      this.transaction(() => {
        for (const [scope, mark] of Object.entries(JSON.parse(legacy) as CallbackOrderingState)) this.saveCallbackMark(scope, mark);
        this.sql.exec(`DELETE FROM kv WHERE k = 'callbacks'`);
      });
  }

  kvGet(k: string): string | null {
    const row = this.sql.exec<{ v: string }>(`SELECT v FROM kv WHERE k = ?`, k).toArray()[0];
    return row ? row.v : null;
  }

  kvSet(k: string, v: string) {
    this.sql.exec(`INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`, k, v);
  }

  // ----------------------------------------------------------------------------------------------------------
  // Twilio status-callback ordering: one row per scope (a room, a participant, a track), so a callback reads and
  // writes only its own scopes however many participants the session has seen.
  // ----------------------------------------------------------------------------------------------------------

  callbackMarks(scopes: readonly (string | undefined)[]): CallbackOrderingState {
    const state: CallbackOrderingState = {};
    for (const scope of scopes) {
      if (scope === undefined) continue;
      const raw = this.kvGet(`cb:${scope}`);
      if (raw !== null) state[scope] = JSON.parse(raw) as ScopeMark;
    }
    return state;
  }

  saveCallbackMark(scope: string, mark: ScopeMark) {
    this.kvSet(`cb:${scope}`, JSON.stringify(mark));
  }

  /** A room ended: its late events no longer matter. */
  forgetCallbackRoom(roomSid: string) {
    this.sql.exec(`DELETE FROM kv WHERE k = ? OR (k >= ? AND k < ?)`, `cb:${roomSid}`, `cb:${roomSid}/`, `cb:${roomSid}0`);
  }

  // ----------------------------------------------------------------------------------------------------------
  // State
  // ----------------------------------------------------------------------------------------------------------

  /** The stored session, or null when this object holds none yet. */
  load(): LoadedSession | null {
    const raw = this.kvGet("snapshot");
    if (!raw) return null;
    const head = JSON.parse(raw) as Head;
    const partsInTable = head.partsInTable ?? [];
    const parts: Partial<Record<StoredPart, Record<string, unknown>>> = {};
    for (const part of partsInTable) parts[part] = {};
    if (partsInTable.length)
      for (const row of this.sql.exec<{ part: StoredPart; id: string; value: string }>(`SELECT part, id, value FROM state_parts`)) {
        const into = parts[row.part];
        if (into) into[row.id] = JSON.parse(row.value);
      }
    this.partsStored = STORED_PARTS.every((p) => partsInTable.includes(p));
    // Older heads kept seq and eventNo in rows of their own.
    const seq = head.seq ?? Number(this.kvGet("seq") ?? 0);
    const eventNo = head.eventNo ?? Number(this.kvGet("eventNo") ?? 0);
    const snapshot = restoreSnapshot({ value: head.value, context: head.context }, parts as Partial<Pick<SessionContext, StoredPart>>);
    return { snapshot, seq, eventNo };
  }

  /** The state after an event: the head row, and the entries of the stored parts that changed (by reference). */
  saveState(snapshot: SessionSnapshot, prev: SessionContext, seq: number, eventNo: number) {
    const next = snapshot.context;
    const context = { ...next };
    for (const part of STORED_PARTS) context[part] = {};
    const head: Head = { seq, eventNo, partsInTable: [...STORED_PARTS], value: snapshot.value, context };
    this.kvSet("snapshot", JSON.stringify(head));
    for (const part of STORED_PARTS) {
      const before: Record<string, unknown> = prev[part];
      const after: Record<string, unknown> = next[part];
      if (this.partsStored && before === after) continue;
      for (const [id, value] of Object.entries(after)) {
        if (this.partsStored && before[id] === value) continue;
        this.sql.exec(
          `INSERT INTO state_parts (part, id, value) VALUES (?, ?, ?) ON CONFLICT(part, id) DO UPDATE SET value = excluded.value`,
          part,
          id,
          JSON.stringify(value),
        );
      }
      for (const id of Object.keys(before)) if (!(id in after)) this.sql.exec(`DELETE FROM state_parts WHERE part = ? AND id = ?`, part, id);
    }
    this.partsStored = true;
  }

  // ----------------------------------------------------------------------------------------------------------
  // Frame log: one row per event (its frames, in seq order), so an event costs one insert however many it sends. The
  // texts are JSON, which never holds a raw newline: joined by newlines they are stored as they are sent, unescaped.
  // ----------------------------------------------------------------------------------------------------------

  appendFrames(frames: readonly LoggedFrame[]) {
    if (!frames.length) return;
    this.sql.exec(
      `INSERT INTO event_frames (first_seq, last_seq, audiences, texts) VALUES (?, ?, ?, ?)`,
      frames[0].seq,
      frames[frames.length - 1].seq,
      JSON.stringify(frames.map((f) => f.audience.join(" "))),
      frames.map((f) => f.text).join("\n"),
    );
  }

  /** The oldest seq the log still holds, or null when it holds none. */
  oldestSeq(): number | null {
    return this.sql.exec<{ s: number | null }>(`SELECT MIN(first_seq) AS s FROM event_frames`).toArray()[0]?.s ?? null;
  }

  /** Logged frames after `lastSeq`, in order. */
  *framesAfter(lastSeq: number): Generator<LoggedFrame> {
    for (const row of this.sql.exec<{ first_seq: number; audiences: string; texts: string }>(
      `SELECT first_seq, audiences, texts FROM event_frames WHERE last_seq > ? ORDER BY first_seq`,
      lastSeq,
    )) {
      const audiences = JSON.parse(row.audiences) as string[];
      const texts = row.texts.split("\n");
      for (let i = 0; i < texts.length; i++) {
        const seq = row.first_seq + i;
        if (seq > lastSeq) yield { seq, audience: audiences[i].split(" "), text: texts[i] };
      }
    }
  }

  /** Bounded history: frames up to `seq` go (a client further behind gets a snapshot), and old command answers. */
  prune(seq: number, commandsKeep: number) {
    this.sql.exec(`DELETE FROM event_frames WHERE last_seq <= ?`, seq);
    this.sql.exec(`DELETE FROM commands WHERE id IN (SELECT id FROM commands ORDER BY at DESC LIMIT -1 OFFSET ?)`, commandsKeep);
    this.commandKeys = null;
  }

  // ----------------------------------------------------------------------------------------------------------
  // Remembered command answers
  // ----------------------------------------------------------------------------------------------------------

  rememberCommand(key: string, answer: unknown, at: number) {
    this.commandKeys?.add(key);
    this.sql.exec(`INSERT OR REPLACE INTO commands (id, response, at) VALUES (?, ?, ?)`, key, JSON.stringify(answer), at);
  }

  recallCommand<T>(key: string): T | null {
    this.commandKeys ??= new Set(
      this.sql
        .exec<{ id: string }>(`SELECT id FROM commands`)
        .toArray()
        .map((r) => r.id),
    );
    if (!this.commandKeys.has(key)) return null;
    const row = this.sql.exec<{ response: string }>(`SELECT response FROM commands WHERE id = ?`, key).toArray()[0];
    return row ? (JSON.parse(row.response) as T) : null;
  }

  // ----------------------------------------------------------------------------------------------------------
  // Held media grants
  // ----------------------------------------------------------------------------------------------------------

  loadGrants(): Map<string, MediaGrant> {
    const out = new Map<string, MediaGrant>();
    for (const row of this.sql.exec<{ member: string; grant: string }>(`SELECT member, grant FROM grants`)) out.set(row.member, JSON.parse(row.grant));
    return out;
  }

  /** null: the member holds no grant any more. */
  writeGrants(changes: ReadonlyMap<string, MediaGrant | null>) {
    for (const [memberId, grant] of changes) {
      if (grant === null) this.sql.exec(`DELETE FROM grants WHERE member = ?`, memberId);
      else
        this.sql.exec(
          `INSERT INTO grants (member, grant) VALUES (?, ?) ON CONFLICT(member) DO UPDATE SET grant = excluded.grant`,
          memberId,
          JSON.stringify(grant),
        );
    }
  }
}
