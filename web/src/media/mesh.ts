/**
 * Pure helpers for the local (peer-to-peer) media mode: who makes the offer, how a connection's stats become a
 * 0..5 quality level, and which remote videos the grid attaches. No DOM, unit-tested on Node.
 */

/** Deterministic offerer, so two peers never offer to each other at once (no glare): the lower member id offers. */
export function isOfferer(selfId: string, peerId: string): boolean {
  return selfId < peerId;
}

/** Signalling payloads exchanged through the session WebSocket ({type:"signal", to, data}). */
export type MeshSignal =
  | { kind: "hello"; room: string; inst: string; mic: boolean; cam: boolean; screen?: boolean }
  | { kind: "offer"; room: string; inst: string; pc: string; sdp: string; mic: boolean; cam: boolean; screen?: boolean }
  | { kind: "answer"; room: string; inst: string; pc: string; sdp: string; mic: boolean; cam: boolean; screen?: boolean }
  | { kind: "candidate"; room: string; pc: string; candidate: Record<string, unknown> }
  /** `screen`: the video this member sends is their shared screen, not their camera (absent in older clients: false). */
  | { kind: "state"; room: string; mic: boolean; cam: boolean; screen?: boolean }
  | { kind: "bye"; room: string };

export function parseMeshSignal(data: Record<string, unknown>): MeshSignal | null {
  const kind = data.kind;
  if (typeof data.room !== "string") return null;
  switch (kind) {
    case "hello":
      return typeof data.inst === "string" ? (data as MeshSignal) : null;
    case "offer":
    case "answer":
      return typeof data.pc === "string" && typeof data.sdp === "string" && typeof data.inst === "string" ? (data as MeshSignal) : null;
    case "candidate":
      return typeof data.pc === "string" && typeof data.candidate === "object" && data.candidate !== null ? (data as MeshSignal) : null;
    case "state":
      return typeof data.mic === "boolean" && typeof data.cam === "boolean" ? (data as MeshSignal) : null;
    case "bye":
      return data as MeshSignal;
    default:
      return null;
  }
}

/**
 * Connection quality 0..5 from round-trip time and packet loss over the last interval (Twilio's scale: 5 excellent,
 * 1 very poor, 0 broken/unknown). `connected` false means no media path at all.
 */
export function qualityLevel(sample: { connected: boolean; rttSeconds: number | null; lossFraction: number | null }): number {
  if (!sample.connected) return 0;
  const rtt = sample.rttSeconds ?? 0;
  const loss = sample.lossFraction ?? 0;
  if (rtt < 0.15 && loss < 0.01) return 5;
  if (rtt < 0.3 && loss < 0.03) return 4;
  if (rtt < 0.5 && loss < 0.06) return 3;
  if (rtt < 1 && loss < 0.12) return 2;
  return 1;
}

/** Loss fraction between two cumulative counter readings (null when nothing was received in between). */
export function lossBetween(prev: { lost: number; received: number } | null, cur: { lost: number; received: number }): number | null {
  const dLost = Math.max(0, cur.lost - (prev?.lost ?? 0));
  const dRecv = Math.max(0, cur.received - (prev?.received ?? 0));
  return dLost + dRecv === 0 ? null : dLost / (dLost + dRecv);
}

/**
 * Which remote participants get their video attached when at most `limit` may be: the dominant speaker first,
 * then the most recent speakers, then everyone else in the order given (stable: joining order).
 */
export function pickRenderedVideos(ids: readonly string[], limit: number, dominant: string | null, lastSpoke: ReadonlyMap<string, number>): Set<string> {
  if (ids.length <= limit) return new Set(ids);
  const order = ids.map((id, i) => ({ id, i }));
  order.sort((a, b) => {
    if (a.id === dominant) return -1;
    if (b.id === dominant) return 1;
    const sa = lastSpoke.get(a.id) ?? -1;
    const sb = lastSpoke.get(b.id) ?? -1;
    if (sa !== sb) return sb - sa;
    return a.i - b.i;
  });
  return new Set(order.slice(0, limit).map((x) => x.id));
}
