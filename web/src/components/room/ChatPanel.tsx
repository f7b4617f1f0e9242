/**
 * The chat panel's body: messages (newest last) and a composer with an audience: everyone in this room, or private
 * (a client: the facilitators; staff: one client's thread). Staff can delete a message. Refusals (sending too fast,
 * the room changed) are shown calmly under the composer; the typed text is kept so nothing is lost.
 */
import { createEffect, createSignal, For, on, Show } from "solid-js";
import { type ChatAudience, type ChatMessage, type ChatState, chatErrorText, privateMemberOf, roomOfChannel } from "../../lib/chat";
import { isCommandError } from "../../lib/session-core";
import { ErrorText } from "../common";
import { Icon } from "./icons";
import { roleLabel } from "./Stage";

function refusalText(e: unknown): string {
  if (isCommandError(e)) return chatErrorText(e.code, e.message);
  return e instanceof Error ? e.message : String(e);
}

export function ChatPanelBody(props: {
  chat: ChatState;
  roomName: string;
  /** Private threads the composer can write to: a client's own (to the facilitators) or, for staff, each client's. */
  privateTargets: { id: string; label: string }[];
  /** Staff: delete buttons, and private threads labelled by whose they are. */
  staff?: boolean;
  nameOf?: (memberId: string) => string;
  /** Staff: where I am now, and room names, to label messages written in another room. */
  here?: string | null;
  placeName?: (place: string) => string;
  /** A line under the title (staff: whether chat is kept in the session record). */
  note?: string;
}) {
  const ch = () => props.chat.channel;
  const [text, setText] = createSignal("");
  const [to, setTo] = createSignal("room");
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<string | null>(null);
  let list!: HTMLOListElement;
  // A private target that went away (moved, left) falls back to the room.
  createEffect(() => {
    if (to() !== "room" && !props.privateTargets.some((t) => t.id === to())) setTo("room");
  });
  // Keep the newest message in view.
  createEffect(
    on(
      () => ch().messages().length,
      () => queueMicrotask(() => list?.lastElementChild?.scrollIntoView({ block: "nearest" })),
    ),
  );
  const audience = (): ChatAudience => (to() === "room" ? { kind: "room" } : { kind: "private", memberId: to() });
  const time = (t: number) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const privateLabel = (m: ChatMessage) => {
    const owner = privateMemberOf(m.channel);
    if (!owner) return null;
    return props.staff ? `Private with ${props.nameOf?.(owner) ?? "a participant"}` : "Private";
  };
  const otherRoom = (m: ChatMessage) => {
    const place = roomOfChannel(m.channel);
    return props.staff && place !== null && place !== props.here ? `In ${props.placeName?.(place) ?? place}` : null;
  };
  async function submit(e: SubmitEvent) {
    e.preventDefault();
    const t = text().trim();
    if (!t || pending()) return;
    setPending(true);
    setError(null);
    try {
      await ch().send(t, audience());
      setText("");
    } catch (err) {
      setError(refusalText(err));
    } finally {
      setPending(false);
    }
  }
  async function remove(m: ChatMessage) {
    setError(null);
    try {
      await ch().remove(m.id);
    } catch (err) {
      setError(refusalText(err));
    }
  }
  return (
    <div class="chat" data-testid="chat-panel">
      <Show when={props.note}>
        <p class="panel-note muted small" data-testid="chat-record-note">
          {props.note}
        </p>
      </Show>
      <ol class="chat-list" aria-label="Messages" ref={list} data-testid="chat-list">
        <For each={ch().messages()} fallback={<li class="muted small chat-empty">No messages yet.</li>}>
          {(m) => (
            <li
              class="chat-message"
              classList={{ private: privateMemberOf(m.channel) !== null, broadcast: m.kind === "broadcast" }}
              data-testid="chat-message"
              data-channel={m.channel}
            >
              <div class="chat-meta">
                <strong>{m.fromName}</strong>
                <Show when={roleLabel(m.fromRole)}>{(r) => <span class="badge">{r()}</span>}</Show> <span class="muted small">{time(m.at)}</span>
                <Show when={privateLabel(m)}>{(l) => <span class="badge">{l()}</span>}</Show>
                <Show when={otherRoom(m)}>{(l) => <span class="badge">{l()}</span>}</Show>
                <Show when={m.kind === "broadcast"}>
                  <span class="badge">{m.channel === "all" ? "To everyone" : "To this room"}</span>
                </Show>
                <Show when={props.staff && m.kind === "message"}>
                  <button
                    type="button"
                    class="icon-button small chat-delete"
                    aria-label={`Delete the message from ${m.fromName}`}
                    title="Delete for everyone"
                    onClick={() => void remove(m)}
                    data-testid="chat-delete"
                  >
                    <Icon name="close" />
                  </button>
                </Show>
              </div>
              <p class="m0 chat-text">{m.text}</p>
            </li>
          )}
        </For>
      </ol>
      <form class="chat-compose" onSubmit={submit}>
        <label for="chat-to" class="small">
          Send to
        </label>
        <select id="chat-to" value={to()} onChange={(e) => setTo(e.currentTarget.value)} data-testid="chat-to">
          <option value="room">Everyone in {props.roomName}</option>
          <For each={props.privateTargets}>{(t) => <option value={t.id}>{t.label}</option>}</For>
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
            placeholder="Write a message"
            value={text()}
            onInput={(e) => setText(e.currentTarget.value)}
            onKeyDown={(e) => {
              // Enter sends, Shift+Enter makes a new line (as in other meeting apps).
              if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                e.currentTarget.form?.requestSubmit();
              }
            }}
            data-testid="chat-text"
          />
          <button type="submit" disabled={pending() || text().trim() === ""} data-testid="chat-send">
            Send
          </button>
        </div>
        <ErrorText error={error()} testid="chat-error" />
      </form>
    </div>
  );
}
