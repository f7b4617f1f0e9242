/**
 * Session plans: a saved, ordered list of steps (lib/protocol.ts PlanStepSchema) that staff run with one "nextStep"
 * each. Pure. The plan and its step index are part of the session context, so they are stored with every step and a
 * running plan survives eviction. "nextStep" adds no breakout behaviour of its own: the engine (engine.ts) turns it
 * into the breakout commands it stands for (closeAll, createBreakouts, openBreakouts), each checked by the rules and
 * run by the machine like the same command sent by hand, then advances the plan (the machine's advancePlan).
 */
import { isStaff, type PlanPublic, type PlanStep, type SessionPhase } from "../../lib/protocol";
import { admittedMembers, type CommandEvent, type SessionContext } from "./model";
import type { Refusal } from "./rules";

type Cmd<T extends CommandEvent["type"]> = Extract<CommandEvent, { type: T }>;

export const planOf = (ctx: SessionContext): PlanPublic | null => ctx.plan ?? null;

export function loadPlan(ctx: SessionContext, e: Cmd<"loadPlan">): SessionContext {
  return { ...ctx, plan: { id: e.plan.id, name: e.plan.name, steps: e.plan.steps, index: -1, stepStartedAt: null } };
}

export function advancePlan(ctx: SessionContext, e: Cmd<"nextStep">): SessionContext {
  const plan = planOf(ctx);
  if (!plan) return ctx;
  return { ...ctx, plan: { ...plan, index: plan.index + 1, stepStartedAt: e.now } };
}

/** The step "nextStep" would run, or why there is none. */
export function upcomingStep(ctx: SessionContext): { step: PlanStep; index: number } | Refusal {
  const plan = planOf(ctx);
  if (!plan) return { code: "INVALID_STATE", message: "this session has no plan; load one first" };
  const index = plan.index + 1;
  if (index >= plan.steps.length) return { code: "INVALID_STATE", message: `the plan "${plan.name}" has no more steps` };
  return { step: plan.steps[index], index };
}

export function checkNextStep(ctx: SessionContext): Refusal | null {
  const next = upcomingStep(ctx);
  return "code" in next ? next : null;
}

/** How many rooms a breakouts step makes for the people to place now. */
export function roomCountFor(step: Extract<PlanStep, { kind: "breakouts" }>, people: number): number {
  if (step.roomCount !== undefined) return step.roomCount;
  // Rooms of roomSize; the people left over join rooms (5 in pairs: a pair and a three), never a room of one.
  return Math.max(1, Math.floor(people / (step.roomSize ?? 2)));
}

/**
 * The breakout commands the next step stands for, with the caller as actor and the same time: the rooms of a round in
 * progress close first (for a "main" step with its countdown; before new rooms, at once).
 */
export function planCommands(ctx: SessionContext, phase: SessionPhase, e: Cmd<"nextStep">): CommandEvent[] {
  const next = upcomingStep(ctx);
  if ("code" in next) return [];
  const { step } = next;
  const base = { actor: e.actor, now: e.now };
  const roundRunning = phase === "preparing" || phase === "open" || phase === "closing";
  if (step.kind === "main") {
    if (!roundRunning) return [];
    // Preparing: closeAll discards the rooms; closing: a second closeAll ends the countdown now.
    const countdown = phase === "open" ? (step.closingCountdownSeconds ?? 0) : 0;
    return [{ ...base, type: "closeAll", countdownSeconds: countdown }];
  }
  const out: CommandEvent[] = roundRunning ? [{ ...base, type: "closeAll", countdownSeconds: 0 }] : [];
  const staff = step.includeStaff && step.mode === "auto" ? admittedMembers(ctx).filter((m) => isStaff(m.role)) : [];
  const participants = admittedMembers(ctx).filter((m) => m.role === "participant");
  const count = roomCountFor(step, participants.length + staff.length);
  out.push({
    ...base,
    type: "createBreakouts",
    count,
    mode: step.mode,
    durationSeconds: step.durationSeconds,
    ...(staff.length ? { includeStaff: staff.map((m) => m.id) } : {}),
  });
  // The facilitator's confirmation of rooms without staff (supervisedRooms) carries over to the step's opening.
  if (step.mode !== "manual") out.push({ ...base, type: "openBreakouts", ...(e.confirmUnsupervised ? { confirmUnsupervised: true } : {}) });
  return out;
}
