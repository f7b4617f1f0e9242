/**
 * The group agreement at the door: the agreement text, which a client accepts (the join then sends its hash) or declines (the session only counts it). A changed agreement is shown again.
 */
import { createSignal, For, Show } from "solid-js";
import { api, type SessionPreview } from "../../lib/api";

/**
 * `preview` is the join page's own (POST …/preview, read once for the page: it shares the join's rate limit), so the
 * title and the facilitator's name are shown there, above this.
 */
export function AgreementGate(props: {
  sessionId: string;
  invite: string;
  preview: SessionPreview | null;
  failed: boolean;
  onReload: () => void;
  onAccepted: (hash: string | null) => void;
}) {
  const [accepted, setAccepted] = createSignal(false);
  const [declined, setDeclined] = createSignal(false);

  function toggle(on: boolean) {
    setAccepted(on);
    props.onAccepted(on ? (props.preview?.agreement.hash ?? null) : null);
  }

  async function decline() {
    toggle(false);
    setDeclined(true);
    await api.declineAgreement(props.sessionId, props.invite).catch(() => undefined);
  }

  return (
    <section class="card agreement" aria-labelledby="agreement-h" data-testid="agreement">
      <Show when={props.failed}>
        <p class="error" role="alert" data-testid="agreement-error">
          The group agreement could not be loaded, and joining needs it.{" "}
          <button type="button" class="link" onClick={() => props.onReload()}>
            Try again
          </button>
        </p>
      </Show>
      <Show when={props.preview}>
        {(p) => (
          <>
            <h2 id="agreement-h">Group agreement</h2>
            <For each={p().agreement.text.split(/\n{2,}/)}>{(para) => <p>{para}</p>}</For>
            <Show
              when={!declined()}
              fallback={
                <p class="banner info" role="status" data-testid="agreement-declined">
                  You declined the agreement, so you will not join. Nothing about you was kept.{" "}
                  <button type="button" class="link" onClick={() => (setDeclined(false), props.onReload())}>
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
