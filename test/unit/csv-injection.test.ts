/**
 * The report CSV (lib/cost.ts reportCsv) against spreadsheet formula injection (OWASP "CSV injection"): whatever a
 * member calls themselves or a room, and whichever separator the reader's locale uses, no cell a spreadsheet reads
 * out of the file starts a formula.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildReport, csvField, priceNanosFrom, reportCsv, type MemberRow, type RoomRow, type StayRow } from "../../lib/cost";

const T0 = 1_700_000_000_000;
const MIN = 60_000;

/** RFC 4180 reading with a chosen separator, as a spreadsheet opening the file in that locale does. */
function readCsv(text: string, separator: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === separator) {
      row.push(cell);
      cell = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += c;
  }
  if (cell !== "" || row.length) rows.push([...row, cell]);
  return rows;
}

/** What a spreadsheet would evaluate: a cell starting with = + - @ (or full-width), after blanks, or with tab / CR. */
const RUNS_AS_FORMULA = /^(?:[\t\r\n]|[\s\u00a0\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20])/;

const NASTY_NAMES = [
  "x;=1+1;y",
  "x,=1+1,y",
  "x\t=1+1\ty",
  "x|=1+1|y",
  '=HYPERLINK("https://evil.example","click")',
  "+1+1",
  "-1+1",
  "@SUM(A1:A9)",
  "\t=1+1",
  "\r=1+1",
  " =1+1",
  "\u00a0=1+1",
  "\uff1d1+1",
  'Jo "the" Smith',
  "Smith, Jo",
  "two\r\nlines",
  "'=already quoted",
];

function reportWith(names: string[], roomName = "Room 1") {
  const members: MemberRow[] = names.map((display_name, i) => ({
    member_id: `m${i + 1}`,
    display_name,
    role: "participant",
    status: "admitted",
    joined_at: T0,
    admitted_at: T0,
    left_at: null,
  }));
  const rooms: RoomRow[] = [{ room_id: "r1", name: roomName, round: 1, status: "closed", capacity: 5, opened_at: T0, closed_at: T0 + 10 * MIN }];
  const stays: StayRow[] = members.map((m) => ({ member_id: m.member_id, location: "r1", joined_at: T0, left_at: T0 + 10 * MIN }));
  return buildReport({
    session: {
      id: "s1",
      title: "Group",
      phase: "ended",
      media_provider: "local",
      created_at: T0,
      ended_at: T0 + 20 * MIN,
      rounds_completed: 1,
      settings: null,
    },
    members,
    rooms,
    stays,
    now: T0 + 20 * MIN,
    priceNanos: priceNanosFrom("0.0015"),
  });
}

describe("report CSV against formula injection", () => {
  it("quotes every cell, so a name like x;=1+1;y stays one cell with any separator", () => {
    const csv = reportCsv(reportWith(NASTY_NAMES, "=cmd|' /C calc'!A0"));
    expect(readCsv(csv, ",").every((row) => row.length === readCsv(csv, ",")[0].length)).toBe(true);
    for (const separator of [",", ";", "\t", "|"]) {
      for (const row of readCsv(csv, separator))
        for (const cell of row) expect({ separator, cell, formula: RUNS_AS_FORMULA.test(cell) }).toEqual({ separator, cell, formula: false });
    }
  });

  it("keeps each name readable, with a leading ' only where it would start a formula", () => {
    const rows = readCsv(reportCsv(reportWith(NASTY_NAMES)), ",");
    const names = rows.slice(1, 1 + NASTY_NAMES.length).map((r) => r[1]);
    expect(names).toEqual(NASTY_NAMES.map((n) => (RUNS_AS_FORMULA.test(n) ? `'${n}` : n)));
    expect(rows[0]).toHaveLength(rows[1].length);
  });

  it("any text at all: no cell a spreadsheet reads with , or ; starts a formula", () => {
    const piece = fc.constantFrom("=", "+", "-", "@", "\t", "\r", "\n", ";", ",", '"', "'", " ", "\uff1d", "a", "1");
    const name = fc.array(piece, { minLength: 1, maxLength: 12 }).map((p) => p.join(""));
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 4 }), name, (names, roomName) => {
        const csv = reportCsv(reportWith(names, roomName));
        for (const separator of [",", ";"]) for (const row of readCsv(csv, separator)) for (const cell of row) expect(RUNS_AS_FORMULA.test(cell)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('writes numbers as they are (quoted), empty cells as ""', () => {
    expect(csvField(-1)).toBe('"-1"');
    expect(csvField("-1")).toBe(`"'-1"`);
    expect(csvField(null)).toBe('""');
    expect(csvField(undefined)).toBe('""');
  });
});
