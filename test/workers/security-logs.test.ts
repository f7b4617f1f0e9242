/**
 * Whatever the Worker and the session Durable Object log while handling credential-bearing traffic (tickets in
 * Authorization headers and ?ticket=, invites in bodies, user tokens, tampered tokens, refusals, errors), no log line
 * contains a credential. Captures console output in the isolate the Worker and the Durable Object run in.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { api, Client, joinSession, signIn } from "./helpers";
import { upgrade } from "./authz-world";

describe("logs carry no credentials", () => {
  const lines: string[] = [];
  const spies: ReturnType<typeof vi.spyOn>[] = [];

  beforeAll(() => {
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      const original = console[level].bind(console);
      spies.push(
        vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
          lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
          original(...args);
        }),
      );
    }
  });
  afterAll(() => spies.forEach((s) => s.mockRestore()));

  it("during sign-in, create, invite, join, sockets, commands, refusals and tampered tokens", async () => {
    const userToken = await signIn("Logger", "facilitator");
    const created = await api("/api/sessions", { token: userToken, body: { title: "Logged", mediaProvider: "local" } });
    const s = { sessionId: created.json.sessionId, ticket: created.json.ticket, invite: created.json.invite.token };
    const inv = await api(`/api/sessions/${s.sessionId}/invites`, { token: s.ticket, body: { role: "cofacilitator" } });
    const p = await joinSession(s.sessionId, s.invite, "Pat");
    const c = await Client.connect(s.sessionId, p.ticket, "pat");
    await c.next((m) => m.type === "snapshot");
    c.send("{not json");
    c.send({ type: "command", commandId: "log-cmd-0001", command: { type: "endSession" } });
    await c.next((m) => m.type === "error" && m.commandId === "log-cmd-0001");
    await api(`/api/sessions/${s.sessionId}/media-token`, { method: "POST", token: p.ticket });
    // Refusals of every kind, each carrying a credential somewhere.
    const tampered = `${p.ticket.slice(0, -6)}AAAAAA`;
    await api(`/api/sessions/${s.sessionId}`, { token: tampered });
    await upgrade(s.sessionId, tampered);
    await api(`/api/sessions/other-session/commands`, { token: s.ticket, body: { commandId: "x".repeat(8), command: { type: "endSession" } } });
    await api(`/api/sessions/${s.sessionId}/join`, { body: { invite: inv.json.token.slice(0, -3) + "xyz", name: "Bad" } });
    await api(`/api/sessions`, { token: s.ticket, body: { title: "no" } });
    await api(`/api/sessions/${s.sessionId}/commands`, { headers: { authorization: `Bearer ${userToken}` }, body: "{broken" });
    await api(`/api/sessions/${s.sessionId}/ws?ticket=${encodeURIComponent(p.ticket)}`); // no Upgrade: 426
    c.close();
    await new Promise((r) => setTimeout(r, 50));

    const credentials = { userToken, ticket: s.ticket, participantTicket: p.ticket, invite: s.invite, coInvite: inv.json.token, tampered };
    expect(lines.length).toBeGreaterThan(0);
    for (const [name, token] of Object.entries(credentials)) {
      // The whole token, or its signature alone (the part that makes it a credential).
      const signature = token.split(".")[2];
      const leaking = lines.filter((l) => l.includes(token) || (signature && signature.length > 20 && l.includes(signature)));
      expect(leaking, `${name} appears in ${leaking.length} log line(s)`).toEqual([]);
    }
    // And nothing JWT-shaped at all.
    expect(lines.filter((l) => /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(l))).toEqual([]);
  });
});
