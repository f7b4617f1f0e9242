/**
 * One interface for the media layer, so the app does not care whether Twilio Video or the built-in peer-to-peer
 * WebRTC mesh carries the audio and video. Kept free of DOM types (tracks and elements are structural) so the
 * Twilio mapping can be unit-tested on Node; the browser code casts to the DOM types where it touches them.
 */
import type { MediaGrant, MediaProvider } from "../../../lib/protocol";

/** The part of a MediaStreamTrack this layer uses. A DOM MediaStreamTrack satisfies it. */
export interface MediaTrack {
  readonly id: string;
  readonly kind: string;
  enabled: boolean;
  stop(): void;
}

/** The camera and microphone tracks the user chose (either may be missing: no device, or permission refused). */
export interface LocalTracks {
  audio: MediaTrack | null;
  video: MediaTrack | null;
}

/**
 * A remote track as the UI needs it. `attach`/`detach` go through the provider so Twilio can see which tracks are
 * on screen (clientTrackSwitchOffControl "auto" switches off tracks that are not attached to a visible element).
 * `element` is an HTMLMediaElement.
 */
export interface RemoteTrack {
  readonly kind: "audio" | "video";
  readonly id: string;
  /** A video track is the sender's camera or a shared screen (Twilio: a track published with the name "screen"). */
  readonly source?: "camera" | "screen";
  readonly mediaTrack: MediaTrack;
  attach(element: object): void;
  detach(element: object): void;
}

/** Why a media connection ended. */
export type DisconnectReason =
  /** We asked for it (room move, leaving, switching off media). */
  | "local"
  /** Twilio 53118: the room was completed (closed by the server; expected when moved or rooms close). */
  | "roomCompleted"
  /** Twilio 20104: the access token expired; reconnect with a fresh grant. */
  | "tokenExpired"
  /** Twilio 53205: the same identity connected elsewhere (another tab), which disconnected this one. */
  | "duplicateIdentity"
  /** The SDK gave up reconnecting (signaling or media). */
  | "reconnectFailed"
  | "error";

export type MediaEvent =
  | { type: "connected"; room: string; localId: string }
  | { type: "participantJoined"; participantId: string }
  | { type: "participantLeft"; participantId: string }
  | { type: "trackSubscribed"; participantId: string; track: RemoteTrack }
  | { type: "trackUnsubscribed"; participantId: string; track: RemoteTrack }
  /** Remote participant's track switched on/off or enabled/disabled (camera off). */
  | { type: "trackEnabled"; participantId: string; kind: "audio" | "video"; enabled: boolean }
  /** Local mesh: the participant's video now carries their screen instead of their camera (or no longer does). */
  | { type: "screenShare"; participantId: string; sharing: boolean }
  | { type: "dominantSpeaker"; participantId: string | null }
  /** 0 (unknown/bad) .. 5 (excellent); `local` for this browser's own connection. */
  | { type: "networkQuality"; participantId: string; level: number | null; local: boolean }
  | { type: "reconnecting" }
  | { type: "reconnected" }
  | { type: "disconnected"; code: number | null; reason: DisconnectReason; message?: string };

export type MediaEventListener = (e: MediaEvent) => void;

export interface MediaProviderClient {
  readonly kind: MediaProvider;
  /** Join the media room the grant names, publishing the local tracks. Resolves once connected. */
  connect(grant: MediaGrant, localTracks: LocalTracks): Promise<void>;
  /** Leave the current media room (no-op when not connected). Emits disconnected{reason:"local"}. */
  disconnect(): Promise<void>;
  /** Subscribe to events; returns an unsubscribe function. */
  events(listener: MediaEventListener): () => void;
  setMicEnabled(enabled: boolean): void;
  setCameraEnabled(enabled: boolean): void;
  /** A newer grant for the same room (token refresh): used at the next (re)connect, never mid-call. */
  updateGrant(grant: MediaGrant): void;
  /** Swap the published camera/microphone (device change) without leaving the room. */
  replaceLocalTracks(localTracks: LocalTracks): Promise<void>;
  /**
   * Share a screen (a getDisplayMedia video track), or stop with null. Twilio publishes it as a second video track
   * named "screen"; the local mesh sends it in place of the camera and tells each peer it is a screen.
   */
  setScreenTrack(track: MediaTrack | null): Promise<void>;
  /** The media room currently joined (or being joined), or null. */
  currentRoom(): string | null;
}

/** Tiny typed emitter shared by the providers. */
export class Emitter {
  private readonly listeners = new Set<MediaEventListener>();
  on(listener: MediaEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(e: MediaEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        console.error("media event listener failed", err);
      }
    }
  }
}

/** Camera capture the project asks for: 720p ideal, 24 fps ideal, never above 30. */
export const VIDEO_CONSTRAINTS = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 24, max: 30 },
} as const;

export const AUDIO_CONSTRAINTS = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
} as const;
