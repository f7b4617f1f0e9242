/**
 * The session engine: one event in, the next state out. Pure functions over XState's pure `transition` (no live
 * actor): a command's rules are checked once, here, then the machine takes it; notices are the machine's emitted
 * events. Nothing here stores, sends or reads a clock.
 */
import { type ActorLogic, type AnyActorLogic, type AnyActorScope, createActor, initialTransition } from "xstate";
import type { Notice, SessionPhase } from "../../lib/protocol";
import { type EmittedNotice, phaseOf, type SessionSnapshot, sessionMachine } from "./machine";
import { contextPhase, isCommandEvent, normalizeContext, type SessionContext, type SessionEvent, type SessionInput } from "./model";
import { planCommands, upcomingStep } from "./plan";
import { checkCommand, type Refusal } from "./rules";

/** Parts of the context kept as one stored row per entry (a move rewrites one member of fifty, not all). */
export type StoredPart = "members" | "rooms" | "media" | "chat";
export const STORED_PARTS: readonly StoredPart[] = ["members", "rooms", "media", "chat"];

export type StepResult =
  | { ok: true; snapshot: SessionSnapshot; prev: SessionContext; next: SessionContext; prevPhase: SessionPhase; phase: SessionPhase; notices: Notice[] }
  | { ok: false; error: Refusal };

/** A new session's first state. */
export function createSession(input: SessionInput): SessionSnapshot {
  return initialTransition(sessionMachine, input)[0];
}

/**
 * XState's `transition(machine, snapshot, event)`, with its inert actor scope built once instead of per call: xstate
 * builds a throwaway actor for every call, and that actor computes the machine's whole initial state (≈ a third of a
 * move's CPU in the profile). The machine spawns no children, so one scope serves every call; only the action
 * collector is per call.
 */
let inertScope: AnyActorScope | null = null;
function pureTransition(snapshot: SessionSnapshot, event: SessionEvent): [SessionSnapshot, readonly { type: string; params?: unknown }[]] {
  if (!inertScope) {
    const self = createActor(sessionMachine as AnyActorLogic); // as xstate does: no input, never started
    inertScope = {
      self,
      defer: () => {},
      id: "",
      logger: () => {},
      sessionId: "",
      stopChild: () => {},
      system: self.system,
      emit: () => {},
      actionExecutor: () => {},
    };
  }
  const actions: { type: string; params?: unknown }[] = [];
  const scope: AnyActorScope = { ...inertScope, actionExecutor: (action) => actions.push(action) };
  return [sessionMachine.transition(snapshot, event, scope), actions];
}

/**
 * Apply one event. A command is checked against the rules once (role, membership, phase, data); a refused one changes
 * nothing and says why. The machine then takes the event; its emitted notices come back as the step's notices.
 */
export function step(snapshot: SessionSnapshot, event: SessionEvent): StepResult {
  const prevPhase = phaseOf(snapshot);
  if (isCommandEvent(event)) {
    const refusal = checkCommand(snapshot.context, prevPhase, event);
    if (refusal) return { ok: false, error: refusal };
    if (event.type === "nextStep") return planStep(snapshot, event, prevPhase);
  }
  return machineStep(snapshot, event, prevPhase);
}

/** The machine takes one (already checked) event. */
function machineStep(snapshot: SessionSnapshot, event: SessionEvent, prevPhase: SessionPhase): StepResult {
  const [next, actions] = pureTransition(snapshot, event);
  const phase = phaseOf(next);
  if (phase !== contextPhase(next.context)) throw new Error(`engine: state ${phase} disagrees with context ${contextPhase(next.context)}`);
  const notices: Notice[] = [];
  for (const a of actions) if (a.type === "xstate.emit") notices.push((a.params as { event: EmittedNotice }).event.notice);
  return { ok: true, snapshot: next, prev: snapshot.context, next: next.context, prevPhase, phase, notices };
}

/**
 * "nextStep": the breakout commands the plan's next step stands for (logic/plan.ts), each checked and run as if sent
 * by the same person, then the machine advances the plan. One step for storage and clients: all or nothing, and a
 * refusal names the plan step that could not run.
 */
function planStep(snapshot: SessionSnapshot, event: Extract<SessionEvent, { type: "nextStep" }>, prevPhase: SessionPhase): StepResult {
  const upcoming = upcomingStep(snapshot.context);
  let current = snapshot;
  const notices: Notice[] = [];
  for (const command of planCommands(snapshot.context, prevPhase, event)) {
    const r = step(current, command);
    if (!r.ok) {
      const where = "code" in upcoming ? "" : `step ${upcoming.index + 1} (${upcoming.step.title}): `;
      return { ok: false, error: { code: r.error.code, message: `${where}${r.error.message}` } };
    }
    current = r.snapshot;
    notices.push(...r.notices);
  }
  const last = machineStep(current, event, phaseOf(current));
  if (!last.ok) return last;
  return { ...last, prev: snapshot.context, prevPhase, notices: [...notices, ...last.notices] };
}

/** What storage keeps of a snapshot: the state value and the context (with `without` parts emptied; stored apart). */
export interface PersistedSession {
  value: SessionSnapshot["value"];
  context: SessionContext;
}

export function persistSnapshot(snapshot: SessionSnapshot, without: readonly StoredPart[] = []): PersistedSession {
  const context = { ...snapshot.context };
  for (const part of without) context[part] = {};
  return { value: snapshot.value, context };
}

/** Rebuild a snapshot from what persistSnapshot() wrote, with the stored parts put back. */
export function restoreSnapshot(persisted: PersistedSession, parts: Partial<Pick<SessionContext, StoredPart>> = {}): SessionSnapshot {
  return sessionMachine.resolveState({ value: persisted.value, context: normalizeContext({ ...persisted.context, ...parts }) });
}

/**
 * The engine as actor logic (rules + machine), for tools that traverse logic, such as @xstate/graph's model-based
 * paths: a refused command leaves the snapshot as it was, like the engine does.
 */
export const sessionLogic: ActorLogic<SessionSnapshot, SessionEvent, SessionInput> = Object.create(sessionMachine, {
  transition: {
    value: (snapshot: SessionSnapshot, event: SessionEvent) => {
      const r = step(snapshot, event);
      return r.ok ? r.snapshot : snapshot;
    },
  },
});

/**
 * A session held in memory, for tests and tools: the current snapshot and `dispatch`, which steps it. The Durable
 * Object does not use this: it installs a step's snapshot only after the step is stored.
 */
export class SessionEngine {
  snapshot: SessionSnapshot;

  constructor(snapshot: SessionSnapshot) {
    this.snapshot = snapshot;
  }

  static create(input: SessionInput): SessionEngine {
    return new SessionEngine(createSession(input));
  }

  get context(): SessionContext {
    return this.snapshot.context;
  }
  get phase(): SessionPhase {
    return phaseOf(this.snapshot);
  }

  /** What storage would keep, and the engine rebuilt from it: a round trip tests use to check persistence. */
  persisted(): PersistedSession {
    return JSON.parse(JSON.stringify(persistSnapshot(this.snapshot)));
  }
  static restore(persisted: PersistedSession): SessionEngine {
    return new SessionEngine(restoreSnapshot(persisted));
  }

  dispatch(event: SessionEvent): StepResult {
    const r = step(this.snapshot, event);
    if (r.ok) this.snapshot = r.snapshot;
    return r;
  }
}
