/**
 * The facilitator's recurring groups (/groups) and one group's page (/groups/:groupId): a standing link clients keep
 * from week to week, this week's session started in one click (with the group's plan, if it has one), and the
 * attendance history — who came to which session and for how long. Through /api/groups (docs/protocol.md 17.7).
 */
import { createResource, createSignal, For, Show } from "solid-js";
import { Card, CopyField, createAction, ErrorText, ListOf } from "../components/common";
import { ConfirmDialog } from "../components/room/ui";
import { api, ApiError, type GroupHistory, type GroupSummary } from "../lib/api";
import { historyTable, minutesText } from "../lib/groups";
import { linkClick, navigate } from "../lib/router";
import { storage } from "../lib/storage";
import { currentUser, isOperator } from "../lib/user";

const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const dateOf = (ms: number) => dateFormat.format(ms);

/** The signed-in facilitator's token (operators and signed-out visitors have no groups). */
function facilitatorToken(): string | null {
  const u = currentUser();
  return u && !isOperator(u) ? u.token : null;
}

export default function Groups(props: { groupId: string | null }) {
  return (
    <main id="main" class="narrow page groups-page" data-testid="groups-page">
      <p class="m0">
        <a href={props.groupId ? "/groups" : "/"} onClick={linkClick}>
          {props.groupId ? "← Your groups" : "← Start page"}
        </a>
      </p>
      <Show when={facilitatorToken()} fallback={<p class="banner info">Sign in as a facilitator on the start page to keep recurring groups.</p>}>
        {(token) => (props.groupId ? <GroupPage token={token()} groupId={props.groupId} /> : <GroupList token={token()} />)}
      </Show>
    </main>
  );
}

function GroupList(props: { token: string }) {
  const [groups] = createResource(() => api.groups(props.token).then((r) => r.groups));
  const [plans] = createResource(() => api.plans(props.token).then((r) => r.plans));
  const [name, setName] = createSignal("");
  const [planId, setPlanId] = createSignal("");
  const create = createAction();

  async function onCreate(e: SubmitEvent) {
    e.preventDefault();
    const n = name().trim();
    if (!n) return create.setError("Give the group a name.");
    const made = await create.run(() => api.createGroup(props.token, { name: n, ...(planId() ? { planId: planId() } : {}) }));
    if (!made) return;
    setName("");
    navigate(`/groups/${encodeURIComponent(made.group.id)}`);
  }

  return (
    <>
      <h1>Your groups</h1>
      <p class="muted">
        A group keeps one invitation link from week to week. Clients who come back are recognised, and each session is added to the group's attendance.
      </p>
      <Card title="Groups" testid="group-list">
        <ListOf items={groups} loading="Loading…" failed="Your groups could not be loaded just now. Reload the page to try again." empty="No groups yet.">
          {(g) => (
            <li data-testid={`group-${g.id}`}>
              <div class="row spread">
                <a href={`/groups/${encodeURIComponent(g.id)}`} onClick={linkClick}>
                  <strong>{g.name}</strong>
                </a>
                <Show when={g.current}>
                  <span class="badge">Session running</span>
                </Show>
              </div>
              <p class="muted small m0">
                {g.sessions === 1 ? "1 session" : `${g.sessions} sessions`} · {g.members === 1 ? "1 member" : `${g.members} members`}
              </p>
            </li>
          )}
        </ListOf>
      </Card>
      <Card title="New group" testid="group-create">
        <form onSubmit={onCreate} noValidate>
          <div class="field">
            <label for="group-name">Name</label>
            <input
              id="group-name"
              type="text"
              maxLength={120}
              value={name()}
              onInput={(e) => setName(e.currentTarget.value)}
              placeholder="e.g. Tuesday anxiety group"
              data-testid="group-name"
              required
            />
          </div>
          <PlanSelect id="group-plan" plans={plans() ?? []} value={planId()} onChange={setPlanId} />
          <button type="submit" disabled={create.pending()} data-testid="group-create-submit">
            {create.pending() ? "Creating…" : "Create group"}
          </button>
          <ErrorText error={create.error()} testid="group-create-error" />
        </form>
      </Card>
    </>
  );
}

function PlanSelect(props: { id: string; plans: { id: string; name: string }[]; value: string; onChange: (id: string) => void; disabled?: boolean }) {
  return (
    <div class="field">
      <label for={props.id}>Session plan</label>
      <p class="hint">Each new session of the group starts with this plan loaded (“Next step” runs it).</p>
      <select id={props.id} value={props.value} disabled={props.disabled} onChange={(e) => props.onChange(e.currentTarget.value)} data-testid={props.id}>
        <option value="">No plan</option>
        <For each={props.plans}>{(p) => <option value={p.id}>{p.name}</option>}</For>
      </select>
    </div>
  );
}

function GroupPage(props: { token: string; groupId: string }) {
  const [page, { mutate }] = createResource(() => api.group(props.token, props.groupId));
  const [plans] = createResource(() => api.plans(props.token).then((r) => r.plans));
  const [replacing, setReplacing] = createSignal(false);
  const [renaming, setRenaming] = createSignal<string | null>(null);
  const [runningId, setRunningId] = createSignal<string | null>(null);
  const start = createAction();
  const edit = createAction();
  const link = createAction();

  const setGroup = (group: GroupSummary) => mutate((p) => (p ? { ...p, group } : p));

  async function startSession(g: GroupSummary) {
    const u = currentUser();
    if (!u) return;
    setRunningId(null);
    const created = await start.run(async () => {
      try {
        return await api.startGroupSession(props.token, g.id);
      } catch (e) {
        // Last week's session is still open: offer it rather than a second one.
        const sessionId = e instanceof ApiError && e.code === "INVALID_STATE" ? (e.details as { sessionId?: string } | undefined)?.sessionId : undefined;
        if (sessionId) setRunningId(sessionId);
        throw e;
      }
    });
    if (!created) return;
    storage.setCreatedSession(created, g.name, (u.user.name as string | undefined) ?? "");
    navigate(`/console/${encodeURIComponent(created.sessionId)}`);
  }

  async function rename(e: SubmitEvent) {
    e.preventDefault();
    const n = renaming()?.trim();
    if (!n) return edit.setError("Give the group a name.");
    const r = await edit.run(() => api.updateGroup(props.token, props.groupId, { name: n }));
    if (!r) return;
    setGroup(r.group);
    setRenaming(null);
  }

  async function choosePlan(planId: string) {
    const r = await edit.run(() => api.updateGroup(props.token, props.groupId, { planId: planId || null }));
    if (r) setGroup(r.group);
  }

  return (
    <Show
      when={page()}
      fallback={
        <Show when={page.error} fallback={<p role="status">Loading…</p>}>
          <h1>Group</h1>
          <ErrorText
            error={
              page.error instanceof ApiError && page.error.code === "NOT_FOUND"
                ? "There is no such group among yours."
                : "The group could not be loaded just now. Reload the page to try again."
            }
            testid="group-error"
          />
        </Show>
      }
    >
      {(p) => (
        <>
          <Show
            when={renaming() !== null}
            fallback={
              <div class="row spread">
                <h1 data-testid="group-title">{p().group.name}</h1>
                <button type="button" class="quiet small" onClick={() => setRenaming(p().group.name)} data-testid="group-rename">
                  Rename
                </button>
              </div>
            }
          >
            <form class="row" onSubmit={rename} noValidate>
              <label class="visually-hidden" for="group-rename-input">
                Group name
              </label>
              <input
                id="group-rename-input"
                type="text"
                maxLength={120}
                value={renaming() ?? ""}
                onInput={(e) => setRenaming(e.currentTarget.value)}
                data-testid="group-rename-input"
              />
              <button type="submit" class="small" disabled={edit.pending()}>
                Save
              </button>
              <button type="button" class="quiet small" onClick={() => setRenaming(null)}>
                Cancel
              </button>
            </form>
          </Show>
          <ErrorText error={edit.error()} testid="group-edit-error" />

          <Card title="This week" testid="group-now">
            <Show
              when={p().group.current}
              fallback={
                <>
                  <button type="button" disabled={start.pending()} onClick={() => void startSession(p().group)} data-testid="group-start">
                    {start.pending() ? "Starting…" : "Start this week's session"}
                  </button>
                  <ErrorText error={start.error()} testid="group-start-error" />
                  <Show when={runningId()}>
                    {(id) => (
                      <p>
                        <a href={`/console/${encodeURIComponent(id())}`} onClick={linkClick}>
                          Open the running session
                        </a>
                      </p>
                    )}
                  </Show>
                </>
              }
            >
              {(cur) => (
                <p class="row spread m0">
                  <span>
                    <span class="badge">Running</span> {cur().title}
                  </span>
                  <a class="button" href={`/console/${encodeURIComponent(cur().sessionId)}`} onClick={linkClick} data-testid="group-open-running">
                    Open the running session
                  </a>
                </p>
              )}
            </Show>
          </Card>

          <Card title="Invitation" testid="group-invitation">
            <CopyField
              label="The group's link"
              value={p().group.linkUrl}
              testid="group-link"
              hint="Clients keep this link: it opens the session that is running, and between sessions says when to come back."
            />
            <button type="button" class="quiet small" onClick={() => setReplacing(true)} data-testid="group-replace-link">
              Replace link
            </button>
          </Card>

          <Card title="Every session" testid="group-plan">
            <PlanSelect
              id="group-plan-edit"
              plans={plans() ?? []}
              value={p().group.planId ?? ""}
              onChange={(id) => void choosePlan(id)}
              disabled={edit.pending()}
            />
          </Card>

          <Card title="Attendance" testid="group-attendance">
            <GroupHistoryTable history={p()} />
          </Card>

          <ConfirmDialog
            open={replacing()}
            title="Replace the group's link?"
            confirmLabel="Replace link"
            pending={link.pending()}
            error={link.error()}
            testid="group-replace-dialog"
            confirmTestid="group-replace-confirm"
            onConfirm={async () => {
              const r = await link.run(() => api.newGroupLink(props.token, props.groupId));
              if (!r) return;
              setGroup(r.group);
              setReplacing(false);
            }}
            onClose={() => setReplacing(false)}
          >
            <p>The old link stops working at once; send the new one to the group. Clients who come back by the new link are still recognised.</p>
          </ConfirmDialog>
        </>
      )}
    </Show>
  );
}

function GroupHistoryTable(props: { history: GroupHistory }) {
  const table = () => historyTable(props.history);
  return (
    <Show when={table().rows.length > 0} fallback={<p class="muted">Nobody has come to a session of this group yet.</p>}>
      <div class="table-wrap">
        <table class="group-history" data-testid="group-history">
          <caption class="visually-hidden">Minutes each client attended, per session (newest first)</caption>
          <thead>
            <tr>
              <th scope="col">Client</th>
              <th scope="col" class="num">
                Attended
              </th>
              <th scope="col">Last seen</th>
              <For each={table().columns}>
                {(c, i) => (
                  <th scope="col" class="num" title={c.title}>
                    {dateOf(c.startedAt)}
                    {/* Numbered oldest first, so two sessions on one day still read apart. */}
                    <span class="th-sub muted small">Session {props.history.group.sessions - i()}</span>
                  </th>
                )}
              </For>
            </tr>
          </thead>
          <tbody>
            <For each={table().rows}>
              {(r) => (
                <tr data-testid="group-member" data-identity={r.identity}>
                  <th scope="row">{r.name}</th>
                  <td class="num" data-testid="group-member-attended">
                    {r.attended} of {table().columns.length}
                  </td>
                  <td>{dateOf(r.lastSeenAt)}</td>
                  <For each={r.cells}>{(m) => <td class="num">{minutesText(m)}</td>}</For>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </div>
    </Show>
  );
}
