/**
 * Ids that are names of Object.prototype properties ("__proto__", "constructor", "toString"…) are valid by the
 * protocol's id pattern, so they reach the engine. There they must mean nothing: a command naming one must be answered
 * exactly as one naming any other unknown id (same code), change nothing, and leave the session's D1 outbox healthy.
 * (A lookup like `ctx.members[id]` finds Object.prototype.toString for "toString" unless it checks own properties.)
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Command } from "../../lib/protocol";
import { d1, flush, stubFor } from "./helpers";
import { buildWorld, commandOverHttp, context, type Phase, type World } from "./authz-world";

const ID = /^[A-Za-z0-9_.:@-]{1,64}$/;
export const PROTOTYPE_IDS = Object.getOwnPropertyNames(Object.prototype).filter((k) => ID.test(k));

/** Commands with an id field, the phase in which they are considered, who sends them, and where the id goes. */
const TEMPLATES: { phase: Phase; as: "F" | "P1"; make: (id: string, w: World) => Command }[] = [
  { phase: "main", as: "F", make: (id) => ({ type: "admit", memberId: id }) },
  { phase: "main", as: "F", make: (id) => ({ type: "deny", memberId: id }) },
  { phase: "main", as: "F", make: (id) => ({ type: "removeMember", memberId: id }) },
  { phase: "main", as: "F", make: (id) => ({ type: "resolveHelp", memberId: id }) },
  { phase: "main", as: "F", make: (id) => ({ type: "createBreakouts", count: 2, mode: "auto", includeStaff: [id] }) },
  { phase: "preparing", as: "F", make: (id) => ({ type: "renameRoom", roomId: id, name: "Renamed" }) },
  { phase: "preparing", as: "F", make: (id) => ({ type: "deleteRoom", roomId: id }) },
  { phase: "preparing", as: "F", make: (id, w) => ({ type: "assign", memberId: w.P1.memberId, roomId: id }) },
  { phase: "preparing", as: "F", make: (id) => ({ type: "assign", memberId: id, roomId: "r1" }) },
  { phase: "preparing", as: "F", make: (id) => ({ type: "bulkAssign", assignments: [{ memberId: id, roomId: "r1" }] }) },
  { phase: "preparing", as: "F", make: (id) => ({ type: "preAssign", identity: "user:someone", roomId: id }) },
  { phase: "preparing", as: "P1", make: (id) => ({ type: "chooseRoom", roomId: id }) },
  { phase: "open", as: "F", make: (id) => ({ type: "move", memberId: id, to: "r2" }) },
  { phase: "open", as: "F", make: (id, w) => ({ type: "move", memberId: w.P1.memberId, to: id }) },
  { phase: "open", as: "F", make: (id, w) => ({ type: "swap", memberA: id, memberB: w.P1.memberId }) },
  { phase: "open", as: "F", make: (id) => ({ type: "closeRoom", roomId: id }) },
  { phase: "open", as: "F", make: (id) => ({ type: "renameRoom", roomId: id, name: "Renamed" }) },
  { phase: "open", as: "F", make: (id) => ({ type: "broadcast", text: "hi", roomId: id }) },
  { phase: "open", as: "F", make: (id) => ({ type: "visitRoom", to: id }) },
  { phase: "open", as: "F", make: (id, w) => ({ type: "bulkAssign", assignments: [{ memberId: w.P1.memberId, roomId: id }] }) },
];

describe("ids named like Object.prototype properties mean nothing", () => {
  const worlds = {} as Record<Phase, World>;

  beforeAll(async () => {
    for (const phase of ["main", "preparing", "open"] as Phase[]) worlds[phase] = await buildWorld(phase);
  }, 60_000);

  it("there are such ids the protocol accepts", () => {
    expect(PROTOTYPE_IDS).toEqual(expect.arrayContaining(["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty"]));
  });

  it("every command naming one is answered like an unknown id (or refused as invalid) and changes nothing", async () => {
    const wrong: string[] = [];
    for (const t of TEMPLATES) {
      const w = worlds[t.phase];
      const ticket = w[t.as].ticket;
      const baseline = await commandOverHttp(w.sessionId, ticket, t.make("no-such-id", w));
      expect(baseline.json.error?.code, "an unknown id is refused").toBeTruthy();
      for (const id of PROTOTYPE_IDS) {
        const before = await context(w.sessionId);
        const r = await commandOverHttp(w.sessionId, ticket, t.make(id, w));
        const after = await context(w.sessionId);
        const code = r.json?.error?.code;
        // Either exactly what any unknown id gets, or refused by the schema (reserved ids): never anything else.
        const ok = (r.status === baseline.status && code === baseline.json.error.code) || (r.status === 400 && code === "INVALID_MESSAGE");
        const unchanged = JSON.stringify(after) === JSON.stringify(before);
        if (!ok || !unchanged)
          wrong.push(
            `${JSON.stringify(t.make(id, w))} in ${t.phase} → ${r.status} ${code ?? "ack"}${unchanged ? "" : " (STATE CHANGED)"}, expected ${baseline.json.error.code}`,
          );
      }
    }
    if (wrong.length) expect.fail(`[engine fix needed: own-property lookups] ${wrong.length} answers differ from an unknown id's:\n${wrong.join("\n")}`);
  }, 60_000);

  it("the sessions' D1 outboxes are still healthy afterwards (no poisoned rows)", async () => {
    for (const w of Object.values(worlds)) {
      await flush(w.sessionId);
      expect((await stubFor(w.sessionId).debugState()).outbox).toBe(0);
      const members = await d1(`SELECT member_id FROM session_participants WHERE session_id = ?`, w.sessionId);
      expect(members.map((m) => m.member_id).filter((id) => !/^m\d+$/.test(id))).toEqual([]);
    }
  });
});
