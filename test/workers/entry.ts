/**
 * The Worker as the workers tests run it: the production app, and the session Durable Object with test-only methods
 * (state inspection, a movable session clock, provider results and injected faults). None of these is on the
 * production class: tests reach them through `stubFor` (helpers.ts).
 */
import type { MediaAuthority } from "../../durable-objects/grants";
import type { SystemEvent } from "../../durable-objects/logic/model";
import { SYSTEM } from "../../durable-objects/logic/model";
import { phaseOf } from "../../durable-objects/logic/machine";
import { SessionDurableObject as ProductionSessionDurableObject } from "../../durable-objects/session-do";
import type { MediaProvider, Role } from "../../lib/protocol";
import type { MessageBudgetConfig } from "../../lib/runtime/token-bucket";
import { budgetConfig, connectionBudgetConfig } from "../../durable-objects/sockets";
import { app } from "../../worker/app";

export default app;

type WithoutNow<E> = E extends unknown ? Omit<E, "now"> : never;

export class SessionDurableObject extends ProductionSessionDurableObject {
  /** Development clock offset added to the wall clock (stored, so it survives eviction). */
  private clockOffset: number | null = null;
  private signingFaults = 0;

  private offset(): number {
    this.clockOffset ??= Number(this.store.kvGet("test:clockOffset") ?? 0);
    return this.clockOffset;
  }

  protected override now(): number {
    return Date.now() + this.offset();
  }

  protected override wallClock(sessionTime: number): number {
    return sessionTime - this.offset();
  }

  protected override mediaAuthorityFor(provider: MediaProvider): MediaAuthority {
    const real = super.mediaAuthorityFor(provider);
    return {
      provider: real.provider,
      ttlMs: real.ttlMs,
      grant: async (identity, room, now) => {
        if (this.signingFaults > 0) {
          this.signingFaults--;
          throw new Error("injected: token signing failed");
        }
        return real.grant(identity, room, now);
      },
    };
  }

  protected override messageBudget(role: Role): MessageBudgetConfig {
    const spec = this.store.kvGet(`test:budget:${role === "participant" ? "participant" : "staff"}`);
    return spec ? budgetConfig(spec, role) : super.messageBudget(role);
  }

  protected override connectionBudget(): MessageBudgetConfig {
    const spec = this.store.kvGet("test:budget:connect");
    return spec ? connectionBudgetConfig(spec) : super.connectionBudget();
  }

  /** Message and connection budgets "burst/perSecond" for this session's members (before they connect), e.g. for a parser fuzz. */
  async setMessageBudgets(budgets: { participant?: string; staff?: string; connect?: string }): Promise<void> {
    if (budgets.participant) this.store.kvSet("test:budget:participant", budgets.participant);
    if (budgets.staff) this.store.kvSet("test:budget:staff", budgets.staff);
    if (budgets.connect) this.store.kvSet("test:budget:connect", budgets.connect);
  }

  private handled = 0;

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    this.handled++;
    return super.webSocketMessage(ws, message);
  }

  /** WebSocket messages that ran the session's code (keepalives answered by the runtime do not). */
  async messagesHandled(): Promise<number> {
    return this.handled;
  }

  /** The next `count` token signings fail (as a broken key or a crypto error would). */
  async failSigning(count = 1): Promise<void> {
    this.signingFaults = count;
  }

  /** Move the session clock forward (timers without waiting). */
  async advanceClock(ms: number): Promise<number> {
    return this.serial(async () => {
      this.clockOffset = this.offset() + ms;
      this.store.kvSet("test:clockOffset", String(this.clockOffset));
      await this.scheduleAlarm();
      return this.now();
    });
  }

  /** Feed a system event (a provider result, an arrival) as the provider collaborators would. */
  async applySystemEvent(event: WithoutNow<SystemEvent>): Promise<void> {
    await this.serial(() => this.handle({ ...event, now: this.now() } as SystemEvent, SYSTEM));
  }

  async sweepProviderRooms(): Promise<{ completed: string[]; kicked: string[] }> {
    return this.provider ? this.provider.sweep() : { completed: [], kicked: [] };
  }

  /** The engine's whole state in memory, and bookkeeping. */
  async debugState() {
    const snap = this.snapshot;
    return {
      context: snap?.context ?? null,
      phase: snap ? phaseOf(snap) : null,
      seq: this.seq,
      eventNo: this.eventNo,
      outbox: this.outbox.size(),
      alarm: await this.ctx.storage.getAlarm(),
    };
  }

  /** What storage holds, rebuilt as a fresh instance would load it (memory must equal it after any event). */
  async storedState() {
    const loaded = this.store.load();
    return loaded
      ? {
          context: loaded.snapshot.context,
          phase: phaseOf(loaded.snapshot),
          seq: loaded.seq,
          eventNo: loaded.eventNo,
          grants: Object.fromEntries(this.store.loadGrants()),
        }
      : null;
  }

  async heldGrants() {
    return Object.fromEntries(this.grants?.entries() ?? []);
  }
}
