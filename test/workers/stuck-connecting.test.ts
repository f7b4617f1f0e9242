/**
 * "Who is stuck connecting" through a real DO over WebSockets (issue 17): a client's app reports what keeps its video
 * from connecting (`mediaProblem`); staff receive it beside the member, no other client does; arriving in the media
 * room clears it; a waiting member's report and a malformed code change nothing; operators get an analytics row.
 */
import { describe, expect, it } from "vitest";
import { Client, createSession, d1, flush, joinSession, sleep, stubFor, sessionWithClients } from "./helpers";

const memberPatch = (memberId: string) => (m: any) =>
  m.type === "patch" && m.changes.some((c: any) => c.entity === "member" && c.value?.id === memberId && c.value.mediaProblem !== undefined);

describe("stuck connecting", () => {
  it("staff see a client's media problem, nobody else does; arriving clears it; D1 has the analytics row", async () => {
    const { s, fac, people, stub } = await sessionWithClients(2, { mediaProvider: "local" });
    const [a, b] = people;
    const fromFac = fac.messages.length;
    const fromB = b.c.raw.length;
    a.c.send({ type: "mediaProblem", code: "53405" });
    const patch = await fac.next((m) => memberPatch(a.memberId)(m) && m.changes.some((c: any) => c.value?.mediaProblem?.code === "53405"), 3000, fromFac);
    const value = patch.changes.find((c: any) => c.entity === "member" && c.value.id === a.memberId).value;
    expect(value.mediaProblem).toEqual({ code: "53405", at: expect.any(Number) });
    expect((await stub.debugState()).context!.members[a.memberId].mediaProblem?.code).toBe("53405");

    // The same report again changes nothing (no step, no frame).
    const seq = (await stub.debugState()).seq;
    a.c.send({ type: "mediaProblem", code: "53405" });
    await sleep(100);
    expect((await stub.debugState()).seq).toBe(seq);

    // Connected in the end (local mode: the client reports its arrival): the problem is gone.
    a.c.send({ type: "arrived", mediaRoom: `mb-${s.sessionId}-main` });
    await fac.next((m) => m.type === "patch" && m.changes.some((c: any) => c.value?.id === a.memberId && c.value.mediaProblem === null), 3000, fromFac);
    expect((await stub.debugState()).context!.members[a.memberId]).toMatchObject({ mediaProblem: null, arrivedIn: `mb-${s.sessionId}-main` });

    // Another client heard nothing of it.
    await sleep(100);
    expect(b.c.raw.slice(fromB).some((t) => t.includes("mediaProblem") || t.includes("53405"))).toBe(false);

    await flush(s.sessionId);
    const rows = await d1(`SELECT actor, target, data FROM session_analytics_events WHERE session_id = ? AND event = 'media_problem'`, s.sessionId);
    expect(rows).toEqual([{ actor: a.memberId, target: "main", data: JSON.stringify({ code: "53405" }) }]);
    for (const c of [fac, a.c, b.c]) c.close();
  });

  it("a malformed code is refused as INVALID_MESSAGE; a member still waiting changes nothing", async () => {
    const s = await createSession({ mediaProvider: "local" });
    const fac = await Client.connect(s.sessionId, s.ticket, "fac");
    await fac.next((m) => m.type === "snapshot");
    const stub = stubFor(s.sessionId);
    const j = await joinSession(s.sessionId, s.invite.token, "Waiting Wren");
    const w = await Client.connect(s.sessionId, j.ticket, "wren");
    await w.next((m) => m.type === "hello" || m.type === "snapshot" || m.type === "view");
    const from = w.messages.length;
    w.send({ type: "mediaProblem", code: "not a code; DROP TABLE" });
    const err = await w.next((m) => m.type === "error", 3000, from);
    expect(err.error.code).toBe("INVALID_MESSAGE");
    const before = (await stub.debugState()).seq;
    w.send({ type: "mediaProblem", code: "NotAllowedError" });
    await sleep(150);
    expect((await stub.debugState()).seq).toBe(before);
    expect((await stub.debugState()).context!.members[j.memberId].mediaProblem).toBeNull();
    fac.close();
    w.close();
  });
});
