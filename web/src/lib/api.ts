/**
 * HTTP helpers for the Worker's REST endpoints (contract: docs/TEAM-NOTES.md). Every failure becomes an ApiError
 * carrying the server's typed error code, so screens can show the right message next to the right control.
 */
import type { SessionRecord, SessionReport } from "../../../lib/cost";
import type { GroupLinkAnswer, GroupMemberRow, GroupSessionRow, GroupSummary } from "../../../lib/groups";
import type { Command, ErrorCode, MediaGrant, MediaProvider, ParticipantView, PlanBody, SessionPreview, Settings, StaffState } from "../../../lib/protocol";

export type { SessionPreview };

export type { SessionReport };

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode | "NETWORK" | "HTTP",
    message: string,
    readonly status: number,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface AppConfig {
  mediaProvider: MediaProvider;
  devSignIn: boolean;
  debugLogs: boolean;
}

export interface SignedInUser {
  token: string;
  /** The server's principal: userId, name, appRole ("facilitator", "operator"…), source. A pasted token has none. */
  user: { userId?: string; name?: string; appRole?: string; [k: string]: unknown };
}

export interface Invite {
  id: string;
  token: string;
  url: string;
  /** The same invite as a short link (/i/<code>), easier to read out or type. Absent on invites stored before it existed. */
  shortUrl?: string;
  expiresAt: number;
}

export interface CreatedSession {
  sessionId: string;
  memberId: string;
  ticket: string;
  invite: Invite;
}

/** A saved session plan (GET /api/plans): worker/routes/plans.ts PlanRecord. */
export interface SavedPlan extends PlanBody {
  id: string;
  createdAt: number;
  updatedAt: number;
}

export interface JoinResult {
  memberId: string;
  ticket: string;
  status: string;
  /** Guests only: what re-joining with the invite proves they are this member again (keep it; send it back). */
  guestCredential?: string;
  guestCredentialExpiresAt?: number;
  /** A recurring group's session: what the next session of the group recognises them by (keep it across tabs). */
  groupId?: string;
  groupCredential?: string;
  groupCredentialExpiresAt?: number;
}

/** The group a session belongs to, with the standing link its clients keep (the console offers it). */
export interface GroupLinkOfSession {
  id: string;
  name: string;
  linkUrl: string;
}

/** A group's attendance history (GET /api/groups/:groupId): lib/groups.ts. */
export interface GroupHistory {
  group: GroupSummary;
  sessions: GroupSessionRow[];
  members: GroupMemberRow[];
}

export type { GroupLinkAnswer, GroupMemberRow, GroupSessionRow, GroupSummary };

export async function request<T>(method: string, path: string, opts: { token?: string | null; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  } catch (e) {
    throw new ApiError("NETWORK", "Could not reach the server. Check your connection and try again.", 0, String(e));
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: ErrorCode; message?: string; details?: unknown } } | null)?.error;
    throw new ApiError(err?.code ?? "HTTP", err?.message ?? `Request failed (${res.status})`, res.status, err?.details);
  }
  return json as T;
}

export const enc = encodeURIComponent;

/** What an invitee may know before joining (POST /api/sessions/:id/preview). */
/** A session in the facilitator's list (GET /api/sessions). */
export type SessionListItem = SessionRecord;

export const api = {
  health: () => request<{ ok: boolean }>("GET", "/api/health"),
  config: () => request<AppConfig>("GET", "/api/config"),
  devSignIn: (name: string, role: "facilitator" | "participant" | "operator") =>
    request<SignedInUser>("POST", "/api/auth/dev-signin", { body: { name, role } }),
  createSession: (userToken: string, body: { title: string; settings?: Partial<Settings>; mediaProvider?: MediaProvider }) =>
    request<CreatedSession>("POST", "/api/sessions", { token: userToken, body }),
  createInvite: (sessionId: string, ticket: string, body: { role?: "participant" | "cofacilitator"; expiresInSeconds?: number } = {}) =>
    request<Invite>("POST", `/api/sessions/${enc(sessionId)}/invites`, { token: ticket, body }),
  revokeInvite: (sessionId: string, ticket: string, inviteId: string) =>
    request<{ revoked: true }>("DELETE", `/api/sessions/${enc(sessionId)}/invites/${enc(inviteId)}`, { token: ticket }),
  /** What an invite holder sees before joining: title, facilitator, and the group agreement to accept (text + hash). */
  preview: (sessionId: string, invite: string) => request<SessionPreview>("POST", `/api/sessions/${enc(sessionId)}/preview`, { body: { invite } }),
  /** Decline the group agreement: the session counts it and keeps nothing else. */
  declineAgreement: (sessionId: string, invite: string) =>
    request<{ declined: true }>("POST", `/api/sessions/${enc(sessionId)}/agreement/decline`, { body: { invite } }),
  /** Join with an invite (no account), or with a user token and no invite; clients send the accepted agreement's hash. */
  join: (
    sessionId: string,
    body: { invite?: string; name?: string; guestCredential?: string; groupCredential?: string; agreementHash?: string; alias?: string },
    userToken?: string | null,
  ) => request<JoinResult>("POST", `/api/sessions/${enc(sessionId)}/join`, { token: userToken ?? null, body }),
  /** A short invite link's code, resolved to a freshly signed invite for the same session (GET /api/invite-links/:code). */
  inviteLink: (code: string) => request<{ sessionId: string; invite: string; role: string; expiresAt: number }>("GET", `/api/invite-links/${enc(code)}`),
  /** The signed-in facilitator's sessions, newest first (at most 50). */
  mySessions: (userToken: string) => request<{ sessions: SessionListItem[] }>("GET", "/api/sessions", { token: userToken }),
  /** The signed-in facilitator's session plans, newest first. */
  plans: (userToken: string) => request<{ plans: SavedPlan[] }>("GET", "/api/plans", { token: userToken }),
  createPlan: (userToken: string, body: PlanBody) => request<{ plan: SavedPlan }>("POST", "/api/plans", { token: userToken, body }),
  updatePlan: (userToken: string, planId: string, body: PlanBody) =>
    request<{ plan: SavedPlan }>("PUT", `/api/plans/${enc(planId)}`, { token: userToken, body }),
  deletePlan: (userToken: string, planId: string) => request<{ deleted: true; id: string }>("DELETE", `/api/plans/${enc(planId)}`, { token: userToken }),
  /** A new session with the plan loaded (its steps run with "Next step" in the console). */
  startPlan: (userToken: string, planId: string, body: { title?: string; settings?: Partial<Settings> } = {}) =>
    request<CreatedSession & { plan: { id: string; name: string; steps: number } }>("POST", `/api/plans/${enc(planId)}/sessions`, {
      token: userToken,
      body,
    }),
  /** The signed-in facilitator's recurring groups, newest first. */
  groups: (userToken: string) => request<{ groups: GroupSummary[] }>("GET", "/api/groups", { token: userToken }),
  createGroup: (userToken: string, body: { name: string; planId?: string }) =>
    request<{ group: GroupSummary }>("POST", "/api/groups", { token: userToken, body }),
  updateGroup: (userToken: string, groupId: string, body: { name?: string; planId?: string | null }) =>
    request<{ group: GroupSummary }>("PATCH", `/api/groups/${enc(groupId)}`, { token: userToken, body }),
  /** A new standing link; the old one stops working (returning clients are still recognised). */
  newGroupLink: (userToken: string, groupId: string) => request<{ group: GroupSummary }>("POST", `/api/groups/${enc(groupId)}/link`, { token: userToken }),
  /** The group with its sessions and members: the attendance history. */
  group: (userToken: string, groupId: string) => request<GroupHistory>("GET", `/api/groups/${enc(groupId)}`, { token: userToken }),
  /** This week's session of the group (its plan loaded, if it has one). 409 INVALID_STATE while one still runs. */
  startGroupSession: (userToken: string, groupId: string, body: { title?: string; settings?: Partial<Settings> } = {}) =>
    request<CreatedSession & { groupId: string; group: GroupLinkOfSession; plan?: { id: string; name: string; steps: number } }>(
      "POST",
      `/api/groups/${enc(groupId)}/sessions`,
      {
        token: userToken,
        body,
      },
    ),
  /** A standing group link's code (public). */
  groupLink: (code: string) => request<GroupLinkAnswer>("GET", `/api/group-links/${enc(code)}`),
  state: (sessionId: string, ticket: string) =>
    request<{ staff?: StaffState; view?: ParticipantView }>("GET", `/api/sessions/${enc(sessionId)}`, { token: ticket }),
  command: (sessionId: string, ticket: string, commandId: string, command: Command) =>
    request<{ ack: { commandId: string; seq: number; duplicate: boolean } }>("POST", `/api/sessions/${enc(sessionId)}/commands`, {
      token: ticket,
      body: { commandId, command },
    }),
  mediaToken: (sessionId: string, ticket: string) => request<MediaGrant>("POST", `/api/sessions/${enc(sessionId)}/media-token`, { token: ticket }),
  /** Staff ticket (or the creator's / an operator's user token). */
  report: (sessionId: string, token: string) => request<SessionReport>("GET", `/api/sessions/${enc(sessionId)}/report`, { token }),
  /** The same report as a CSV file. */
  reportCsv: async (sessionId: string, token: string): Promise<Blob> => {
    let res: Response;
    try {
      res = await fetch(`/api/sessions/${enc(sessionId)}/report.csv`, { headers: { Authorization: `Bearer ${token}`, Accept: "text/csv" } });
    } catch (e) {
      throw new ApiError("NETWORK", "Could not reach the server. Check your connection and try again.", 0, String(e));
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { error?: { code?: ErrorCode; message?: string } } | null;
      throw new ApiError(body?.error?.code ?? "HTTP", body?.error?.message ?? `Request failed (${res.status})`, res.status);
    }
    return res.blob();
  },
};

/** Plain-language text for an error code, for people who are not engineers. */
export function describeError(code: string, fallback?: string): string {
  const text: Record<string, string> = {
    NETWORK: "Could not reach the server. Check your connection and try again.",
    UNAUTHENTICATED: "Your sign-in is missing or no longer valid.",
    FORBIDDEN: "You are not allowed to do that.",
    WRONG_SESSION: "This link belongs to a different session.",
    CREDENTIAL_EXPIRED: "This link has expired. Ask the facilitator for a new one.",
    CREDENTIAL_REVOKED: "This link is no longer valid. Ask the facilitator for a new one.",
    SESSION_ENDED: "This session has ended.",
    AGREEMENT_REQUIRED: "Please read the group agreement and accept it to join.",
    SESSION_FULL: "This session is full.",
    ROOM_FULL: "That room is full.",
    ROOM_NOT_FOUND: "That room no longer exists.",
    ROOM_NOT_OPEN: "That room is not open.",
    TOO_FEW_PARTICIPANTS: "Breakout rooms need at least 2 admitted participants.",
    TOO_MANY_ROOMS: "That is too many rooms.",
    DUPLICATE_ROOM_NAME: "Room names must be different from each other.",
    ALREADY_THERE: "Already there.",
    NOT_ALLOWED_BY_SETTINGS: "The session settings do not allow that.",
    RATE_LIMITED: "Too many requests. Wait a moment and try again.",
    MEDIA_PROVIDER_ERROR: "The video service had a problem. Try again in a moment.",
    NOT_ADMITTED: "Not admitted to the session yet.",
  };
  // Credential and network problems get the plain-language text; otherwise the server's message is the most precise.
  const preferText = ["NETWORK", "UNAUTHENTICATED", "WRONG_SESSION", "CREDENTIAL_EXPIRED", "CREDENTIAL_REVOKED", "RATE_LIMITED"];
  if (preferText.includes(code)) return text[code];
  return fallback || text[code] || "Something went wrong.";
}
