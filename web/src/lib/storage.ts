/**
 * What survives a page refresh: the signed-in user (dev sign-in) and, per session, the member ticket and the guest
 * credential. sessionStorage, so each browser tab is its own member and closing the tab forgets it; only a recurring
 * group's credential is kept in localStorage (see groupCredential).
 */
import type { Role } from "../../../lib/protocol";
import type { CreatedSession, GroupLinkOfSession, Invite, SignedInUser } from "./api";

export interface StoredSession {
  sessionId: string;
  memberId: string;
  ticket: string;
  name?: string;
  role?: Role;
  /** The session's title, for the list of this tab's sessions. */
  title?: string;
  invite?: Invite;
  /** A recurring group's session (started from its page): the group and its standing link. */
  group?: GroupLinkOfSession;
  /** Chosen devices (deviceId) from the join screen. */
  audioDeviceId?: string | null;
  videoDeviceId?: string | null;
  micOn?: boolean;
  camOn?: boolean;
}

function read<T>(key: string, area: Storage = sessionStorage): T | null {
  try {
    const raw = area.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

function write(key: string, value: unknown, area: Storage = sessionStorage): void {
  try {
    if (value === null) area.removeItem(key);
    else area.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or disabled: the app still works, a refresh just will not resume */
  }
}

const readLocal = <T>(key: string) => read<T>(key, localStorage);
const writeLocal = (key: string, value: unknown) => write(key, value, localStorage);

export const storage = {
  user: () => read<SignedInUser>("mb.user"),
  setUser: (u: SignedInUser | null) => write("mb.user", u),
  session: (sessionId: string) => read<StoredSession>(`mb.session.${sessionId}`),
  setSession: (s: StoredSession) => write(`mb.session.${s.sessionId}`, s),
  /** A session the signed-in facilitator just created (start page or a plan): this tab is its facilitator. */
  setCreatedSession: (created: CreatedSession & { group?: GroupLinkOfSession }, title: string, name: string) =>
    write(`mb.session.${created.sessionId}`, {
      sessionId: created.sessionId,
      memberId: created.memberId,
      ticket: created.ticket,
      role: "facilitator",
      title,
      name,
      invite: created.invite,
      ...(created.group ? { group: created.group } : {}),
    } satisfies StoredSession),
  updateSession: (sessionId: string, patch: Partial<StoredSession>) => {
    const cur = read<StoredSession>(`mb.session.${sessionId}`);
    if (cur) write(`mb.session.${sessionId}`, { ...cur, ...patch });
  },
  forgetSession: (sessionId: string) => write(`mb.session.${sessionId}`, null),
  /** A guest's credential for one session, kept apart from the ticket so leaving and joining again is the same member. */
  guestCredential: (sessionId: string) => read<string>(`mb.guest.${sessionId}`),
  setGuestCredential: (sessionId: string, credential: string | null) => write(`mb.guest.${sessionId}`, credential),
  /**
   * A recurring group's credential: in localStorage, unlike the rest, because it must outlive the tab — next week's
   * session recognises the client by it. It names a random identity and the group, nothing else.
   */
  groupCredential: (groupId: string) => readLocal<string>(`mb.group.${groupId}`),
  setGroupCredential: (groupId: string, credential: string | null) => writeLocal(`mb.group.${groupId}`, credential),
  /** Every session this tab holds a ticket for (the server has no "my sessions" list yet). */
  sessions: (): StoredSession[] => {
    const out: StoredSession[] = [];
    try {
      for (let i = 0; i < sessionStorage.length; i++) {
        const key = sessionStorage.key(i);
        if (!key?.startsWith("mb.session.")) continue;
        const s = read<StoredSession>(key);
        if (s?.sessionId) out.push(s);
      }
    } catch {
      /* storage disabled */
    }
    return out;
  },
};
