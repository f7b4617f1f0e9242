/**
 * The client's own therapy panels in the room (web/src/pages/Session.tsx): "How others see you" under a confidential
 * roster (the alias they choose; docs/protocol.md 17.2) and "Talk privately" (asking for a private check-in, 17.4).
 */
import { createSignal, Match, Show, Switch } from "solid-js";
import { rosterName, type ParticipantView } from "../../../../lib/protocol";
import type { SessionClient } from "../../lib/session-client";
import { createAction, ErrorText } from "../common";

/** The name the other clients see this client by; with `withAlias` false, the one they get without an alias. */
export function shownAsOf(v: ParticipantView | null | undefined, withAlias = true): string {
  return v ? rosterName({ id: v.you.memberId, name: v.you.name, role: v.you.role, alias: withAlias ? v.you.alias : null }, v.you.roster) : "";
}

export function ShownAsPanelBody(props: { client: SessionClient; view: ParticipantView }) {
  const alias = createAction();
  // What is typed and not yet saved (null: the saved alias is shown), and whether the last save went through.
  const [draft, setDraft] = createSignal<string | null>(null);
  const [saved, setSaved] = createSignal(false);

  async function save(text: string | null) {
    setSaved(false);
    const ok = await alias.run(() => props.client.command({ type: "setAlias", alias: text }));
    if (ok) {
      setDraft(null);
      setSaved(true);
    }
  }

  return (
    <>
      <p data-testid="shown-as">
        Others in the group see you as <strong>{shownAsOf(props.view)}</strong>.
      </p>
      <p class="muted small">
        {props.view.you.roster === "aliases"
          ? `This group keeps names private: without a name of your choosing you appear as ${shownAsOf(props.view, false)}.`
          : `This group uses first names: without a name of your choosing you appear as ${shownAsOf(props.view, false)}.`}{" "}
        The facilitators always see the name you joined with.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save((draft() ?? props.view.you.alias ?? "").trim() || null);
        }}
        data-testid="alias-form"
      >
        <div class="field">
          <label for="alias-input">
            Name to be known by <span class="hint">(leave empty for the default)</span>
          </label>
          <input
            id="alias-input"
            type="text"
            maxLength={80}
            autocomplete="off"
            value={draft() ?? props.view.you.alias ?? ""}
            onInput={(e) => {
              setDraft(e.currentTarget.value);
              setSaved(false);
            }}
            data-testid="alias-input"
          />
        </div>
        <div class="row">
          <button type="submit" disabled={alias.pending()} data-testid="alias-save">
            Save
          </button>
          <Show when={props.view.you.alias}>
            <button type="button" class="secondary" disabled={alias.pending()} onClick={() => void save(null)} data-testid="alias-clear">
              Use the default
            </button>
          </Show>
        </div>
        <p class="muted small" role="status">
          {saved() ? "Saved." : ""}
        </p>
        <ErrorText error={alias.error()} />
      </form>
    </>
  );
}

export function CheckInPanelBody(props: { client: SessionClient; view: ParticipantView; inCheckIn: boolean }) {
  const checkIn = createAction();
  return (
    <Switch>
      <Match when={props.inCheckIn}>
        <p>You are in a private check-in with the therapist now. When it ends you go back to where you were.</p>
      </Match>
      <Match when={props.view.you.checkInRequested}>
        <p role="status" data-testid="checkin-sent">
          Your request was sent. Only the facilitators can see it; nobody else in the group is told.
        </p>
        <p class="muted">The therapist will open a private room with you when they can. You can stay where you are until then.</p>
      </Match>
      <Match when={true}>
        <p>You can ask to talk to the therapist on your own. Only the facilitators see your request; nobody else in the group is told.</p>
        <p class="muted small">When the therapist is ready, you both move to a private room for a moment. The others see only that you stepped out.</p>
        <button
          type="button"
          disabled={checkIn.pending()}
          onClick={() => checkIn.run(() => props.client.command({ type: "requestCheckIn" }))}
          data-testid="send-checkin"
        >
          Ask to talk privately
        </button>
        <ErrorText error={checkIn.error()} />
      </Match>
    </Switch>
  );
}
