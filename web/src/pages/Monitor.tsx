/**
 * /monitor — the operator's view: what is live now (GET /api/monitoring/overview) and the last minutes to hours per
 * minute (GET /api/monitoring/timeseries), refreshed every 10 seconds. Operators only: signed in with app role
 * "operator" (in development: the development sign-in with role "operator").
 */
import { createResource, createSignal, For, onCleanup, onMount, Show, type JSX } from "solid-js";
import { Card, createAction, ErrorText } from "../components/common";
import { TimeChart } from "../components/TimeChart";
import { api, ApiError, describeError, type SignedInUser } from "../lib/api";
import { storage } from "../lib/storage";
import { setCurrentUser } from "../lib/user";
import type { MonitoringOverview as Overview, MonitoringTimeseries as Timeseries } from "../../../lib/protocol";

const REFRESH_MS = 10_000;
const WINDOWS = [
  { minutes: 15, label: "15 min" },
  { minutes: 60, label: "1 hour" },
  { minutes: 360, label: "6 hours" },
  { minutes: 1440, label: "24 hours" },
];
const QUALITY_COLORS = ["#a3302a", "#d9622b", "#c99a00", "#7c9a2d", "#3f8f5a", "#2f6f62"];

async function getJson<T>(path: string, token: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { Accept: "application/json", Authorization: `Bearer ${token}` } });
  } catch (e) {
    throw new ApiError("NETWORK", "Could not reach the server.", 0, String(e));
  }
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!res.ok) throw new ApiError((body?.error?.code as never) ?? "HTTP", body?.error?.message ?? `Request failed (${res.status})`, res.status);
  return body as T;
}

const last = (xs: number[] | undefined) => (xs?.length ? xs[xs.length - 1] : 0);
const sum = (xs: number[] | undefined) => (xs ?? []).reduce((a, b) => a + b, 0);
const time = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** GET /api/monitoring/alerts (worker/routes/monitoring.ts, worker/alerts). */
interface AlertIncident {
  id: string;
  rule: string;
  title: string;
  action: string;
  severity: string;
  summary: string;
  openedAt: number;
  lastSeenAt: number;
  resolvedAt: number | null;
  notifiedAt: number | null;
}
interface Alerts {
  active: AlertIncident[];
  recent: AlertIncident[];
  webhookConfigured: boolean;
  lastRun: { at: number; unknown: string[]; problems: string[] } | null;
  problems: string[];
}

/** Open incidents first (what to do included), then the day's resolved ones; says when the rules last ran. */
function AlertsPanel(props: { alerts: Alerts }) {
  const a = () => props.alerts;
  return (
    <section aria-labelledby="alerts-h" class="card" data-testid="monitor-alerts">
      <div class="row spread">
        <h2 id="alerts-h">Alerts</h2>
        <p class="muted small" data-testid="alerts-last-run">
          {a().lastRun ? `Rules last ran ${clock(a().lastRun!.at)}` : "The alert rules have not run yet (Cron Trigger)"}
          {a().webhookConfigured ? " · posted to the alert webhook" : " · no ALERT_WEBHOOK_URL: shown here only"}
        </p>
      </div>
      <For each={[...a().problems, ...(a().lastRun?.problems ?? [])]}>{(p) => <p class="banner warn">{p}</p>}</For>
      <Show when={a().lastRun?.unknown.length}>
        <p class="muted small">Could not evaluate: {a().lastRun!.unknown.join(", ")}</p>
      </Show>
      <Show when={a().active.length} fallback={<p data-testid="alerts-none">No active alerts.</p>}>
        <ul class="plain" data-testid="alerts-active">
          <For each={a().active}>
            {(i) => (
              <li class={`banner ${i.severity === "critical" ? "danger" : "warn"}`} data-rule={i.rule}>
                <strong>
                  {i.severity === "critical" ? "Critical" : "Warning"}: {i.title}
                </strong>{" "}
                since {time(i.openedAt)} — {i.summary}
                <div class="small">What to do: {i.action}</div>
              </li>
            )}
          </For>
        </ul>
      </Show>
      <Show when={a().recent.length}>
        <details>
          <summary>Resolved in the last 24 hours ({a().recent.length})</summary>
          <ul class="plain small">
            <For each={a().recent}>
              {(i) => (
                <li>
                  {i.title}: {time(i.openedAt)}–{time(i.resolvedAt!)}
                </li>
              )}
            </For>
          </ul>
        </details>
      </Show>
    </section>
  );
}

function Stat(props: { label: string; value: JSX.Element; testid: string; hint?: string }) {
  return (
    <div class="stat">
      <div class="muted small">{props.label}</div>
      <div class="stat-value" data-testid={props.testid}>
        {props.value}
      </div>
      <Show when={props.hint}>
        <div class="muted small">{props.hint}</div>
      </Show>
    </div>
  );
}

function OperatorSignIn(props: { onSignedIn: (u: SignedInUser) => void; reason: string | null }) {
  const [config] = createResource(() => api.config().catch(() => null));
  const [name, setName] = createSignal("Operator");
  const [pasted, setPasted] = createSignal("");
  const signIn = createAction();
  async function onDevSignIn(e: SubmitEvent) {
    e.preventDefault();
    const u = await signIn.run(() => api.devSignIn(name().trim() || "Operator", "operator"));
    if (u) props.onSignedIn(u);
  }
  function onToken(e: SubmitEvent) {
    e.preventDefault();
    const token = pasted().trim();
    if (token) props.onSignedIn({ token, user: {} });
  }
  return (
    <Card title="Operators only" testid="monitor-signin">
      <Show when={props.reason}>
        <p class="error" role="alert" data-testid="monitor-denied">
          {props.reason}
        </p>
      </Show>
      <p class="muted">Monitoring shows every live session. Sign in with an operator account.</p>
      <Show when={config()?.devSignIn}>
        <form onSubmit={onDevSignIn} data-testid="monitor-dev-signin">
          <div class="field">
            <label for="op-name">Name (development sign-in, role operator)</label>
            <input id="op-name" type="text" maxLength={80} value={name()} onInput={(e) => setName(e.currentTarget.value)} required />
          </div>
          <button type="submit" disabled={signIn.pending()} data-testid="monitor-signin-button">
            {signIn.pending() ? "Signing in…" : "Sign in as operator"}
          </button>
          <ErrorText error={signIn.error()} />
        </form>
      </Show>
      <form onSubmit={onToken}>
        <div class="field">
          <label for="op-token">
            Or paste an access token <span class="hint">(from your identity provider)</span>
          </label>
          <input id="op-token" type="text" autocomplete="off" value={pasted()} onInput={(e) => setPasted(e.currentTarget.value)} />
        </div>
        <button type="submit" class="secondary">
          Use token
        </button>
      </form>
    </Card>
  );
}

export default function Monitor() {
  const [user, setUser] = createSignal<SignedInUser | null>(storage.user());
  const [denied, setDenied] = createSignal<string | null>(null);
  const [minutes, setMinutes] = createSignal(60);
  const [overview, setOverview] = createSignal<Overview | null>(null);
  const [series, setSeries] = createSignal<Timeseries | null>(null);
  const [alerts, setAlerts] = createSignal<Alerts | null>(null);
  const [error, setError] = createSignal<string | null>(null);
  const [updatedAt, setUpdatedAt] = createSignal<number | null>(null);
  let inFlight = false;

  async function refresh() {
    const u = user();
    if (!u || inFlight) return;
    inFlight = true;
    try {
      const [o, t, a] = await Promise.all([
        getJson<Overview>("/api/monitoring/overview", u.token),
        getJson<Timeseries>(`/api/monitoring/timeseries?minutes=${minutes()}`, u.token),
        getJson<Alerts>("/api/monitoring/alerts", u.token),
      ]);
      setOverview(o);
      setSeries(t);
      setAlerts(a);
      setError(null);
      setUpdatedAt(Date.now());
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        setDenied(e.status === 403 ? "This account is not an operator." : describeError(e.code, e.message));
        setUser(null);
      } else setError(e instanceof ApiError ? describeError(e.code, e.message) : String(e));
    } finally {
      inFlight = false;
    }
  }

  onMount(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    onCleanup(() => clearInterval(timer));
  });

  function signedIn(u: SignedInUser) {
    setCurrentUser(u);
    setDenied(null);
    setUser(u);
    void refresh();
  }

  function chooseWindow(m: number) {
    setMinutes(m);
    void refresh();
  }

  const s = () => series()?.series;

  return (
    <main id="main" data-testid="monitor-page">
      <div class="row spread">
        <h1>Monitoring</h1>
        <Show when={user() && updatedAt()}>
          <p class="muted small" role="status" aria-live="polite" data-testid="monitor-updated">
            Updated {clock(updatedAt()!)} · refreshes every 10 s
          </p>
        </Show>
      </div>

      <Show when={user()} fallback={<OperatorSignIn onSignedIn={signedIn} reason={denied()} />}>
        <ErrorText error={error()} testid="monitor-error" />
        <Show when={alerts()}>{(a) => <AlertsPanel alerts={a()} />}</Show>
        <Show when={overview()} fallback={<p class="muted">Loading…</p>}>
          {(o) => (
            <>
              <section aria-labelledby="now-h" class="card">
                <h2 id="now-h">Now</h2>
                <div class="row">
                  <Stat
                    label="Live sessions"
                    value={o().sessions.active}
                    testid="stat-sessions"
                    hint={
                      Object.entries(o().sessions.byPhase)
                        .map(([k, v]) => `${v} ${k}`)
                        .join(", ") || "none"
                    }
                  />
                  <Stat label="In media rooms" value={o().participants.inMediaRooms} testid="stat-in-media" hint={`${o().participants.admitted} admitted`} />
                  <Stat label="Connected (app)" value={o().participants.connected} testid="stat-connected" />
                  <Stat label="Waiting" value={o().participants.waiting} testid="stat-waiting" />
                  <Stat label="Open rooms" value={o().rooms.open} testid="stat-rooms" hint={`${o().rooms.main} main + ${o().rooms.breakoutOpen} breakout`} />
                </div>
              </section>
              <section aria-labelledby="day-h" class="card">
                <h2 id="day-h">Last 24 hours</h2>
                <div class="row">
                  <Stat label="Sessions created" value={o().last24h.sessionsCreated} testid="stat-created" hint={`${o().last24h.sessionsEnded} ended`} />
                  <Stat label="Participant-minutes" value={o().last24h.participantMinutes} testid="stat-minutes" />
                  <Stat label="Estimated media cost" value={`$${o().last24h.estimatedCostUsd}`} testid="stat-cost" hint="estimate; Twilio bills" />
                </div>
              </section>
            </>
          )}
        </Show>

        <section aria-labelledby="trend-h" class="card">
          <div class="row spread">
            <h2 id="trend-h">Per minute</h2>
            <fieldset class="row plain-fieldset">
              <legend class="visually-hidden">Time window</legend>
              <For each={WINDOWS}>
                {(w) => (
                  <button
                    type="button"
                    class={minutes() === w.minutes ? "" : "secondary"}
                    aria-pressed={minutes() === w.minutes}
                    onClick={() => chooseWindow(w.minutes)}
                    data-testid={`window-${w.minutes}`}
                  >
                    {w.label}
                  </button>
                )}
              </For>
            </fieldset>
          </div>
          <Show when={series()}>
            {(ts) => (
              <>
                <TimeChart
                  title="Sessions, people in media rooms, open breakout rooms"
                  testid="chart-load"
                  t={ts().t}
                  series={[
                    { label: "Sessions", color: "#2f6f62", values: ts().series.sessions },
                    { label: "People in media rooms", color: "#1b5fd1", values: ts().series.participants },
                    { label: "Open breakout rooms", color: "#8a5a00", values: ts().series.openRooms, dash: true },
                  ]}
                />
                <p class="muted small" data-testid="load-latest">
                  This minute: {last(s()?.sessions)} sessions, {last(s()?.participants)} people in media rooms, {last(s()?.openRooms)} open breakout rooms.
                </p>
                <TimeChart
                  title="Commands and errors per minute"
                  testid="chart-commands"
                  t={ts().t}
                  series={[
                    { label: "Commands", color: "#2f6f62", values: ts().series.commands },
                    { label: "Refused", color: "#d9622b", values: ts().series.refused },
                    { label: "Twilio failures", color: "#a3302a", values: ts().series.twilioFailures },
                    { label: "Callbacks rejected", color: "#7a1f5c", values: ts().series.callbacksRejected, dash: true },
                  ]}
                />
                <p class="muted small" data-testid="commands-total">
                  In this window: {sum(s()?.commands)} commands, {sum(s()?.errors)} errors ({sum(s()?.refused)} refused, {sum(s()?.twilioFailures)} Twilio
                  failures, {sum(s()?.callbacksRejected)} callbacks rejected).
                </p>
                <TimeChart
                  title="Connection quality samples per minute (0 = bad … 5 = excellent)"
                  testid="chart-quality"
                  t={ts().t}
                  series={ts().series.quality.map((values, level) => ({ label: `Level ${level}`, color: QUALITY_COLORS[level], values }))}
                />
                <p class="muted small" data-testid="quality-total">
                  In this window:{" "}
                  {ts()
                    .series.quality.map((q, level) => `level ${level}: ${sum(q)}`)
                    .join(", ")}
                  .
                </p>
              </>
            )}
          </Show>
        </section>

        <Show when={overview()}>
          {(o) => (
            <section aria-labelledby="live-h" class="card">
              <h2 id="live-h">Live sessions</h2>
              <Show when={o().liveSessions.length} fallback={<p class="muted">No live sessions.</p>}>
                <div class="table-scroll">
                  <table data-testid="live-sessions" class="data-table">
                    <thead>
                      <tr>
                        <For each={["Session", "Phase", "Media", "Started", "Admitted", "Waiting", "Connected", "In media", "Open rooms", "Rounds"]}>
                          {(h) => <th scope="col">{h}</th>}
                        </For>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={o().liveSessions}>
                        {(r) => (
                          <tr>
                            <For
                              each={[
                                r.id,
                                r.phase,
                                r.mediaProvider,
                                time(r.createdAt),
                                r.admitted,
                                r.waiting,
                                r.connected,
                                r.placed,
                                r.openRooms,
                                r.roundsCompleted,
                              ]}
                            >
                              {(v, i) => <td class={i() === 0 ? "mono" : undefined}>{String(v)}</td>}
                            </For>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </div>
              </Show>
            </section>
          )}
        </Show>
      </Show>
    </main>
  );
}
