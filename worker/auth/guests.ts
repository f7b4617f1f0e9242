/**
 * Guests: people who join by invite without an account. The Worker, not the browser, picks a guest's identity, and
 * hands the guest a signed credential for it (app-tokens.ts issueGuestCredential); presenting that credential again
 * with an invite of the same session is how a guest comes back as the same member. The identity itself holds no
 * secret: staff see it (MemberPublic.identity) and it lets nobody in.
 */
import { issueGuestCredential, verifyGuestCredential, type AppTokenEnv, type InviteClaims, type IssuedToken } from "./app-tokens";
import { AuthError } from "./user-tokens";

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** `guest:<first 8 of the invite id>:<128 random bits>`: 47 characters, a valid protocol id (pre-assignment uses it). */
export function newGuestIdentity(inviteId: string): string {
  return `guest:${inviteId.slice(0, 8)}:${hex(crypto.getRandomValues(new Uint8Array(16)))}`;
}

export interface GuestJoin {
  identity: string;
  /** A fresh credential for the identity (each join renews it), to be returned to the guest. */
  credential: IssuedToken;
  /** True when the guest presented a credential and is the member it names. */
  returning: boolean;
}

/**
 * The identity a guest joins as, for an invite that has been verified (signature, session, row). Without `credential`:
 * a new guest. With one: the guest it names, when it is ours, unexpired, for this session and for this very invite (a
 * credential outlives nothing: revoking the invite ends it). Anything else is refused (AuthError), never quietly turned
 * into a new guest: the caller decides what to tell the person.
 */
export async function guestForJoin(env: AppTokenEnv, invite: InviteClaims, credential: string | undefined): Promise<GuestJoin> {
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
  return { identity, credential: issued, returning: credential !== undefined };
}
