/** Pure rules of the room's screens (web/src/lib/room.ts) and the chat shell's unread count (web/src/lib/chat.ts). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { unreadCount } from "../../web/src/lib/chat";
import { inviteLooksIntact, mediaModeLabel, roundWarningShown, usageLabel, waitingSummary } from "../../web/src/lib/room";

describe("the round warning banner", () => {
  const round = { endsAt: 100_000, closesAt: null };
  const base = { warnedFor: 100_000, round, location: "r1", now: 50_000 };

  it("shows in the round and for the deadline it was given for", () => {
    expect(roundWarningShown(base)).toBe(true);
  });

  it("does not show in a later round that has not warned (the bug: it stayed on in every round after)", () => {
    // Round 2 ends at another time; the warning of round 1 is for 100 000.
    expect(roundWarningShown({ ...base, round: { endsAt: 900_000, closesAt: null }, now: 300_000 })).toBe(false);
  });

  it("hides after an extension (a new deadline) until the server warns again", () => {
    expect(roundWarningShown({ ...base, round: { endsAt: 160_000, closesAt: null } })).toBe(false);
    expect(roundWarningShown({ ...base, warnedFor: 160_000, round: { endsAt: 160_000, closesAt: null } })).toBe(true);
  });

  it("hides during the closing countdown, in the main room, without a round, and once time is up", () => {
    expect(roundWarningShown({ ...base, round: { endsAt: 100_000, closesAt: 60_000 } })).toBe(false);
    expect(roundWarningShown({ ...base, location: "main" })).toBe(false);
    expect(roundWarningShown({ ...base, round: null })).toBe(false);
    expect(roundWarningShown({ ...base, now: 100_000 })).toBe(false);
    expect(roundWarningShown({ ...base, warnedFor: null })).toBe(false);
  });

  it("never shows for a deadline it was not given for (property)", () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.nat(), (warnedFor, endsAt, now) => {
        fc.pre(warnedFor !== endsAt);
        expect(roundWarningShown({ warnedFor, round: { endsAt, closesAt: null }, location: "r1", now })).toBe(false);
      }),
    );
  });
});

describe("words of the room", () => {
  it("sums up the waiting room in one line", () => {
    expect(waitingSummary(1)).toBe("1 person is waiting");
    expect(waitingSummary(3)).toBe("3 people are waiting");
  });

  it("names the media mode and never shows money in local mode", () => {
    expect(mediaModeLabel("local")).toBe("Local video (peer-to-peer)");
    expect(mediaModeLabel("twilio")).toBe("Twilio Video");
    expect(usageLabel("local", { participantMinutes: 12.34, dollars: 0.0185 })).toBe("12.3 participant-minutes");
    expect(usageLabel("twilio", { participantMinutes: 12.34, dollars: 0.0186 })).toBe("Estimated media cost $0.019 · 12.3 participant-minutes");
  });

  it("tells a damaged invite from one that looks whole (the server checks the signature)", () => {
    const payload = btoa(JSON.stringify({ sid: "s1", role: "participant" }))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    const token = `eyJhbGciOiJIUzI1NiJ9.${payload}.c2lnbmF0dXJl`;
    expect(inviteLooksIntact(token)).toBe(true);
    expect(inviteLooksIntact(token.slice(0, 30))).toBe(false);
    expect(inviteLooksIntact(`${token}%`)).toBe(false);
    expect(inviteLooksIntact("a.b")).toBe(false);
    expect(inviteLooksIntact(null)).toBe(false);
    expect(inviteLooksIntact("x.!!!.y")).toBe(false);
  });
});

describe("chat unread count", () => {
  const msg = (at: number, from: string) => ({ at, from });

  it("counts others' messages after the last one read", () => {
    const list = [msg(3, "a"), msg(5, "me"), msg(8, "b"), msg(9, "a")];
    expect(unreadCount(list, 0, "me")).toBe(3);
    expect(unreadCount(list, 5, "me")).toBe(2);
    expect(unreadCount(list, 9, "me")).toBe(0);
  });

  it("is never more than the messages from others, and reading the last one clears it (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.nat(1000), from: fc.constantFrom("a", "b", "me") })), fc.nat(1000), (raw, lastRead) => {
        const list = raw.map((r) => msg(r.at, r.from));
        const n = unreadCount(list, lastRead, "me");
        expect(n).toBeLessThanOrEqual(list.filter((m) => m.from !== "me").length);
        const top = Math.max(0, ...list.map((m) => m.at));
        expect(unreadCount(list, top, "me")).toBe(0);
      }),
    );
  });
});
