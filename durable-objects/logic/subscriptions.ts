/**
 * Who may receive whose media, as Twilio Track Subscriptions (subscribe rules per subscriber). Staff turn off a
 * participant's microphone, camera or share (`blocked`); in Twilio mode that must hold against a modified client, so
 * nobody in the room is subscribed to it: every other member of the place gets rules excluding it. Pure: the plan is
 * computed from the session state; ProviderRooms posts what changed.
 *
 * Track names the web client publishes: "microphone" (audio), "camera" and "screen" (video).
 */
import { mediaRoomName } from "../../lib/protocol";
import type { SubscribeRule } from "../../lib/twilio/rest";
import type { SessionContext } from "./model";

export const TRACK_NAMES = { audio: "microphone", video: "camera", screen: "screen" } as const;

/** The rules a subscriber should have: everything, except what staff turned off for others in the same place. */
export function rulesFor(ctx: SessionContext, subscriberId: string): SubscribeRule[] {
  const me = ctx.members[subscriberId];
  const rules: SubscribeRule[] = [{ type: "include", all: true }];
  if (!me || me.location === null) return rules;
  for (const m of Object.values(ctx.members)) {
    if (m.id === me.id || m.location !== me.location || m.status !== "admitted") continue;
    // Audio by kind (whatever the track is called); video by name, so turning off a camera leaves a share alone.
    if (m.blocked.audio) rules.push({ type: "exclude", publisher: m.id, kind: "audio" });
    if (m.blocked.video) rules.push({ type: "exclude", publisher: m.id, track: TRACK_NAMES.video });
    if (m.blocked.screen) rules.push({ type: "exclude", publisher: m.id, track: TRACK_NAMES.screen });
  }
  return rules;
}

export interface SubscriptionTarget {
  /** "<media room name>|<subscriber id>" */
  key: string;
  room: string;
  subscriber: string;
  rules: SubscribeRule[];
  /** JSON of the rules, to compare with what was applied. */
  json: string;
}

/**
 * The rules every member connected to a media room should have now (arrivedIn says Twilio has them there). Members
 * not connected get theirs on arrival: rules belong to a participant sid, so a reconnect starts from Twilio's default.
 */
export function subscriptionPlan(ctx: SessionContext): SubscriptionTarget[] {
  const out: SubscriptionTarget[] = [];
  for (const m of Object.values(ctx.members)) {
    if (m.status !== "admitted" || m.location === null) continue;
    const room = mediaRoomName(ctx.sessionId, m.location);
    if (m.arrivedIn !== room) continue;
    const rules = rulesFor(ctx, m.id);
    out.push({ key: `${room}|${m.id}`, room, subscriber: m.id, rules, json: JSON.stringify(rules) });
  }
  return out;
}

/** Whether anything in the places of a step's members could change someone's rules (a cheap pre-check). */
export function subscriptionsMayChange(prev: SessionContext, next: SessionContext): boolean {
  if (prev.members === next.members) return false;
  for (const [id, m] of Object.entries(next.members)) {
    const b = prev.members[id];
    if (!b || b === m) continue;
    if (b.blocked !== m.blocked || b.location !== m.location || b.arrivedIn !== m.arrivedIn || b.status !== m.status) return true;
  }
  return false;
}
