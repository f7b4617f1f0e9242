import { describe, expect, it } from "vitest";
import { api, Client, createSession, d1, flush, joinSession, stubFor } from "./helpers";

const wsCases: [string, unknown, string][] = [
  ["malformed JSON", "{not json", "BAD_JSON"],
  ["unknown message type", { type: "teleport" }, "INVALID_MESSAGE"],
  ["unknown command", { type: "command", commandId: "bad-cmd-0001", command: { type: "teleport" } }, "INVALID_MESSAGE"],
  ["wrong field type", { type: "command", commandId: "bad-cmd-0002", command: { type: "createBreakouts", count: "three" } }, "INVALID_MESSAGE"],
  ["extra field", { type: "command", commandId: "bad-cmd-0003", command: { type: "endSession", now: 1 } }, "INVALID_MESSAGE"],
  ["missing command id", { type: "command", command: { type: "endSession" } }, "INVALID_MESSAGE"],
  ["too many rooms", { type: "command", commandId: "bad-cmd-0004", command: { type: "createBreakouts", count: 51 } }, "INVALID_MESSAGE"],
  ["oversized", "x".repeat(20_000), "MESSAGE_TOO_LARGE"],
  ["out of state", { type: "command", commandId: "bad-cmd-0005", command: { type: "openBreakouts" } }, "INVALID_STATE"],
  ["too few participants", { type: "command", commandId: "bad-cmd-0006", command: { type: "createBreakouts", count: 2 } }, "TOO_FEW_PARTICIPANTS"],
  ["unknown member", { type: "command", commandId: "bad-cmd-0007", command: { type: "admit", memberId: "m99" } }, "MEMBER_NOT_FOUND"],
];

describe("bad input changes nothing and gets a typed error", () => {
  it("over the WebSocket", async () => {
    const s = await createSession();
    const fac = await Client.connect(s.sessionId, s.ticket, "fac");
    await fac.next((m) => m.type === "snapshot");
    const stub = stubFor(s.sessionId);
    const before = await stub.debugState();
    for (const [name, frame, code] of wsCases) {
      const from = fac.messages.length;
      fac.send(frame);
      const err = await fac.next((m) => m.type === "error", 3000, from);
      expect(err.error.code, name).toBe(code);
      expect(typeof err.error.message, name).toBe("string");
    }
    const after = await stub.debugState();
    expect(after.context).toEqual(before.context);
    expect(after.seq).toBe(before.seq);
    // The refused commands are audited; nothing else was written.
    await flush(s.sessionId);
    const audit = await d1(`SELECT result FROM audit_log WHERE session_id = ? AND result LIKE 'refused:%' ORDER BY result`, s.sessionId);
    expect(audit.map((a) => a.result)).toEqual(["refused:INVALID_STATE", "refused:MEMBER_NOT_FOUND", "refused:TOO_FEW_PARTICIPANTS"]);
    // A participant's staff command is refused as FORBIDDEN.
    const p = await joinSession(s.sessionId, s.invite.token, "Pat");
    await fac.command({ type: "admit", memberId: p.memberId });
    const pc = await Client.connect(s.sessionId, p.ticket, "pat");
    await pc.next((m) => m.type === "snapshot");
    const denied = await pc.command({ type: "endSession" });
    expect(denied.error.code).toBe("FORBIDDEN");
    expect((await stub.debugState()).phase).toBe("main");
    fac.close();
    pc.close();
  });

  it("over HTTP", async () => {
    const s = await createSession();
    const stub = stubFor(s.sessionId);
    const before = await stub.debugState();
    const path = `/api/sessions/${s.sessionId}/commands`;
    const cases: [string, unknown, number, string][] = [
      ["malformed JSON", "{nope", 400, "BAD_JSON"],
      ["unknown command", { commandId: "http-bad-001", command: { type: "teleport" } }, 400, "INVALID_MESSAGE"],
      ["wrong field", { commandId: "http-bad-002", command: { type: "move", memberId: 7, to: "main" } }, 400, "INVALID_MESSAGE"],
      ["extra field", { commandId: "http-bad-003", command: { type: "endSession" }, sneaky: true }, 400, "INVALID_MESSAGE"],
      ["oversized", { commandId: "http-bad-004", command: { type: "broadcast", text: "x".repeat(20_000) } }, 413, "MESSAGE_TOO_LARGE"],
      ["out of state", { commandId: "http-bad-005", command: { type: "closeRoom", roomId: "r1" } }, 409, "INVALID_STATE"],
      ["too few", { commandId: "http-bad-006", command: { type: "createBreakouts", count: 3 } }, 409, "TOO_FEW_PARTICIPANTS"],
    ];
    for (const [name, body, status, code] of cases) {
      const r = await api(path, { token: s.ticket, body });
      expect(r.status, name).toBe(status);
      expect(r.json?.error?.code, name).toBe(code);
    }
    const noAuth = await api(path, { body: { commandId: "http-bad-007", command: { type: "endSession" } } });
    expect(noAuth.status).toBe(401);
    expect(noAuth.json.error.code).toBe("UNAUTHENTICATED");
    const badRoute = await api(`/api/sessions/${s.sessionId}/nope`, { token: s.ticket });
    expect(badRoute.status).toBe(404);
    expect(badRoute.json.error.code).toBe("NOT_FOUND");
    const mirror = await api(`/api/sessions/${s.sessionId}/breakout-rooms`, { token: s.ticket, body: { count: 2, names: ["a"] } });
    expect(mirror.json.error.code).toBe("INVALID_MESSAGE");
    const after = await stub.debugState();
    expect(after.context).toEqual(before.context);
  });
});
