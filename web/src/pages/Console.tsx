import { createEffect, createMemo, createSignal, For, Match, onCleanup, Show, Switch } from "solid-js";
import { createStore } from "solid-js/store";
import { CommandSchema, MAIN_ROOM, type AssignmentMode, type Command, type MemberPublic, type StaffState } from "../../../lib/protocol";
import { Card, ConnectionBanner, CopyField, createAction, errorMessage, ErrorText, QualityBars } from "../components/common";
import { Notices } from "../components/notices";
import { MediaControls, MediaStatusLine, VideoGrid } from "../components/video";
import { api, type Invite } from "../lib/api";
import { createMediaSession } from "../lib/media-session";
import { createSessionClient, type SessionClient } from "../lib/session-client";
import { boardColumns, estimateCost, formatDollars, formatDuration, hasArrived, placeLabel, PRICE_PER_PARTICIPANT_MINUTE, UNASSIGNED } from "../lib/state";
import { storage, type StoredSession } from "../lib/storage";

export default function ConsolePage(props: { sessionId: string }) {
  const stored = storage.session(props.sessionId);
  return (
    <Show
      when={stored && stored.role !== "participant" ? stored : null}
      fallback={
        <main id="main" class="narrow">
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
  });
  createEffect(() => {
    if (staff()?.session.phase === "ended") media.stop();
  });
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
  const cost = createMemo(() => {
    const endedAt = staff()?.session.endedAt ?? null;
    return estimateCost(staff()?.members ?? [], endedAt === null ? client.now() : Math.min(client.now(), endedAt));
  });

  return (
    <>
      <ConnectionBanner
        status={staff()?.session.phase === "ended" ? "open" : client.status()}
        fatal={staff()?.session.phase === "ended" ? null : client.fatal()}
      />
      <main id="main">
        <Show when={staff()} fallback={<p role="status">Connecting to the session…</p>}>
          {(s) => (
            <Show
              when={s().session.phase !== "ended"}
              fallback={
                <div class="narrow">
                  <h1>The session has ended</h1>
                  <p>
                    {s().session.title}. Estimated media cost: {formatDollars(cost().dollars)} ({cost().participantMinutes.toFixed(1)} participant-minutes).
                  </p>
                  <a class="button" href="/">
                    Start another session
                  </a>
                </div>
              }
            >
              <header class="row spread mb">
                <div>
                  <h1 class="m0">{s().session.title}</h1>
                  <p class="muted small m0">
                    Facilitator console · <span data-testid="session-phase">{phaseLabel(s().session.phase)}</span>
                  </p>
                </div>
                <p
                  class="badge"
                  data-testid="cost-estimate"
                  title={`Participant-minutes × $${PRICE_PER_PARTICIPANT_MINUTE} per minute, computed in this browser`}
                >
                  Estimated cost: {formatDollars(cost().dollars)} · {cost().participantMinutes.toFixed(1)} participant-min
                </p>
              </header>

              <Show when={closesIn() !== null}>
                <div class="banner warn" role="status" data-testid="countdown-banner">
                  Breakout rooms close in {formatDuration(Math.max(0, closesIn() as number))}.
                </div>
              </Show>
              <Show when={closesIn() === null && endsIn() !== null && s().session.phase === "open"}>
                <div class="banner info" role="status" data-testid="round-timer">
                  Round {s().round?.number}: {formatDuration(Math.max(0, endsIn() as number))} left.
                </div>
              </Show>

              <Notices
                client={client}
                audience="staff"
                roomName={roomName}
                isRelevant={(n) => {
                  if (n.kind === "joinRequest") return memberFor(n.memberId)?.status === "waiting";
                  if (n.kind === "helpRequested") return !!memberFor(n.memberId)?.helpRequest;
                  if (n.kind === "roundWarning" || n.kind === "roomClosing") return s().session.phase === "open" || s().session.phase === "closing";
                  return true;
                }}
              />

              <div class="console-layout">
                <div>
                  <Breakouts client={client} staff={s()} />
                  <HelpRequests client={client} staff={s()} myId={myId()} />
                </div>
                <div>
                  <WaitingRoom client={client} staff={s()} />
                  <Card title="Your video" testid="my-video">
                    <p class="muted small">
                      You are in: <strong data-testid="my-location">{roomName(me()?.location ?? null)}</strong>
                    </p>
                    <MediaStatusLine media={media} />
                    <VideoGrid
                      media={media}
                      selfName={me()?.name ?? st.name ?? "You"}
                      nameFor={(id) => memberFor(id)?.name ?? "Guest"}
                      memberIdFor={(id) => memberFor(id)?.id ?? id}
                    />
                    <div class="controls">
                      <MediaControls media={media} />
                      <BackToMain client={client} here={me()?.location ?? null} />
                    </div>
                  </Card>
                  <Broadcast client={client} staff={s()} />
                  <InviteCard sessionId={st.sessionId} ticket={st.ticket} initial={st.invite ?? null} />
                  <Show when={client.me()?.role === "facilitator"}>
                    <SettingsCard client={client} staff={s()} />
                  </Show>
                  <Everyone client={client} staff={s()} myId={myId()} />
                  <Show when={client.me()?.role === "facilitator"}>
                    <EndSession client={client} />
                  </Show>
                </div>
              </div>
            </Show>
          )}
        </Show>
      </main>
    </>
  );
}

function phaseLabel(p: string): string {
  return (
    (
      {
        main: "Everyone in the main room",
        preparing: "Preparing breakout rooms",
        open: "Breakout rooms open",
        closing: "Breakout rooms closing",
        ended: "Ended",
      } as Record<string, string>
    )[p] ?? p
  );
}

function BackToMain(props: { client: SessionClient; here: string | null }) {
  const a = createAction();
  return (
    <Show when={props.here && props.here !== MAIN_ROOM}>
      <button
        type="button"
        class="secondary"
        disabled={a.pending()}
        onClick={() => a.run(() => props.client.command({ type: "visitRoom", to: MAIN_ROOM }))}
        data-testid="back-to-main"
      >
        Back to main room
      </button>
      <ErrorText error={a.error()} />
    </Show>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting room
// ---------------------------------------------------------------------------------------------------------------

function WaitingRoom(props: { client: SessionClient; staff: StaffState }) {
  const waiting = () => props.staff.members.filter((m) => m.status === "waiting").sort((a, b) => a.joinedAt - b.joinedAt);
  const all = createAction();
  return (
    <Card title={`Waiting room (${waiting().length})`} testid="waiting-list">
      <Show when={waiting().length > 0} fallback={<p class="muted">Nobody is waiting.</p>}>
        <ul class="list">
          <For each={waiting()}>{(m) => <WaitingRow client={props.client} member={m} />}</For>
        </ul>
        <Show when={waiting().length > 1}>
          <button
            type="button"
            class="secondary"
            disabled={all.pending()}
            onClick={() => all.run(async () => Promise.all(waiting().map((m) => props.client.command({ type: "admit", memberId: m.id }))))}
            data-testid="admit-all"
          >
            Admit everyone
          </button>
          <ErrorText error={all.error()} />
        </Show>
      </Show>
    </Card>
  );
}

function WaitingRow(props: { client: SessionClient; member: MemberPublic }) {
  const a = createAction();
  return (
    <li data-testid={`waiting-${props.member.id}`} data-member-id={props.member.id}>
      <div class="row spread">
        <span class="name">{props.member.name}</span>
        <span class="row">
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
      </div>
      <ErrorText error={a.error()} />
    </li>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Breakout rooms: create form, board with drag and drop + keyboard selects, room and round controls
// ---------------------------------------------------------------------------------------------------------------

function Breakouts(props: { client: SessionClient; staff: StaffState }) {
  const phase = () => props.staff.session.phase;
  return (
    <Card title="Breakout rooms" testid="breakouts">
      <Switch>
        <Match when={phase() === "main"}>
          <CreateRoomsForm client={props.client} staff={props.staff} />
        </Match>
        <Match when={phase() === "preparing" || phase() === "open" || phase() === "closing"}>
          <RoundControls client={props.client} staff={props.staff} />
          <Board client={props.client} staff={props.staff} />
        </Match>
      </Switch>
    </Card>
  );
}

function CreateRoomsForm(props: { client: SessionClient; staff: StaffState }) {
  const [how, setHow] = createSignal<"count" | "names">("count");
  const [count, setCount] = createSignal("2");
  const [names, setNames] = createSignal("");
  const [mode, setMode] = createSignal<AssignmentMode>("auto");
  const [minutes, setMinutes] = createSignal("");
  const [countdown, setCountdown] = createSignal(String(props.staff.session.settings.closingCountdownSeconds));
  const a = createAction();
  const participants = () => props.staff.members.filter((m) => m.status === "admitted" && m.role === "participant").length;

  async function submit(e: SubmitEvent) {
    e.preventDefault();
    const cmd: Record<string, unknown> = { type: "createBreakouts", mode: mode() };
    if (how() === "count") cmd.count = Number(count());
    else
      cmd.names = names()
        .split("\n")
        .map((n) => n.trim())
        .filter(Boolean);
    if (minutes().trim()) cmd.durationSeconds = Math.round(Number(minutes()) * 60);
    const parsed = CommandSchema.safeParse(cmd);
    if (!parsed.success) {
      a.setError(
        parsed.error.issues
          .map((i) => {
            const f = i.path.join(".");
            if (f === "count") return "Number of rooms must be between 1 and 50.";
            if (f.startsWith("names")) return "Give each room a name (one per line, up to 50 rooms).";
            if (f === "durationSeconds") return "Duration must be between 0.5 and 240 minutes, or empty for no time limit.";
            return i.message;
          })
          .join(" "),
      );
      return;
    }
    const cd = Number(countdown());
    if (!Number.isInteger(cd) || cd < 0 || cd > 300) {
      a.setError("Closing countdown must be a whole number of seconds from 0 to 300.");
      return;
    }
    await a.run(async () => {
      if (cd !== props.staff.session.settings.closingCountdownSeconds && props.client.me()?.role === "facilitator")
        await props.client.command({ type: "updateSettings", settings: { closingCountdownSeconds: cd } });
      return props.client.command(parsed.data as Command);
    });
  }

  return (
    <form onSubmit={submit} data-testid="create-rooms-form" noValidate>
      <p class="muted small">{participants()} participant(s) admitted. Breakout rooms need at least 2.</p>
      <fieldset>
        <legend>Rooms</legend>
        <label class="radio">
          <input type="radio" name="how" value="count" checked={how() === "count"} onChange={() => setHow("count")} /> A number of rooms
        </label>
        <label class="radio">
          <input type="radio" name="how" value="names" checked={how() === "names"} onChange={() => setHow("names")} data-testid="rooms-by-name" /> Name each
          room
        </label>
        <Show
          when={how() === "count"}
          fallback={
            <div class="field">
              <label for="room-names">
                Room names <span class="hint">(one per line)</span>
              </label>
              <textarea id="room-names" value={names()} onInput={(e) => setNames(e.currentTarget.value)} data-testid="rooms-names" />
            </div>
          }
        >
          <div class="field">
            <label for="room-count">Number of rooms</label>
            <input
              id="room-count"
              type="number"
              min="1"
              max="50"
              inputmode="numeric"
              value={count()}
              onInput={(e) => setCount(e.currentTarget.value)}
              data-testid="rooms-count"
            />
          </div>
        </Show>
      </fieldset>
      <div class="field">
        <label for="room-mode">How people get to rooms</label>
        <select id="room-mode" value={mode()} onChange={(e) => setMode(e.currentTarget.value as AssignmentMode)} data-testid="rooms-mode">
          <option value="auto">Automatically (spread evenly)</option>
          <option value="manual">I will assign people</option>
          <option value="choose">Participants choose a room</option>
        </select>
      </div>
      <div class="row top">
        <div class="field grow">
          <label for="room-duration">
            Duration in minutes <span class="hint">(empty: no time limit)</span>
          </label>
          <input
            id="room-duration"
            type="number"
            min="1"
            max="240"
            step="1"
            inputmode="numeric"
            value={minutes()}
            onInput={(e) => setMinutes(e.currentTarget.value)}
            data-testid="rooms-duration"
          />
        </div>
        <div class="field grow">
          <label for="room-countdown">
            Closing countdown in seconds <span class="hint">(warning before rooms close)</span>
          </label>
          <input
            id="room-countdown"
            type="number"
            min="0"
            max="300"
            inputmode="numeric"
            value={countdown()}
            onInput={(e) => setCountdown(e.currentTarget.value)}
            data-testid="rooms-countdown"
          />
        </div>
      </div>
      <button type="submit" disabled={a.pending()} data-testid="create-rooms-submit">
        {a.pending() ? "Creating…" : "Create breakout rooms"}
      </button>
      <ErrorText error={a.error()} testid="create-rooms-error" />
    </form>
  );
}

function RoundControls(props: { client: SessionClient; staff: StaffState }) {
  const phase = () => props.staff.session.phase;
  const open = createAction();
  const shuffle = createAction();
  const add = createAction();
  const closeAll = createAction();
  const extend = createAction();
  const [countdown, setCountdown] = createSignal(String(props.staff.session.settings.closingCountdownSeconds));
  const [extendBy, setExtendBy] = createSignal("300");
  const modeLabel = () =>
    (({ auto: "assigned automatically", manual: "assigned by you", choose: "chosen by participants" }) as Record<string, string>)[
      props.staff.round?.mode ?? "auto"
    ];

  return (
    <div class="stack mb">
      <p class="muted small m0">
        Round {props.staff.round?.number} · rooms {modeLabel()}
        {props.staff.round?.durationSeconds ? ` · ${Math.round(props.staff.round.durationSeconds / 60)} min` : " · no time limit"}
      </p>
      <Show when={phase() === "preparing"}>
        <div class="row">
          <button
            type="button"
            disabled={open.pending()}
            onClick={() => open.run(() => props.client.command({ type: "openBreakouts" }))}
            data-testid="open-rooms"
          >
            Open rooms and send people
          </button>
          <button
            type="button"
            class="secondary"
            disabled={shuffle.pending()}
            onClick={() => shuffle.run(() => props.client.command({ type: "autoAssign" }))}
            data-testid="auto-assign"
          >
            Assign automatically
          </button>
          <button
            type="button"
            class="secondary"
            disabled={add.pending()}
            onClick={() => add.run(() => props.client.command({ type: "addRoom" }))}
            data-testid="add-room"
          >
            Add a room
          </button>
          <button
            type="button"
            class="danger secondary"
            disabled={closeAll.pending()}
            onClick={() => closeAll.run(() => props.client.command({ type: "closeAll", countdownSeconds: 0 }))}
            data-testid="cancel-rooms"
          >
            Cancel breakout rooms
          </button>
        </div>
        <ErrorText error={open.error() ?? shuffle.error() ?? add.error() ?? closeAll.error()} />
      </Show>
      <Show when={phase() === "open" || phase() === "closing"}>
        <form
          class="row bottom"
          onSubmit={(e) => {
            e.preventDefault();
            const n = Number(countdown());
            if (!Number.isInteger(n) || n < 0 || n > 300) return closeAll.setError("Countdown must be 0 to 300 seconds.");
            void closeAll.run(() => props.client.command({ type: "closeAll", countdownSeconds: n }));
          }}
        >
          <div class="w10">
            <label for="close-countdown" class="small">
              Countdown (seconds)
            </label>
            <input
              id="close-countdown"
              type="number"
              min="0"
              max="300"
              value={countdown()}
              onInput={(e) => setCountdown(e.currentTarget.value)}
              data-testid="close-all-countdown"
            />
          </div>
          <button type="submit" class="danger" disabled={closeAll.pending() || phase() === "closing"} data-testid="close-all">
            {phase() === "closing" ? "Rooms are closing…" : "Close all rooms"}
          </button>
        </form>
        <ErrorText error={closeAll.error()} testid="close-all-error" />
        <Show when={props.staff.round?.endsAt}>
          <form
            class="row bottom"
            onSubmit={(e) => {
              e.preventDefault();
              void extend.run(() => props.client.command({ type: "extendRound", seconds: Number(extendBy()) }));
            }}
          >
            <div class="w10">
              <label for="extend-by" class="small">
                Add time
              </label>
              <select id="extend-by" value={extendBy()} onChange={(e) => setExtendBy(e.currentTarget.value)}>
                <option value="60">1 minute</option>
                <option value="300">5 minutes</option>
                <option value="600">10 minutes</option>
              </select>
            </div>
            <button type="submit" class="secondary" disabled={extend.pending()} data-testid="extend-round">
              Extend timer
            </button>
          </form>
          <ErrorText error={extend.error()} />
        </Show>
      </Show>
    </div>
  );
}

function Board(props: { client: SessionClient; staff: StaffState }) {
  const cols = createMemo(() => boardColumns(props.staff));
  const phase = () => props.staff.session.phase;
  const [dragging, setDragging] = createSignal<string | null>(null);
  const [over, setOver] = createSignal<string | null>(null);
  const [rowErrors, setRowErrors] = createStore<Record<string, string | null>>({});
  const [colErrors, setColErrors] = createStore<Record<string, string | null>>({});
  const [busy, setBusy] = createSignal<string | null>(null);
  const myId = () => props.client.me()?.memberId ?? null;

  /** Put a member in a column: plan while preparing, live move while open. */
  async function place(memberId: string, colKey: string) {
    const m = props.staff.members.find((x) => x.id === memberId);
    if (!m) return;
    const current = cols().find((c) => c.members.some((x) => x.id === memberId))?.key;
    if (current === colKey) return;
    const cmd: Command =
      phase() === "preparing" ? { type: "assign", memberId, roomId: colKey === UNASSIGNED ? null : colKey } : { type: "move", memberId, to: colKey };
    setRowErrors(memberId, null);
    setBusy(memberId);
    try {
      await props.client.command(cmd);
    } catch (e) {
      setRowErrors(memberId, errorMessage(e));
    } finally {
      setBusy(null);
    }
  }

  async function swap(a: string, b: string) {
    setRowErrors(a, null);
    setBusy(a);
    try {
      await props.client.command({ type: "swap", memberA: a, memberB: b });
    } catch (e) {
      setRowErrors(a, errorMessage(e));
    } finally {
      setBusy(null);
    }
  }

  async function roomAction(key: string, cmd: Command) {
    setColErrors(key, null);
    try {
      await props.client.command(cmd);
    } catch (e) {
      setColErrors(key, errorMessage(e));
    }
  }

  return (
    <div class="board" data-testid="board">
      <For each={cols()}>
        {(col) => {
          const cap = () => col.room?.capacity;
          return (
            <section
              class={`column ${over() === col.key ? "drop-target" : ""}`}
              aria-labelledby={`col-${col.key}`}
              data-testid="room-column"
              data-room-id={col.key}
              onDragOver={(e) => {
                if (!dragging()) return;
                e.preventDefault();
                if (e.dataTransfer) e.dataTransfer.dropEffect = "move";
                setOver(col.key);
              }}
              onDragLeave={(e) => {
                if (!(e.currentTarget as HTMLElement).contains(e.relatedTarget as Node | null)) setOver(null);
              }}
              onDrop={(e) => {
                e.preventDefault();
                const id = e.dataTransfer?.getData("text/plain") || dragging();
                setOver(null);
                setDragging(null);
                if (id) void place(id, col.key);
              }}
            >
              <h3 id={`col-${col.key}`}>
                <span>{col.title}</span>
                <span class="muted small">
                  {col.members.length}
                  {cap() ? ` / ${cap()}` : ""}
                </span>
              </h3>
              <Show when={col.room && (phase() === "open" || phase() === "closing")}>
                <div class="row">
                  <Show when={props.staff.members.find((m) => m.id === myId())?.location !== col.key}>
                    <button
                      type="button"
                      class="secondary small"
                      onClick={() => roomAction(col.key, { type: "visitRoom", to: col.key })}
                      data-testid={`visit-room-${col.key}`}
                    >
                      Join room
                    </button>
                  </Show>
                  <button
                    type="button"
                    class="danger secondary small"
                    onClick={() => roomAction(col.key, { type: "closeRoom", roomId: col.key })}
                    data-testid={`close-room-${col.key}`}
                  >
                    Close room
                  </button>
                </div>
              </Show>
              <Show when={col.room && phase() === "preparing" && cols().length > 2}>
                <button
                  type="button"
                  class="quiet small"
                  onClick={() => roomAction(col.key, { type: "deleteRoom", roomId: col.key })}
                  data-testid={`delete-room-${col.key}`}
                >
                  Remove this room
                </button>
              </Show>
              <ErrorText error={colErrors[col.key]} />
              <Show when={col.members.length === 0}>
                <p class="muted small">{phase() === "preparing" ? "Drop people here, or use “Move to”." : "Empty"}</p>
              </Show>
              <For each={col.members}>
                {(m) => (
                  <MemberRow
                    staff={props.staff}
                    member={m}
                    colKey={col.key}
                    columns={cols().map((c) => ({ key: c.key, title: c.title }))}
                    others={cols().flatMap((c) => (c.key === col.key ? [] : c.members.map((x) => ({ id: x.id, label: `${x.name} (${c.title})` }))))}
                    phase={phase()}
                    busy={busy() === m.id}
                    error={rowErrors[m.id] ?? null}
                    isMe={m.id === myId()}
                    onPlace={(key) => place(m.id, key)}
                    onSwap={(other) => swap(m.id, other)}
                    onDragStart={() => setDragging(m.id)}
                    onDragEnd={() => {
                      setDragging(null);
                      setOver(null);
                    }}
                  />
                )}
              </For>
            </section>
          );
        }}
      </For>
    </div>
  );
}

function MemberRow(props: {
  staff: StaffState;
  member: MemberPublic;
  colKey: string;
  columns: { key: string; title: string }[];
  others: { id: string; label: string }[];
  phase: string;
  busy: boolean;
  error: string | null;
  isMe: boolean;
  onPlace: (key: string) => void;
  onSwap: (otherId: string) => void;
  onDragStart: () => void;
  onDragEnd: () => void;
}) {
  const m = () => props.member;
  const live = () => props.phase === "open" || props.phase === "closing";
  const arrived = () => hasArrived(props.staff.session.id, m());
  const moveId = `move-${m().id}`;
  const swapId = `swap-${m().id}`;
  return (
    <div
      class="member"
      draggable={true}
      data-testid={`member-${m().id}`}
      data-member-id={m().id}
      aria-busy={props.busy}
      onDragStart={(e) => {
        e.dataTransfer?.setData("text/plain", m().id);
        if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
        props.onDragStart();
      }}
      onDragEnd={() => props.onDragEnd()}
    >
      <div class="row spread">
        <span class="name">
          {m().name}
          {props.isMe ? " (you)" : ""}
        </span>
        <Show when={m().role !== "participant"}>
          <span class="badge">{m().role === "facilitator" ? "Facilitator" : "Co-facilitator"}</span>
        </Show>
      </div>
      <div class="member-meta">
        <Show when={!m().connected}>
          <span class="badge danger">Offline</span>
        </Show>
        <Show when={m().connected}>
          <Show
            when={arrived()}
            fallback={
              <span class="badge warn" data-testid={`arrival-${m().id}`} data-arrived="false">
                Not in video yet
              </span>
            }
          >
            <span class="badge" data-testid={`arrival-${m().id}`} data-arrived="true">
              In video
            </span>
          </Show>
        </Show>
        <QualityBars level={m().quality} label={m().name} />
        <Show when={m().helpRequest}>
          <span class="badge warn">Asked for help</span>
        </Show>
      </div>
      <label for={moveId} class="visually-hidden">
        Move {m().name} to
      </label>
      <select
        id={moveId}
        value={props.colKey}
        disabled={props.busy}
        onChange={(e) => {
          const key = e.currentTarget.value;
          e.currentTarget.value = props.colKey; // show where they are until the server says otherwise
          props.onPlace(key);
        }}
        data-testid={`move-select-${m().id}`}
      >
        <For each={props.columns}>{(c) => <option value={c.key}>{c.key === props.colKey ? `In: ${c.title}` : `Move to ${c.title}`}</option>}</For>
      </select>
      <Show when={live() && props.others.length > 0}>
        <label for={swapId} class="visually-hidden">
          Swap {m().name} with
        </label>
        <select
          id={swapId}
          value=""
          disabled={props.busy}
          class="mt"
          onChange={(e) => {
            const other = e.currentTarget.value;
            e.currentTarget.value = "";
            if (other) props.onSwap(other);
          }}
          data-testid={`swap-select-${m().id}`}
        >
          <option value="">Swap with…</option>
          <For each={props.others}>{(o) => <option value={o.id}>{o.label}</option>}</For>
        </select>
      </Show>
      <ErrorText error={props.error} testid={`member-error-${m().id}`} />
    </div>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Help, broadcast, invite, settings, everyone, end
// ---------------------------------------------------------------------------------------------------------------

function HelpRequests(props: { client: SessionClient; staff: StaffState; myId: string }) {
  const asking = () =>
    props.staff.members.filter((m) => m.helpRequest && m.status === "admitted").sort((a, b) => (a.helpRequest?.at ?? 0) - (b.helpRequest?.at ?? 0));
  const myLocation = () => props.staff.members.find((m) => m.id === props.myId)?.location ?? null;
  return (
    <Card title={`Help requests (${asking().length})`} testid="help-requests">
      <Show when={asking().length > 0} fallback={<p class="muted">No one has asked for help.</p>}>
        <ul class="list">
          <For each={asking()}>
            {(m) => {
              const a = createAction();
              return (
                <li data-testid={`help-${m.id}`}>
                  <p class="m0">
                    <strong>{m.name}</strong> in {placeLabel(props.staff.rooms, m.location)}
                    <Show when={m.helpRequest?.message}>: “{m.helpRequest?.message}”</Show>
                  </p>
                  <div class="row">
                    <Show when={m.location && m.location !== myLocation()}>
                      <button
                        type="button"
                        class="small"
                        disabled={a.pending()}
                        onClick={() => a.run(() => props.client.command({ type: "visitRoom", to: m.location as string }))}
                      >
                        Visit room
                      </button>
                    </Show>
                    <button
                      type="button"
                      class="small secondary"
                      disabled={a.pending()}
                      onClick={() => a.run(() => props.client.command({ type: "resolveHelp", memberId: m.id }))}
                      data-testid={`resolve-help-${m.id}`}
                    >
                      Resolve
                    </button>
                  </div>
                  <ErrorText error={a.error()} />
                </li>
              );
            }}
          </For>
        </ul>
      </Show>
    </Card>
  );
}

function Broadcast(props: { client: SessionClient; staff: StaffState }) {
  const [text, setText] = createSignal("");
  const [target, setTarget] = createSignal("");
  const [sent, setSent] = createSignal(false);
  const a = createAction();
  const openRooms = () => props.staff.rooms.filter((r) => r.status === "open");
  async function submit(e: SubmitEvent) {
    e.preventDefault();
    const t = text().trim();
    if (!t) return a.setError("Write a message first.");
    const roomId = target() && openRooms().some((r) => r.id === target()) ? target() : null;
    const ok = await a.run(() => props.client.command({ type: "broadcast", text: t, roomId }));
    if (ok) {
      setText("");
      setSent(true);
      setTimeout(() => setSent(false), 3000);
    }
  }
  return (
    <Card title="Send a message">
      <form onSubmit={submit} data-testid="broadcast-form">
        <div class="field">
          <label for="broadcast-text">Message</label>
          <textarea id="broadcast-text" maxLength={1000} value={text()} onInput={(e) => setText(e.currentTarget.value)} data-testid="broadcast-text" />
        </div>
        <div class="field">
          <label for="broadcast-target">Send to</label>
          <select id="broadcast-target" value={target()} onChange={(e) => setTarget(e.currentTarget.value)} data-testid="broadcast-target">
            <option value="">Everyone</option>
            <For each={openRooms()}>{(r) => <option value={r.id}>{r.name}</option>}</For>
          </select>
        </div>
        <div class="row">
          <button type="submit" disabled={a.pending()} data-testid="broadcast-submit">
            Send
          </button>
          <span role="status" class="muted small">
            {sent() ? "Sent." : ""}
          </span>
        </div>
        <ErrorText error={a.error()} />
      </form>
    </Card>
  );
}

function InviteCard(props: { sessionId: string; ticket: string; initial: Invite | null }) {
  const [invite, setInvite] = createSignal<Invite | null>(props.initial);
  const [cofac, setCofac] = createSignal<Invite | null>(null);
  const a = createAction();
  const absolute = (url: string) => new URL(url, window.location.origin).toString();
  return (
    <Card title="Invite people" testid="invite-card">
      <Show when={invite()} fallback={<p class="muted">Create a link to invite participants.</p>}>
        {(inv) => (
          <CopyField
            label="Participant link"
            value={absolute(inv().url)}
            testid="invite-link"
            hint={`Anyone with this link can ask to join. It expires ${new Date(inv().expiresAt).toLocaleString()}.`}
          />
        )}
      </Show>
      <Show when={cofac()}>{(inv) => <CopyField label="Co-facilitator link" value={absolute(inv().url)} testid="cofacilitator-link" />}</Show>
      <div class="row">
        <button
          type="button"
          class="secondary small"
          disabled={a.pending()}
          onClick={async () => {
            const inv = await a.run(() => api.createInvite(props.sessionId, props.ticket, { role: "participant" }));
            if (inv) {
              setInvite(inv);
              storage.updateSession(props.sessionId, { invite: inv });
            }
          }}
          data-testid="new-invite"
        >
          New participant link
        </button>
        <button
          type="button"
          class="quiet small"
          disabled={a.pending()}
          onClick={async () => {
            const inv = await a.run(() => api.createInvite(props.sessionId, props.ticket, { role: "cofacilitator" }));
            if (inv) setCofac(inv);
          }}
        >
          Co-facilitator link
        </button>
      </div>
      <ErrorText error={a.error()} />
    </Card>
  );
}

function SettingsCard(props: { client: SessionClient; staff: StaffState }) {
  const a = createAction();
  const s = () => props.staff.session.settings;
  const set = (patch: Record<string, boolean>) => a.run(() => props.client.command({ type: "updateSettings", settings: patch }));
  return (
    <Card title="Settings">
      <label class="radio">
        <input type="checkbox" checked={s().autoAdmit} onChange={(e) => set({ autoAdmit: e.currentTarget.checked })} data-testid="setting-auto-admit" /> Let
        people in without waiting
      </label>
      <label class="radio">
        <input
          type="checkbox"
          checked={s().allowSelfReturn}
          onChange={(e) => set({ allowSelfReturn: e.currentTarget.checked })}
          data-testid="setting-self-return"
        />{" "}
        Participants may return to the main room themselves
      </label>
      <ErrorText error={a.error()} />
    </Card>
  );
}

function Everyone(props: { client: SessionClient; staff: StaffState; myId: string }) {
  const order: Record<string, number> = { admitted: 0, waiting: 1, left: 2, denied: 3 };
  const people = () => [...props.staff.members].sort((a, b) => order[a.status] - order[b.status] || a.name.localeCompare(b.name));
  return (
    <Card title={`Everyone (${props.staff.members.filter((m) => m.status === "admitted").length} in the session)`} testid="everyone">
      <ul class="list">
        <For each={people()}>
          {(m) => {
            const a = createAction();
            return (
              <li
                data-testid={`person-${m.id}`}
                data-member-id={m.id}
                data-status={m.status}
                data-location={m.location ?? ""}
                data-arrived={m.status === "admitted" && hasArrived(props.staff.session.id, m) ? "true" : "false"}
              >
                <div class="row spread">
                  <span>
                    <strong>{m.name}</strong>
                    {m.id === props.myId ? " (you)" : ""}{" "}
                    <span class="muted small">
                      · {m.status === "admitted" ? placeLabel(props.staff.rooms, m.location) : m.status}
                      {m.status === "admitted" ? (hasArrived(props.staff.session.id, m) ? " · in video" : " · not in video yet") : ""}
                      {m.status === "admitted" && !m.connected ? " · offline" : ""}
                    </span>
                  </span>
                  <span class="row">
                    <Show when={m.status === "admitted"}>
                      <QualityBars level={m.quality} label={m.name} />
                    </Show>
                    <Show when={(m.status === "admitted" || m.status === "waiting") && m.role !== "facilitator" && m.id !== props.myId}>
                      <button
                        type="button"
                        class="quiet small"
                        disabled={a.pending()}
                        onClick={() => a.run(() => props.client.command({ type: "removeMember", memberId: m.id }))}
                        aria-label={`Remove ${m.name} from the session`}
                      >
                        Remove
                      </button>
                    </Show>
                  </span>
                </div>
                <ErrorText error={a.error()} />
              </li>
            );
          }}
        </For>
      </ul>
    </Card>
  );
}

function EndSession(props: { client: SessionClient }) {
  const [confirming, setConfirming] = createSignal(false);
  const a = createAction();
  return (
    <Card title="End the session">
      <Show
        when={confirming()}
        fallback={
          <button type="button" class="danger secondary" onClick={() => setConfirming(true)} data-testid="end-session">
            End session for everyone
          </button>
        }
      >
        <p>This closes every room and disconnects everyone. Are you sure?</p>
        <div class="row">
          <button
            type="button"
            class="danger"
            disabled={a.pending()}
            onClick={() => a.run(() => props.client.command({ type: "endSession" }))}
            data-testid="end-session-confirm"
          >
            Yes, end the session
          </button>
          <button type="button" class="secondary" onClick={() => setConfirming(false)}>
            Keep going
          </button>
        </div>
      </Show>
      <ErrorText error={a.error()} />
    </Card>
  );
}
