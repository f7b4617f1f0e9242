/**
 * Behaviour in time: the "close all" countdown, timed rounds (warning, end, extension), empty rooms closing
 * themselves, the session's maximum duration, and the deadline the Durable Object's alarm is set to.
 */
import { describe, expect, it } from "vitest";
import { MAIN_ROOM } from "../../lib/protocol";
import { admittedMembers } from "../../durable-objects/logic/model";
import { nextDeadline } from "../../durable-objects/logic/updates";
import { createSession, START_TIME, type FixtureOptions, type SessionFixture } from "./helpers/session-fixture";

function openSession(opts: FixtureOptions & { rooms?: number; durationSeconds?: number | null } = {}) {
  const s = createSession({ participants: 6, ...opts });
  s.ok("createBreakouts", { count: opts.rooms ?? 2, durationSeconds: opts.durationSeconds ?? null });
  s.ok("openBreakouts");
  return s;
}

const everyoneInMain = (s: SessionFixture) => admittedMembers(s.ctx).every((m) => m.location === MAIN_ROOM);
const someoneInARoom = (s: SessionFixture) => admittedMembers(s.ctx).some((m) => m.location !== MAIN_ROOM);

describe("close all with a countdown", () => {
  it("defaults to 60 s: rooms stay open until the deadline, then everyone is in main", () => {
    const s = openSession();
    const r = s.ok("closeAll");
    const closesAt = s.now + 60_000;
    expect(s.phase).toBe("closing");
    expect(s.ctx.round!.closesAt).toBe(closesAt);
    expect(r.notices).toEqual([{ kind: "closingCountdown", closesAt }]);
    s.tickTo(closesAt - 30_000);
    s.tickTo(closesAt - 1);
    expect(s.phase).toBe("closing");
    expect(s.openRoomIds()).toHaveLength(2);
    expect(someoneInARoom(s)).toBe(true);
    s.tickTo(closesAt);
    expect(s.phase).toBe("main");
    expect(everyoneInMain(s)).toBe(true);
    expect(s.openRoomIds()).toEqual([]);
    expect(s.ctx.roundsCompleted).toBe(1);
  });

  it("takes 0 to 300 s; 0 closes at once", () => {
    for (const seconds of [0, 1, 45, 300]) {
      const s = openSession();
      s.ok("closeAll", { countdownSeconds: seconds });
      if (seconds === 0) {
        expect(s.phase).toBe("main");
        expect(everyoneInMain(s)).toBe(true);
        continue;
      }
      const closesAt = s.now + seconds * 1000;
      expect(s.ctx.round!.closesAt).toBe(closesAt);
      s.tickTo(closesAt - 1);
      expect(s.phase).toBe("closing");
      s.tickTo(closesAt);
      expect(s.phase).toBe("main");
      expect(everyoneInMain(s)).toBe(true);
    }
  });

  it("uses the session's countdown setting when none is given", () => {
    const s = openSession({ settings: { closingCountdownSeconds: 10 } });
    s.ok("closeAll");
    expect(s.ctx.round!.closesAt).toBe(s.now + 10_000);
    const z = openSession({ settings: { closingCountdownSeconds: 0 } });
    z.ok("closeAll");
    expect(z.phase).toBe("main");
  });

  it("a second close all during the countdown closes at once", () => {
    const s = openSession();
    s.ok("closeAll");
    s.ok("closeAll", { countdownSeconds: 200 });
    expect(s.phase).toBe("main");
    expect(everyoneInMain(s)).toBe(true);
  });

  it("during the countdown staff still move people; choosing rooms and bulk moves stop", () => {
    const s = createSession({ participants: 4 });
    s.ok("createBreakouts", { count: 2, mode: "choose" });
    s.ok("openBreakouts");
    s.ok("closeAll");
    const [a] = s.openRoomIds();
    s.ok("move", { memberId: s.participants[0], to: a });
    s.refused("INVALID_STATE", "chooseRoom", { roomId: a }, s.as(s.participants[1]));
    s.refused("INVALID_STATE", "bulkAssign", { assignments: [{ memberId: s.participants[1], roomId: a }] });
  });

  it("the countdown survives persistence", () => {
    const s = openSession();
    s.ok("closeAll", { countdownSeconds: 30 });
    const closesAt = s.ctx.round!.closesAt!;
    s.reload();
    s.tickTo(closesAt);
    expect(s.phase).toBe("main");
  });
});

describe("timed rounds", () => {
  it("warns before the end, once; at the end the closing countdown starts; at its end everyone is in main", () => {
    const s = openSession({ durationSeconds: 600 });
    const endsAt = s.ctx.round!.endsAt!;
    expect(endsAt).toBe(s.ctx.round!.openedAt! + 600_000);
    const warnAt = endsAt - 60_000;
    expect(s.tickTo(warnAt - 1)).toMatchObject({ notices: [] });
    const w = s.tickTo(warnAt);
    expect(w.ok && w.notices).toEqual([{ kind: "roundWarning", endsAt }]);
    expect(s.ctx.round!.warned).toBe(true);
    expect(s.tickTo(warnAt + 1000)).toMatchObject({ notices: [] });
    s.tickTo(endsAt - 1);
    expect(s.phase).toBe("open");
    const e = s.tickTo(endsAt);
    expect(s.phase).toBe("closing");
    expect(e.ok && e.notices).toEqual([{ kind: "closingCountdown", closesAt: endsAt + 60_000 }]);
    expect(someoneInARoom(s)).toBe(true);
    s.tickTo(endsAt + 60_000);
    expect(s.phase).toBe("main");
    expect(everyoneInMain(s)).toBe(true);
  });

  it("a late tick past both the warning and the end goes straight to closing, without a stale warning", () => {
    const s = openSession({ durationSeconds: 300 });
    const r = s.tickTo(s.ctx.round!.endsAt! + 5000);
    expect(s.phase).toBe("closing");
    expect(r.ok && r.notices.map((n) => n.kind)).toEqual(["closingCountdown"]);
  });

  it("with no warning configured there is none", () => {
    const s = openSession({ durationSeconds: 300, settings: { warningSeconds: 0 } });
    const endsAt = s.ctx.round!.endsAt!;
    expect(s.tickTo(endsAt - 1)).toMatchObject({ notices: [] });
    expect(s.ctx.round!.warned).toBe(false);
  });

  it("with no closing countdown configured, everyone is back in main at the round's end itself", () => {
    const s = openSession({ durationSeconds: 300, settings: { closingCountdownSeconds: 0 } });
    const endsAt = s.ctx.round!.endsAt!;
    s.tickTo(endsAt);
    expect(s.phase).toBe("main");
    expect(everyoneInMain(s)).toBe(true);
  });

  it("extendRound pushes the end back and re-arms the warning", () => {
    const s = openSession({ durationSeconds: 600 });
    const endsAt = s.ctx.round!.endsAt!;
    s.tickTo(endsAt - 60_000);
    expect(s.ctx.round!.warned).toBe(true);
    s.ok("extendRound", { seconds: 300 });
    expect(s.ctx.round).toMatchObject({ endsAt: endsAt + 300_000, warned: false });
    s.tickTo(endsAt);
    expect(s.phase).toBe("open");
    const w = s.tickTo(endsAt + 240_000);
    expect(w.ok && w.notices).toEqual([{ kind: "roundWarning", endsAt: endsAt + 300_000 }]);
    s.tickTo(endsAt + 300_000);
    expect(s.phase).toBe("closing");
  });

  it("extendRound during the closing countdown cancels it and reopens the round for that long", () => {
    const s = openSession({ durationSeconds: 300 });
    s.ok("closeAll");
    const closesAt = s.ctx.round!.closesAt!;
    s.ok("extendRound", { seconds: 120 });
    const extendedAt = s.now;
    expect(s.phase).toBe("open");
    expect(s.ctx.round).toMatchObject({ closesAt: null, endsAt: extendedAt + 120_000 });
    s.tickTo(closesAt);
    expect(s.phase).toBe("open");
    expect(someoneInARoom(s)).toBe(true);
    s.tickTo(extendedAt + 120_000);
    expect(s.phase).toBe("closing");
  });

  it("extendRound on an untimed round gives it an end", () => {
    const s = openSession();
    expect(s.ctx.round!.endsAt).toBeNull();
    s.ok("extendRound", { seconds: 60 });
    expect(s.ctx.round!.endsAt).toBe(s.now + 60_000);
  });

  it("an untimed round never ends by itself", () => {
    const s = openSession({ settings: { maxSessionSeconds: null } });
    s.tickBy(10 * 3600_000);
    expect(s.phase).toBe("open");
  });

  it("extendRound needs open rooms, and staff", () => {
    const s = createSession({ participants: 2 });
    s.refused("INVALID_STATE", "extendRound", { seconds: 60 });
    s.ok("createBreakouts", { count: 2, durationSeconds: 300 });
    s.refused("INVALID_STATE", "extendRound", { seconds: 60 });
    s.ok("openBreakouts");
    s.refused("FORBIDDEN", "extendRound", { seconds: 60 }, s.as(s.participants[0]));
  });
});

describe("empty rooms close themselves", () => {
  it("after 120 s empty by default", () => {
    const s = openSession({ rooms: 3, participants: 6 });
    const [a, b] = s.openRoomIds();
    for (const m of s.inPlace(a)) s.ok("move", { memberId: m, to: b });
    const emptySince = s.room(a).emptySince!;
    expect(emptySince).toBe(s.now);
    s.tickTo(emptySince + 119_999);
    expect(s.room(a).status).toBe("open");
    s.tickTo(emptySince + 120_000);
    expect(s.room(a)).toMatchObject({ status: "closed", closedAt: emptySince + 120_000 });
    expect(s.phase).toBe("open");
  });

  it("someone entering resets the timer", () => {
    const s = openSession({ rooms: 2, participants: 4 });
    const [a] = s.openRoomIds();
    const people = s.inPlace(a);
    for (const m of people) s.ok("move", { memberId: m, to: MAIN_ROOM });
    const first = s.room(a).emptySince!;
    s.tickTo(first + 60_000);
    s.ok("move", { memberId: people[0], to: a });
    s.ok("move", { memberId: people[0], to: MAIN_ROOM });
    const second = s.room(a).emptySince!;
    expect(second).toBeGreaterThan(first);
    s.tickTo(first + 120_000);
    expect(s.room(a).status).toBe("open");
    s.tickTo(second + 120_000);
    expect(s.room(a).status).toBe("closed");
  });

  it("a room nobody was sent to starts empty; the timeout is a setting", () => {
    const s = createSession({ participants: 2, settings: { emptyRoomTimeoutSeconds: 30 } });
    s.ok("createBreakouts", { count: 3 });
    s.ok("openBreakouts");
    const empty = s.openRoomIds().find((id) => s.inPlace(id).length === 0)!;
    s.tickTo(s.room(empty).emptySince! + 30_000);
    expect(s.room(empty).status).toBe("closed");
  });

  it("when the last open room closes for emptiness, the round ends", () => {
    const s = openSession({ rooms: 2, participants: 4 });
    for (const m of admittedMembers(s.ctx)) if (m.location !== MAIN_ROOM) s.ok("move", { memberId: m.id, to: MAIN_ROOM });
    s.tickBy(120_000);
    expect(s.phase).toBe("main");
    expect(s.ctx.roundsCompleted).toBe(1);
  });

  it("empty rooms also close during the closing countdown", () => {
    const s = openSession({ rooms: 2, participants: 4 });
    s.ok("closeAll", { countdownSeconds: 300 });
    const [a] = s.openRoomIds();
    for (const m of s.inPlace(a)) s.ok("move", { memberId: m, to: MAIN_ROOM });
    s.tickTo(s.room(a).emptySince! + 120_000);
    expect(s.room(a).status).toBe("closed");
    expect(s.phase).toBe("closing");
  });
});

describe("the session's maximum duration", () => {
  for (const phase of ["main", "preparing", "open", "closing"] as const) {
    it(`ends the session at the limit, from ${phase}`, () => {
      const s = createSession({ participants: 4, settings: { maxSessionSeconds: 3600 } });
      if (phase !== "main") s.ok("createBreakouts", { count: 2 });
      if (phase === "open" || phase === "closing") s.ok("openBreakouts");
      const end = START_TIME + 3600_000;
      s.tickTo(end - 200_000);
      if (phase === "closing") s.ok("closeAll", { countdownSeconds: 300 });
      s.tickTo(end - 1);
      expect(s.phase).toBe(phase);
      const r = s.tickTo(end);
      expect(s.phase).toBe("ended");
      expect(s.ctx.endReason).toBe("maximum session duration reached");
      expect(r.ok && r.notices).toEqual([{ kind: "sessionEnded", reason: "maximum session duration reached" }]);
      expect(admittedMembers(s.ctx)).toEqual([]);
    });
  }

  it("no limit means no end", () => {
    const s = createSession({ participants: 2, settings: { maxSessionSeconds: null } });
    s.tickBy(48 * 3600_000);
    expect(s.phase).toBe("main");
  });

  it("the default limit is 4 hours", () => {
    const s = createSession({ participants: 2 });
    s.tickTo(START_TIME + 4 * 3600_000 - 1);
    expect(s.phase).toBe("main");
    s.tickTo(START_TIME + 4 * 3600_000);
    expect(s.phase).toBe("ended");
  });
});

describe("nextDeadline (what the alarm is set to)", () => {
  it("is the earliest of session end, warning, round end, countdown and empty-room expiry", () => {
    const s = createSession({ participants: 2, settings: { maxSessionSeconds: 3600 } });
    const sessionEnd = START_TIME + 3600_000;
    expect(nextDeadline(s.ctx, s.phase)).toBe(sessionEnd);
    s.ok("createBreakouts", { count: 3, durationSeconds: 600 });
    expect(nextDeadline(s.ctx, s.phase)).toBe(sessionEnd);
    s.ok("openBreakouts");
    const empty = s.openRoomIds().find((id) => s.inPlace(id).length === 0)!;
    expect(nextDeadline(s.ctx, s.phase)).toBe(s.room(empty).emptySince! + 120_000);
    s.tickTo(s.room(empty).emptySince! + 120_000);
    expect(nextDeadline(s.ctx, s.phase)).toBe(s.ctx.round!.endsAt! - 60_000);
    s.tickTo(s.ctx.round!.endsAt! - 60_000);
    expect(nextDeadline(s.ctx, s.phase)).toBe(s.ctx.round!.endsAt!);
    s.tickTo(s.ctx.round!.endsAt!);
    expect(nextDeadline(s.ctx, s.phase)).toBe(s.ctx.round!.closesAt!);
    s.ok("endSession");
    expect(nextDeadline(s.ctx, s.phase)).toBeNull();
  });

  it("after any tick at a deadline, the next deadline is later", () => {
    const s = openSession({ rooms: 3, participants: 4, durationSeconds: 300 });
    for (let i = 0; i < 20 && s.phase !== "ended"; i++) {
      const d = nextDeadline(s.ctx, s.phase);
      if (d === null) break;
      s.tickTo(Math.max(d, s.now));
      const after = nextDeadline(s.ctx, s.phase);
      if (after !== null) expect(after).toBeGreaterThan(s.now);
    }
    expect(s.phase).toBe("ended");
  });
});
