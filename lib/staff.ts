/**
 * Who counts as staff of a session right now, for everything only staff receive (the whole state over HTTP and the
 * socket, reports, the live cost). A member ticket lasts 12 h whatever happens to its member, so the session's record
 * decides:
 * - a live session: staff whose status is `admitted`. Not `left` (they went; their ticket outlives them), not
 *   `denied` (removed), and not `waiting`: staff wait only when the session was full as they came, and until someone
 *   admits them they get nothing staff get;
 * - an ended session (everyone's status becomes `left` at the end, with `leftAt` = the end): staff who were still in
 *   it when it ended, so the facilitator and co-facilitators of the last minute read the final state and report, and
 *   one who had left before does not.
 */
import { isStaff, type MemberPublic, type Role } from "./protocol";

export type StaffStanding = { current: true; role: Role } | { current: false; why: "not-staff" | "waiting" | "left" | "denied" | "unknown" };

export function staffStanding(m: Pick<MemberPublic, "role" | "status" | "leftAt"> | undefined, endedAt: number | null): StaffStanding {
  if (!m) return { current: false, why: "unknown" };
  if (!isStaff(m.role)) return { current: false, why: "not-staff" };
  if (m.status === "denied") return { current: false, why: "denied" };
  if (m.status === "waiting") return { current: false, why: "waiting" };
  if (endedAt === null) return m.status === "admitted" ? { current: true, role: m.role } : { current: false, why: "left" };
  // In it at the end means it left exactly at the end (the end stamps both with the same time).
  return m.status === "left" && m.leftAt === endedAt ? { current: true, role: m.role } : { current: false, why: "left" };
}

/** The refusal for someone who is not current staff: what they would need to do, in words. */
export const NOT_CURRENT_STAFF: Record<Exclude<StaffStanding, { current: true }>["why"], string> = {
  "not-staff": "only the session's facilitators read this",
  waiting: "you are waiting to be admitted; this is for the staff taking part in the session",
  left: "you are no longer in this session; join again with your invite link to read it",
  denied: "you were removed from this session",
  unknown: "you are not a member of this session",
};
