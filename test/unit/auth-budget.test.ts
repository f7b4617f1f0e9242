/** MessageBudget: the per-socket token bucket, checked with fast-check properties. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MessageBudget, type MessageBudgetConfig } from "../../lib/runtime/token-bucket";

const T0 = 1_800_000_000_000;

const configArb = fc.record({
  capacity: fc.integer({ min: 1, max: 50 }),
  refillPerSecond: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.double({ min: 0.01, max: 20, noNaN: true })),
});
/** A run: gaps (ms) between attempts, and whether to serialise/restore the budget before each attempt. */
const runArb = fc.array(
  fc.record({ gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 5000 })), roundTrip: fc.boolean() }),
  {
    minLength: 1,
    maxLength: 300,
  },
);

function simulate(config: MessageBudgetConfig, run: { gap: number; roundTrip: boolean }[]) {
  let budget = new MessageBudget(config);
  let t = T0;
  const events: { t: number; ok: boolean }[] = [];
  for (const step of run) {
    t += step.gap;
    if (step.roundTrip) budget = MessageBudget.fromJSON(JSON.parse(JSON.stringify(budget)));
    events.push({ t, ok: budget.take(t) });
  }
  return events;
}

describe("MessageBudget", () => {
  it("never allows more than capacity + rate × elapsed in any window (also across serialisation)", () => {
    fc.assert(
      fc.property(configArb, runArb, (config, run) => {
        const events = simulate(config, run);
        for (let i = 0; i < events.length; i++) {
          let allowed = 0;
          for (let j = i; j < events.length; j++) {
            if (events[j].ok) allowed++;
            const bound = config.capacity + (config.refillPerSecond * (events[j].t - events[i].t)) / 1000;
            if (allowed > bound + 1e-9) return false;
          }
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it("allows a full burst of `capacity` from a fresh budget, then refuses at the same instant", () => {
    fc.assert(
      fc.property(configArb, (config) => {
        const b = new MessageBudget(config);
        for (let i = 0; i < config.capacity; i++) if (!b.take(T0)) return false;
        return b.take(T0) === false;
      }),
    );
  });

  it("recovers: after waiting retryAfterMs, a message is allowed again", () => {
    fc.assert(
      fc.property(
        configArb.filter((c) => c.refillPerSecond > 0),
        fc.integer({ min: 1, max: 200 }),
        (config, flood) => {
          const b = new MessageBudget(config);
          for (let i = 0; i < flood; i++) b.take(T0);
          const wait = b.retryAfterMs(T0);
          expect(Number.isFinite(wait)).toBe(true);
          return b.take(T0 + wait);
        },
      ),
    );
  });

  it("neither refills nor penalises when time runs backwards", () => {
    const b = new MessageBudget({ capacity: 3, refillPerSecond: 1 });
    expect([b.take(T0), b.take(T0)]).toEqual([true, true]);
    expect(b.take(T0 - 10_000)).toBe(true); // the last token, as at T0
    expect(b.take(T0 - 5_000)).toBe(false); // no refill from the earlier instant
    expect(b.take(T0 + 500)).toBe(false); // half a token since T0
    expect(b.take(T0 + 1000)).toBe(true);
  });

  it("serialises to a small JSON and restores fail-closed from garbage", () => {
    const b = new MessageBudget({ capacity: 20, refillPerSecond: 5 });
    for (let i = 0; i < 7; i++) b.take(T0 + i * 37);
    const json = JSON.stringify(b);
    expect(json.length).toBeLessThan(80);
    const restored = MessageBudget.fromJSON(JSON.parse(json));
    expect(restored.capacity).toBe(20);
    expect(restored.available(T0 + 222)).toBeCloseTo(b.available(T0 + 222), 2);

    for (const garbage of [null, undefined, "x", {}, { c: 5, r: 1, t: "lots", at: T0 }, { c: -1, r: "x", t: NaN }]) {
      const g = MessageBudget.fromJSON(garbage);
      expect(g.take(T0)).toBe(false); // no free full bucket from unreadable state
    }
    expect(MessageBudget.fromJSON({ c: 5, r: 1, t: 999, at: T0 }).available(T0)).toBe(5); // clamped to capacity
    expect(MessageBudget.fromJSON({ c: 50, r: 1, t: 40, at: T0 }, { capacity: 10, refillPerSecond: 1 }).available(T0)).toBe(10);
  });

  it("rejects invalid configuration and costs", () => {
    expect(() => new MessageBudget({ capacity: 0, refillPerSecond: 1 })).toThrow(RangeError);
    expect(() => new MessageBudget({ capacity: 1, refillPerSecond: -1 })).toThrow(RangeError);
    expect(() => new MessageBudget().take(T0, 0)).toThrow(RangeError);
  });
});
