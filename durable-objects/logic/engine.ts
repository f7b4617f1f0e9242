/**
 * The session engine: a running XState actor plus the bookkeeping the Durable Object needs around one event
 * (refusal reasons, emitted notices, the context before and after). Still pure: no storage, no sockets.
 */
import { createActor, type Actor as XActor } from "xstate";
import type { Notice, SessionPhase } from "../../lib/protocol";
import { sessionMachine, phaseOf, type EmittedNotice, type SessionSnapshot } from "./machine";
import { contextPhase, isCommandEvent, type SessionContext, type SessionEvent, type SessionInput } from "./model";
import { checkCommand, type Refusal } from "./rules";

/** Parts of the context kept as one stored row per entry. */
export type StoredPart = "members" | "rooms" | "media";
export const STORED_PARTS: readonly StoredPart[] = ["members", "rooms", "media"];

export type DispatchResult =
  | { ok: true; prev: SessionContext; next: SessionContext; prevPhase: SessionPhase; phase: SessionPhase; notices: Notice[] }
  | { ok: false; error: Refusal };

export class SessionEngine {
  private readonly actor: XActor<typeof sessionMachine>;
  private collected: Notice[] = [];

  private constructor(actor: XActor<typeof sessionMachine>) {
    this.actor = actor;
    this.actor.on("notice", (e: EmittedNotice) => this.collected.push(e.notice));
    this.actor.start();
  }

  static create(input: SessionInput): SessionEngine {
    return new SessionEngine(createActor(sessionMachine, { input }));
  }

  /** Rebuild from what persisted() returned (after hibernation, eviction or restart). */
  static restore(persisted: unknown): SessionEngine {
    return new SessionEngine(createActor(sessionMachine, { snapshot: persisted as SessionSnapshot, input: undefined as unknown as SessionInput }));
  }

  get snapshot(): SessionSnapshot {
    return this.actor.getSnapshot();
  }
  get context(): SessionContext {
    return this.snapshot.context;
  }
  get phase(): SessionPhase {
    return phaseOf(this.snapshot);
  }

  persisted(): unknown {
    return this.actor.getPersistedSnapshot();
  }

  /**
   * persisted() with the record-valued parts of the context (members, rooms, media) empty: the Durable Object stores
   * them one row per entry and rewrites only the entries an event changed (a move touches one member of fifty).
   */
  persistedWithout(parts: readonly StoredPart[]): unknown {
    const snap = this.snapshot;
    const context = { ...snap.context };
    for (const part of parts) context[part] = {};
    return sessionMachine.getPersistedSnapshot({ ...snap, context } as SessionSnapshot);
  }

  /** Rebuild from persistedWithout() output and the stored entries of those parts. */
  static restoreWith(persisted: unknown, parts: Partial<Pick<SessionContext, StoredPart>>): SessionEngine {
    const p = persisted as { context: SessionContext };
    return SessionEngine.restore({ ...p, context: { ...p.context, ...parts } });
  }

  /** Apply one event; a refused command changes nothing and says why. */
  dispatch(event: SessionEvent): DispatchResult {
    const before = this.snapshot;
    const prevPhase = phaseOf(before);
    if (isCommandEvent(event)) {
      const refusal = checkCommand(before.context, prevPhase, event);
      if (refusal) return { ok: false, error: refusal };
      if (!before.can(event)) return { ok: false, error: { code: "INVALID_STATE", message: `${event.type} is not possible now` } };
    }
    this.collected = [];
    this.actor.send(event);
    const after = this.snapshot;
    const phase = phaseOf(after);
    if (phase !== contextPhase(after.context)) throw new Error(`engine: state ${phase} disagrees with context ${contextPhase(after.context)}`);
    return { ok: true, prev: before.context, next: after.context, prevPhase, phase, notices: this.collected };
  }
}
