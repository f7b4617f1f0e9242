/**
 * Twilio Video media provider. The option builder and the Room event mapper are pure and exported so they are
 * unit-tested on Node with a fake Room (test/unit/web-twilio-provider.test.ts); the SDK itself is loaded lazily,
 * only when a Twilio grant is actually used (local media mode never downloads it).
 *
 * Facts (docs in /work/shared/TWILIO.md):
 * - bandwidthProfile.video.maxTracks / renderDimensions are deprecated since 2.14; the rendered-track limit is
 *   clientTrackSwitchOffControl "auto" (tracks not attached to a visible element are switched off) plus the app
 *   attaching at most MAX_RENDERED_VIDEO_TRACKS remote videos; contentPreferencesMode "auto" sizes by element.
 * - A token cannot be swapped mid-call: a fresher grant is kept and used at the next (re)connect: on a room move,
 *   on 20104 (token expired) and when the SDK gives up reconnecting.
 * - 53118 room completed is expected when someone is moved or the room closes; 53205 means another tab took over.
 */
import type { ConnectOptions } from "twilio-video";
import type { MediaGrant } from "../../../lib/protocol";
import { debugLog } from "../lib/debug";
import {
  Emitter,
  VIDEO_CONSTRAINTS,
  type DisconnectReason,
  type LocalTracks,
  type MediaEvent,
  type MediaEventListener,
  type MediaProviderClient,
  type RemoteTrack,
} from "./provider";

const log = debugLog("twilio");

/** How many remote videos the grid attaches at once in Twilio mode (others are switched off by the SDK). */
export const MAX_RENDERED_VIDEO_TRACKS = 9;

export const TWILIO_ERROR = {
  ROOM_COMPLETED: 53118,
  TOKEN_EXPIRED: 20104,
  DUPLICATE_IDENTITY: 53205,
  SIGNALING_DISCONNECTED: 53001,
  SIGNALING_ERROR: 53002,
  MEDIA_CONNECTION_FAILED: 53405,
} as const;

/** The connect options for a grant: the project's Twilio configuration in one place. */
export function buildTwilioConnectOptions(grant: MediaGrant, localTracks: LocalTracks): ConnectOptions {
  const tracks = [localTracks.audio, localTracks.video].filter((t) => t !== null);
  return {
    name: grant.room,
    tracks: tracks as unknown as ConnectOptions["tracks"],
    bandwidthProfile: {
      video: {
        mode: "collaboration",
        dominantSpeakerPriority: "standard",
        clientTrackSwitchOffControl: "auto",
        contentPreferencesMode: "auto",
      },
    },
    dominantSpeaker: true,
    maxAudioBitrate: 16000,
    preferredVideoCodecs: ["VP8", "H264"],
    networkQuality: { local: 1, remote: 2 },
  };
}

/** Local capture to create tracks with (same numbers the local provider uses). */
export const TWILIO_VIDEO_CAPTURE = VIDEO_CONSTRAINTS;

export function classifyDisconnect(code: number | null | undefined): DisconnectReason {
  if (code === null || code === undefined) return "local";
  switch (code) {
    case TWILIO_ERROR.ROOM_COMPLETED:
      return "roomCompleted";
    case TWILIO_ERROR.TOKEN_EXPIRED:
      return "tokenExpired";
    case TWILIO_ERROR.DUPLICATE_IDENTITY:
      return "duplicateIdentity";
    case TWILIO_ERROR.SIGNALING_DISCONNECTED:
    case TWILIO_ERROR.SIGNALING_ERROR:
    case TWILIO_ERROR.MEDIA_CONNECTION_FAILED:
      return "reconnectFailed";
    default:
      return "error";
  }
}

/** What the provider does after a disconnect it did not ask for. */
export function disconnectAction(reason: DisconnectReason): "reconnect" | "report" {
  return reason === "tokenExpired" || reason === "reconnectFailed" ? "reconnect" : "report";
}

// ---- The Room surface the mapper uses (structurally what twilio-video's Room, participants and tracks offer) ----

type Listener = (...args: any[]) => void;
export interface EmitterLike {
  on(event: string, listener: Listener): unknown;
  removeListener(event: string, listener: Listener): unknown;
}
export interface TwilioTrackLike {
  kind: string;
  sid?: string;
  name?: string;
  mediaStreamTrack?: { id: string; kind: string; enabled: boolean; stop(): void };
  isEnabled?: boolean;
  attach?(el: object): unknown;
  detach?(el?: object): unknown;
  enable?(enabled?: boolean): unknown;
  disable?(): unknown;
}
export interface TwilioPublicationLike {
  kind: string;
  trackSid?: string;
  trackName?: string;
  track: TwilioTrackLike | null;
  isTrackEnabled?: boolean;
}
export interface TwilioParticipantLike extends EmitterLike {
  identity: string;
  sid?: string;
  networkQualityLevel: number | null;
  tracks: Map<string, TwilioPublicationLike>;
}
export interface TwilioLocalParticipantLike extends TwilioParticipantLike {
  audioTracks?: Map<string, TwilioPublicationLike>;
  videoTracks?: Map<string, TwilioPublicationLike>;
  publishTrack?(track: unknown, options?: { name?: string; priority?: string }): Promise<unknown>;
  unpublishTrack?(track: unknown): unknown;
}
export interface TwilioRoomLike extends EmitterLike {
  name: string;
  sid?: string;
  state?: string;
  localParticipant: TwilioLocalParticipantLike;
  participants: Map<string, TwilioParticipantLike>;
  dominantSpeaker: TwilioParticipantLike | null;
  disconnect(): unknown;
}
export type TwilioConnectFn = (token: string, options: ConnectOptions) => Promise<TwilioRoomLike>;

/** The name a shared screen is published under. */
export const SCREEN_TRACK_NAME = "screen";
/**
 * Names of my published tracks. The session's Track Subscriptions turn off a blocked member's camera and share by
 * these names (durable-objects/logic/subscriptions.ts: track "camera", track "screen"; the microphone by kind), so
 * the camera must not keep Twilio's default name (the track id).
 */
export const TRACK_NAMES = { audio: "microphone", video: "camera", screen: SCREEN_TRACK_NAME } as const;

export const isScreenTrackName = (name: string | undefined) => name === SCREEN_TRACK_NAME;

function wrapTrack(t: TwilioTrackLike): RemoteTrack | null {
  if ((t.kind !== "audio" && t.kind !== "video") || !t.mediaStreamTrack) return null;
  return {
    kind: t.kind,
    id: t.sid ?? t.mediaStreamTrack.id,
    source: t.kind === "video" && isScreenTrackName(t.name) ? "screen" : "camera",
    mediaTrack: t.mediaStreamTrack,
    attach: (el) => void t.attach?.(el),
    detach: (el) => void t.detach?.(el),
  };
}

/**
 * Map a Room's events to MediaEvents. Emits the participants (and already-subscribed tracks) present at bind time
 * first. Returns a function that removes every listener it added.
 */
export function bindTwilioRoom(room: TwilioRoomLike, emit: (e: MediaEvent) => void): () => void {
  const offs: (() => void)[] = [];
  const on = (target: EmitterLike, event: string, fn: Listener) => {
    target.on(event, fn);
    offs.push(() => target.removeListener(event, fn));
  };
  const participantOffs = new Map<string, () => void>();

  const watchParticipant = (p: TwilioParticipantLike, local: boolean) => {
    const fn = (level: number) => emit({ type: "networkQuality", participantId: p.identity, level, local });
    p.on("networkQualityLevelChanged", fn);
    participantOffs.set(p.identity, () => p.removeListener("networkQualityLevelChanged", fn));
    if (p.networkQualityLevel !== null && p.networkQualityLevel !== undefined)
      emit({ type: "networkQuality", participantId: p.identity, level: p.networkQualityLevel, local });
  };
  const unwatch = (p: TwilioParticipantLike) => {
    participantOffs.get(p.identity)?.();
    participantOffs.delete(p.identity);
  };

  const joined = (p: TwilioParticipantLike) => {
    emit({ type: "participantJoined", participantId: p.identity });
    watchParticipant(p, false);
  };

  on(room, "participantConnected", (p: TwilioParticipantLike) => joined(p));
  on(room, "participantDisconnected", (p: TwilioParticipantLike) => {
    unwatch(p);
    emit({ type: "participantLeft", participantId: p.identity });
  });
  on(room, "trackSubscribed", (track: TwilioTrackLike, _pub: TwilioPublicationLike, p: TwilioParticipantLike) => {
    const t = wrapTrack(track);
    if (t) emit({ type: "trackSubscribed", participantId: p.identity, track: t });
  });
  on(room, "trackUnsubscribed", (track: TwilioTrackLike, _pub: TwilioPublicationLike, p: TwilioParticipantLike) => {
    const t = wrapTrack(track);
    if (t) emit({ type: "trackUnsubscribed", participantId: p.identity, track: t });
  });
  const enabled = (value: boolean) => (pub: TwilioPublicationLike, p: TwilioParticipantLike) => {
    // A shared screen is on or off by being published; its enabled state says nothing about the camera.
    if (isScreenTrackName(pub.trackName)) return;
    if (pub.kind === "audio" || pub.kind === "video") emit({ type: "trackEnabled", participantId: p.identity, kind: pub.kind, enabled: value });
  };
  on(room, "trackEnabled", enabled(true));
  on(room, "trackDisabled", enabled(false));
  on(room, "dominantSpeakerChanged", (p: TwilioParticipantLike | null) => emit({ type: "dominantSpeaker", participantId: p ? p.identity : null }));
  on(room, "reconnecting", () => emit({ type: "reconnecting" }));
  on(room, "reconnected", () => emit({ type: "reconnected" }));
  on(room, "disconnected", (_room: unknown, error?: { code?: number; message?: string } | null) => {
    const code = typeof error?.code === "number" ? error.code : null;
    emit({ type: "disconnected", code, reason: classifyDisconnect(code), message: error?.message });
  });

  // Who is already here.
  watchParticipant(room.localParticipant, true);
  for (const p of room.participants.values()) {
    joined(p);
    for (const pub of p.tracks.values()) {
      const t = pub.track ? wrapTrack(pub.track) : null;
      if (t) emit({ type: "trackSubscribed", participantId: p.identity, track: t });
      if (pub.track && pub.isTrackEnabled === false && !isScreenTrackName(pub.trackName) && (pub.kind === "audio" || pub.kind === "video"))
        emit({ type: "trackEnabled", participantId: p.identity, kind: pub.kind, enabled: false });
    }
  }
  if (room.dominantSpeaker) emit({ type: "dominantSpeaker", participantId: room.dominantSpeaker.identity });

  return () => {
    for (const off of offs) off();
    for (const off of participantOffs.values()) off();
    participantOffs.clear();
  };
}

export interface TwilioProviderOptions {
  /** twilio-video's connect (injected in tests); loaded lazily from the SDK by default. */
  connect?: TwilioConnectFn;
  /** The freshest grant for the current room (e.g. POST /media-token); used when reconnecting after 20104 / failure. */
  freshGrant?: (current: MediaGrant) => Promise<MediaGrant | null>;
  /** Attempts to reconnect after an unrequested disconnect before reporting it. */
  maxReconnectAttempts?: number;
  /** Delay before reconnect attempt n (1-based), ms. */
  backoffMs?: (attempt: number) => number;
}

async function sdkConnect(token: string, options: ConnectOptions): Promise<TwilioRoomLike> {
  const Video = await import("twilio-video");
  // Raw MediaStreamTracks would be published under their ids; wrap them so they carry TRACK_NAMES.
  const RawTrack = (globalThis as { MediaStreamTrack?: abstract new () => { kind: string } }).MediaStreamTrack;
  const tracks = (options.tracks ?? []).map((t) => {
    if (!RawTrack || !(t instanceof RawTrack)) return t;
    const raw = t as ConstructorParameters<typeof Video.LocalAudioTrack>[0];
    return raw.kind === "audio" ? new Video.LocalAudioTrack(raw, { name: TRACK_NAMES.audio }) : new Video.LocalVideoTrack(raw, { name: TRACK_NAMES.video });
  });
  return (await Video.connect(token, { ...options, tracks })) as unknown as TwilioRoomLike;
}

export class TwilioProvider implements MediaProviderClient {
  readonly kind = "twilio" as const;
  private readonly emitter = new Emitter();
  private room: TwilioRoomLike | null = null;
  private unbind: (() => void) | null = null;
  private grant: MediaGrant | null = null;
  private local: LocalTracks = { audio: null, video: null };
  /** Bumped by every connect/disconnect the app asks for; a reconnect loop from an older generation stops. */
  private generation = 0;
  private micOn = true;
  private camOn = true;
  private screen: unknown = null;

  constructor(private readonly opts: TwilioProviderOptions = {}) {}

  events(listener: MediaEventListener): () => void {
    return this.emitter.on(listener);
  }

  currentRoom(): string | null {
    return this.grant?.room ?? null;
  }

  updateGrant(grant: MediaGrant): void {
    if (this.grant && grant.room === this.grant.room) this.grant = grant;
  }

  async connect(grant: MediaGrant, localTracks: LocalTracks): Promise<void> {
    const gen = ++this.generation;
    this.closeRoom();
    this.grant = grant;
    this.local = localTracks;
    await this.open(gen);
  }

  async disconnect(): Promise<void> {
    ++this.generation;
    const had = this.room !== null;
    this.closeRoom();
    this.grant = null;
    if (had) this.emitter.emit({ type: "disconnected", code: null, reason: "local" });
  }

  setMicEnabled(enabled: boolean): void {
    this.micOn = enabled;
    if (this.local.audio) this.local.audio.enabled = enabled;
    this.setPublished("audio", enabled);
  }

  setCameraEnabled(enabled: boolean): void {
    this.camOn = enabled;
    if (this.local.video) this.local.video.enabled = enabled;
    this.setPublished("video", enabled);
  }

  async replaceLocalTracks(localTracks: LocalTracks): Promise<void> {
    const lp = this.room?.localParticipant;
    const old = this.local;
    this.local = localTracks;
    if (!lp) return;
    for (const kind of ["audio", "video"] as const) {
      if (old[kind] === localTracks[kind]) continue;
      if (old[kind]) lp.unpublishTrack?.(old[kind]);
      if (localTracks[kind]) await lp.publishTrack?.(localTracks[kind], { name: TRACK_NAMES[kind] });
    }
    this.setMicEnabled(this.micOn);
    this.setCameraEnabled(this.camOn);
  }

  /** A shared screen is a second published video track named "screen", at high priority (it takes the large tile). */
  async setScreenTrack(track: unknown): Promise<void> {
    const lp = this.room?.localParticipant;
    const old = this.screen;
    this.screen = track;
    if (!lp) return;
    if (old) lp.unpublishTrack?.(old);
    if (track) await lp.publishTrack?.(track, { name: SCREEN_TRACK_NAME, priority: "high" });
  }

  private setPublished(kind: "audio" | "video", enabled: boolean) {
    const pubs = kind === "audio" ? this.room?.localParticipant.audioTracks : this.room?.localParticipant.videoTracks;
    for (const pub of pubs?.values() ?? []) {
      if (!pub.track || isScreenTrackName(pub.trackName)) continue;
      if (enabled) pub.track.enable?.();
      else pub.track.disable?.();
    }
  }

  private closeRoom() {
    this.unbind?.();
    this.unbind = null;
    const room = this.room;
    this.room = null;
    if (room) {
      try {
        room.disconnect();
      } catch (e) {
        log("disconnect threw", e);
      }
    }
  }

  private async open(gen: number): Promise<void> {
    const grant = this.grant;
    if (!grant) throw new Error("no media grant");
    if (!grant.token) throw new Error("this grant has no Twilio token");
    const connectFn = this.opts.connect ?? sdkConnect;
    log("connecting", grant.room);
    const room = await connectFn(grant.token, buildTwilioConnectOptions(grant, this.local));
    if (gen !== this.generation) {
      // The app moved on (another room, or left) while we were connecting.
      room.disconnect();
      return;
    }
    this.room = room;
    this.emitter.emit({ type: "connected", room: grant.room, localId: room.localParticipant.identity });
    this.unbind = bindTwilioRoom(room, (e) => this.onRoomEvent(gen, e));
    this.setPublished("audio", this.micOn);
    this.setPublished("video", this.camOn);
    // A share survives a move to another room: publish it in the new one too.
    if (this.screen) await room.localParticipant.publishTrack?.(this.screen, { name: SCREEN_TRACK_NAME, priority: "high" });
  }

  private onRoomEvent(gen: number, e: MediaEvent) {
    if (gen !== this.generation) return;
    if (e.type !== "disconnected") return this.emitter.emit(e);
    this.unbind?.();
    this.unbind = null;
    this.room = null;
    log("disconnected", e.code, e.reason);
    if (disconnectAction(e.reason) === "reconnect") void this.reconnectLoop(gen, e);
    else this.emitter.emit(e);
  }

  private async reconnectLoop(gen: number, cause: Extract<MediaEvent, { type: "disconnected" }>) {
    const max = this.opts.maxReconnectAttempts ?? 3;
    const backoff = this.opts.backoffMs ?? ((n: number) => Math.min(8000, 500 * 2 ** (n - 1)));
    this.emitter.emit({ type: "reconnecting" });
    for (let attempt = 1; attempt <= max; attempt++) {
      if (gen !== this.generation) return;
      if (attempt > 1 || cause.reason === "reconnectFailed") await new Promise((r) => setTimeout(r, backoff(attempt)));
      if (gen !== this.generation) return;
      try {
        if (this.grant && this.opts.freshGrant) {
          const fresh = await this.opts.freshGrant(this.grant);
          if (gen !== this.generation) return;
          if (fresh && fresh.room === this.grant.room) this.grant = fresh;
        }
        await this.open(gen);
        if (gen === this.generation) this.emitter.emit({ type: "reconnected" });
        return;
      } catch (err) {
        log("reconnect attempt failed", attempt, err);
        const code = (err as { code?: number }).code;
        if (typeof code === "number" && classifyDisconnect(code) === "roomCompleted") break;
      }
    }
    if (gen === this.generation) this.emitter.emit(cause);
  }
}
