/** Camera and microphone choice inside the room (the settings panel), switching without leaving the room. */
import { createResource, createSignal, For, Show } from "solid-js";
import type { MediaSession } from "../../lib/media-session";
import { listDevices, trackDeviceId } from "../../media/devices";

export function DeviceSettings(props: { media: MediaSession }) {
  const [devices, { refetch }] = createResource(() => listDevices().catch(() => ({ audio: [], video: [] })));
  const [busy, setBusy] = createSignal(false);
  const current = (kind: "audio" | "video") => trackDeviceId(props.media.local()[kind]) ?? "";
  async function change(kind: "audio" | "video", id: string) {
    setBusy(true);
    try {
      await props.media.changeDevice(kind, id);
      void refetch();
    } finally {
      setBusy(false);
    }
  }
  return (
    <section aria-labelledby="devices-h" class="panel-section">
      <h3 id="devices-h">Camera and microphone</h3>
      <div class="field">
        <label for="room-camera">Camera</label>
        <select
          id="room-camera"
          value={current("video")}
          disabled={busy() || (devices()?.video.length ?? 0) === 0}
          onChange={(e) => change("video", e.currentTarget.value)}
        >
          <Show when={(devices()?.video.length ?? 0) === 0}>
            <option value="">No camera found</option>
          </Show>
          <For each={devices()?.video ?? []}>{(d, i) => <option value={d.deviceId}>{d.label || `Camera ${i() + 1}`}</option>}</For>
        </select>
      </div>
      <div class="field">
        <label for="room-mic">Microphone</label>
        <select
          id="room-mic"
          value={current("audio")}
          disabled={busy() || (devices()?.audio.length ?? 0) === 0}
          onChange={(e) => change("audio", e.currentTarget.value)}
        >
          <Show when={(devices()?.audio.length ?? 0) === 0}>
            <option value="">No microphone found</option>
          </Show>
          <For each={devices()?.audio ?? []}>{(d, i) => <option value={d.deviceId}>{d.label || `Microphone ${i() + 1}`}</option>}</For>
        </select>
      </div>
      <Show when={props.media.problems().audio || props.media.problems().video}>
        <p class="muted small">{props.media.problems().video ?? props.media.problems().audio}</p>
      </Show>
    </section>
  );
}
