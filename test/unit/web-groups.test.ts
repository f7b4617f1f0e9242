/** web/src/lib/groups.ts: the group page's attendance table from the history the server sends. */
import { describe, expect, it } from "vitest";
import { historyTable, minutesText } from "../../web/src/lib/groups";

describe("group attendance table", () => {
  it("one column per session in the server's order, a cell per client and session, null where they missed it", () => {
    const table = historyTable({
      sessions: [
        { sessionId: "s2", title: "Week 2", startedAt: 2, endedAt: 3, attended: 1 },
        { sessionId: "s1", title: "Week 1", startedAt: 1, endedAt: 2, attended: 2 },
      ],
      members: [
        { identity: "guest:a", name: "Ana", firstSeenAt: 1, lastSeenAt: 2, sessionsAttended: 2, minutes: { s1: 50.2, s2: 44 } },
        { identity: "guest:b", name: "Ben", firstSeenAt: 1, lastSeenAt: 1, sessionsAttended: 1, minutes: { s1: 0.4 } },
      ],
    });
    expect(table.columns.map((c) => c.sessionId)).toEqual(["s2", "s1"]);
    expect(table.rows.map((r) => [r.name, r.attended, r.cells])).toEqual([
      ["Ana", 2, [44, 50.2]],
      ["Ben", 1, [null, 0.4]],
    ]);
    expect(table.rows[1].cells.map(minutesText)).toEqual(["—", "<1"]);
    expect(minutesText(50.2)).toBe("50");
    expect(minutesText(0)).toBe("0");
  });
});
