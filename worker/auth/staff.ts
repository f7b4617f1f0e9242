/**
 * Who reads what only staff read (the whole session state, reports, the live cost): staff who take part in the
 * session now. A member ticket lasts 12 h whatever happens to its member, so the session's record decides:
 * - a live session: staff whose status is `admitted`. Not `left` (they went; their ticket outlives them), not `denied`
 *   (removed), and not `waiting`: staff wait only when the session was full as they came, and have not been let in;
 *   until someone admits them they see what anyone waiting sees, their own record;
 * - an ended session (everyone's status becomes `left` at the end, with `leftAt` = the end): staff who were still in
 *   it when it ended, so the facilitator and co-facilitators of the last minute can read the final state and report,
 *   and one who had left before cannot.
 */
import type { RpcResult } from "../../lib/errors";
import { isStaff, type MemberPublic, type Role, type ServerMessage, type StaffState } from "../../lib/protocol";
import type { sessionStub } from "../http";

export type StaffStanding = { current: true; role: Role } | { current: false; why: "not-staff" | "waiting" | "left" | "denied" | "unknown" };

/** `ended`: null while the session runs; else its end and this member's leftAt. */
function standing(role: Role, status: MemberPublic["status"], ended: { endedAt: number; leftAt: number | null } | null): StaffStanding {
  if (!isStaff(role)) return { current: false, why: "not-staff" };
  if (status === "denied") return { current: false, why: "denied" };
  if (status === "waiting") return { current: false, why: "waiting" };
  if (ended === null) return status === "admitted" ? { current: true, role } : { current: false, why: "left" };
  // In it at the end means it left exactly at the end (updates.ts endSession stamps both with the same time).
  return status === "left" && ended.leftAt === ended.endedAt ? { current: true, role } : { current: false, why: "left" };
}

/** The standing of a member, from the staff state the session returned for them. */
export function staffStandingIn(staff: StaffState, memberId: string): StaffStanding {
  const me = staff.members.find((m) => m.id === memberId);
  if (!me) return { current: false, why: "unknown" };
  const { endedAt } = staff.session;
  return standing(me.role, me.status, endedAt === null ? null : { endedAt, leftAt: me.leftAt });
}

/**
 * The standing of a member, asked of their session: the cheap `memberInfo` while it runs; after the end the staff
 * state, which has the times that tell who was still there.
 */
export async function staffStanding(stub: ReturnType<typeof sessionStub>, memberId: string): Promise<StaffStanding> {
  const info = await stub.memberInfo(memberId);
  if (!info) return { current: false, why: "unknown" };
  if (!info.ended || !isStaff(info.role)) return standing(info.role, info.status as MemberPublic["status"], null);
  const snap = (await stub.state(memberId)) as RpcResult<ServerMessage>;
  const staff = snap.ok && snap.value.type === "snapshot" ? snap.value.staff : undefined;
  return staff ? staffStandingIn(staff, memberId) : { current: false, why: "unknown" };
}

/** The refusal for someone who is not current staff: what they would need to do, in words. */
export const NOT_CURRENT_STAFF: Record<Exclude<StaffStanding, { current: true }>["why"], string> = {
  "not-staff": "only the session's facilitators read this",
  waiting: "you are waiting to be admitted; this is for the staff taking part in the session",
  left: "you are no longer in this session; join again with your invite link to read it",
  denied: "you were removed from this session",
  unknown: "you are not a member of this session",
};
