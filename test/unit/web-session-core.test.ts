/**
 * The web client's session socket (web/src/lib/session-core.ts) against a fake WebSocket: lastSeq on reconnect,
 * ordering of sequenced frames, commands resolved by ack / rejected by error, and the SAME commandId re-sent after a
 * reconnect when no answer came.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { PING_FRAME, type ServerMessage } from "../../lib/protocol";
import { CommandError, OUTGOING_BURST, SessionConnection, sessionSocketUrl, type ConnectionStatus } from "../../web/src/lib/session-core";

class FakeSocket extends EventTarget {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static all: FakeSocket[] = [];
  readyState = 0;
  binaryType = "blob";
  sent: string[] = [];
  constructor(public url: string) {
    super();
    FakeSocket.all.push(this);
  }
  send(data: string) {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(data);
  }
  close(code = 1000, reason = "") {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event("close"), { code, reason }));
  }
  // --- test controls ---
  open() {
    this.readyState = 1;
    this.dispatchEvent(new Event("open"));
  }
  serverSends(msg: ServerMessage) {
    this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(msg) }));
  }
  drop(code = 1006, reason = "") {
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event("close"), { code, reason }));
  }
  frames(): any[] {
    return this.sent.map((s) => JSON.parse(s));
  }
}

const conns: SessionConnection[] = [];
afterEach(() => {
  for (const c of conns.splice(0)) c.close();
  FakeSocket.all = [];
});

function setup(opts: { pingIntervalMs?: number } = {}) {
  const received: ServerMessage[] = [];
  const statuses: ConnectionStatus[] = [];
  let n = 0;
  const conn = new SessionConnection({
    sessionId: "s1",
    ticket: "T",
    baseUrl: "ws://test",
    WebSocket: FakeSocket,
    onMessage: (m) => received.push(m),
    onStatus: (s) => statuses.push(s),
    minReconnectionDelay: 0,
    maxReconnectionDelay: 0,
    pingIntervalMs: opts.pingIntervalMs ?? 60_000,
    newId: () => `cmd-0000-${++n}`,
  });
  conns.push(conn);
  const socket = async (i: number) => {
    await vi.waitFor(() => expect(FakeSocket.all.length).toBeGreaterThan(i));
    return FakeSocket.all[i];
  };
  return { conn, received, statuses, socket };
}

const snapshot = (seq: number): ServerMessage => ({ type: "snapshot", seq, view: undefined, staff: undefined, placement: null, chat: [] });
const patch = (seq: number): ServerMessage => ({ type: "patch", seq, changes: [] });

describe("session socket URL", () => {
  it("carries the ticket, and lastSeq only when given", () => {
    expect(sessionSocketUrl("ws://h/", "s 1", "a.b+c", null)).toBe("ws://h/api/sessions/s%201/ws?ticket=a.b%2Bc");
    expect(sessionSocketUrl("wss://h", "s1", "T", 42)).toBe("wss://h/api/sessions/s1/ws?ticket=T&lastSeq=42");
  });
});

describe("SessionConnection", () => {
  it("asks for a snapshot first, then resumes from the highest seq seen after each reconnect", async () => {
    const { conn, received, socket, statuses } = setup();
    const s0 = await socket(0);
    expect(new URL(s0.url).searchParams.has("lastSeq")).toBe(false);
    s0.open();
    s0.serverSends(snapshot(5));
    s0.serverSends(patch(6));
    s0.serverSends({ type: "placement", seq: 7, placement: { location: "main", roomName: "Main room", media: null, reason: "admitted" } });
    s0.serverSends({ type: "notice", seq: 9, notice: { kind: "roundWarning", endsAt: 1 } });
    expect(conn.lastSeq).toBe(9);
    s0.drop();
    const s1 = await socket(1);
    expect(new URL(s1.url).searchParams.get("lastSeq")).toBe("9");
    expect(new URL(s1.url).searchParams.get("ticket")).toBe("T");
    s1.open();
    expect(statuses).toEqual(["open", "reconnecting", "open"]);
    // A replay of something already applied is dropped; a new delta is applied.
    s1.serverSends(patch(6));
    s1.serverSends(patch(10));
    expect(received.filter((m) => m.type === "patch").map((m) => (m as { seq: number }).seq)).toEqual([6, 10]);
    expect(conn.lastSeq).toBe(10);
  });

  it("ignores deltas until a snapshot has been applied", async () => {
    const { received, socket, conn } = setup();
    const s0 = await socket(0);
    s0.open();
    s0.serverSends(patch(3));
    expect(received).toEqual([]);
    expect(conn.synced).toBe(false);
  });

  it("treats views and placements like every sequenced frame: after the snapshot, each newer seq once, in order", async () => {
    const { received, socket } = setup();
    const s0 = await socket(0);
    s0.open();
    s0.serverSends(snapshot(12));
    s0.serverSends({ type: "placement", seq: 4, placement: { location: "main", roomName: "Main room", media: null, reason: "stale" } });
    s0.serverSends({ type: "placement", seq: 13, placement: { location: "r1", roomName: "Room 1", media: null, reason: "moved" } });
    s0.serverSends({ type: "placement", seq: 13, placement: { location: "r1", roomName: "Room 1", media: null, reason: "moved" } });
    s0.serverSends({ type: "view", seq: 11, view: {} as never });
    s0.serverSends({ type: "view", seq: 14, view: {} as never });
    expect(received.filter((m) => m.type === "placement" || m.type === "view").map((m) => `${m.type}:${(m as { seq: number }).seq}`)).toEqual([
      "placement:13",
      "view:14",
    ]);
  });

  it("sends keepalives byte for byte as PING_FRAME, so the session's runtime can answer them without waking it", async () => {
    const { socket } = setup({ pingIntervalMs: 50 });
    const s0 = await socket(0);
    s0.open();
    await vi.waitFor(() => expect(s0.sent).toContain(PING_FRAME));
  });

  it("resolves a command on ack and rejects on error with the typed code", async () => {
    const { conn, socket } = setup();
    const s0 = await socket(0);
    s0.open();
    const ok = conn.command({ type: "admit", memberId: "m2" });
    const bad = conn.command({ type: "move", memberId: "m2", to: "r9" });
    const [f1, f2] = s0.frames();
    expect(f1).toEqual({ type: "command", commandId: "cmd-0000-1", command: { type: "admit", memberId: "m2" } });
    expect(f2.commandId).toBe("cmd-0000-2");
    s0.serverSends({ type: "ack", commandId: "cmd-0000-1", seq: 8, duplicate: false });
    s0.serverSends({ type: "error", commandId: "cmd-0000-2", error: { code: "ROOM_NOT_FOUND", message: "no room r9" } });
    await expect(ok).resolves.toEqual({ commandId: "cmd-0000-1", seq: 8, duplicate: false });
    const err = await bad.catch((e) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err.code).toBe("ROOM_NOT_FOUND");
    expect(err.message).toBe("no room r9");
    expect(conn.pendingCommandIds()).toEqual([]);
  });

  it("re-sends an unanswered command with the SAME commandId after a reconnect, and resolves once", async () => {
    const { conn, socket } = setup();
    const s0 = await socket(0);
    s0.open();
    s0.serverSends(snapshot(1));
    const p = conn.command({ type: "closeAll", countdownSeconds: 30 });
    expect(s0.frames()).toHaveLength(1);
    s0.drop(); // lost before the answer
    const s1 = await socket(1);
    s1.open();
    const resent = s1.frames().filter((f) => f.type === "command");
    expect(resent).toEqual([{ type: "command", commandId: "cmd-0000-1", command: { type: "closeAll", countdownSeconds: 30 } }]);
    s1.serverSends({ type: "ack", commandId: "cmd-0000-1", seq: 2, duplicate: true });
    s1.serverSends({ type: "ack", commandId: "cmd-0000-1", seq: 2, duplicate: true });
    await expect(p).resolves.toMatchObject({ commandId: "cmd-0000-1", duplicate: true });
  });

  it("holds a command made while disconnected and sends it once the socket opens", async () => {
    const { conn, socket } = setup();
    const s0 = await socket(0);
    const p = conn.command({ type: "requestHelp" });
    expect(s0.sent).toEqual([]);
    s0.open();
    expect(s0.frames()).toEqual([{ type: "command", commandId: "cmd-0000-1", command: { type: "requestHelp" } }]);
    s0.serverSends({ type: "ack", commandId: "cmd-0000-1", seq: 3, duplicate: false });
    await expect(p).resolves.toMatchObject({ seq: 3 });
  });

  it("drops non-command frames while down instead of queueing them", async () => {
    const { conn, socket } = setup();
    const s0 = await socket(0);
    expect(conn.send({ type: "quality", level: 4 })).toBe(false);
    s0.open();
    expect(s0.sent).toEqual([]);
    expect(conn.send({ type: "quality", level: 4 })).toBe(true);
    expect(s0.frames()).toEqual([{ type: "quality", level: 4 }]);
  });

  it("stops on a terminal close (credential refused): rejects pending commands, does not reconnect", async () => {
    const { conn, socket, statuses } = setup();
    const s0 = await socket(0);
    s0.open();
    const p = conn.command({ type: "leave" });
    s0.drop(4401, "ticket expired");
    const err = await p.catch((e) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err.code).toBe("CONNECTION_CLOSED");
    expect(statuses.at(-1)).toBe("closed");
    await new Promise((r) => setTimeout(r, 30));
    expect(FakeSocket.all).toHaveLength(1);
    await expect(conn.command({ type: "leave" })).rejects.toBeInstanceOf(CommandError);
  });

  it("paces WebRTC signals under the server's per-socket budget instead of flooding it", async () => {
    const { conn, socket } = setup();
    const s0 = await socket(0);
    s0.open();
    for (let i = 0; i < OUTGOING_BURST + 5; i++) expect(conn.send({ type: "signal", to: "m2", data: { i } })).toBe(true);
    expect(s0.sent).toHaveLength(OUTGOING_BURST);
    expect(conn.queuedSignals()).toBe(5);
    await vi.waitFor(() => expect(s0.sent).toHaveLength(OUTGOING_BURST + 5), { timeout: 3000 });
    expect(s0.frames().map((f) => f.data.i)).toEqual([...Array(OUTGOING_BURST + 5).keys()]); // in order
  });

  it("treats 1008 (message budget exceeded) as a reason to reconnect, not to give up", async () => {
    const { socket, statuses } = setup();
    const s0 = await socket(0);
    s0.open();
    s0.drop(1008, "message budget exceeded");
    const s1 = await socket(1);
    s1.open();
    expect(statuses).toEqual(["open", "reconnecting", "open"]);
  });
});
