/**
 * /g/<code>: a recurring group's standing link. While a session of the group runs, it continues to that session's join
 * page (with the group, so a returning client is recognised); between sessions it says so and looks again every 20 s.
 */
import { createResource, onCleanup, Show } from "solid-js";
import { api, ApiError, describeError, type GroupLinkAnswer } from "../lib/api";
import { navigate } from "../lib/router";

export const GROUP_LINK_POLL_MS = 20_000;

function groupLinkProblem(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === "NOT_FOUND") return "This group link is no longer in use. Ask your therapist for the current one.";
    return describeError(e.code, e.message);
  }
  return "Could not open the group's link. Check your connection and try again.";
}

export default function GroupLink(props: { code: string }) {
  const [answer, { refetch }] = createResource(
    () => props.code,
    async (code, info): Promise<GroupLinkAnswer> => {
      let r: GroupLinkAnswer;
      try {
        r = await api.groupLink(code);
      } catch (e) {
        // A check that fails while waiting (the network blinked) keeps the card; the next check tries again. A link
        // that is no longer in use is said at once.
        const waiting = info.value as GroupLinkAnswer | undefined;
        if (waiting && !(e instanceof ApiError && e.code === "NOT_FOUND")) return waiting;
        throw e;
      }
      if (r.session) {
        const { sessionId, invite } = r.session;
        navigate(`/join/${encodeURIComponent(sessionId)}?invite=${encodeURIComponent(invite)}&group=${encodeURIComponent(r.groupId)}`, { replace: true });
      }
      return r;
    },
  );
  // Between sessions: look again now and then, so the page opens the session as soon as the therapist starts it.
  const timer = setInterval(() => {
    if (!answer.loading && !answer.error && answer()?.session === null) void refetch();
  }, GROUP_LINK_POLL_MS);
  onCleanup(() => clearInterval(timer));

  return (
    <main id="main" class="narrow page" data-testid="group-link-page">
      <Show
        when={answer.error}
        fallback={
          <Show when={answer()?.session === null ? answer() : null} fallback={<p role="status">Opening your group…</p>}>
            {(a) => (
              <section class="card" data-testid="group-waiting">
                <h1>{a().groupName}</h1>
                <p>With {a().facilitatorName}. The next session has not started yet.</p>
                <p class="muted" role="status">
                  This page looks again every 20 seconds and opens the session as soon as it starts. You can also keep this link and come back at the session's
                  time.
                </p>
              </section>
            )}
          </Show>
        }
      >
        <h1>This link cannot be opened</h1>
        <p class="banner warn" role="alert" data-testid="group-link-problem">
          {groupLinkProblem(answer.error)}
        </p>
        <button type="button" class="secondary" onClick={() => void refetch()}>
          Try again
        </button>
      </Show>
    </main>
  );
}
