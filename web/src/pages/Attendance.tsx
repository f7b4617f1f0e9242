/**
 * /report/:sessionId/attendance — the attendance record for staff: per client, when they were admitted and left, the
 * minutes in each room and whether staff were there, and their help and check-in requests. Downloadable as CSV and
 * printable (print CSS in styles.css hides the controls). Read with the same credential as the report.
 */
import { createResource, createSignal, For, Match, Show, Switch } from "solid-js";
import { createAction, ErrorText } from "../components/common";
import { ApiError, describeError } from "../lib/api";
import { type AttendanceRecord, recordsApi, saveBlob } from "../lib/records-api";
import { linkClick } from "../lib/router";
import { storage } from "../lib/storage";
import { currentUser } from "../lib/user";

const when = (t: number | null) => (t === null ? "—" : new Date(t).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }));
const clock = (t: number | null) => (t === null ? "—" : new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
const minutes = (ms: number) => (ms / 60_000).toFixed(1);
const ROLE: Record<string, string> = { facilitator: "Facilitator", cofacilitator: "Co-facilitator", participant: "Client" };

export default function Attendance(props: { sessionId: string }) {
  const stored = storage.session(props.sessionId);
  const token = () => (stored && stored.role !== "participant" ? stored.ticket : (currentUser()?.token ?? null));
  const [record] = createResource(
    () => token(),
    async (t) => {
      try {
        return { ok: true as const, record: await recordsApi.attendance(props.sessionId, t) };
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
    const blob = await download.run(() => recordsApi.attendanceCsv(props.sessionId, t));
    if (!blob) return;
    saveBlob(blob, `session-${props.sessionId}-attendance.csv`);
    setSaved(true);
  }

  return (
    <main id="main" class="page report-page attendance-page" data-testid="attendance-page">
      <Switch>
        <Match when={!token()}>
          <h1>Attendance</h1>
          <p>Open the attendance record from the browser tab where you ran the session, or sign in as its facilitator or as an operator.</p>
        </Match>
        <Match when={record.loading}>
          <p role="status">Loading the attendance record…</p>
        </Match>
        <Match when={record()?.ok === false && record()}>
          {(r) => (
            <>
              <h1>Attendance</h1>
              <p class="banner danger" role="alert">
                {(r() as { error: string }).error}
              </p>
            </>
          )}
        </Match>
        <Match when={record()?.ok && (record() as { record: AttendanceRecord }).record}>
          {(rec) => <AttendanceView record={rec()} onDownload={downloadCsv} downloading={download.pending()} saved={saved()} error={download.error()} />}
        </Match>
      </Switch>
      <p class="mt no-print">
        <a href={`/report/${encodeURIComponent(props.sessionId)}`} onClick={linkClick}>
          Back to the session report
        </a>
      </p>
    </main>
  );
}

function AttendanceView(props: { record: AttendanceRecord; onDownload: () => void; downloading: boolean; saved: boolean; error: string | null }) {
  const r = () => props.record;
  const admitted = () => r().members.filter((m) => m.admittedAt !== null);
  const clients = () => admitted().filter((m) => !m.isStaff);
  const staff = () => admitted().filter((m) => m.isStaff);
  return (
    <>
      <header class="report-head">
        <div>
          <p class="muted m0">Attendance record</p>
          <h1 data-testid="attendance-title">{r().session.title}</h1>
          <p class="muted">
            {when(r().session.createdAt)} · {minutes(r().session.durationMs)} minutes
            {r().session.endedAt === null ? " · still running" : ""}
          </p>
        </div>
        <div class="no-print">
          <button type="button" onClick={() => props.onDownload()} disabled={props.downloading} data-testid="attendance-csv">
            Download CSV
          </button>{" "}
          <button type="button" class="secondary" onClick={() => window.print()} data-testid="attendance-print">
            Print
          </button>
          <p class="muted small m0" role="status">
            {props.saved ? "Downloaded." : ""}
          </p>
          <ErrorText error={props.error} />
        </div>
      </header>

      <div class="report-stats">
        <div class="stat">
          <div class="muted small">Clients</div>
          <div class="stat-value">{clients().length}</div>
        </div>
        <div class="stat">
          <div class="muted small">Participant-minutes</div>
          <div class="stat-value" data-testid="attendance-minutes">
            {r().totals.participantMinutes.toFixed(1)}
          </div>
        </div>
        <div class="stat">
          <div class="muted small">Help requests</div>
          <div class="stat-value">{r().totals.helpRequests}</div>
        </div>
        <div class="stat">
          <div class="muted small">Check-in requests</div>
          <div class="stat-value">{r().totals.checkInRequests}</div>
        </div>
      </div>

      <MemberTable title="Clients" id="attendance-clients" members={clients()} />
      <Show when={staff().length > 0}>
        <MemberTable title="Staff" id="attendance-staff" members={staff()} />
      </Show>
      <p class="muted small">
        “Staff present” is the part of that time when a facilitator or co-facilitator was in the same room. Minutes add up to the session report's
        participant-minutes.
      </p>
    </>
  );
}

function MemberTable(props: { title: string; id: string; members: AttendanceRecord["members"] }) {
  return (
    <section aria-labelledby={`${props.id}-h`} class="card attendance-card">
      <h2 id={`${props.id}-h`}>{props.title}</h2>
      <div class="table-wrap">
        <table data-testid={props.id}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Admitted</th>
              <th scope="col">Left</th>
              <th scope="col">Rooms (minutes · with staff)</th>
              <th scope="col" class="num">
                Minutes
              </th>
              <th scope="col" class="num">
                Help
              </th>
              <th scope="col" class="num">
                Check-in
              </th>
            </tr>
          </thead>
          <tbody>
            <For each={props.members}>
              {(m) => (
                <tr>
                  <th scope="row">{m.name}</th>
                  <td>{ROLE[m.role] ?? m.role}</td>
                  <td>{clock(m.admittedAt)}</td>
                  <td>{clock(m.leftAt)}</td>
                  <td class="small">
                    <For each={m.rooms}>
                      {(room) => (
                        <div>
                          {room.name}: {minutes(room.ms)}
                          {room.staffPresent ? ` · staff ${minutes(room.staffPresentMs)}` : " · no staff"}
                        </div>
                      )}
                    </For>
                  </td>
                  <td class="num">{m.totalMinutes.toFixed(1)}</td>
                  <td class="num">{m.helpRequests}</td>
                  <td class="num">{m.checkInRequests}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </div>
    </section>
  );
}
