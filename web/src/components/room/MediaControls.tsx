/** Microphone, camera and screen-share buttons of the control bar, and the media layer's notices. */
import { Show } from "solid-js";
import type { MediaSession } from "../../lib/media-session";
import { blockedReason } from "../../lib/moderation";
import { ControlButton } from "./ui";

export function MicButton(props: { media: MediaSession; class?: string }) {
  const m = props.media;
  return (
    <ControlButton
      icon={m.micOn() ? "mic" : "micOff"}
      label="Microphone"
      pressed={m.micOn()}
      offWhenUnpressed
      disabled={!m.local().audio}
      unavailable={m.blocked().audio ? blockedReason("audio") : null}
      onClick={() => m.setMic(!m.micOn())}
      testid="toggle-mic"
      class={props.class}
    />
  );
}

export function CameraButton(props: { media: MediaSession; class?: string }) {
  const m = props.media;
  return (
    <ControlButton
      icon={m.camOn() ? "camera" : "cameraOff"}
      label="Camera"
      pressed={m.camOn()}
      offWhenUnpressed
      disabled={!m.local().video}
      unavailable={m.blocked().video ? blockedReason("video") : null}
      onClick={() => m.setCam(!m.camOn())}
      testid="toggle-camera"
      class={props.class}
    />
  );
}

export function ShareButton(props: { media: MediaSession; class?: string }) {
  const m = props.media;
  return (
    <ControlButton
      icon="screen"
      label={m.screen() ? "Stop sharing" : "Share screen"}
      pressed={m.screen() !== null}
      unavailable={m.shareUnavailable ?? (m.blocked().screen ? blockedReason("screen") : null)}
      onClick={() => (m.screen() ? m.stopShare() : void m.startShare())}
      testid="toggle-share"
      class={props.class}
    />
  );
}

/** Connecting or reconnecting video: a small chip in the top bar (it comes and goes with every room change). */
export function MediaStatusChip(props: { media: MediaSession }) {
  const m = props.media;
  return (
    <Show when={m.status() === "connecting" || m.status() === "reconnecting"}>
      <span class={`chip ${m.status() === "reconnecting" ? "warn" : ""}`} role="status">
        {m.status() === "connecting" ? "Connecting video…" : "Video is reconnecting…"}
      </span>
    </Show>
  );
}

/** Failed video (in plain words, with what to do), device problems, staff's blocks and my screen share, above the stage. */
export function MediaNotices(props: { media: MediaSession }) {
  const m = props.media;
  const blockedKinds = () =>
    [m.blocked().audio ? "microphone" : null, m.blocked().video ? "camera" : null, m.blocked().screen ? "screen sharing" : null].filter(
      (k): k is string => k !== null,
    );
  return (
    <>
      <Show when={m.status() === "failed"}>
        <div class="notice danger" role="alert" data-testid="media-error">
          <span>
            <strong>{m.error()?.title ?? "Video is not connected."}</strong> {m.error()?.advice ?? "Check your connection, then reconnect."}
            <Show when={m.error()?.code}>
              <span class="muted small"> (code {m.error()?.code})</span>
            </Show>
          </span>
          <Show when={(m.error()?.action ?? "reconnect") !== "wait"}>
            <button type="button" class="small" onClick={() => m.retry()} data-testid="media-retry">
              {m.error()?.action === "devices" ? "Try again" : "Reconnect"}
            </button>
          </Show>
        </div>
      </Show>
      <Show when={m.problems().audio || m.problems().video}>
        <div class="notice warn" role="status">
          <span>{[m.problems().video, m.problems().audio].filter(Boolean).join(" ")}</span>
        </div>
      </Show>
      <Show when={blockedKinds().length > 0}>
        <div class="notice info" role="status" data-testid="media-blocked">
          <span>The facilitator turned off your {blockedKinds().join(" and ")}. It stays off until they allow it again.</span>
        </div>
      </Show>
      <Show when={m.refusal() && blockedKinds().length === 0}>
        <div class="notice warn" role="status" data-testid="media-refusal">
          <span>{m.refusal()}</span>
        </div>
      </Show>
      <Show when={m.screen()}>
        <div class="notice info" role="status" data-testid="sharing-notice">
          <span>You are sharing your screen.</span>
          <button type="button" class="small secondary" onClick={() => m.stopShare()}>
            Stop sharing
          </button>
        </div>
      </Show>
    </>
  );
}
