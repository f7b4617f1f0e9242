/**
 * /i/<code>: a short invite link. The server resolves the code to the session and a freshly signed invite for the same
 * invite (GET /api/invite-links/:code); the page then continues to the join page as the long link would.
 */
import { createResource, Show } from "solid-js";
import { api, ApiError, describeError } from "../lib/api";
import { navigate } from "../lib/router";

/** Why a short link does not lead anywhere, in words for the person holding it. */
function shortLinkProblem(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === "NOT_FOUND")
      return "This link is not (or no longer) an invitation. Check that it was copied completely, or ask the facilitator for a new one.";
    return describeError(e.code, e.message);
  }
  return "Could not open this invitation. Check your connection and try again.";
}

export default function ShortInvite(props: { code: string }) {
  const [resolved] = createResource(
    () => props.code,
    async (code) => {
      const r = await api.inviteLink(code);
      navigate(`/join/${encodeURIComponent(r.sessionId)}?invite=${encodeURIComponent(r.invite)}`, { replace: true });
      return r;
    },
  );
  return (
    <main id="main" class="narrow page" data-testid="short-invite">
      <Show when={resolved.error} fallback={<p role="status">Opening your invitation…</p>}>
        <h1>This invitation cannot be opened</h1>
        <p class="banner warn" role="alert" data-testid="short-invite-problem">
          {shortLinkProblem(resolved.error)}
        </p>
      </Show>
    </main>
  );
}
