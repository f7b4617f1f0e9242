/**
 * The breakout manager's "new rooms" form as data: what was typed (kept by the console across rounds, so a round that
 * ends by itself does not wipe the room names and the duration) and the createBreakouts command it asks for. Pure,
 * unit-tested in test/unit/web-breakout-draft.test.ts.
 */
import { CommandSchema, MAX_ROOM_CAPACITY, type AssignmentMode, type Command } from "../../../lib/protocol";

export interface BreakoutDraft {
  how: "count" | "names";
  count: string;
  names: string;
  mode: AssignmentMode;
  /** Round length in minutes; empty for no limit. */
  minutes: string;
  /** Closing countdown in seconds (a session setting, changed with the round when different). */
  countdown: string;
  /** People per room at most; empty for the session's limit. */
  capacity: string;
  /** Staff members who go into automatic assignment too. */
  includeStaff: string[];
}

export function emptyDraft(closingCountdownSeconds: number): BreakoutDraft {
  return { how: "count", count: "2", names: "", mode: "auto", minutes: "", countdown: String(closingCountdownSeconds), capacity: "", includeStaff: [] };
}

/** The createBreakouts command a draft asks for and the closing countdown, or the sentences saying what to fix. */
export function draftCommand(d: BreakoutDraft): { command: Command; countdown: number } | { errors: string[] } {
  const cmd: Record<string, unknown> = { type: "createBreakouts", mode: d.mode };
  if (d.how === "count") cmd.count = Number(d.count);
  else
    cmd.names = d.names
      .split("\n")
      .map((n) => n.trim())
      .filter(Boolean);
  if (d.minutes.trim()) cmd.durationSeconds = Math.round(Number(d.minutes) * 60);
  if (d.capacity.trim()) cmd.capacity = Number(d.capacity);
  if (d.includeStaff.length > 0) cmd.includeStaff = [...d.includeStaff];
  const errors: string[] = [];
  const parsed = CommandSchema.safeParse(cmd);
  if (!parsed.success)
    for (const i of parsed.error.issues) {
      const f = i.path.join(".");
      if (f === "count") errors.push("Number of rooms must be between 1 and 50.");
      else if (f.startsWith("names")) errors.push("Give each room a name (one per line, up to 50 rooms).");
      else if (f === "durationSeconds") errors.push("Duration must be between 0.5 and 240 minutes, or empty for no time limit.");
      else if (f === "capacity") errors.push(`People per room must be between 1 and ${MAX_ROOM_CAPACITY}, or empty.`);
      else errors.push(i.message);
    }
  const countdown = Number(d.countdown);
  if (!Number.isInteger(countdown) || countdown < 0 || countdown > 300) errors.push("Closing countdown must be a whole number of seconds from 0 to 300.");
  if (errors.length > 0 || !parsed.success) return { errors: [...new Set(errors)] };
  return { command: parsed.data, countdown };
}
