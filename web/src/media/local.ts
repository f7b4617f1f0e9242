/**
 * Local media provider: a peer-to-peer WebRTC mesh between the members of one media room, signalled through the
 * session WebSocket ({type:"signal", to, data}; the server relays only between members of the same media room).
 *
 * - The lower member id makes the offer (no glare). The other side says "hello" when it joins, so an offerer that
 *   is already in the room (re)offers to a newcomer or to a peer that reloaded (new `inst`).
 * - Every offer has its own id (`pc`); answers and candidates for an older offer are ignored.
 * - No STUN/TURN (iceServers: []): host candidates only, enough on one machine or one LAN.
 * - The roster (members who belong in my room, from the session state) decides who to connect to; someone leaving
 *   the roster has their peer closed. A placement change closes every peer and joins the new room's mesh.
 * - Speaking (audioLevel, every second) and quality (RTT + loss, every 10 s) come from getStats.
 */
import type { MediaGrant } from "../../../lib/protocol";
import { debugLog } from "../lib/debug";
import { isOfferer, lossBetween, parseMeshSignal, qualityLevel, type MeshSignal } from "./mesh";
import { Emitter, type LocalTracks, type MediaEventListener, type MediaProviderClient, type MediaTrack, type RemoteTrack } from "./provider";

const log = debugLog("mesh");

const SPEAKING_LEVEL = 0.03;
const QUALITY_EVERY_TICKS = 10;
/** A peer not connected after this long is renegotiated. */
const CONNECT_WATCHDOG_MS = 10_000;
/** Connections that are done are closed this long after (and this far apart): see retire(). */
const RETIRE_AFTER_MS = 2_500;
const RETIRE_GAP_MS = 200;

export interface LocalMeshOptions {
  /** My member id (the signalling address). */
  selfId: () => string | null;
  sendSignal: (to: string, data: Record<string, unknown>) => boolean;
  onSignal: (fn: (from: string, data: Record<string, unknown>) => void) => () => void;
  rtcConfig?: RTCConfiguration;
  tickMs?: number;
}

interface Peer {
  id: string;
  pc: RTCPeerConnection;
  pcId: string;
  offerer: boolean;
  remoteInst: string | null;
  remoteSet: boolean;
  queued: RTCIceCandidateInit[];
  tracks: Map<string, RemoteTrack>;
  announced: boolean;
  watchdog: ReturnType<typeof setTimeout> | null;
  lastLoss: { lost: number; received: number } | null;
  closed: boolean;
  /** Candidates go out one by one only when gathering outlived the wait (otherwise they ride in the SDP). */
  trickle: boolean;
  /** The description this side sent for pcId (offer or answer), to send again instead of starting over. */
  sentSdp: string | null;
  createdAt: number;
}

/** After the first UDP host candidate, wait this long for the others of that burst (they come within a few ms). */
const UDP_GRACE_MS = 25;

const isUdp = (c: RTCIceCandidate) => (c.protocol ?? (/ udp /i.test(c.candidate) ? "udp" : "tcp")) === "udp";

function randomId(): string {
  return crypto.randomUUID().slice(0, 8);
}

function remoteTrack(track: MediaStreamTrack): RemoteTrack {
  return {
    kind: track.kind === "audio" ? "audio" : "video",
    id: track.id,
    mediaTrack: track,
    attach(el) {
      const media = el as HTMLMediaElement;
      media.srcObject = new MediaStream([track]);
      void media.play?.().catch(() => {});
    },
    detach(el) {
      const media = el as HTMLMediaElement;
      const s = media.srcObject as MediaStream | null;
      if (s?.getTracks().includes(track)) media.srcObject = null;
    },
  };
}

export class LocalMeshProvider implements MediaProviderClient {
  readonly kind = "local" as const;
  private readonly emitter = new Emitter();
  private readonly peers = new Map<string, Peer>();
  private roster = new Set<string>();
  private room: string | null = null;
  private inst = randomId();
  private local: LocalTracks = { audio: null, video: null };
  private stream: MediaStream | null = null;
  private micOn = true;
  private camOn = true;
  /** A shared screen, sent in the camera's place while set. */
  private screen: MediaStreamTrack | null = null;
  private offSignal: (() => void) | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private ticks = 0;
  private speaker: string | null = null;
  private quietTicks = 0;

  constructor(private readonly opts: LocalMeshOptions) {}

  events(listener: MediaEventListener): () => void {
    return this.emitter.on(listener);
  }

  currentRoom(): string | null {
    return this.room;
  }

  updateGrant(_grant: MediaGrant): void {
    /* local grants carry no token */
  }

  /** Members who belong in my media room now (from the session state). Call whenever it may have changed. */
  setRoster(ids: readonly string[]): void {
    const self = this.opts.selfId();
    const next = new Set(ids.filter((id) => id !== self));
    const removed = [...this.roster].filter((id) => !next.has(id));
    const added = [...next].filter((id) => !this.roster.has(id));
    this.roster = next;
    for (const id of removed) this.closePeer(id, true);
    if (this.room) for (const id of added) this.reach(id);
  }

  async connect(grant: MediaGrant, localTracks: LocalTracks): Promise<void> {
    this.closeAll(false);
    this.room = grant.room;
    this.inst = randomId();
    this.setLocal(localTracks);
    if (!this.offSignal) this.offSignal = this.opts.onSignal((from, data) => this.onSignal(from, data));
    if (!this.timer) this.timer = setInterval(() => void this.tick(), this.opts.tickMs ?? 1000);
    this.emitter.emit({ type: "connected", room: grant.room, localId: this.opts.selfId() ?? "" });
    log("joined", grant.room, "roster", [...this.roster]);
    for (const id of this.roster) this.reach(id);
  }

  async disconnect(): Promise<void> {
    const had = this.room !== null;
    this.closeAll(true);
    this.room = null;
    this.offSignal?.();
    this.offSignal = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (had) this.emitter.emit({ type: "disconnected", code: null, reason: "local" });
  }

  // Peers hear of a change only (joining a room tells them in hello/offer/answer): a state frame per peer on every
  // room change queued in front of the offers.
  setMicEnabled(enabled: boolean): void {
    const changed = this.micOn !== enabled;
    this.micOn = enabled;
    if (this.local.audio) this.local.audio.enabled = enabled;
    if (changed) this.broadcastState();
  }

  setCameraEnabled(enabled: boolean): void {
    const changed = this.camOn !== enabled;
    this.camOn = enabled;
    if (this.local.video) this.local.video.enabled = enabled;
    if (changed) this.broadcastState();
  }

  async replaceLocalTracks(localTracks: LocalTracks): Promise<void> {
    const old = this.local;
    this.setLocal(localTracks);
    for (const peer of this.peers.values()) {
      if (old.audio !== localTracks.audio) await this.sender(peer.pc, "audio")?.replaceTrack(localTracks.audio as MediaStreamTrack | null);
      // While a screen is shared it keeps the video sender; the new camera takes over when the share stops.
      if (old.video !== localTracks.video && !this.screen) await this.sender(peer.pc, "video")?.replaceTrack(localTracks.video as MediaStreamTrack | null);
    }
    this.setMicEnabled(this.micOn);
    this.setCameraEnabled(this.camOn);
    // A camera that appeared or went away changes what peers are told.
    this.broadcastState();
  }

  async setScreenTrack(track: MediaTrack | null): Promise<void> {
    this.screen = (track as unknown as MediaStreamTrack | null) ?? null;
    const video = this.screen ?? (this.local.video as unknown as MediaStreamTrack | null);
    for (const peer of this.peers.values()) {
      try {
        await this.sender(peer.pc, "video")?.replaceTrack(video);
      } catch (e) {
        log("screen track not sent to", peer.id, e);
      }
    }
    this.broadcastState();
  }

  /** The sender of a kind: every peer connection has one audio and one video transceiver, sending or ready to. */
  private sender(pc: RTCPeerConnection, kind: "audio" | "video"): RTCRtpSender | null {
    return pc.getTransceivers().find((t) => t.receiver.track.kind === kind)?.sender ?? null;
  }

  // ------------------------------------------------------------------------------------------------------------

  private setLocal(t: LocalTracks) {
    this.local = t;
    const tracks = [t.audio, t.video].filter((x): x is NonNullable<typeof x> => x !== null) as unknown as MediaStreamTrack[];
    this.stream = new MediaStream(tracks);
    if (t.audio) t.audio.enabled = this.micOn;
    if (t.video) t.video.enabled = this.camOn;
  }

  private signal(to: string, s: MeshSignal) {
    const ok = this.opts.sendSignal(to, s as unknown as Record<string, unknown>);
    if (!ok) log("signal not sent (socket down)", s.kind, "to", to);
  }

  /** What peers are told about my media: microphone on, camera video sent, screen sent instead of the camera. */
  private mediaState() {
    return { mic: this.micOn, cam: this.camOn && this.local.video !== null, screen: this.screen !== null };
  }

  private broadcastState() {
    if (!this.room) return;
    for (const id of this.peers.keys()) this.signal(id, { kind: "state", room: this.room, ...this.mediaState() });
  }

  /** Start talking to a roster member: offer if I am the offerer, otherwise ask them to offer. */
  private reach(id: string) {
    const self = this.opts.selfId();
    if (!self || !this.room) return;
    if (isOfferer(self, id)) void this.startOffer(id, null);
    else this.signal(id, { kind: "hello", room: this.room, inst: this.inst, ...this.mediaState() });
  }

  private newPeer(id: string, pcId: string, offerer: boolean, remoteInst: string | null): Peer {
    this.closePeer(id, false);
    // One transport for audio and video (max-bundle): half the candidates, one ICE check instead of two.
    const pc = new RTCPeerConnection(this.opts.rtcConfig ?? { iceServers: [], bundlePolicy: "max-bundle" });
    const peer: Peer = {
      id,
      pc,
      pcId,
      offerer,
      remoteInst,
      remoteSet: false,
      queued: [],
      tracks: new Map(),
      announced: false,
      watchdog: null,
      lastLoss: null,
      closed: false,
      trickle: false,
      sentSdp: null,
      createdAt: Date.now(),
    };
    this.peers.set(id, peer);
    pc.onicecandidate = (e) => {
      if (e.candidate && isUdp(e.candidate) && peer.trickle && this.room && !peer.closed)
        this.signal(id, { kind: "candidate", room: this.room, pc: pcId, candidate: e.candidate.toJSON() as Record<string, unknown> });
    };
    pc.ontrack = (e) => {
      if (peer.closed) return;
      if (!peer.announced) {
        peer.announced = true;
        this.emitter.emit({ type: "participantJoined", participantId: id });
      }
      const t = remoteTrack(e.track);
      peer.tracks.set(e.track.id, t);
      this.emitter.emit({ type: "trackSubscribed", participantId: id, track: t });
    };
    pc.onconnectionstatechange = () => {
      log("peer", id, pc.connectionState);
      if (peer.closed) return;
      if (pc.connectionState === "connected") {
        if (peer.watchdog) clearTimeout(peer.watchdog);
        peer.watchdog = null;
        if (!peer.announced) {
          peer.announced = true;
          this.emitter.emit({ type: "participantJoined", participantId: id });
        }
      } else if (pc.connectionState === "failed") {
        this.renegotiateLater(peer, 1500);
      }
    };
    this.renegotiateLater(peer, CONNECT_WATCHDOG_MS);
    return peer;
  }

  /** If this peer is not connected by then, try again (offerer: new offer; answerer: ask for one). */
  private renegotiateLater(peer: Peer, ms: number) {
    if (peer.watchdog) clearTimeout(peer.watchdog);
    peer.watchdog = setTimeout(() => {
      peer.watchdog = null;
      if (peer.closed || this.peers.get(peer.id) !== peer || !this.room) return;
      if (peer.pc.connectionState === "connected") return;
      log("renegotiating with", peer.id, peer.pc.connectionState);
      const self = this.opts.selfId();
      if (self && isOfferer(self, peer.id)) void this.startOffer(peer.id, peer.remoteInst);
      else this.signal(peer.id, { kind: "hello", room: this.room, inst: this.inst, ...this.mediaState() });
    }, ms);
  }

  /**
   * My tracks on a new connection. A missing camera or microphone still gets a sending transceiver (with no track), so
   * a screen shared later can take the video sender with replaceTrack, without renegotiating.
   */
  private addLocalTracks(pc: RTCPeerConnection) {
    const stream = this.stream ?? new MediaStream();
    for (const kind of ["audio", "video"] as const) {
      const local = (kind === "video" ? (this.screen ?? this.local.video) : this.local.audio) as unknown as MediaStreamTrack | null;
      if (local && local.readyState !== "ended") {
        pc.addTrack(local, stream);
        continue;
      }
      const existing = pc.getTransceivers().find((x) => x.receiver.track.kind === kind);
      if (existing) existing.direction = "sendrecv";
      else pc.addTransceiver(kind, { direction: "sendrecv", streams: [stream] });
    }
  }

  /**
   * Wait (briefly) for ICE gathering so the description carries the candidates: one signal per offer/answer instead
   * of a burst of candidates (host candidates only, no STUN). The UDP host candidates come within milliseconds;
   * "complete" waits for the TCP ones, which come 100-300 ms later and never connect two browsers (active TCP, port
   * 9). So the description goes out shortly after the first UDP candidate, and anything later is trickled (UDP only).
   */
  private gathered(peer: Peer, ms = 1500): Promise<void> {
    const pc = peer.pc;
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      let grace: ReturnType<typeof setTimeout> | null = null;
      const done = (trickleRest: boolean) => {
        clearTimeout(timer);
        if (grace) clearTimeout(grace);
        pc.removeEventListener("icegatheringstatechange", onChange);
        pc.removeEventListener("icecandidate", onCandidate);
        if (trickleRest && pc.iceGatheringState !== "complete") peer.trickle = true;
        resolve();
      };
      const onChange = () => {
        if (pc.iceGatheringState === "complete") done(false);
      };
      const onCandidate = (e: RTCPeerConnectionIceEvent) => {
        if (!grace && e.candidate && isUdp(e.candidate)) grace = setTimeout(() => done(true), UDP_GRACE_MS);
      };
      const timer = setTimeout(() => done(true), ms);
      pc.addEventListener("icegatheringstatechange", onChange);
      pc.addEventListener("icecandidate", onCandidate);
    });
  }

  private async startOffer(id: string, remoteInst: string | null) {
    const room = this.room;
    if (!room) return;
    const pcId = randomId();
    const peer = this.newPeer(id, pcId, true, remoteInst);
    try {
      this.addLocalTracks(peer.pc);
      const offer = await peer.pc.createOffer();
      if (peer.closed) return;
      await peer.pc.setLocalDescription(offer);
      await this.gathered(peer);
      if (peer.closed) return;
      const sdp = peer.pc.localDescription?.sdp ?? offer.sdp ?? "";
      peer.sentSdp = sdp;
      this.signal(id, { kind: "offer", room, inst: this.inst, pc: pcId, sdp, ...this.mediaState() });
      log("offer ->", id, pcId);
    } catch (e) {
      log("offer failed", id, e);
    }
  }

  private async onSignal(from: string, data: Record<string, unknown>) {
    const s = parseMeshSignal(data);
    if (!s || !this.room || s.room !== this.room) return;
    const self = this.opts.selfId();
    if (!self) return;
    const peer = this.peers.get(from);
    switch (s.kind) {
      case "hello": {
        this.remoteState(from, s.mic, s.cam, s.screen === true);
        if (!isOfferer(self, from)) return; // they should be offering; their watchdog will
        // They have just joined (or reloaded): an offer sent before that was dropped, so offer again, unless this very
        // instance already answered us (a duplicate hello).
        const answered = peer && !peer.closed && peer.remoteInst === s.inst && peer.remoteSet && peer.pc.connectionState !== "failed";
        if (answered) return;
        // An offer of ours is still waiting for its answer (both of us moved at once: it went out before they were in
        // the room, or it is still gathering). Starting over would throw away the gathering and make them answer
        // twice: send the same offer again (they ignore a copy they already answered), or let it go out when ready.
        if (
          peer &&
          !peer.closed &&
          peer.offerer &&
          !peer.remoteSet &&
          peer.pc.signalingState !== "closed" &&
          peer.pc.connectionState !== "failed" &&
          Date.now() - peer.createdAt < 8_000
        ) {
          peer.remoteInst = s.inst;
          if (peer.sentSdp) this.signal(from, { kind: "offer", room: this.room, inst: this.inst, pc: peer.pcId, sdp: peer.sentSdp, ...this.mediaState() });
          return;
        }
        void this.startOffer(from, s.inst);
        return;
      }
      case "offer": {
        if (isOfferer(self, from)) {
          // Should not happen (they are not the offerer); ask them to wait for ours.
          log("unexpected offer from", from);
          return;
        }
        // A copy of an offer this side already took (the offerer sent it again after our hello): answer again, once.
        if (peer && !peer.closed && peer.pcId === s.pc) {
          if (peer.sentSdp) this.signal(from, { kind: "answer", room: this.room, inst: this.inst, pc: s.pc, sdp: peer.sentSdp, ...this.mediaState() });
          return;
        }
        const p = this.newPeer(from, s.pc, false, s.inst);
        this.remoteState(from, s.mic, s.cam, s.screen === true);
        try {
          await p.pc.setRemoteDescription({ type: "offer", sdp: s.sdp });
          if (p.closed) return;
          p.remoteSet = true;
          this.addLocalTracks(p.pc);
          for (const c of p.queued.splice(0)) await p.pc.addIceCandidate(c).catch(() => {});
          const answer = await p.pc.createAnswer();
          if (p.closed) return;
          await p.pc.setLocalDescription(answer);
          await this.gathered(p);
          if (p.closed || !this.room) return;
          const sdp = p.pc.localDescription?.sdp ?? answer.sdp ?? "";
          p.sentSdp = sdp;
          this.signal(from, { kind: "answer", room: this.room, inst: this.inst, pc: s.pc, sdp, ...this.mediaState() });
          log("answer ->", from, s.pc);
        } catch (e) {
          log("answering failed", from, e);
        }
        return;
      }
      case "answer": {
        if (!peer || peer.pcId !== s.pc || peer.pc.signalingState !== "have-local-offer") return;
        peer.remoteInst = s.inst;
        this.remoteState(from, s.mic, s.cam, s.screen === true);
        try {
          await peer.pc.setRemoteDescription({ type: "answer", sdp: s.sdp });
          peer.remoteSet = true;
          for (const c of peer.queued.splice(0)) await peer.pc.addIceCandidate(c).catch(() => {});
        } catch (e) {
          log("applying answer failed", from, e);
        }
        return;
      }
      case "candidate": {
        if (!peer || peer.pcId !== s.pc) return;
        const c = s.candidate as RTCIceCandidateInit;
        if (peer.remoteSet) await peer.pc.addIceCandidate(c).catch((e) => log("candidate refused", e));
        else peer.queued.push(c);
        return;
      }
      case "state":
        this.remoteState(from, s.mic, s.cam, s.screen === true);
        return;
      case "bye":
        this.closePeer(from, false);
        return;
    }
  }

  private remoteState(id: string, mic: boolean, cam: boolean, screen = false) {
    this.emitter.emit({ type: "trackEnabled", participantId: id, kind: "audio", enabled: mic });
    this.emitter.emit({ type: "trackEnabled", participantId: id, kind: "video", enabled: cam });
    this.emitter.emit({ type: "screenShare", participantId: id, sharing: screen });
  }

  private closePeer(id: string, sayBye: boolean) {
    const peer = this.peers.get(id);
    if (!peer) return;
    peer.closed = true;
    this.peers.delete(id);
    if (peer.watchdog) clearTimeout(peer.watchdog);
    if (sayBye && this.room) this.signal(id, { kind: "bye", room: this.room });
    this.retire(peer.pc);
    for (const t of peer.tracks.values()) this.emitter.emit({ type: "trackUnsubscribed", participantId: id, track: t });
    if (peer.announced) this.emitter.emit({ type: "participantLeft", participantId: id });
    if (this.speaker === id) {
      this.speaker = null;
      this.emitter.emit({ type: "dominantSpeaker", participantId: null });
    }
  }

  /**
   * RTCPeerConnection.close() blocks the page for a good while in Chromium (about 200 ms per connection with video on
   * a busy machine: measured, test/browser/open-rooms-timing.test.ts). On a room change the old room's connections
   * were closed first, one after the other, and the new room's waited behind them. Now a connection that is done
   * stops sending at once and is closed in the background, one at a time, once the new room had time to connect.
   */
  private readonly retiring: RTCPeerConnection[] = [];
  private retireTimer: ReturnType<typeof setTimeout> | null = null;

  private retire(pc: RTCPeerConnection) {
    pc.onicecandidate = null;
    pc.ontrack = null;
    pc.onconnectionstatechange = null;
    for (const sender of pc.getSenders()) if (sender.track) void sender.replaceTrack(null).catch(() => {});
    this.retiring.push(pc);
    if (!this.retireTimer) this.retireTimer = setTimeout(() => this.closeRetired(), RETIRE_AFTER_MS);
  }

  private closeRetired() {
    this.retireTimer = null;
    const pc = this.retiring.shift();
    if (!pc) return;
    try {
      pc.close();
    } catch {
      /* already closed */
    }
    if (this.retiring.length > 0) this.retireTimer = setTimeout(() => this.closeRetired(), RETIRE_GAP_MS);
  }

  /** The loudest audio level (0..1) a peer sent in the last 1.5 s (a source that fell silent keeps its last level). */
  private audioLevel(peer: Peer): number {
    let level = 0;
    for (const r of peer.pc.getReceivers()) {
      if (r.track.kind !== "audio" || typeof r.getSynchronizationSources !== "function") continue;
      for (const src of r.getSynchronizationSources()) {
        // The timestamp is on the performance clock in today's browsers, on the epoch clock in older ones.
        const age = src.timestamp > 1e12 ? Date.now() - src.timestamp : performance.now() - src.timestamp;
        if (typeof src.audioLevel === "number" && age < 1500) level = Math.max(level, src.audioLevel);
      }
    }
    return level;
  }

  private closeAll(sayBye: boolean) {
    for (const id of [...this.peers.keys()]) this.closePeer(id, sayBye);
  }

  /**
   * Every second: who is speaking; every 10 s: connection quality per peer and for me. Speaking comes from the
   * receivers' synchronization sources (the last packet's audio level, no stats report); a full getStats() per peer
   * every second was a good share of a busy page's CPU and is only taken for quality.
   */
  private async tick() {
    if (!this.room) return;
    this.ticks++;
    const withQuality = this.ticks % QUALITY_EVERY_TICKS === 0;
    let loudest: { id: string; level: number } | null = null;
    const levels: number[] = [];
    for (const peer of [...this.peers.values()]) {
      if (peer.closed) continue;
      const audioLevel = this.audioLevel(peer);
      if (audioLevel > SPEAKING_LEVEL && (!loudest || audioLevel > loudest.level)) loudest = { id: peer.id, level: audioLevel };
      if (!withQuality) continue;
      let stats: RTCStatsReport;
      try {
        stats = await peer.pc.getStats();
      } catch {
        continue;
      }
      if (peer.closed) continue;
      let rtt: number | null = null;
      let lost = 0;
      let received = 0;
      stats.forEach((r: Record<string, unknown> & { type: string }) => {
        if (r.type === "inbound-rtp") {
          lost += typeof r.packetsLost === "number" ? r.packetsLost : 0;
          received += typeof r.packetsReceived === "number" ? r.packetsReceived : 0;
        } else if (r.type === "candidate-pair" && r.state === "succeeded" && r.nominated && typeof r.currentRoundTripTime === "number") {
          rtt = r.currentRoundTripTime;
        }
      });
      const loss = lossBetween(peer.lastLoss, { lost, received });
      peer.lastLoss = { lost, received };
      const level = qualityLevel({ connected: peer.pc.connectionState === "connected", rttSeconds: rtt, lossFraction: loss });
      levels.push(level);
      this.emitter.emit({ type: "networkQuality", participantId: peer.id, level, local: false });
    }
    const current = loudest as { id: string; level: number } | null;
    if (current && current.id !== this.speaker) {
      this.speaker = current.id;
      this.quietTicks = 0;
      this.emitter.emit({ type: "dominantSpeaker", participantId: current.id });
    } else if (!current && this.speaker) {
      if (++this.quietTicks >= 3) {
        this.speaker = null;
        this.emitter.emit({ type: "dominantSpeaker", participantId: null });
      }
    } else if (current) this.quietTicks = 0;
    if (withQuality && levels.length > 0)
      this.emitter.emit({ type: "networkQuality", participantId: this.opts.selfId() ?? "", level: Math.min(...levels), local: true });
  }
}
