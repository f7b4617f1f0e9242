/**
 * The chat panel's body: messages (newest last) and a composer with an audience ("everyone in this room" or
 * "facilitators only" / one person). Wired to a ChatChannel; while the protocol has no chat the channel is
 * unavailable, and the panel says so instead of pretending.
 */
import { createSignal, For, Show } from "solid-js";
import type { ChatAudience, ChatState } from "../../lib/chat";
import { createAction, ErrorText } from "../common";

export function ChatPanelBody(props: {
  chat: ChatState;
  roomName: string;
  /** Staff answer one person privately; participants write to the facilitators. */
  privateTargets: { id: string | null; label: string }[];
}) {
  const ch = () => props.chat.channel;
  const [text, setText] = createSignal("");
  const [to, setTo] = createSignal("room");
  const send = createAction();
  const audience = (): ChatAudience => (to() === "room" ? { kind: "room" } : { kind: "private", memberId: to() === "staff" ? null : to() });
  const time = (t: number) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return (
    <div class="chat" data-testid="chat-panel">
      <Show when={!ch().available}>
        <p class="panel-note" role="note" data-testid="chat-unavailable">
          {ch().unavailableReason}
        </p>
      </Show>
      <ol class="chat-list" aria-label="Messages">
        <For each={ch().messages()} fallback={<li class="muted small chat-empty">No messages yet.</li>}>
          {(m) => (
            <li class="chat-message" classList={{ private: m.audience.kind === "private", broadcast: m.broadcast === true }}>
              <div class="chat-meta">
                <strong>{m.from.name}</strong> <span class="muted small">{time(m.at)}</span>
                <Show when={m.audience.kind === "private"}>
                  <span class="badge">Private</span>
                </Show>
              </div>
              <p class="m0">{m.text}</p>
            </li>
          )}
        </For>
      </ol>
      <form
        class="chat-compose"
        onSubmit={async (e) => {
          e.preventDefault();
          const t = text().trim();
          if (!t || !ch().available) return;
          const ok = await send.run(() => ch().send(t, audience()));
          if (ok !== undefined) setText("");
        }}
      >
        <label for="chat-to" class="small">
          Send to
        </label>
        <select id="chat-to" value={to()} onChange={(e) => setTo(e.currentTarget.value)} disabled={!ch().available}>
          <option value="room">Everyone in {props.roomName}</option>
          <For each={props.privateTargets}>{(t) => <option value={t.id ?? "staff"}>{t.label}</option>}</For>
        </select>
        <label for="chat-text" class="visually-hidden">
          Message
        </label>
        <div class="row">
          <textarea
            id="chat-text"
            class="grow"
            rows={2}
            maxLength={1000}
            placeholder={ch().available ? "Write a message" : "Chat is not available yet"}
            value={text()}
            onInput={(e) => setText(e.currentTarget.value)}
            disabled={!ch().available}
          />
          <button type="submit" disabled={!ch().available || send.pending()}>
            Send
          </button>
        </div>
        <ErrorText error={send.error()} />
      </form>
    </div>
  );
}
