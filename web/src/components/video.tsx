import { createEffect, createMemo, For, onCleanup, Show } from "solid-js";
import type { MediaSession, Tile } from "../lib/media-session";
import type { LocalTracks, RemoteTrack } from "../media/provider";
import { QualityBars } from "./common";

function initials(name: string): string {
  return (
    name
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((w) => w[0]!.toUpperCase())
      .join("") || "?"
  );
}

/** The local camera, mirrored, always muted. */
export function LocalVideo(props: { tracks: LocalTracks; camOn: boolean; label: string; testid?: string }) {
  let el!: HTMLVideoElement;
  createEffect(() => {
    const v = props.tracks.video as MediaStreamTrack | null;
    el.srcObject = v ? new MediaStream([v]) : null;
    if (v) void el.play().catch(() => {});
  });
  return (
    <video
      ref={el}
      class="mirror"
      autoplay
      playsinline
      muted
      aria-label={props.label}
      data-testid={props.testid ?? "local-video"}
      classList={{ invisible: !(props.camOn && props.tracks.video) }}
    />
  );
}

/** Attach one remote track to a media element for as long as both exist. */
function useAttached(getEl: () => HTMLMediaElement | undefined, track: () => RemoteTrack | null) {
  // Memoized: `track` reads signals that change without changing the track (the dominant speaker, for one), and
  // re-attaching would restart the element's playback (a blank frame, decoding counters reset) each time.
  const current = createMemo(track);
  createEffect(() => {
    const t = current();
    const el = getEl();
    if (!t || !el) return;
    t.attach(el);
    void el.play?.().catch(() => {});
    onCleanup(() => t.detach(el));
  });
}

export function RemoteTile(props: { tile: Tile; name: string; memberId: string; speaking: boolean; renderVideo: boolean }) {
  let videoEl: HTMLVideoElement | undefined;
  let audioEl: HTMLAudioElement | undefined;
  useAttached(
    () => videoEl,
    () => (props.renderVideo ? props.tile.video : null),
  );
  useAttached(
    () => audioEl,
    () => props.tile.audio,
  );
  const showVideo = () => props.renderVideo && props.tile.video !== null && props.tile.videoEnabled;
  return (
    <figure class={`tile ${props.speaking ? "speaking" : ""}`} data-testid="remote-tile" data-participant-id={props.tile.id}>
      <video
        ref={videoEl}
        autoplay
        playsinline
        muted
        data-member-id={props.memberId}
        aria-label={`${props.name}'s video`}
        classList={{ invisible: !showVideo() }}
      />
      <audio ref={audioEl} autoplay data-member-id={props.memberId} />
      <Show when={!showVideo()}>
        <div class="placeholder" aria-hidden="true">
          {initials(props.name)}
        </div>
      </Show>
      <figcaption class="caption">
        <span>
          {props.name}
          <Show when={props.speaking}>
            <span class="visually-hidden"> (speaking)</span>
          </Show>
        </span>
        <span class="row tight">
          <Show when={!props.tile.audioEnabled}>
            <span class="badge dark">Muted</span>
          </Show>
          <Show when={!props.renderVideo && props.tile.video}>
            <span class="badge dark">Video paused</span>
          </Show>
          <QualityBars level={props.tile.quality} label={props.name} />
        </span>
      </figcaption>
    </figure>
  );
}

export function VideoGrid(props: { media: MediaSession; selfName: string; nameFor: (id: string) => string; memberIdFor: (id: string) => string }) {
  const m = props.media;
  const speakingName = () => {
    const id = m.dominantSpeaker();
    return id ? props.nameFor(id) : null;
  };
  return (
    <section aria-label="Video" data-testid="video-grid">
      <p class="visually-hidden" aria-live="polite">
        {speakingName() ? `${speakingName()} is speaking` : ""}
      </p>
      <div class="grid" data-count={m.tiles().length + 1}>
        <figure class="tile" data-testid="local-tile">
          <LocalVideo tracks={m.local()} camOn={m.camOn()} label="Your camera" />
          <Show when={!m.camOn() || !m.local().video}>
            <div class="placeholder" aria-hidden="true">
              {initials(props.selfName)}
            </div>
          </Show>
          <figcaption class="caption">
            <span>{props.selfName} (you)</span>
            <span class="row tight">
              <Show when={!m.micOn()}>
                <span class="badge dark">Muted</span>
              </Show>
              <QualityBars level={m.localQuality()} label="Your connection" />
            </span>
          </figcaption>
        </figure>
        <For each={m.tiles()}>
          {(tile) => (
            <RemoteTile
              tile={tile}
              name={props.nameFor(tile.id)}
              memberId={props.memberIdFor(tile.id)}
              speaking={m.dominantSpeaker() === tile.id}
              renderVideo={m.rendered().has(tile.id)}
            />
          )}
        </For>
      </div>
      <Show when={speakingName()}>
        <p class="muted small" data-testid="speaking-now">
          Speaking: {speakingName()}
        </p>
      </Show>
    </section>
  );
}

export function MediaStatusLine(props: { media: MediaSession }) {
  const m = props.media;
  return (
    <>
      <Show when={m.status() === "connecting"}>
        <p class="muted" role="status">
          Connecting video…
        </p>
      </Show>
      <Show when={m.status() === "reconnecting"}>
        <p class="banner warn" role="status">
          Video is reconnecting…
        </p>
      </Show>
      <Show when={m.status() === "failed"}>
        <div class="banner danger" role="alert">
          <p>{m.error() ?? "Video is not connected."}</p>
          <button type="button" class="secondary" onClick={() => m.retry()}>
            Try again
          </button>
        </div>
      </Show>
      <Show when={m.problems().audio || m.problems().video}>
        <div class="banner warn" role="status">
          <Show when={m.problems().video}>
            <p>{m.problems().video}</p>
          </Show>
          <Show when={m.problems().audio}>
            <p>{m.problems().audio}</p>
          </Show>
        </div>
      </Show>
    </>
  );
}

export function MediaControls(props: { media: MediaSession }) {
  const m = props.media;
  return (
    <>
      <button type="button" class="toggle" aria-pressed={m.micOn()} onClick={() => m.setMic(!m.micOn())} disabled={!m.local().audio} data-testid="toggle-mic">
        {m.micOn() ? "Microphone on" : "Microphone off"}
      </button>
      <button
        type="button"
        class="toggle"
        aria-pressed={m.camOn()}
        onClick={() => m.setCam(!m.camOn())}
        disabled={!m.local().video}
        data-testid="toggle-camera"
      >
        {m.camOn() ? "Camera on" : "Camera off"}
      </button>
    </>
  );
}
