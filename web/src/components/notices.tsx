import { For, Show } from "solid-js";
import type { Notice } from "../../../lib/protocol";
import type { NoticeEntry, SessionClient } from "../lib/session-client";
import { createAction, ErrorText } from "./common";
import { Icon } from "./room/icons";

/** The one thing to do about a notice (staff: bring an unsupervised room back, start a requested check-in). */
export interface NoticeAction {
  label: string;
  testid: string;
  run: () => Promise<unknown>;
}

function text(n: Notice, audience: "participant" | "staff", me: string | null, roomName: (id: string | null) => string): string | null {
  switch (n.kind) {
    case "broadcast":
      return audience === "staff" ? `Message sent to ${n.roomId ? roomName(n.roomId) : "everyone"}: “${n.text}”` : `Message from the facilitator: “${n.text}”`;
    case "helpRequested":
      return audience === "staff" ? `${n.name} asked for help${n.location ? ` (${roomName(n.location)})` : ""}${n.message ? `: “${n.message}”` : "."}` : null;
    case "helpResolved":
      return audience === "participant" && n.memberId === me ? "The facilitator has seen your request for help." : null;
    case "roundWarning":
      // Participants see the round-warning banner with the time left instead.
      return audience === "staff" ? "This round is nearly over." : null;
    case "closingCountdown":
      return null; // shown as the countdown banner
    case "roomClosing":
      return audience === "staff" ? `${roomName(n.roomId)} is closing.` : "This room is closing. You'll return to the main room.";
    case "joinRequest":
      return null; // staff see one grouped waiting-room notice instead (Console)
    case "sessionEnded":
      return "The session has ended.";
    case "mediaError":
      return audience === "staff" ? `Video problem (${roomName(n.key)}): ${n.message}` : null;
    case "roomUnsupervised":
      return audience === "staff" ? `${n.roomName} has no facilitator now (${n.name} ${n.reason}).` : null;
    case "checkInRequested":
      return audience === "staff" ? `${n.name} would like to talk to you privately${n.location ? ` (${roomName(n.location)})` : ""}.` : null;
    case "unexpectedConnection":
      return audience === "staff" ? `An unexpected connection to ${n.roomName}${n.name ? ` (${n.name})` : ""} was removed.` : null;
    case "mediaBlocked":
      // The person sees a lasting notice while it holds (MediaNotices), not a second, fading one.
      return null;
    case "mediaAllowed":
      if (audience === "staff") return null;
      return n.memberId !== me
        ? null
        : n.media === "audio"
          ? "The facilitator asks you to unmute."
          : n.media === "video"
            ? "You can turn your camera on again."
            : "You can share your screen again.";
    case "memberReturned":
      return audience === "staff" ? `${n.name} went back to the main room${n.roomName ? ` from ${n.roomName}` : ""}.` : null;
  }
}

const EVENT_NOTICE_MS = 20_000;

/** Whether an event notice is still on screen (not dismissed, not faded), so a lasting summary need not repeat it. */
export function noticeShowing(client: SessionClient, match: (n: Notice) => boolean): boolean {
  return client.notices().some((e) => match(e.notice) && (client.now(), Date.now() - e.receivedAt < EVENT_NOTICE_MS));
}

/** Messages and events, newest last (three at most), each dismissible. The notices row announces them politely. */
export function Notices(props: {
  client: SessionClient;
  audience: "participant" | "staff";
  roomName?: (id: string | null) => string;
  /** Hide notices that no longer matter (e.g. a join request already answered). */
  isRelevant?: (n: Notice) => boolean;
  /** The action a notice offers, if any; the notice goes away once it succeeded. */
  action?: (n: Notice) => NoticeAction | null;
}) {
  const roomName = (id: string | null) => props.roomName?.(id) ?? (id === "main" ? "Main room" : (id ?? ""));
  const shown = () =>
    props.client
      .notices()
      .filter((e) => props.isRelevant?.(e.notice) ?? true)
      // Messages stay until dismissed; events fade after a while.
      // (client.now() only subscribes to the once-a-second tick; receivedAt is this browser's clock.)
      .filter((e) => e.notice.kind === "broadcast" || (props.client.now(), Date.now() - e.receivedAt < EVENT_NOTICE_MS))
      .map((e) => ({ e, t: text(e.notice, props.audience, props.client.me()?.memberId ?? null, roomName) }))
      .filter((x): x is { e: NoticeEntry; t: string } => x.t !== null)
      .slice(-3);
  return (
    <For each={shown()}>
      {(x) => {
        const a = createAction();
        const action = () => props.action?.(x.e.notice) ?? null;
        return (
          <div class={`notice ${x.e.notice.kind === "broadcast" ? "message" : "info"}`} data-testid={`notice-${x.e.notice.kind}`}>
            <span>{x.t}</span>
            <Show when={action()}>
              {(act) => (
                <button
                  type="button"
                  class="small"
                  disabled={a.pending()}
                  onClick={async () => {
                    const done = await a.run(act().run);
                    if (done !== undefined) props.client.dismissNotice(x.e.id);
                  }}
                  data-testid={act().testid}
                >
                  {act().label}
                </button>
              )}
            </Show>
            <button type="button" class="icon-button small" aria-label="Dismiss message" onClick={() => props.client.dismissNotice(x.e.id)}>
              <Icon name="close" />
            </button>
            <ErrorText error={a.error()} />
          </div>
        );
      }}
    </For>
  );
}
