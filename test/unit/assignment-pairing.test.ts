/**
 * Automatic assignment under pairing rules (issue 15 item 5), property-tested against brute force: over random small
 * groups, rooms and rules, autoAssign finds an assignment exactly when one exists, every assignment it gives keeps the
 * rules and capacities, and it is even (sizes differ by at most one) whenever an even one exists.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { autoAssign } from "../../durable-objects/logic/assignment";

type Pair = readonly [string, string];

const keeps = (plan: Record<string, string>, apart: readonly Pair[], together: readonly Pair[]) =>
  apart.every(([a, b]) => plan[a] !== plan[b]) && together.every(([a, b]) => plan[a] === plan[b]);

/** Every assignment of `people` to `rooms` by brute force: does a valid one exist, and an even valid one? */
function bruteForce(people: string[], rooms: { id: string; capacity: number }[], apart: Pair[], together: Pair[]) {
  let valid = false;
  let even = false;
  const choice = people.map(() => 0);
  for (;;) {
    const plan = Object.fromEntries(people.map((p, i) => [p, rooms[choice[i]].id]));
    const sizes = rooms.map((r) => people.filter((p) => plan[p] === r.id).length);
    if (sizes.every((n, i) => n <= rooms[i].capacity) && keeps(plan, apart, together)) {
      valid = true;
      if (Math.max(...sizes) - Math.min(...sizes) <= 1) even = true;
    }
    let i = 0;
    while (i < people.length && ++choice[i] === rooms.length) choice[i++] = 0;
    if (i === people.length) return { valid, even };
  }
}

const world = fc.record({ n: fc.integer({ min: 2, max: 8 }), k: fc.integer({ min: 1, max: 3 }), seed: fc.integer() }).chain(({ n, k, seed }) => {
  const pair = fc.tuple(fc.nat({ max: n - 1 }), fc.nat({ max: n - 1 })).filter(([a, b]) => a !== b);
  return fc.record({
    n: fc.constant(n),
    seed: fc.constant(seed),
    capacities: fc.array(fc.integer({ min: 1, max: n }), { minLength: k, maxLength: k }),
    apart: fc.array(pair, { maxLength: 5 }),
    together: fc.array(pair, { maxLength: 3 }),
  });
});

describe("autoAssign with pairing rules", () => {
  it("finds an assignment exactly when one exists; keeps rules and capacities; even whenever an even one exists", () => {
    fc.assert(
      fc.property(world, ({ n, seed, capacities, apart, together }) => {
        const people = Array.from({ length: n }, (_, i) => `m${i}`);
        const rooms = capacities.map((capacity, i) => ({ id: `r${i}`, capacity }));
        const ap = apart.map(([a, b]) => [people[a], people[b]] as const);
        const tg = together.map(([a, b]) => [people[a], people[b]] as const);
        const truth = bruteForce(people, rooms, ap, tg);
        const r = autoAssign({ memberIds: people, rooms, seed, apart: ap, together: tg });
        expect(r.ok, JSON.stringify({ capacities, ap, tg, r })).toBe(truth.valid);
        if (!r.ok) {
          if (ap.length || tg.length) expect(["PAIRING_IMPOSSIBLE", "NOT_ENOUGH_CAPACITY"]).toContain(r.reason);
          return;
        }
        expect(Object.keys(r.plan).sort()).toEqual([...people].sort());
        expect(keeps(r.plan, ap, tg)).toBe(true);
        const sizes = rooms.map((room) => people.filter((p) => r.plan[p] === room.id).length);
        sizes.forEach((size, i) => expect(size).toBeLessThanOrEqual(rooms[i].capacity));
        if (truth.even) expect(Math.max(...sizes) - Math.min(...sizes), JSON.stringify({ sizes, capacities, ap, tg })).toBeLessThanOrEqual(1);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 400) },
    );
  });

  it("says clearly when the rules cannot be kept: two who must be apart and together, or three mutually apart in two rooms", () => {
    const rooms = [
      { id: "r1", capacity: 5 },
      { id: "r2", capacity: 5 },
    ];
    expect(autoAssign({ memberIds: ["a", "b"], rooms, seed: 1, apart: [["a", "b"]], together: [["a", "b"]] })).toMatchObject({
      ok: false,
      reason: "PAIRING_IMPOSSIBLE",
    });
    const triangle: Pair[] = [
      ["a", "b"],
      ["b", "c"],
      ["a", "c"],
    ];
    expect(autoAssign({ memberIds: ["a", "b", "c", "d"], rooms, seed: 2, apart: triangle })).toMatchObject({ ok: false, reason: "PAIRING_IMPOSSIBLE" });
  });

  it("is deterministic for a seed and honours fixed placements with the rules", () => {
    const rooms = [
      { id: "r1", capacity: 3 },
      { id: "r2", capacity: 3 },
    ];
    const input = { memberIds: ["a", "b", "c", "d"], rooms, seed: 7, fixed: { a: "r2" }, apart: [["a", "b"]] as Pair[], together: [["c", "a"]] as Pair[] };
    const r = autoAssign(input);
    expect(r).toEqual(autoAssign(input));
    expect(r.ok && r.plan).toMatchObject({ a: "r2", c: "r2", b: "r1" });
  });
});
