/** audit_log rows: the pure builder, and insert-or-ignore writes against a real D1 (Miniflare) with the migrations. */
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migratedD1 } from "./helpers/auth";
import { audit, auditId, auditResult, buildAuditRow, writeAuditRows } from "../../worker/auth/audit";

const AT = Date.UTC(2026, 5, 1, 12, 0, 0);

describe("buildAuditRow (pure)", () => {
  it("maps input to the audit_log columns", () => {
    expect(
      buildAuditRow({
        id: auditId("s1", 42, "move", "m-2"),
        sessionId: "s1",
        actor: "m-1",
        actorRole: "facilitator",
        action: "move",
        target: "m-2",
        result: "ok",
        at: AT,
      }),
    ).toEqual({ id: "s1:42:move:m-2", session_id: "s1", actor: "m-1", actor_role: "facilitator", action: "move", target: "m-2", result: "ok", at: AT });
  });

  it("formats refusals as refused:<CODE> and nulls optional fields", () => {
    const row = buildAuditRow({ id: "x", actor: "system", action: "join", result: "WRONG_SESSION", at: AT });
    expect(row).toMatchObject({ session_id: null, actor_role: null, target: null, result: "refused:WRONG_SESSION" });
    expect(auditResult({ refused: "FORBIDDEN" })).toBe("refused:FORBIDDEN");
  });

  it("rejects unknown result codes and invalid input", () => {
    expect(() => auditResult("NOPE" as never)).toThrow(TypeError);
    expect(() => buildAuditRow({ id: "", actor: "a", action: "b", result: "ok", at: AT })).toThrow(TypeError);
    expect(() => buildAuditRow({ id: "i", actor: "", action: "b", result: "ok", at: AT })).toThrow(TypeError);
    expect(() => buildAuditRow({ id: "i", actor: "a", action: "b", result: "ok", at: 1.5 })).toThrow(TypeError);
  });

  it("truncates long free-text fields", () => {
    expect(buildAuditRow({ id: "i", actor: "a", action: "b", target: "t".repeat(500), result: "ok", at: AT }).target).toHaveLength(200);
  });
});

describe("writeAuditRows (D1)", () => {
  let mf: Miniflare;
  let DB: D1Database;

  beforeAll(async () => {
    ({ mf, DB } = await migratedD1("auth-audit-test"));
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
  });

  it("inserts rows once: a retried write with the same ids is ignored", async () => {
    const rows = [
      buildAuditRow({ id: "s1:1:admit", sessionId: "s1", actor: "f", actorRole: "facilitator", action: "admit", target: "p", result: "ok", at: AT }),
      buildAuditRow({ id: "s1:2:move", sessionId: "s1", actor: "p", actorRole: "participant", action: "move", target: "p", result: "FORBIDDEN", at: AT + 1 }),
    ];
    expect(await writeAuditRows(DB, rows)).toBe(2);
    expect(await writeAuditRows(DB, rows)).toBe(0);
    // same id, different content: still ignored (first write wins)
    expect(await writeAuditRows(DB, [{ ...rows[0], result: "refused:INTERNAL" }])).toBe(0);
    const { results } = await DB.prepare("SELECT * FROM audit_log WHERE session_id = 's1' ORDER BY at").all();
    expect(results).toEqual(rows.map((r) => ({ ...r, count: 1 })));
  });

  it("audit() builds and writes one row; an empty batch is a no-op", async () => {
    const row = await audit(DB, { id: "w:1", actor: "ip:203.0.113.7", action: "join", result: "RATE_LIMITED", at: AT });
    expect(await DB.prepare("SELECT result FROM audit_log WHERE id = ?").bind(row.id).first("result")).toBe("refused:RATE_LIMITED");
    expect(await writeAuditRows(DB, [])).toBe(0);
  });
});
