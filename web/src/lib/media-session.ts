/**
 * Media for one member in one browser tab: local camera/microphone, the provider for the current grant (Twilio or
 * the local mesh), and the remote participants as Solid state. Follows the member's placement: a new media room
 * means leave the old one and join the new one (no reload); a fresh token for the same room is only remembered.
 */
import { batch, createEffect, createSignal, on, onCleanup, untrack, type Accessor } from "solid-js";
import { createStore, produce } from "solid-js/store";
import type { MediaGrant } from "../../../lib/protocol";
import { acquireMedia, stopTracks, type DeviceChoice } from "../media/devices";
import { LocalMeshProvider } from "../media/local";
import { pickRenderedVideos } from "../media/mesh";
import type { LocalTracks, MediaEvent, MediaProviderClient, RemoteTrack } from "../media/provider";
import { MAX_RENDERED_VIDEO_TRACKS, TwilioProvider } from "../media/twilio";
import { api } from "./api";
import { debugLog } from "./debug";
import type { SessionClient } from "./session-client";
import { storage } from "./storage";

const log = debugLog("media");

export interface Tile {
  /** Provider participant id: member id (local mode) or Twilio identity. */
  id: string;
  video: RemoteTrack | null;
  audio: RemoteTrack | null;
  /** Twilio: their shared screen, a track of its own. */
  screen: RemoteTrack | null;
  /** Local mesh: their video carries their screen now. */
  sharing: boolean;
  videoEnabled: boolean;
  audioEnabled: boolean;
  quality: number | null;
  joinedAt: number;
}

export type MediaStatus = "idle" | "starting" | "connecting" | "connected" | "reconnecting" | "failed";

export interface MediaSession {
  local: Accessor<LocalTracks>;
  problems: Accessor<{ audio: string | null; video: string | null }>;
  micOn: Accessor<boolean>;
  camOn: Accessor<boolean>;
  setMic: (on: boolean) => void;
  setCam: (on: boolean) => void;
  status: Accessor<MediaStatus>;
  error: Accessor<string | null>;
  room: Accessor<string | null>;
  tiles: () => Tile[];
  dominantSpeaker: Accessor<string | null>;
  localQuality: Accessor<number | null>;
  /**
   * Remote ids whose video is attached, among `candidates` (those on screen; default: everyone), in that order of
   * preference after the speakers. Twilio mode attaches at most MAX_RENDERED_VIDEO_TRACKS.
   */
  rendered: (candidates?: readonly string[]) => Set<string>;
  /** My shared screen, or null. */
  screen: Accessor<MediaStreamTrack | null>;
  /** Why this browser cannot share a screen, or null when it can. */
  shareUnavailable: string | null;
  /** Ask the browser for a screen (its own picker) and share it; resolves false when the person cancelled. */
  startShare: () => Promise<boolean>;
  stopShare: () => void;
  retry: () => void;
  /** Leave media for good (session over, removed): disconnect and turn the camera and microphone off. */
  stop: () => void;
  changeDevice: (kind: "audio" | "video", deviceId: string) => Promise<void>;
}

export function createMediaSession(
  client: SessionClient,
  opts: { ticket: string; choice: DeviceChoice; micOn?: boolean; camOn?: boolean; rosterIds: () => string[] },
): MediaSession {
  const [local, setLocal] = createSignal<LocalTracks>({ audio: null, video: null });
  const [problems, setProblems] = createSignal<{ audio: string | null; video: string | null }>({ audio: null, video: null });
  const [micOn, setMicOn] = createSignal(opts.micOn ?? true);
  const [camOn, setCamOn] = createSignal(opts.camOn ?? true);
  const [status, setStatus] = createSignal<MediaStatus>("starting");
  const [error, setError] = createSignal<string | null>(null);
  const [room, setRoom] = createSignal<string | null>(null);
  const [store, setStore] = createStore<{ tiles: Tile[] }>({ tiles: [] });
  const [dominant, setDominant] = createSignal<string | null>(null);
  const [localQuality, setLocalQuality] = createSignal<number | null>(null);
  const [lastSpoke, setLastSpoke] = createSignal(new Map<string, number>());
  const [screen, setScreen] = createSignal<MediaStreamTrack | null>(null);

  let twilio: TwilioProvider | null = null;
  let mesh: LocalMeshProvider | null = null;
  let active: MediaProviderClient | null = null;
  let queue: Promise<void> = Promise.resolve();
  let disposed = false;
  const offs: (() => void)[] = [];

  const ready = acquireMedia(opts.choice).then((m) => {
    if (disposed) {
      stopTracks(m.tracks);
      return;
    }
    if (m.tracks.audio) m.tracks.audio.enabled = micOn();
    if (m.tracks.video) m.tracks.video.enabled = camOn();
    setLocal(m.tracks);
    setProblems({ audio: m.audioProblem, video: m.videoProblem });
  });

  function tileIndex(id: string) {
    return store.tiles.findIndex((t) => t.id === id);
  }
  function ensureTile(id: string) {
    if (tileIndex(id) >= 0) return;
    setStore("tiles", (l) => [
      ...l,
      { id, video: null, audio: null, screen: null, sharing: false, videoEnabled: true, audioEnabled: true, quality: null, joinedAt: Date.now() },
    ]);
  }
  function patchTile(id: string, patch: Partial<Tile>) {
    ensureTile(id);
    setStore(
      "tiles",
      (t) => t.id === id,
      produce((t) => Object.assign(t, patch)),
    );
  }

  function onEvent(from: MediaProviderClient, e: MediaEvent) {
    if (from !== active) return;
    switch (e.type) {
      case "connected":
        setStore("tiles", []);
        setDominant(null);
        setRoom(e.room);
        setStatus("connected");
        setError(null);
        if (from.kind === "local") client.send({ type: "arrived", mediaRoom: e.room });
        break;
      case "participantJoined":
        ensureTile(e.participantId);
        break;
      case "participantLeft":
        setStore("tiles", (l) => l.filter((t) => t.id !== e.participantId));
        if (dominant() === e.participantId) setDominant(null);
        break;
      case "trackSubscribed":
        patchTile(e.participantId, e.track.kind === "audio" ? { audio: e.track } : e.track.source === "screen" ? { screen: e.track } : { video: e.track });
        break;
      case "trackUnsubscribed": {
        const t = store.tiles.find((x) => x.id === e.participantId);
        if (t && e.track.kind === "video" && t.video?.id === e.track.id) patchTile(e.participantId, { video: null });
        if (t && e.track.kind === "video" && t.screen?.id === e.track.id) patchTile(e.participantId, { screen: null });
        if (t && e.track.kind === "audio" && t.audio?.id === e.track.id) patchTile(e.participantId, { audio: null });
        break;
      }
      case "screenShare":
        if (tileIndex(e.participantId) >= 0 || e.sharing) patchTile(e.participantId, { sharing: e.sharing });
        break;
      case "trackEnabled":
        if (tileIndex(e.participantId) >= 0 || e.enabled === false)
          patchTile(e.participantId, e.kind === "video" ? { videoEnabled: e.enabled } : { audioEnabled: e.enabled });
        break;
      case "dominantSpeaker":
        setDominant(e.participantId);
        if (e.participantId) setLastSpoke((m) => new Map(m).set(e.participantId as string, Date.now()));
        break;
      case "networkQuality":
        if (e.local) {
          setLocalQuality(e.level);
          sendQuality(false);
        } else if (tileIndex(e.participantId) >= 0) patchTile(e.participantId, { quality: e.level });
        break;
      case "reconnecting":
        setStatus("reconnecting");
        break;
      case "reconnected":
        setStatus("connected");
        break;
      case "disconnected":
        log("media disconnected", e.reason, e.code);
        setStore("tiles", []);
        setDominant(null);
        if (e.reason === "local") {
          setStatus("idle");
        } else if (e.reason === "roomCompleted") {
          // The room was closed on purpose (a move, or rooms closing); the next placement says where to go.
          setStatus("idle");
          setRoom(null);
        } else if (e.reason === "duplicateIdentity") {
          setStatus("failed");
          setRoom(null);
          setError("You joined from another tab or device, so video here was turned off.");
        } else {
          setStatus("failed");
          setRoom(null);
          setError("Video disconnected. Check your connection, then try again.");
        }
        break;
    }
  }

  function providerFor(kind: MediaGrant["provider"]): MediaProviderClient {
    if (kind === "twilio") {
      if (!twilio) {
        const t = new TwilioProvider({
          freshGrant: async (cur) => {
            const p = client.placement()?.media;
            if (p && p.room === cur.room && p.token && p.token !== cur.token && (p.expiresAt ?? 0) > client.now() + 60_000) return p;
            try {
              return await api.mediaToken(client.sessionId, opts.ticket);
            } catch {
              return p ?? null;
            }
          },
        });
        offs.push(t.events((e) => onEvent(t, e)));
        twilio = t;
      }
      return twilio;
    }
    if (!mesh) {
      const m = new LocalMeshProvider({
        selfId: () => client.me()?.memberId ?? null,
        sendSignal: (to, data) => client.send({ type: "signal", to, data }),
        onSignal: (fn) => client.onSignal(fn),
      });
      offs.push(m.events((e) => onEvent(m, e)));
      m.setRoster(untrack(opts.rosterIds));
      mesh = m;
    }
    return mesh;
  }

  let stopped = false;

  async function apply(grant: MediaGrant | null) {
    await ready;
    if (disposed) return;
    if (stopped) grant = null;
    if (!grant) {
      if (active) {
        const was = active;
        await was.disconnect();
        if (was.kind === "local") client.send({ type: "arrived", mediaRoom: null });
      }
      active = null;
      setRoom(null);
      setStatus("idle");
      return;
    }
    const provider = providerFor(grant.provider);
    if (active && active !== provider) await active.disconnect();
    if (active === provider && provider.currentRoom() === grant.room && status() !== "failed" && status() !== "idle") {
      provider.updateGrant(grant);
      return;
    }
    const sharing = screen();
    if (sharing && active !== provider) await provider.setScreenTrack(sharing).catch((e) => log("screen not handed over", e));
    active = provider;
    setStatus("connecting");
    setError(null);
    setStore("tiles", []);
    try {
      provider.setMicEnabled(micOn());
      provider.setCameraEnabled(camOn());
      // A shared screen is kept by the provider across rooms: it goes into the new room too. The synchronous part
      // of connecting (leaving the old room's connections) is batched like setRoster.
      await batch(() => provider.connect(grant, local()));
    } catch (e) {
      log("connect failed", e);
      if (active === provider) {
        setStatus("failed");
        setError("Could not connect to video. Try again in a moment.");
      }
    }
  }

  function schedule(grant: MediaGrant | null) {
    queue = queue.then(() => apply(grant)).catch((e) => log("media apply failed", e));
  }

  createEffect(
    on(
      () => client.placement()?.media ?? null,
      (grant) => schedule(grant),
    ),
  );

  // Local mode: keep the mesh's roster in step with the session state. Batched: closing the connections of a room
  // left behind emits several events per person, and the stage should lay out once, not once per event.
  createEffect(() => {
    const ids = opts.rosterIds();
    batch(() => mesh?.setRoster(ids));
  });

  // Re-announce arrival after the session socket reconnects (the server may have missed it).
  offs.push(
    client.onOpen((reconnect) => {
      if (reconnect && active?.kind === "local" && status() === "connected") client.send({ type: "arrived", mediaRoom: room() });
    }),
  );

  // Quality samples to the server: the first as soon as there is one, then about every 10 s (Twilio reports a level
  // only when it changes, so the latest one is repeated).
  let lastQualitySent = 0;
  function sendQuality(periodic: boolean) {
    const q = localQuality();
    if (q === null || status() !== "connected") return;
    if (!periodic && Date.now() - lastQualitySent < 9_000) return;
    if (client.send({ type: "quality", level: Math.max(0, Math.min(5, Math.round(q))) })) lastQualitySent = Date.now();
  }
  const qualityTimer = setInterval(() => sendQuality(Date.now() - lastQualitySent >= 9_000), 10_000);

  onCleanup(() => {
    disposed = true;
    clearInterval(qualityTimer);
    for (const off of offs) off();
    void twilio?.disconnect();
    void mesh?.disconnect();
    stopTracks(local());
    screen()?.stop();
  });

  const shareUnavailable =
    typeof navigator !== "undefined" && typeof navigator.mediaDevices?.getDisplayMedia === "function"
      ? null
      : "This browser cannot share its screen (phones and tablets usually cannot).";
  function stopShare() {
    const t = screen();
    if (!t) return;
    setScreen(null);
    t.stop();
    for (const p of [twilio, mesh]) void p?.setScreenTrack(null).catch((e) => log("stop sharing failed", e));
  }
  async function startShare(): Promise<boolean> {
    if (shareUnavailable || screen()) return false;
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    } catch (e) {
      log("screen share not started", e);
      return false;
    }
    const track = stream.getVideoTracks()[0];
    if (!track) return false;
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener("ended", () => {
      if (screen() === track) stopShare();
    });
    setScreen(track);
    try {
      // Given to the provider now in use; a provider joined later gets it when it connects (see apply).
      await (active ?? twilio ?? mesh)?.setScreenTrack(track);
    } catch (e) {
      log("sharing failed", e);
      stopShare();
      return false;
    }
    return true;
  }

  const setMic = (v: boolean) => {
    setMicOn(v);
    const l = local();
    if (l.audio) l.audio.enabled = v;
    active?.setMicEnabled(v);
    storage.updateSession(client.sessionId, { micOn: v });
  };
  const setCam = (v: boolean) => {
    setCamOn(v);
    const l = local();
    if (l.video) l.video.enabled = v;
    active?.setCameraEnabled(v);
    storage.updateSession(client.sessionId, { camOn: v });
  };

  return {
    local,
    problems,
    micOn,
    camOn,
    setMic,
    setCam,
    status,
    error,
    room,
    tiles: () => store.tiles,
    dominantSpeaker: dominant,
    localQuality,
    rendered: (candidates) => {
      const ids = candidates ? [...candidates] : store.tiles.map((t) => t.id);
      const limit = active?.kind === "twilio" ? MAX_RENDERED_VIDEO_TRACKS : Number.POSITIVE_INFINITY;
      return pickRenderedVideos(ids, limit, dominant(), lastSpoke());
    },
    screen,
    shareUnavailable,
    startShare,
    stopShare,
    retry: () => schedule(client.placement()?.media ?? null),
    stop: () => {
      if (stopped) return;
      stopped = true;
      schedule(null);
      queue = queue.then(() => {
        stopTracks(local());
        setLocal({ audio: null, video: null });
      });
    },
    changeDevice: async (kind, deviceId) => {
      const m = await acquireMedia(kind === "audio" ? { audioDeviceId: deviceId } : { videoDeviceId: deviceId }, {
        audio: kind === "audio",
        video: kind === "video",
      });
      const track = m.tracks[kind];
      if (!track) {
        setProblems((p) => ({ ...p, [kind]: kind === "audio" ? m.audioProblem : m.videoProblem }));
        return;
      }
      const old = local();
      const next = { ...old, [kind]: track };
      track.enabled = kind === "audio" ? micOn() : camOn();
      setLocal(next);
      await active?.replaceLocalTracks(next);
      old[kind]?.stop();
      storage.updateSession(client.sessionId, kind === "audio" ? { audioDeviceId: deviceId } : { videoDeviceId: deviceId });
    },
  };
}
