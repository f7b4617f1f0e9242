/**
 * What one step sends, and to whom: the staff patch, notices (room-scoped ones only to that room and staff),
 * participant views that changed, and the members whose place changed (they get a placement with a media grant,
 * which the grants collaborator signs). Pure: the last view sent to each member is an argument, and the views this
 * step sends come back as updates for the caller to install once the step is stored.
 */
import { MAIN_ROOM, type Notice, type Placement, type SequencedMessage, type SessionPhase } from "../../lib/protocol";
import { type ChatRecord, placeName, type SessionContext, type SessionEvent } from "./model";
import { diffForStaff, participantView, publicChat } from "./views";

/** Who receives a frame: "*" everyone, "staff", or "m:<memberId>". */
export type Audience = string;

export type FrameBody = SequencedMessage extends infer M ? (M extends { seq: number } ? Omit<M, "seq"> : never) : never;

export interface Frame {
  audience: Audience[];
  body: FrameBody;
  /** `body` already encoded as JSON (views are, to compare them with the last one sent): not encoded twice. */
  bodyJson?: string;
}

/** A frame's wire text: its body with `seq` appended (a pre-encoded body is extended, not re-encoded). */
export function frameText(f: Frame, seq: number): string {
  return f.bodyJson !== undefined ? `${f.bodyJson.slice(0, -1)},"seq":${seq}}` : JSON.stringify({ ...f.body, seq });
}

export const memberAudience = (memberId: string): Audience => `m:${memberId}`;

/** Room-scoped notices go to that room's members (as placed before and after) plus staff; help stays with staff. */
export function noticeAudience(n: Notice, prev: SessionContext, next: SessionContext): Audience[] {
  const inRoom = (ctx: SessionContext, roomId: string) =>
    Object.values(ctx.members)
      .filter((m) => m.location === roomId)
      .map((m) => memberAudience(m.id));
  switch (n.kind) {
    case "broadcast":
      return n.roomId ? ["staff", ...inRoom(next, n.roomId)] : ["*"];
    case "helpRequested":
    case "joinRequest":
    case "mediaError":
    case "unexpectedConnection":
    case "roomUnsupervised":
    case "checkInRequested":
      return ["staff"];
    case "helpResolved":
    case "mediaBlocked":
    case "mediaAllowed":
      return ["staff", memberAudience(n.memberId)];
    case "memberReturned":
      return ["staff"];
    case "roomClosing":
      return ["staff", ...inRoom(prev, n.roomId)];
    case "roundWarning":
    case "closingCountdown":
    case "sessionEnded":
      return ["*"];
  }
}

/** Why a member is (re)placed by this event: the client says it in words ("You're moving to Room 2"). */
export function placementReason(event: SessionEvent, from: string | null, to: string | null): string {
  if (event.type === "tick") return to === MAIN_ROOM ? "round-ended" : to === null ? "session-ended" : "timer";
  if (event.type === "closeRoom") return "room-closed";
  if (event.type === "closeAll") return "round-ended";
  if (event.type === "openBreakouts") return "breakouts-opened";
  if (event.type === "admit" || (event.type === "memberJoined" && from === null)) return "admitted";
  if (event.type === "endSession") return "session-ended";
  return event.type === "move" || event.type === "swap" || event.type === "bulkAssign" ? "moved" : event.type;
}

/** A member whose place changed: they need a placement (and a grant for the new place, when there is one). */
export interface PlacementNeed {
  memberId: string;
  location: string | null;
  reason: string;
}

/** A placement for a member where they are now, given the grant for it (null when they are nowhere). */
export function placementOf(ctx: SessionContext, location: string | null, media: Placement["media"], reason: string): Placement {
  return { location, roomName: location === null ? null : placeName(ctx, location), media: location === null ? null : media, reason };
}

export interface StepFrames {
  /** Staff patch, notices and views, in that order; placements are added once their grants are signed. */
  frames: Frame[];
  /** memberId → the view JSON this step sends: the new "last sent" once the step is stored. */
  views: Map<string, string>;
  placements: PlacementNeed[];
}

export function framesFor(
  prev: SessionContext,
  next: SessionContext,
  prevPhase: SessionPhase,
  phase: SessionPhase,
  event: SessionEvent,
  notices: readonly Notice[],
  sentViews: ReadonlyMap<string, string>,
): StepFrames {
  const frames: Frame[] = [];
  const changes = diffForStaff(prev, next, prevPhase, phase);
  if (changes.length) frames.push({ audience: ["staff"], body: { type: "patch", changes } });
  for (const notice of notices) frames.push({ audience: noticeAudience(notice, prev, next), body: { type: "notice", notice } });
  frames.push(...chatFrames(prev, next, event));
  const views = new Map<string, string>();
  for (const memberId of viewCandidates(prev, next, prevPhase, phase)) {
    const view = participantView(next, phase, memberId);
    const json = JSON.stringify(view);
    if (sentViews.get(memberId) === json) continue;
    views.set(memberId, json);
    frames.push({ audience: [memberAudience(memberId)], body: { type: "view", view }, bodyJson: `{"type":"view","view":${json}}` });
  }
  return { frames, views, placements: placementNeeds(prev, next, event) };
}

/** Who reads a chat message: everyone, or staff and the participants it was for. */
const chatAudience = (c: ChatRecord): Audience[] => (c.audience === "*" ? ["*"] : ["staff", ...c.audience.map(memberAudience)]);

/** New chat messages, and a deletion (a message the session dropped for space is not "deleted": readers keep it). */
function chatFrames(prev: SessionContext, next: SessionContext, event: SessionEvent): Frame[] {
  if (prev.chat === next.chat) return [];
  const out: Frame[] = [];
  for (const [id, c] of Object.entries(next.chat)) if (!prev.chat[id]) out.push({ audience: chatAudience(c), body: { type: "chat", message: publicChat(c) } });
  if (event.type === "deleteChat") {
    const gone = prev.chat[event.messageId];
    if (gone) out.push({ audience: chatAudience(gone), body: { type: "chatDeleted", messageId: gone.id, channel: gone.channel } });
  }
  return out;
}

/**
 * Participants whose view may have changed. When only members changed (a move, a swap, an arrival), only the members
 * who changed and the people sharing a place with them (before or after) can see a difference.
 */
function viewCandidates(prev: SessionContext, next: SessionContext, prevPhase: string, phase: string): string[] {
  // In "choose" rounds every participant sees room counts, so any move concerns everyone.
  const sessionWide =
    prev.rooms !== next.rooms ||
    prev.round !== next.round ||
    prev.settings !== next.settings ||
    prevPhase !== phase ||
    prev.title !== next.title ||
    prev.checkIns !== next.checkIns ||
    next.round?.mode === "choose";
  if (!sessionWide && prev.members === next.members) return [];
  const participants = Object.values(next.members).filter((m) => m.role === "participant");
  if (sessionWide) return participants.map((m) => m.id);
  const places = new Set<string>();
  const changed = new Set<string>();
  for (const [id, m] of Object.entries(next.members)) {
    const before = prev.members[id];
    if (before === m) continue;
    changed.add(id);
    if (m.location) places.add(m.location);
    if (before?.location) places.add(before.location);
  }
  return participants.filter((m) => changed.has(m.id) || (m.location !== null && places.has(m.location))).map((m) => m.id);
}

function placementNeeds(prev: SessionContext, next: SessionContext, event: SessionEvent): PlacementNeed[] {
  if (prev.members === next.members) return [];
  const out: PlacementNeed[] = [];
  for (const m of Object.values(next.members)) {
    const from = prev.members[m.id]?.location ?? null;
    if (prev.members[m.id] ? from === m.location : m.location === null) continue;
    out.push({ memberId: m.id, location: m.location, reason: placementReason(event, from, m.location) });
  }
  return out;
}
