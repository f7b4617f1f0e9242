/**
 * The socket hub and fanout without workerd (fake hibernatable sockets): a member holds at most
 * MAX_SOCKETS_PER_MEMBER sockets (the newest wins, the oldest is told why), one message budget is shared by all of a
 * member's sockets and survives hibernation (a new hub over the same sockets), frames reach exactly their audience,
 * and a replay gives a socket precisely the logged frames its member received after a seq.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Fanout } from "../../durable-objects/fanout";
import { budgetConfig, SocketHub } from "../../durable-objects/sockets";
import { SessionStore } from "../../durable-objects/store";
import { CLOSE_CODES, MAX_SOCKETS_PER_MEMBER } from "../../lib/protocol";
import { FakeSocket, FakeSocketHost, memoryStorage } from "./helpers/do-fakes";

const budget = { capacity: 5, refillPerSecond: 1 };
const hubOn = (host: FakeSocketHost) => new SocketHub(host, () => budget);
const fake = (ws: WebSocket) => ws as unknown as FakeSocket;

describe("SocketHub", () => {
  it("keeps at most MAX_SOCKETS_PER_MEMBER sockets per member: a new one closes the oldest with 'replaced'", () => {
    const host = new FakeSocketHost();
    const hub = hubOn(host);
    const opened = Array.from({ length: MAX_SOCKETS_PER_MEMBER + 2 }, (_, i) => fake(hub.accept("m2", "participant", 1000 + i).server));
    expect(opened.slice(0, 2).map((s) => s.closed)).toEqual([
      { code: CLOSE_CODES.replaced, reason: "opened in another tab or window" },
      { code: CLOSE_CODES.replaced, reason: "opened in another tab or window" },
    ]);
    expect(opened.slice(2).every((s) => s.closed === null)).toBe(true);
    expect(hub.of("m2")).toHaveLength(MAX_SOCKETS_PER_MEMBER);
    // Another member is not affected.
    hub.accept("m3", "participant", 2000);
    expect(hub.of("m3")).toHaveLength(1);
    expect(hub.of("m2")).toHaveLength(MAX_SOCKETS_PER_MEMBER);
  });

  it("one budget per member, shared by all their sockets: more sockets give no more messages", () => {
    const hub = hubOn(new FakeSocketHost());
    const sockets = [0, 1, 2].map((i) => hub.accept("m2", "participant", i).server);
    const taken = Array.from({ length: 12 }, (_, i) => hub.take(sockets[i % 3], 10_000));
    expect(taken.filter(Boolean)).toHaveLength(budget.capacity);
    // Another member has a budget of their own.
    expect(hub.take(hub.accept("m3", "participant", 1).server, 10_000)).toBe(true);
  });

  it("the budget survives hibernation: a new hub over the same sockets continues from the latest take", () => {
    const host = new FakeSocketHost();
    const a = hubOn(host);
    const [s1, s2] = [a.accept("m2", "participant", 1).server, a.accept("m2", "participant", 2).server];
    for (let i = 0; i < 4; i++) a.take(i % 2 ? s2 : s1, 50_000);
    const woken = hubOn(host); // the DO was evicted; the sockets and their attachments remain
    expect(woken.take(s1, 50_000)).toBe(true);
    expect(woken.take(s2, 50_000)).toBe(false);
    // It refills at its rate, not to a fresh bucket.
    expect(woken.take(s1, 51_000)).toBe(true);
    expect(woken.take(s1, 51_000)).toBe(false);
  });

  it("a reconnect after all sockets closed does not refill the budget while the session is awake", () => {
    const hub = hubOn(new FakeSocketHost());
    const s1 = hub.accept("m2", "participant", 1).server;
    for (let i = 0; i < budget.capacity; i++) expect(hub.take(s1, 9_000)).toBe(true);
    hub.close(s1, 1008, "message budget exceeded");
    const s2 = hub.accept("m2", "participant", 2).server;
    expect(hub.take(s2, 9_000)).toBe(false);
  });

  it("connections per member: a burst of 10, then a wait until one refills (1 per second), per member and apart from messages", () => {
    const hub = hubOn(new FakeSocketHost());
    const waits = Array.from({ length: 11 }, () => hub.takeConnection("m2", 50_000));
    expect(waits.slice(0, 10)).toEqual(Array(10).fill(0));
    expect(waits[10]).toBeGreaterThan(0);
    expect(waits[10]).toBeLessThanOrEqual(1000);
    expect(hub.takeConnection("m3", 50_000)).toBe(0);
    expect(hub.takeConnection("m2", 51_000)).toBe(0);
    // The message budget is untouched by connecting.
    const ws = hub.accept("m2", "participant", 51_000).server;
    expect(Array.from({ length: budget.capacity }, () => hub.take(ws, 51_000)).every(Boolean)).toBe(true);
  });

  it("budget specs: 'burst/perSecond', with safe defaults", () => {
    expect(budgetConfig("50/20", "participant")).toEqual({ capacity: 50, refillPerSecond: 20 });
    expect(budgetConfig(undefined, "participant")).toEqual({ capacity: 30, refillPerSecond: 10 });
    expect(budgetConfig(undefined, "facilitator")).toEqual({ capacity: 600, refillPerSecond: 300 });
    expect(budgetConfig("x/y", "participant")).toEqual({ capacity: 30, refillPerSecond: 10 });
  });
});

describe("Fanout", () => {
  function world() {
    const host = new FakeSocketHost();
    const hub = hubOn(host);
    const store = new SessionStore(memoryStorage());
    const fanout = new Fanout(hub, store);
    const sock = (memberId: string, role: "participant" | "facilitator") => fake(hub.accept(memberId, role, 0).server);
    return {
      hub,
      store,
      fanout,
      staff: sock("m1", "facilitator"),
      p2: sock("m2", "participant"),
      p3: sock("m3", "participant"),
      p3b: sock("m3", "participant"),
    };
  }

  it("sends each frame to its audience only, once per socket", () => {
    const { fanout, staff, p2, p3, p3b } = world();
    fanout.deliver([
      { seq: 1, audience: ["staff"], text: "s" },
      { seq: 2, audience: ["*"], text: "all" },
      { seq: 3, audience: ["m:m3"], text: "three" },
      { seq: 4, audience: ["staff", "m:m2", "m:m1"], text: "staff+2" },
    ]);
    expect(staff.sent).toEqual(["s", "all", "staff+2"]);
    expect(p2.sent).toEqual(["all", "staff+2"]);
    expect(p3.sent).toEqual(["all", "three"]);
    expect(p3b.sent).toEqual(["all", "three"]);
  });

  it("a replay from any seq gives exactly what a socket connected throughout received after it", () => {
    const audiences = fc.constantFrom<string[]>(["*"], ["staff"], ["m:m2"], ["m:m3"], ["staff", "m:m2"], ["staff", "m:m3"]);
    fc.assert(
      fc.property(fc.array(fc.array(audiences, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 12 }), fc.nat(), (events, cut) => {
        const { fanout, store, p2, staff } = world();
        let seq = 0;
        for (const ev of events) {
          const frames = ev.map((audience) => ({ seq: ++seq, audience, text: JSON.stringify({ seq }) }));
          store.transaction(() => store.appendFrames(frames));
          fanout.deliver(frames);
        }
        const from = cut % (seq + 1);
        for (const [sock, id, isStaff] of [
          [p2, "m2", false],
          [staff, "m1", true],
        ] as const) {
          const live = sock.sent.filter((t) => JSON.parse(t).seq > from);
          const late = new FakeSocket();
          fanout.replay(late as unknown as WebSocket, id, isStaff, from);
          expect(late.sent).toEqual(live);
        }
      }),
    );
  });
});
