/**
 * The facilitator's session plans (/plans): saved, ordered steps for a recurring group (together in the main room,
 * breakouts by room count or size, with a mode and minutes), kept in D1 through /api/plans. List, create, edit,
 * delete, and start a session from a plan (its steps then run with "Next step" in the console).
 */
import { createResource, createSignal, For, Show } from "solid-js";
import { createStore, produce } from "solid-js/store";
import { MAX_PLAN_STEPS, type AssignmentMode, type PlanStep } from "../../../lib/protocol";
import { Card, createAction, ErrorText, ListOf } from "../components/common";
import { ConfirmDialog } from "../components/room/ui";
import { api, type SavedPlan } from "../lib/api";
import { draftToStep, emptyStep, stepSummary, stepToDraft, type StepDraft } from "../lib/plans";
import { linkClick, navigate } from "../lib/router";
import { storage } from "../lib/storage";
import { currentUser, isOperator } from "../lib/user";

interface PlanDraft {
  /** null: a new plan. */
  id: string | null;
  name: string;
  steps: StepDraft[];
}

const newDraft = (): PlanDraft => ({
  id: null,
  name: "",
  steps: [emptyStep("main"), emptyStep("breakouts"), { ...emptyStep("main"), title: "Closing round" }],
});

export default function Plans() {
  const user = currentUser;
  const token = () => {
    const u = user();
    return u && !isOperator(u) ? u.token : null;
  };
  const [plans, { refetch }] = createResource(token, (t) => api.plans(t).then((r) => r.plans));
  const [draft, setDraft] = createStore<{ plan: PlanDraft | null }>({ plan: null });
  const [deleting, setDeleting] = createSignal<SavedPlan | null>(null);
  const save = createAction();
  const remove = createAction();
  const start = createAction();

  function edit(p: SavedPlan | null) {
    save.setError(null);
    setDraft("plan", p ? { id: p.id, name: p.name, steps: p.steps.map(stepToDraft) } : newDraft());
  }

  async function onSave(e: SubmitEvent) {
    e.preventDefault();
    const d = draft.plan;
    const t = token();
    if (!d || !t) return;
    const name = d.name.trim();
    if (!name) return save.setError("Give the plan a name.");
    if (d.steps.length === 0) return save.setError("A plan has at least one step.");
    const steps: PlanStep[] = [];
    for (const [i, s] of d.steps.entries()) {
      const step = draftToStep(s, i + 1);
      if (typeof step === "string") return save.setError(step);
      steps.push(step);
    }
    const saved = await save.run(() => (d.id ? api.updatePlan(t, d.id, { name, steps }) : api.createPlan(t, { name, steps })));
    if (!saved) return;
    setDraft("plan", null);
    void refetch();
  }

  async function startSession(p: SavedPlan) {
    const u = user();
    if (!u) return;
    const created = await start.run(() => api.startPlan(u.token, p.id));
    if (!created) return;
    storage.setCreatedSession(created, p.name, (u.user.name as string | undefined) ?? "");
    navigate(`/console/${encodeURIComponent(created.sessionId)}`);
  }

  const update = (i: number, patch: Partial<StepDraft>) => {
    // What the last save said no longer holds once the step changes.
    save.setError(null);
    setDraft("plan", "steps", i, patch);
  };
  const move = (i: number, by: -1 | 1) =>
    setDraft(
      "plan",
      produce((p) => {
        if (!p) return;
        const j = i + by;
        if (j < 0 || j >= p.steps.length) return;
        [p.steps[i], p.steps[j]] = [p.steps[j], p.steps[i]];
      }),
    );

  return (
    <main id="main" class="narrow page" data-testid="plans-page">
      <p class="m0">
        <a href="/" onClick={linkClick}>
          ← Start page
        </a>
      </p>
      <h1>Session plans</h1>
      <p class="muted">A plan is the shape of a session you run again and again. In the console, “Next step” runs its steps one by one.</p>
      <Show when={token()} fallback={<p class="banner info">Sign in as a facilitator on the start page to keep session plans.</p>}>
        <Show when={draft.plan}>
          {(d) => (
            <Card title={d().id ? "Edit plan" : "New plan"} testid="plan-editor">
              <form onSubmit={onSave} data-testid="plan-form" noValidate>
                <div class="field">
                  <label for="plan-name">Name</label>
                  <input
                    id="plan-name"
                    type="text"
                    maxLength={120}
                    value={d().name}
                    onInput={(e) => setDraft("plan", "name", e.currentTarget.value)}
                    data-testid="plan-name"
                    required
                  />
                </div>
                <ol class="plan-editor-steps">
                  <For each={d().steps}>
                    {(step, i) => (
                      <li class="plan-step-editor" data-testid={`step-${i()}`}>
                        <fieldset class="plain-fieldset">
                          <legend>
                            Step {i() + 1}: {step.kind === "main" ? "everyone together" : "breakout rooms"}
                          </legend>
                          <div class="two-fields">
                            <div class="field">
                              <label for={`step-title-${i()}`}>Title</label>
                              <input
                                id={`step-title-${i()}`}
                                type="text"
                                maxLength={80}
                                value={step.title}
                                onInput={(e) => update(i(), { title: e.currentTarget.value })}
                                data-testid={`step-title-${i()}`}
                              />
                            </div>
                            <div class="field">
                              <label for={`step-minutes-${i()}`}>
                                Minutes <span class="hint">(empty: no limit)</span>
                              </label>
                              <input
                                id={`step-minutes-${i()}`}
                                type="number"
                                min="1"
                                max="240"
                                value={step.minutes}
                                onInput={(e) => update(i(), { minutes: e.currentTarget.value })}
                                data-testid={`step-minutes-${i()}`}
                              />
                            </div>
                          </div>
                          <Show when={step.kind === "breakouts"}>
                            <div class="two-fields">
                              <div class="field">
                                <label for={`step-by-${i()}`}>Rooms</label>
                                <select
                                  id={`step-by-${i()}`}
                                  value={step.by}
                                  onChange={(e) => update(i(), { by: e.currentTarget.value as StepDraft["by"] })}
                                  data-testid={`step-by-${i()}`}
                                >
                                  <option value="size">By people per room</option>
                                  <option value="count">By number of rooms</option>
                                </select>
                              </div>
                              <div class="field">
                                <label for={`step-rooms-${i()}`}>{step.by === "size" ? "People per room" : "Number of rooms"}</label>
                                <input
                                  id={`step-rooms-${i()}`}
                                  type="number"
                                  min={step.by === "size" ? "2" : "1"}
                                  max="50"
                                  value={step.rooms}
                                  onInput={(e) => update(i(), { rooms: e.currentTarget.value })}
                                  data-testid={`step-rooms-${i()}`}
                                />
                              </div>
                            </div>
                            <div class="field">
                              <label for={`step-mode-${i()}`}>Who goes where</label>
                              <select
                                id={`step-mode-${i()}`}
                                value={step.mode}
                                onChange={(e) => update(i(), { mode: e.currentTarget.value as AssignmentMode })}
                                data-testid={`step-mode-${i()}`}
                              >
                                <option value="auto">Assigned automatically (rooms open at once)</option>
                                <option value="manual">Assigned by you (rooms wait for you to open them)</option>
                                <option value="choose">Participants choose</option>
                              </select>
                            </div>
                          </Show>
                          <div class="row tight">
                            <button type="button" class="quiet small" disabled={i() === 0} onClick={() => move(i(), -1)} aria-label={`Move step ${i() + 1} up`}>
                              Up
                            </button>
                            <button
                              type="button"
                              class="quiet small"
                              disabled={i() === d().steps.length - 1}
                              onClick={() => move(i(), 1)}
                              aria-label={`Move step ${i() + 1} down`}
                            >
                              Down
                            </button>
                            <button
                              type="button"
                              class="quiet small danger-text"
                              onClick={() => setDraft("plan", "steps", (s) => s.filter((_, j) => j !== i()))}
                              aria-label={`Remove step ${i() + 1}`}
                              data-testid={`step-remove-${i()}`}
                            >
                              Remove
                            </button>
                          </div>
                        </fieldset>
                      </li>
                    )}
                  </For>
                </ol>
                <Show when={d().steps.length < MAX_PLAN_STEPS}>
                  <div class="row">
                    <button
                      type="button"
                      class="secondary small"
                      onClick={() => setDraft("plan", "steps", (s) => [...s, emptyStep("main")])}
                      data-testid="add-main-step"
                    >
                      Add a step together
                    </button>
                    <button
                      type="button"
                      class="secondary small"
                      onClick={() => setDraft("plan", "steps", (s) => [...s, emptyStep("breakouts")])}
                      data-testid="add-breakouts-step"
                    >
                      Add breakout rooms
                    </button>
                  </div>
                </Show>
                <div class="row mt">
                  <button type="submit" disabled={save.pending()} data-testid="plan-save">
                    {save.pending() ? "Saving…" : "Save plan"}
                  </button>
                  <button type="button" class="quiet" onClick={() => setDraft("plan", null)}>
                    Cancel
                  </button>
                </div>
                <ErrorText error={save.error()} testid="plan-error" />
              </form>
            </Card>
          )}
        </Show>
        <Card title="Your plans" testid="plan-list">
          <ListOf items={plans} loading="Loading…" failed="Your plans could not be loaded just now. Reload the page to try again." empty="No plans yet.">
            {(p) => (
              <li data-testid={`plan-${p.id}`}>
                <div class="row spread">
                  <strong>{p.name}</strong>
                  <span class="row tight">
                    <button type="button" class="small" disabled={start.pending()} onClick={() => void startSession(p)} data-testid={`plan-start-${p.id}`}>
                      Start a session
                    </button>
                    <button type="button" class="secondary small" onClick={() => edit(p)} data-testid={`plan-edit-${p.id}`}>
                      Edit
                    </button>
                    <button type="button" class="quiet small danger-text" onClick={() => setDeleting(p)} data-testid={`plan-delete-${p.id}`}>
                      Delete
                    </button>
                  </span>
                </div>
                <ol class="muted small">
                  <For each={p.steps}>
                    {(s) => (
                      <li>
                        {s.title}: {stepSummary(s)}
                      </li>
                    )}
                  </For>
                </ol>
              </li>
            )}
          </ListOf>
          <ErrorText error={start.error()} />
          <Show when={!draft.plan}>
            <button type="button" onClick={() => edit(null)} data-testid="new-plan">
              New plan
            </button>
          </Show>
        </Card>
      </Show>
      <ConfirmDialog
        open={deleting() !== null}
        title={`Delete “${deleting()?.name ?? ""}”?`}
        confirmLabel="Delete plan"
        tone="danger"
        pending={remove.pending()}
        error={remove.error()}
        testid="plan-delete-dialog"
        confirmTestid="plan-delete-confirm"
        onConfirm={async () => {
          const p = deleting();
          const t = token();
          if (!p || !t) return;
          const ok = await remove.run(() => api.deletePlan(t, p.id));
          if (!ok) return;
          setDeleting(null);
          if (draft.plan?.id === p.id) setDraft("plan", null);
          void refetch();
        }}
        onClose={() => setDeleting(null)}
      >
        <p>Sessions already started from it keep running; the plan itself is gone.</p>
      </ConfirmDialog>
    </main>
  );
}
