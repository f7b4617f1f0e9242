/**
 * Media for one member in one browser tab: local camera/microphone, the provider for the current grant (Twilio or
 * the local mesh), and the remote participants as Solid state. Follows the member's placement: a new media room
 * means leave the old one and join the new one (no reload); a fresh token for the same room is only remembered.
 */
import { batch, createEffect, createSignal, on, onCleanup, untrack, type Accessor } from "solid-js";
import { createStore, produce } from "solid-js/store";
import type { MediaBlocks, MediaGrant, MediaState } from "../../../lib/protocol";
import { acquireMedia, stopTracks, type DeviceChoice } from "../media/devices";
import { LocalMeshProvider } from "../media/local";
import { pickRenderedVideos } from "../media/mesh";
import type { LocalTracks, MediaEvent, MediaProviderClient, RemoteTrack } from "../media/provider";
import { MAX_RENDERED_VIDEO_TRACKS, TwilioProvider } from "../media/twilio";
import { api } from "./api";
import { debugLog } from "./debug";
import { type ExplainedMediaError, explainMediaError, reportableMediaCode } from "./media-errors";
import { allowedTracks } from "./moderation";
import { isCommandError } from "./session-core";
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
  /** Staff turned their microphone off: their audio is dropped here, and the tile says so. */
  mutedByStaff: boolean;
}

/** A member's tracks as the provider delivered them, before blocks are applied. */
interface ReceivedTracks {
  audio: RemoteTrack | null;
  video: RemoteTrack | null;
  screen: RemoteTrack | null;
}

const NO_BLOCKS: MediaBlocks = { audio: false, video: false, screen: false };

export type MediaStatus = "idle" | "starting" | "connecting" | "connected" | "reconnecting" | "failed";

export interface MediaSession {
  local: Accessor<LocalTracks>;
  problems: Accessor<{ audio: string | null; video: string | null }>;
  micOn: Accessor<boolean>;
  camOn: Accessor<boolean>;
  setMic: (on: boolean) => void;
  setCam: (on: boolean) => void;
  status: Accessor<MediaStatus>;
  /** Why video failed, in plain words with what to do (media-errors.ts), or null. */
  error: Accessor<ExplainedMediaError | null>;
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
  /** What staff turned off for me (the buttons say why they are off). */
  blocked: Accessor<MediaBlocks>;
  /** The session refused to turn something on (MEDIA_BLOCKED), in plain words; null otherwise. */
  refusal: Accessor<string | null>;
}

export interface MediaSessionOptions {
  ticket: string;
  choice: DeviceChoice;
  micOn?: boolean;
  camOn?: boolean;
  rosterIds: () => string[];
  /** Blocks of the person behind a provider participant id (the session's view); their blocked tracks are dropped. */
  blockedOf?: (participantId: string) => MediaBlocks | null;
  /** My own blocks: a blocked microphone, camera or share is turned off here and stays off. */
  ownBlocked?: () => MediaBlocks | null;
  /** My media as the session last heard it (setMedia); null while not admitted: nothing is reported then. */
  reportedMedia?: () => MediaState | null;
}

export function createMediaSession(client: SessionClient, opts: MediaSessionOptions): MediaSession {
  const [local, setLocal] = createSignal<LocalTracks>({ audio: null, video: null });
  const [problems, setProblems] = createSignal<{ audio: string | null; video: string | null }>({ audio: null, video: null });
  const [micOn, setMicOn] = createSignal(opts.micOn ?? true);
  const [camOn, setCamOn] = createSignal(opts.camOn ?? true);
  const [status, setStatus] = createSignal<MediaStatus>("starting");
  const [error, setError] = createSignal<ExplainedMediaError | null>(null);
  const [room, setRoom] = createSignal<string | null>(null);
  const [store, setStore] = createStore<{ tiles: Tile[] }>({ tiles: [] });
  const [dominant, setDominant] = createSignal<string | null>(null);
  const [localQuality, setLocalQuality] = createSignal<number | null>(null);
  const [lastSpoke, setLastSpoke] = createSignal(new Map<string, number>());
  const [screen, setScreen] = createSignal<MediaStreamTrack | null>(null);
  const [refusal, setRefusal] = createSignal<string | null>(null);
  const received = new Map<string, ReceivedTracks>();
  const blocked = () => opts.ownBlocked?.() ?? NO_BLOCKS;

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
      {
        id,
        video: null,
        audio: null,
        screen: null,
        sharing: false,
        videoEnabled: true,
        audioEnabled: true,
        quality: null,
        joinedAt: Date.now(),
        mutedByStaff: false,
      },
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

  function receivedOf(id: string): ReceivedTracks {
    let r = received.get(id);
    if (!r) received.set(id, (r = { audio: null, video: null, screen: null }));
    return r;
  }
  /** Put a member's received tracks on their tile, minus what staff blocked (the session's word). */
  function syncTracks(id: string) {
    const r = received.get(id) ?? { audio: null, video: null, screen: null };
    const t = store.tiles.find((x) => x.id === id);
    const b = untrack(() => opts.blockedOf?.(id) ?? null);
    const ok = allowedTracks(b, (t?.sharing ?? false) && !r.screen);
    const next = { audio: ok.audio ? r.audio : null, video: ok.video ? r.video : null, screen: ok.screen ? r.screen : null, mutedByStaff: b?.audio ?? false };
    if (!t && !r.audio && !r.video && !r.screen) return;
    if (t && t.audio === next.audio && t.video === next.video && t.screen === next.screen && t.mutedByStaff === next.mutedByStaff) return;
    patchTile(id, next);
  }

  function onEvent(from: MediaProviderClient, e: MediaEvent) {
    if (from !== active) return;
    switch (e.type) {
      case "connected":
        received.clear();
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
        received.delete(e.participantId);
        setStore("tiles", (l) => l.filter((t) => t.id !== e.participantId));
        if (dominant() === e.participantId) setDominant(null);
        break;
      case "trackSubscribed": {
        const r = receivedOf(e.participantId);
        if (e.track.kind === "audio") r.audio = e.track;
        else if (e.track.source === "screen") r.screen = e.track;
        else r.video = e.track;
        syncTracks(e.participantId);
        break;
      }
      case "trackUnsubscribed": {
        const r = received.get(e.participantId);
        if (!r) break;
        if (r.video?.id === e.track.id) r.video = null;
        if (r.screen?.id === e.track.id) r.screen = null;
        if (r.audio?.id === e.track.id) r.audio = null;
        syncTracks(e.participantId);
        break;
      }
      case "screenShare":
        if (tileIndex(e.participantId) >= 0 || e.sharing) {
          patchTile(e.participantId, { sharing: e.sharing });
          syncTracks(e.participantId);
        }
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
        received.clear();
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
          setError(explainMediaError(e.code ?? 53205));
        } else {
          setStatus("failed");
          setRoom(null);
          setError(explainMediaError(e.code ?? "peer_disconnected"));
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
        setError(explainMediaError(e));
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

  // Blocks change (staff muted someone, or allowed it again): drop or restore their tracks here.
  createEffect(
    on(
      () => store.tiles.map((t) => `${t.id}:${JSON.stringify(opts.blockedOf?.(t.id) ?? null)}`).join(","),
      () => {
        for (const t of untrack(() => store.tiles)) syncTracks(t.id);
      },
    ),
  );

  // My own blocks: what staff turned off goes off here too (and the buttons say why).
  createEffect(() => {
    // Read each flag here: the view is a store patched in place, so the object itself stays the same.
    const { audio, video, screen: share } = blocked();
    untrack(() => {
      if (audio && micOn()) setMic(false);
      if (video && camOn()) setCam(false);
      if (share && screen()) stopShare();
      if (!audio && !video && !share) setRefusal(null);
    });
  });

  // Tell the session what my microphone, camera and share are (what others' tiles and the staff's people list show).
  let reporting: string | null = null;
  createEffect(() => {
    const server = opts.reportedMedia?.() ?? null;
    if (!server) return;
    const want: MediaState = { mic: micOn() && local().audio !== null, cam: camOn() && local().video !== null, screen: screen() !== null };
    const key = JSON.stringify(want);
    if (server.mic === want.mic && server.cam === want.cam && server.screen === want.screen) {
      reporting = null;
      return;
    }
    if (reporting === key) return;
    reporting = key;
    client.command({ type: "setMedia", ...want }).catch((e) => {
      reporting = null;
      if (isCommandError(e) && e.code === "MEDIA_BLOCKED") setRefusal("The facilitator has turned this off for you. They can allow it again.");
      else log("setMedia not applied", e);
    });
  });

  // Re-announce arrival after the session socket reconnects (the server may have missed it).
  offs.push(
    client.onOpen((reconnect) => {
      if (reconnect && active?.kind === "local" && status() === "connected") client.send({ type: "arrived", mediaRoom: room() });
    }),
  );

  // What keeps video from connecting, for staff ("stuck connecting" beside the member): the failure's code while it
  // lasts, null once connected. A report the socket could not take goes out when it is back.
  let reportedProblem: string | null = null;
  let wantedProblem: string | null = null;
  function reportProblem() {
    if (wantedProblem !== reportedProblem && client.send({ type: "mediaProblem", code: wantedProblem })) reportedProblem = wantedProblem;
  }
  createEffect(() => {
    const err = error();
    if (status() === "connected") wantedProblem = null;
    else if (err) wantedProblem = reportableMediaCode(err.code);
    else return;
    reportProblem();
  });
  offs.push(client.onOpen(() => reportProblem()));

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
    if (blocked().screen) {
      setRefusal("The facilitator stopped screen sharing for you.");
      return false;
    }
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

  function setMic(v: boolean): void {
    if (v && blocked().audio) return void setRefusal("The facilitator muted you. You can unmute when they allow it.");
    setMicOn(v);
    const l = local();
    if (l.audio) l.audio.enabled = v;
    active?.setMicEnabled(v);
    storage.updateSession(client.sessionId, { micOn: v });
  }
  function setCam(v: boolean): void {
    if (v && blocked().video) return void setRefusal("The facilitator turned your camera off. You can turn it on when they allow it.");
    setCamOn(v);
    const l = local();
    if (l.video) l.video.enabled = v;
    active?.setCameraEnabled(v);
    storage.updateSession(client.sessionId, { camOn: v });
  }

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
    blocked,
    refusal,
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
