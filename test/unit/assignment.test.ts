/**
 * assignment.ts: the PRNG and shuffle behind automatic assignment, autoAssign itself and smallestRoom (late joiners).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { autoAssign, prng, shuffled, smallestRoom, type RoomSlot } from "../../durable-objects/logic/assignment";

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
const rooms = (...caps: number[]): RoomSlot[] => caps.map((capacity, i) => ({ id: `r${i + 1}`, capacity }));
const sizes = (plan: Record<string, string>, slots: RoomSlot[]) => slots.map((r) => Object.values(plan).filter((x) => x === r.id).length);

describe("prng and shuffled", () => {
  it("prng is deterministic per seed and stays in [0, 1)", () => {
    const a = prng(123);
    const b = prng(123);
    const c = prng(124);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
    // Roughly uniform: each tenth of [0, 1) gets a fair share.
    const buckets = Array.from({ length: 10 }, (_, i) => xs.filter((x) => Math.floor(x * 10) === i).length);
    for (const n of buckets) expect(n).toBeGreaterThan(60);
  });

  it("shuffled returns a permutation, leaves its input alone, and depends on the seed", () => {
    const input = ids("m", 20);
    const copy = input.slice();
    const s1 = shuffled(input, 1);
    expect(input).toEqual(copy);
    expect([...s1].sort()).toEqual([...input].sort());
    expect(shuffled(input, 1)).toEqual(s1);
    expect(shuffled(input, 2)).not.toEqual(s1);
    expect(shuffled([], 5)).toEqual([]);
    expect(shuffled(["a"], 5)).toEqual(["a"]);
  });
});

describe("autoAssign", () => {
  it("without rooms: NO_ROOMS", () => {
    expect(autoAssign({ memberIds: ["m1"], rooms: [], seed: 1 })).toEqual({ ok: false, reason: "NO_ROOMS", needed: 1, available: 0 });
  });

  it("spreads people so sizes differ by at most one", () => {
    const r = autoAssign({ memberIds: ids("m", 10), rooms: rooms(50, 50, 50), seed: 7 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Object.keys(r.plan).sort()).toEqual(ids("m", 10).sort());
    expect(sizes(r.plan, rooms(50, 50, 50)).sort()).toEqual([3, 3, 4]);
  });

  it("ties go to the earlier room", () => {
    const r = autoAssign({ memberIds: ["m1"], rooms: rooms(5, 5, 5), seed: 3 });
    expect(r).toEqual({ ok: true, plan: { m1: "r1" } });
  });

  it("respects capacities, filling the others when a small room is full", () => {
    const slots = rooms(1, 10, 10);
    const r = autoAssign({ memberIds: ids("m", 9), rooms: slots, seed: 1 });
    expect(r.ok && sizes(r.plan, slots)).toEqual([1, 4, 4]);
  });

  it("refuses when capacity is short, saying how short", () => {
    expect(autoAssign({ memberIds: ids("m", 7), rooms: rooms(3, 3), seed: 1 })).toEqual({
      ok: false,
      reason: "NOT_ENOUGH_CAPACITY",
      needed: 7,
      available: 6,
    });
  });

  it("honours fixed placements and counts them towards room sizes", () => {
    const slots = rooms(10, 10);
    const fixed = { m1: "r1", m2: "r1", staff: "r1" };
    const r = autoAssign({ memberIds: ids("m", 6), rooms: slots, fixed, seed: 4 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.plan).toMatchObject(fixed);
    // 3 fixed in r1 (one of them not among memberIds), 4 free people: r2 takes three to catch up, the tie goes to r1.
    expect(sizes(r.plan, slots)).toEqual([4, 3]);
  });

  it("ignores fixed placements into unknown rooms (that person is placed normally)", () => {
    const r = autoAssign({ memberIds: ["m1", "m2"], rooms: rooms(5), fixed: { m1: "gone" }, seed: 1 });
    expect(r).toEqual({ ok: true, plan: { m1: "r1", m2: "r1" } });
  });

  it("never overfills a room with fixed placements: the extra ones are placed like anyone else", () => {
    const slots = rooms(2, 5);
    const r = autoAssign({ memberIds: ids("m", 4), rooms: slots, fixed: { m1: "r1", m2: "r1", m3: "r1" }, seed: 1 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.plan.m1).toBe("r1");
    expect(r.plan.m2).toBe("r1");
    expect(r.plan.m3).toBe("r2");
    expect(sizes(r.plan, slots)).toEqual([2, 2]);
  });

  it("is deterministic for a seed, and the seed matters", () => {
    const input = { memberIds: ids("m", 12), rooms: rooms(50, 50, 50, 50) };
    const a = autoAssign({ ...input, seed: 11 });
    expect(autoAssign({ ...input, seed: 11 })).toEqual(a);
    const others = [12, 13, 14, 15].map((seed) => autoAssign({ ...input, seed }));
    expect(others.some((o) => JSON.stringify(o) !== JSON.stringify(a))).toBe(true);
  });
});

describe("autoAssign properties", () => {
  const inputArb = fc
    .record({
      n: fc.integer({ min: 0, max: 50 }),
      caps: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 0, maxLength: 10 }),
      fixedPicks: fc.array(fc.tuple(fc.nat({ max: 59 }), fc.nat({ max: 11 })), { maxLength: 12 }),
      seed: fc.integer(),
    })
    .map(({ n, caps, fixedPicks, seed }) => {
      const slots = rooms(...caps);
      const memberIds = ids("m", n);
      // Fixed placements: some members, some outsiders (staff), some into rooms that do not exist.
      const fixed: Record<string, string> = {};
      for (const [who, where] of fixedPicks) fixed[who < 50 ? `m${who + 1}` : `s${who}`] = `r${where + 1}`;
      return { memberIds, rooms: slots, fixed, seed };
    });

  it("places everyone or explains why not; never over capacity; honours what fixed placements fit", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const r = autoAssign(input);
        const known = new Set(input.rooms.map((x) => x.id));
        const cap = new Map(input.rooms.map((x) => [x.id, x.capacity]));
        // Fixed placements honoured in order while their room has space.
        const honoured: Record<string, string> = {};
        const used = new Map<string, number>();
        for (const [m, room] of Object.entries(input.fixed)) {
          if (!known.has(room) || (used.get(room) ?? 0) >= cap.get(room)!) continue;
          honoured[m] = room;
          used.set(room, (used.get(room) ?? 0) + 1);
        }
        const free = input.memberIds.filter((m) => !(m in honoured));
        const available = input.rooms.reduce((n, x) => n + x.capacity - (used.get(x.id) ?? 0), 0);
        if (!r.ok) {
          if (input.rooms.length === 0) expect(r.reason).toBe("NO_ROOMS");
          else expect(r).toEqual({ ok: false, reason: "NOT_ENOUGH_CAPACITY", needed: free.length, available });
          return;
        }
        expect(input.rooms.length).toBeGreaterThan(0);
        expect(free.length).toBeLessThanOrEqual(available);
        expect(r.plan).toMatchObject(honoured);
        expect(Object.keys(r.plan).sort()).toEqual([...new Set([...input.memberIds, ...Object.keys(honoured)])].sort());
        const count = new Map<string, number>();
        for (const room of Object.values(r.plan)) {
          expect(known.has(room)).toBe(true);
          count.set(room, (count.get(room) ?? 0) + 1);
        }
        for (const x of input.rooms) expect(count.get(x.id) ?? 0).toBeLessThanOrEqual(x.capacity);
        // Water-filling: a room that received anyone freely is at most one larger than any room with space left.
        for (const x of input.rooms) {
          const freeIn = free.some((m) => r.plan[m] === x.id);
          if (!freeIn) continue;
          for (const y of input.rooms) {
            const ny = count.get(y.id) ?? 0;
            if (ny < y.capacity) expect(ny).toBeGreaterThanOrEqual((count.get(x.id) ?? 0) - 1);
          }
        }
        expect(autoAssign(input)).toEqual(r);
      }),
      { numRuns: 400 },
    );
  });

  it("with no fixed placements and enough room in every room, sizes differ by at most one", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 50 }), fc.integer(), fc.nat({ max: 5 }), (n, k, seed, slack) => {
        const per = Math.ceil(n / k);
        const slots = Array.from({ length: k }, (_, i) => ({ id: `r${i}`, capacity: Math.min(50, Math.max(1, per + ((i * 7 + slack) % (slack + 1)))) }));
        const r = autoAssign({ memberIds: ids("m", n), rooms: slots, seed });
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        const s = sizes(r.plan, slots);
        expect(Math.max(...s) - Math.min(...s)).toBeLessThanOrEqual(1);
        expect(s.reduce((a, b) => a + b, 0)).toBe(n);
      }),
      { numRuns: 400 },
    );
  });
});

describe("smallestRoom", () => {
  it("picks the room with the fewest people and space left, the earlier one on ties", () => {
    const slots = rooms(3, 3, 3);
    const counts: Record<string, number> = { r1: 2, r2: 1, r3: 1 };
    expect(smallestRoom(slots, (id) => counts[id])).toBe("r2");
    expect(smallestRoom(rooms(1, 5), (id) => (id === "r1" ? 0 : 4))).toBe("r1");
    expect(smallestRoom(rooms(1, 5), (id) => (id === "r1" ? 1 : 4))).toBe("r2");
  });

  it("returns null when every room is full or there are none", () => {
    expect(smallestRoom(rooms(2, 2), () => 2)).toBeNull();
    expect(smallestRoom([], () => 0)).toBeNull();
  });

  it("property: the choice has space and no room with space holds fewer", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 12 })), { maxLength: 12 }), (spec) => {
        const slots = spec.map(([capacity], i) => ({ id: `r${i}`, capacity }));
        const countOf = (id: string) => spec[Number(id.slice(1))][1];
        const pick = smallestRoom(slots, countOf);
        const withSpace = slots.filter((r) => countOf(r.id) < r.capacity);
        if (withSpace.length === 0) {
          expect(pick).toBeNull();
          return;
        }
        const min = Math.min(...withSpace.map((r) => countOf(r.id)));
        expect(pick).toBe(withSpace.find((r) => countOf(r.id) === min)!.id);
      }),
      { numRuns: 300 },
    );
  });
});
