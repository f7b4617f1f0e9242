/**
 * Camera and microphone: acquiring tracks with the project's capture constraints and listing devices.
 * A missing or refused device is not an error for the app: the person joins without it and is told why.
 */
import { AUDIO_CONSTRAINTS, VIDEO_CONSTRAINTS, type LocalTracks } from "./provider";

export interface DeviceChoice {
  audioDeviceId?: string | null;
  videoDeviceId?: string | null;
}

export interface AcquiredMedia {
  tracks: LocalTracks;
  /** Why a kind is missing, in plain words, or null. */
  audioProblem: string | null;
  videoProblem: string | null;
}

function problemText(kind: "camera" | "microphone", e: unknown): string {
  const name = (e as { name?: string }).name;
  if (name === "NotAllowedError" || name === "SecurityError")
    return `Your browser is not allowing the ${kind}. You can allow it in the address bar and try again.`;
  if (name === "NotFoundError" || name === "OverconstrainedError") return `No ${kind} was found.`;
  if (name === "NotReadableError") return `The ${kind} is in use by another app.`;
  return `The ${kind} could not be started.`;
}

async function getTrack(kind: "audio" | "video", deviceId: string | null | undefined): Promise<MediaStreamTrack> {
  const base = kind === "audio" ? { ...AUDIO_CONSTRAINTS } : { ...VIDEO_CONSTRAINTS };
  const constraints: MediaTrackConstraints = deviceId ? { ...base, deviceId: { exact: deviceId } } : base;
  try {
    const s = await navigator.mediaDevices.getUserMedia({ [kind]: constraints });
    return s.getTracks()[0];
  } catch (e) {
    // A remembered device that is gone: fall back to the default one.
    if (deviceId && (e as { name?: string }).name === "OverconstrainedError") {
      const s = await navigator.mediaDevices.getUserMedia({ [kind]: base });
      return s.getTracks()[0];
    }
    throw e;
  }
}

export async function acquireMedia(choice: DeviceChoice, want: { audio: boolean; video: boolean } = { audio: true, video: true }): Promise<AcquiredMedia> {
  const out: AcquiredMedia = { tracks: { audio: null, video: null }, audioProblem: null, videoProblem: null };
  if (!navigator.mediaDevices?.getUserMedia) {
    out.audioProblem = "This browser cannot use a microphone here (a secure https page is needed).";
    out.videoProblem = "This browser cannot use a camera here (a secure https page is needed).";
    return out;
  }
  await Promise.all([
    want.audio
      ? getTrack("audio", choice.audioDeviceId).then(
          (t) => (out.tracks.audio = t),
          (e) => (out.audioProblem = problemText("microphone", e)),
        )
      : null,
    want.video
      ? getTrack("video", choice.videoDeviceId).then(
          (t) => (out.tracks.video = t),
          (e) => (out.videoProblem = problemText("camera", e)),
        )
      : null,
  ]);
  return out;
}

export async function listDevices(): Promise<{ audio: MediaDeviceInfo[]; video: MediaDeviceInfo[] }> {
  if (!navigator.mediaDevices?.enumerateDevices) return { audio: [], video: [] };
  const all = await navigator.mediaDevices.enumerateDevices();
  return { audio: all.filter((d) => d.kind === "audioinput"), video: all.filter((d) => d.kind === "videoinput") };
}

export function stopTracks(t: LocalTracks): void {
  t.audio?.stop();
  t.video?.stop();
}

export function trackDeviceId(t: LocalTracks["audio"]): string | null {
  return ((t as MediaStreamTrack | null)?.getSettings?.().deviceId as string | undefined) ?? null;
}
