/**
 * The session plan in the console: a strip above the video while a plan is loaded (its steps, the current one with
 * its elapsed time against its duration, and one-click "Next step"), and a panel to load one of the facilitator's
 * saved plans (GET /api/plans with their sign-in) into the session ("loadPlan").
 */
import { createResource, For, Show } from "solid-js";
import type { PlanPublic, StaffState } from "../../../../lib/protocol";
import { api, type SavedPlan } from "../../lib/api";
import { elapsedLabel, planProgress, stepSummary } from "../../lib/plans";
import type { SessionClient } from "../../lib/session-client";
import { currentUser } from "../../lib/user";
import { createAction, ErrorText, ListOf } from "../common";
import { createUnsupervisedConfirm, UnsupervisedDialog } from "./unsupervised";

/** Run the plan's next step (its rooms, mode and timer); rooms it would open without staff need a confirmation. */
function NextStepButton(props: { client: SessionClient; plan: PlanPublic; class?: string; testid: string }) {
  const a = createAction();
  const next = () => props.plan.steps[props.plan.index + 1] ?? null;
  const unsupervised = createUnsupervisedConfirm(a, (confirmUnsupervised) =>
    props.client.command({ type: "nextStep", ...(confirmUnsupervised ? { confirmUnsupervised: true } : {}) }),
  );
  return (
    <Show when={next()}>
      {(n) => (
        <>
          <button
            type="button"
            class={props.class ?? "small"}
            disabled={a.pending()}
            onClick={() => void unsupervised.run(false)}
            data-testid={props.testid}
            title={stepSummary(n())}
          >
            {props.plan.index < 0 ? "Start" : "Next step"}: {n().title}
          </button>
          <ErrorText error={unsupervised.rooms() === null ? a.error() : null} testid={`${props.testid}-error`} />
          <UnsupervisedDialog confirm={unsupervised} action={a} testid={`${props.testid}-unsupervised`} confirmTestid={`${props.testid}-open-unsupervised`}>
            <p>
              This session asks for a facilitator or co-facilitator in every room. Add a co-facilitator first, or run “{n().title}” with these rooms as they
              are.
            </p>
          </UnsupervisedDialog>
        </>
      )}
    </Show>
  );
}

export function PlanStrip(props: { client: SessionClient; plan: PlanPublic; now: number; onOpen: () => void }) {
  const p = () => planProgress(props.plan, props.now);
  return (
    <section class="notice info plan-strip" aria-label={`Plan: ${props.plan.name}`} data-testid="plan-strip">
      <ol class="plan-steps">
        <For each={props.plan.steps}>
          {(step, i) => (
            <li
              classList={{ current: i() === props.plan.index, done: i() < props.plan.index }}
              aria-current={i() === props.plan.index ? "step" : undefined}
              title={stepSummary(step)}
              data-testid={`plan-step-${i()}`}
            >
              {step.title}
            </li>
          )}
        </For>
      </ol>
      <span class="plan-now" data-testid="plan-current">
        <Show when={p().current} fallback={<>Plan “{props.plan.name}” not started</>}>
          {(c) => (
            <>
              Step {p().index + 1} of {props.plan.steps.length}: {c().title} ·{" "}
              <span classList={{ "danger-text": p().over }} data-testid="plan-elapsed">
                {elapsedLabel(p())}
              </span>
            </>
          )}
        </Show>
        <Show when={!p().next && p().current}> · last step</Show>
      </span>
      <span class="row tight">
        <NextStepButton client={props.client} plan={props.plan} testid="next-step" />
        <button type="button" class="small secondary" onClick={() => props.onOpen()} data-testid="plan-details">
          Plan
        </button>
      </span>
    </section>
  );
}

export function PlanPanelBody(props: { client: SessionClient; staff: StaffState; now: number }) {
  const token = () => currentUser()?.token ?? null;
  const [saved] = createResource(token, (t) => api.plans(t).then((r) => r.plans));
  const load = createAction();
  const loadPlan = (p: SavedPlan) => load.run(() => props.client.command({ type: "loadPlan", plan: { id: p.id, name: p.name, steps: p.steps } }));
  return (
    <div data-testid="plan-panel">
      <Show when={props.staff.plan}>
        {(plan) => (
          <section class="panel-section" aria-labelledby="plan-now-h">
            <h3 id="plan-now-h">{plan().name}</h3>
            <ol class="list plan-list">
              <For each={plan().steps}>
                {(step, i) => (
                  <li classList={{ current: i() === plan().index, done: i() < plan().index }}>
                    <strong>{step.title}</strong> <span class="muted small">{stepSummary(step)}</span>
                    <Show when={i() === plan().index}>
                      <span class="badge">now · {elapsedLabel(planProgress(plan(), props.now))}</span>
                    </Show>
                  </li>
                )}
              </For>
            </ol>
            <NextStepButton client={props.client} plan={plan()} class="" testid="panel-next-step" />
            <Show when={plan().index >= plan().steps.length - 1 && plan().index >= 0}>
              <p class="muted small">This is the plan's last step.</p>
            </Show>
          </section>
        )}
      </Show>
      <section class="panel-section" aria-labelledby="plan-load-h">
        <h3 id="plan-load-h">{props.staff.plan ? "Load another plan" : "Load a plan"}</h3>
        <Show when={token()} fallback={<p class="muted small">Plans belong to the facilitator who saved them: sign in on the start page to use yours.</p>}>
          <ListOf
            items={saved}
            loading="Loading your plans…"
            failed="Your plans could not be loaded just now."
            empty="You have no saved plans yet."
            textClass="muted small"
          >
            {(p) => (
              <li class="row spread" data-testid={`load-plan-${p.id}`}>
                <span>
                  <strong>{p.name}</strong> <span class="muted small">{p.steps.length} steps</span>
                </span>
                <button type="button" class="secondary small" disabled={load.pending()} onClick={() => void loadPlan(p)}>
                  {props.staff.plan?.id === p.id ? "Load again" : "Load plan"}
                </button>
              </li>
            )}
          </ListOf>
          <ErrorText error={load.error()} />
        </Show>
        <p class="muted small">You make and change plans on the Plans page (from the start page, signed in).</p>
      </section>
    </div>
  );
}
