/**
 * A recurring group in real browsers (issue 15 item 7): the facilitator creates a group on the Groups page and starts
 * week 1's session from it; a client opens the group's standing link, accepts the agreement and joins. After the
 * session ends, the same link says the next session has not started and looks again by itself; the facilitator starts
 * week 2 and the client's page (same browser profile: the group credential is kept in localStorage) goes on to it.
 * The group page then shows one row for that client, 2 of 2 sessions attended, alongside a client who came once.
 * Screenshots: test-artifacts/browser/group-*.png.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  facilitatorSignsIn,
  horizontalOverflow,
  joinsFromJoinPage,
  launchChromium,
  newPerson,
  pollUntil,
  screenshot,
  waitForCount,
  waitForText,
  type Person,
} from "./helpers.ts";

const baseURL = inject("appUrl");

let browser: Browser;
let fac: Person;
let ana: Person;
let ben: Person;

/** From the standing link through the join page (camera preview, name, agreement) into the waiting room. */
async function joinsByGroupLink(page: Page, name: string): Promise<void> {
  await page.waitForURL(/\/join\/.+group=/, { timeout: 40_000 });
  await joinsFromJoinPage(page, name);
}

async function endsSession(console_: Page): Promise<void> {
  await console_.getByTestId("end-session").click();
  await console_.getByTestId("end-session-confirm").click();
  await console_.getByTestId("session-ended").waitFor({ timeout: 20_000 });
}

describe("a recurring group over two weeks", () => {
  beforeAll(async () => {
    browser = await launchChromium({ fakeVideoFile: inject("fakeVideoFile") });
    fac = await newPerson(browser, baseURL, { name: "Fay (facilitator)" });
    ana = await newPerson(browser, baseURL, { name: "Ana" });
    ben = await newPerson(browser, baseURL, { name: "Ben" });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("one standing link, a client recognised in week 2, the group's attendance history", async () => {
    const console_ = fac.page;
    await facilitatorSignsIn(console_, "Fay");
    await console_.getByTestId("groups-link").click();
    await console_.getByTestId("groups-page").waitFor();
    await console_.getByTestId("group-name").fill("Tuesday anxiety group");
    await console_.getByTestId("group-create-submit").click();
    await waitForText(console_.getByTestId("group-title"), "Tuesday anxiety group");
    const link = await console_.getByTestId("group-link").inputValue();
    expect(link).toMatch(/\/g\/[A-Za-z0-9_-]{22}$/);
    await screenshot(console_, "group-01-new-group");

    // --- Before the first session, the link says so. ---------------------------------------------------------------
    await ana.page.goto(link);
    await waitForText(ana.page.getByTestId("group-waiting"), "The next session has not started yet", { contains: true });
    await waitForText(ana.page.getByTestId("group-waiting"), "With Fay.", { contains: true });
    await screenshot(ana.page, "group-02-waiting-card");

    // --- Week 1: Ana (already on the link: it opens by itself) and Ben join. -------------------------------------------
    await console_.getByTestId("group-start").click();
    await console_.waitForURL(/\/console\//);
    // The console offers the group's link beside the session's own invite.
    expect(await console_.getByTestId("invite-group-link").inputValue()).toBe(link);
    await joinsByGroupLink(ana.page, "Ana");
    await ben.page.goto(link);
    await joinsByGroupLink(ben.page, "Ben");
    await console_.getByTestId("waiting-admit-all").click();
    await ana.page.getByTestId("participant-room").waitFor();
    await ben.page.getByTestId("participant-room").waitFor();
    await endsSession(console_);

    // --- Between sessions the same link waits again; week 2 opens for Ana by itself. -------------------------------
    await ana.page.goto(link);
    await ana.page.getByTestId("group-waiting").waitFor();
    await console_.goto("/groups");
    await console_.locator('[data-testid^="group-grp_"] a').click();
    await console_.getByTestId("group-start").click();
    await console_.waitForURL(/\/console\//);
    await joinsByGroupLink(ana.page, "Ana");
    await console_.getByTestId("waiting-admit-all").click();
    await ana.page.getByTestId("participant-room").waitFor();
    await endsSession(console_);

    // --- The group page: Ana is one member with 2 of 2; Ben came once. ---------------------------------------------
    await console_.goto("/groups");
    await waitForText(console_.locator('[data-testid^="group-grp_"]'), "2 sessions · 2 members", { contains: true });
    await screenshot(console_, "group-03-groups-list");
    await console_.locator('[data-testid^="group-grp_"] a').click();
    const rows = console_.locator('[data-testid="group-member"]');
    await waitForCount(rows, 2);
    const byName: Record<string, string> = {};
    for (let i = 0; i < 2; i++) {
      const row = rows.nth(i);
      byName[((await row.locator("th").textContent()) ?? "").trim()] = ((await row.getByTestId("group-member-attended").textContent()) ?? "").trim();
    }
    expect(byName).toEqual({ Ana: "2 of 2", Ben: "1 of 2" });
    await screenshot(console_, "group-04-group-history");
    await console_.setViewportSize({ width: 390, height: 844 });
    expect((await horizontalOverflow(console_)).overflow, "group page overflow on a phone").toBe(0);
    await screenshot(console_, "group-04-group-history-phone");
    await console_.setViewportSize({ width: 1280, height: 900 });

    // --- Replacing the link retires the old one. -------------------------------------------------------------------
    await console_.getByTestId("group-replace-link").click();
    await console_.getByTestId("group-replace-confirm").click();
    await pollUntil(
      () => console_.getByTestId("group-link").inputValue(),
      (v) => v !== link,
      { timeoutMs: 10_000, what: "a new link" },
    );
    await ben.page.goto(link);
    await waitForText(ben.page.getByTestId("group-link-problem"), "This group link is no longer in use", { contains: true });
  });
});
