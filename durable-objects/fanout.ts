/**
 * Who receives what: the last view sent to each participant (so only real changes go out), delivery of a step's
 * frames to their audiences, and resume. The stream is exact: every sequenced frame is logged as it was sent, so a
 * client reconnecting with `lastSeq` receives precisely the frames it missed, in order, each once; a client further
 * behind than the log gets a snapshot (with its placement) instead.
 */
import { type Audience, memberAudience } from "./logic/frames";
import type { LoggedFrame, SessionStore } from "./store";
import type { SocketHub } from "./sockets";

export class Fanout {
  /** Last participant view sent per member (JSON). */
  private readonly sentViews = new Map<string, string>();

  constructor(
    private readonly hub: SocketHub,
    private readonly store: SessionStore,
  ) {}

  /** Read-only view of what was sent, for computing a step's views. */
  get views(): ReadonlyMap<string, string> {
    return this.sentViews;
  }

  /** The views a stored step sent become the last ones sent. */
  installViews(views: ReadonlyMap<string, string>) {
    for (const [memberId, json] of views) this.sentViews.set(memberId, json);
  }

  resetViews(views: ReadonlyMap<string, string>) {
    this.sentViews.clear();
    this.installViews(views);
  }

  /** Send each frame to its audience: one socket listing for the whole step, grouped by member. */
  deliver(frames: readonly LoggedFrame[]) {
    if (!frames.length) return;
    const all = this.hub.entries();
    const byMember = new Map<string, WebSocket[]>();
    const staff: WebSocket[] = [];
    for (const e of all) {
      const list = byMember.get(e.memberId);
      if (list) list.push(e.ws);
      else byMember.set(e.memberId, [e.ws]);
      if (e.staff) staff.push(e.ws);
    }
    for (const f of frames) {
      if (f.audience.length === 1) {
        for (const ws of targetsOf(f.audience[0], all, staff, byMember)) this.hub.send(ws, f.text);
        continue;
      }
      const targets = new Set<WebSocket>();
      for (const a of f.audience) for (const ws of targetsOf(a, all, staff, byMember)) targets.add(ws);
      for (const ws of targets) this.hub.send(ws, f.text);
    }
  }

  /** Replay to one socket the logged frames after `lastSeq` that its member received (the caller checked the log reaches back). */
  replay(ws: WebSocket, memberId: string, staff: boolean, lastSeq: number) {
    const mine = new Set<Audience>(["*", memberAudience(memberId), ...(staff ? ["staff"] : [])]);
    for (const f of this.store.framesAfter(lastSeq)) if (f.audience.some((a) => mine.has(a))) this.hub.send(ws, f.text);
  }
}

function targetsOf(a: Audience, all: readonly { ws: WebSocket }[], staff: WebSocket[], byMember: Map<string, WebSocket[]>): Iterable<WebSocket> {
  if (a === "*") return all.map((e) => e.ws);
  if (a === "staff") return staff;
  return byMember.get(a.slice(2)) ?? [];
}
