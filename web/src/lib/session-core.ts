/**
 * The session WebSocket, without any UI framework: a reconnecting socket (partysocket) to
 * `/api/sessions/:id/ws?ticket=..&lastSeq=..`, the highest `seq` seen (sent again on every reconnect), ordering of
 * sequenced frames, commands with promises (ack resolves, error rejects with the typed code) retried with the SAME
 * commandId after a reconnect until answered, and a ping that also detects a silently dead connection.
 *
 * Free of DOM and Solid types so it runs (and is unit-tested) on Node with a fake WebSocket class.
 */
import ReconnectingWebSocket from "partysocket/ws";
import { PING_FRAME, type ClientMessage, type Command, type ErrorCode, type ServerMessage } from "../../../lib/protocol";
import { debugLog } from "./debug";

const log = debugLog("ws");

export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "closed";

export class CommandError extends Error {
  constructor(
    readonly code: ErrorCode | "CONNECTION_CLOSED",
    message: string,
    readonly details?: unknown,
    readonly commandId?: string,
  ) {
    super(message);
    this.name = "CommandError";
  }
}

export interface CommandAck {
  commandId: string;
  seq: number;
  duplicate: boolean;
}

export interface SessionConnectionOptions {
  sessionId: string;
  ticket: string;
  /** ws(s)://host; defaults to the page's origin. */
  baseUrl?: string;
  /** WebSocket constructor (tests); defaults to the global one. */
  WebSocket?: unknown;
  /** Frames to apply, already de-duplicated and ordered by seq. */
  onMessage: (msg: ServerMessage) => void;
  onStatus?: (status: ConnectionStatus, info: { failures: number; closeCode?: number; closeReason?: string }) => void;
  /** Called after the socket (re)opened, after pending commands were re-sent. */
  onOpen?: (reconnect: boolean) => void;
  pingIntervalMs?: number;
  /** Reconnect when nothing arrived for this long (a half-open connection sends no close). */
  staleAfterMs?: number;
  minReconnectionDelay?: number;
  maxReconnectionDelay?: number;
  /** Close codes after which reconnecting is pointless (credential refused, session over, replaced). */
  isTerminalClose?: (code: number, reason: string) => boolean;
  now?: () => number;
  newId?: () => string;
}

interface Pending {
  commandId: string;
  command: Command;
  frame: string;
  sentCount: number;
  resolve: (ack: CommandAck) => void;
  reject: (err: CommandError) => void;
}

/**
 * The application range 4000-4999 means "do not come back with this ticket" (left, removed, session ended).
 * 1008 (message budget exceeded) is not terminal: a new socket starts with a fresh budget, and the pacing below
 * keeps this client under it in the first place.
 */
export const defaultTerminalClose = (code: number) => code >= 4000 && code <= 4999;

/**
 * Outgoing pacing, below the server's per-socket budget for participants (30 frames burst, 10/s): WebRTC signals
 * wait in a short queue rather than flood; other frames are never delayed.
 */
export const OUTGOING_BURST = 20;
export const OUTGOING_PER_SECOND = 8;
const SIGNAL_QUEUE_LIMIT = 200;

/** lastSeq null: no state held yet, so ask for a snapshot (a lastSeq would get a replay of deltas instead). */
export function sessionSocketUrl(base: string, sessionId: string, ticket: string, lastSeq: number | null): string {
  const q = new URLSearchParams({ ticket });
  if (lastSeq !== null) q.set("lastSeq", String(lastSeq));
  return `${base.replace(/\/$/, "")}/api/sessions/${encodeURIComponent(sessionId)}/ws?${q.toString()}`;
}

function defaultBase(): string {
  const loc = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (!loc) throw new Error("baseUrl is required outside a browser");
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}`;
}

export class SessionConnection {
  /** Highest seq seen; sent as ?lastSeq= on every reconnect once a snapshot was applied. */
  lastSeq = 0;
  /** A snapshot was applied: from now on reconnects ask only for what was missed. */
  synced = false;
  status: ConnectionStatus = "connecting";
  /** Consecutive connection attempts that ended without an open socket. */
  failures = 0;

  private readonly socket: ReconnectingWebSocket;
  private readonly pending = new Map<string, Pending>();
  private openedOnce = false;
  private lastHeard = 0;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private tokens = OUTGOING_BURST;
  private tokensAt: number | null = null;
  private readonly signalQueue: string[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(private readonly opts: SessionConnectionOptions) {
    this.now = opts.now ?? (() => Date.now());
    this.newId = opts.newId ?? (() => crypto.randomUUID());
    const base = opts.baseUrl ?? defaultBase();
    const terminal = opts.isTerminalClose ?? defaultTerminalClose;
    this.socket = new ReconnectingWebSocket(() => sessionSocketUrl(base, opts.sessionId, opts.ticket, this.synced ? this.lastSeq : null), undefined, {
      WebSocket: opts.WebSocket,
      minReconnectionDelay: opts.minReconnectionDelay ?? 800,
      maxReconnectionDelay: opts.maxReconnectionDelay ?? 8000,
      reconnectionDelayGrowFactor: 1.5,
      connectionTimeout: 8000,
      // Never buffer inside partysocket: commands are re-sent from `pending` on open, signals are perishable.
      maxEnqueuedMessages: 0,
      shouldReconnectOnClose: (e) => !terminal(e.code, e.reason),
    });
    this.socket.addEventListener("open", () => this.handleOpen());
    this.socket.addEventListener("message", (e) => this.handleRaw((e as { data: unknown }).data));
    this.socket.addEventListener("close", (e) => this.handleClose((e as { code: number; reason: string }).code, (e as { reason: string }).reason));
    this.pingTimer = setInterval(() => this.pingTick(), opts.pingIntervalMs ?? 20_000);
  }

  /** Run a command. Resolves on ack, rejects with CommandError(code) on error; survives reconnects. */
  command(command: Command, commandId: string = this.newId()): Promise<CommandAck> {
    if (this.closed) return Promise.reject(new CommandError("CONNECTION_CLOSED", "Not connected to the session."));
    const existing = this.pending.get(commandId);
    if (existing) return new Promise((resolve, reject) => this.pending.set(commandId, { ...existing, resolve, reject }));
    return new Promise<CommandAck>((resolve, reject) => {
      const frame = JSON.stringify({ type: "command", commandId, command } satisfies ClientMessage);
      const p: Pending = { commandId, command, frame, sentCount: 0, resolve, reject };
      this.pending.set(commandId, p);
      if (this.isOpen()) this.transmit(p);
    });
  }

  /** Commands sent but not answered yet (ids), for diagnostics and tests. */
  pendingCommandIds(): string[] {
    return [...this.pending.keys()];
  }

  /**
   * Send a non-command frame; false when the socket is down (the frame is dropped, not queued). Signals may wait a
   * moment in the pacing queue (still true); the queue is dropped if the socket closes.
   */
  send(msg: Exclude<ClientMessage, { type: "command" }>): boolean {
    if (!this.isOpen()) return false;
    const frame = JSON.stringify(msg);
    if (msg.type === "signal") {
      if (this.signalQueue.length >= SIGNAL_QUEUE_LIMIT) return false;
      this.signalQueue.push(frame);
      this.flushSignals();
      return true;
    }
    this.takeToken();
    this.socket.send(frame);
    return true;
  }

  private refill() {
    const t = this.now();
    this.tokens = Math.min(OUTGOING_BURST, this.tokens + ((t - (this.tokensAt ?? t)) * OUTGOING_PER_SECOND) / 1000);
    this.tokensAt = t;
  }

  /** Always succeeds (commands and control frames are never held back) but counts against the pacing budget. */
  private takeToken() {
    this.refill();
    this.tokens -= 1;
  }

  private flushSignals() {
    if (this.flushTimer) return;
    this.refill();
    while (this.signalQueue.length > 0 && this.tokens >= 1 && this.isOpen()) {
      this.tokens -= 1;
      this.socket.send(this.signalQueue.shift()!);
    }
    if (this.signalQueue.length > 0 && this.isOpen()) {
      const wait = Math.max(20, Math.ceil(((1 - this.tokens) * 1000) / OUTGOING_PER_SECOND));
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.flushSignals();
      }, wait);
    }
  }

  isOpen(): boolean {
    return !this.closed && this.socket.readyState === ReconnectingWebSocket.OPEN;
  }

  /** Drop the connection and connect again now (e.g. the network came back). */
  reconnect(): void {
    if (!this.closed) this.socket.reconnect();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.signalQueue.length = 0;
    this.socket.close(1000, "client closing");
    this.rejectAll(new CommandError("CONNECTION_CLOSED", "The connection to the session was closed."));
    this.setStatus("closed", {});
  }

  private transmit(p: Pending): void {
    p.sentCount++;
    this.takeToken();
    log(p.sentCount > 1 ? "resend" : "send", p.command.type, p.commandId);
    this.socket.send(p.frame);
  }

  private handleOpen(): void {
    const reconnect = this.openedOnce;
    this.openedOnce = true;
    this.failures = 0;
    this.lastHeard = this.now();
    log("open", { reconnect, lastSeq: this.lastSeq, pending: this.pending.size });
    this.setStatus("open", {});
    for (const p of this.pending.values()) this.transmit(p);
    this.opts.onOpen?.(reconnect);
  }

  private handleClose(code: number, reason: string): void {
    this.signalQueue.length = 0;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.closed) return;
    if (this.status !== "open") this.failures++;
    const terminal = !this.socket.shouldReconnect;
    log("close", { code, reason, terminal, failures: this.failures });
    if (terminal) {
      this.closed = true;
      if (this.pingTimer) clearInterval(this.pingTimer);
      this.rejectAll(new CommandError("CONNECTION_CLOSED", reason || `The session closed the connection (${code}).`));
      this.setStatus("closed", { closeCode: code, closeReason: reason });
    } else {
      this.setStatus(this.openedOnce ? "reconnecting" : "connecting", { closeCode: code, closeReason: reason });
    }
  }

  private setStatus(s: ConnectionStatus, info: { closeCode?: number; closeReason?: string }): void {
    this.status = s;
    this.opts.onStatus?.(s, { failures: this.failures, ...info });
  }

  private rejectAll(err: CommandError): void {
    for (const p of this.pending.values()) p.reject(new CommandError(err.code, err.message, undefined, p.commandId));
    this.pending.clear();
  }

  private pingTick(): void {
    if (!this.isOpen()) return;
    const stale = this.opts.staleAfterMs ?? 50_000;
    if (this.now() - this.lastHeard > stale) {
      log("stale connection; reconnecting");
      this.socket.reconnect();
      return;
    }
    // Exactly PING_FRAME: the session's runtime answers it without waking the session.
    if (this.isOpen()) {
      this.takeToken();
      this.socket.send(PING_FRAME);
    }
  }

  /** Signals waiting in the pacing queue (diagnostics and tests). */
  queuedSignals(): number {
    return this.signalQueue.length;
  }

  private handleRaw(data: unknown): void {
    this.lastHeard = this.now();
    if (typeof data !== "string") return;
    let msg: ServerMessage;
    try {
      msg = JSON.parse(data) as ServerMessage;
    } catch {
      log("non-JSON frame ignored");
      return;
    }
    this.receive(msg);
  }

  /** Apply one server frame (public for tests and for frames that arrive another way). */
  receive(msg: ServerMessage): void {
    switch (msg.type) {
      case "ack": {
        const p = this.pending.get(msg.commandId);
        if (p) {
          this.pending.delete(msg.commandId);
          p.resolve({ commandId: msg.commandId, seq: msg.seq, duplicate: msg.duplicate });
        }
        // lastSeq is not advanced from an ack: the patch carrying that seq arrives as its own frame, and a reconnect
        // between the two must still ask for it.
        return this.opts.onMessage(msg);
      }
      case "error": {
        if (msg.commandId) {
          const p = this.pending.get(msg.commandId);
          if (p) {
            this.pending.delete(msg.commandId);
            p.reject(new CommandError(msg.error.code, msg.error.message, msg.error.details, msg.commandId));
          }
        }
        return this.opts.onMessage(msg);
      }
      case "snapshot":
        // A snapshot replaces everything held; the frames after it continue from its seq.
        this.synced = true;
        this.lastSeq = msg.seq;
        return this.opts.onMessage(msg);
      case "patch":
      case "notice":
      case "view":
      case "placement":
      case "chat":
      case "chatDeleted":
        // The session's ordered stream: each seq is one frame, sent once; a resume replays exactly what was missed.
        if (!this.synced) return log("frame before any snapshot ignored", msg.type, msg.seq);
        if (msg.seq <= this.lastSeq) return log("dropped replayed", msg.type, msg.seq);
        this.lastSeq = msg.seq;
        return this.opts.onMessage(msg);
      default:
        return this.opts.onMessage(msg);
    }
  }
}

export function isCommandError(e: unknown): e is CommandError {
  return e instanceof CommandError;
}
