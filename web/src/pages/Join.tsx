import { createSignal, For, onCleanup, onMount, Show } from "solid-js";
import { Card, createAction, ErrorText } from "../components/common";
import { LocalVideo } from "../components/video";
import { PreflightCheck } from "../components/preflight";
import { api, ApiError } from "../lib/api";
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
 * A guest joins with the invite and, when this tab joined before, the credential that join returned (the same member
 * again). A credential the server refuses as such (expired, from another invite) is forgotten and the guest joins as a
 * new one, which cannot take over anyone; any other refusal (e.g. removed) is shown.
 */
async function joinAsGuest(sessionId: string, invite: string, name: string) {
  const guestCredential = storage.guestCredential(sessionId);
  try {
    return await api.join(sessionId, guestCredential ? { invite, name, guestCredential } : { invite, name });
  } catch (e) {
    if (!guestCredential || !(e instanceof ApiError) || (e.details as { field?: string } | undefined)?.field !== "guestCredential") throw e;
    storage.setGuestCredential(sessionId, null);
    return api.join(sessionId, { invite, name });
  }
}

export default function Join(props: { sessionId: string; invite: string | null }) {
  const existing = storage.session(props.sessionId);
  if (existing && existing.role !== "facilitator") {
    // This tab already joined: go back in (a refresh of the join page resumes too).
    const to = existing.role === "cofacilitator" ? "console" : "session";
    queueMicrotask(() => navigate(`/${to}/${encodeURIComponent(props.sessionId)}`, { replace: true }));
  }
  const user = storage.user();
  const [name, setName] = createSignal(existing?.name ?? (user?.user.name as string | undefined) ?? "");
  const [tracks, setTracks] = createSignal<LocalTracks>({ audio: null, video: null });
  const [problems, setProblems] = createSignal<{ audio: string | null; video: string | null }>({ audio: null, video: null });
  const [devices, setDevices] = createSignal<{ audio: MediaDeviceInfo[]; video: MediaDeviceInfo[] }>({ audio: [], video: [] });
  const [audioId, setAudioId] = createSignal<string | null>(null);
  const [videoId, setVideoId] = createSignal<string | null>(null);
  const [micOn, setMicOn] = createSignal(true);
  const [camOn, setCamOn] = createSignal(true);
  const [starting, setStarting] = createSignal(true);
  const join = createAction();

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
    if (!props.invite && !user) {
      join.setError("This link is missing its invitation. Ask the facilitator for a new link.");
      return;
    }
    const invite = props.invite;
    const res = await join.run(() => (invite ? joinAsGuest(props.sessionId, invite, n) : api.join(props.sessionId, { name: n }, user?.token)));
    if (!res) return;
    if (res.guestCredential) storage.setGuestCredential(props.sessionId, res.guestCredential);
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
    <main id="main" class="narrow">
      <h1>Join the session</h1>
      <Show when={!props.invite && !user}>
        <div class="banner warn" role="alert">
          This link is missing its invitation. Ask the facilitator for a new link.
        </div>
      </Show>
      <Card title="Check your camera and microphone">
        <div class="tile preview mb">
          <LocalVideo tracks={tracks()} camOn={camOn()} label="Preview of your camera" testid="join-preview" />
          <Show when={starting()}>
            <div class="placeholder plain" role="status">
              Starting camera…
            </div>
          </Show>
          <Show when={!starting() && (!tracks().video || !camOn())}>
            <div class="placeholder plain">Camera off</div>
          </Show>
        </div>
        <Show when={problems().video}>
          <p class="banner warn">{problems().video}</p>
        </Show>
        <Show when={problems().audio}>
          <p class="banner warn">{problems().audio}</p>
        </Show>
        <div class="controls">
          <button
            type="button"
            class="toggle"
            aria-pressed={micOn()}
            disabled={!tracks().audio}
            onClick={() => {
              setMicOn(!micOn());
              const a = tracks().audio;
              if (a) a.enabled = micOn();
            }}
          >
            {micOn() ? "Microphone on" : "Microphone off"}
          </button>
          <button
            type="button"
            class="toggle"
            aria-pressed={camOn()}
            disabled={!tracks().video}
            onClick={() => {
              setCamOn(!camOn());
              const v = tracks().video;
              if (v) v.enabled = camOn();
            }}
          >
            {camOn() ? "Camera on" : "Camera off"}
          </button>
        </div>
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
        <PreflightCheck sessionId={props.sessionId} invite={props.invite} audioTrack={tracks().audio} />
      </Card>
      <Card title="Your name">
        <form onSubmit={onSubmit} data-testid="join-form" noValidate>
          <div class="field">
            <label for="join-name">
              Name <span class="hint">(shown to the group; a first name is fine)</span>
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
          <button type="submit" disabled={join.pending()} data-testid="join-submit">
            {join.pending() ? "Joining…" : "Join"}
          </button>
          <ErrorText error={join.error()} id="join-error" testid="join-error" />
        </form>
      </Card>
    </main>
  );
}
