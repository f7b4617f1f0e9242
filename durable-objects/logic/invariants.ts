/**
 * Invariants that hold after every event. Tests check them after each step of random command sequences;
 * the soak checker runs them every second.
 */
import { MAIN_ROOM, MAX_ROOM_CAPACITY, type SessionPhase } from "../../lib/protocol";
import { contextPhase, occupancy, type SessionContext } from "./model";

export function invariantViolations(ctx: SessionContext, phase: SessionPhase): string[] {
  const out: string[] = [];
  if (contextPhase(ctx) !== phase) out.push(`phase ${phase} but context says ${contextPhase(ctx)}`);
  for (const m of Object.values(ctx.members)) {
    if (m.status === "admitted") {
      if (m.location === null) out.push(`${m.id} is admitted but nowhere`);
      else if (ctx.checkIns[m.location]) {
        const k = ctx.checkIns[m.location];
        if (k.clientId !== m.id && k.staffId !== m.id) out.push(`${m.id} is in check-in ${k.id}, which is not theirs`);
      } else if (m.location !== MAIN_ROOM) {
        const r = ctx.rooms[m.location];
        if (!r) out.push(`${m.id} is in unknown room ${m.location}`);
        else if (r.status !== "open") out.push(`${m.id} is in ${r.status} room ${r.id}`);
      }
    } else if (m.location !== null) out.push(`${m.id} is ${m.status} but placed in ${m.location}`);
  }
  let admitted = 0;
  for (const m of Object.values(ctx.members)) if (m.status === "admitted") admitted++;
  if (admitted > MAX_ROOM_CAPACITY) out.push(`${admitted} admitted > ${MAX_ROOM_CAPACITY}`);
  for (const r of Object.values(ctx.rooms)) {
    const n = occupancy(ctx, r.id);
    if (n > r.capacity) out.push(`room ${r.id} holds ${n} > capacity ${r.capacity}`);
    if (r.capacity > MAX_ROOM_CAPACITY) out.push(`room ${r.id} capacity ${r.capacity} > ${MAX_ROOM_CAPACITY}`);
    if (r.status === "open" && (phase === "main" || phase === "preparing" || phase === "ended")) out.push(`room ${r.id} open in ${phase}`);
    if (r.status === "preparing" && phase !== "preparing") out.push(`room ${r.id} preparing in ${phase}`);
    if (r.status === "open" && (n === 0) !== (r.emptySince !== null)) out.push(`room ${r.id} emptySince disagrees with occupancy ${n}`);
  }
  if (ctx.round) {
    for (const [memberId, roomId] of Object.entries(ctx.round.plan)) {
      if (!ctx.members[memberId]) out.push(`plan names unknown member ${memberId}`);
      if (!ctx.rooms[roomId]) out.push(`plan names unknown room ${roomId}`);
    }
  }
  const pairs = new Set<string>();
  for (const r of ctx.pairRules ?? []) {
    if (!(r.memberA < r.memberB)) out.push(`pairing rule ${r.memberA}/${r.memberB} is not in order`);
    if (pairs.has(`${r.memberA}|${r.memberB}`)) out.push(`two pairing rules for ${r.memberA}/${r.memberB}`);
    pairs.add(`${r.memberA}|${r.memberB}`);
    for (const id of [r.memberA, r.memberB]) {
      const m = ctx.members[id];
      if (!m) out.push(`pairing rule names unknown member ${id}`);
      else if (m.status === "denied") out.push(`pairing rule names ${m.status} member ${id}`);
    }
  }
  if ((phase === "main" || phase === "ended") && ctx.round !== null) out.push(`round present in ${phase}`);
  return out;
}
