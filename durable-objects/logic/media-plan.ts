/**
 * Which provider media rooms a session should have right now, and what to do to get there. Pure: the Durable
 * Object runs the plan against Twilio's REST API and feeds the results back as `mediaUpdated` events, so a crash
 * or a lost response at any point converges on the next reconciliation (creation is idempotent by UniqueName,
 * completion is idempotent).
 */
import { MAIN_ROOM, mediaRoomName, type MediaRoomPublic, type SessionPhase } from "../../lib/protocol";
import type { SessionContext } from "./model";

/** Places that need a media room: breakout rooms being prepared or open, and main while anyone may be in it. */
export function desiredMediaKeys(ctx: SessionContext, phase: SessionPhase): Set<string> {
  const keys = new Set<string>();
  if (phase === "ended") return keys;
  // During an open round main is needed only while someone is there (a staff member, a late joiner...).
  const someoneInMain = Object.values(ctx.members).some((m) => m.status === "admitted" && m.location === MAIN_ROOM);
  if (phase !== "open" || someoneInMain) keys.add(MAIN_ROOM);
  for (const r of Object.values(ctx.rooms)) if (r.status === "open" || r.status === "preparing") keys.add(r.id);
  // Each private check-in is its own media room, for as long as it goes on.
  for (const id of Object.keys(ctx.checkIns ?? {})) keys.add(id);
  return keys;
}

export interface MediaPlan {
  create: { key: string; name: string; maxParticipants: number }[];
  complete: { key: string; name: string; sid: string | null }[];
}

/** `retryBlocked(key)`: a failed creation is waiting out its backoff. */
export function mediaPlan(ctx: SessionContext, phase: SessionPhase, retryBlocked: (key: string) => boolean = () => false): MediaPlan {
  const desired = desiredMediaKeys(ctx, phase);
  const plan: MediaPlan = { create: [], complete: [] };
  for (const key of desired) {
    const m = ctx.media[key];
    const needs = !m || m.status === "none" || m.status === "pending" || m.status === "completed" || (m.status === "failed" && !retryBlocked(key));
    if (!needs) continue;
    const maxParticipants = key === MAIN_ROOM ? 50 : ctx.checkIns?.[key] ? 2 : (ctx.rooms[key]?.capacity ?? 50);
    plan.create.push({ key, name: mediaRoomName(ctx.sessionId, key), maxParticipants });
  }
  for (const m of Object.values(ctx.media)) {
    if (desired.has(m.key)) continue;
    if (m.status === "completed" || m.status === "none") continue;
    plan.complete.push({ key: m.key, name: m.name, sid: m.sid });
  }
  return plan;
}

/** Key ("main" or room id) of a media room name in this session, or null when it is not one of ours. */
export function keyOfMediaRoom(sessionId: string, name: string): string | null {
  const prefix = mediaRoomName(sessionId, "");
  return name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length) : null;
}

export function media(key: string, name: string, status: MediaRoomPublic["status"], sid: string | null, error: string | null = null): MediaRoomPublic {
  return { key, name, status, sid, error };
}
