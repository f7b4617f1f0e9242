import { createEffect } from "solid-js";
import type { LocalTracks } from "../media/provider";

/** The local camera, mirrored, always muted (the join page's and the waiting room's preview). */
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
