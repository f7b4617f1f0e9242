/**
 * The room's frame, shared by the participant page and the staff console: a top bar, a row of notices, the stage
 * with the open side panel beside it (a sheet over it on a phone), and the control bar, all inside the viewport
 * (the page itself never scrolls; panels scroll inside).
 */
import { createSignal, onCleanup, Show, type JSX } from "solid-js";
import type { ChatState } from "../../lib/chat";
import { Icon } from "./icons";
import { ControlButton } from "./ui";
import type { StageView } from "./Stage";

export function RoomShell(props: {
  testid: string;
  top: JSX.Element;
  notices?: JSX.Element;
  stage: JSX.Element;
  panel?: JSX.Element;
  panelOpen: boolean;
  controls: JSX.Element;
}) {
  return (
    <div class="room" classList={{ "with-panel": props.panelOpen }} data-testid={props.testid}>
      <header class="room-top">{props.top}</header>
      <div class="room-body">
        <div class="room-stage">
          <div class="room-notices" aria-live="polite">
            {props.notices}
          </div>
          {props.stage}
        </div>
        <Show when={props.panelOpen}>{props.panel}</Show>
      </div>
      <section class="room-controls" aria-label="Meeting controls" data-testid="control-bar">
        {props.controls}
      </section>
    </div>
  );
}

/** The three groups of the control bar: the time and where you are (wide screens), your media and actions, the panels. */
export function ControlBarLayout(props: { info?: JSX.Element; center: JSX.Element; right?: JSX.Element }) {
  return (
    <>
      <div class="bar-info">
        <Clock />
        {props.info}
      </div>
      <div class="bar-center">{props.center}</div>
      <div class="bar-right">{props.right}</div>
    </>
  );
}

/** The time of day, as meeting apps show it beside the controls. */
const TIME_OF_DAY = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });

function Clock() {
  const fmt = () => TIME_OF_DAY.format(new Date());
  const [t, setT] = createSignal(fmt());
  const timer = setInterval(() => setT(fmt()), 15_000);
  onCleanup(() => clearInterval(timer));
  return <span class="bar-clock">{t()}</span>;
}

/** Gallery ⇄ speaker view, one toggle button in the top bar. */
export function LayoutToggle(props: { view: StageView; onChange: (v: StageView) => void }) {
  return (
    <button
      type="button"
      class="top-button"
      aria-pressed={props.view === "speaker"}
      onClick={() => props.onChange(props.view === "speaker" ? "gallery" : "speaker")}
      data-testid="layout-toggle"
      title={props.view === "speaker" ? "Show everyone in a gallery" : "Show the speaker large"}
    >
      <Icon name={props.view === "speaker" ? "speaker" : "gallery"} />
      <span>Speaker view</span>
    </button>
  );
}

/** The chat button with its unread badge. */
export function ChatButton(props: { chat: ChatState; open: boolean; onClick: () => void; class?: string }) {
  return (
    <ControlButton
      icon="chat"
      label="Chat"
      pressed={props.open}
      badge={props.chat.unread()}
      badgeText="unread"
      onClick={props.onClick}
      panel="chat"
      testid="toggle-chat"
      class={props.class}
    />
  );
}
