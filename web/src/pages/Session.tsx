import { createEffect, createMemo, createSignal, For, Match, on, onCleanup, Show, Switch } from "solid-js";
import { ConnectionBanner, createAction, ErrorText } from "../components/common";
import { Notices } from "../components/notices";
import { CheckInPanelBody, ShownAsPanelBody, shownAsOf } from "../components/therapy/ClientPanels";
import { ChatPanelBody } from "../components/room/ChatPanel";
import { DeviceSettings } from "../components/room/DeviceSettings";
import { CameraButton, MediaNotices, MediaStatusChip, MicButton, ShareButton } from "../components/room/MediaControls";
import { ChatButton, ControlBarLayout, LayoutToggle, RoomShell } from "../components/room/RoomShell";
import { AudioSink, roleLabel, Stage, type StageView } from "../components/room/Stage";
import { ConfirmDialog, ControlButton, createPanels, MenuButton, Panel, type MenuItem } from "../components/room/ui";
import { Icon } from "../components/room/icons";
import { LocalVideo } from "../components/video";
import { createChatState, sessionChatChannel } from "../lib/chat";
import { createMediaSession } from "../lib/media-session";
import { roundWarningShown } from "../lib/room";
import { navigate } from "../lib/router";
import { createSessionClient } from "../lib/session-client";
import { formatDuration, isCheckInPlace } from "../lib/state";
import { storage, type StoredSession } from "../lib/storage";

export default function SessionPage(props: { sessionId: string }) {
  const stored = storage.session(props.sessionId);
  return (
    <Show
      when={stored}
      fallback={
        <main id="main" class="narrow page">
          <h1>You are not in this session yet</h1>
          <p>Open the invitation link your facilitator sent you to join.</p>
        </main>
      }
    >
      {(s) => <ParticipantRoom stored={s()} />}
    </Show>
  );
}

type PanelId = "people" | "chat" | "help" | "choose" | "settings" | "you" | "checkin";

function ParticipantRoom(props: { stored: StoredSession }) {
  const st = props.stored;
  const client = createSessionClient({ sessionId: st.sessionId, ticket: st.ticket });
  onCleanup(() => client.close());
  const view = () => client.view();
  // Staff get the staff state, not a participant view: their screen is the console.
  createEffect(() => {
    const role = client.me()?.role;
    if (role && role !== "participant") {
      storage.updateSession(st.sessionId, { role });
      navigate(`/console/${encodeURIComponent(st.sessionId)}`, { replace: true });
    }
  });
  const media = createMediaSession(client, {
    ticket: st.ticket,
    choice: { audioDeviceId: st.audioDeviceId, videoDeviceId: st.videoDeviceId },
    micOn: st.micOn ?? true,
    camOn: st.camOn ?? true,
    rosterIds: () => (view()?.you.status === "admitted" ? (view()?.roommates ?? []).map((r) => r.id) : []),
    // The session's word on who is blocked: their tracks are dropped here (local mode has no server in between).
    blockedOf: (id) => view()?.roommates.find((r) => r.id === id)?.blocked ?? null,
    ownBlocked: () => view()?.you.blocked ?? null,
    reportedMedia: () => (view()?.you.status === "admitted" ? (view()?.you.media ?? null) : null),
  });

  const panels = createPanels<PanelId>();
  const selfId = () => view()?.you.memberId ?? null;
  const chatChannel = sessionChatChannel(client, { place: () => view()?.you.location ?? null, selfId, staff: () => false });
  const chat = createChatState(chatChannel, { selfId, panelOpen: () => panels.open() === "chat" });
  const help = createAction();
  const back = createAction();
  const choose = createAction();
  const leave = createAction();
  const hand = createAction();
  const toRoom = createAction();
  /** The alias being typed (null: not edited, the field shows the one the session has). */
  const [helpText, setHelpText] = createSignal("");
  const [moving, setMoving] = createSignal<string | null>(null);
  const [confirmReturn, setConfirmReturn] = createSignal(false);
  const [confirmLeave, setConfirmLeave] = createSignal(false);
  const [stageView, setStageView] = createSignal<StageView>("gallery");
  const [pinned, setPinned] = createSignal<string | null>(null);
  /** The deadline the last round warning was given for (see roundWarningShown). */
  const [warnedFor, setWarnedFor] = createSignal<number | null>(null);

  // "You're moving to Room 2": when my place changes while I am in the session.
  createEffect(
    on(
      () => view()?.you.location ?? null,
      (loc, prev) => {
        if (prev === undefined || prev === null || loc === null || loc === prev) return;
        setMoving(view()?.you.roomName ?? "another room");
        setPinned(null);
        const t = setTimeout(() => setMoving(null), 6000);
        onCleanup(() => clearTimeout(t));
      },
    ),
  );
  onCleanup(
    client.onNotice((n) => {
      if (n.notice.kind === "roundWarning") setWarnedFor(n.notice.endsAt);
    }),
  );

  const ended = () => view()?.session.phase === "ended" || client.notices().some((n) => n.notice.kind === "sessionEnded");
  const status = () => view()?.you.status ?? null;
  // "denied" after having been in the session means the facilitator removed this person.
  const [wasAdmitted, setWasAdmitted] = createSignal(false);
  createEffect(() => {
    if (status() === "admitted") setWasAdmitted(true);
  });
  // The page itself explains an ended session or a departure; no extra error banner for the closed socket then.
  const settled = () => ended() || status() === "denied" || status() === "left";
  createEffect(() => {
    if (settled()) media.stop();
  });
  const closesIn = createMemo(() => {
    const c = view()?.round?.closesAt;
    return c ? c - client.now() : null;
  });
  const inCheckIn = () => isCheckInPlace(view()?.you.location ?? null);
  const inBreakout = () => {
    const loc = view()?.you.location;
    return !!loc && loc !== "main" && !inCheckIn();
  };
  // Under a confidential roster ("firstNames"/"aliases") a client chooses how the others see them.
  const rosterHidesNames = () => {
    const r = view()?.you.roster;
    return r === "firstNames" || r === "aliases";
  };
  const shownAs = () => shownAsOf(view());
  const endsIn = createMemo(() => {
    const e = view()?.round?.endsAt;
    return e && inBreakout() ? e - client.now() : null;
  });
  const warningShown = () =>
    roundWarningShown({ warnedFor: warnedFor(), round: view()?.round ?? null, location: view()?.you.location ?? null, now: client.now() });
  const roommate = (id: string) => view()?.roommates.find((r) => r.id === id);
  const staffHere = () => (view()?.roommates ?? []).some((r) => r.role !== "participant");
  const roomName = () => view()?.you.roomName ?? "Main room";

  // Choosing a room: open the list once when choosing becomes possible.
  createEffect(
    on(
      () => (view()?.choosableRooms.length ?? 0) > 0,
      (can, before) => {
        if (can && !before) panels.show("choose");
      },
    ),
  );
  // A new screen share takes the large tile.
  createEffect(
    on(
      () => media.tiles().some((t) => t.sharing || t.screen),
      (sharing, before) => {
        if (sharing && !before) setStageView("speaker");
      },
    ),
  );

  // Staff spotlit someone for this room: show them large.
  createEffect(
    on(
      () => view()?.spotlight ?? null,
      (id) => {
        if (id) setStageView("speaker");
      },
    ),
  );

  const handUp = () => (view()?.you.hand ?? null) !== null;
  const toggleHand = () => hand.run(() => client.command(handUp() ? { type: "lowerHand" } : { type: "raiseHand" }));

  async function askHelp(e: SubmitEvent) {
    e.preventDefault();
    const text = helpText().trim();
    const ok = await help.run(() => client.command({ type: "requestHelp", ...(text ? { message: text } : {}) }));
    if (ok) {
      panels.close();
      setHelpText("");
    }
  }

  async function doLeave() {
    const ok = await leave.run(() => client.command({ type: "leave" }));
    if (ok === undefined && client.status() === "open") return;
    storage.forgetSession(st.sessionId);
    client.close();
    navigate("/", { replace: true });
  }

  async function doReturn() {
    const ok = await back.run(() => client.command({ type: "returnToMain" }));
    if (ok) setConfirmReturn(false);
  }

  const moreItems = (): MenuItem[] => {
    const v = view();
    const items: MenuItem[] = [];
    // On a phone the bar is short: these move into this menu.
    items.push({
      id: "share",
      label: media.screen() ? "Stop sharing" : "Share screen",
      icon: "screen",
      disabled: media.shareUnavailable !== null,
      hint: media.shareUnavailable ?? undefined,
      onSelect: () => (media.screen() ? media.stopShare() : void media.startShare()),
      class: "phone-only",
    });
    items.push({
      id: "hand",
      label: handUp() ? "Lower hand" : "Raise hand",
      icon: "hand",
      onSelect: () => void toggleHand(),
      class: "phone-only",
      testid: "raise-hand-menu",
    });
    items.push({
      id: "help",
      label: v?.you.helpRequested ? "Help requested" : "Ask for help",
      icon: "help",
      disabled: v?.you.helpRequested,
      onSelect: () => panels.show("help"),
      class: "phone-only",
      testid: "ask-help-menu",
    });
    if (inBreakout() && v?.allowSelfReturn)
      items.push({
        id: "return",
        label: "Return to main room",
        icon: "back",
        onSelect: () => setConfirmReturn(true),
        testid: "return-to-main-menu",
        class: "phone-only",
      });
    if ((v?.choosableRooms.length ?? 0) > 0) items.push({ id: "choose", label: "Choose a room", icon: "rooms", onSelect: () => panels.show("choose") });
    items.push({
      id: "checkin",
      label: inCheckIn() ? "Private check-in" : v?.you.checkInRequested ? "Private talk requested" : "Talk to the therapist privately",
      hint: v?.you.checkInRequested ? "Only the facilitators see your request" : undefined,
      icon: "help",
      onSelect: () => panels.show("checkin"),
      separatorBefore: true,
      testid: "checkin-menu",
    });
    if (rosterHidesNames())
      items.push({ id: "you", label: "How others see you", hint: shownAs(), icon: "people", onSelect: () => panels.show("you"), testid: "shown-as-menu" });
    items.push({
      id: "layout",
      label: stageView() === "speaker" ? "Gallery view" : "Speaker view",
      icon: stageView() === "speaker" ? "gallery" : "speaker",
      onSelect: () => setStageView(stageView() === "speaker" ? "gallery" : "speaker"),
      separatorBefore: true,
    });
    items.push({ id: "settings", label: "Settings", icon: "settings", onSelect: () => panels.show("settings"), testid: "open-settings" });
    return items;
  };

  return (
    <>
      <ConnectionBanner status={settled() ? "open" : client.status()} fatal={settled() ? null : client.fatal()} />
      <Switch fallback={<Waiting text="Connecting to the session…" />}>
        <Match when={ended()}>
          <main id="main" class="narrow page">
            <h1>The session has ended</h1>
            <p>Thank you for joining. You can close this tab.</p>
          </main>
        </Match>
        <Match when={status() === "waiting"}>
          <main id="main" class="narrow page" data-testid="waiting-room">
            <p class="muted m0">{view()?.session.title}</p>
            <h1>You're in the waiting room</h1>
            <p class="banner info" role="status">
              The facilitator will let you in shortly.
            </p>
            <div class="preview-tile">
              <LocalVideo tracks={media.local()} camOn={media.camOn()} label="Preview of your camera" />
              <div class="preview-controls overlay">
                <MicButton media={media} />
                <CameraButton media={media} />
                <ControlButton icon="leave" label="Leave" tone="danger" onClick={() => void doLeave()} testid="leave-waiting" />
              </div>
            </div>
          </main>
        </Match>
        <Match when={status() === "denied"}>
          <main id="main" class="narrow page" data-testid="denied">
            <Show
              when={wasAdmitted()}
              fallback={
                <>
                  <h1>You were not let in this time</h1>
                  <p>The facilitator did not admit you to this session. If you think this is a mistake, contact them.</p>
                </>
              }
            >
              <h1>You have been removed from the session</h1>
              <p>The facilitator removed you from this session. If you think this is a mistake, contact them.</p>
            </Show>
          </main>
        </Match>
        <Match when={status() === "left"}>
          <main id="main" class="narrow page">
            <h1>You have left the session</h1>
            <p>You can close this tab.</p>
          </main>
        </Match>
        <Match when={status() === "admitted" && view()}>
          {(v) => (
            <main id="main" class="room-main" data-testid="participant-room">
              <AudioSink media={media} memberIdFor={(id) => id} />
              <RoomShell
                testid="room"
                panelOpen={panels.open() !== null}
                top={
                  <>
                    <div class="top-title">
                      <span class="top-session">{v().session.title}</span>
                      <h1 data-testid="room-name">{roomName()}</h1>
                    </div>
                    <div class="top-status">
                      <MediaStatusChip media={media} />
                      <Show when={endsIn() !== null && (endsIn() as number) > 0 && closesIn() === null}>
                        <span class="chip" data-testid="round-timer">
                          <Icon name="timer" />
                          <span class="visually-hidden">Time left in this round: </span>
                          {formatDuration(endsIn() as number)} left
                        </span>
                      </Show>
                      <LayoutToggle view={stageView()} onChange={setStageView} />
                    </div>
                  </>
                }
                notices={
                  <>
                    <Show when={moving()}>
                      <div class="notice info" role="alert" data-testid="moving-notice">
                        You're moving to {moving()}
                      </div>
                    </Show>
                    <Show when={closesIn() !== null}>
                      <div class="notice warn" role="status" data-testid="countdown-banner">
                        Breakout rooms close in {formatDuration(Math.max(0, closesIn() as number))}. Everyone will return to the main room.
                      </div>
                    </Show>
                    <Show when={warningShown()}>
                      <div class="notice warn" role="status" data-testid="round-warning">
                        This round ends in {formatDuration(endsIn() ?? 0)}.
                      </div>
                    </Show>
                    <Show when={inCheckIn()}>
                      <div class="notice info" role="status" data-testid="checkin-notice">
                        You are in a private check-in with the therapist. Only the two of you are here; the group goes on without you.
                      </div>
                    </Show>
                    <Show when={v().returnTo}>
                      {(r) => (
                        <div class="notice info" role="status" data-testid="return-to-room-notice">
                          <span>You stepped out of {r().roomName}.</span>
                          <button
                            type="button"
                            class="small"
                            disabled={toRoom.pending()}
                            onClick={() => toRoom.run(() => client.command({ type: "returnToRoom" }))}
                            data-testid="return-to-room"
                          >
                            Go back to {r().roomName}
                          </button>
                          <ErrorText error={toRoom.error()} />
                        </div>
                      )}
                    </Show>
                    <Show when={hand.error()}>
                      <ErrorText error={hand.error()} />
                    </Show>
                    <Show when={v().you.helpRequested}>
                      <div class="notice info" role="status" data-testid="help-requested">
                        {staffHere() ? "The facilitator is here with you." : "Help requested. The facilitator will come by."}
                      </div>
                    </Show>
                    <Show when={v().choosableRooms.length > 0 && panels.open() !== "choose"}>
                      <div class="notice info" role="status">
                        <span>You can choose a breakout room.</span>
                        <button type="button" class="small" onClick={() => panels.show("choose")}>
                          Choose a room
                        </button>
                      </div>
                    </Show>
                    <Notices client={client} audience="participant" isRelevant={(n) => (n.kind === "roomClosing" ? inBreakout() : true)} />
                    <MediaNotices media={media} />
                  </>
                }
                stage={
                  <Stage
                    media={media}
                    self={{ name: v().you.name, role: v().you.role }}
                    person={(id) => {
                      const r = roommate(id);
                      return { name: r?.name ?? "Guest", role: r?.role ?? null, memberId: id, hand: r?.hand ?? null };
                    }}
                    view={stageView()}
                    pinned={pinned()}
                    spotlight={v().spotlight}
                    canSpotlight={false}
                    onPin={(id) => {
                      setPinned(id);
                      if (id) setStageView("speaker");
                    }}
                    onSpotlight={() => {}}
                  />
                }
                panel={
                  <Switch>
                    <Match when={panels.open() === "people"}>
                      <Panel id="people" title="People" onClose={panels.close}>
                        <p class="muted small">In {roomName()}</p>
                        <ul class="people-list" data-testid="roommates">
                          <li class="person">
                            <span class="avatar-dot" aria-hidden="true">
                              {v().you.name.slice(0, 1).toUpperCase()}
                            </span>
                            <span class="person-main">
                              <span class="person-name">{v().you.name} (you)</span>
                              <Show when={rosterHidesNames()}>
                                <span class="muted small" data-testid="people-shown-as">
                                  Others see you as {shownAs()}
                                </span>
                              </Show>
                            </span>
                            <Show when={roleLabel(v().you.role)}>{(r) => <span class="badge">{r()}</span>}</Show>
                            <Show when={handUp()}>
                              <span class="badge">Hand raised</span>
                            </Show>
                          </li>
                          <For each={v().roommates}>
                            {(r) => (
                              <li class="person" data-member-id={r.id}>
                                <span class="avatar-dot" aria-hidden="true">
                                  {r.name.slice(0, 1).toUpperCase()}
                                </span>
                                <span class="person-name">{r.name}</span>
                                <Show when={roleLabel(r.role)}>{(l) => <span class="badge">{l()}</span>}</Show>
                                <Show when={r.hand !== null}>
                                  <span class="badge">Hand raised</span>
                                </Show>
                                <Show when={r.blocked.audio}>
                                  <span class="muted small">muted by the facilitator</span>
                                </Show>
                                <Show when={!r.arrived}>
                                  <span class="muted small">joining video…</span>
                                </Show>
                              </li>
                            )}
                          </For>
                        </ul>
                        <Show when={v().steppedOut.length > 0}>
                          <p class="muted small" data-testid="stepped-out">
                            {v()
                              .steppedOut.map((p) => p.name)
                              .join(", ")}{" "}
                            stepped out for a moment.
                          </p>
                        </Show>
                        <Show when={rosterHidesNames()}>
                          <button type="button" class="secondary small" onClick={() => panels.show("you")} data-testid="open-shown-as">
                            How others see you
                          </button>
                        </Show>
                      </Panel>
                    </Match>
                    <Match when={panels.open() === "you"}>
                      <Panel id="you" title="How others see you" onClose={panels.close}>
                        <ShownAsPanelBody client={client} view={v()} />
                      </Panel>
                    </Match>
                    <Match when={panels.open() === "checkin"}>
                      <Panel id="checkin" title="Talk privately" onClose={panels.close}>
                        <CheckInPanelBody client={client} view={v()} inCheckIn={inCheckIn()} />
                      </Panel>
                    </Match>
                    <Match when={panels.open() === "chat"}>
                      <Panel id="chat" title="Chat" onClose={panels.close}>
                        <ChatPanelBody
                          chat={chat}
                          roomName={roomName()}
                          privateTargets={[{ id: v().you.memberId, label: "The facilitators only (private)" }]}
                        />
                      </Panel>
                    </Match>
                    <Match when={panels.open() === "help"}>
                      <Panel id="help" title="Ask for help" onClose={panels.close}>
                        <Show when={!v().you.helpRequested} fallback={<p>Your request was sent. The facilitator will come by.</p>}>
                          <form onSubmit={askHelp} data-testid="help-form">
                            <p class="muted">The facilitator gets your request wherever they are, and can join your room.</p>
                            <div class="field">
                              <label for="help-text">
                                Message <span class="hint">(optional, only the facilitators see it)</span>
                              </label>
                              <textarea id="help-text" maxLength={280} value={helpText()} onInput={(e) => setHelpText(e.currentTarget.value)} />
                            </div>
                            <button type="submit" disabled={help.pending()} data-testid="send-help">
                              Send request
                            </button>
                            <ErrorText error={help.error()} />
                          </form>
                        </Show>
                      </Panel>
                    </Match>
                    <Match when={panels.open() === "choose"}>
                      <Panel id="choose" title="Choose a room" onClose={panels.close}>
                        <Show when={v().choosableRooms.length > 0} fallback={<p class="muted">There are no rooms to choose from now.</p>}>
                          <ul class="list" data-testid="choose-room">
                            <For each={v().choosableRooms}>
                              {(r) => (
                                <li class="row spread">
                                  <span>
                                    {r.name}{" "}
                                    <span class="muted small">
                                      ({r.count} of {r.capacity})
                                    </span>
                                  </span>
                                  <button
                                    type="button"
                                    class="secondary small"
                                    disabled={choose.pending() || r.count >= r.capacity || v().you.location === r.id}
                                    onClick={() => choose.run(() => client.command({ type: "chooseRoom", roomId: r.id }))}
                                    data-testid={`choose-room-${r.id}`}
                                  >
                                    {v().you.location === r.id ? "You are here" : `Join ${r.name}`}
                                  </button>
                                </li>
                              )}
                            </For>
                          </ul>
                        </Show>
                        <ErrorText error={choose.error()} />
                      </Panel>
                    </Match>
                    <Match when={panels.open() === "settings"}>
                      <Panel id="settings" title="Settings" onClose={panels.close}>
                        <DeviceSettings media={media} />
                      </Panel>
                    </Match>
                  </Switch>
                }
                controls={
                  <ControlBarLayout
                    info={<span class="bar-room">{roomName()}</span>}
                    center={
                      <>
                        <MicButton media={media} />
                        <CameraButton media={media} />
                        <ShareButton media={media} class="wide-only" />
                        <ControlButton
                          icon="hand"
                          label={handUp() ? "Lower hand" : "Raise hand"}
                          pressed={handUp()}
                          onClick={() => void toggleHand()}
                          testid="raise-hand"
                          class="wide-only"
                        />
                        <Show when={inBreakout() && v().allowSelfReturn}>
                          <ControlButton icon="back" label="To main room" onClick={() => setConfirmReturn(true)} testid="return-to-main" class="wide-only" />
                        </Show>
                        <MenuButton label="More options" class="ctl" items={moreItems} placement="up" testid="more">
                          <Icon name="more" />
                          <span class="ctl-label">More</span>
                        </MenuButton>
                        <ControlButton icon="leave" label="Leave" tone="danger" onClick={() => setConfirmLeave(true)} testid="leave" />
                      </>
                    }
                    right={
                      <>
                        <ControlButton
                          icon="people"
                          label="People"
                          pressed={panels.open() === "people"}
                          onClick={() => panels.toggle("people")}
                          panel="people"
                          testid="toggle-people"
                        />
                        <ChatButton chat={chat} open={panels.open() === "chat"} onClick={() => panels.toggle("chat")} />
                        <ControlButton
                          icon="help"
                          label={v().you.helpRequested ? "Help asked" : "Ask for help"}
                          pressed={panels.open() === "help"}
                          onClick={() => panels.toggle("help")}
                          panel="help"
                          testid="ask-help"
                          class="wide-only"
                        />
                      </>
                    }
                  />
                }
              />
              <ConfirmDialog
                open={confirmReturn()}
                title="Go back to the main room?"
                confirmLabel="Go to the main room"
                cancelLabel={`Stay in ${roomName()}`}
                pending={back.pending()}
                error={back.error()}
                testid="return-dialog"
                confirmTestid="return-confirm"
                onConfirm={() => void doReturn()}
                onClose={() => setConfirmReturn(false)}
              >
                <p>You will leave {roomName()}. While the rooms are open you can go back to it from the main room.</p>
              </ConfirmDialog>
              <ConfirmDialog
                open={confirmLeave()}
                title="Leave the session?"
                confirmLabel="Leave"
                cancelLabel="Stay"
                tone="danger"
                pending={leave.pending()}
                error={leave.error()}
                testid="leave-dialog"
                confirmTestid="leave-confirm"
                onConfirm={() => void doLeave()}
                onClose={() => setConfirmLeave(false)}
              >
                <p>You can join again later with the invitation link.</p>
              </ConfirmDialog>
            </main>
          )}
        </Match>
      </Switch>
    </>
  );
}

function Waiting(props: { text: string }) {
  return (
    <main id="main" class="narrow page">
      <p role="status">{props.text}</p>
    </main>
  );
}
