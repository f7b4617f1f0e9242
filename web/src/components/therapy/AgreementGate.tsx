/**
 * The group agreement at the door: the session's title, the facilitator's name and the agreement text, which a client
 * accepts (the join then sends its hash) or declines (the session only counts it). A changed agreement is shown again.
 */
import { createResource, createSignal, For, Show } from "solid-js";
import { api, type SessionPreview } from "../../lib/api";
import { ErrorText, errorMessage } from "../common";

export function AgreementGate(props: { sessionId: string; invite: string; onAccepted: (hash: string | null) => void }) {
  const [accepted, setAccepted] = createSignal(false);
  const [declined, setDeclined] = createSignal(false);
  const [preview, { refetch }] = createResource<SessionPreview>(() => api.preview(props.sessionId, props.invite));

  function toggle(on: boolean) {
    setAccepted(on);
    props.onAccepted(on ? (preview()?.agreement.hash ?? null) : null);
  }

  async function decline() {
    toggle(false);
    setDeclined(true);
    await api.declineAgreement(props.sessionId, props.invite).catch(() => undefined);
  }

  return (
    <section class="card agreement" aria-labelledby="agreement-h" data-testid="agreement">
      <ErrorText error={preview.error ? errorMessage(preview.error) : null} testid="agreement-error" />
      <Show when={preview()}>
        {(p) => (
          <>
            <p class="muted" data-testid="agreement-session">
              {p().title} · with {p().facilitatorName}
            </p>
            <h2 id="agreement-h">Group agreement</h2>
            <For each={p().agreement.text.split(/\n{2,}/)}>{(para) => <p>{para}</p>}</For>
            <Show
              when={!declined()}
              fallback={
                <p class="banner info" role="status" data-testid="agreement-declined">
                  You declined the agreement, so you will not join. Nothing about you was kept.{" "}
                  <button type="button" class="link" onClick={() => (setDeclined(false), void refetch())}>
                    Read it again
                  </button>
                </p>
              }
            >
              <label class="checkbox">
                <input type="checkbox" checked={accepted()} onChange={(e) => toggle(e.currentTarget.checked)} data-testid="agreement-accept" />I have read the
                group agreement and accept it
              </label>
              <button type="button" class="secondary" onClick={() => void decline()} data-testid="agreement-decline">
                I do not accept
              </button>
            </Show>
          </>
        )}
      </Show>
    </section>
  );
}
