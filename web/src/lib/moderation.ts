/**
 * Staff moderation, as pure rules: which actions a facilitator is offered for one person (from what the session says
 * about that person's media, blocks, hand and the place's spotlight), the commands they send, raised hands in order,
 * and the plain sentences a client sees when staff turned something off. The panels and tile menus render these.
 */
import type { Command, MediaBlocks, MediaKind, MediaState, Role } from "../../../lib/protocol";

export interface ModeratedPerson {
  id: string;
  name: string;
  role: Role;
  media: MediaState;
  blocked: MediaBlocks;
  hand: number | null;
}

export interface ModerationAction {
  id: string;
  label: string;
  hint?: string;
  command: Command;
  tone?: "danger";
}

/**
 * What staff can do to one participant now. Staff do not moderate each other (the session refuses it), so staff get
 * none. "Ask to unmute" is allowMedia audio: it lifts a block, or (not blocked, microphone off) just asks.
 */
export function moderationActions(p: ModeratedPerson, opts: { spotlit: boolean; place: string | null }): ModerationAction[] {
  if (p.role !== "participant") return [];
  const out: ModerationAction[] = [];
  if (p.blocked.audio)
    out.push({
      id: "allow-audio",
      label: "Ask to unmute",
      hint: "Lets them turn their microphone on again",
      command: { type: "allowMedia", memberId: p.id, kind: "audio" },
    });
  else {
    out.push({
      id: "block-audio",
      label: "Mute",
      hint: "They cannot unmute until you allow it",
      command: { type: "blockMedia", memberId: p.id, kind: "audio" },
    });
    if (!p.media.mic) out.push({ id: "ask-unmute", label: "Ask to unmute", command: { type: "allowMedia", memberId: p.id, kind: "audio" } });
  }
  if (p.blocked.video) out.push({ id: "allow-video", label: "Allow camera", command: { type: "allowMedia", memberId: p.id, kind: "video" } });
  else out.push({ id: "block-video", label: "Turn off camera", command: { type: "blockMedia", memberId: p.id, kind: "video" } });
  if (p.blocked.screen) out.push({ id: "allow-screen", label: "Allow screen sharing", command: { type: "allowMedia", memberId: p.id, kind: "screen" } });
  else if (p.media.screen) out.push({ id: "block-screen", label: "Stop their screen share", command: { type: "blockMedia", memberId: p.id, kind: "screen" } });
  out.push(
    opts.spotlit
      ? { id: "unspotlight", label: "Remove spotlight", command: { type: "spotlight", memberId: null, ...(opts.place ? { location: opts.place } : {}) } }
      : {
          id: "spotlight",
          label: "Spotlight for everyone",
          hint: "Everyone in the room sees them large",
          command: { type: "spotlight", memberId: p.id, ...(opts.place ? { location: opts.place } : {}) },
        },
  );
  if (p.hand !== null) out.push({ id: "lower-hand", label: "Lower hand", command: { type: "lowerHand", memberId: p.id } });
  return out;
}

/** Raised hands, first raised first. */
export function raisedHands<T extends { hand: number | null; status?: string }>(members: readonly T[]): T[] {
  return members.filter((m) => m.hand !== null && (m.status === undefined || m.status === "admitted")).sort((a, b) => (a.hand ?? 0) - (b.hand ?? 0));
}

/** Why my own control is off, for the disabled button's hint. */
export function blockedReason(kind: MediaKind): string {
  switch (kind) {
    case "audio":
      return "The facilitator muted you. You can unmute when they allow it.";
    case "video":
      return "The facilitator turned your camera off. You can turn it on when they allow it.";
    case "screen":
      return "The facilitator stopped screen sharing for you.";
  }
}

/**
 * A member's tracks as this browser may play them: what staff blocked is dropped (local mode has no server between
 * peers, so honest peers enforce the session's word; in Twilio mode the server's Track Subscriptions already do).
 * While sharing in local mode the screen rides on the camera's sender, so a screen block drops that video too.
 */
export function allowedTracks(blocked: MediaBlocks | null | undefined, sharingOnCamera: boolean): { audio: boolean; video: boolean; screen: boolean } {
  if (!blocked) return { audio: true, video: true, screen: true };
  return { audio: !blocked.audio, video: sharingOnCamera ? !blocked.screen : !blocked.video, screen: !blocked.screen };
}

/** One line for the raised hands, first raised first: "Ana raised a hand", "Ana and Ben raised hands", "Ana, Ben and 2 others…". */
export function handsSummary(names: readonly string[]): string {
  if (names.length === 0) return "No hands raised";
  if (names.length === 1) return `${names[0]} raised a hand`;
  if (names.length === 2) return `${names[0]} and ${names[1]} raised hands`;
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]} raised hands`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} others raised hands`;
}
