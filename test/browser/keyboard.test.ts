/**
 * The facilitator console by keyboard alone, labelled controls, and phone width (issue "Web client": "Keyboard-only
 * operation of the console, labelled controls, and readable on a phone-width screen").
 *
 * The facilitator signs in, creates a session, admits two participants, creates breakout rooms, opens them, moves a
 * participant live to the other room and closes the rooms, pressing only Tab / Shift+Tab, Enter, Space, arrow keys
 * and typing: every control is reached with Tab, and shows a visible focus indicator when it is. Every interactive
 * control on the pages people use (home, join, participant room, console in each phase) has an accessible name in
 * Chromium's accessibility tree. At 390x844 (a phone) the join page, the participant's room and the console fit the
 * width (no horizontal scrolling); screenshots go to test-artifacts/browser/.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  accessibleControls,
  focused,
  horizontalOverflow,
  launchChromium,
  memberIdOf,
  newPerson,
  participantJoins,
  pollUntil,
  screenshot,
  tabTo,
  waitForText,
  type Person,
} from "./helpers.ts";

const baseURL = inject("appUrl");

let browser: Browser;
let fac: Person;
let ana: Person; // joins on a phone
let ben: Person;

/** Every interactive control of the page has an accessible name; returns how many were checked. */
async function expectLabelledControls(page: Page, where: string): Promise<number> {
  const controls = await accessibleControls(page);
  const unnamed = controls.filter((c) => c.name === "");
  expect(unnamed, `${where}: controls without an accessible name`).toEqual([]);
  expect(controls.length, `${where}: interactive controls found`).toBeGreaterThan(0);
  return controls.length;
}

/** Tab to the control whose accessible label (or test id) matches, check it shows focus, and return it. */
/** Tab presses it took to reach each control (a figure for the report: focus is not kept after some actions). */
const presses: Record<string, number> = {};

async function reach(page: Page, what: string, match: (f: Awaited<ReturnType<typeof focused>>) => boolean, maxPresses = 150) {
  const f = await tabTo(page, match, { what, maxPresses });
  presses[what] = f.presses;
  expect(f.focusVisible, `${what} shows a keyboard focus indicator (:focus-visible)`).toBe(true);
  expect(f.outline, `${what} focus outline`).not.toMatch(/^none/);
  return f;
}

async function fitsWidth(page: Page, where: string) {
  const o = await horizontalOverflow(page);
  expect(o.innerWidth).toBe(390);
  expect(o.overflow, `${where} scrolls sideways at 390 px: ${o.offenders.join(", ")}`).toBeLessThanOrEqual(0);
}

describe("console by keyboard only, labelled controls, phone width", () => {
  beforeAll(async () => {
    browser = await launchChromium({ fakeVideoFile: inject("fakeVideoFile") });
    fac = await newPerson(browser, baseURL, { name: "Kay (facilitator)" });
    ana = await newPerson(browser, baseURL, { name: "Ana", phone: true });
    ben = await newPerson(browser, baseURL, { name: "Ben" });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("signs in, admits, creates and opens rooms, moves a participant and closes the rooms with the keyboard alone", async () => {
    const page = fac.page;
    const counts: Record<string, number> = {};

    // --- Home: development sign-in and a new session. -----------------------------------------------------------
    await page.goto("/");
    await page.getByTestId("signin-form").waitFor();
    counts.home = await expectLabelledControls(page, "home (sign-in)");
    await reach(page, "the name field", (f) => f.id === "name");
    await page.keyboard.type("Kay");
    await reach(page, "the sign-in button", (f) => f.testid === "signin-submit");
    await page.keyboard.press("Enter");
    await page.getByTestId("create-session-form").waitFor();
    await reach(page, "the session title", (f) => f.id === "title");
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.type("Keyboard group");
    await reach(page, "the create-session button", (f) => f.testid === "create-session");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/console\//);
    const sessionId = decodeURIComponent(new URL(page.url()).pathname.split("/")[2] ?? "");
    const invite = await page.getByTestId("invite-link").inputValue();

    // --- Two participants join (Ana on a phone); the join page fits a phone. ------------------------------------
    await ana.page.goto(invite);
    await ana.page.getByTestId("join-form").waitFor();
    counts.join = await expectLabelledControls(ana.page, "join page");
    await fitsWidth(ana.page, "join page");
    await screenshot(ana.page, "phone-join");
    await Promise.all([participantJoins(ana.page, invite, "Ana"), participantJoins(ben.page, invite, "Ben")]);
    const anaId = await memberIdOf(ana.page, sessionId);
    const benId = await memberIdOf(ben.page, sessionId);

    // --- Admit both from the waiting room, by keyboard: the grouped notice's "Review" opens the waiting room. ------
    await page.getByTestId("waiting-notice").waitFor();
    await waitForText(page.getByTestId("waiting-notice"), "2 people are waiting", { contains: true });
    counts.consoleWaiting = await expectLabelledControls(page, "console with people waiting");
    await reach(page, "Review the waiting room", (f) => f.testid === "waiting-review");
    await page.keyboard.press("Enter");
    await page.getByTestId("panel-waiting").waitFor();
    // Focus moved into the panel (its heading).
    expect((await focused(page)).id).toBe("panel-title-waiting");
    await page.getByTestId(`admit-${anaId}`).waitFor();
    await reach(page, "Admit Ana", (f) => f.label === "Admit Ana");
    await page.keyboard.press("Enter");
    await ana.page.getByTestId("participant-room").waitFor();
    await reach(page, "Admit Ben", (f) => f.label === "Admit Ben");
    await page.keyboard.press("Space");
    await ben.page.getByTestId("participant-room").waitFor();
    // Escape closes the panel.
    await page.keyboard.press("Escape");
    await page.getByTestId("panel-waiting").waitFor({ state: "detached" });

    // --- Create two breakout rooms, assigned automatically, and open them: the breakout manager panel. ---------
    await reach(page, "the breakout rooms button", (f) => f.testid === "toggle-breakouts");
    await page.keyboard.press("Enter");
    await page.getByTestId("create-rooms-form").waitFor();
    expect((await focused(page)).id).toBe("panel-title-breakouts");
    counts.consoleMain = await expectLabelledControls(page, "console, everyone in main");
    await reach(page, "the number of rooms", (f) => f.id === "room-count");
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.type("2");
    const mode = await reach(page, "how people get to rooms", (f) => f.id === "room-mode");
    expect(mode.tag).toBe("select");
    expect(await page.locator("#room-mode").inputValue()).toBe("auto");
    await reach(page, "the create button", (f) => f.testid === "create-rooms-submit");
    await page.keyboard.press("Enter");
    await page.getByTestId("open-rooms").waitFor();
    counts.consolePreparing = await expectLabelledControls(page, "console, rooms being prepared");
    await reach(page, "open rooms", (f) => f.testid === "open-rooms");
    await page.keyboard.press("Enter");
    await waitForText(page.getByTestId("session-phase"), "Breakout rooms open");
    const roomOf = (id: string) =>
      page.evaluate((mid: string) => {
        const el = (globalThis as any).document.querySelector(`[data-testid="room-column"] [data-testid="member-${mid}"]`);
        return (el?.closest('[data-testid="room-column"]')?.dataset.roomId as string | undefined) ?? "";
      }, id);
    const [anaRoom, benRoom] = await pollUntil(
      async () => [await roomOf(anaId), await roomOf(benId)],
      ([a, b]) => a !== "main" && b !== "main" && a !== "" && b !== "",
      { timeoutMs: 20_000, what: "Ana and Ben in breakout rooms" },
    );
    expect(anaRoom).not.toBe(benRoom);
    await ana.page.getByTestId("participant-room").waitFor();
    counts.consoleOpen = await expectLabelledControls(page, "console, rooms open");
    counts.participantRoom = await expectLabelledControls(ana.page, "participant in a breakout room");
    const benRoomName = (await page.locator(`[id="col-${benRoom}"] > span`).first().textContent())?.trim() ?? "";
    await waitForText(ana.page.getByTestId("room-name"), (await page.locator(`[id="col-${anaRoom}"] > span`).first().textContent())?.trim() ?? "?");

    // --- Live move: Ana to Ben's room, with Ana's "Move" menu: Enter opens it, arrows move, Enter picks. ---------
    const move = await reach(page, "Move Ana", (f) => f.label === "Move Ana");
    expect(move.tag).toBe("button");
    await page.keyboard.press("Enter");
    const menu = page.getByTestId(`move-menu-${anaId}-menu`);
    await menu.waitFor();
    const items = await menu.locator('[role="menuitem"]').evaluateAll((els: any[]) => els.map((e) => e.textContent.trim()));
    expect(items, "the menu offers the other rooms and swaps").toContain(benRoomName);
    expect(items.some((t: string) => t.startsWith("Ben"))).toBe(true);
    counts.moveMenu = await expectLabelledControls(page, "console, Move menu open");
    for (let i = 0; i < items.length && (await focused(page)).label !== benRoomName; i++) await page.keyboard.press("ArrowDown");
    expect((await focused(page)).label).toBe(benRoomName);
    await page.keyboard.press("Enter");
    await waitForText(ana.page.getByTestId("room-name"), benRoomName);
    await waitForText(ana.page.getByTestId("moving-notice"), `You're moving to ${benRoomName}`, { contains: true });
    expect(
      await pollUntil(
        () => roomOf(anaId),
        (r) => r === benRoom,
        { timeoutMs: 20_000, what: "the console to show Ana's move" },
      ),
    ).toBe(benRoom);
    // Focus stayed with Ana (her Move button in her new room), not lost to the page.
    expect((await focused(page)).label).toBe("Move Ana");
    await screenshot(page, "keyboard-console-after-move");

    // --- Phone width: the participant's room and, narrowed, the console. ---------------------------------------
    await fitsWidth(ana.page, "participant room");
    await screenshot(ana.page, "phone-participant-room");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId("board").waitFor();
    await fitsWidth(page, "console (rooms open)");
    await screenshot(page, "phone-console");
    await page.setViewportSize({ width: 1280, height: 900 });

    // --- Close all rooms at once (countdown 0), by keyboard. ----------------------------------------------------
    await reach(page, "the close countdown", (f) => f.id === "close-countdown", 150);
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.type("0");
    await reach(page, "close all rooms", (f) => f.testid === "close-all");
    await page.keyboard.press("Enter");
    await waitForText(page.getByTestId("session-phase"), "Everyone in the main room");
    await waitForText(ana.page.getByTestId("room-name"), "Main room");
    await waitForText(ben.page.getByTestId("room-name"), "Main room");
    await fitsWidth(ana.page, "participant in the main room");

    for (const p of [fac, ana, ben]) expect(p.errors, `${p.name}'s page errors`).toEqual([]);
    console.log(`[keyboard] accessible controls checked per page: ${JSON.stringify(counts)}`);
    console.log(`[keyboard] Tab presses to reach each control: ${JSON.stringify(presses)}`);
  });
});
