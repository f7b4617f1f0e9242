/**
 * Pairing rules in the console, in Chromium (issue 15 item 5): the facilitator marks two clients who must not share
 * a room in the Breakouts panel; automatic assignment puts them in different rooms; moving one into the other's room
 * asks first ("This breaks a pairing rule", naming both) and "Place anyway" places them. The four clients join over
 * HTTP (no pages: the rules are the console's). Screenshots: test-artifacts/browser/pairing-*.png.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  facilitatorCreatesSession,
  launchChromium,
  moveByKeyboard,
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

async function post(path: string, body: unknown): Promise<any> {
  const r = await fetch(new URL(path, baseURL), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const json = await r.json();
  if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

/** A client joins by the invite, accepting the agreement the preview shows; their member id. */
async function clientJoins(sessionId: string, invite: string, name: string): Promise<string> {
  const preview = await post(`/api/sessions/${sessionId}/preview`, { invite });
  return (await post(`/api/sessions/${sessionId}/join`, { invite, name, agreementHash: preview.agreement.hash })).memberId;
}

/** Which room column of the breakout manager shows the member. */
const columnOf = (page: Page, memberId: string) =>
  page.evaluate((id: string) => {
    const el = (globalThis as any).document.querySelector(`[data-testid="room-column"] [data-testid="member-${id}"]`);
    return (el?.closest('[data-testid="room-column"]')?.dataset.roomId as string | undefined) ?? null;
  }, memberId);

describe("pairing rules in the console", () => {
  beforeAll(async () => {
    browser = await launchChromium({ fakeVideoFile: inject("fakeVideoFile") });
    fac = await newPerson(browser, baseURL, { name: "Fay (facilitator)" });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("a rule set in the Breakouts panel: automatic rooms keep the pair apart; a move that breaks it asks, then places", async () => {
    const console_ = fac.page;
    const { sessionId, inviteUrl } = await facilitatorCreatesSession(console_, { name: "Fay", title: "Thursday group" });
    const invite = new URL(inviteUrl).searchParams.get("invite")!;
    const ids: Record<string, string> = {};
    for (const name of ["Ana", "Ben", "Cleo", "Dev"]) ids[name] = await clientJoins(sessionId, invite, name);
    await console_.getByTestId("waiting-admit-all").click();

    // --- The rule: Ana must not share a room with Ben. -------------------------------------------------------------
    await console_.getByTestId("toggle-breakouts").click();
    await console_.locator('[data-testid="pairing-rules"] > summary').click();
    await pollUntil(
      () => console_.locator('[data-testid="pair-a"] option').count(),
      (n) => n >= 5,
      { timeoutMs: 20_000, what: "the four admitted clients in the rule's list" },
    );
    await console_.getByTestId("pair-a").selectOption(ids.Ana);
    await console_.getByTestId("pair-kind").selectOption("apart");
    await console_.getByTestId("pair-b").selectOption(ids.Ben);
    await console_.getByTestId("pair-add").click();
    await waitForText(console_.getByTestId("pair-rule"), "Ana apart from Ben", { contains: true });
    await waitForText(console_.locator('[data-testid="pairing-rules"] > summary'), "Pairing rules (1)");
    await screenshot(console_, "pairing-01-rule");

    // --- Two rooms, assigned automatically: Ana and Ben apart, two in each. -----------------------------------------
    await console_.getByTestId("rooms-count").fill("2");
    await console_.getByTestId("rooms-mode").selectOption("auto");
    await console_.getByTestId("create-rooms-submit").click();
    await waitForCount(console_.locator('[data-testid="room-column"][data-room-id="r2"]'), 1);
    await pollUntil(
      () => columnOf(console_, ids.Dev),
      (c) => c === "r1" || c === "r2",
      { timeoutMs: 20_000, what: "everyone assigned" },
    );
    const [anaRoom, benRoom] = [await columnOf(console_, ids.Ana), await columnOf(console_, ids.Ben)];
    expect(anaRoom).not.toBe(benRoom);
    const sizes = await Promise.all(
      ["r1", "r2"].map((r) => console_.locator(`[data-testid="room-column"][data-room-id="${r}"] [data-testid^="member-"]`).count()),
    );
    expect(sizes).toEqual([2, 2]);

    // --- Moving Ben into Ana's room asks first, naming them; "Place anyway" places him. -----------------------------
    // A scroll event that leaves the Move button where it was (the panel's scroll anchoring as content changes) keeps
    // its menu open; Escape closes it.
    await console_.getByTestId(`move-menu-${ids.Ben}`).scrollIntoViewIfNeeded();
    await console_.getByTestId(`move-menu-${ids.Ben}`).click();
    const menu = console_.getByTestId(`move-menu-${ids.Ben}-menu`);
    await menu.waitFor();
    await console_.evaluate(() => (globalThis as any).document.dispatchEvent(new Event("scroll")));
    await console_.waitForTimeout(200);
    expect(await menu.isVisible(), "the menu stays open through a scroll that does not move its button").toBe(true);
    await console_.keyboard.press("Escape");
    await waitForCount(menu, 0);
    await moveByKeyboard(console_, ids.Ben, anaRoom === "r1" ? "Room 1" : "Room 2");
    const dialog = console_.getByTestId("pairing-confirm");
    await waitForText(dialog, "Ana and Ben are to be kept apart", { contains: true });
    await screenshot(console_, "pairing-02-confirm");
    expect(await columnOf(console_, ids.Ben)).toBe(benRoom);
    await console_.getByTestId("pairing-confirm-ok").click();
    await pollUntil(
      () => columnOf(console_, ids.Ben),
      (c) => c === anaRoom,
      { timeoutMs: 20_000, what: "Ben placed with Ana after confirming" },
    );
  });
});
