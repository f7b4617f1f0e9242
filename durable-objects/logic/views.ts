/**
 * What each role may see, computed at the source. Staff see the whole session; a participant sees their own
 * place, the people in it, and nothing of other rooms or of anyone's help requests.
 */
import {
  type ChatMessage,
  isStaff,
  MAIN_ROOM,
  type Change,
  type ParticipantView,
  type SessionPhase,
  type SessionPublic,
  rosterName,
  type StaffState,
} from "../../lib/protocol";
import { type ChatRecord, occupancy, placeName, type SessionContext } from "./model";

export function sessionPublic(ctx: SessionContext, phase: SessionPhase): SessionPublic {
  return {
    id: ctx.sessionId,
    title: ctx.title,
    createdBy: ctx.createdBy,
    endReason: ctx.endReason,
    phase,
    createdAt: ctx.createdAt,
    endedAt: ctx.endedAt,
    endsAt: ctx.settings.maxSessionSeconds ? ctx.createdAt + ctx.settings.maxSessionSeconds * 1000 : null,
    settings: ctx.settings,
    roundsCompleted: ctx.roundsCompleted,
    preAssignments: ctx.preAssignments,
    agreementDeclines: ctx.agreementDeclines,
  };
}

export function staffState(ctx: SessionContext, phase: SessionPhase): StaffState {
  return {
    session: sessionPublic(ctx, phase),
    members: Object.values(ctx.members),
    rooms: Object.values(ctx.rooms),
    round: ctx.round,
    media: Object.values(ctx.media),
    mediaProvider: ctx.mediaProvider,
    spotlights: ctx.spotlights,
    checkIns: Object.values(ctx.checkIns),
    plan: ctx.plan ?? null,
    pairRules: ctx.pairRules ?? [],
  };
}

export function participantView(ctx: SessionContext, phase: SessionPhase, memberId: string): ParticipantView {
  const me = ctx.members[memberId];
  const round = ctx.round;
  const roommates =
    me.location === null
      ? []
      : Object.values(ctx.members)
          .filter((m) => m.id !== me.id && m.status === "admitted" && m.location === me.location)
          // Other clients by the roster setting's name only: never their identity, nor (firstNames/aliases) their full name.
          .map((m) => ({
            id: m.id,
            name: rosterName(m, ctx.settings.roster),
            role: m.role,
            arrived: m.arrivedIn !== null,
            media: m.media,
            blocked: m.blocked,
            hand: m.hand,
          }));
  const choosable =
    round?.mode === "choose" && me.status === "admitted" && (phase === "preparing" || phase === "open")
      ? Object.values(ctx.rooms)
          .filter((r) => r.status === (phase === "preparing" ? "preparing" : "open"))
          .map((r) => ({
            id: r.id,
            name: r.name,
            capacity: r.capacity,
            count: phase === "open" ? occupancy(ctx, r.id) : Object.values(round.plan).filter((x) => x === r.id).length,
          }))
      : [];
  return {
    session: { id: ctx.sessionId, title: ctx.title, phase, endedAt: ctx.endedAt },
    you: {
      memberId: me.id,
      name: me.name,
      role: me.role,
      status: me.status,
      location: me.location,
      roomName: placeName(ctx, me.location),
      helpRequested: me.helpRequest !== null,
      media: me.media,
      blocked: me.blocked,
      hand: me.hand,
      checkInRequested: me.checkInRequest !== null,
      roster: ctx.settings.roster,
      alias: me.alias,
    },
    roommates,
    // Who from this place is in a private check-in: "stepped out", nothing more (not with whom, not why).
    steppedOut:
      me.location === null
        ? []
        : Object.values(ctx.checkIns)
            .filter((k) => k.clientId !== me.id && k.clientReturn === me.location && ctx.members[k.clientId]?.location === k.id)
            .map((k) => ({ id: k.clientId, name: rosterName(ctx.members[k.clientId], ctx.settings.roster) })),
    round: round ? { number: round.number, mode: round.mode, endsAt: round.endsAt, closesAt: round.closesAt } : null,
    choosableRooms: choosable,
    spotlight: me.location !== null ? (ctx.spotlights[me.location] ?? null) : null,
    returnTo:
      me.status === "admitted" && me.breakoutRoom !== null && me.location === MAIN_ROOM && ctx.rooms[me.breakoutRoom]?.status === "open"
        ? { roomId: me.breakoutRoom, roomName: ctx.rooms[me.breakoutRoom].name }
        : null,
    allowSelfReturn: ctx.settings.allowSelfReturn && me.location !== null && me.location !== MAIN_ROOM,
  };
}

/** The chat a member may read (staff: all of it), oldest first, as members receive it. */
export function chatFor(ctx: SessionContext, memberId: string): ChatMessage[] {
  const staff = isStaff(ctx.members[memberId]?.role ?? "participant");
  return Object.values(ctx.chat)
    .filter((c) => staff || c.audience === "*" || c.audience.includes(memberId))
    .sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)))
    .map(publicChat);
}

export function publicChat({ audience: _audience, ...message }: ChatRecord): ChatMessage {
  return message;
}

/**
 * Entity changes between two contexts, for staff. Unchanged members and rooms keep their object identity
 * (updates never mutate), so this is a reference walk, not a deep compare.
 */
export function diffForStaff(prev: SessionContext, next: SessionContext, prevPhase: SessionPhase, phase: SessionPhase): Change[] {
  const changes: Change[] = [];
  if (prev.members !== next.members)
    for (const [id, m] of Object.entries(next.members)) if (prev.members[id] !== m) changes.push({ entity: "member", value: m });
  if (prev.rooms !== next.rooms) for (const [id, r] of Object.entries(next.rooms)) if (prev.rooms[id] !== r) changes.push({ entity: "room", value: r });
  if (prev.media !== next.media) for (const [key, m] of Object.entries(next.media)) if (prev.media[key] !== m) changes.push({ entity: "media", value: m });
  if (prev.round !== next.round) changes.push({ entity: "round", value: next.round });
  if (prev.spotlights !== next.spotlights) changes.push({ entity: "spotlights", value: next.spotlights });
  if (prev.checkIns !== next.checkIns) changes.push({ entity: "checkIns", value: Object.values(next.checkIns) });
  if (prev.plan !== next.plan) changes.push({ entity: "plan", value: next.plan ?? null });
  if (prev.pairRules !== next.pairRules) changes.push({ entity: "pairRules", value: next.pairRules ?? [] });
  if (
    prevPhase !== phase ||
    prev.settings !== next.settings ||
    prev.roundsCompleted !== next.roundsCompleted ||
    prev.preAssignments !== next.preAssignments ||
    prev.agreementDeclines !== next.agreementDeclines ||
    prev.endedAt !== next.endedAt ||
    prev.title !== next.title
  )
    changes.push({ entity: "session", value: sessionPublic(next, phase) });
  return changes;
}
