/**
 * The session's WebSockets (hibernation API): who each socket belongs to (its attachment), at most
 * MAX_SOCKETS_PER_MEMBER per member (the newest wins; the oldest is closed with CLOSE_CODES.replaced), and one message
 * budget per member shared by all of that member's sockets. The budget is written into the taking socket's
 * attachment on every take, so it survives hibernation: on wake, a member's budget is the latest one any of its
 * sockets carries. While awake it is kept even when the member has no socket, so a reconnect does not refill it. Keepalives never reach this code (the runtime's auto-response answers them).
 */
import { CLOSE_CODES, isStaff, MAX_SOCKETS_PER_MEMBER, type Role } from "../lib/protocol";
import { MessageBudget, type MessageBudgetConfig, type MessageBudgetState } from "../lib/runtime/token-bucket";

export interface SocketAttachment {
  memberId: string;
  role: Role;
  /** Session clock when the socket connected (the oldest of a member's sockets goes first). */
  connectedAt: number;
  /** The member's shared budget as of this socket's last take. */
  budget: MessageBudgetState;
  /** How many messages the member had sent when this socket last took one (the highest is the latest budget). */
  taken: number;
}

/** What the hub needs of the runtime: the Durable Object state's socket calls, and a way to make a socket pair. */
export interface SocketHost {
  acceptWebSocket(ws: WebSocket, tags?: string[]): void;
  getWebSockets(tag?: string): WebSocket[];
  newPair(): [client: WebSocket, server: WebSocket];
}

export function durableObjectSockets(ctx: DurableObjectState): SocketHost {
  return {
    acceptWebSocket: (ws, tags) => ctx.acceptWebSocket(ws, tags),
    getWebSockets: (tag) => ctx.getWebSockets(tag),
    newPair: () => {
      const pair = new WebSocketPair();
      return [pair[0], pair[1]];
    },
  };
}

export interface SocketEntry {
  ws: WebSocket;
  memberId: string;
  staff: boolean;
}

export class SocketHub {
  /** Attachments read once per socket per instance (deserializeAttachment is a structured-clone read each time). */
  private readonly attachments = new WeakMap<WebSocket, SocketAttachment>();
  private readonly budgets = new Map<string, { budget: MessageBudget; taken: number }>();
  /** New connections per member: a reconnect loop is refused before any work, apart from the message budget. */
  private readonly connectionBudgets = new Map<string, MessageBudget>();
  /** Sockets closed for flooding or replaced: anything they still send is dropped. */
  private readonly cutOff = new WeakSet<WebSocket>();

  constructor(
    private readonly host: SocketHost,
    private readonly budgetFor: (role: Role) => MessageBudgetConfig,
    private readonly connectionBudget: () => MessageBudgetConfig = () => connectionBudgetConfig(undefined),
  ) {}

  /** Accept a new socket for a member; their oldest sockets beyond the cap are closed (newest wins). */
  accept(memberId: string, role: Role, now: number): { client: WebSocket; server: WebSocket } {
    const [client, server] = this.host.newPair();
    const mine = this.of(memberId)
      .map((ws) => ({ ws, at: this.attachment(ws)?.connectedAt ?? 0 }))
      .sort((a, b) => a.at - b.at);
    for (const old of mine.slice(0, Math.max(0, mine.length - (MAX_SOCKETS_PER_MEMBER - 1))))
      this.close(old.ws, CLOSE_CODES.replaced, "opened in another tab or window");
    this.host.acceptWebSocket(server, [`m:${memberId}`, isStaff(role) ? "staff" : "participants"]);
    const b = this.budgetOf(memberId, role);
    const att: SocketAttachment = { memberId, role, connectedAt: now, budget: b.budget.toJSON(), taken: b.taken };
    server.serializeAttachment(att);
    this.attachments.set(server, att);
    return { client, server };
  }

  attachment(ws: WebSocket): SocketAttachment | null {
    let a = this.attachments.get(ws);
    if (!a) {
      a = (ws.deserializeAttachment() as SocketAttachment | null) ?? undefined;
      if (a) this.attachments.set(ws, a);
    }
    return a ?? null;
  }

  /** Open sockets of one member. */
  of(memberId: string): WebSocket[] {
    return this.host.getWebSockets(`m:${memberId}`).filter((ws) => ws.readyState === WebSocket.OPEN && !this.cutOff.has(ws));
  }

  /** Every socket with its member, listed once (one listing per event, not one tag lookup per frame). */
  entries(): SocketEntry[] {
    const out: SocketEntry[] = [];
    for (const ws of this.host.getWebSockets()) {
      const a = this.attachment(ws);
      if (a && !this.cutOff.has(ws)) out.push({ ws, memberId: a.memberId, staff: isStaff(a.role) });
    }
    return out;
  }

  /** Whether a frame from this socket may be handled: not cut off, and within its member's budget. */
  usable(ws: WebSocket): boolean {
    return !this.cutOff.has(ws) && ws.readyState === WebSocket.OPEN;
  }

  /** Takes one message from the member's shared budget; the new budget goes into this socket's attachment. */
  take(ws: WebSocket, now: number): boolean {
    const a = this.attachment(ws);
    if (!a) return false;
    const b = this.budgetOf(a.memberId, a.role);
    const ok = b.budget.take(now);
    b.taken++;
    a.budget = b.budget.toJSON();
    a.taken = b.taken;
    ws.serializeAttachment(a);
    return ok;
  }

  /**
   * Takes one message from a member's budget for a request that came without a socket (an HTTP command): 0 when
   * allowed, else how long until one would be.
   */
  takeFor(memberId: string, role: Role, now: number): number {
    const b = this.budgetOf(memberId, role);
    if (b.budget.take(now)) {
      b.taken++;
      return 0;
    }
    return Math.min(b.budget.retryAfterMs(now), 60_000);
  }

  /** Takes one new connection from the member's connection budget: 0 when allowed, else how long until one would be. */
  takeConnection(memberId: string, now: number): number {
    let b = this.connectionBudgets.get(memberId);
    if (!b) this.connectionBudgets.set(memberId, (b = new MessageBudget(this.connectionBudget())));
    return b.take(now) ? 0 : Math.min(b.retryAfterMs(now), 60_000);
  }

  /**
   * The member's budget: in memory while awake; after hibernation, the latest state any of their sockets carries
   * (a fresh, full budget only for a member with no socket yet).
   */
  private budgetOf(memberId: string, role: Role): { budget: MessageBudget; taken: number } {
    let b = this.budgets.get(memberId);
    if (b) return b;
    let latest: SocketAttachment | null = null;
    for (const ws of this.host.getWebSockets(`m:${memberId}`)) {
      const a = this.attachment(ws);
      if (a?.budget && (latest === null || (a.taken ?? 0) > (latest.taken ?? 0))) latest = a;
    }
    b = latest
      ? { budget: MessageBudget.fromJSON(latest.budget, this.budgetFor(role)), taken: latest.taken ?? 0 }
      : { budget: new MessageBudget(this.budgetFor(role)), taken: 0 };
    this.budgets.set(memberId, b);
    return b;
  }

  /** Close a socket with a code; anything it still sends is dropped. */
  close(ws: WebSocket, code: number, reason: string) {
    this.cutOff.add(ws);
    try {
      ws.close(code, reason);
    } catch {
      /* already closed */
    }
  }

  send(ws: WebSocket, text: string) {
    try {
      ws.send(text);
    } catch {
      // A socket that is closing will resume from its last seq when it reconnects.
    }
  }
}

export function budgetConfig(spec: string | undefined, role: Role): MessageBudgetConfig {
  const [c, r] = (spec ?? (role === "participant" ? "30/10" : "600/300")).split("/").map(Number);
  return { capacity: c > 0 ? c : 30, refillPerSecond: r >= 0 ? r : 10 };
}

/**
 * New connections per member (SOCKET_CONNECT_BUDGET, default "10/1"): tabs, reconnects after a network change or a
 * restart, never dozens a minute. Kept in memory only: a socket that connects wakes the object anyway, and eviction
 * forgets at most one burst.
 */
export function connectionBudgetConfig(spec: string | undefined): MessageBudgetConfig {
  const [c, r] = (spec ?? "10/1").split("/").map(Number);
  return { capacity: c > 0 ? c : 10, refillPerSecond: r >= 0 ? r : 1 };
}
