/**
 * The session client as Solid state: wraps SessionConnection (socket, seq, command retry) and keeps what the screens
 * read: connection status, who I am, the staff state (fine-grained store, patched in place) or the participant view,
 * my placement, notices, and a server-corrected clock. Also asks for a fresh media token before the current one
 * expires (within 5 minutes).
 */
import { batch, createSignal, type Accessor } from "solid-js";
import { createStore, produce, reconcile } from "solid-js/store";
import type {
  ChatMessage,
  ClientMessage,
  Command,
  ErrorPayload,
  Notice,
  ParticipantView,
  Placement,
  Role,
  ServerMessage,
  StaffState,
} from "../../../lib/protocol";
import { ApiError, api } from "./api";
import { applyChatFrame } from "./chat";
import { debugLog } from "./debug";
import { SessionConnection, type CommandAck, type ConnectionStatus } from "./session-core";
import { applyChanges } from "./state";

const log = debugLog("session");

/** Ask for a new media token when the current one expires within this long. */
export const MEDIA_REFRESH_WINDOW_MS = 5 * 60_000;

export interface NoticeEntry {
  id: number;
  seq: number;
  receivedAt: number;
  notice: Notice;
}

export interface Me {
  memberId: string;
  role: Role;
  name: string;
}

export type SignalListener = (from: string, data: Record<string, unknown>) => void;

export interface SessionClient {
  sessionId: string;
  status: Accessor<ConnectionStatus>;
  /** Set when the session cannot be resumed (credential refused, session over); a sentence for people. */
  fatal: Accessor<string | null>;
  me: Accessor<Me | null>;
  staff: () => StaffState | null;
  view: () => ParticipantView | null;
  placement: Accessor<Placement | null>;
  notices: Accessor<NoticeEntry[]>;
  /** Chat this member may read, oldest first (snapshot, then chat frames; deleted ones removed). */
  chat: Accessor<readonly ChatMessage[]>;
  dismissNotice: (id: number) => void;
  /** Last error the server sent without a command id (e.g. a refused signal). */
  lastError: Accessor<ErrorPayload | null>;
  /** Server-corrected epoch ms; readers re-run once a second. */
  now: Accessor<number>;
  command: (command: Command) => Promise<CommandAck>;
  send: (msg: Exclude<ClientMessage, { type: "command" }>) => boolean;
  onSignal: (fn: SignalListener) => () => void;
  onNotice: (fn: (n: NoticeEntry) => void) => () => void;
  /** Called after each (re)open of the socket. */
  onOpen: (fn: (reconnect: boolean) => void) => () => void;
  lastSeq: () => number;
  close: () => void;
}

const FATAL_CODES = new Set(["UNAUTHENTICATED", "CREDENTIAL_EXPIRED", "CREDENTIAL_REVOKED", "WRONG_SESSION", "NOT_FOUND", "SESSION_ENDED", "FORBIDDEN"]);

export function samePlacement(a: Placement | null, b: Placement | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return (
    a.location === b.location &&
    a.roomName === b.roomName &&
    a.reason === b.reason &&
    (a.media?.room ?? null) === (b.media?.room ?? null) &&
    (a.media?.token ?? null) === (b.media?.token ?? null) &&
    (a.media?.expiresAt ?? null) === (b.media?.expiresAt ?? null)
  );
}

export function createSessionClient(opts: { sessionId: string; ticket: string; WebSocket?: unknown }): SessionClient {
  const [status, setStatus] = createSignal<ConnectionStatus>("connecting");
  const [fatal, setFatal] = createSignal<string | null>(null);
  const [me, setMe] = createSignal<Me | null>(null);
  const [staffStore, setStaffStore] = createStore<{ s: StaffState | null }>({ s: null });
  const [viewStore, setViewStore] = createStore<{ v: ParticipantView | null }>({ v: null });
  const [placement, setPlacement] = createSignal<Placement | null>(null, { equals: samePlacement });
  const [notices, setNotices] = createSignal<NoticeEntry[]>([]);
  const [chat, setChat] = createSignal<readonly ChatMessage[]>([]);
  const [lastError, setLastError] = createSignal<ErrorPayload | null>(null);
  const [offset, setOffset] = createSignal(0);
  const [now, setNow] = createSignal(Date.now());
  const signalListeners = new Set<SignalListener>();
  const noticeListeners = new Set<(n: NoticeEntry) => void>();
  const openListeners = new Set<(reconnect: boolean) => void>();
  let noticeId = 0;
  let lastRefreshAsk = 0;
  let checkingCredential = false;

  const clock = setInterval(() => setNow(Date.now() + offset()), 1000);

  function maybeRefreshMedia() {
    const grant = placement()?.media;
    if (!grant?.expiresAt) return;
    const t = Date.now() + offset();
    if (grant.expiresAt - t > MEDIA_REFRESH_WINDOW_MS) return;
    if (t - lastRefreshAsk < 60_000) return;
    if (conn.send({ type: "refreshMedia" })) {
      lastRefreshAsk = t;
      log("asked for a fresh media token; current expires in", Math.round((grant.expiresAt - t) / 1000), "s");
    }
  }
  const refreshTimer = setInterval(maybeRefreshMedia, 30_000);

  function onMessage(msg: ServerMessage) {
    switch (msg.type) {
      case "hello":
        batch(() => {
          setMe(msg.you);
          setOffset(msg.serverTime - Date.now());
        });
        break;
      case "snapshot":
        batch(() => {
          if (msg.staff) setStaffStore("s", reconcile(msg.staff, { key: "id" }));
          if (msg.view) setViewStore("v", reconcile(msg.view, { key: "id" }));
          setPlacement(msg.placement);
          setChat((list) => applyChatFrame(list, { type: "snapshot", chat: msg.chat ?? [] }));
        });
        maybeRefreshMedia();
        break;
      case "chat":
        setChat((list) => applyChatFrame(list, { type: "chat", message: msg.message }));
        break;
      case "chatDeleted":
        setChat((list) => applyChatFrame(list, { type: "chatDeleted", messageId: msg.messageId }));
        break;
      case "mediaToken": {
        // A refreshed token for the room I am placed in: used at the next (re)connect of the media room.
        const p = placement();
        if (p?.media && p.media.room === msg.media.room) setPlacement({ ...p, media: msg.media });
        break;
      }
      case "patch":
        setStaffStore(
          produce((st) => {
            if (st.s) applyChanges(st.s, msg.changes);
          }),
        );
        break;
      case "view":
        setViewStore("v", reconcile(msg.view, { key: "id" }));
        break;
      case "placement":
        log("placement", msg.placement.reason, msg.placement.location, msg.placement.media?.room);
        setPlacement(msg.placement);
        maybeRefreshMedia();
        break;
      case "notice": {
        const entry: NoticeEntry = { id: ++noticeId, seq: msg.seq, receivedAt: Date.now(), notice: msg.notice };
        setNotices((list) => [...list.slice(-19), entry]);
        for (const fn of noticeListeners) fn(entry);
        break;
      }
      case "pong":
        break;
      case "signal":
        for (const fn of signalListeners) fn(msg.from, msg.data);
        break;
      case "error":
        if (!msg.commandId) {
          log("server error", msg.error);
          setLastError(msg.error);
        }
        break;
      case "ack":
        break;
    }
  }

  async function checkCredential() {
    if (checkingCredential) return;
    checkingCredential = true;
    try {
      await api.state(opts.sessionId, opts.ticket);
    } catch (e) {
      if (e instanceof ApiError && FATAL_CODES.has(e.code)) {
        setFatal(e.code === "SESSION_ENDED" ? "This session has ended." : e.message);
        conn.close();
      }
    } finally {
      checkingCredential = false;
    }
  }

  const conn = new SessionConnection({
    sessionId: opts.sessionId,
    ticket: opts.ticket,
    WebSocket: opts.WebSocket,
    onMessage,
    onStatus: (s, info) => {
      setStatus(s);
      if (s === "closed" && info.closeCode !== undefined && !fatal()) setFatal(info.closeReason || "The session closed the connection.");
      // Repeated failures to even open: maybe the ticket is refused (a refused upgrade looks like a network error).
      if ((s === "connecting" || s === "reconnecting") && info.failures >= 2 && info.failures % 2 === 0) void checkCredential();
    },
    onOpen: (reconnect) => {
      for (const fn of openListeners) fn(reconnect);
    },
  });

  return {
    sessionId: opts.sessionId,
    status,
    fatal,
    me,
    staff: () => staffStore.s,
    view: () => viewStore.v,
    placement,
    notices,
    chat,
    dismissNotice: (id) => setNotices((l) => l.filter((n) => n.id !== id)),
    lastError,
    // Read fresh: the signal only makes readers re-run once a second. Its stored value can be up to a second old,
    // which showed a 5 s closing countdown as "0:06" when the notice arrived just before a tick.
    now: () => {
      now();
      return Date.now() + offset();
    },
    command: (c) => conn.command(c),
    send: (m) => conn.send(m),
    onSignal: (fn) => (signalListeners.add(fn), () => signalListeners.delete(fn)),
    onNotice: (fn) => (noticeListeners.add(fn), () => noticeListeners.delete(fn)),
    onOpen: (fn) => (openListeners.add(fn), () => openListeners.delete(fn)),
    lastSeq: () => conn.lastSeq,
    close: () => {
      clearInterval(clock);
      clearInterval(refreshTimer);
      conn.close();
    },
  };
}
