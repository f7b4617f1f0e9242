/**
 * /report/:sessionId — the session report for staff: attendance, minutes per room, totals, and the same as a CSV
 * file (GET /api/sessions/:id/report and /report.csv). Read with the staff ticket this tab holds for the session, or
 * else the signed-in user's token (the session's creator, or an operator).
 */
import { createResource, createSignal, For, Match, Show, Switch } from "solid-js";
import { createAction, ErrorText } from "../components/common";
import { api, ApiError, describeError, type SessionReport } from "../lib/api";
import { saveBlob } from "../lib/records-api";
import { linkClick } from "../lib/router";
import { storage } from "../lib/storage";
import { currentUser } from "../lib/user";

const when = (t: number | null) => (t === null ? "—" : new Date(t).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }));
const clock = (t: number | null) => (t === null ? "—" : new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
const minutes = (ms: number) => (ms / 60_000).toFixed(1);
const ROLE: Record<string, string> = { facilitator: "Facilitator", cofacilitator: "Co-facilitator", participant: "Participant" };
const STATUS: Record<string, string> = { admitted: "Stayed to the end", left: "Left", denied: "Not admitted", waiting: "Never admitted" };

export default function Report(props: { sessionId: string }) {
  const stored = storage.session(props.sessionId);
  const token = () => (stored && stored.role !== "participant" ? stored.ticket : (currentUser()?.token ?? null));
  const [report] = createResource(
    () => token(),
    async (t) => {
      try {
        return { ok: true as const, report: await api.report(props.sessionId, t) };
      } catch (e) {
        return { ok: false as const, error: e instanceof ApiError ? describeError(e.code, e.message) : String(e) };
      }
    },
  );
  const download = createAction();
  const [saved, setSaved] = createSignal(false);

  async function downloadCsv() {
    const t = token();
    if (!t) return;
    const blob = await download.run(() => api.reportCsv(props.sessionId, t));
    if (!blob) return;
    saveBlob(blob, `session-${props.sessionId}-report.csv`);
    setSaved(true);
  }

  return (
    <main id="main" class="page report-page" data-testid="report-page">
      <Switch>
        <Match when={!token()}>
          <h1>Session report</h1>
          <p>Open the report from the browser tab where you ran the session, or sign in as its facilitator or as an operator.</p>
        </Match>
        <Match when={report.loading}>
          <p role="status">Loading the report…</p>
        </Match>
        <Match when={report()?.ok === false && report()}>
          {(r) => (
            <>
              <h1>Session report</h1>
              <p class="banner danger" role="alert">
                {(r() as { error: string }).error}
              </p>
            </>
          )}
        </Match>
        <Match when={report()?.ok && (report() as { report: SessionReport }).report}>
          {(rep) => <ReportView report={rep()} onDownload={downloadCsv} downloading={download.pending()} saved={saved()} error={download.error()} />}
        </Match>
      </Switch>
      <p class="mt">
        <a href="/" onClick={linkClick}>
          Back to the start page
        </a>
      </p>
    </main>
  );
}

function ReportView(props: { report: SessionReport; onDownload: () => void; downloading: boolean; saved: boolean; error: string | null }) {
  const r = () => props.report;
  const billed = () => r().billedByTwilio;
  const people = () => r().attendance.filter((a) => a.admittedAt !== null);
  const notAdmitted = () => r().attendance.filter((a) => a.admittedAt === null);
  const roomName = (key: string) => r().rooms.find((x) => x.key === key)?.name ?? key;
  return (
    <>
      <header class="report-head">
        <div>
          <p class="muted m0">Session report</p>
          <h1 data-testid="report-title">{r().session.title}</h1>
          <p class="muted">
            {when(r().session.createdAt)} · {minutes(r().session.durationMs)} minutes · {r().session.roundsCompleted}{" "}
            {r().session.roundsCompleted === 1 ? "breakout round" : "breakout rounds"}
            {r().session.endedAt === null ? " · still running" : ""}
          </p>
        </div>
        <div>
          <button type="button" onClick={() => props.onDownload()} disabled={props.downloading} data-testid="report-csv">
            Download CSV
          </button>
          <p class="m0">
            <a href={`/report/${encodeURIComponent(r().session.id)}/attendance`} onClick={linkClick} data-testid="report-attendance-link">
              Attendance record (per client, printable)
            </a>
          </p>
          <p class="muted small m0" role="status">
            {props.saved ? "Downloaded." : ""}
          </p>
          <ErrorText error={props.error} />
        </div>
      </header>

      <div class="report-stats">
        <div class="stat">
          <div class="muted small">People</div>
          <div class="stat-value" data-testid="report-people">
            {people().length}
          </div>
        </div>
        <div class="stat">
          <div class="muted small">Participant-minutes</div>
          <div class="stat-value" data-testid="report-minutes">
            {r().totals.participantMinutes.toFixed(1)}
          </div>
        </div>
        <Show when={billed()}>
          <div class="stat">
            <div class="muted small">Estimated media cost</div>
            <div class="stat-value">${r().totals.costUsd}</div>
          </div>
        </Show>
      </div>
      <Show when={!billed()}>
        <p class="muted small">This session used local video (peer-to-peer): nothing was billed for media.</p>
      </Show>

      <section aria-labelledby="attendance-h" class="card">
        <h2 id="attendance-h">Attendance</h2>
        <div class="table-wrap">
          <table data-testid="report-attendance">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Joined</th>
                <th scope="col">Left</th>
                <th scope="col" class="num">
                  Minutes
                </th>
                <th scope="col">Where</th>
              </tr>
            </thead>
            <tbody>
              <For each={people()}>
                {(a) => (
                  <tr>
                    <th scope="row">{a.name}</th>
                    <td>{ROLE[a.role] ?? a.role}</td>
                    <td>{clock(a.admittedAt ?? a.joinedAt)}</td>
                    <td>{a.leftAt === null ? (STATUS[a.status] ?? a.status) : clock(a.leftAt)}</td>
                    <td class="num">{a.totalMinutes.toFixed(1)}</td>
                    <td class="small">
                      {Object.entries(a.timeByRoomMs)
                        .map(([k, ms]) => `${roomName(k)} ${minutes(ms)}`)
                        .join(" · ")}
                    </td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
        <Show when={notAdmitted().length > 0}>
          <p class="muted small">
            Not admitted:{" "}
            {notAdmitted()
              .map((a) => a.name)
              .join(", ")}
          </p>
        </Show>
      </section>

      <section aria-labelledby="rooms-h" class="card">
        <h2 id="rooms-h">Minutes per room</h2>
        <div class="table-wrap">
          <table data-testid="report-rooms">
            <thead>
              <tr>
                <th scope="col">Room</th>
                <th scope="col">Round</th>
                <th scope="col">Open</th>
                <th scope="col" class="num">
                  People
                </th>
                <th scope="col" class="num">
                  Participant-minutes
                </th>
                <Show when={billed()}>
                  <th scope="col" class="num">
                    Estimated cost
                  </th>
                </Show>
              </tr>
            </thead>
            <tbody>
              <For each={r().rooms}>
                {(room) => (
                  <tr>
                    <th scope="row">{room.name}</th>
                    <td>{room.round ?? "—"}</td>
                    <td>{room.openedAt === null ? "—" : `${clock(room.openedAt)}–${clock(room.closedAt)}`}</td>
                    <td class="num">{room.people}</td>
                    <td class="num">{room.participantMinutes.toFixed(1)}</td>
                    <Show when={billed()}>
                      <td class="num">${room.costUsd}</td>
                    </Show>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
