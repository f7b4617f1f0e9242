import { createResource, createSignal, For, Match, Show, Switch } from "solid-js";
import { Card, createAction, ErrorText } from "../components/common";
import { api, type SessionListItem, type SignedInUser } from "../lib/api";
import { phaseLabel } from "../lib/room";
import { linkClick, navigate } from "../lib/router";
import { storage } from "../lib/storage";
import { currentUser, isOperator, setCurrentUser } from "../lib/user";

export default function Home() {
  const [config] = createResource(() => api.config());
  const user = currentUser;
  const signIn = createAction();
  const create = createAction();
  const [name, setName] = createSignal("");
  const [role, setRole] = createSignal<"facilitator" | "participant" | "operator">("facilitator");
  const [title, setTitle] = createSignal("Group session");
  const [pasted, setPasted] = createSignal("");
  // Sessions this tab holds a staff ticket for (a co-facilitator's too), and the signed-in facilitator's own sessions
  // from the server (GET /api/sessions), from any device.
  const mine = () => storage.sessions().filter((s) => s.role === "facilitator" || s.role === "cofacilitator");
  const [listed, { refetch }] = createResource(
    () => {
      const u = user();
      return u && !isOperator(u) ? u.token : null;
    },
    (token) => api.mySessions(token).then((r) => r.sessions),
  );
  const elsewhere = () => mine().filter((s) => !(listed() ?? []).some((l) => l.id === s.sessionId));
  const open = createAction();

  /** Back into a live session's console: this tab's ticket, or a new one from the user token (the creator's join). */
  async function openConsole(item: SessionListItem) {
    const u = user();
    if (storage.session(item.id)?.role === "facilitator" || !u) return navigate(`/console/${encodeURIComponent(item.id)}`);
    const joined = await open.run(() => api.join(item.id, {}, u.token));
    if (!joined) return;
    storage.setSession({
      sessionId: item.id,
      memberId: joined.memberId,
      ticket: joined.ticket,
      role: "facilitator",
      title: item.title,
      name: (u.user.name as string | undefined) ?? name(),
    });
    navigate(`/console/${encodeURIComponent(item.id)}`);
  }

  async function onSignIn(e: SubmitEvent) {
    e.preventDefault();
    const u = await signIn.run(() => api.devSignIn(name().trim(), role()));
    if (u) {
      setCurrentUser(u);
      // Operators watch the service rather than run sessions.
      if (isOperator(u)) navigate("/monitor");
    }
  }

  function onUseToken(e: SubmitEvent) {
    e.preventDefault();
    const token = pasted().trim();
    if (!token) return;
    const u: SignedInUser = { token, user: {} };
    setCurrentUser(u);
  }

  async function onCreate(e: SubmitEvent) {
    e.preventDefault();
    const u = user();
    if (!u) return;
    const created = await create.run(() => api.createSession(u.token, { title: title().trim() || "Group session" }));
    if (!created) return;
    storage.setCreatedSession(created, title().trim() || "Group session", (u.user.name as string | undefined) ?? name());
    navigate(`/console/${encodeURIComponent(created.sessionId)}`);
  }

  function signOut() {
    setCurrentUser(null);
  }

  return (
    <main id="main" class="narrow page">
      <h1>Welcome to MindBloom Video</h1>
      <p class="muted">Run a group session with breakout rooms. Participants join from a link; no account needed.</p>

      <Switch>
        <Match when={user() && isOperator(user())}>
          <Card title="Monitoring" testid="operator-card">
            <p>You are signed in as an operator{user()?.user.name ? ` (${String(user()?.user.name)})` : ""}.</p>
            <div class="row">
              <a class="button" href="/monitor" onClick={linkClick}>
                Open monitoring
              </a>
              <button type="button" class="quiet" onClick={signOut}>
                Sign out
              </button>
            </div>
          </Card>
        </Match>
        <Match when={user()}>
          {(u) => (
            <Card title="Start a session" testid="create-session-card">
              <p class="muted">
                Signed in{u().user.name ? ` as ${String(u().user.name)}` : ""}.{" "}
                <button type="button" class="quiet" onClick={signOut}>
                  Sign out
                </button>
              </p>
              <form onSubmit={onCreate} data-testid="create-session-form">
                <div class="field">
                  <label for="title">Session title</label>
                  <input id="title" type="text" maxLength={120} value={title()} onInput={(e) => setTitle(e.currentTarget.value)} required />
                </div>
                <button type="submit" disabled={create.pending()} data-testid="create-session">
                  {create.pending() ? "Creating…" : "Create session"}
                </button>
                <ErrorText error={create.error()} testid="create-session-error" />
              </form>
              <p class="small">
                <a href="/plans" onClick={linkClick} data-testid="plans-link">
                  Your session plans
                </a>{" "}
                <span class="muted">(the steps of a recurring group, to start a session from)</span>
              </p>
              <p class="small">
                <a href="/groups" onClick={linkClick} data-testid="groups-link">
                  Your groups
                </a>{" "}
                <span class="muted">(one link for a group that meets every week, and its attendance)</span>
              </p>
            </Card>
          )}
        </Match>
        <Match when={config.loading}>
          <p role="status">Loading…</p>
        </Match>
        <Match when={config.error}>
          <div class="banner danger" role="alert">
            Could not reach the server. Reload the page to try again.
          </div>
        </Match>
        <Match when={config()?.devSignIn}>
          <Card title="Sign in (development)" testid="signin-card">
            <form onSubmit={onSignIn} data-testid="signin-form">
              <div class="field">
                <label for="name">Your name</label>
                <input id="name" type="text" autocomplete="name" maxLength={80} value={name()} onInput={(e) => setName(e.currentTarget.value)} required />
              </div>
              <div class="field">
                <label for="role">Role</label>
                <select id="role" value={role()} onChange={(e) => setRole(e.currentTarget.value as "facilitator")}>
                  <option value="facilitator">Facilitator</option>
                  <option value="participant">Participant</option>
                  <option value="operator">Operator</option>
                </select>
              </div>
              <button type="submit" disabled={signIn.pending()} data-testid="signin-submit">
                {signIn.pending() ? "Signing in…" : "Sign in"}
              </button>
              <ErrorText error={signIn.error()} />
            </form>
          </Card>
        </Match>
        <Match when={config()}>
          <Card title="Sign in">
            <p>Facilitators sign in through their organisation. Paste the access token you were given to continue.</p>
            <form onSubmit={onUseToken}>
              <div class="field">
                <label for="token">Access token</label>
                <input id="token" type="text" autocomplete="off" value={pasted()} onInput={(e) => setPasted(e.currentTarget.value)} required />
              </div>
              <button type="submit">Continue</button>
            </form>
          </Card>
        </Match>
      </Switch>

      <Show when={(listed() ?? []).length > 0}>
        <Card title="Your sessions" testid="session-list">
          <ul class="list">
            <For each={listed()}>
              {(s) => (
                <li class="row spread" data-testid={`session-${s.id}`}>
                  <span>
                    <strong>{s.title}</strong>{" "}
                    <span class="muted small">
                      {new Date(s.createdAt).toLocaleString([], { dateStyle: "medium", timeStyle: "short" })} · {s.endedAt ? "ended" : phaseLabel(s.phase)}
                      {s.roundsCompleted > 0 ? ` · ${s.roundsCompleted} breakout round${s.roundsCompleted === 1 ? "" : "s"}` : ""}
                    </span>
                  </span>
                  <span class="row tight">
                    <Show when={!s.endedAt}>
                      <button type="button" class="small" disabled={open.pending()} onClick={() => void openConsole(s)} data-testid={`open-console-${s.id}`}>
                        Open console
                      </button>
                    </Show>
                    <a class="button secondary small" href={`/report/${encodeURIComponent(s.id)}`} onClick={linkClick} data-testid={`open-report-${s.id}`}>
                      Report
                    </a>
                  </span>
                </li>
              )}
            </For>
          </ul>
          <ErrorText error={open.error()} />
          <button type="button" class="quiet small" onClick={() => void refetch()}>
            Refresh the list
          </button>
        </Card>
      </Show>
      <Show when={listed.error}>
        <p class="muted small" role="status">
          Your session list could not be loaded just now.
        </p>
      </Show>

      <Show when={elsewhere().length > 0}>
        <Card title="Sessions open in this tab" testid="my-sessions">
          <ul class="list">
            <For each={elsewhere()}>
              {(s) => (
                <li class="row spread">
                  <span>{s.title ?? `Session ${s.sessionId.slice(0, 8)}`}</span>
                  <span class="row tight">
                    <a href={`/console/${encodeURIComponent(s.sessionId)}`} onClick={linkClick}>
                      Open
                    </a>
                    <a href={`/report/${encodeURIComponent(s.sessionId)}`} onClick={linkClick}>
                      Report
                    </a>
                  </span>
                </li>
              )}
            </For>
          </ul>
        </Card>
      </Show>

      <Show when={config()}>
        <p class="muted small">Joining a session? Open the link your facilitator sent you.</p>
      </Show>
    </main>
  );
}
