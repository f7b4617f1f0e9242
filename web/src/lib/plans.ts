/**
 * Pure helpers for session plans in the web client: a step in words, the running step's progress, and the Plans
 * page's editable step (strings while typed) turned into a PlanStep. No DOM, no Solid: unit-tested on Node.
 */
import type { AssignmentMode, PlanPublic, PlanStep } from "../../../lib/protocol";
import { formatDuration } from "./state";

const MODE_WORDS: Record<AssignmentMode, string> = { auto: "assigned automatically", manual: "assigned by you", choose: "chosen by participants" };

/** "Main room · 10 min" / "Pairs, assigned automatically · 15 min" / "3 rooms, chosen by participants · no time limit". */
export function stepSummary(step: PlanStep): string {
  const time = step.durationSeconds ? `${Math.round(step.durationSeconds / 60)} min` : "no time limit";
  if (step.kind === "main") return `Main room · ${time}`;
  const rooms =
    step.roomCount !== undefined ? `${step.roomCount} room${step.roomCount === 1 ? "" : "s"}` : step.roomSize === 2 ? "Pairs" : `Rooms of ${step.roomSize}`;
  return `${rooms}, ${MODE_WORDS[step.mode]} · ${time}`;
}

/** Where a running plan is: the current step (null before the first), its elapsed time and its duration, and the next one. */
export function planProgress(
  plan: PlanPublic,
  now: number,
): { current: PlanStep | null; index: number; elapsedMs: number; durationMs: number | null; over: boolean; next: PlanStep | null } {
  const current = plan.index >= 0 ? (plan.steps[plan.index] ?? null) : null;
  const elapsedMs = current && plan.stepStartedAt !== null ? Math.max(0, now - plan.stepStartedAt) : 0;
  const durationMs = current?.durationSeconds ? current.durationSeconds * 1000 : null;
  return { current, index: plan.index, elapsedMs, durationMs, over: durationMs !== null && elapsedMs > durationMs, next: plan.steps[plan.index + 1] ?? null };
}

/** "3:12 of 10:00" (or "3:12" for a step without a duration). */
export function elapsedLabel(p: { elapsedMs: number; durationMs: number | null }): string {
  return p.durationMs === null ? formatDuration(p.elapsedMs) : `${formatDuration(p.elapsedMs)} of ${formatDuration(p.durationMs)}`;
}

/** A step as the Plans page edits it (inputs hold strings). */
export interface StepDraft {
  kind: "main" | "breakouts";
  title: string;
  minutes: string;
  mode: AssignmentMode;
  /** Rooms by count or by size. */
  by: "count" | "size";
  rooms: string;
}

export const emptyStep = (kind: StepDraft["kind"] = "main"): StepDraft => ({
  kind,
  title: kind === "main" ? "Together" : "Breakouts",
  minutes: kind === "main" ? "10" : "15",
  mode: "auto",
  by: kind === "main" ? "count" : "size",
  rooms: "2",
});

export function stepToDraft(step: PlanStep): StepDraft {
  const minutes = step.durationSeconds ? String(Math.round(step.durationSeconds / 60)) : "";
  if (step.kind === "main") return { ...emptyStep("main"), title: step.title, minutes };
  return {
    kind: "breakouts",
    title: step.title,
    minutes,
    mode: step.mode,
    by: step.roomCount !== undefined ? "count" : "size",
    rooms: String(step.roomCount ?? step.roomSize ?? 2),
  };
}

/** The step a draft stands for, or a sentence saying what to fix (step numbers count from 1). */
export function draftToStep(d: StepDraft, n: number): PlanStep | string {
  const title = d.title.trim();
  if (!title) return `Step ${n}: give it a title.`;
  let durationSeconds: number | null = null;
  if (d.minutes.trim() !== "") {
    const m = Number(d.minutes);
    if (!Number.isInteger(m) || m < 1 || m > 240) return `Step ${n}: minutes are a whole number from 1 to 240 (or empty for no time limit).`;
    durationSeconds = m * 60;
  }
  if (d.kind === "main") return { kind: "main", title, durationSeconds };
  const rooms = Number(d.rooms);
  if (d.by === "count") {
    if (!Number.isInteger(rooms) || rooms < 1 || rooms > 50) return `Step ${n}: the number of rooms is 1 to 50.`;
    return { kind: "breakouts", title, durationSeconds, mode: d.mode, roomCount: rooms };
  }
  if (!Number.isInteger(rooms) || rooms < 2 || rooms > 50) return `Step ${n}: people per room is 2 to 50.`;
  return { kind: "breakouts", title, durationSeconds, mode: d.mode, roomSize: rooms };
}
