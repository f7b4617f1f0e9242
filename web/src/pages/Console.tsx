/**
 * The staff console: the same room as participants see (video first, control bar, side panels), with the staff's
 * panels: breakout rooms, people, waiting room, help requests, invite links, settings, chat. After the end, a link to
 * the session report.
 */
import { createEffect, createMemo, createSignal, Match, on, onCleanup, Show, Switch } from "solid-js";
import { MAIN_ROOM } from "../../../lib/protocol";
import { ConnectionBanner, createAction, ErrorText } from "../components/common";
import { BreakoutPanelBody, createBreakoutDraft } from "../components/console/Breakouts";
import { PlanPanelBody, PlanStrip } from "../components/console/Plan";
import {
  admitAll,
  CheckInPanelBody,
  checkInAsking,
  helpAsking,
  HelpPanelBody,
  InvitePanelBody,
  PeoplePanelBody,
  SettingsPanelBody,
  startCheckIn,
  waitingMembers,
  WaitingPanelBody,
} from "../components/console/StaffPanels";
import { Notices, noticeShowing } from "../components/notices";
import { ChatPanelBody } from "../components/room/ChatPanel";
import { Icon } from "../components/room/icons";
import { CameraButton, MediaNotices, MediaStatusChip, MicButton, ShareButton } from "../components/room/MediaControls";
import { ChatButton, ControlBarLayout, LayoutToggle, RoomShell } from "../components/room/RoomShell";
import { AudioSink, Stage, type StageView } from "../components/room/Stage";
import { ConfirmDialog, ControlButton, createPanels, MenuButton, Panel, type MenuItem } from "../components/room/ui";
import { linkClick, navigate } from "../lib/router";
import { createChatState, sessionChatChannel } from "../lib/chat";
import { createMediaSession } from "../lib/media-session";
import { handsSummary, moderationActions, raisedHands } from "../lib/moderation";
import { mediaModeLabel, phaseLabel, usageLabel, waitingSummary } from "../lib/room";
import { createSessionClient } from "../lib/session-client";
import { connectingText, createConnectingTracker } from "../lib/connecting";
import { estimateCost, formatDuration, isCheckInPlace, PRICE_PER_PARTICIPANT_MINUTE, placeLabel } from "../lib/state";
import { storage, type StoredSession } from "../lib/storage";

export default function ConsolePage(props: { sessionId: string }) {
  const stored = storage.session(props.sessionId);
  return (
    <Show
      when={stored && stored.role !== "participant" ? stored : null}
      fallback={
        <main id="main" class="narrow page">
          <h1>Console not available in this tab</h1>
          <p>
            Open the console from the browser tab where you created the session, or <a href="/">start a new session</a>.
          </p>
        </main>
      }
    >
      {(s) => <Console stored={s()} />}
    </Show>
  );
}

type PanelId = "breakouts" | "people" | "waiting" | "help" | "invite" | "settings" | "chat" | "checkins" | "plan";

const PANEL_TITLES: Record<PanelId, string> = {
  breakouts: "Breakout rooms",
  people: "People",
  waiting: "Waiting room",
  help: "Help requests",
  invite: "Invite people",
  settings: "Settings",
  chat: "Chat",
  checkins: "Private check-ins",
  plan: "Session plan",
};

function Console(props: { stored: StoredSession }) {
  const st = props.stored;
  const client = createSessionClient({ sessionId: st.sessionId, ticket: st.ticket });
  onCleanup(() => client.close());
  const staff = () => client.staff();
  const myId = () => client.me()?.memberId ?? st.memberId;
  const me = () => staff()?.members.find((m) => m.id === myId()) ?? null;
  const media = createMediaSession(client, {
    ticket: st.ticket,
    choice: { audioDeviceId: st.audioDeviceId, videoDeviceId: st.videoDeviceId },
    micOn: st.micOn ?? true,
    camOn: st.camOn ?? true,
    rosterIds: () => {
      const s = staff();
      const loc = me()?.location;
      if (!s || !loc) return [];
      return s.members.filter((m) => m.status === "admitted" && m.location === loc && m.id !== myId() && m.connected).map((m) => m.id);
    },
    blockedOf: (id) => staff()?.members.find((m) => m.id === id || m.identity === id)?.blocked ?? null,
    ownBlocked: () => me()?.blocked ?? null,
    reportedMedia: () => (me()?.status === "admitted" ? (me()?.media ?? null) : null),
  });
  createEffect(() => {
    if (staff()?.session.phase === "ended") media.stop();
  });

  const panels = createPanels<PanelId>();
  const chatChannel = sessionChatChannel(client, { place: () => me()?.location ?? null, selfId: myId, staff: () => true });
  const chat = createChatState(chatChannel, { selfId: myId, panelOpen: () => panels.open() === "chat" });
  const draft = createBreakoutDraft(60);
  const [stageView, setStageView] = createSignal<StageView>("gallery");
  const [pinned, setPinned] = createSignal<string | null>(null);
  const spotlight = () => {
    const here = me()?.location;
    return here ? (staff()?.spotlights[here] ?? null) : null;
  };
  const spot = createAction();
  const moderate = createAction();
  const [confirmEnd, setConfirmEnd] = createSignal(false);
  const end = createAction();
  const back = createAction();
  const admitting = createAction();

  // First state: the form's countdown starts at the session's; a session nobody joined yet opens with its invite link.
  createEffect(
    on(
      () => staff() !== null,
      (has) => {
        const s = staff();
        if (!has || !s) return;
        draft[1]("countdown", String(s.session.settings.closingCountdownSeconds));
        if (st.title !== s.session.title) storage.updateSession(st.sessionId, { title: s.session.title });
        const others = s.members.filter((m) => m.id !== myId() && m.status !== "denied");
        if (others.length === 0 && s.session.phase === "main") panels.show("invite");
      },
    ),
  );
  // Moving rooms (visiting) clears a pin: that person is not here.
  createEffect(
    on(
      () => me()?.location ?? null,
      () => setPinned(null),
      { defer: true },
    ),
  );
  createEffect(
    on(
      () => media.tiles().some((t) => t.sharing || t.screen),
      (sharing, before) => {
        if (sharing && !before) setStageView("speaker");
      },
    ),
  );

  const memberFor = (id: string) => staff()?.members.find((m) => m.id === id || m.identity === id);
  const roomName = (id: string | null) => placeLabel(staff()?.rooms ?? [], id);
  const closesIn = () => {
    const c = staff()?.round?.closesAt;
    return c ? c - client.now() : null;
  };
  const endsIn = () => {
    const e = staff()?.round?.endsAt;
    return e ? e - client.now() : null;
  };
  const usage = createMemo(() => {
    const endedAt = staff()?.session.endedAt ?? null;
    return estimateCost(staff()?.members ?? [], endedAt === null ? client.now() : Math.min(client.now(), endedAt));
  });
  const provider = () => staff()?.mediaProvider ?? "local";
  const waitingCount = () => {
    const s = staff();
    return s ? waitingMembers(s).length : 0;
  };
  const helpCount = () => {
    const s = staff();
    return s ? helpAsking(s).length : 0;
  };
  const connecting = createConnectingTracker(staff);
  const checkInCount = () => {
    const s = staff();
    return s ? checkInAsking(s).length + s.checkIns.length : 0;
  };
  // Requests whose own notice (with its "Start check-in") has faded or was dismissed: a lasting reminder shows them.
  const checkInReminders = () => {
    const s = staff();
    if (!s) return [];
    return checkInAsking(s).filter((m) => !noticeShowing(client, (n) => n.kind === "checkInRequested" && n.memberId === m.id));
  };
  const isFacilitator = () => client.me()?.role === "facilitator";
  const here = () => me()?.location ?? null;

  const moreItems = (): MenuItem[] => [
    {
      id: "share",
      label: media.screen() ? "Stop sharing" : "Share screen",
      icon: "screen",
      disabled: media.shareUnavailable !== null,
      hint: media.shareUnavailable ?? undefined,
      onSelect: () => (media.screen() ? media.stopShare() : void media.startShare()),
      class: "phone-only",
    },
    { id: "chat", label: "Chat", icon: "chat", onSelect: () => panels.show("chat"), class: "phone-only", badge: chat.unread() },
    { id: "help", label: "Help requests", icon: "help", onSelect: () => panels.show("help"), class: "phone-only", badge: helpCount() },
    {
      id: "checkins",
      label: "Private check-ins",
      icon: "help",
      onSelect: () => panels.show("checkins"),
      badge: checkInCount(),
      testid: "open-checkins",
    },
    { id: "plan", label: "Session plan", icon: "timer", onSelect: () => panels.show("plan"), testid: "open-plan" },
    { id: "waiting", label: "Waiting room", icon: "waiting", onSelect: () => panels.show("waiting"), badge: waitingCount(), testid: "open-waiting" },
    { id: "invite", label: "Invite people", icon: "invite", onSelect: () => panels.show("invite"), testid: "open-invite" },
    { id: "settings", label: "Settings", icon: "settings", onSelect: () => panels.show("settings"), testid: "open-settings" },
    {
      id: "layout",
      label: stageView() === "speaker" ? "Gallery view" : "Speaker view",
      icon: stageView() === "speaker" ? "gallery" : "speaker",
      onSelect: () => setStageView(stageView() === "speaker" ? "gallery" : "speaker"),
      separatorBefore: true,
    },
  ];

  return (
    <>
      <ConnectionBanner
        status={staff()?.session.phase === "ended" ? "open" : client.status()}
        fatal={staff()?.session.phase === "ended" ? null : client.fatal()}
      />
      <Show
        when={staff()}
        fallback={
          <main id="main" class="narrow page">
            <p role="status">Connecting to the session…</p>
          </main>
        }
      >
        {(s) => (
          <Show
            when={s().session.phase !== "ended"}
            fallback={
              <main id="main" class="narrow page" data-testid="session-ended">
                <h1>The session has ended</h1>
                <p>
                  {s().session.title}: {usageLabel(provider(), usage())}
                  {provider() === "twilio" ? ` (at $${PRICE_PER_PARTICIPANT_MINUTE} per participant-minute, computed in this browser)` : "."}
                </p>
                <div class="row">
                  <a class="button" href={`/report/${encodeURIComponent(st.sessionId)}`} onClick={linkClick} data-testid="report-link">
                    See the session report
                  </a>
                  <a class="button secondary" href="/" onClick={linkClick}>
                    Start another session
                  </a>
                </div>
              </main>
            }
          >
            <main id="main" class="room-main" data-testid="console">
              <AudioSink media={media} memberIdFor={(id) => memberFor(id)?.id ?? id} />
              <RoomShell
                testid="room"
                panelOpen={panels.open() !== null}
                top={
                  <>
                    <div class="top-title">
                      <h1>{s().session.title}</h1>
                      <span class="top-session">
                        <span data-testid="session-phase">{phaseLabel(s().session.phase)}</span>
                        {" · "}You are in <strong data-testid="my-location">{roomName(here())}</strong>
                      </span>
                    </div>
                    <div class="top-status">
                      <Show when={isCheckInPlace(here())}>
                        <button
                          type="button"
                          class="top-button"
                          disabled={back.pending()}
                          onClick={() => back.run(() => client.command({ type: "endCheckIn", checkInId: here() as string }))}
                          data-testid="top-end-checkin"
                        >
                          <Icon name="back" />
                          <span>End check-in</span>
                        </button>
                      </Show>
                      <Show when={here() && here() !== MAIN_ROOM && !isCheckInPlace(here())}>
                        <button
                          type="button"
                          class="top-button"
                          disabled={back.pending()}
                          onClick={() => back.run(() => client.command({ type: "visitRoom", to: MAIN_ROOM }))}
                          data-testid="back-to-main"
                        >
                          <Icon name="back" />
                          <span>Back to main room</span>
                        </button>
                      </Show>
                      <MediaStatusChip media={media} />
                      <Show when={closesIn() === null && endsIn() !== null && s().session.phase === "open"}>
                        <span class="chip" role="status" data-testid="round-timer">
                          <Icon name="timer" />
                          Round {s().round?.number}: {formatDuration(Math.max(0, endsIn() as number))} left
                        </span>
                      </Show>
                      <span class="chip" data-testid="media-mode" title="How video is carried in this session">
                        {mediaModeLabel(provider())}
                      </span>
                      <span
                        class="chip wide-only"
                        data-testid="cost-estimate"
                        title={
                          provider() === "twilio"
                            ? `Participant-minutes × $${PRICE_PER_PARTICIPANT_MINUTE} per minute, computed in this browser`
                            : "Time people have spent in video, added up. Nothing is billed in local video mode."
                        }
                      >
                        {usageLabel(provider(), usage())}
                      </span>
                      <LayoutToggle view={stageView()} onChange={setStageView} />
                    </div>
                  </>
                }
                notices={
                  <>
                    <Show when={closesIn() !== null}>
                      <div class="notice warn" role="status" data-testid="countdown-banner">
                        <span>Breakout rooms close in {formatDuration(Math.max(0, closesIn() as number))}.</span>
                        <Show when={panels.open() !== "breakouts"}>
                          <button type="button" class="small secondary" onClick={() => panels.show("breakouts")}>
                            Manage rooms
                          </button>
                        </Show>
                      </div>
                    </Show>
                    <Show when={waitingCount() > 0}>
                      <div class="notice info" role="status" data-testid="waiting-notice">
                        <span>{waitingSummary(waitingCount())}</span>
                        <span class="row tight">
                          <button
                            type="button"
                            class="small"
                            disabled={admitting.pending()}
                            onClick={() => admitting.run(() => admitAll(client, s()))}
                            data-testid="waiting-admit-all"
                          >
                            {waitingCount() === 1 ? "Admit" : "Admit all"}
                          </button>
                          <Show when={panels.open() !== "waiting"}>
                            <button type="button" class="small secondary" onClick={() => panels.show("waiting")} data-testid="waiting-review">
                              Review
                            </button>
                          </Show>
                        </span>
                        <ErrorText error={admitting.error()} />
                      </div>
                    </Show>
                    <Show when={raisedHands(s().members).length > 0 && panels.open() !== "people"}>
                      <div class="notice info" role="status" data-testid="hands-notice">
                        <span>
                          <Icon name="hand" /> {handsSummary(raisedHands(s().members).map((m) => m.name))}
                        </span>
                        <button type="button" class="small secondary" onClick={() => panels.show("people")} data-testid="hands-review">
                          See hands
                        </button>
                      </div>
                    </Show>
                    <Show when={connecting.stuck().length > 0 && panels.open() !== "people"}>
                      <div class="notice warn" role="status" data-testid="stuck-notice">
                        <span>
                          {connecting.stuck().length === 1
                            ? `${connecting.stuck()[0].member.name} (${roomName(connecting.stuck()[0].member.location)}): ${connectingText(connecting.stuck()[0].state, connecting.now())}`
                            : `${connecting.stuck().length} people can't get into video`}
                        </span>
                        <button type="button" class="small secondary" onClick={() => panels.show("people")} data-testid="stuck-review">
                          See who
                        </button>
                      </div>
                    </Show>
                    <Show when={helpCount() > 0 && panels.open() !== "help"}>
                      <div class="notice warn" role="status" data-testid="help-notice">
                        <span>
                          {helpCount() === 1
                            ? `${helpAsking(s())[0]?.name} asked for help (${roomName(helpAsking(s())[0]?.location ?? null)})`
                            : `${helpCount()} people asked for help`}
                        </span>
                        <button type="button" class="small secondary" onClick={() => panels.show("help")}>
                          See requests
                        </button>
                      </div>
                    </Show>
                    <Show when={s().plan}>{(plan) => <PlanStrip client={client} plan={plan()} now={client.now()} onOpen={() => panels.show("plan")} />}</Show>
                    <Show when={checkInReminders().length > 0 && panels.open() !== "checkins"}>
                      <div class="notice info" role="status" data-testid="checkin-notice">
                        <span>
                          {checkInReminders().length === 1
                            ? `${checkInReminders()[0]?.name} would like to talk to you privately (${roomName(checkInReminders()[0]?.location ?? null)})`
                            : `${checkInReminders().length} people would like to talk to you privately`}
                        </span>
                        <button type="button" class="small secondary" onClick={() => panels.show("checkins")} data-testid="checkin-review">
                          See requests
                        </button>
                      </div>
                    </Show>
                    <Notices
                      client={client}
                      audience="staff"
                      roomName={roomName}
                      action={(n) => {
                        if (n.kind === "roomUnsupervised")
                          return {
                            label: "Bring room back to main",
                            testid: "notice-close-room",
                            run: () => client.command({ type: "closeRoom", roomId: n.roomId }),
                          };
                        if (n.kind === "checkInRequested")
                          return { label: "Start check-in", testid: "notice-start-checkin", run: () => startCheckIn(client, n.memberId) };
                        return null;
                      }}
                      isRelevant={(n) => {
                        if (n.kind === "helpRequested") return false; // the grouped help notice above
                        if (n.kind === "roundWarning") return s().session.phase === "open" && s().round?.endsAt === n.endsAt;
                        if (n.kind === "roomClosing") return s().session.phase === "open" || s().session.phase === "closing";
                        // Only while it still applies: the room is open, the request not yet taken up.
                        if (n.kind === "roomUnsupervised") return s().rooms.some((r) => r.id === n.roomId && r.status === "open");
                        if (n.kind === "checkInRequested") return s().members.some((m) => m.id === n.memberId && m.checkInRequest !== null);
                        return true;
                      }}
                    />
                    <MediaNotices media={media} />
                    <ErrorText error={back.error()} />
                    <ErrorText error={spot.error() ?? moderate.error()} />
                  </>
                }
                stage={
                  <Stage
                    media={media}
                    self={{ name: me()?.name ?? st.name ?? "You", role: me()?.role ?? client.me()?.role ?? null }}
                    person={(id) => {
                      const m = memberFor(id);
                      return { name: m?.name ?? "Guest", role: m?.role ?? null, memberId: m?.id ?? id, quality: m?.quality ?? null, hand: m?.hand ?? null };
                    }}
                    view={stageView()}
                    pinned={pinned()}
                    spotlight={spotlight()}
                    canSpotlight={true}
                    onPin={(id) => {
                      setPinned(id);
                      if (id) setStageView("speaker");
                    }}
                    onSpotlight={(id) => {
                      const memberId = id ? (memberFor(id)?.id ?? id) : null;
                      void spot.run(() => client.command({ type: "spotlight", memberId, ...(here() ? { location: here() as string } : {}) }));
                      if (id) setStageView("speaker");
                    }}
                    moreItems={(memberId) => {
                      const m = memberFor(memberId);
                      if (!m) return [];
                      return moderationActions(m, { spotlit: spotlight() === m.id, place: here() })
                        .filter((a) => a.command.type !== "spotlight")
                        .map((a) => ({
                          id: a.id,
                          label: a.label,
                          hint: a.hint,
                          testid: `tile-${a.id}`,
                          onSelect: () => void moderate.run(() => client.command(a.command)),
                        }));
                    }}
                  />
                }
                panel={
                  <Show when={panels.open()} keyed>
                    {(id) => (
                      <Panel id={id} title={PANEL_TITLES[id]} onClose={panels.close} wide={id === "breakouts"}>
                        <Switch>
                          <Match when={id === "breakouts"}>
                            <BreakoutPanelBody client={client} staff={s()} draft={draft} myId={myId()} now={client.now()} />
                          </Match>
                          <Match when={id === "people"}>
                            <PeoplePanelBody client={client} staff={s()} myId={myId()} connecting={connecting} onReviewWaiting={() => panels.show("waiting")} />
                          </Match>
                          <Match when={id === "waiting"}>
                            <WaitingPanelBody client={client} staff={s()} />
                          </Match>
                          <Match when={id === "help"}>
                            <HelpPanelBody client={client} staff={s()} myId={myId()} />
                          </Match>
                          <Match when={id === "checkins"}>
                            <CheckInPanelBody client={client} staff={s()} myId={myId()} now={client.now()} />
                          </Match>
                          <Match when={id === "plan"}>
                            <PlanPanelBody client={client} staff={s()} now={client.now()} />
                          </Match>
                          <Match when={id === "invite"}>
                            <InvitePanelBody sessionId={st.sessionId} ticket={st.ticket} initial={st.invite ?? null} group={st.group ?? null} />
                          </Match>
                          <Match when={id === "settings"}>
                            <SettingsPanelBody client={client} staff={s()} media={media} canChangeSession={isFacilitator()} />
                          </Match>
                          <Match when={id === "chat"}>
                            <ChatPanelBody
                              chat={chat}
                              roomName={roomName(here())}
                              staff
                              here={here()}
                              placeName={(place) => roomName(place)}
                              nameOf={(id) => memberFor(id)?.name ?? "a participant"}
                              note={
                                s().session.settings.keepChatInRecord
                                  ? "Chat is kept in the session record (the facilitator turned this on in Settings)."
                                  : "Chat is not kept in the session record (off by default)."
                              }
                              privateTargets={s()
                                .members.filter((m) => m.status === "admitted" && m.role === "participant")
                                .map((m) => ({ id: m.id, label: `${m.name} (private${m.location === here() ? "" : `, in ${roomName(m.location)}`})` }))}
                            />
                          </Match>
                        </Switch>
                      </Panel>
                    )}
                  </Show>
                }
                controls={
                  <ControlBarLayout
                    info={<span class="bar-room">{roomName(here())}</span>}
                    center={
                      <>
                        <MicButton media={media} />
                        <CameraButton media={media} />
                        <ShareButton media={media} class="wide-only" />
                        <ControlButton
                          icon="rooms"
                          label="Breakout rooms"
                          pressed={panels.open() === "breakouts"}
                          onClick={() => panels.toggle("breakouts")}
                          panel="breakouts"
                          testid="toggle-breakouts"
                        />
                        <MenuButton label="More options" class="ctl" items={moreItems} placement="up" testid="more">
                          <Icon name="more" />
                          <span class="ctl-label">More</span>
                        </MenuButton>
                        <Show
                          when={isFacilitator()}
                          fallback={<ControlButton icon="leave" label="Leave" tone="danger" onClick={() => setConfirmEnd(true)} testid="leave" />}
                        >
                          <ControlButton icon="leave" label="End session" tone="danger" onClick={() => setConfirmEnd(true)} testid="end-session" />
                        </Show>
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
                          badge={waitingCount()}
                          badgeText="waiting"
                          testid="toggle-people"
                        />
                        <ChatButton chat={chat} open={panels.open() === "chat"} onClick={() => panels.toggle("chat")} class="wide-only" />
                        <ControlButton
                          icon="help"
                          label="Help requests"
                          pressed={panels.open() === "help"}
                          onClick={() => panels.toggle("help")}
                          panel="help"
                          badge={helpCount()}
                          badgeText="asking for help"
                          testid="toggle-help"
                          class="wide-only"
                        />
                      </>
                    }
                  />
                }
              />
              <ConfirmDialog
                open={confirmEnd()}
                title={isFacilitator() ? "End the session for everyone?" : "Leave the session?"}
                confirmLabel={isFacilitator() ? "End the session" : "Leave"}
                cancelLabel="Keep going"
                tone="danger"
                pending={end.pending()}
                error={end.error()}
                testid="end-dialog"
                confirmTestid={isFacilitator() ? "end-session-confirm" : "leave-confirm"}
                onConfirm={async () => {
                  const facilitator = isFacilitator();
                  const ok = await end.run(() => client.command(facilitator ? { type: "endSession" } : { type: "leave" }));
                  if (!ok) return;
                  setConfirmEnd(false);
                  if (!facilitator) {
                    storage.forgetSession(st.sessionId);
                    client.close();
                    navigate("/", { replace: true });
                  }
                }}
                onClose={() => setConfirmEnd(false)}
              >
                <Show when={isFacilitator()} fallback={<p>The session goes on without you. You can join again with your co-facilitator link.</p>}>
                  <p>Every room closes and everyone is disconnected. You will find the session report afterwards.</p>
                </Show>
              </ConfirmDialog>
            </main>
          </Show>
        )}
      </Show>
    </>
  );
}
