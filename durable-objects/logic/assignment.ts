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
  /** Pairing rules: pairs who must not share a room, and pairs who must. */
  apart?: readonly (readonly [string, string])[];
  together?: readonly (readonly [string, string])[];
}

export type AutoAssignResult =
  | { ok: true; plan: Record<string, string> }
  | { ok: false; reason: "NO_ROOMS" | "NOT_ENOUGH_CAPACITY" | "PAIRING_IMPOSSIBLE"; needed: number; available: number };

/** Search steps per attempt before giving up on it (50 people in 50 rooms stays far below; only adversarial rules hit it). */
const SEARCH_BUDGET = 200_000;

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
  if (input.apart?.length || input.together?.length) return assignWithRules(input);
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

/**
 * Assignment under pairing rules: "together" pairs become groups placed as one; a depth-first search places groups
 * (largest first, the seed's order among equals) into the emptiest room that keeps every "apart" pair separate. It
 * first looks for an even assignment (every room within one of the others: sizes floor(n/k) or ceil(n/k)), then for
 * any assignment within capacities; the search is exhaustive, so "impossible" means no assignment satisfies the rules.
 */
function assignWithRules(input: AutoAssignInput): AutoAssignResult {
  const { rooms } = input;
  const roomIds = new Set(rooms.map((r) => r.id));
  // As without rules: a fixed placement into a room not in this round is not honoured.
  const fixed = Object.fromEntries(Object.entries(input.fixed ?? {}).filter(([, room]) => roomIds.has(room)));
  const everyone = [...new Set([...Object.keys(fixed), ...input.memberIds])];
  const total = everyone.length;
  if (rooms.length === 0) return { ok: false, reason: "NO_ROOMS", needed: total, available: 0 };
  const capacity = rooms.reduce((n, r) => n + r.capacity, 0);
  if (total > capacity) return { ok: false, reason: "NOT_ENOUGH_CAPACITY", needed: total, available: capacity };
  const known = new Set(everyone);

  // Groups of people who must share a room (union-find over "together").
  const parent = new Map(everyone.map((id) => [id, id]));
  const find = (x: string): string => (parent.get(x) === x ? x : find(parent.get(x)!));
  for (const [a, b] of input.together ?? []) if (known.has(a) && known.has(b)) parent.set(find(a), find(b));
  const byRoot = new Map<string, string[]>();
  for (const id of shuffled(everyone, input.seed)) byRoot.set(find(id), [...(byRoot.get(find(id)) ?? []), id]);
  const groups: { members: string[]; forced: string | null }[] = [];
  for (const members of byRoot.values()) {
    const rooms_ = new Set(members.filter((m) => m in fixed).map((m) => fixed[m]));
    if (rooms_.size > 1) return { ok: false, reason: "PAIRING_IMPOSSIBLE", needed: total, available: capacity };
    groups.push({ members, forced: rooms_.size ? [...rooms_][0] : null });
  }
  groups.sort((a, b) => Number(b.forced !== null) - Number(a.forced !== null) || b.members.length - a.members.length);
  const enemies = new Map<string, Set<string>>();
  for (const [a, b] of input.apart ?? []) {
    if (!known.has(a) || !known.has(b)) continue;
    if (find(a) === find(b)) return { ok: false, reason: "PAIRING_IMPOSSIBLE", needed: total, available: capacity };
    enemies.set(a, (enemies.get(a) ?? new Set()).add(b));
    enemies.set(b, (enemies.get(b) ?? new Set()).add(a));
  }

  const lo = Math.floor(total / rooms.length);
  const hi = Math.ceil(total / rooms.length);
  for (const even of [true, false]) {
    const max = rooms.map((r) => (even ? Math.min(hi, r.capacity) : r.capacity));
    const min = rooms.map(() => (even ? lo : 0));
    if (even && rooms.some((r) => r.capacity < lo)) continue;
    const count = rooms.map(() => 0);
    const inRoom = rooms.map(() => new Set<string>());
    const at = new Map<string, number>();
    let budget = SEARCH_BUDGET;
    const place = (g: number, remaining: number): boolean => {
      if (--budget < 0) return false;
      if (g === groups.length) return count.every((n, i) => n >= min[i]);
      // Prune: the people left must still be able to bring every room up to its minimum.
      let deficit = 0;
      for (let i = 0; i < rooms.length; i++) deficit += Math.max(0, min[i] - count[i]);
      if (deficit > remaining) return false;
      const { members, forced } = groups[g];
      const order = rooms.map((_, i) => i).sort((a, b) => count[a] - count[b] || a - b);
      for (const i of order) {
        if (forced !== null && rooms[i].id !== forced) continue;
        if (count[i] + members.length > max[i]) continue;
        if (members.some((m) => [...(enemies.get(m) ?? [])].some((x) => inRoom[i].has(x)))) continue;
        count[i] += members.length;
        for (const m of members) inRoom[i].add(m), at.set(m, i);
        if (place(g + 1, remaining - members.length)) return true;
        count[i] -= members.length;
        for (const m of members) inRoom[i].delete(m), at.delete(m);
      }
      return false;
    };
    if (place(0, total)) return { ok: true, plan: Object.fromEntries(everyone.map((id) => [id, rooms[at.get(id)!].id])) };
  }
  return { ok: false, reason: "PAIRING_IMPOSSIBLE", needed: total, available: capacity };
}
