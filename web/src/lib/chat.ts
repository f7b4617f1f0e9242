/**
 * Chat, client side. Messages come from the session socket: the snapshot's `chat` (what this member may read that the
 * session still holds), then `chat` and `chatDeleted` frames on the seq/resume stream. The server already sends each
 * member only what they may read; here we choose what the panel shows now (my room, my private thread, broadcasts),
 * count unread messages and turn the composer's choice into a channel.
 *
 * The list helpers (applyChatFrame, visibleChat, unreadCount, channelFor) are pure and unit-tested.
 */
import { createMemo, createSignal, type Accessor } from "solid-js";
import type { ChatMessage, Command } from "../../../lib/protocol";

export type { ChatMessage };

/** Who a message from the composer goes to. */
export type ChatAudience =
  /** Everyone in my room (the main room or my breakout room). */
  | { kind: "room" }
  /** A client's private thread with the facilitators: mine (a client), or one client's (staff answering). */
  | { kind: "private"; memberId: string };

/** The protocol channel for a composer choice, sent from `place` ("main" or a room id). */
export function channelFor(audience: ChatAudience, place: string): string {
  return audience.kind === "room" ? `room:${place}` : `private:${audience.memberId}`;
}

/** The member a private channel belongs to, or null for room channels and broadcasts. */
export function privateMemberOf(channel: string): string | null {
  return channel.startsWith("private:") ? channel.slice("private:".length) : null;
}

export type ChatFrame = { type: "snapshot"; chat: ChatMessage[] } | { type: "chat"; message: ChatMessage } | { type: "chatDeleted"; messageId: string };

/** Keep at most this many messages in the browser (the session keeps 500; a long session should not grow the tab). */
export const BROWSER_CHAT_LIMIT = 1000;

/** The message list after one frame: a snapshot replaces it, a message is added once, a deletion removes it. */
export function applyChatFrame(list: readonly ChatMessage[], frame: ChatFrame): ChatMessage[] {
  switch (frame.type) {
    case "snapshot":
      return [...frame.chat];
    case "chat":
      if (list.some((m) => m.id === frame.message.id)) return [...list];
      return [...list, frame.message].slice(-BROWSER_CHAT_LIMIT);
    case "chatDeleted":
      return list.filter((m) => m.id !== frame.messageId);
  }
}

/**
 * What the panel shows. A client: the room they are in now, broadcasts to everyone, and their own private thread (a
 * client who moved keeps the old room's messages in memory but no longer sees them). Staff: everything they receive,
 * every room's and every private thread (the panel labels messages from other rooms), so a therapist in the main
 * room still sees what is written in the breakout rooms.
 */
export function visibleChat(list: readonly ChatMessage[], opts: { place: string | null; selfId: string | null; staff: boolean }): ChatMessage[] {
  if (opts.staff) return [...list];
  return list.filter((m) => {
    if (m.channel === "all") return true;
    const owner = privateMemberOf(m.channel);
    if (owner !== null) return owner === opts.selfId;
    return opts.place !== null && m.channel === `room:${opts.place}`;
  });
}

/** The place of a room channel ("room:r2" → "r2"), or null. */
export function roomOfChannel(channel: string): string | null {
  return channel.startsWith("room:") ? channel.slice("room:".length) : null;
}

/** Messages others wrote after `lastReadAt` (session clock ms). */
export function unreadCount(messages: readonly Pick<ChatMessage, "at" | "from">[], lastReadAt: number, selfId: string | null): number {
  let n = 0;
  for (const m of messages) if (m.at > lastReadAt && m.from !== selfId) n++;
  return n;
}

/** What the chat panel and the badge read; the session client provides messages and send. */
export interface ChatChannel {
  messages: Accessor<readonly ChatMessage[]>;
  send: (text: string, audience: ChatAudience) => Promise<unknown>;
  remove: (messageId: string) => Promise<unknown>;
}

/**
 * Unread state for the badge: everything is read while the chat panel is open; otherwise messages from others after
 * the newest one seen count. By message time, not seq: a snapshot after a long disconnect carries no seqs per message.
 */
export function createChatState(channel: ChatChannel, opts: { selfId: Accessor<string | null>; panelOpen: Accessor<boolean> }) {
  const [lastRead, setLastRead] = createSignal(0);
  const latest = () => channel.messages().reduce((max, m) => Math.max(max, m.at), 0);
  const unread = createMemo(() => {
    if (opts.panelOpen()) {
      const l = latest();
      if (l > lastRead()) queueMicrotask(() => setLastRead(l));
      return 0;
    }
    return unreadCount(channel.messages(), lastRead(), opts.selfId());
  });
  return { channel, unread, markAllRead: () => setLastRead(latest()) };
}
export type ChatState = ReturnType<typeof createChatState>;

/** A calm sentence for a refused chat command. */
export function chatErrorText(code: string, fallback: string): string {
  switch (code) {
    case "RATE_LIMITED":
      return "You are sending messages quickly. Wait a few seconds, then send again.";
    case "FORBIDDEN":
      return "This message cannot go there from where you are now.";
    case "MEMBER_NOT_FOUND":
      return "That person is no longer in the session.";
    case "NOT_FOUND":
      return "That message is already gone.";
    case "SESSION_ENDED":
      return "The session has ended, so chat is closed.";
    case "NOT_ADMITTED":
      return "You can chat once you are in the session.";
    case "CONNECTION_CLOSED":
      return "Not connected right now. Your message was not sent; try again in a moment.";
    default:
      return fallback;
  }
}

/**
 * A ChatChannel over the session socket: what the panel may show from the client's chat (visibleChat), sending with
 * `sendChat` from where I am, deleting with `deleteChat` (staff).
 */
export function sessionChatChannel(
  client: { chat: Accessor<readonly ChatMessage[]>; command: (c: Command) => Promise<unknown> },
  opts: { place: Accessor<string | null>; selfId: Accessor<string | null>; staff: Accessor<boolean> },
): ChatChannel {
  const messages = createMemo(() => visibleChat(client.chat(), { place: opts.place(), selfId: opts.selfId(), staff: opts.staff() }));
  return {
    messages,
    send: (text, audience) => {
      const place = opts.place();
      if (audience.kind === "room" && !place) return Promise.reject(new Error("You are not in a room right now."));
      return client.command({ type: "sendChat", channel: channelFor(audience, place ?? ""), text });
    },
    remove: (messageId) => client.command({ type: "deleteChat", messageId }),
  };
}
