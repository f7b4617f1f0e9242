/**
 * The facilitator's breakout manager, a panel beside the gallery: create rooms (the form keeps what was typed across
 * rounds), then the rooms as columns of people (the main room / unassigned first). People move by drag and drop or by
 * keyboard ("Move" menu on each person: arrows + Enter); while preparing that plans (assign / bulkAssign), while rooms
 * are open it moves people live (move / swap). Rooms are renamed in place, added, removed, visited and closed; the round
 * has its timer, extend, close all with a countdown (and cancelling it), and a message to everyone or one room.
 */
import { createMemo, createSignal, For, Match, Show, Switch } from "solid-js";
import { createStore } from "solid-js/store";
import { type BreakoutDraft, draftCommand, emptyDraft } from "../../lib/breakout-draft";
import { MAX_ROOM_CAPACITY, type AssignmentMode, type Command, type MemberPublic, type PairRuleKind, type StaffState } from "../../../../lib/protocol";
import { CommandError } from "../../lib/session-core";
import type { SessionClient } from "../../lib/session-client";
import { boardColumns, formatDuration, hasArrived, placeLabel, UNASSIGNED, type BoardColumn } from "../../lib/state";
import { createAction, errorMessage, ErrorText } from "../common";
import { Icon } from "../room/icons";
import { roleLabel } from "../room/Stage";
import { ConfirmDialog, MenuButton, type MenuItem } from "../room/ui";
import { createUnsupervisedConfirm, UnsupervisedDialog } from "./unsupervised";

// The create form's draft (web/src/lib/breakout-draft.ts) is owned by the console so it outlives the round.

// ---------------------------------------------------------------------------------------------------------------
// The panel
// ---------------------------------------------------------------------------------------------------------------

export function createBreakoutDraft(closingCountdownSeconds: number) {
  return createStore<BreakoutDraft>(emptyDraft(closingCountdownSeconds));
}
export type BreakoutDraftStore = ReturnType<typeof createBreakoutDraft>;

export function BreakoutPanelBody(props: { client: SessionClient; staff: StaffState; draft: BreakoutDraftStore; myId: string; now: number }) {
  const phase = () => props.staff.session.phase;
  return (
    <div class="breakouts" data-testid="breakouts">
      <Switch>
        <Match when={phase() === "main"}>
          <CreateRoomsForm client={props.client} staff={props.staff} draft={props.draft} myId={props.myId} />
        </Match>
        <Match when={phase() === "preparing" || phase() === "open" || phase() === "closing"}>
          <RoundControls client={props.client} staff={props.staff} now={props.now} />
          <Board client={props.client} staff={props.staff} myId={props.myId} />
          <Show when={phase() === "preparing"}>
            <PreAssign client={props.client} staff={props.staff} />
          </Show>
        </Match>
      </Switch>
      <PairingRules client={props.client} staff={props.staff} />
      <Broadcast client={props.client} staff={props.staff} />
    </div>
  );
}

function CreateRoomsForm(props: { client: SessionClient; staff: StaffState; draft: BreakoutDraftStore; myId: string }) {
  const [d, setD] = props.draft;
  const a = createAction();
  const participants = () => props.staff.members.filter((m) => m.status === "admitted" && m.role === "participant").length;
  const staffMembers = () => props.staff.members.filter((m) => m.status === "admitted" && m.role !== "participant");

  async function submit(e: SubmitEvent) {
    e.preventDefault();
    const r = draftCommand(d);
    if ("errors" in r) return a.setError(r.errors.join(" "));
    await a.run(async () => {
      if (r.countdown !== props.staff.session.settings.closingCountdownSeconds && props.client.me()?.role === "facilitator")
        await props.client.command({ type: "updateSettings", settings: { closingCountdownSeconds: r.countdown } });
      return props.client.command(r.command);
    });
  }

  return (
    <form onSubmit={submit} data-testid="create-rooms-form" noValidate class="panel-section">
      <h3>New breakout rooms</h3>
      <p class="muted small">
        {participants()} {participants() === 1 ? "participant" : "participants"} here. Breakout rooms need at least 2.
      </p>
      <fieldset>
        <legend>Rooms</legend>
        <label class="radio">
          <input type="radio" name="how" value="count" checked={d.how === "count"} onChange={() => setD("how", "count")} /> A number of rooms
        </label>
        <label class="radio">
          <input type="radio" name="how" value="names" checked={d.how === "names"} onChange={() => setD("how", "names")} data-testid="rooms-by-name" /> Name
          each room
        </label>
        <Show
          when={d.how === "count"}
          fallback={
            <div class="field">
              <label for="room-names">
                Room names <span class="hint">(one per line)</span>
              </label>
              <textarea id="room-names" value={d.names} onInput={(e) => setD("names", e.currentTarget.value)} data-testid="rooms-names" />
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
              value={d.count}
              onInput={(e) => setD("count", e.currentTarget.value)}
              data-testid="rooms-count"
            />
          </div>
        </Show>
      </fieldset>
      <div class="field">
        <label for="room-mode">How people get to rooms</label>
        <select id="room-mode" value={d.mode} onChange={(e) => setD("mode", e.currentTarget.value as AssignmentMode)} data-testid="rooms-mode">
          <option value="auto">Automatically (spread evenly)</option>
          <option value="manual">I will assign people</option>
          <option value="choose">Participants choose a room</option>
        </select>
      </div>
      <div class="two-fields">
        <div class="field">
          <label for="room-duration">Length in minutes</label>
          <input
            id="room-duration"
            type="number"
            min="0.5"
            max="240"
            step="any"
            inputmode="decimal"
            placeholder="No limit"
            value={d.minutes}
            onInput={(e) => setD("minutes", e.currentTarget.value)}
            data-testid="rooms-duration"
          />
        </div>
        <div class="field">
          <label for="room-countdown">Closing countdown (s)</label>
          <input
            id="room-countdown"
            type="number"
            min="0"
            max="300"
            inputmode="numeric"
            value={d.countdown}
            onInput={(e) => setD("countdown", e.currentTarget.value)}
            data-testid="rooms-countdown"
          />
        </div>
      </div>
      <details class="more-options">
        <summary>More options</summary>
        <div class="field">
          <label for="room-capacity">
            People per room, at most <span class="hint">(empty: {props.staff.session.settings.maxParticipantsPerRoom})</span>
          </label>
          <input
            id="room-capacity"
            type="number"
            min="1"
            max={MAX_ROOM_CAPACITY}
            inputmode="numeric"
            value={d.capacity}
            onInput={(e) => setD("capacity", e.currentTarget.value)}
            data-testid="rooms-capacity"
          />
        </div>
        <Show when={staffMembers().length > 0}>
          <fieldset>
            <legend>Staff who go to rooms too (automatic assignment)</legend>
            <For each={staffMembers()}>
              {(m) => (
                <label class="check">
                  <input
                    type="checkbox"
                    checked={d.includeStaff.includes(m.id)}
                    onChange={(e) =>
                      setD("includeStaff", (list) => (e.currentTarget.checked ? [...list.filter((x) => x !== m.id), m.id] : list.filter((x) => x !== m.id)))
                    }
                    data-testid={`include-staff-${m.id}`}
                  />
                  {m.name}
                  {m.id === props.myId ? " (you)" : ""}
                </label>
              )}
            </For>
          </fieldset>
        </Show>
      </details>
      <button type="submit" disabled={a.pending()} data-testid="create-rooms-submit">
        {a.pending() ? "Creating…" : "Create breakout rooms"}
      </button>
      <ErrorText error={a.error()} testid="create-rooms-error" />
    </form>
  );
}

function RoundControls(props: { client: SessionClient; staff: StaffState; now: number }) {
  const phase = () => props.staff.session.phase;
  const round = () => props.staff.round;
  const open = createAction();
  const shuffle = createAction();
  const add = createAction();
  const cancel = createAction();
  const closeAll = createAction();
  const extend = createAction();
  const [countdown, setCountdown] = createSignal(String(props.staff.session.settings.closingCountdownSeconds));
  const [extendBy, setExtendBy] = createSignal("300");
  // supervisedRooms: opening rooms without staff needs a confirmation (the server's refusal names the rooms).
  const unsupervised = createUnsupervisedConfirm(open, (confirmUnsupervised) =>
    props.client.command({ type: "openBreakouts", ...(confirmUnsupervised ? { confirmUnsupervised: true } : {}) }),
  );
  const modeLabel = () =>
    (({ auto: "assigned automatically", manual: "assigned by you", choose: "chosen by participants" }) as Record<string, string>)[round()?.mode ?? "auto"];
  const endsIn = () => (round()?.endsAt ? (round()?.endsAt as number) - props.now : null);
  const closesIn = () => (round()?.closesAt ? (round()?.closesAt as number) - props.now : null);
  const extendLabel = () => ({ "60": "1 minute", "300": "5 minutes", "600": "10 minutes" })[extendBy()] ?? `${extendBy()} s`;

  return (
    <section class="panel-section round" aria-labelledby="round-h">
      <h3 id="round-h" class="round-title">
        <span>Round {round()?.number}</span>
        <span class="chip" data-testid="panel-round-status">
          <Switch>
            <Match when={phase() === "preparing"}>Preparing</Match>
            <Match when={closesIn() !== null}>Closing in {formatDuration(Math.max(0, closesIn() as number))}</Match>
            <Match when={endsIn() !== null}>{formatDuration(Math.max(0, endsIn() as number))} left</Match>
            <Match when={true}>Open · no time limit</Match>
          </Switch>
        </span>
      </h3>
      <p class="muted small m0">
        Rooms {modeLabel()}
        {round()?.durationSeconds ? ` · ${formatDuration((round()?.durationSeconds as number) * 1000)} long` : " · no time limit"}
      </p>
      <Show when={phase() === "preparing"}>
        <div class="row mt">
          <button type="button" disabled={open.pending()} onClick={() => void unsupervised.run(false)} data-testid="open-rooms">
            Open rooms
          </button>
          <button
            type="button"
            class="secondary small"
            disabled={shuffle.pending()}
            onClick={() => shuffle.run(() => props.client.command({ type: "autoAssign" }))}
            data-testid="auto-assign"
          >
            Assign automatically
          </button>
          <button
            type="button"
            class="secondary small"
            disabled={add.pending()}
            onClick={() => add.run(() => props.client.command({ type: "addRoom" }))}
            data-testid="add-room"
          >
            Add a room
          </button>
          <button
            type="button"
            class="quiet small danger-text"
            disabled={cancel.pending()}
            onClick={() => cancel.run(() => props.client.command({ type: "closeAll", countdownSeconds: 0 }))}
            data-testid="cancel-rooms"
          >
            Cancel
          </button>
        </div>
        <ErrorText error={open.error() ?? shuffle.error() ?? add.error() ?? cancel.error()} />
        <UnsupervisedDialog confirm={unsupervised} action={open} testid="unsupervised-dialog" confirmTestid="open-unsupervised">
          <p>This session asks for a facilitator or co-facilitator in every room. You can place staff in those rooms first, or open them as they are.</p>
        </UnsupervisedDialog>
      </Show>
      <Show when={phase() === "open" || phase() === "closing"}>
        <Show when={phase() === "closing"}>
          <div class="notice warn inline" role="status" data-testid="closing-status">
            <span>Rooms close in {formatDuration(Math.max(0, closesIn() ?? 0))}. Everyone returns to the main room.</span>
            <button
              type="button"
              class="small"
              disabled={extend.pending()}
              onClick={() => extend.run(() => props.client.command({ type: "extendRound", seconds: Number(extendBy()) }))}
              data-testid="cancel-closing"
            >
              Keep rooms open ({extendLabel()} more)
            </button>
          </div>
        </Show>
        <div class="round-forms">
          <form
            class="row bottom"
            onSubmit={(e) => {
              e.preventDefault();
              void extend.run(() => props.client.command({ type: "extendRound", seconds: Number(extendBy()) }));
            }}
          >
            <div class="field compact">
              <label for="extend-by" class="small">
                {round()?.endsAt ? "Add time" : "Set a time limit"}
              </label>
              <select id="extend-by" value={extendBy()} onChange={(e) => setExtendBy(e.currentTarget.value)}>
                <option value="60">1 min</option>
                <option value="300">5 min</option>
                <option value="600">10 min</option>
              </select>
            </div>
            <button type="submit" class="secondary small" disabled={extend.pending()} data-testid="extend-round">
              {round()?.endsAt ? "Extend" : "Set"}
            </button>
          </form>
          <form
            class="row bottom"
            onSubmit={(e) => {
              e.preventDefault();
              const n = Number(countdown());
              if (!Number.isInteger(n) || n < 0 || n > 300) return closeAll.setError("Countdown must be 0 to 300 seconds.");
              void closeAll.run(() => props.client.command({ type: "closeAll", countdownSeconds: n }));
            }}
          >
            <div class="field compact">
              <label for="close-countdown" class="small">
                Countdown (s)
              </label>
              <input
                id="close-countdown"
                type="number"
                min="0"
                max="300"
                class="narrow-input"
                value={countdown()}
                onInput={(e) => setCountdown(e.currentTarget.value)}
                data-testid="close-all-countdown"
              />
            </div>
            <button type="submit" class="danger small" disabled={closeAll.pending()} data-testid="close-all">
              {phase() === "closing" ? "Close now" : "Close all rooms"}
            </button>
          </form>
        </div>
        <ErrorText error={extend.error()} />
        <ErrorText error={closeAll.error()} testid="close-all-error" />
      </Show>
    </section>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The board: rooms as columns of people
// ---------------------------------------------------------------------------------------------------------------

function Board(props: { client: SessionClient; staff: StaffState; myId: string }) {
  const cols = createMemo(() => boardColumns(props.staff));
  const phase = () => props.staff.session.phase;
  const live = () => phase() === "open" || phase() === "closing";
  const [dragging, setDragging] = createSignal<string | null>(null);
  const [over, setOver] = createSignal<string | null>(null);
  const [rowErrors, setRowErrors] = createStore<Record<string, string | null>>({});
  const [colErrors, setColErrors] = createStore<Record<string, string | null>>({});
  const [busy, setBusy] = createSignal<string | null>(null);
  const [announce, setAnnounce] = createSignal("");
  const colKeys = createMemo(() => cols().map((c) => c.key), [], { equals: (a, b) => a.length === b.length && a.every((k, i) => k === b[i]) });
  const colOf = (memberId: string) => cols().find((c) => c.members.some((x) => x.id === memberId));
  // A placement refused for a pairing rule waits here for "place anyway" (sent again with confirmRule).
  const [ruleConfirm, setRuleConfirm] = createSignal<{ cmd: Command; message: string; memberId: string | null } | null>(null);
  const confirmAction = createAction();

  /** Send a placement; a PAIRING_RULE refusal asks for confirmation instead of showing an error. */
  async function placeCommand(cmd: Command, memberId: string | null) {
    try {
      await props.client.command(cmd);
      return true;
    } catch (e) {
      if (e instanceof CommandError && e.code === "PAIRING_RULE") {
        setRuleConfirm({ cmd, message: e.message, memberId });
        return false;
      }
      throw e;
    }
  }

  /** Put a member in a column: plan while preparing, live move while open. */
  async function place(memberId: string, colKey: string) {
    const m = props.staff.members.find((x) => x.id === memberId);
    if (!m) return;
    if (colOf(memberId)?.key === colKey) return;
    const cmd: Command =
      phase() === "preparing" ? { type: "assign", memberId, roomId: colKey === UNASSIGNED ? null : colKey } : { type: "move", memberId, to: colKey };
    setRowErrors(memberId, null);
    setBusy(memberId);
    try {
      if (!(await placeCommand(cmd, memberId))) return;
      setAnnounce(`${m.name} ${phase() === "preparing" ? "planned for" : "moved to"} ${cols().find((c) => c.key === colKey)?.title ?? "another room"}.`);
    } catch (e) {
      setRowErrors(memberId, errorMessage(e));
    } finally {
      setBusy(null);
    }
    // After busy is cleared: a disabled button cannot take the focus.
    followFocus(memberId);
  }

  /**
   * The person's chip moves to another column (a new element), so a keyboard user's focus would fall to the page:
   * put it back on the same person's Move button in their new column.
   */
  function followFocus(memberId: string, tries = 6) {
    const active = document.activeElement;
    const lost = !active || active === document.body || !active.isConnected;
    const btn = document.querySelector<HTMLElement>(`[data-testid="move-menu-${memberId}"]`);
    if (lost && btn) {
      btn.focus();
      if (document.activeElement === btn) return;
    }
    // Focus elsewhere on purpose (another control): leave it. On the old button: the patch may still be coming.
    if (!lost && active !== btn && !active?.closest(`[data-member-id="${memberId}"]`)) return;
    if (tries > 0) setTimeout(() => followFocus(memberId, tries - 1), 120);
  }

  async function swap(a: string, b: string) {
    setRowErrors(a, null);
    setBusy(a);
    try {
      await placeCommand({ type: "swap", memberA: a, memberB: b }, a);
    } catch (e) {
      setRowErrors(a, errorMessage(e));
    } finally {
      setBusy(null);
    }
  }

  /** Everyone in a column to another: one bulkAssign while preparing, one move each while open. */
  async function moveAll(from: BoardColumn, toKey: string) {
    setColErrors(from.key, null);
    try {
      if (phase() === "preparing")
        await placeCommand(
          {
            type: "bulkAssign",
            assignments: from.members.map((m) => ({ memberId: m.id, roomId: toKey === UNASSIGNED ? null : toKey })),
          },
          null,
        );
      else await Promise.all(from.members.map((m) => placeCommand({ type: "move", memberId: m.id, to: toKey }, m.id)));
    } catch (e) {
      setColErrors(from.key, errorMessage(e));
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

  const myLocation = () => props.staff.members.find((m) => m.id === props.myId)?.location ?? null;

  return (
    <div class="board" data-testid="board">
      <p class="visually-hidden" role="status">
        {announce()}
      </p>
      <p class="muted small board-hint">Drag people between rooms, or use “Move” on a person.</p>
      <For each={colKeys()}>
        {(key) => {
          // Keyed by room id: a column (and a drag from it, or the focus in it) survives every patch of the state.
          const col = () => cols().find((c) => c.key === key) ?? EMPTY_COLUMN;
          return (
            <section
              class="column"
              classList={{ "drop-target": over() === col().key, main: col().room === null }}
              aria-labelledby={`col-${col().key}`}
              data-testid="room-column"
              data-room-id={col().key}
              onDragOver={(e) => {
                if (!dragging()) return;
                e.preventDefault();
                if (e.dataTransfer) e.dataTransfer.dropEffect = "move";
                setOver(col().key);
              }}
              onDragLeave={(e) => {
                if (!(e.currentTarget as HTMLElement).contains(e.relatedTarget as Node | null)) setOver(null);
              }}
              onDrop={(e) => {
                e.preventDefault();
                const id = e.dataTransfer?.getData("text/plain") || dragging();
                setOver(null);
                setDragging(null);
                if (id) void place(id, col().key);
              }}
            >
              <ColumnHeader
                client={props.client}
                col={col()}
                cols={cols()}
                live={live()}
                preparing={phase() === "preparing"}
                canDelete={phase() === "preparing" && cols().length > 2}
                here={myLocation() === col().key}
                onAction={(cmd) => roomAction(col().key, cmd)}
                onMoveAll={(to) => moveAll(col(), to)}
              />
              <ErrorText error={colErrors[col().key]} />
              <Show when={col().key === UNASSIGNED}>
                <p class="muted small m0">They stay in the main room.</p>
              </Show>
              <Show when={col().members.length === 0}>
                <p class="muted small empty-col">{phase() === "preparing" ? "Drop people here" : "Empty"}</p>
              </Show>
              <ul class="members">
                <For each={col().members}>
                  {(m) => (
                    <MemberChip
                      staff={props.staff}
                      member={m}
                      col={col()}
                      cols={cols()}
                      live={live()}
                      busy={busy() === m.id}
                      error={rowErrors[m.id] ?? null}
                      isMe={m.id === props.myId}
                      dragging={dragging() === m.id}
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
              </ul>
            </section>
          );
        }}
      </For>
      <ConfirmDialog
        open={ruleConfirm() !== null}
        title="This breaks a pairing rule"
        confirmLabel="Place anyway"
        pending={confirmAction.pending()}
        error={confirmAction.error()}
        testid="pairing-confirm"
        confirmTestid="pairing-confirm-ok"
        onConfirm={async () => {
          const c = ruleConfirm();
          if (!c) return;
          const ok = await confirmAction.run(async () => {
            await props.client.command({ ...c.cmd, confirmRule: true } as Command);
            return true;
          });
          if (ok) {
            setRuleConfirm(null);
            if (c.memberId) followFocus(c.memberId);
          }
        }}
        onClose={() => {
          confirmAction.setError(null);
          setRuleConfirm(null);
        }}
      >
        <p>{ruleConfirm()?.message}</p>
      </ConfirmDialog>
    </div>
  );
}

const EMPTY_COLUMN: BoardColumn = { key: "", roomId: null, title: "", room: null, members: [] };

function ColumnHeader(props: {
  client: SessionClient;
  col: BoardColumn;
  cols: BoardColumn[];
  live: boolean;
  preparing: boolean;
  canDelete: boolean;
  here: boolean;
  onAction: (cmd: Command) => Promise<void>;
  onMoveAll: (toKey: string) => Promise<void>;
}) {
  const [editing, setEditing] = createSignal(false);
  const [name, setName] = createSignal("");
  const rename = createAction();
  const room = () => props.col.room;
  let input!: HTMLInputElement;
  const start = () => {
    setName(room()?.name ?? "");
    setEditing(true);
    queueMicrotask(() => {
      input.focus();
      input.select();
    });
  };
  const menu = (): MenuItem[] => {
    const items: MenuItem[] = [];
    const others = props.cols.filter((c) => c.key !== props.col.key);
    if (props.col.members.length > 0)
      others.forEach((c, i) =>
        items.push({
          id: `all-${c.key}`,
          heading: i === 0 ? "Move everyone here to" : undefined,
          label: c.title,
          onSelect: () => void props.onMoveAll(c.key),
          testid: `move-all-to-${c.key}`,
        }),
      );
    const r = room();
    if (r) {
      items.push({ id: "rename", label: "Rename", onSelect: start, separatorBefore: items.length > 0, testid: `rename-room-${r.id}` });
      if (props.canDelete)
        items.push({
          id: "delete",
          label: "Remove this room",
          tone: "danger",
          onSelect: () => void props.onAction({ type: "deleteRoom", roomId: r.id }),
          testid: `delete-room-${r.id}`,
        });
    }
    return items;
  };
  return (
    <div class="col-head">
      <Show
        when={editing()}
        fallback={
          <h3 id={`col-${props.col.key}`}>
            <span>{props.col.title}</span>
            <span class="col-count">
              {props.col.members.length}
              {room() ? ` / ${room()?.capacity}` : ""}
            </span>
          </h3>
        }
      >
        <form
          class="rename"
          onSubmit={async (e) => {
            e.preventDefault();
            const r = room();
            const n = name().trim();
            if (!r || !n) return setEditing(false);
            if (n === r.name) return setEditing(false);
            const ok = await rename.run(() => props.client.command({ type: "renameRoom", roomId: r.id, name: n }));
            if (ok) setEditing(false);
          }}
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              e.preventDefault();
              e.stopPropagation();
              setEditing(false);
            }
          }}
        >
          <label for={`rename-${props.col.key}`} class="visually-hidden">
            Name of {props.col.title}
          </label>
          <input
            id={`rename-${props.col.key}`}
            ref={input}
            maxLength={80}
            value={name()}
            onInput={(e) => setName(e.currentTarget.value)}
            data-testid="rename-input"
          />
          <button type="submit" class="small" disabled={rename.pending()}>
            Save
          </button>
          <button type="button" class="quiet small" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
        <ErrorText error={rename.error()} />
      </Show>
      <div class="col-actions">
        <Show when={room() && props.live}>
          <Show when={!props.here} fallback={<span class="chip small-chip">You are here</span>}>
            <button
              type="button"
              class="secondary small"
              onClick={() => props.onAction({ type: "visitRoom", to: props.col.key })}
              data-testid={`visit-room-${props.col.key}`}
            >
              Join
            </button>
          </Show>
          <button
            type="button"
            class="quiet small danger-text"
            onClick={() => props.onAction({ type: "closeRoom", roomId: props.col.key })}
            data-testid={`close-room-${props.col.key}`}
          >
            Close
          </button>
        </Show>
        <Show when={menu().length > 0}>
          <MenuButton label={`More for ${props.col.title}`} class="icon-button small" items={menu} testid={`column-menu-${props.col.key}`}>
            <Icon name="more" />
          </MenuButton>
        </Show>
      </div>
    </div>
  );
}

function MemberChip(props: {
  staff: StaffState;
  member: MemberPublic;
  col: BoardColumn;
  cols: BoardColumn[];
  live: boolean;
  busy: boolean;
  error: string | null;
  isMe: boolean;
  dragging: boolean;
  onPlace: (key: string) => void;
  onSwap: (otherId: string) => void;
  onDragStart: () => void;
  onDragEnd: () => void;
}) {
  const m = () => props.member;
  const arrived = () => hasArrived(props.staff.session.id, m());
  const items = (): MenuItem[] => {
    const list: MenuItem[] = [];
    const others = props.cols.filter((c) => c.key !== props.col.key);
    others.forEach((c, i) =>
      list.push({
        id: `to-${c.key}`,
        heading: i === 0 ? "Move to" : undefined,
        label: c.title,
        hint: c.room && c.members.length >= c.room.capacity ? "Full" : undefined,
        onSelect: () => props.onPlace(c.key),
        testid: `move-to-${c.key}`,
      }),
    );
    if (props.live) {
      const swaps = others.flatMap((c) => c.members.map((x) => ({ x, c })));
      swaps.forEach(({ x, c }, i) =>
        list.push({
          id: `swap-${x.id}`,
          heading: i === 0 ? "Swap places with" : undefined,
          separatorBefore: i === 0,
          label: `${x.name} (${c.title})`,
          onSelect: () => props.onSwap(x.id),
          testid: `swap-with-${x.id}`,
        }),
      );
    }
    return list;
  };
  return (
    <li
      class="member"
      classList={{ dragging: props.dragging }}
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
      <span class="drag-handle" aria-hidden="true">
        <Icon name="drag" />
      </span>
      <span class="member-main">
        <span class="name">
          {m().name}
          {props.isMe ? " (you)" : ""}
        </span>
        <span class="member-meta">
          <Show when={roleLabel(m().role)}>{(r) => <span class="badge">{r()}</span>}</Show>
          <Show when={!m().connected}>
            <span class="badge danger">Offline</span>
          </Show>
          <Show when={m().connected && props.live}>
            <Show
              when={arrived()}
              fallback={
                <span class="badge warn" data-testid={`arrival-${m().id}`} data-arrived="false">
                  Joining video
                </span>
              }
            >
              <span class="visually-hidden" data-testid={`arrival-${m().id}`} data-arrived="true">
                In video
              </span>
            </Show>
          </Show>
          <Show when={m().helpRequest}>
            <span class="badge warn">Asked for help</span>
          </Show>
        </span>
      </span>
      <MenuButton label={`Move ${m().name}`} class="secondary small" items={items} testid={`move-menu-${m().id}`} disabled={props.busy}>
        Move
      </MenuButton>
      <ErrorText error={props.error} testid={`member-error-${m().id}`} />
    </li>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Pre-assignment (by identity, before someone joins) and broadcast
// ---------------------------------------------------------------------------------------------------------------

function PreAssign(props: { client: SessionClient; staff: StaffState }) {
  const [identity, setIdentity] = createSignal("");
  const [room, setRoom] = createSignal("");
  const a = createAction();
  const rooms = () => props.staff.rooms.filter((r) => r.status === "preparing");
  const entries = () => Object.entries(props.staff.session.preAssignments);
  return (
    <details class="more-options panel-section">
      <summary>Assign someone who has not joined yet</summary>
      <p class="muted small">By their account identity (for example user:…). They go to that room when they join.</p>
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          const id = identity().trim();
          if (!id) return a.setError("Enter their identity.");
          const ok = await a.run(() => props.client.command({ type: "preAssign", identity: id, roomId: room() || null }));
          if (ok) setIdentity("");
        }}
      >
        <div class="field">
          <label for="preassign-identity">Identity</label>
          <input id="preassign-identity" value={identity()} onInput={(e) => setIdentity(e.currentTarget.value)} autocomplete="off" />
        </div>
        <div class="field">
          <label for="preassign-room">Room</label>
          <select id="preassign-room" value={room()} onChange={(e) => setRoom(e.currentTarget.value)}>
            <option value="">No room (stay in the main room)</option>
            <For each={rooms()}>{(r) => <option value={r.id}>{r.name}</option>}</For>
          </select>
        </div>
        <button type="submit" class="secondary small" disabled={a.pending()}>
          Assign
        </button>
        <ErrorText error={a.error()} />
      </form>
      <Show when={entries().length > 0}>
        <ul class="list small">
          <For each={entries()}>
            {([who, roomId]) => (
              <li>
                {who} → {placeLabel(props.staff.rooms, roomId)}
              </li>
            )}
          </For>
        </ul>
      </Show>
    </details>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Pairing rules: who must not share a room, and who must (staff only; automatic assignment honours them)
// ---------------------------------------------------------------------------------------------------------------

function PairingRules(props: { client: SessionClient; staff: StaffState }) {
  const [a, setA] = createSignal("");
  const [b, setB] = createSignal("");
  const [kind, setKind] = createSignal<PairRuleKind>("apart");
  const add = createAction();
  const remove = createAction();
  const people = () => props.staff.members.filter((m) => m.status === "admitted" || m.status === "waiting").sort((x, y) => x.name.localeCompare(y.name));
  const nameOf = (id: string) => {
    const m = props.staff.members.find((x) => x.id === id);
    return m ? (m.status === "left" ? `${m.name} (left)` : m.name) : id;
  };
  return (
    <details class="more-options panel-section" data-testid="pairing-rules">
      <summary>Pairing rules{props.staff.pairRules.length ? ` (${props.staff.pairRules.length})` : ""}</summary>
      <p class="muted small">Only staff see these. Automatic assignment follows them; a move that breaks one asks first.</p>
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!a() || !b()) return add.setError("Choose two people.");
          if (a() === b()) return add.setError("Choose two different people.");
          const ok = await add.run(() => props.client.command({ type: "setPairRule", memberA: a(), memberB: b(), rule: kind() }));
          if (ok) {
            setA("");
            setB("");
          }
        }}
      >
        <div class="field">
          <label for="pair-a">Person</label>
          <select id="pair-a" value={a()} onChange={(e) => setA(e.currentTarget.value)} data-testid="pair-a">
            <option value="">Choose…</option>
            <For each={people()}>{(m) => <option value={m.id}>{m.name}</option>}</For>
          </select>
        </div>
        <div class="field">
          <label for="pair-kind">Rule</label>
          <select id="pair-kind" value={kind()} onChange={(e) => setKind(e.currentTarget.value as PairRuleKind)} data-testid="pair-kind">
            <option value="apart">must not share a room with</option>
            <option value="together">must share a room with</option>
          </select>
        </div>
        <div class="field">
          <label for="pair-b">Other person</label>
          <select id="pair-b" value={b()} onChange={(e) => setB(e.currentTarget.value)} data-testid="pair-b">
            <option value="">Choose…</option>
            <For each={people().filter((m) => m.id !== a())}>{(m) => <option value={m.id}>{m.name}</option>}</For>
          </select>
        </div>
        <button type="submit" class="secondary small" disabled={add.pending()} data-testid="pair-add">
          Add rule
        </button>
        <ErrorText error={add.error()} />
      </form>
      <Show when={props.staff.pairRules.length > 0} fallback={<p class="muted small m0">No rules yet.</p>}>
        <ul class="list small" data-testid="pair-rules-list">
          <For each={props.staff.pairRules}>
            {(r) => (
              <li class="row" data-testid="pair-rule">
                <span class="grow">
                  {nameOf(r.memberA)} {r.rule === "apart" ? "apart from" : "together with"} {nameOf(r.memberB)}
                </span>
                <button
                  type="button"
                  class="secondary small"
                  disabled={remove.pending()}
                  aria-label={`Remove the rule for ${nameOf(r.memberA)} and ${nameOf(r.memberB)}`}
                  onClick={() => remove.run(() => props.client.command({ type: "setPairRule", memberA: r.memberA, memberB: r.memberB, rule: null }))}
                >
                  Remove
                </button>
              </li>
            )}
          </For>
        </ul>
      </Show>
      <ErrorText error={remove.error()} />
    </details>
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
    <form onSubmit={submit} data-testid="broadcast-form" class="panel-section">
      <h3>Message to the rooms</h3>
      <div class="field">
        <label for="broadcast-text" class="visually-hidden">
          Message
        </label>
        <textarea
          id="broadcast-text"
          maxLength={1000}
          rows={2}
          placeholder="For example: two minutes left, start wrapping up"
          value={text()}
          onInput={(e) => setText(e.currentTarget.value)}
          data-testid="broadcast-text"
        />
      </div>
      <div class="row bottom">
        <div class="field compact grow">
          <label for="broadcast-target" class="small">
            Send to
          </label>
          <select id="broadcast-target" value={target()} onChange={(e) => setTarget(e.currentTarget.value)} data-testid="broadcast-target">
            <option value="">Everyone</option>
            <For each={openRooms()}>{(r) => <option value={r.id}>{r.name}</option>}</For>
          </select>
        </div>
        <button type="submit" class="small" disabled={a.pending()} data-testid="broadcast-submit">
          Send
        </button>
      </div>
      <span role="status" class="muted small">
        {sent() ? "Sent." : ""}
      </span>
      <ErrorText error={a.error()} />
    </form>
  );
}
