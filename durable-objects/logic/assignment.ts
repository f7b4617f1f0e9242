/**
 * Automatic assignment: spread people over rooms so that sizes differ by at most one (when nothing else is
 * fixed), honouring pre-assignments and capacities. Deterministic for a given seed, so a replayed event log
 * yields the same rooms.
 */

export interface RoomSlot {
  id: string;
  capacity: number;
}

export interface AutoAssignInput {
  /** Members to place, in a stable order (join order). */
  memberIds: readonly string[];
  rooms: readonly RoomSlot[];
  /** Fixed placements (pre-assignment by identity, chosen staff) that count towards room sizes. */
  fixed?: Readonly<Record<string, string>>;
  seed: number;
}

export type AutoAssignResult =
  | { ok: true; plan: Record<string, string> }
  | { ok: false; reason: "NO_ROOMS" | "NOT_ENOUGH_CAPACITY"; needed: number; available: number };

/** mulberry32: a tiny, well-distributed PRNG; enough for shuffling people into rooms. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  const rand = prng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export function autoAssign(input: AutoAssignInput): AutoAssignResult {
  const { rooms } = input;
  const fixed = input.fixed ?? {};
  if (rooms.length === 0) return { ok: false, reason: "NO_ROOMS", needed: input.memberIds.length, available: 0 };

  const count = new Map<string, number>(rooms.map((r) => [r.id, 0]));
  const plan: Record<string, string> = {};
  const capacityOf = new Map<string, number>(rooms.map((r) => [r.id, r.capacity]));
  for (const [memberId, roomId] of Object.entries(fixed)) {
    // A fixed placement into an unknown or already full room is not honoured (that person is placed like anyone else).
    if (!count.has(roomId) || count.get(roomId)! >= capacityOf.get(roomId)!) continue;
    plan[memberId] = roomId;
    count.set(roomId, count.get(roomId)! + 1);
  }
  const free = input.memberIds.filter((id) => !(id in plan));
  const available = rooms.reduce((n, r) => n + Math.max(0, r.capacity - count.get(r.id)!), 0);
  if (free.length > available) return { ok: false, reason: "NOT_ENOUGH_CAPACITY", needed: free.length, available };

  // Each person goes to the emptiest room that still has space; ties go to the earlier room.
  for (const memberId of shuffled(free, input.seed)) {
    let best: RoomSlot | undefined;
    for (const r of rooms) {
      const n = count.get(r.id)!;
      if (n >= r.capacity) continue;
      if (!best || n < count.get(best.id)!) best = r;
    }
    plan[memberId] = best!.id;
    count.set(best!.id, count.get(best!.id)! + 1);
  }
  return { ok: true, plan };
}

/** The open room with the fewest people and space left (for late joiners), or null. */
export function smallestRoom(rooms: readonly RoomSlot[], countOf: (roomId: string) => number): string | null {
  let best: string | null = null;
  let bestCount = Infinity;
  for (const r of rooms) {
    const n = countOf(r.id);
    if (n < r.capacity && n < bestCount) {
      best = r.id;
      bestCount = n;
    }
  }
  return best;
}
