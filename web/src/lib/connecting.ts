/**
 * Who is stuck connecting to video, for staff: admitted members whose app is online and placed somewhere but who have
 * not arrived in that place's media room, with the reason their app reported (`mediaProblem`) when there is one. The
 * wait is timed from when this console first saw them placed and not arrived (the session does not keep that time).
 */
import { type Accessor, createMemo, createSignal, onCleanup } from "solid-js";
import type { MemberPublic, StaffState } from "../../../lib/protocol";
import { staffMediaProblem } from "./media-errors";
import { hasArrived } from "./state";

/** Connecting for longer than this counts as stuck (Twilio connects in 1–5 s on a working network). */
export const STUCK_AFTER_MS = 20_000;

export type ConnectingState =
  /** Their app reported why video fails. */
  | { kind: "problem"; text: string; code: string; since: number }
  /** Still connecting, for less than STUCK_AFTER_MS. */
  | { kind: "connecting"; since: number }
  | { kind: "stuck"; since: number };

/** Pure: one member's state, or null when they are in video (or not expected to be: waiting, offline, gone). */
export function connectingState(sessionId: string, m: MemberPublic, waitingSince: number | undefined, now: number): ConnectingState | null {
  if (m.status !== "admitted" || m.location === null || !m.connected || hasArrived(sessionId, m)) return null;
  const problem = m.mediaProblem ?? null;
  if (problem) return { kind: "problem", text: staffMediaProblem(problem.code), code: problem.code, since: problem.at };
  const since = waitingSince ?? now;
  return now - since >= STUCK_AFTER_MS ? { kind: "stuck", since } : { kind: "connecting", since };
}

/** "for 45 s", "for 3 min". */
export function waitedFor(since: number, now: number): string {
  const s = Math.max(0, Math.round((now - since) / 1000));
  return s < 90 ? `for ${s} s` : `for ${Math.round(s / 60)} min`;
}

/** What staff read beside the member. */
export function connectingText(state: ConnectingState, now: number): string {
  if (state.kind === "problem") return `can't connect: ${state.text}`;
  if (state.kind === "stuck") return `stuck connecting to video ${waitedFor(state.since, now)}`;
  return "connecting to video…";
}

export interface ConnectingTracker {
  /** Every member who is connecting, stuck or failing, by id. */
  states: Accessor<Map<string, ConnectingState>>;
  /** Those who need staff's attention (stuck or failing), oldest first. */
  stuck: Accessor<{ member: MemberPublic; state: ConnectingState }[]>;
  now: Accessor<number>;
}

/** The console's tracker: remembers when each member was first seen waiting for video in their place, ticks every 5 s. */
export function createConnectingTracker(staff: Accessor<StaffState | null>): ConnectingTracker {
  const [now, setNow] = createSignal(Date.now());
  const timer = setInterval(() => setNow(Date.now()), 5_000);
  onCleanup(() => clearInterval(timer));
  // memberId → [location, first seen not arrived there]
  const seen = new Map<string, [string, number]>();
  const states = createMemo(() => {
    const s = staff();
    const t = now();
    const out = new Map<string, ConnectingState>();
    if (!s) return out;
    const live = new Set<string>();
    for (const m of s.members) {
      if (m.status !== "admitted" || m.location === null || hasArrived(s.session.id, m)) continue;
      const prior = seen.get(m.id);
      const since = prior && prior[0] === m.location ? prior[1] : Date.now();
      seen.set(m.id, [m.location, since]);
      live.add(m.id);
      const state = connectingState(s.session.id, m, since, t);
      if (state) out.set(m.id, state);
    }
    for (const id of [...seen.keys()]) if (!live.has(id)) seen.delete(id);
    return out;
  });
  const stuck = createMemo(() => {
    const s = staff();
    if (!s) return [];
    return s.members
      .filter((m) => m.role === "participant" || m.role === "cofacilitator")
      .flatMap((member) => {
        const state = states().get(member.id);
        return state && state.kind !== "connecting" ? [{ member, state }] : [];
      })
      .sort((a, b) => a.state.since - b.state.since);
  });
  return { states, stuck, now };
}
