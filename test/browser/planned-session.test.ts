/**
 * A planned group-therapy session in real browsers (issue 15): the facilitator saves a plan on the Plans page and
 * starts a session from it; the session keeps names private (roster "aliases") and every breakout room supervised.
 * Two clients join accepting the group agreement, one choosing an alias at the door, the other in the room ("How
 * others see you"): each sees the other only by that alias, never by the name they joined with. "Next step" runs the
 * plan: together, then a supervised round (the facilitator is placed in the room). During the round a client asks
 * discreetly to talk privately; the facilitator starts the check-in from the notice (both move to a room of their
 * own, the other client sees only that someone stepped out) and ends it from the check-in panel (both go back to the
 * breakout room). The last step brings everyone back; the session ends; the attendance page counts the request.
 * A second session: a supervised room whose co-facilitator's browser goes away; the facilitator's notice says so and
 * "Bring room back to main" moves that room's clients to the main room.
 * Screenshots of the console and the client room at each step go to test-artifacts/browser/planned-*.png.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  facilitatorSignsIn,
  facilitatorCreatesSession,
  horizontalOverflow,
  launchChromium,
  memberIdOf,
  newPerson,
  participantJoins,
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

/** Everything a person can read on the page (the body's text), whitespace folded. */
const pageText = async (page: Page) => ((await page.locator("body").textContent()) ?? "").replace(/\s+/g, " ");

/** Join with the invite: camera preview, name, the alias field (shown under a confidential roster), the agreement. */
async function joins(page: Page, inviteUrl: string, name: string, alias: string | null): Promise<void> {
  await page.goto(inviteUrl);
  await page.getByTestId("join-form").waitFor();
  await pollUntil(
    () => page.getByTestId("join-preview").evaluate((el: any) => (el.getVideoPlaybackQuality?.().totalVideoFrames ?? 0) as number),
    (n) => n > 2,
    { timeoutMs: 20_000, what: `${name}'s camera preview` },
  );
  await page.getByTestId("join-name").fill(name);
  // Under the "aliases" roster the join page offers the name the group will see.
  await page.getByTestId("join-alias").waitFor();
  if (alias) await page.getByTestId("join-alias").fill(alias);
  await page.getByTestId("agreement-accept").check();
  await page.getByTestId("join-submit").click();
  await page.waitForURL(/\/session\//);
  await page.getByTestId("waiting-room").waitFor();
}

async function openMore(page: Page, item: string): Promise<void> {
  await page.getByTestId("more").click();
  await page.getByTestId(item).click();
}

describe("a planned, supervised session with a confidential roster and a private check-in", () => {
  beforeAll(async () => {
    browser = await launchChromium({ fakeVideoFile: inject("fakeVideoFile") });
    fac = await newPerson(browser, baseURL, { name: "Fay (facilitator)" });
    ana = await newPerson(browser, baseURL, { name: "Anastasia" });
    ben = await newPerson(browser, baseURL, { name: "Benedikt" });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("plan, aliases, a supervised round by Next step, a private check-in started and ended, then attendance", async () => {
    const console_ = fac.page;
    // --- The facilitator signs in and saves a plan on the Plans page. ---------------------------------------------
    await facilitatorSignsIn(console_, "Fay");
    await console_.getByTestId("plans-link").click();
    await console_.getByTestId("plans-page").waitFor();
    await console_.getByTestId("new-plan").click();
    await console_.getByTestId("plan-name").fill("Tuesday group");
    // The new plan's three steps: together, breakouts, together. The round: one room (so one facilitator supervises it), 15 min.
    await console_.getByTestId("step-title-0").fill("Welcome");
    await console_.getByTestId("step-title-1").fill("Sharing round");
    await console_.getByTestId("step-by-1").selectOption("count");
    await console_.getByTestId("step-rooms-1").fill("1");
    await console_.getByTestId("step-mode-1").selectOption("auto");
    // A step that cannot be saved says why.
    await console_.getByTestId("step-minutes-2").fill("0");
    await console_.getByTestId("plan-save").click();
    await waitForText(console_.getByTestId("plan-error"), "Step 3: minutes are a whole number from 1 to 240", { contains: true });
    await console_.getByTestId("step-minutes-2").fill("5");
    await screenshot(console_, "planned-01-plan-editor");
    await console_.getByTestId("plan-save").click();
    const planItem = console_.locator('[data-testid^="plan-plan_"]');
    await waitForCount(planItem, 1);
    await waitForText(planItem, "Sharing round: 1 room, assigned automatically · 15 min", { contains: true });
    await screenshot(console_, "planned-01-plans-page");
    // On a phone the list and its actions fit the width.
    await console_.setViewportSize({ width: 390, height: 844 });
    expect((await horizontalOverflow(console_)).overflow, "plans page overflow on a phone").toBe(0);
    await screenshot(console_, "planned-01-plans-page-phone");
    await console_.setViewportSize({ width: 1280, height: 900 });

    // --- A session from the plan: the console shows the plan strip, not started. -----------------------------------
    await console_.locator('[data-testid^="plan-start-"]').click();
    await console_.waitForURL(/\/console\//);
    const sessionId = decodeURIComponent(new URL(console_.url()).pathname.split("/")[2] ?? "");
    await waitForText(console_.getByTestId("plan-current"), "Plan “Tuesday group” not started", { contains: true });
    const inviteUrl = await console_.getByTestId("invite-link").inputValue();
    // Settings: only chosen names among clients, and every room supervised.
    await openMore(console_, "open-settings");
    await console_.getByTestId("setting-roster").selectOption("aliases");
    await console_.getByTestId("setting-supervised").check();
    await pollUntil(
      () => console_.getByTestId("setting-supervised").isChecked(),
      (v) => v,
      { timeoutMs: 10_000, what: "supervised rooms on" },
    );

    // --- Two clients join, accepting the agreement; Benedikt picks an alias at the door. ---------------------------
    await joins(ana.page, inviteUrl, "Anastasia Real", null);
    await joins(ben.page, inviteUrl, "Benedikt Real", "Birch");
    const anaId = await memberIdOf(ana.page, sessionId);
    const benId = await memberIdOf(ben.page, sessionId);
    await console_.getByTestId("waiting-admit-all").click();
    await ana.page.getByTestId("participant-room").waitFor();
    await ben.page.getByTestId("participant-room").waitFor();

    // --- Anastasia chooses how others see her. ----------------------------------------------------------------------
    await openMore(ana.page, "shown-as-menu");
    await waitForText(ana.page.getByTestId("shown-as"), `Others in the group see you as Member ${anaId.replace(/^m/, "")}.`);
    await ana.page.getByTestId("alias-input").fill("Sunny");
    await ana.page.getByTestId("alias-save").click();
    await waitForText(ana.page.getByTestId("shown-as"), "Others in the group see you as Sunny.");
    // Each client sees the other by the alias only; the names they joined with never reach the other's page.
    await ben.page.getByTestId("toggle-people").click();
    await waitForText(ben.page.getByTestId("roommates"), "Sunny", { contains: true });
    await ana.page.getByTestId("toggle-people").click();
    await waitForText(ana.page.getByTestId("roommates"), "Birch", { contains: true });
    await waitForText(ben.page.getByTestId("people-shown-as"), "Others see you as Birch");
    expect(await pageText(ben.page)).not.toContain("Anastasia");
    expect(await pageText(ana.page)).not.toContain("Benedikt");
    // Staff see both.
    await console_.getByTestId("toggle-people").click();
    await waitForText(console_.getByTestId(`person-${anaId}`), "Anastasia Real", { contains: true });
    await waitForText(console_.getByTestId(`shown-as-${anaId}`), "shown as “Sunny”");
    await waitForText(console_.getByTestId(`shown-as-${benId}`), "shown as “Birch”");
    await screenshot(ana.page, "planned-02-client-alias");
    await screenshot(console_, "planned-02-console-people");

    // --- Two rooms by hand with one facilitator: opening them asks first, naming the room without staff. -----------
    await console_.getByTestId("toggle-breakouts").click();
    await console_.getByTestId("rooms-count").fill("2");
    await console_.getByTestId("rooms-mode").selectOption("auto");
    await console_.getByTestId("create-rooms-submit").click();
    await console_.getByTestId("open-rooms").click();
    const dialog = console_.getByTestId("unsupervised-dialog");
    await waitForText(dialog.getByTestId("unsupervised-rooms"), /^Room 2 would open without a facilitator or co-facilitator \(1 staff for 2 rooms\)\.$/);
    await screenshot(console_, "planned-03-console-unsupervised-dialog");
    await dialog.getByRole("button", { name: "Not yet" }).click();
    await waitForCount(console_.locator('[data-testid="unsupervised-dialog"][open]'), 0);
    expect(await console_.getByTestId("session-phase").textContent()).toBe("Preparing breakout rooms");
    await console_.getByTestId("cancel-rooms").click();
    await waitForText(console_.getByTestId("session-phase"), "Everyone in the main room", { timeoutMs: 20_000 });
    await console_.getByTestId("toggle-breakouts").click();

    // --- Next step: together; next step: the supervised round. -----------------------------------------------------
    // The plan panel lists the facilitator's saved plans; loading one again starts it over.
    await console_.getByTestId("plan-details").click();
    const saved = console_.locator('[data-testid^="load-plan-"]');
    await waitForCount(saved, 1);
    await waitForText(saved, "Tuesday group 3 steps", { contains: true });
    await saved.getByRole("button", { name: "Load again" }).click();
    await waitForText(console_.getByTestId("plan-current"), "Plan “Tuesday group” not started", { contains: true });
    await screenshot(console_, "planned-03-console-plan-panel");
    await console_.getByTestId("panel-close").click();
    await console_.getByTestId("next-step").click();
    await waitForText(console_.getByTestId("plan-current"), "Step 1 of 3: Welcome", { contains: true });
    await waitForText(console_.getByTestId("next-step"), "Next step: Sharing round");
    await console_.getByTestId("next-step").click();
    await waitForText(console_.getByTestId("session-phase"), "Breakout rooms open", { timeoutMs: 20_000 });
    await waitForText(console_.getByTestId("plan-current"), /Step 2 of 3: Sharing round · 0:\d\d of 15:00/);
    // Supervised: the facilitator was placed in the room with the clients.
    await waitForText(console_.getByTestId("my-location"), "Room 1", { timeoutMs: 20_000 });
    await waitForText(ana.page.getByTestId("room-name"), "Room 1", { timeoutMs: 20_000 });
    await waitForText(ben.page.getByTestId("room-name"), "Room 1", { timeoutMs: 20_000 });
    await screenshot(console_, "planned-03-console-round");
    await console_.setViewportSize({ width: 390, height: 844 });
    await console_.getByTestId("next-step").waitFor();
    expect((await horizontalOverflow(console_)).overflow, "console overflow on a phone").toBe(0);
    await screenshot(console_, "planned-03-console-round-phone");
    await console_.setViewportSize({ width: 1280, height: 900 });

    // --- Anastasia asks discreetly to talk privately: only staff hear of it. ---------------------------------------
    await openMore(ana.page, "checkin-menu");
    await ana.page.getByTestId("send-checkin").click();
    await waitForText(ana.page.getByTestId("checkin-sent"), "Your request was sent. Only the facilitators can see it", { contains: true });
    await screenshot(ana.page, "planned-04-client-checkin-sent");
    const notice = console_.getByTestId("notice-checkInRequested");
    await waitForText(notice, "Anastasia Real would like to talk to you privately (Room 1).", { contains: true });
    expect(await pageText(ben.page)).not.toMatch(/privately|check-in/i);
    await screenshot(console_, "planned-04-console-checkin-request");

    // --- The facilitator starts it from the notice: both are in a private check-in. --------------------------------
    await console_.getByTestId("notice-start-checkin").click();
    await waitForText(ana.page.getByTestId("room-name"), "Private check-in", { timeoutMs: 20_000 });
    await waitForText(ana.page.getByTestId("checkin-notice"), "You are in a private check-in with the therapist.", { contains: true });
    await waitForText(console_.getByTestId("my-location"), "Private check-in", { timeoutMs: 20_000 });
    // In a check-in the console offers to end it, not to go "back to main" (a check-in is left only by ending it).
    await console_.getByTestId("top-end-checkin").waitFor();
    await waitForCount(console_.getByTestId("back-to-main"), 0);
    // Benedikt, left in the room, learns only that Sunny stepped out.
    await waitForText(ben.page.getByTestId("stepped-out"), "Sunny stepped out for a moment.");
    expect(await pageText(ben.page)).not.toContain("Anastasia");
    await screenshot(ana.page, "planned-05-client-in-checkin");
    await screenshot(console_, "planned-05-console-in-checkin");

    // --- It ends from the check-in panel: both go back to the breakout room. ---------------------------------------
    await openMore(console_, "open-checkins");
    const running = console_.locator('[data-testid^="end-checkin-"]');
    await waitForCount(running, 1);
    await screenshot(console_, "planned-06-console-checkin-panel");
    await running.click();
    await waitForText(ana.page.getByTestId("room-name"), "Room 1", { timeoutMs: 20_000 });
    await waitForCount(ana.page.getByTestId("checkin-notice"), 0);
    await waitForText(console_.getByTestId("my-location"), "Room 1", { timeoutMs: 20_000 });
    await waitForCount(ben.page.getByTestId("stepped-out"), 0);

    // --- The last step brings everyone back; the facilitator ends the session; attendance. -------------------------
    await console_.getByTestId("next-step").click();
    await waitForText(console_.getByTestId("session-phase"), "Everyone in the main room", { timeoutMs: 30_000 });
    await waitForText(console_.getByTestId("plan-current"), "Step 3 of 3: Closing round", { contains: true });
    await waitForText(ana.page.getByTestId("room-name"), "Main room", { timeoutMs: 20_000 });
    await console_.getByTestId("end-session").click();
    await console_.getByTestId("end-session-confirm").click();
    await console_.getByTestId("session-ended").waitFor({ timeout: 20_000 });
    await console_.getByTestId("report-link").click();
    await console_.getByTestId("report-attendance-link").click({ timeout: 30_000 });
    await console_.getByTestId("attendance-page").waitFor();
    const clients = console_.getByTestId("attendance-clients");
    await waitForText(clients, "Anastasia Real", { contains: true, timeoutMs: 30_000 });
    await waitForText(clients, "Benedikt Real", { contains: true });
    // Anastasia's row counts her one check-in request, and names the check-in's place in words.
    await waitForText(clients.locator("tr", { hasText: "Anastasia Real" }), "Private check-in", { contains: true });
    const anaRow = clients.locator("tr", { hasText: "Anastasia Real" });
    expect(((await anaRow.locator("td.num").last().textContent()) ?? "").trim()).toBe("1");
    await screenshot(console_, "planned-07-attendance");

    for (const p of [fac, ana, ben]) expect(p.errors, `${p.name}'s page errors`).toEqual([]);
  }, 240_000);

  it("a supervised room whose co-facilitator drops out: staff hear of it and bring the room back to main in one click", async () => {
    const lead = await newPerson(browser, baseURL, { name: "Lee (facilitator)" });
    const co = await newPerson(browser, baseURL, { name: "Cody (co-facilitator)" });
    const clients = [await newPerson(browser, baseURL, { name: "Dana" }), await newPerson(browser, baseURL, { name: "Eli" })];
    try {
      const page = lead.page;
      const { sessionId, inviteUrl } = await facilitatorCreatesSession(page, { name: "Lee", title: "Thursday group" });
      await page.getByTestId("new-cofacilitator-invite").click();
      const coUrl = await page.getByTestId("cofacilitator-link").inputValue();
      await openMore(page, "open-settings");
      await page.getByTestId("setting-supervised").check();
      await pollUntil(
        () => page.getByTestId("setting-supervised").isChecked(),
        (v) => v,
        { timeoutMs: 10_000, what: "supervised rooms on" },
      );
      // The co-facilitator joins from their link (no agreement, no waiting room) and lands in the console.
      await co.page.goto(coUrl);
      await co.page.getByTestId("join-name").fill("Cody");
      await co.page.getByTestId("join-submit").click();
      await co.page.getByTestId("console").waitFor();
      const coId = await memberIdOf(co.page, sessionId);
      for (const c of clients) await participantJoins(c.page, inviteUrl, c.name);
      await page.getByTestId("waiting-admit-all").click();
      for (const c of clients) await c.page.getByTestId("participant-room").waitFor();

      // Two rooms: staff are placed first, one per room, so they open without a question.
      await page.getByTestId("toggle-breakouts").click();
      await page.getByTestId("rooms-count").fill("2");
      await page.getByTestId("rooms-mode").selectOption("auto");
      await page.getByTestId("create-rooms-submit").click();
      await page.getByTestId("open-rooms").click();
      await waitForText(page.getByTestId("session-phase"), "Breakout rooms open", { timeoutMs: 20_000 });
      await page.getByTestId("toggle-people").click();
      const coRoom = await pollUntil(
        () => page.getByTestId(`person-${coId}`).getAttribute("data-location"),
        (l) => !!l && l !== "main",
        { timeoutMs: 20_000, what: "the co-facilitator placed in a room" },
      );
      // Cody's browser goes away: the room is left without staff.
      await co.context.close();
      const notice = page.getByTestId("notice-roomUnsupervised");
      await waitForText(notice, /^Room \d has no facilitator now \(Cody (disconnected|left)\)\./, { timeoutMs: 30_000 });
      await screenshot(page, "planned-08-console-room-unsupervised");
      await page.getByTestId("notice-close-room").click();
      await waitForCount(notice, 0);
      // Everyone who was in Cody's room is back in the main room; the other room goes on.
      await pollUntil(
        async () =>
          Promise.all(
            clients.map(async (c) => ({
              loc: await page.getByTestId(`person-${await memberIdOf(c.page, sessionId)}`).getAttribute("data-location"),
              room: ((await c.page.getByTestId("room-name").textContent()) ?? "").trim(),
            })),
          ),
        (rows) => rows.every((r) => r.loc !== coRoom) && rows.some((r) => r.room === "Main room"),
        { timeoutMs: 20_000, what: "the unsupervised room's clients back in main" },
      );
      for (const p of [lead, ...clients]) expect(p.errors, `${p.name}'s page errors`).toEqual([]);
    } finally {
      for (const p of [lead, ...clients]) await p.context.close().catch(() => {});
    }
  }, 180_000);
});
