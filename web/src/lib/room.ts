/**
 * Pure rules of the meeting room's screens (no DOM, no Solid), unit-tested in test/unit/web-room.test.ts: when the
 * round warning shows, how the waiting room is summed up, how the media mode and the usage figure read.
 */
import type { MediaProvider } from "../../../lib/protocol";
import { formatDollars } from "./state";

export interface RoundTimes {
  endsAt: number | null;
  closesAt: number | null;
}

/**
 * The participant's "This round ends in …" banner. A roundWarning notice is given for one deadline (its endsAt): the
 * banner shows while the round still ends then, it is not closing yet, the person is in a breakout room and time is
 * left. An extended round (a new endsAt), a closing countdown, and every later round hide it until the server warns
 * again.
 */
export function roundWarningShown(input: { warnedFor: number | null; round: RoundTimes | null; location: string | null; now: number }): boolean {
  const { warnedFor, round, location, now } = input;
  if (warnedFor === null || !round || round.endsAt === null) return false;
  if (round.endsAt !== warnedFor || round.closesAt !== null) return false;
  if (location === null || location === "main") return false;
  return round.endsAt > now;
}

/** "1 person is waiting", "3 people are waiting". */
export function waitingSummary(n: number): string {
  return n === 1 ? "1 person is waiting" : `${n} people are waiting`;
}

export function mediaModeLabel(provider: MediaProvider): string {
  return provider === "twilio" ? "Twilio Video" : "Local video (peer-to-peer)";
}

/**
 * The usage figure in the console header and after the end: a cost only where something is billed (Twilio), plain
 * participant-minutes in local media mode.
 */
export function usageLabel(provider: MediaProvider, usage: { participantMinutes: number; dollars: number }): string {
  const minutes = `${usage.participantMinutes.toFixed(1)} participant-minutes`;
  return provider === "twilio" ? `Estimated media cost ${formatDollars(usage.dollars)} · ${minutes}` : minutes;
}

/** The phase as the console's header says it. */
export function phaseLabel(p: string): string {
  return (
    (
      {
        main: "Everyone in the main room",
        preparing: "Preparing breakout rooms",
        open: "Breakout rooms open",
        closing: "Breakout rooms closing",
        ended: "Ended",
      } as Record<string, string>
    )[p] ?? p
  );
}

/**
 * An invite link's token as the join page sees it: a JWT whose payload decodes (the server checks the signature).
 * A link cut short or edited by hand usually fails here already.
 */
export function inviteLooksIntact(token: string | null): boolean {
  if (!token) return false;
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return false;
  try {
    const json = atob(parts[1].replace(/-/g, "+").replace(/_/g, "/"));
    const payload = JSON.parse(json) as unknown;
    return typeof payload === "object" && payload !== null;
  } catch {
    return false;
  }
}

export const DAMAGED_INVITE = "This invite link is damaged or incomplete. Ask the facilitator to send it again.";
export const MISSING_INVITE = "This link has no invitation in it. Ask the facilitator for the invite link to join.";
