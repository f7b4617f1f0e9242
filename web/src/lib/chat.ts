/**
 * Chat, client side, against a small interface so the panel and the unread badge can be wired to the session protocol
 * once it carries chat (issue 13: messages in the session Durable Object, on the seq/resume stream, per room, private
 * to the facilitators, deletable by staff). Until then the only channel is `unavailableChat`: it has no messages and
 * sends nothing. Nothing here invents messages.
 *
 * The unread count is pure (unreadCount) and unit-tested.
 */
import { createMemo, createSignal, type Accessor } from "solid-js";

export type ChatAudience =
  /** Everyone in my room (the main room or my breakout room). */
  | { kind: "room" }
  /** Only the facilitators (a client's private message), or one client (a facilitator's answer). */
  | { kind: "private"; memberId: string | null };

export interface ChatMessage {
  id: string;
  /** The session's seq: the order of messages, shared with every other frame. */
  seq: number;
  at: number;
  from: { memberId: string; name: string; role: "facilitator" | "cofacilitator" | "participant" };
  text: string;
  audience: ChatAudience;
  /** A facilitator's broadcast, shown in chat too. */
  broadcast?: boolean;
}

export interface ChatChannel {
  /** False until the server carries chat; the panel then says so and offers no composer. */
  available: boolean;
  /** Why it is not available, in plain words. */
  unavailableReason: string | null;
  messages: Accessor<readonly ChatMessage[]>;
  send: (text: string, audience: ChatAudience) => Promise<void>;
}

/** The channel used while the protocol has no chat: empty, and it refuses to send. */
export const unavailableChat: ChatChannel = {
  available: false,
  unavailableReason: "Chat is coming soon. It needs an update on the server first, so nothing typed here would reach anyone yet.",
  messages: () => [],
  send: async () => {
    throw new Error("chat is not available yet");
  },
};

/** Messages after the last one read that others wrote. */
export function unreadCount(messages: readonly Pick<ChatMessage, "seq" | "from">[], lastReadSeq: number, selfId: string | null): number {
  let n = 0;
  for (const m of messages) if (m.seq > lastReadSeq && m.from.memberId !== selfId) n++;
  return n;
}

/**
 * Unread state for the badge: everything is read while the chat panel is open; otherwise messages from others after
 * the last one seen count.
 */
export function createChatState(channel: ChatChannel, opts: { selfId: Accessor<string | null>; panelOpen: Accessor<boolean> }) {
  const [lastRead, setLastRead] = createSignal(0);
  const latest = () => channel.messages().reduce((max, m) => Math.max(max, m.seq), 0);
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
