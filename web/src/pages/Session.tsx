import { createEffect, createMemo, createSignal, For, Match, on, onCleanup, Show, Switch } from "solid-js";
import { Card, ConnectionBanner, createAction, ErrorText } from "../components/common";
import { Notices } from "../components/notices";
import { LocalVideo, MediaControls, MediaStatusLine, VideoGrid } from "../components/video";
import { createMediaSession } from "../lib/media-session";
import { navigate } from "../lib/router";
import { createSessionClient } from "../lib/session-client";
import { formatDuration } from "../lib/state";
import { storage, type StoredSession } from "../lib/storage";

export default function SessionPage(props: { sessionId: string }) {
  const stored = storage.session(props.sessionId);
  return (
    <Show
      when={stored}
      fallback={
        <main id="main" class="narrow">
          <h1>You are not in this session yet</h1>
          <p>Open the invitation link your facilitator sent you to join.</p>
        </main>
      }
    >
      {(s) => <ParticipantRoom stored={s()} />}
    </Show>
  );
}

function ParticipantRoom(props: { stored: StoredSession }) {
  const st = props.stored;
  const client = createSessionClient({ sessionId: st.sessionId, ticket: st.ticket });
  onCleanup(() => client.close());
  const view = () => client.view();
  // Staff get the staff state, not a participant view: their screen is the console.
  createEffect(() => {
    const role = client.me()?.role;
    if (role && role !== "participant") {
      storage.updateSession(st.sessionId, { role });
      navigate(`/console/${encodeURIComponent(st.sessionId)}`, { replace: true });
    }
  });
  const media = createMediaSession(client, {
    ticket: st.ticket,
    choice: { audioDeviceId: st.audioDeviceId, videoDeviceId: st.videoDeviceId },
    micOn: st.micOn ?? true,
    camOn: st.camOn ?? true,
    rosterIds: () => (view()?.you.status === "admitted" ? (view()?.roommates ?? []).map((r) => r.id) : []),
  });

  const help = createAction();
  const back = createAction();
  const choose = createAction();
  const leave = createAction();
  const [helpOpen, setHelpOpen] = createSignal(false);
  const [helpText, setHelpText] = createSignal("");
  const [moving, setMoving] = createSignal<string | null>(null);
  const [warned, setWarned] = createSignal(false);

  // "You're moving to Room 2": when my place changes while I am in the session.
  createEffect(
    on(
      () => view()?.you.location ?? null,
      (loc, prev) => {
        if (prev === undefined || prev === null || loc === null || loc === prev) return;
        setMoving(view()?.you.roomName ?? "another room");
        const t = setTimeout(() => setMoving(null), 6000);
        onCleanup(() => clearTimeout(t));
      },
    ),
  );
  onCleanup(
    client.onNotice((n) => {
      if (n.notice.kind === "roundWarning") setWarned(true);
    }),
  );

  const ended = () => view()?.session.phase === "ended" || client.notices().some((n) => n.notice.kind === "sessionEnded");
  const status = () => view()?.you.status ?? null;
  // "denied" after having been in the session means the facilitator removed this person.
  const [wasAdmitted, setWasAdmitted] = createSignal(false);
  createEffect(() => {
    if (status() === "admitted") setWasAdmitted(true);
  });
  // The page itself explains an ended session or a departure; no extra error banner for the closed socket then.
  const settled = () => ended() || status() === "denied" || status() === "left";
  createEffect(() => {
    if (settled()) media.stop();
  });
  const closesIn = createMemo(() => {
    const c = view()?.round?.closesAt;
    return c ? c - client.now() : null;
  });
  const endsIn = createMemo(() => {
    const e = view()?.round?.endsAt;
    return e && view()?.you.location !== "main" ? e - client.now() : null;
  });
  const nameFor = (id: string) => (id === view()?.you.memberId ? view()!.you.name : (view()?.roommates.find((r) => r.id === id)?.name ?? "Guest"));

  async function askHelp(e: SubmitEvent) {
    e.preventDefault();
    const text = helpText().trim();
    const ok = await help.run(() => client.command({ type: "requestHelp", ...(text ? { message: text } : {}) }));
    if (ok) {
      setHelpOpen(false);
      setHelpText("");
    }
  }

  async function doLeave() {
    await leave.run(() => client.command({ type: "leave" }));
    storage.forgetSession(st.sessionId);
    client.close();
    navigate("/", { replace: true });
  }

  return (
    <>
      <ConnectionBanner status={settled() ? "open" : client.status()} fatal={settled() ? null : client.fatal()} />
      <main id="main">
        <Switch fallback={<p role="status">Connecting to the session…</p>}>
          <Match when={ended()}>
            <div class="narrow">
              <h1>The session has ended</h1>
              <p>Thank you for joining. You can close this tab.</p>
            </div>
          </Match>
          <Match when={status() === "waiting"}>
            <div class="narrow" data-testid="waiting-room">
              <h1>{view()?.session.title}</h1>
              <p class="banner info" role="status">
                The facilitator will let you in shortly.
              </p>
              <div class="tile preview">
                <LocalVideo tracks={media.local()} camOn={media.camOn()} label="Preview of your camera" />
              </div>
              <div class="controls">
                <MediaControls media={media} />
                <button type="button" class="secondary" onClick={doLeave}>
                  Leave
                </button>
              </div>
            </div>
          </Match>
          <Match when={status() === "denied"}>
            <div class="narrow" data-testid="denied">
              <Show
                when={wasAdmitted()}
                fallback={
                  <>
                    <h1>You were not let in this time</h1>
                    <p>The facilitator did not admit you to this session. If you think this is a mistake, contact them.</p>
                  </>
                }
              >
                <h1>You have been removed from the session</h1>
                <p>The facilitator removed you from this session. If you think this is a mistake, contact them.</p>
              </Show>
            </div>
          </Match>
          <Match when={status() === "left"}>
            <div class="narrow">
              <h1>You have left the session</h1>
              <p>You can close this tab.</p>
            </div>
          </Match>
          <Match when={status() === "admitted" && view()}>
            {(v) => (
              <div data-testid="participant-room">
                <div class="row spread mb">
                  <div>
                    <p class="muted small m0">{v().session.title}</p>
                    <h1 data-testid="room-name">{v().you.roomName ?? "Main room"}</h1>
                  </div>
                  <Show when={endsIn() !== null && (endsIn() as number) > 0 && closesIn() === null}>
                    <p class="badge" data-testid="round-timer" aria-label={`Time left in this round: ${formatDuration(endsIn() as number)}`}>
                      Time left: {formatDuration(endsIn() as number)}
                    </p>
                  </Show>
                </div>

                <Show when={moving()}>
                  <div class="banner info" role="alert" data-testid="moving-notice">
                    You're moving to {moving()}
                  </div>
                </Show>
                <Show when={closesIn() !== null}>
                  <div class="banner warn" role="status" aria-live="polite" data-testid="countdown-banner">
                    Breakout rooms close in {formatDuration(Math.max(0, closesIn() as number))}. Everyone will return to the main room.
                  </div>
                </Show>
                <Show when={warned() && closesIn() === null && endsIn() !== null && (endsIn() as number) > 0}>
                  <div class="banner warn" role="status" data-testid="round-warning">
                    This round ends in {formatDuration(endsIn() as number)}.
                  </div>
                </Show>

                <Notices
                  client={client}
                  audience="participant"
                  isRelevant={(n) => (n.kind === "roundWarning" || n.kind === "roomClosing" ? v().you.location !== "main" : true)}
                />
                <MediaStatusLine media={media} />
                <VideoGrid media={media} selfName={v().you.name} nameFor={nameFor} memberIdFor={(id) => id} />

                <div class="controls" role="toolbar" aria-label="Session controls">
                  <MediaControls media={media} />
                  <Show
                    when={!v().you.helpRequested}
                    fallback={
                      <span class="badge warn" role="status" data-testid="help-requested">
                        Help requested. The facilitator will come by.
                      </span>
                    }
                  >
                    <button type="button" class="secondary" aria-expanded={helpOpen()} onClick={() => setHelpOpen(!helpOpen())} data-testid="ask-help">
                      Ask for help
                    </button>
                  </Show>
                  <Show when={v().allowSelfReturn}>
                    <button
                      type="button"
                      class="secondary"
                      disabled={back.pending()}
                      onClick={() => back.run(() => client.command({ type: "returnToMain" }))}
                      data-testid="return-to-main"
                    >
                      Return to main room
                    </button>
                  </Show>
                  <button type="button" class="danger secondary" onClick={doLeave} data-testid="leave">
                    Leave session
                  </button>
                </div>
                <ErrorText error={back.error()} />
                <ErrorText error={leave.error()} />

                <Show when={helpOpen() && !v().you.helpRequested}>
                  <Card title="Ask the facilitator for help">
                    <form onSubmit={askHelp} data-testid="help-form">
                      <div class="field">
                        <label for="help-text">
                          Message <span class="hint">(optional, only the facilitator sees it)</span>
                        </label>
                        <textarea id="help-text" maxLength={280} value={helpText()} onInput={(e) => setHelpText(e.currentTarget.value)} />
                      </div>
                      <div class="row">
                        <button type="submit" disabled={help.pending()}>
                          Send request
                        </button>
                        <button type="button" class="quiet" onClick={() => setHelpOpen(false)}>
                          Cancel
                        </button>
                      </div>
                      <ErrorText error={help.error()} />
                    </form>
                  </Card>
                </Show>

                <Show when={v().choosableRooms.length > 0}>
                  <Card title="Choose a room" testid="choose-room">
                    <ul class="list">
                      <For each={v().choosableRooms}>
                        {(r) => (
                          <li class="row spread">
                            <span>
                              {r.name}{" "}
                              <span class="muted small">
                                ({r.count} of {r.capacity})
                              </span>
                            </span>
                            <button
                              type="button"
                              class="secondary small"
                              disabled={choose.pending() || r.count >= r.capacity || v().you.location === r.id}
                              onClick={() => choose.run(() => client.command({ type: "chooseRoom", roomId: r.id }))}
                              data-testid={`choose-room-${r.id}`}
                            >
                              {v().you.location === r.id ? "You are here" : `Join ${r.name}`}
                            </button>
                          </li>
                        )}
                      </For>
                    </ul>
                    <ErrorText error={choose.error()} />
                  </Card>
                </Show>
              </div>
            )}
          </Match>
        </Switch>
      </main>
    </>
  );
}
