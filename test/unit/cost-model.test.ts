/**
 * The cost model (lib/cost.ts): the guide's example, money arithmetic, reports, CSV, and properties
 * that must hold for any stays (minutes never negative, per-room figures add up to the totals).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildReport,
  costBreakdown,
  costControls,
  costMicros,
  csvField,
  formatPriceNanos,
  formatUsd,
  formatUsdMicros,
  microsToCents,
  parsePriceNanos,
  priceNanosFrom,
  reportCsv,
  stayMs,
  type MemberRow,
  type RoomRow,
  type SessionRow,
  type StayRow,
} from "../../lib/cost";

const MIN = 60_000;
const PRICE = priceNanosFrom("0.0015");
const T0 = 1_700_000_000_000;

const room = (id: string, round = 1, extra: Partial<RoomRow> = {}): RoomRow => ({
  room_id: id,
  name: `Room ${id.slice(1)}`,
  round,
  status: "closed",
  capacity: 50,
  opened_at: null,
  closed_at: null,
  ...extra,
});
const stay = (member: string, location: string, from: number, to: number | null): StayRow => ({ member_id: member, location, joined_at: from, left_at: to });
const member = (id: string, extra: Partial<MemberRow> = {}): MemberRow => ({
  member_id: id,
  display_name: `Person ${id}`,
  role: "participant",
  status: "left",
  joined_at: T0,
  admitted_at: T0,
  left_at: null,
  ...extra,
});
const session = (extra: Partial<SessionRow> = {}): SessionRow => ({
  id: "s1",
  title: "Tuesday group",
  phase: "ended",
  media_provider: "twilio",
  created_at: T0,
  ended_at: null,
  rounds_completed: 0,
  settings: JSON.stringify({ maxSessionSeconds: 4 * 3600, maxParticipantsPerRoom: 50, emptyRoomTimeoutSeconds: 120 }),
  ...extra,
});

/** The guide's session: 10 people, 60 minutes together in the main room, then 20 minutes in 5 rooms of 2. */
function guideExample() {
  const people = Array.from({ length: 10 }, (_, i) => `m${i + 1}`);
  const rooms = ["r1", "r2", "r3", "r4", "r5"].map((id) => room(id, 1, { opened_at: T0 + 60 * MIN, closed_at: T0 + 80 * MIN }));
  const stays: StayRow[] = [];
  people.forEach((p, i) => {
    stays.push(stay(p, "main", T0, T0 + 60 * MIN));
    stays.push(stay(p, rooms[Math.floor(i / 2)].room_id, T0 + 60 * MIN, T0 + 80 * MIN));
    stays.push(stay(p, "main", T0 + 80 * MIN, T0 + 80 * MIN)); // back to main, then the session ends at once
  });
  return { people, rooms, stays };
}

describe("the guide's example cost calculation", () => {
  it("60 minutes of 10 in the main room is $0.90; 5 rooms of 2 for 20 minutes is $0.30; total $1.20", () => {
    const { rooms, stays } = guideExample();
    const b = costBreakdown({ stays, rooms, asOf: T0 + 80 * MIN, priceNanos: PRICE });
    const main = b.rooms.find((r) => r.key === "main")!;
    expect(main.participantMinutes).toBe(600);
    expect(main.costMicros).toBe(900_000);
    expect(main.costUsd).toBe("0.90");
    const breakouts = b.rooms.filter((r) => r.key !== "main");
    expect(breakouts).toHaveLength(5);
    for (const r of breakouts) expect([r.participantMinutes, r.people, r.costMicros, r.costUsd]).toEqual([40, 2, 60_000, "0.06"]);
    const breakoutMicros = breakouts.reduce((a, r) => a + r.costMicros, 0);
    expect(breakoutMicros).toBe(300_000);
    expect(formatUsd(breakoutMicros)).toBe("0.30");
    expect(b.totals).toEqual({ participantMs: 800 * MIN, participantMinutes: 800, costMicros: 1_200_000, costCents: 120, costUsd: "1.20" });
  });

  it("a 60-minute session with the 20-minute breakout inside it costs $0.90: one media room at a time", () => {
    // The other reading of the guide: only if people stayed connected to the main room during breakouts would the
    // breakout minutes be billed on top. They do not (one grant, one room), so 40 + 20 minutes in rooms = $0.90.
    const { rooms } = guideExample();
    const stays: StayRow[] = [];
    for (let i = 0; i < 10; i++) {
      const p = `m${i + 1}`;
      stays.push(stay(p, "main", T0, T0 + 20 * MIN));
      stays.push(stay(p, rooms[Math.floor(i / 2)].room_id, T0 + 20 * MIN, T0 + 40 * MIN));
      stays.push(stay(p, "main", T0 + 40 * MIN, T0 + 60 * MIN));
    }
    const b = costBreakdown({ stays, rooms, asOf: T0 + 60 * MIN, priceNanos: PRICE });
    expect(b.rooms.find((r) => r.key === "main")!.costUsd).toBe("0.60");
    expect(b.totals.costUsd).toBe("0.90");
  });
});

describe("money", () => {
  it("parses prices exactly into nano-dollars per participant-minute", () => {
    expect(parsePriceNanos("0.0015")).toBe(1_500_000);
    expect(parsePriceNanos(" 0.004 ")).toBe(4_000_000);
    expect(parsePriceNanos("1")).toBe(1_000_000_000);
    expect(parsePriceNanos("0.000000001")).toBe(1);
    expect(parsePriceNanos(0.0015)).toBe(1_500_000);
    for (const bad of ["", "-0.1", "1e-3", "0.0000000001", "abc", "0.00.1", "$0.0015"]) expect(parsePriceNanos(bad)).toBeNull();
    expect(priceNanosFrom(undefined)).toBe(1_500_000);
    expect(priceNanosFrom("garbage")).toBe(1_500_000);
    expect(formatPriceNanos(1_500_000)).toBe("0.0015");
    expect(formatPriceNanos(2_000_000_000)).toBe("2");
  });

  it("rounds each amount half-up to a micro-dollar with integer arithmetic", () => {
    expect(costMicros(MIN, PRICE)).toBe(1500);
    expect(costMicros(1, PRICE)).toBe(0); // 0.025 µ$
    expect(costMicros(20, PRICE)).toBe(1); // 0.5 µ$ → 1
    expect(costMicros(19, PRICE)).toBe(0); // 0.475 µ$
    expect(costMicros(-5 * MIN, PRICE)).toBe(0);
    expect(costMicros(MIN, 0)).toBe(0);
    // 50 people for 24 hours: no float drift.
    expect(costMicros(50 * 24 * 60 * MIN, PRICE)).toBe(108_000_000);
    // 0.1 + 0.2 style drift cannot happen: 3 × $0.10 is $0.30 exactly.
    const tenCents = costMicros((0.1 / 0.0015) * MIN, PRICE);
    expect(tenCents).toBe(100_000);
    expect(formatUsd(tenCents * 3)).toBe("0.30");
  });

  it("formats cents half-up and micro-dollars exactly", () => {
    expect(microsToCents(4_999)).toBe(0);
    expect(microsToCents(5_000)).toBe(1);
    expect(formatUsd(1_200_000)).toBe("1.20");
    expect(formatUsd(1_205_000)).toBe("1.21");
    expect(formatUsd(123_456_789)).toBe("123.46");
    expect(formatUsdMicros(1_200_001)).toBe("1.200001");
  });
});

describe("stays", () => {
  it("open stays end at asOf; nothing counts past asOf or before it started", () => {
    expect(stayMs({ joined_at: T0, left_at: null }, T0 + 5 * MIN)).toBe(5 * MIN);
    expect(stayMs({ joined_at: T0, left_at: T0 + 10 * MIN }, T0 + 5 * MIN)).toBe(5 * MIN);
    expect(stayMs({ joined_at: T0 + 10 * MIN, left_at: null }, T0)).toBe(0);
    expect(stayMs({ joined_at: T0 + 10 * MIN, left_at: T0 }, T0 + 60 * MIN)).toBe(0);
  });

  it("unknown locations still count (a room row that has not reached D1 yet)", () => {
    const b = costBreakdown({ stays: [stay("m1", "r9", T0, T0 + MIN)], rooms: [], asOf: T0 + MIN, priceNanos: PRICE });
    expect(b.rooms.map((r) => [r.key, r.participantMs, r.status])).toEqual([
      ["main", 0, "main"],
      ["r9", MIN, "unknown"],
    ]);
  });

  it("orders rooms by round then number (r2 before r10), main first", () => {
    const rooms = [room("r10", 2), room("r2", 2), room("r1", 1)];
    const b = costBreakdown({ stays: [], rooms, asOf: T0, priceNanos: PRICE });
    expect(b.rooms.map((r) => r.key)).toEqual(["main", "r1", "r2", "r10"]);
  });
});

describe("the report", () => {
  it("lists attendance with time per room, cost controls and the estimate", () => {
    const { people, rooms, stays } = guideExample();
    const members = people.map((p, i) => member(p, { joined_at: T0 + i, left_at: T0 + 80 * MIN, role: i === 0 ? "facilitator" : "participant" }));
    members.push(member("m11", { status: "denied", admitted_at: null, joined_at: T0 + 5 * MIN, left_at: T0 + 6 * MIN }));
    const r = buildReport({
      session: session({ ended_at: T0 + 80 * MIN, rounds_completed: 1 }),
      members,
      rooms,
      stays,
      now: T0 + 500 * MIN,
      priceNanos: PRICE,
    });
    expect(r.asOf).toBe(T0 + 80 * MIN); // an ended session is reported as of its end, not now
    expect(r.session.durationMs).toBe(80 * MIN);
    expect(r.totals.costUsd).toBe("1.20");
    expect(r.attendance.map((a) => a.memberId)).toEqual([...people, "m11"]);
    expect(r.attendance[0]).toMatchObject({ role: "facilitator", timeByRoomMs: { main: 60 * MIN, r1: 20 * MIN }, totalMinutes: 80 });
    expect(r.attendance[9].timeByRoomMs).toEqual({ main: 60 * MIN, r5: 20 * MIN });
    expect(r.attendance[10]).toMatchObject({ status: "denied", timeByRoomMs: {}, totalMs: 0 });
    expect(r.costControls).toEqual({ maxSessionSeconds: 14400, maxParticipantsPerRoom: 50, emptyRoomTimeoutSeconds: 120, endsAt: T0 + 4 * 3600_000 });
    expect(r.estimate).toMatchObject({ live: false, placedNow: 0, projectedAtLimitMicros: 1_200_000 });
    expect(r.billedByTwilio).toBe(true);
    expect(r.price).toEqual({ perParticipantMinuteUsd: "0.0015", nanosPerParticipantMinute: 1_500_000 });
  });

  it("a running session: open stays run to now; the projection assumes everyone placed stays until the limit", () => {
    const stays = [stay("m1", "main", T0, null), stay("m2", "main", T0, T0 + 10 * MIN), stay("m2", "r1", T0 + 10 * MIN, null)];
    const r = buildReport({
      session: session({ phase: "open", settings: { maxSessionSeconds: 3600 } }),
      members: [member("m1", { status: "admitted" }), member("m2", { status: "admitted" })],
      rooms: [room("r1", 1, { status: "open" })],
      stays,
      now: T0 + 30 * MIN,
      priceNanos: PRICE,
    });
    expect(r.totals.participantMinutes).toBe(60);
    expect(r.totals.costMicros).toBe(90_000);
    expect(r.estimate.live).toBe(true);
    expect(r.estimate.placedNow).toBe(2);
    expect(r.estimate.costMicrosPerMinuteNow).toBe(3_000);
    // 30 more minutes for 2 people: + 60 participant-minutes = + $0.09.
    expect(r.estimate.projectedAtLimitMicros).toBe(180_000);
    expect(costControls({ created_at: T0, settings: { maxSessionSeconds: null } }).endsAt).toBeNull();
    expect(costControls({ created_at: T0, settings: "{not json" })).toEqual({
      maxSessionSeconds: null,
      maxParticipantsPerRoom: null,
      emptyRoomTimeoutSeconds: null,
      endsAt: null,
    });
  });

  it("writes a rectangular CSV with a TOTAL row, neutralising spreadsheet formulas", () => {
    const { people, rooms, stays } = guideExample();
    const members = people.map((p) => member(p));
    members[1].display_name = '=HYPERLINK("x")';
    members[2].display_name = "Smith, Jo";
    const csv = reportCsv(buildReport({ session: session({ ended_at: T0 + 80 * MIN }), members, rooms, stays, now: T0, priceNanos: PRICE }));
    const lines = csv.trimEnd().split("\r\n");
    expect(lines).toHaveLength(12);
    // Every cell is quoted (lib/cost.ts csvField; test/unit/csv-injection.test.ts has the injection cases).
    const row = (...cells: string[]) => cells.map((c) => `"${c}"`).join(",");
    expect(lines[0]).toBe(
      row(
        ..."member_id,name,role,status,joined_at,admitted_at,left_at,minutes_main,minutes_r1 (Room 1),minutes_r2 (Room 2),minutes_r3 (Room 3),minutes_r4 (Room 4),minutes_r5 (Room 5),total_minutes,estimated_cost_usd".split(
          ",",
        ),
      ),
    );
    const t0 = new Date(T0).toISOString();
    expect(lines[1]).toBe(row("m1", "Person m1", "participant", "left", t0, t0, "", "60.000", "20.000", "0.000", "0.000", "0.000", "0.000", "80.000", "0.12"));
    expect(lines[2]).toContain(`"m2","'=HYPERLINK(""x"")"`);
    expect(lines[3]).toContain(`"m3","Smith, Jo",`);
    expect(lines[11]).toBe(
      row("TOTAL", "", "", "", t0, "", new Date(T0 + 80 * MIN).toISOString(), "600.000", "40.000", "40.000", "40.000", "40.000", "40.000", "800.000", "1.20"),
    );
    expect(csvField(null)).toBe('""');
    expect(csvField("-1")).toBe(`"'-1"`);
    expect(csvField(-1)).toBe('"-1"');
  });
});

describe("properties", () => {
  const T = 6 * 3600_000;
  const stayArb = fc.record({
    member: fc.integer({ min: 1, max: 8 }),
    place: fc.integer({ min: 0, max: 5 }),
    from: fc.integer({ min: 0, max: T }),
    len: fc.option(fc.integer({ min: -MIN, max: T }), { nil: null }),
  });
  const inputArb = fc.record({
    stays: fc.array(stayArb, { maxLength: 40 }),
    rooms: fc.uniqueArray(fc.integer({ min: 1, max: 5 }), { maxLength: 5 }),
    asOf: fc.integer({ min: 0, max: T * 2 }),
    price: fc.integer({ min: 0, max: 10_000_000_000 }),
  });
  type Raw = { stays: { member: number; place: number; from: number; len: number | null }[]; rooms: number[]; asOf: number; price: number };
  const toInput = (i: Raw) => ({
    stays: i.stays.map((s) => stay(`m${s.member}`, s.place === 0 ? "main" : `r${s.place}`, T0 + s.from, s.len === null ? null : T0 + s.from + s.len)),
    rooms: i.rooms.map((n) => room(`r${n}`)),
    asOf: T0 + i.asOf,
    priceNanos: i.price,
  });

  it("minutes and money are never negative", () => {
    fc.assert(
      fc.property(inputArb, (raw) => {
        const b = costBreakdown(toInput(raw));
        for (const r of b.rooms) {
          expect(r.participantMs).toBeGreaterThanOrEqual(0);
          expect(r.participantMinutes).toBeGreaterThanOrEqual(0);
          expect(r.costMicros).toBeGreaterThanOrEqual(0);
        }
        for (const per of Object.values(b.byMember)) for (const ms of Object.values(per)) expect(ms).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 300 },
    );
  });

  it("per-room participant-ms and cost add up to the totals; per-member time adds up to the same ms", () => {
    fc.assert(
      fc.property(inputArb, (raw) => {
        const input = toInput(raw);
        const b = costBreakdown(input);
        expect(b.rooms.reduce((a, r) => a + r.costMicros, 0)).toBe(b.totals.costMicros);
        expect(b.rooms.reduce((a, r) => a + r.participantMs, 0)).toBe(b.totals.participantMs);
        const memberMs = Object.values(b.byMember).reduce((a, per) => a + Object.values(per).reduce((x, y) => x + y, 0), 0);
        expect(memberMs).toBe(b.totals.participantMs);
        // Rounding is per room, half a micro-dollar at most each.
        const exact = (b.totals.participantMs * input.priceNanos) / 60_000_000;
        expect(Math.abs(b.totals.costMicros - exact)).toBeLessThanOrEqual(b.rooms.length * 0.5 + 1e-6 * exact);
        expect(b.totals.costCents).toBe(microsToCents(b.totals.costMicros));
      }),
      { numRuns: 300 },
    );
  });

  it("cost grows with time; splitting a stay in two changes no room's minutes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 9 }), fc.integer({ min: 0, max: 10 ** 6 }), fc.integer({ min: 1, max: 10 ** 8 }), (ms, extra, price) => {
        expect(costMicros(ms + extra, price)).toBeGreaterThanOrEqual(costMicros(ms, price));
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: T }), fc.integer({ min: 0, max: T }), fc.integer({ min: 0, max: T }), (a, len, cut) => {
        const end = T0 + a + len;
        const mid = T0 + a + Math.min(cut, len);
        const one = costBreakdown({ stays: [stay("m1", "r1", T0 + a, end)], rooms: [room("r1")], asOf: T0 + 2 * T, priceNanos: PRICE });
        const two = costBreakdown({
          stays: [stay("m1", "r1", T0 + a, mid), stay("m1", "r1", mid, end)],
          rooms: [room("r1")],
          asOf: T0 + 2 * T,
          priceNanos: PRICE,
        });
        expect(two.rooms.map((r) => r.participantMs)).toEqual(one.rooms.map((r) => r.participantMs));
        expect(two.totals).toEqual(one.totals);
      }),
    );
  });
});
