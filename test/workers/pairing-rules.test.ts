/**
 * Pairing rules through a real DO over WebSockets (issue 15 item 5): staff set a rule and receive it in their patches,
 * no client's socket ever carries it; automatic assignment keeps an "apart" pair apart; a manual move that breaks the
 * rule is refused with PAIRING_RULE naming it, and goes through once confirmed; the rule survives eviction; participants
 * may not set rules.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sessionWithClients } from "./helpers";

describe("pairing rules", () => {
  it("staff-only, honoured by auto assignment, confirmed on a manual move, kept across eviction", async () => {
    const { fac, people, stub } = await sessionWithClients(4);
    const [a, b] = people;
    const fromClients = people.map((p) => p.c.raw.length);

    const set = await fac.command({ type: "setPairRule", memberA: a.memberId, memberB: b.memberId, rule: "apart" });
    expect(set.type).toBe("ack");
    await fac.next((m) => m.type === "patch" && m.changes.some((c: any) => c.entity === "pairRules" && c.value.length === 1));
    const [first, second] = [a.memberId, b.memberId].sort();
    expect((await stub.debugState()).context!.pairRules).toEqual([{ memberA: first, memberB: second, rule: "apart" }]);

    // A participant may not set one.
    expect((await a.c.command({ type: "setPairRule", memberA: a.memberId, memberB: b.memberId, rule: null })).error.code).toBe("FORBIDDEN");

    // Two rooms, auto: the pair is split.
    expect((await fac.command({ type: "createBreakouts", count: 2, mode: "auto" })).type).toBe("ack");
    expect((await fac.command({ type: "openBreakouts" })).type).toBe("ack");
    const where = (await stub.debugState()).context!.members;
    expect(where[a.memberId].location).not.toBe(where[b.memberId].location);

    // Moving a into b's room breaks the rule: refused, naming both; confirmed, it goes through.
    const refused = await fac.command({ type: "move", memberId: a.memberId, to: where[b.memberId].location! });
    expect(refused.type).toBe("error");
    expect(refused.error.code).toBe("PAIRING_RULE");
    expect(refused.error.message).toContain("Client 1");
    expect(refused.error.message).toContain("Client 2");
    expect((await stub.debugState()).context!.members[a.memberId].location).toBe(where[a.memberId].location);
    expect((await fac.command({ type: "move", memberId: a.memberId, to: where[b.memberId].location!, confirmRule: true })).type).toBe("ack");

    // Survives eviction.
    await evictDurableObject(stub);
    expect((await stub.debugState()).context!.pairRules).toHaveLength(1);

    // No client ever heard of it.
    for (const [i, p] of people.entries()) expect(p.c.raw.slice(fromClients[i]).some((t) => t.includes("pairRules") || t.includes("PAIRING"))).toBe(false);
    for (const c of [fac, ...people.map((p) => p.c)]) c.close();
  });
});
