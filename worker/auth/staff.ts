/** Staff standing as the Worker asks it of a session (the rule itself is lib/staff.ts, shared with the session). */
import type { StaffState } from "../../lib/protocol";
import { staffStanding as standingOf, type StaffStanding } from "../../lib/staff";
import type { sessionStub } from "../http";

export { NOT_CURRENT_STAFF, type StaffStanding } from "../../lib/staff";

/** The standing of a member, from the staff state the session returned for them. */
export function staffStandingIn(staff: StaffState, memberId: string): StaffStanding {
  return standingOf(
    staff.members.find((m) => m.id === memberId),
    staff.session.endedAt,
  );
}

/** The standing of a member, asked of their session (one call: the session applies the rule). */
export async function staffStanding(stub: ReturnType<typeof sessionStub>, memberId: string): Promise<StaffStanding> {
  const info = await stub.memberInfo(memberId);
  return info ? info.standing : { current: false, why: "unknown" };
}
