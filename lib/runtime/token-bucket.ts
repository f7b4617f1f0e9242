/**
 * A token bucket for message budgets (session sockets, HTTP commands). Pure: time is an argument, so the same budget
 * can live in memory, in a WebSocket attachment or in storage.
 */
// ---------------------------------------------------------------------------------------------------------------

export interface MessageBudgetConfig {
  /** Burst size: messages allowed at once from a full bucket. */
  capacity: number;
  /** Sustained messages per second. */
  refillPerSecond: number;
}

/** Serialised form (short keys: it lives in a WebSocket attachment, 2 KiB in total). */
export interface MessageBudgetState {
  /** capacity */
  c: number;
  /** refill per second */
  r: number;
  /** tokens available at `at` */
  t: number;
  /** epoch ms of the last update; null before the first take */
  at: number | null;
}

/** Sensible default for a session socket: bursts of 20, 5 messages/s sustained. */
export const DEFAULT_MESSAGE_BUDGET: MessageBudgetConfig = { capacity: 20, refillPerSecond: 5 };

function validConfig(config: MessageBudgetConfig): boolean {
  return Number.isFinite(config.capacity) && config.capacity > 0 && Number.isFinite(config.refillPerSecond) && config.refillPerSecond >= 0;
}

/**
 * A token bucket: starts full; each accepted message takes `cost` tokens; tokens come back at `refillPerSecond`, never
 * above `capacity`. Over any interval [t1, t2] it accepts at most capacity + refillPerSecond × (t2 − t1)/1000 messages.
 * Time never runs backwards for it: an earlier `now` than the last seen refills nothing. Pure (time is an argument).
 */
export class MessageBudget {
  readonly capacity: number;
  readonly refillPerSecond: number;
  private tokens: number;
  private updatedAt: number | null;

  constructor(config: MessageBudgetConfig = DEFAULT_MESSAGE_BUDGET, state?: { tokens: number; updatedAt: number | null }) {
    if (!validConfig(config)) throw new RangeError("MessageBudget needs capacity > 0 and refillPerSecond >= 0");
    this.capacity = config.capacity;
    this.refillPerSecond = config.refillPerSecond;
    this.tokens = state ? Math.min(Math.max(state.tokens, 0), this.capacity) : this.capacity;
    this.updatedAt = state?.updatedAt ?? null;
  }

  private refill(now: number): void {
    if (!Number.isFinite(now)) return;
    if (this.updatedAt === null) {
      this.updatedAt = now;
      return;
    }
    if (now <= this.updatedAt) return;
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) * this.refillPerSecond) / 1000);
    this.updatedAt = now;
  }

  /** Takes `cost` tokens at `now` (epoch ms) if available; returns whether the message is allowed. */
  take(now: number, cost = 1): boolean {
    if (!(cost > 0) || !Number.isFinite(cost)) throw new RangeError("cost must be a positive number");
    this.refill(now);
    if (this.tokens >= cost) {
      this.tokens -= cost;
      return true;
    }
    return false;
  }

  /** Tokens available at `now` (refills as a side effect, like a take of 0). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** Milliseconds from `now` until `cost` tokens are available (Infinity when it can never be). */
  retryAfterMs(now: number, cost = 1): number {
    const have = this.available(now);
    if (have >= cost) return 0;
    if (cost > this.capacity || this.refillPerSecond === 0) return Infinity;
    return Math.ceil(((cost - have) * 1000) / this.refillPerSecond);
  }

  /** Small JSON for a WebSocket attachment. Tokens are rounded down (never up) to 1/1000. */
  toJSON(): MessageBudgetState {
    return { c: this.capacity, r: this.refillPerSecond, t: Math.floor(this.tokens * 1000) / 1000, at: this.updatedAt };
  }

  /**
   * Restores a budget. Invalid or missing state fails closed: an unreadable token count becomes 0 (not a fresh, full
   * bucket). `config`, when given, overrides the stored capacity/rate (e.g. after a deploy changed them).
   */
  static fromJSON(json: unknown, config?: MessageBudgetConfig): MessageBudget {
    const s = (json && typeof json === "object" ? json : {}) as Partial<Record<keyof MessageBudgetState, unknown>>;
    const stored = { capacity: Number(s.c), refillPerSecond: Number(s.r) };
    const cfg = config ?? (validConfig(stored) ? stored : DEFAULT_MESSAGE_BUDGET);
    const tokens = typeof s.t === "number" && Number.isFinite(s.t) ? s.t : 0;
    const at = typeof s.at === "number" && Number.isFinite(s.at) ? s.at : null;
    return new MessageBudget(cfg, { tokens, updatedAt: at });
  }
}
