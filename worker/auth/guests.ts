/**
 * Guests: people who join by invite without an account. The Worker, not the browser, picks a guest's identity, and
 * hands the guest a signed credential for it (app-tokens.ts issueGuestCredential); presenting that credential again
 * with an invite of the same session is how a guest comes back as the same member. The identity itself holds no
 * secret: staff see it (MemberPublic.identity) and it lets nobody in.
 */
import {
  issueGroupCredential,
  issueGuestCredential,
  verifyGroupCredential,
  verifyGuestCredential,
  type AppTokenEnv,
  type InviteClaims,
  type IssuedToken,
} from "./app-tokens";
import { AuthError } from "./user-tokens";
import { randomHex } from "../random";

/** `guest:<first 8 of the invite id>:<128 random bits>`: 47 characters, a valid protocol id (pre-assignment uses it). */
export function newGuestIdentity(inviteId: string): string {
  return `guest:${inviteId.slice(0, 8)}:${randomHex(16)}`;
}

export interface GuestJoin {
  identity: string;
  /** A fresh credential for the identity (each join renews it), to be returned to the guest. */
  credential: IssuedToken;
  /** For a session of a recurring group: a fresh group credential for the same identity. */
  groupCredential?: IssuedToken;
  /** True when the guest presented a credential and is the member it names. */
  returning: boolean;
}

/**
 * The identity a guest joins as, for an invite that has been verified (signature, session, row). Without `credential`:
 * a new guest. With one: the guest it names, when it is ours, unexpired, for this session and for this very invite (a
 * credential outlives nothing: revoking the invite ends it). Anything else is refused (AuthError), never quietly turned
 * into a new guest: the caller decides what to tell the person.
 */
export async function guestForJoin(env: AppTokenEnv, invite: InviteClaims, credential: string | undefined, groupId: string | null = null): Promise<GuestJoin> {
  let identity: string;
  if (credential === undefined) identity = newGuestIdentity(invite.inviteId);
  else {
    const claims = await verifyGuestCredential(env, credential, invite.sessionId);
    if (claims.inviteId !== invite.inviteId) {
      throw new AuthError("UNAUTHENTICATED", "this guest credential was issued with another invite", { reason: "invite" });
    }
    identity = claims.identity;
  }
  const issued = await issueGuestCredential(env, { sessionId: invite.sessionId, inviteId: invite.inviteId, identity });
  // A reload in a group's session (the session credential): the group's credential for the same guest comes back too.
  const group = groupId ? await issueGroupCredential(env, { groupId, identity }) : undefined;
  return { identity, credential: issued, ...(group ? { groupCredential: group } : {}), returning: credential !== undefined };
}

/** A guest of a recurring group: the prefix names the group (staff can tell group members apart), the rest is random. */
export function newGroupGuestIdentity(groupId: string): string {
  return `guest:${groupId.slice(0, 8)}:${randomHex(16)}`;
}

/**
 * The identity a guest joins one of group `groupId`'s sessions as. With `groupCredential`: the group's member it names
 * (the same person as last week); without: a new member of the group. Refusals are AuthErrors, as guestForJoin's.
 * Both credentials come back renewed: the session's (a reload of this session) and the group's (next week).
 */
export async function guestForGroupJoin(env: AppTokenEnv, invite: InviteClaims, groupId: string, groupCredential: string | undefined): Promise<GuestJoin> {
  const identity = groupCredential === undefined ? newGroupGuestIdentity(groupId) : (await verifyGroupCredential(env, groupCredential, groupId)).identity;
  const [credential, group] = await Promise.all([
    issueGuestCredential(env, { sessionId: invite.sessionId, inviteId: invite.inviteId, identity }),
    issueGroupCredential(env, { groupId, identity }),
  ]);
  return { identity, credential, groupCredential: group, returning: groupCredential !== undefined };
}
