import { createResource, createSignal, For, onCleanup, onMount, Show } from "solid-js";
import { createAction, ErrorText } from "../components/common";
import { ControlButton } from "../components/room/ui";
import { PreflightCheck } from "../components/preflight";
import { AgreementGate } from "../components/therapy/AgreementGate";
import { LocalVideo } from "../components/video";
import { api, ApiError, describeError } from "../lib/api";
import { DAMAGED_INVITE, inviteLooksIntact, MISSING_INVITE } from "../lib/room";
import { navigate } from "../lib/router";
import { storage } from "../lib/storage";
import { acquireMedia, listDevices, stopTracks } from "../media/devices";
import type { LocalTracks } from "../media/provider";
import type { Role } from "../../../lib/protocol";

/** The role inside a member ticket (a JWT), only to pick the right screen; the server checks the ticket itself. */
function ticketRole(ticket: string): Role {
  try {
    const payload = JSON.parse(atob(ticket.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { role?: string };
    return payload.role === "cofacilitator" || payload.role === "facilitator" ? payload.role : "participant";
  } catch {
    return "participant";
  }
}

/**
 * A guest joins with the invite and, when they joined before, the credential that join returned (the same member
 * again): reached by a recurring group's standing link, the group's credential (kept across tabs and weeks), else this
 * tab's credential for the session. A credential the server refuses as such (expired, from another invite or group) is
 * forgotten and the guest joins as a new one, which cannot take over anyone; any other refusal (e.g. removed) is shown.
 */
async function joinAsGuest(
  sessionId: string,
  group: string | null,
  invite: string,
  name: string,
  agreementHash: string | undefined,
  alias: string | undefined,
) {
  const groupCredential = group ? storage.groupCredential(group) : null;
  const guestCredential = storage.guestCredential(sessionId);
  const body = { invite, name, agreementHash, ...(alias ? { alias } : {}) };
  const proof = groupCredential ? { groupCredential } : guestCredential ? { guestCredential } : null;
  if (!proof) return api.join(sessionId, body);
  try {
    return await api.join(sessionId, { ...body, ...proof });
  } catch (e) {
    const field = e instanceof ApiError ? (e.details as { field?: string } | undefined)?.field : undefined;
    if (field === "groupCredential" && group) storage.setGroupCredential(group, null);
    else if (field === "guestCredential") storage.setGuestCredential(sessionId, null);
    else throw e;
    return api.join(sessionId, body);
  }
}

export default function Join(props: { sessionId: string; invite: string | null; group?: string | null }) {
  const existing = storage.session(props.sessionId);
  if (existing && existing.role !== "facilitator") {
    // This tab already joined: go back in (a refresh of the join page resumes too).
    const to = existing.role === "cofacilitator" ? "console" : "session";
    queueMicrotask(() => navigate(`/${to}/${encodeURIComponent(props.sessionId)}`, { replace: true }));
  }
  const user = storage.user();
  const [name, setName] = createSignal(existing?.name ?? (user?.user.name as string | undefined) ?? "");
  const [alias, setAlias] = createSignal("");
  const [tracks, setTracks] = createSignal<LocalTracks>({ audio: null, video: null });
  const [problems, setProblems] = createSignal<{ audio: string | null; video: string | null }>({ audio: null, video: null });
  const [devices, setDevices] = createSignal<{ audio: MediaDeviceInfo[]; video: MediaDeviceInfo[] }>({ audio: [], video: [] });
  const [audioId, setAudioId] = createSignal<string | null>(null);
  const [videoId, setVideoId] = createSignal<string | null>(null);
  const [micOn, setMicOn] = createSignal(true);
  const [camOn, setCamOn] = createSignal(true);
  const [starting, setStarting] = createSignal(true);
  const join = createAction();
  // Before joining: the session's title, the facilitator's name and whether it is still on (POST …/preview). The
  // server checks the invite here, so a tampered, expired or revoked link is named before anyone types a name.
  const [preview, { refetch: reloadPreview }] = createResource(
    () => (props.invite && inviteLooksIntact(props.invite) ? props.invite : null),
    (invite) => api.preview(props.sessionId, invite),
  );
  const previewProblem = (): string | null => {
    const e = preview.error;
    if (!e) return preview()?.ended ? "This session has ended." : null;
    if (e instanceof ApiError && e.code === "UNAUTHENTICATED") return DAMAGED_INVITE;
    // Network trouble or a busy server: joining may still work, so it is not a reason to stop here.
    if (e instanceof ApiError && ["CREDENTIAL_EXPIRED", "CREDENTIAL_REVOKED", "WRONG_SESSION", "NOT_FOUND", "SESSION_ENDED"].includes(e.code))
      return describeError(e.code, e.message);
    return null;
  };
  // The group agreement's hash once accepted (invite joins; staff links are not asked but may accept too).
  const [agreementHash, setAgreementHash] = createSignal<string | null>(null);
  // Without an invite only the session's creator (signed in) may join; a link cut short or edited fails here already.
  const blocked = (): string | null => {
    if (!props.invite) return user ? null : MISSING_INVITE;
    return inviteLooksIntact(props.invite) ? previewProblem() : DAMAGED_INVITE;
  };

  // A confidential roster: the other clients see an alias (or a first name / "Member n"), never the name typed here.
  const roster = () => (preview.error ? null : (preview()?.roster ?? null));
  const rosterHidesNames = () => roster() === "firstNames" || roster() === "aliases";

  const deviceIdOf = (t: LocalTracks["audio"]) => ((t as MediaStreamTrack | null)?.getSettings().deviceId as string | undefined) ?? null;

  async function start(kind?: "audio" | "video") {
    const want = kind ? { audio: kind === "audio", video: kind === "video" } : { audio: true, video: true };
    const m = await acquireMedia({ audioDeviceId: audioId(), videoDeviceId: videoId() }, want);
    const prev = tracks();
    const next: LocalTracks = {
      audio: want.audio ? m.tracks.audio : prev.audio,
      video: want.video ? m.tracks.video : prev.video,
    };
    if (want.audio) prev.audio?.stop();
    if (want.video) prev.video?.stop();
    if (next.audio) next.audio.enabled = micOn();
    if (next.video) next.video.enabled = camOn();
    setTracks(next);
    setProblems((p) => ({ audio: want.audio ? m.audioProblem : p.audio, video: want.video ? m.videoProblem : p.video }));
    if (!audioId()) setAudioId(deviceIdOf(next.audio));
    if (!videoId()) setVideoId(deviceIdOf(next.video));
    setDevices(await listDevices());
    setStarting(false);
  }

  onMount(() => void start());
  onCleanup(() => stopTracks(tracks()));

  async function onSubmit(e: SubmitEvent) {
    e.preventDefault();
    const n = name().trim();
    if (!n) {
      join.setError("Please enter your name.");
      return;
    }
    if (blocked()) return join.setError(blocked());
    const invite = props.invite;
    const res = await join.run(async () => {
      try {
        return invite
          ? await joinAsGuest(
              props.sessionId,
              props.group ?? null,
              invite,
              n,
              agreementHash() ?? undefined,
              (rosterHidesNames() && alias().trim()) || undefined,
            )
          : await api.join(props.sessionId, { name: n }, user?.token);
      } catch (e) {
        // With an invite and no sign-in sent, "unauthenticated" can only mean the invite itself did not check out.
        if (invite && e instanceof ApiError && e.code === "UNAUTHENTICATED") throw new Error(DAMAGED_INVITE);
        throw e;
      }
    });
    if (!res) return;
    if (res.guestCredential) storage.setGuestCredential(props.sessionId, res.guestCredential);
    if (res.groupId && res.groupCredential) storage.setGroupCredential(res.groupId, res.groupCredential);
    const role = ticketRole(res.ticket);
    storage.setSession({
      sessionId: props.sessionId,
      memberId: res.memberId,
      ticket: res.ticket,
      name: n,
      role,
      audioDeviceId: audioId(),
      videoDeviceId: videoId(),
      micOn: micOn(),
      camOn: camOn(),
    });
    stopTracks(tracks());
    setTracks({ audio: null, video: null });
    // A co-facilitator link leads to the console; everyone else to the session.
    navigate(`/${role === "participant" ? "session" : "console"}/${encodeURIComponent(props.sessionId)}`, { replace: true });
  }

  return (
    <main id="main" class="page join-page">
      <Show when={blocked()}>
        {(why) => (
          <div class="banner warn" role="alert" data-testid="invite-problem">
            {why()}
          </div>
        )}
      </Show>
      <div class="join-grid">
        <section class="join-preview" aria-labelledby="preview-h">
          <h2 id="preview-h" class="visually-hidden">
            Check your camera and microphone
          </h2>
          <div class="preview-tile">
            <LocalVideo tracks={tracks()} camOn={camOn()} label="Preview of your camera" testid="join-preview" />
            <Show when={starting()}>
              <div class="preview-note" role="status">
                Starting camera…
              </div>
            </Show>
            <Show when={!starting() && (!tracks().video || !camOn())}>
              <div class="preview-note">Camera off</div>
            </Show>
            <div class="preview-controls overlay">
              <ControlButton
                icon={micOn() ? "mic" : "micOff"}
                label="Microphone"
                pressed={micOn()}
                offWhenUnpressed
                disabled={!tracks().audio}
                onClick={() => {
                  setMicOn(!micOn());
                  const a = tracks().audio;
                  if (a) a.enabled = micOn();
                }}
                testid="join-mic"
              />
              <ControlButton
                icon={camOn() ? "camera" : "cameraOff"}
                label="Camera"
                pressed={camOn()}
                offWhenUnpressed
                disabled={!tracks().video}
                onClick={() => {
                  setCamOn(!camOn());
                  const v = tracks().video;
                  if (v) v.enabled = camOn();
                }}
                testid="join-camera"
              />
            </div>
          </div>
          <Show when={problems().video}>
            <p class="banner warn">{problems().video}</p>
          </Show>
          <Show when={problems().audio}>
            <p class="banner warn">{problems().audio}</p>
          </Show>
          <div class="two-fields devices">
            <div class="field">
              <label for="camera-select">Camera</label>
              <select
                id="camera-select"
                data-testid="camera-select"
                value={videoId() ?? ""}
                disabled={devices().video.length === 0}
                onChange={(e) => {
                  setVideoId(e.currentTarget.value || null);
                  void start("video");
                }}
              >
                <Show when={devices().video.length === 0}>
                  <option value="">No camera found</option>
                </Show>
                <For each={devices().video}>{(d, i) => <option value={d.deviceId}>{d.label || `Camera ${i() + 1}`}</option>}</For>
              </select>
            </div>
            <div class="field">
              <label for="mic-select">Microphone</label>
              <select
                id="mic-select"
                data-testid="mic-select"
                value={audioId() ?? ""}
                disabled={devices().audio.length === 0}
                onChange={(e) => {
                  setAudioId(e.currentTarget.value || null);
                  void start("audio");
                }}
              >
                <Show when={devices().audio.length === 0}>
                  <option value="">No microphone found</option>
                </Show>
                <For each={devices().audio}>{(d, i) => <option value={d.deviceId}>{d.label || `Microphone ${i() + 1}`}</option>}</For>
              </select>
            </div>
          </div>
          <PreflightCheck sessionId={props.sessionId} invite={props.invite} audioTrack={tracks().audio} />
        </section>
        <section class="join-side" aria-labelledby="join-h">
          {/* An errored resource throws when read: ask for its value only without an error. */}
          <Show when={!preview.error && preview()}>
            {(p) => (
              <div class="join-about" data-testid="join-preview-info">
                <p class="muted m0">You are invited to</p>
                <p class="join-title m0" data-testid="preview-title">
                  {p().title}
                </p>
                <Show when={p().facilitatorName}>
                  <p class="muted m0" data-testid="preview-facilitator">
                    with {p().facilitatorName}
                  </p>
                </Show>
              </div>
            )}
          </Show>
          <h1 id="join-h">Ready to join?</h1>
          <p class="muted">You may wait a moment until the facilitator lets you in. Camera and microphone can be turned on or off at any time.</p>
          <Show when={props.invite && !blocked() && ticketRole(props.invite) === "participant"}>
            <AgreementGate
              sessionId={props.sessionId}
              invite={props.invite!}
              preview={preview.error ? null : (preview() ?? null)}
              failed={Boolean(preview.error)}
              onReload={() => void reloadPreview()}
              onAccepted={setAgreementHash}
            />
          </Show>
          <form onSubmit={onSubmit} data-testid="join-form" noValidate>
            <div class="field">
              <label for="join-name">
                Your name{" "}
                <span class="hint">
                  {rosterHidesNames()
                    ? roster() === "aliases"
                      ? "(only the facilitators see it)"
                      : "(the group sees your first name only)"
                    : "(shown to the group; a first name is fine)"}
                </span>
              </label>
              <input
                id="join-name"
                type="text"
                autocomplete="given-name"
                maxLength={80}
                value={name()}
                onInput={(e) => setName(e.currentTarget.value)}
                data-testid="join-name"
                aria-describedby="join-error"
                required
              />
            </div>
            <Show when={rosterHidesNames()}>
              <div class="field">
                <label for="join-alias">
                  How others in the group see you{" "}
                  <span class="hint">(optional{roster() === "aliases" ? "; otherwise “Member” and a number" : "; otherwise your first name"})</span>
                </label>
                <input
                  id="join-alias"
                  type="text"
                  autocomplete="off"
                  maxLength={80}
                  value={alias()}
                  onInput={(e) => setAlias(e.currentTarget.value)}
                  data-testid="join-alias"
                />
              </div>
            </Show>
            <button
              type="submit"
              class="join-button"
              disabled={join.pending() || blocked() !== null}
              aria-describedby={blocked() ? "join-blocked" : undefined}
              data-testid="join-submit"
            >
              {join.pending() ? "Joining…" : "Join"}
            </button>
            <Show when={blocked()}>
              <p id="join-blocked" class="hint">
                {!preview.error && preview()?.ended ? "The session is over, so it can no longer be joined." : "Joining needs a working invite link."}
              </p>
            </Show>
            <ErrorText error={join.error()} id="join-error" testid="join-error" />
          </form>
        </section>
      </div>
    </main>
  );
}
