/**
 * The console's side panels other than the breakout manager: waiting room, help requests, people, invite links,
 * settings. Each is the body of a Panel (components/room/ui.tsx).
 */
import { createSignal, For, Show } from "solid-js";
import { rosterName, type CheckInPublic, type MemberPublic, type Settings, type StaffState } from "../../../../lib/protocol";
import { api, type GroupLinkOfSession, type Invite } from "../../lib/api";
import type { MediaSession } from "../../lib/media-session";
import { moderationActions, raisedHands } from "../../lib/moderation";
import { waitingSummary } from "../../lib/room";
import type { SessionClient } from "../../lib/session-client";
import { type ConnectingTracker, connectingText } from "../../lib/connecting";
import { formatDuration, hasArrived, placeLabel } from "../../lib/state";
import { storage } from "../../lib/storage";
import { CopyField, createAction, ErrorText, QualityBars } from "../common";
import { DeviceSettings } from "../room/DeviceSettings";
import { roleLabel } from "../room/Stage";
import { Icon } from "../room/icons";
import { ConfirmDialog, MenuButton, type MenuItem } from "../room/ui";

// ---------------------------------------------------------------------------------------------------------------
// Waiting room
// ---------------------------------------------------------------------------------------------------------------

export const waitingMembers = (staff: StaffState) => staff.members.filter((m) => m.status === "waiting").sort((a, b) => a.joinedAt - b.joinedAt);

/** Admit everyone waiting (one command each: the protocol has no bulk admit). */
export function admitAll(client: SessionClient, staff: StaffState) {
  return Promise.all(waitingMembers(staff).map((m) => client.command({ type: "admit", memberId: m.id })));
}

export function WaitingPanelBody(props: { client: SessionClient; staff: StaffState }) {
  const waiting = () => waitingMembers(props.staff);
  const all = createAction();
  return (
    <div data-testid="waiting-list">
      <Show when={waiting().length > 0} fallback={<p class="muted">Nobody is waiting.</p>}>
        <p class="muted small">{waitingSummary(waiting().length)}.</p>
        <ul class="people-list">
          <For each={waiting()}>{(m) => <WaitingRow client={props.client} member={m} />}</For>
        </ul>
        <Show when={waiting().length > 1}>
          <button type="button" disabled={all.pending()} onClick={() => all.run(() => admitAll(props.client, props.staff))} data-testid="admit-all">
            Admit everyone
          </button>
          <ErrorText error={all.error()} />
        </Show>
      </Show>
    </div>
  );
}

function WaitingRow(props: { client: SessionClient; member: MemberPublic }) {
  const a = createAction();
  return (
    <li class="person" data-testid={`waiting-${props.member.id}`} data-member-id={props.member.id}>
      <span class="avatar-dot" aria-hidden="true">
        {props.member.name.slice(0, 1).toUpperCase()}
      </span>
      <span class="person-name">{props.member.name}</span>
      <span class="row tight">
        <button
          type="button"
          class="small"
          disabled={a.pending()}
          onClick={() => a.run(() => props.client.command({ type: "admit", memberId: props.member.id }))}
          data-testid={`admit-${props.member.id}`}
          aria-label={`Admit ${props.member.name}`}
        >
          Admit
        </button>
        <button
          type="button"
          class="small danger secondary"
          disabled={a.pending()}
          onClick={() => a.run(() => props.client.command({ type: "deny", memberId: props.member.id }))}
          data-testid={`deny-${props.member.id}`}
          aria-label={`Deny ${props.member.name}`}
        >
          Deny
        </button>
      </span>
      <ErrorText error={a.error()} />
    </li>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Help requests
// ---------------------------------------------------------------------------------------------------------------

export const helpAsking = (staff: StaffState) =>
  staff.members.filter((m) => m.helpRequest && m.status === "admitted").sort((a, b) => (a.helpRequest?.at ?? 0) - (b.helpRequest?.at ?? 0));

export function HelpPanelBody(props: { client: SessionClient; staff: StaffState; myId: string }) {
  const myLocation = () => props.staff.members.find((m) => m.id === props.myId)?.location ?? null;
  return (
    <div data-testid="help-requests">
      <Show when={helpAsking(props.staff).length > 0} fallback={<p class="muted">No one has asked for help.</p>}>
        <ul class="people-list">
          <For each={helpAsking(props.staff)}>
            {(m) => {
              const a = createAction();
              return (
                <li class="help-item" data-testid={`help-${m.id}`}>
                  <p class="m0">
                    <strong>{m.name}</strong> <span class="muted">in {placeLabel(props.staff.rooms, m.location)}</span>
                  </p>
                  <Show when={m.helpRequest?.message}>
                    <p class="help-message">“{m.helpRequest?.message}”</p>
                  </Show>
                  <div class="row">
                    <Show when={m.location && m.location !== myLocation()}>
                      <button
                        type="button"
                        class="small"
                        disabled={a.pending()}
                        onClick={() => a.run(() => props.client.command({ type: "visitRoom", to: m.location as string }))}
                        data-testid={`help-visit-${m.id}`}
                      >
                        Join their room
                      </button>
                    </Show>
                    <button
                      type="button"
                      class="small secondary"
                      disabled={a.pending()}
                      onClick={() => a.run(() => props.client.command({ type: "resolveHelp", memberId: m.id }))}
                      data-testid={`resolve-help-${m.id}`}
                    >
                      Mark as done
                    </button>
                  </div>
                  <ErrorText error={a.error()} />
                </li>
              );
            }}
          </For>
        </ul>
      </Show>
    </div>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// People
// ---------------------------------------------------------------------------------------------------------------

export function PeoplePanelBody(props: {
  client: SessionClient;
  staff: StaffState;
  myId: string;
  /** Who is connecting to video, stuck or failing (the console's tracker). */
  connecting?: ConnectingTracker;
  onReviewWaiting: () => void;
}) {
  const order: Record<string, number> = { admitted: 0, waiting: 1, left: 2, denied: 3 };
  const people = () => [...props.staff.members].sort((a, b) => order[a.status] - order[b.status] || a.name.localeCompare(b.name));
  const admitted = () => props.staff.members.filter((m) => m.status === "admitted").length;
  const waiting = () => waitingMembers(props.staff).length;
  const [removing, setRemoving] = createSignal<MemberPublic | null>(null);
  const remove = createAction();
  const moderate = createAction();
  const hands = () => raisedHands(props.staff.members);
  const here = () => props.staff.members.find((m) => m.id === props.myId)?.location ?? null;
  const participantsHere = () => props.staff.members.filter((m) => m.status === "admitted" && m.role === "participant" && m.location === here());
  const placeName = () => placeLabel(props.staff.rooms, here());
  return (
    <div data-testid="everyone">
      <Show when={hands().length > 0}>
        <section class="panel-section" aria-labelledby="hands-h" data-testid="raised-hands">
          <h3 id="hands-h">Raised hands</h3>
          <ol class="people-list">
            <For each={hands()}>
              {(m, i) => (
                <li class="person" data-testid={`hand-${m.id}`} data-member-id={m.id}>
                  <span class="avatar-dot" aria-hidden="true">
                    {i() + 1}
                  </span>
                  <span class="person-main">
                    <span class="person-name">{m.name}</span>
                    <span class="muted small">
                      {placeLabel(props.staff.rooms, m.location)} · {new Date(m.hand ?? 0).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}
                    </span>
                  </span>
                  <button
                    type="button"
                    class="secondary small"
                    disabled={moderate.pending()}
                    onClick={() => moderate.run(() => props.client.command({ type: "lowerHand", memberId: m.id }))}
                    aria-label={`Lower ${m.name}'s hand`}
                    data-testid={`lower-hand-${m.id}`}
                  >
                    Lower
                  </button>
                </li>
              )}
            </For>
          </ol>
        </section>
      </Show>
      <div class="row spread">
        <p class="muted small m0">{admitted()} in the session</p>
        <Show when={participantsHere().length > 0}>
          <button
            type="button"
            class="secondary small"
            disabled={moderate.pending()}
            onClick={() => moderate.run(() => props.client.command({ type: "muteAll", ...(here() ? { location: here() as string } : {}) }))}
            data-testid="mute-all"
          >
            <Icon name="micOff" /> Mute everyone in {placeName()}
          </button>
        </Show>
      </div>
      <ErrorText error={moderate.error()} />
      <Show when={waiting() > 0}>
        <div class="notice info inline">
          <span>{waitingSummary(waiting())}</span>
          <button type="button" class="small" onClick={() => props.onReviewWaiting()}>
            Review
          </button>
        </div>
      </Show>
      <ul class="people-list">
        <For each={people()}>
          {(m) => {
            const arrived = () => m.status === "admitted" && hasArrived(props.staff.session.id, m);
            const connecting = () => props.connecting?.states().get(m.id) ?? null;
            return (
              <li
                class="person"
                classList={{ gone: m.status === "left" || m.status === "denied" }}
                data-testid={`person-${m.id}`}
                data-member-id={m.id}
                data-status={m.status}
                data-location={m.location ?? ""}
                data-arrived={arrived() ? "true" : "false"}
                data-connecting={connecting()?.kind ?? ""}
              >
                <span class="avatar-dot" aria-hidden="true">
                  {m.name.slice(0, 1).toUpperCase()}
                </span>
                <span class="person-main">
                  <span class="person-name">
                    {m.name}
                    {m.id === props.myId ? " (you)" : ""}
                    <Show when={roleLabel(m.role)}>{(r) => <span class="badge">{r()}</span>}</Show>
                  </span>
                  <span class="muted small">
                    {m.status === "admitted"
                      ? placeLabel(props.staff.rooms, m.location)
                      : m.status === "waiting"
                        ? "waiting"
                        : m.status === "left"
                          ? "left"
                          : "not admitted"}
                    {m.status === "admitted" && (arrived() || !connecting()) ? (arrived() ? " · in video" : " · not in video yet") : ""}
                    <Show when={connecting()}>
                      {(c) => (
                        <span class={c().kind === "connecting" ? "" : "warn-text"} data-testid={`connecting-${m.id}`}>
                          {" · "}
                          {connectingText(c(), props.connecting?.now() ?? Date.now())}
                        </span>
                      )}
                    </Show>
                    {m.status === "admitted" && !m.connected ? " · offline" : ""}
                    {m.helpRequest ? " · asked for help" : ""}
                    {m.checkInRequest ? " · asked to talk privately" : ""}
                    <Show when={m.role === "participant" && props.staff.session.settings.roster !== "names"}>
                      {" · "}
                      <span data-testid={`shown-as-${m.id}`}>shown as “{rosterName(m, props.staff.session.settings.roster)}”</span>
                    </Show>
                  </span>
                </span>
                <Show when={m.status === "admitted"}>
                  <span class="person-media" role="img" aria-label={mediaSummary(m)} title={mediaSummary(m)} data-testid={`media-${m.id}`}>
                    <Icon name={m.media.mic && !m.blocked.audio ? "mic" : "micOff"} />
                    <Icon name={m.media.cam && !m.blocked.video ? "camera" : "cameraOff"} />
                  </span>
                  <QualityBars level={m.quality} label={m.name} />
                </Show>
                <Show when={m.status === "admitted" && m.role === "participant"}>
                  <MenuButton
                    label={`Moderate ${m.name}`}
                    class="quiet small"
                    testid={`moderate-${m.id}`}
                    items={(): MenuItem[] => [
                      ...moderationActions(m, { spotlit: props.staff.spotlights[m.location ?? ""] === m.id, place: m.location }).map((a) => ({
                        id: a.id,
                        label: a.label,
                        hint: a.hint,
                        testid: `moderate-${a.id}`,
                        onSelect: () => void moderate.run(() => props.client.command(a.command)),
                      })),
                      {
                        id: "remove",
                        label: "Remove from the session",
                        tone: "danger",
                        separatorBefore: true,
                        testid: "moderate-remove",
                        onSelect: () => setRemoving(m),
                      },
                    ]}
                  >
                    <Icon name="more" />
                  </MenuButton>
                </Show>
                <Show
                  when={(m.status === "waiting" || (m.status === "admitted" && m.role === "cofacilitator")) && m.role !== "facilitator" && m.id !== props.myId}
                >
                  <button type="button" class="quiet small" onClick={() => setRemoving(m)} aria-label={`Remove ${m.name} from the session`}>
                    Remove
                  </button>
                </Show>
              </li>
            );
          }}
        </For>
      </ul>
      <ConfirmDialog
        open={removing() !== null}
        title={`Remove ${removing()?.name ?? ""}?`}
        confirmLabel="Remove from the session"
        tone="danger"
        pending={remove.pending()}
        error={remove.error()}
        onConfirm={async () => {
          const m = removing();
          if (!m) return;
          const ok = await remove.run(() => props.client.command({ type: "removeMember", memberId: m.id }));
          if (ok) setRemoving(null);
        }}
        onClose={() => setRemoving(null)}
      >
        <p>They leave the session at once and cannot join again with their link.</p>
      </ConfirmDialog>
    </div>
  );
}

/** A person's microphone and camera for the people list, in words (blocks first: they are what staff did). */
function mediaSummary(m: MemberPublic): string {
  const mic = m.blocked.audio ? "muted by staff" : m.media.mic ? "microphone on" : "microphone off";
  const cam = m.blocked.video ? "camera turned off by staff" : m.media.cam ? "camera on" : "camera off";
  return `${m.name}: ${mic}, ${cam}${m.media.screen ? ", sharing the screen" : ""}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Private check-ins
// ---------------------------------------------------------------------------------------------------------------

/** Clients who asked to talk privately, oldest request first. */
export const checkInAsking = (staff: StaffState) =>
  staff.members.filter((m) => m.checkInRequest && m.status === "admitted").sort((a, b) => (a.checkInRequest?.at ?? 0) - (b.checkInRequest?.at ?? 0));

/** Open a private check-in with a client: the caller and that client move into a room of their own. */
export const startCheckIn = (client: SessionClient, memberId: string) => client.command({ type: "startCheckIn", memberId });

export function CheckInPanelBody(props: { client: SessionClient; staff: StaffState; myId: string; now: number }) {
  const name = (id: string) => props.staff.members.find((m) => m.id === id)?.name ?? "someone";
  return (
    <div data-testid="checkins">
      <section class="panel-section" aria-labelledby="checkin-requests-h">
        <h3 id="checkin-requests-h">Asked to talk privately</h3>
        <Show when={checkInAsking(props.staff).length > 0} fallback={<p class="muted small">Nobody is waiting for a private talk.</p>}>
          <ul class="people-list">
            <For each={checkInAsking(props.staff)}>
              {(m) => {
                const a = createAction();
                return (
                  <li class="help-item" data-testid={`checkin-request-${m.id}`}>
                    <p class="m0">
                      <strong>{m.name}</strong> <span class="muted">in {placeLabel(props.staff.rooms, m.location)}</span>
                    </p>
                    <p class="muted small m0">asked {formatDuration(props.now - (m.checkInRequest?.at ?? props.now))} ago · only staff see this request</p>
                    <button
                      type="button"
                      class="small"
                      disabled={a.pending()}
                      onClick={() => a.run(() => startCheckIn(props.client, m.id))}
                      data-testid={`start-checkin-${m.id}`}
                    >
                      Start private check-in
                    </button>
                    <ErrorText error={a.error()} />
                  </li>
                );
              }}
            </For>
          </ul>
        </Show>
      </section>
      <section class="panel-section" aria-labelledby="checkin-running-h">
        <h3 id="checkin-running-h">Private check-ins now</h3>
        <Show when={props.staff.checkIns.length > 0} fallback={<p class="muted small">No private check-in is going on.</p>}>
          <ul class="people-list">
            <For each={props.staff.checkIns}>
              {(k: CheckInPublic) => {
                const a = createAction();
                return (
                  <li class="help-item" data-testid={`checkin-${k.id}`}>
                    <p class="m0">
                      <strong>{name(k.clientId)}</strong> with {k.staffId === props.myId ? "you" : name(k.staffId)}
                    </p>
                    <p class="muted small m0">
                      {formatDuration(props.now - k.startedAt)} · {name(k.clientId)} goes back to {placeLabel(props.staff.rooms, k.clientReturn)}
                    </p>
                    <button
                      type="button"
                      class="small secondary"
                      disabled={a.pending()}
                      onClick={() => a.run(() => props.client.command({ type: "endCheckIn", checkInId: k.id }))}
                      data-testid={`end-checkin-${k.id}`}
                    >
                      End check-in
                    </button>
                    <ErrorText error={a.error()} />
                  </li>
                );
              }}
            </For>
          </ul>
        </Show>
      </section>
    </div>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Invite links
// ---------------------------------------------------------------------------------------------------------------

export function InvitePanelBody(props: { sessionId: string; ticket: string; initial: Invite | null; group: GroupLinkOfSession | null }) {
  const [invite, setInvite] = createSignal<Invite | null>(props.initial);
  const [cofac, setCofac] = createSignal<Invite | null>(null);
  const [revoked, setRevoked] = createSignal<string | null>(null);
  const a = createAction();
  const absolute = (url: string) => new URL(url, window.location.origin).toString();
  async function revoke(inv: Invite, which: "participant" | "cofacilitator") {
    const ok = await a.run(() => api.revokeInvite(props.sessionId, props.ticket, inv.id));
    if (!ok) return;
    if (which === "participant") {
      setInvite(null);
      storage.updateSession(props.sessionId, { invite: undefined });
    } else setCofac(null);
    setRevoked(which === "participant" ? "The participant link no longer works." : "The co-facilitator link no longer works.");
  }
  return (
    <div data-testid="invite-card">
      <Show when={props.group}>
        {(g) => (
          <section class="panel-section">
            <CopyField
              label={`${g().name}: the group's link`}
              value={g().linkUrl}
              testid="invite-group-link"
              hint="The link your group keeps from week to week: it opens this session now, and returning clients are recognised."
            />
          </section>
        )}
      </Show>
      <section class="panel-section">
        <Show when={invite()} fallback={<p class="muted">Create a link to invite participants.</p>}>
          {(inv) => (
            <>
              <CopyField
                label="Participant link"
                value={absolute(inv().url)}
                testid="invite-link"
                hint={`Anyone with this link can ask to join. It works until ${new Date(inv().expiresAt).toLocaleString()}.`}
              />
              <Show when={inv().shortUrl}>
                {(short) => <CopyField label="Short link (the same invitation)" value={absolute(short())} testid="invite-short-link" />}
              </Show>
              <button type="button" class="quiet small" disabled={a.pending()} onClick={() => revoke(inv(), "participant")} data-testid="revoke-invite">
                Stop this link from working
              </button>
            </>
          )}
        </Show>
        <button
          type="button"
          class="secondary small"
          disabled={a.pending()}
          onClick={async () => {
            const inv = await a.run(() => api.createInvite(props.sessionId, props.ticket, { role: "participant" }));
            if (inv) {
              setInvite(inv);
              setRevoked(null);
              storage.updateSession(props.sessionId, { invite: inv });
            }
          }}
          data-testid="new-invite"
        >
          New participant link
        </button>
      </section>
      <section class="panel-section">
        <Show when={cofac()} fallback={<p class="muted small">A co-facilitator can run the rooms with you.</p>}>
          {(inv) => (
            <>
              <CopyField label="Co-facilitator link" value={absolute(inv().url)} testid="cofacilitator-link" />
              <button
                type="button"
                class="quiet small"
                disabled={a.pending()}
                onClick={() => revoke(inv(), "cofacilitator")}
                data-testid="revoke-cofacilitator"
              >
                Stop this link from working
              </button>
            </>
          )}
        </Show>
        <button
          type="button"
          class="secondary small"
          disabled={a.pending()}
          onClick={async () => {
            const inv = await a.run(() => api.createInvite(props.sessionId, props.ticket, { role: "cofacilitator" }));
            if (inv) setCofac(inv);
          }}
          data-testid="new-cofacilitator-invite"
        >
          Co-facilitator link
        </button>
      </section>
      <p class="muted small" role="status">
        {revoked() ?? ""}
      </p>
      <ErrorText error={a.error()} />
    </div>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------------------------

export function SettingsPanelBody(props: { client: SessionClient; staff: StaffState; media: MediaSession; canChangeSession: boolean }) {
  const a = createAction();
  const s = () => props.staff.session.settings;
  const set = (patch: Partial<Settings>) => a.run(() => props.client.command({ type: "updateSettings", settings: patch }));
  const [timers, setTimers] = createSignal<{ warning: string; countdown: string; empty: string } | null>(null);
  const t = () =>
    timers() ?? { warning: String(s().warningSeconds), countdown: String(s().closingCountdownSeconds), empty: String(s().emptyRoomTimeoutSeconds) };
  const saveTimers = async (e: SubmitEvent) => {
    e.preventDefault();
    const warning = Number(t().warning);
    const countdown = Number(t().countdown);
    const empty = Number(t().empty);
    if (![warning, countdown, empty].every(Number.isInteger)) return a.setError("Use whole numbers of seconds.");
    if (warning < 0 || warning > 600) return a.setError("The warning is 0 to 600 seconds before the end.");
    if (countdown < 0 || countdown > 300) return a.setError("The closing countdown is 0 to 300 seconds.");
    if (empty < 10 || empty > 3600) return a.setError("An empty room closes after 10 to 3600 seconds.");
    const ok = await set({ warningSeconds: warning, closingCountdownSeconds: countdown, emptyRoomTimeoutSeconds: empty });
    if (ok) setTimers(null);
  };
  return (
    <div>
      <DeviceSettings media={props.media} />
      <Show when={props.canChangeSession} fallback={<p class="muted small">Only the facilitator changes the session's settings.</p>}>
        <section class="panel-section" aria-labelledby="session-settings-h">
          <h3 id="session-settings-h">This session</h3>
          <label class="check">
            <input type="checkbox" checked={s().autoAdmit} onChange={(e) => set({ autoAdmit: e.currentTarget.checked })} data-testid="setting-auto-admit" />
            Let people in without waiting
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={s().allowSelfReturn}
              onChange={(e) => set({ allowSelfReturn: e.currentTarget.checked })}
              data-testid="setting-self-return"
            />
            Participants may return to the main room themselves
          </label>
          <label class="check top">
            <input
              type="checkbox"
              checked={s().keepChatInRecord}
              onChange={(e) => set({ keepChatInRecord: e.currentTarget.checked })}
              data-testid="setting-keep-chat"
            />
            <span>
              Keep chat in the session record <span class="hint">(off by default)</span>
              <span class="hint block">
                When on, messages sent from now on are saved with the session's report. When off, chat stays only in the live session and in the browsers that
                received it.
              </span>
            </span>
          </label>
          <div class="field">
            <label for="roster-mode">How participants see each other</label>
            <select
              id="roster-mode"
              value={s().roster}
              onChange={(e) => set({ roster: e.currentTarget.value as Settings["roster"] })}
              data-testid="setting-roster"
            >
              <option value="names">By the name they joined with</option>
              <option value="firstNames">By first name (or the name they choose)</option>
              <option value="aliases">Only by the name they choose (else “Member” and a number)</option>
            </select>
            <span class="hint block">Facilitators always see everyone's full name.</span>
          </div>
          <label class="check top">
            <input
              type="checkbox"
              checked={s().supervisedRooms}
              onChange={(e) => set({ supervisedRooms: e.currentTarget.checked })}
              data-testid="setting-supervised"
            />
            <span>
              Every breakout room has a facilitator in it
              <span class="hint block">
                Staff are placed first, one per room; you are asked before rooms open without one, and told when a room loses its last facilitator.
              </span>
            </span>
          </label>
          <div class="field">
            <label for="late-joiners">People who join while rooms are open</label>
            <select id="late-joiners" value={s().lateJoiners} onChange={(e) => set({ lateJoiners: e.currentTarget.value as Settings["lateJoiners"] })}>
              <option value="main">Wait in the main room</option>
              <option value="auto">Go to a room automatically</option>
            </select>
          </div>
          <form onSubmit={saveTimers} class="timers">
            <div class="field">
              <label for="warning-seconds">Warn before a round ends (seconds)</label>
              <input
                id="warning-seconds"
                type="number"
                min="0"
                max="600"
                value={t().warning}
                onInput={(e) => setTimers({ ...t(), warning: e.currentTarget.value })}
              />
            </div>
            <div class="field">
              <label for="countdown-seconds">Closing countdown (seconds)</label>
              <input
                id="countdown-seconds"
                type="number"
                min="0"
                max="300"
                value={t().countdown}
                onInput={(e) => setTimers({ ...t(), countdown: e.currentTarget.value })}
              />
            </div>
            <div class="field">
              <label for="empty-seconds">Close an empty room after (seconds)</label>
              <input
                id="empty-seconds"
                type="number"
                min="10"
                max="3600"
                value={t().empty}
                onInput={(e) => setTimers({ ...t(), empty: e.currentTarget.value })}
              />
            </div>
            <button type="submit" class="secondary small" disabled={a.pending() || timers() === null}>
              Save times
            </button>
          </form>
          <ErrorText error={a.error()} />
        </section>
      </Show>
    </div>
  );
}
