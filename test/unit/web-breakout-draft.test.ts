/** The breakout manager's "new rooms" form as data (web/src/lib/breakout-draft.ts). */
import { describe, expect, it } from "vitest";
import { draftCommand, emptyDraft } from "../../web/src/lib/breakout-draft";

describe("draftCommand", () => {
  it("asks for a number of rooms, automatic, untimed, by default", () => {
    expect(draftCommand(emptyDraft(60))).toEqual({ command: { type: "createBreakouts", count: 2, mode: "auto" }, countdown: 60 });
  });

  it("sends names (one per line, blanks dropped), minutes as seconds, capacity and staff", () => {
    const r = draftCommand({
      ...emptyDraft(60),
      how: "names",
      names: "Garden\n\n  Lake \n",
      mode: "manual",
      minutes: "0.5",
      capacity: "3",
      includeStaff: ["m1"],
      countdown: "5",
    });
    expect(r).toEqual({
      command: { type: "createBreakouts", names: ["Garden", "Lake"], mode: "manual", durationSeconds: 30, capacity: 3, includeStaff: ["m1"] },
      countdown: 5,
    });
  });

  it("says what to fix, once per problem", () => {
    const r = draftCommand({ ...emptyDraft(60), count: "0", minutes: "0.2", capacity: "99", countdown: "1.5" });
    expect("errors" in r && [...r.errors].sort()).toEqual(
      [
        "Number of rooms must be between 1 and 50.",
        "Duration must be between 0.5 and 240 minutes, or empty for no time limit.",
        "People per room must be between 1 and 50, or empty.",
        "Closing countdown must be a whole number of seconds from 0 to 300.",
      ].sort(),
    );
    expect(draftCommand({ ...emptyDraft(60), how: "names", names: "\n \n" })).toEqual({
      errors: ["Give each room a name (one per line, up to 50 rooms)."],
    });
  });
});
