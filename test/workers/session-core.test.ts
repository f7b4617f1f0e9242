/**
 * The session core's promises, through a real Durable Object over WebSockets:
 * - resume is exact: a tab that reconnects from an old seq receives precisely the frames a tab connected throughout
 *   received after it, byte for byte, each once (participants and staff alike);
 * - a step that fails before its commit (a token signing error) leaves memory equal to storage, and a retry works;
 * - keepalives are answered by the runtime, without running the session's code.
 */
import { describe, expect, it } from "vitest";
import { PING_FRAME, PONG_FRAME } from "../../lib/protocol";
import { Client, sleep, stubFor, sessionWithClients } from "./helpers";

const SEQUENCED = new Set(["snapshot", "patch", "view", "placement", "notice"]);
const isSequenced = (t: string) => SEQUENCED.has(JSON.parse(t).type);
/** The sequenced frames a client received, as sent (text), after `seq`. */
const framesAfter = (c: Client, seq: number) => c.raw.filter((t) => isSequenced(t) && JSON.parse(t).seq > seq);

describe("exact resume", () => {
  it("a tab resuming from an old seq receives exactly what a tab connected throughout received after it", async () => {
    const { s, fac, people } = await sessionWithClients(6);
    const [p1, p2] = people;
    // A second tab for a participant and for the facilitator; they drop, the first tabs stay.
    const p1b = await Client.connect(s.sessionId, p1.ticket, "p1-tab2");
    const facB = await Client.connect(s.sessionId, s.ticket, "fac-tab2");
    await Promise.all([p1b.next((m) => m.type === "snapshot"), facB.next((m) => m.type === "snapshot")]);
    await sleep(20);
    const [p1Seq, facSeq] = [p1b.lastSeq, facB.lastSeq];
    p1b.close();
    facB.close();
    await sleep(20);

    // While they are away: a round opens, p1 is moved twice, room-mates change, a broadcast, help asked and answered.
    expect((await fac.command({ type: "createBreakouts", count: 3, mode: "auto", durationSeconds: 600 })).type).toBe("ack");
    expect((await fac.command({ type: "openBreakouts" })).type).toBe("ack");
    const st = await stubFor(s.sessionId).debugState();
    const where = (id: string) => st.context!.members[id].location!;
    const other = ["r1", "r2", "r3"].find((r) => r !== where(p1.memberId))!;
    expect((await fac.command({ type: "move", memberId: p1.memberId, to: other })).type).toBe("ack");
    expect((await fac.command({ type: "move", memberId: p2.memberId, to: other === where(p2.memberId) ? "main" : other })).type).toBe("ack");
    expect((await fac.command({ type: "broadcast", text: "Five minutes left" })).type).toBe("ack");
    expect((await p1.c.command({ type: "requestHelp", message: "stuck" })).type).toBe("ack");
    expect((await fac.command({ type: "resolveHelp", memberId: p1.memberId })).type).toBe("ack");
    expect((await fac.command({ type: "move", memberId: p1.memberId, to: "main" })).type).toBe("ack");
    await sleep(50);

    for (const [stay, ticket, from, name] of [
      [p1.c, p1.ticket, p1Seq, "p1-back"],
      [fac, s.ticket, facSeq, "fac-back"],
    ] as const) {
      const back = await Client.connect(s.sessionId, ticket, name, from);
      await sleep(100);
      expect(back.messages[0]).toMatchObject({ type: "hello", resume: { from, to: (await stubFor(s.sessionId).debugState()).seq } });
      const missed = framesAfter(stay, from);
      expect(missed.length).toBeGreaterThan(5);
      // Same frames, same order, same bytes; no seq twice; nothing else sequenced.
      expect(framesAfter(back, from)).toEqual(missed);
      const seqs = back.raw.filter(isSequenced).map((t) => JSON.parse(t).seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      back.close();
    }
    for (const c of [fac, ...people.map((p) => p.c)]) c.close();
  });

  it("a seq names one frame: across every client of a session, no seq carries two different frames", async () => {
    const { fac, people } = await sessionWithClients(4);
    await fac.command({ type: "createBreakouts", count: 2, mode: "auto" });
    await fac.command({ type: "openBreakouts" });
    await fac.command({ type: "closeAll", countdownSeconds: 0 });
    await sleep(50);
    const bySeq = new Map<number, string>();
    for (const c of [fac, ...people.map((p) => p.c)])
      for (const t of c.raw) {
        const seq = JSON.parse(t).seq;
        if (!isSequenced(t) || JSON.parse(t).type === "snapshot") continue;
        expect(bySeq.get(seq) ?? t, `seq ${seq}`).toBe(t);
        bySeq.set(seq, t);
      }
    expect(bySeq.size).toBeGreaterThan(10);
  });
});

describe("compute → commit → effects", () => {
  it("a token signing failure mid-step changes nothing in memory or storage; the retry then applies", async () => {
    const { s, fac, people } = await sessionWithClients(4, { mediaProvider: "twilio" });
    const stub = stubFor(s.sessionId);
    expect((await fac.command({ type: "createBreakouts", count: 2, mode: "auto" })).type).toBe("ack");
    // Let the provider rooms settle first (their results arrive as events of their own).
    for (let i = 0; i < 100; i++) {
      const media = Object.values((await stub.debugState()).context!.media);
      if (media.length === 3 && media.every((m) => m.status === "ready")) break;
      await sleep(20);
    }
    const before = await stub.debugState();
    const grantsBefore = await stub.heldGrants();
    await stub.failSigning(1);
    const refused = await fac.command({ type: "openBreakouts" }, "open-round-1");
    expect(refused).toMatchObject({ type: "error", error: { code: "INTERNAL" } });
    // Memory equals storage, and both equal the state before the step.
    const mem = await stub.debugState();
    const stored = await stub.storedState();
    expect(mem.context).toEqual(stored!.context);
    expect(mem.seq).toBe(stored!.seq);
    expect(mem.context).toEqual(before.context);
    expect(mem.seq).toBe(before.seq);
    expect(await stub.heldGrants()).toEqual(grantsBefore);
    expect(stored!.grants).toEqual(grantsBefore);
    // Nobody heard anything of the failed step.
    await sleep(30);
    for (const p of people) expect(p.c.messages.some((m) => m.type === "placement" && m.placement.reason === "breakouts-opened")).toBe(false);
    // The same command id, retried, applies once.
    expect((await fac.command({ type: "openBreakouts" }, "open-round-1")).type).toBe("ack");
    const after = await stub.debugState();
    expect(after.phase).toBe("open");
    expect((await stub.storedState())!.context).toEqual(after.context);
    // Views the failed step computed were never counted as sent: the retry sends each participant theirs.
    for (const p of people) {
      await p.c.next((m) => m.type === "placement" && m.placement.reason === "breakouts-opened");
      await p.c.next((m) => m.type === "view" && m.view.session.phase === "open");
    }
    for (const c of [fac, ...people.map((p) => p.c)]) c.close();
  });
});

describe("sessions that sleep", () => {
  it("keepalives are answered without running the session's code; other frames run it", async () => {
    const { s, fac } = await sessionWithClients(1);
    const stub = stubFor(s.sessionId);
    await sleep(20);
    const before = await stub.messagesHandled();
    for (let i = 0; i < 5; i++) fac.send(PING_FRAME);
    await sleep(100);
    expect(fac.raw.filter((t) => t === PONG_FRAME)).toHaveLength(5);
    expect(await stub.messagesHandled()).toBe(before);
    fac.send({ type: "ping", t: 1 });
    await fac.nextNew((m) => m.type === "pong");
    expect(await stub.messagesHandled()).toBe(before + 1);
    fac.close();
  });
});
