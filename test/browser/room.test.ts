/**
 * The meeting room (issue 13, client side) in real Chromium: a therapist at 1366×860 and four clients (Ana on a
 * 390×844 phone), local media mode.
 *
 * - The therapist sees all five tiles at once (four clients and herself): every tile's box is inside the viewport and
 *   on top (no panel, menu or other tile over it), with a side panel closed and open (the gallery shrinks beside it).
 * - The control bar is inside the viewport on the phone and on the laptop; panels open beside the gallery on the
 *   laptop and as a sheet over it on the phone; Escape closes them and focus goes back to the button.
 * - One grouped waiting-room notice, not one per person; the header shows the media mode and no money in local mode.
 * - The breakout manager: a person moved by drag and drop and another by keyboard (Move menu: arrows + Enter), a room
 *   renamed in place; the round warning shows in a round that warned and not in the next one; the create form keeps
 *   its values after a round that ended by itself; "Return to main room" asks first.
 * - Screen share: a client shares, everyone else decodes the screen in the large tile, then the camera again.
 * - Moderation: hands raised (a phone's menu too) show for the therapist in order; staff mute a client, whose button
 *   says why it is off and whose audio the others drop; "ask to unmute" lets them turn it on again.
 * - Chat: a round trip in the main room (unread badge), a breakout room's messages never reach another room's
 *   clients, a private message to the facilitators and the answer, a message deleted by staff.
 * - The end: a link to the report; the report page with attendance, minutes per room and a CSV download.
 * - A damaged or missing invite says so and keeps the join button off; an operator lands on monitoring.
 *
 * Screenshots of each step: test-artifacts/room/.
 */
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  ARTIFACTS_DIR,
  boxesOnScreen,
  expectDecodingExactly,
  facilitatorCreatesSession,
  focused,
  launchChromium,
  memberIdOf,
  moveByKeyboard,
  newPerson,
  participantJoins,
  pollUntil,
  remoteVideos,
  screenshot,
  sleep,
  waitForCount,
  waitForText,
  type Person,
} from "./helpers.ts";

const baseURL = inject("appUrl");
const SHOTS = path.join(ARTIFACTS_DIR, "../room");
const LAPTOP = { width: 1366, height: 860 };
const PHONE = { width: 390, height: 844 };

let browser: Browser;
let fac: Person;
const clients: Person[] = [];
const names = ["Ana", "Ben", "Cai", "Dee"];
const idOf = new Map<Person, string>();
let sessionId = "";
let inviteUrl = "";
const chatFrames = new Map<Person, string[]>();
let shortInviteUrl = "";

const shot = (p: Page, name: string) => screenshot(p, name, SHOTS);

/** Every tile (remote and my own) inside the viewport and on top; returns how many there are. */
async function expectTilesVisible(page: Page, where: string, count: number): Promise<void> {
  // Tiles glide to their new places (unless reduced motion): wait until two readings agree.
  let before = "";
  const r = await pollUntil(
    () => boxesOnScreen(page, '[data-testid="remote-tile"], [data-testid="local-tile"]'),
    (v) => {
      const sig = JSON.stringify(v.boxes.map((b) => [Math.round(b.x), Math.round(b.y), Math.round(b.width)]));
      const stable = sig === before;
      before = sig;
      return stable && v.boxes.length === count;
    },
    { timeoutMs: 15_000, everyMs: 300, what: `${count} tiles on ${where}` },
  );
  for (const b of r.boxes) {
    expect(b.inside, `${where}: tile ${b.id} inside the ${r.viewport.width}×${r.viewport.height} viewport (${JSON.stringify(b)})`).toBe(true);
    expect(b.onTop, `${where}: tile ${b.id} not covered (covered by ${b.covering})`).toBe(true);
    expect(b.width, `${where}: tile ${b.id} big enough to see a face`).toBeGreaterThanOrEqual(160);
  }
}

async function expectControlBarVisible(page: Page, where: string): Promise<void> {
  const bar = await boxesOnScreen(page, '[data-testid="control-bar"]');
  expect(bar.boxes, `${where}: one control bar`).toHaveLength(1);
  expect(bar.boxes[0].inside, `${where}: control bar inside the viewport ${JSON.stringify(bar.boxes[0])}`).toBe(true);
  const buttons = await boxesOnScreen(page, '[data-testid="control-bar"] button');
  const shown = buttons.boxes.filter((b) => b.width > 0);
  expect(shown.length, `${where}: control bar buttons`).toBeGreaterThanOrEqual(5);
  for (const b of shown) {
    expect(b.inside, `${where}: control ${b.id} inside the viewport`).toBe(true);
    expect(b.onTop, `${where}: control ${b.id} not covered (by ${b.covering})`).toBe(true);
  }
}

async function columnOf(page: Page, memberId: string): Promise<string | null> {
  return page.evaluate((id: string) => {
    const el = (globalThis as any).document.querySelector(`[data-testid="room-column"] [data-testid="member-${id}"]`);
    return el?.closest('[data-testid="room-column"]')?.dataset.roomId ?? null;
  }, memberId);
}

describe("the meeting room", () => {
  beforeAll(async () => {
    browser = await launchChromium({ fakeVideoFile: inject("fakeVideoFile") });
    fac = await newPerson(browser, baseURL, { name: "Fay", viewport: LAPTOP });
    clients.push(await newPerson(browser, baseURL, { name: "Ana", viewport: PHONE }));
    for (const n of names.slice(1)) clients.push(await newPerson(browser, baseURL, { name: n, viewport: LAPTOP }));
    // Every chat frame each client's socket receives, to show a room's messages never reach another room.
    for (const c of clients) {
      const frames: string[] = [];
      chatFrames.set(c, frames);
      c.page.on("websocket", (ws) =>
        ws.on("framereceived", (f) => {
          const text = typeof f.payload === "string" ? f.payload : f.payload.toString("utf8");
          if (text.includes('"chat')) frames.push(text);
        }),
      );
    }
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("the therapist sees all five tiles; the control bar and panels stay in view on a laptop and a phone", async () => {
    const page = fac.page;
    const created = await facilitatorCreatesSession(page, { name: "Fay", title: "Thursday group" });
    sessionId = created.sessionId;
    inviteUrl = created.inviteUrl;
    idOf.set(fac, await memberIdOf(page, sessionId));
    // A new session opens with its invite link beside the stage; the header says how video is carried.
    await page.getByTestId("panel-invite").waitFor();
    shortInviteUrl = await page.getByTestId("invite-short-link").inputValue();
    expect(shortInviteUrl).toMatch(/\/i\/[A-Za-z0-9_-]+$/);
    await waitForText(page.getByTestId("media-mode"), "Local video (peer-to-peer)");
    const usage = (await page.getByTestId("cost-estimate").textContent()) ?? "";
    expect(usage).toMatch(/participant-minutes$/);
    expect(usage).not.toMatch(/\$|cost/i);
    await shot(page, "01-console-new-session");

    await Promise.all(clients.map((c, i) => participantJoins(c.page, inviteUrl, names[i])));
    for (const c of clients) idOf.set(c, await memberIdOf(c.page, sessionId));
    // One grouped notice for everyone waiting.
    await waitForText(page.getByTestId("waiting-notice"), "4 people are waiting", { contains: true });
    expect(await page.getByTestId("waiting-notice").count()).toBe(1);
    await shot(page, "02-waiting-grouped-notice");
    await clients[0].page.getByTestId("waiting-room").waitFor();
    await shot(clients[0].page, "02-phone-waiting-room");
    await page.getByTestId("waiting-admit-all").click();
    for (const c of clients) await c.page.getByTestId("participant-room").waitFor();
    await waitForCount(page.getByTestId("waiting-notice"), 0);

    // The invite panel is still open: close it with Escape; focus goes back where it was (the page had none).
    await page.getByTestId("panel-invite").waitFor();
    await page.keyboard.press("Escape");
    await waitForCount(page.getByTestId("panel-invite"), 0);

    // Everyone sees everyone (video frames decoded from the four others).
    const everyone = [fac, ...clients];
    await Promise.all(
      everyone.map((p) =>
        expectDecodingExactly(
          p.page,
          everyone.filter((x) => x !== p).map((x) => idOf.get(x)!),
          { label: p.name, minNewFrames: 5, timeoutMs: 90_000 },
        ),
      ),
    );
    await expectTilesVisible(page, "the console at 1366×860", 5);
    await expectControlBarVisible(page, "the console at 1366×860");
    // The fake microphones beep: someone is shown speaking (a ring on their tile).
    await pollUntil(
      () => page.locator('[data-testid="remote-tile"].speaking').count(),
      (n) => n > 0,
      { timeoutMs: 15_000, what: "a speaking ring on a tile" },
    );
    await shot(page, "03-console-gallery-five-tiles");

    // A panel beside the gallery: the gallery shrinks, every tile still in view and uncovered.
    await page.getByTestId("toggle-people").click();
    await page.getByTestId("panel-people").waitFor();
    expect((await focused(page)).id).toBe("panel-title-people");
    await expectTilesVisible(page, "the console with the people panel", 5);
    await shot(page, "04-console-people-panel");
    await page.keyboard.press("Escape");
    await waitForCount(page.getByTestId("panel-people"), 0);
    expect((await focused(page)).testid, "focus back on the People button").toBe("toggle-people");

    // The phone: the control bar inside the viewport; tiles of the five; a panel is a sheet over the stage.
    const ana = clients[0].page;
    await expectControlBarVisible(ana, "Ana's phone");
    await expectTilesVisible(ana, "Ana's phone", 5);
    await shot(ana, "05-phone-gallery");
    await ana.getByTestId("toggle-chat").click();
    await ana.getByTestId("panel-chat").waitFor();
    // Chat round trip in the main room: Ana writes from her phone; Ben reads it; the therapist's badge counts it.
    await ana.getByTestId("chat-text").fill("Hello from Ana");
    await ana.keyboard.press("Enter");
    await waitForText(ana.getByTestId("chat-list"), "Hello from Ana", { contains: true });
    expect(await ana.getByTestId("chat-text").inputValue(), "the composer is emptied once sent").toBe("");
    await waitForText(page.locator('[data-testid="toggle-chat"] .count-badge'), "1", { contains: true });
    await clients[1].page.getByTestId("toggle-chat").click();
    await waitForText(clients[1].page.getByTestId("chat-list"), "Hello from Ana", { contains: true });
    await clients[1].page.keyboard.press("Escape");
    const sheet = (await boxesOnScreen(ana, '[data-testid="panel-chat"]')).boxes[0];
    expect(sheet.width, "the chat sheet spans the phone's width").toBeGreaterThanOrEqual(PHONE.width - 20);
    expect(sheet.inside).toBe(true);
    await expectControlBarVisible(ana, "Ana's phone with the chat sheet");
    await shot(ana, "06-phone-chat-sheet");
    await ana.keyboard.press("Escape");
    await waitForCount(ana.getByTestId("panel-chat"), 0);
    expect((await focused(ana)).testid).toBe("toggle-chat");

    // A short window (a phone on its side, the keyboard up): five tiles no longer fit at a readable size, so the
    // gallery pages, and the page buttons move between pages; every tile shown still fits and is uncovered.
    await ana.setViewportSize({ width: 390, height: 320 });
    await waitForText(ana.getByTestId("page-label"), /^Page 1 of [2-5]$/);
    const onFirst = (await boxesOnScreen(ana, '[data-testid="remote-tile"], [data-testid="local-tile"]')).boxes.length;
    expect(onFirst).toBeLessThan(5);
    await ana.getByTestId("page-next").click();
    await waitForText(ana.getByTestId("page-label"), /^Page 2 of/);
    await expectControlBarVisible(ana, "Ana's short window");
    await shot(ana, "06-phone-short-window-paged");
    await ana.setViewportSize(PHONE);
    await waitForCount(ana.getByTestId("page-label"), 0);
    await expectTilesVisible(ana, "Ana's phone again", 5);

    // Role badges for everyone: the clients see the facilitator's.
    const badge = clients[1].page.locator(`[data-testid="remote-tile"][data-member-id="${idOf.get(fac)}"] [data-testid="role-badge"]`);
    await waitForText(badge, "Facilitator");

    // Speaker view and pin: pinning Ben makes him the large tile; the self-view is a corner picture.
    await page.getByTestId(`tile-options-${idOf.get(clients[1])}`).click();
    await page.getByTestId("tile-pin").click();
    await page.locator('[data-testid="video-grid"][data-view="speaker"]').waitFor();
    const featured = page.locator(`.tile.featured[data-member-id="${idOf.get(clients[1])}"]`);
    await featured.waitFor();
    await page.locator(".tile.pip").waitFor();
    await shot(page, "07-console-speaker-view-pinned");
    await page.getByTestId("layout-toggle").click();
    await page.locator('[data-testid="video-grid"][data-view="gallery"]').waitFor();
    await page.getByTestId(`tile-options-${idOf.get(clients[1])}`).click();
    await page.getByTestId("tile-unpin").click();

    // Screen share (local mode: the screen takes the camera's place in the mesh): Ben shares; the others decode his
    // screen (the fake screen is 1280×720, his camera 320×180) in the large tile; then he stops.
    const ben = clients[1];
    const benId = idOf.get(ben)!;
    await ben.page.getByTestId("toggle-share").click();
    await ben.page.getByTestId("sharing-notice").waitFor();
    for (const p of [fac, clients[0], clients[2]]) {
      await p.page.locator(`.tile.featured.screen[data-member-id="${benId}"]`).waitFor({ timeout: 20_000 });
      const size = await pollUntil(
        async () => (await remoteVideos(p.page))[benId],
        (v) => !!v && v.width >= 1280,
        { timeoutMs: 30_000, what: `${p.name} decoding Ben's screen` },
      );
      expect(size.height).toBeGreaterThanOrEqual(720);
    }
    const before = (await remoteVideos(page))[benId].frames;
    await sleep(1_500);
    expect((await remoteVideos(page))[benId].frames, "Ben's screen keeps decoding").toBeGreaterThan(before);
    await shot(page, "08-console-screen-share");
    await shot(clients[0].page, "08-phone-screen-share");
    await ben.page.getByTestId("toggle-share").click();
    await waitForCount(ben.page.getByTestId("sharing-notice"), 0);
    await pollUntil(
      async () => (await remoteVideos(page))[benId],
      (v) => !!v && v.width === 320,
      { timeoutMs: 30_000, what: "Ben's camera back after the share" },
    );
    await page.getByTestId("layout-toggle").click();
    await page.locator('[data-testid="video-grid"][data-view="gallery"]').waitFor();

    // Microphone off shows on the tile for the others; on again, it goes.
    await ben.page.getByTestId("toggle-mic").click();
    expect(await ben.page.getByTestId("toggle-mic").getAttribute("aria-pressed")).toBe("false");
    await page.locator(`[data-testid="remote-tile"][data-member-id="${benId}"] [data-testid="mic-off"]`).waitFor();
    await ben.page.getByTestId("toggle-mic").click();
    await waitForCount(page.locator(`[data-testid="remote-tile"][data-member-id="${benId}"] [data-testid="mic-off"]`), 0);

    // Hands: Ben raises his from the control bar, Ana from her phone's menu; the therapist sees both, in order.
    const anaId = idOf.get(clients[0])!;
    await ben.page.getByTestId("raise-hand").click();
    await waitForText(page.getByTestId("hands-notice"), "Ben raised a hand", { contains: true });
    await page.locator(`[data-testid="remote-tile"][data-member-id="${benId}"] [data-testid="hand-badge"]`).waitFor();
    await ana.getByTestId("more").click();
    await ana.getByTestId("raise-hand-menu").click();
    await waitForText(page.getByTestId("hands-notice"), "Ben and Ana raised hands", { contains: true });
    await page.getByTestId("hands-review").click();
    await page.getByTestId("raised-hands").waitFor();
    expect(await page.locator('[data-testid="raised-hands"] li').evaluateAll((els: any[]) => els.map((e) => e.dataset.memberId))).toEqual([benId, anaId]);
    await shot(page, "09a-console-raised-hands");

    // Staff mute Ben: his microphone button is off and says why, his tile shows it, and the others drop his audio.
    await page.getByTestId(`moderate-${benId}`).click();
    await page.getByTestId("moderate-block-audio").click();
    await ben.page.getByTestId("media-blocked").waitFor();
    await pollUntil(
      () => ben.page.getByTestId("toggle-mic").getAttribute("aria-disabled"),
      (v) => v === "true",
      { timeoutMs: 10_000, what: "Ben's microphone button marked unavailable" },
    );
    expect(await ben.page.getByTestId("toggle-mic").getAttribute("title")).toMatch(/muted you/);
    expect(await ben.page.getByTestId("toggle-mic").getAttribute("aria-pressed")).toBe("false");
    // It stays reachable by keyboard (aria-disabled, not disabled): pressing it says why instead of turning it on.
    await ben.page.getByTestId("toggle-mic").focus();
    await ben.page.keyboard.press("Enter");
    await waitForText(ben.page.locator(".ctl-tip"), /muted you/);
    expect(await ben.page.getByTestId("toggle-mic").getAttribute("aria-pressed"), "a blocked microphone stays off").toBe("false");
    await page.locator(`[data-testid="remote-tile"][data-member-id="${benId}"] [data-testid="mic-off"]`).waitFor();
    await pollUntil(
      () => ana.evaluate((id: string) => (globalThis as any).document.querySelector(`audio[data-member-id="${id}"]`)?.srcObject ?? null, benId),
      (v) => v === null,
      { timeoutMs: 10_000, what: "Ana's page dropped Ben's audio" },
    );
    await shot(ben.page, "09b-client-muted-by-staff");
    await shot(page, "09c-console-people-moderation");
    // Ask to unmute: the block is lifted, Ben is asked, and he turns it on himself.
    await page.getByTestId(`moderate-${benId}`).click();
    await page.getByTestId("moderate-allow-audio").click();
    await ben.page.getByTestId("notice-mediaAllowed").waitFor();
    await waitForCount(ben.page.getByTestId("media-blocked"), 0);
    await ben.page.getByTestId("toggle-mic").click();
    expect(await ben.page.getByTestId("toggle-mic").getAttribute("aria-pressed")).toBe("true");
    await waitForCount(page.locator(`[data-testid="remote-tile"][data-member-id="${benId}"] [data-testid="mic-off"]`), 0);
    // The therapist lowers both hands.
    await page.getByTestId(`lower-hand-${benId}`).click();
    await page.getByTestId(`lower-hand-${anaId}`).click();
    await waitForCount(page.getByTestId("raised-hands"), 0);
    await page.keyboard.press("Escape");
    for (const p of everyone) expect(p.errors, `${p.name}'s page errors`).toEqual([]);
  }, 300_000);

  it("the breakout manager beside the gallery: drag and drop, keyboard moves, rename, the round warning across rounds", async () => {
    expect(sessionId).not.toBe("");
    const page = fac.page;
    const [ana, ben, cai, dee] = clients;
    await page.getByTestId("toggle-breakouts").click();
    await page.getByTestId("panel-breakouts").waitFor();
    await expectTilesVisible(page, "the console with the breakout manager", 5);
    // Round 1: two rooms, assigned by hand, 30 seconds (the warning comes at once: it is 60 s before the end),
    // a 5 s closing countdown.
    await page.getByTestId("rooms-count").fill("2");
    await page.getByTestId("rooms-mode").selectOption("manual");
    await page.getByTestId("rooms-duration").fill("0.5");
    await page.getByTestId("rooms-countdown").fill("5");
    await shot(page, "09-breakouts-create-form");
    await page.getByTestId("create-rooms-submit").click();
    await page.getByTestId("open-rooms").waitFor();
    const columns = page.locator('[data-testid="room-column"]');
    await waitForCount(columns, 3);
    const [, room1, room2] = await columns.evaluateAll((els: any[]) => els.map((e) => e.dataset.roomId as string));

    // Drag and drop: Ana to the first room.
    await page.getByTestId(`member-${idOf.get(ana)}`).dragTo(columns.nth(1));
    await pollUntil(
      () => columnOf(page, idOf.get(ana)!),
      (c) => c === room1,
      { timeoutMs: 10_000, what: "Ana planned for room 1 by drag and drop" },
    );
    // Keyboard: Ben to the second room, Cai to the first, Dee to the second.
    await moveByKeyboard(page, idOf.get(ben)!, "Room 2");
    await moveByKeyboard(page, idOf.get(cai)!, "Room 1");
    await page.getByTestId(`member-${idOf.get(dee)}`).dragTo(columns.nth(2));
    for (const [p, r] of [
      [ben, room2],
      [cai, room1],
      [dee, room2],
    ] as const)
      await pollUntil(
        () => columnOf(page, idOf.get(p)!),
        (c) => c === r,
        { timeoutMs: 10_000, what: `${p.name} planned for ${r}` },
      );
    // Rename the first room in place.
    await page.getByTestId(`column-menu-${room1}`).click();
    await page.getByTestId(`rename-room-${room1}`).click();
    await page.getByTestId("rename-input").fill("Garden");
    await page.keyboard.press("Enter");
    await waitForText(page.locator(`[id="col-${room1}"] > span`).first(), "Garden");
    await expectTilesVisible(page, "the console while preparing rooms", 5);
    await shot(page, "10-breakouts-planned");

    await page.getByTestId("open-rooms").click();
    await waitForText(page.getByTestId("session-phase"), "Breakout rooms open");
    await waitForText(ana.page.getByTestId("room-name"), "Garden");
    await waitForText(ben.page.getByTestId("room-name"), "Room 2");
    // Each client decodes exactly their room-mates.
    await Promise.all([
      expectDecodingExactly(ana.page, [idOf.get(cai)!], { label: "Ana", minNewFrames: 5 }),
      expectDecodingExactly(cai.page, [idOf.get(ana)!], { label: "Cai", minNewFrames: 5 }),
      expectDecodingExactly(ben.page, [idOf.get(dee)!], { label: "Ben", minNewFrames: 5 }),
      expectDecodingExactly(dee.page, [idOf.get(ben)!], { label: "Dee", minNewFrames: 5 }),
    ]);
    // The round warned at once: the banner shows in the rooms.
    for (const c of clients) await c.page.getByTestId("round-warning").waitFor({ timeout: 15_000 });
    await shot(ana.page, "11-phone-breakout-round-warning");
    await shot(page, "11-console-rooms-open");

    // The round ends by itself: 30 s, then the 5 s countdown (no warning banner during the countdown).
    await ana.page.getByTestId("countdown-banner").waitFor({ timeout: 45_000 });
    expect(await ana.page.getByTestId("round-warning").count(), "no round warning during the closing countdown").toBe(0);
    await waitForText(page.getByTestId("session-phase"), "Everyone in the main room", { timeoutMs: 30_000 });
    // The form kept what was typed.
    await page.getByTestId("create-rooms-form").waitFor();
    expect(await page.getByTestId("rooms-duration").inputValue()).toBe("0.5");
    expect(await page.getByTestId("rooms-countdown").inputValue()).toBe("5");
    expect(await page.getByTestId("rooms-mode").inputValue()).toBe("manual");

    // Round 2: ten minutes, automatic: nobody sees a warning (the old page kept the first round's).
    await page.getByTestId("rooms-duration").fill("10");
    await page.getByTestId("rooms-mode").selectOption("auto");
    await page.getByTestId("create-rooms-submit").click();
    await page.getByTestId("open-rooms").click();
    await waitForText(page.getByTestId("session-phase"), "Breakout rooms open");
    for (const c of clients) await waitForText(c.page.getByTestId("round-timer"), /[89]:\d\d left/, { timeoutMs: 20_000 });
    await sleep(2_000);
    for (const c of clients) expect(await c.page.getByTestId("round-warning").count(), `${c.name}: no warning in round 2`).toBe(0);
    await shot(ben.page, "12-breakout-round-2-no-warning");

    // Chat per room: a message written in one breakout room reaches its room-mates and the staff, and no frame of it
    // ever reaches a client in another room (checked on the sockets, not only on screen).
    const roomOf = new Map<Person, string>();
    for (const c of clients) roomOf.set(c, (await c.page.getByTestId("room-name").textContent()) ?? "");
    const writer = clients.find((c) => clients.some((o) => o !== c && roomOf.get(o) === roomOf.get(c)))!;
    const mates = clients.filter((c) => c !== writer && roomOf.get(c) === roomOf.get(writer));
    const others = clients.filter((c) => roomOf.get(c) !== roomOf.get(writer));
    expect(others.length, "someone is in another room").toBeGreaterThan(0);
    const secret = `Only for ${roomOf.get(writer)} from ${writer.name}`;
    await writer.page.getByTestId("toggle-chat").click();
    await writer.page.getByTestId("chat-text").fill(secret);
    await writer.page.getByTestId("chat-send").click();
    for (const c of mates) {
      await c.page.getByTestId("toggle-chat").click();
      await waitForText(c.page.getByTestId("chat-list"), secret, { contains: true });
    }
    await page.getByTestId("toggle-chat").click();
    await waitForText(page.getByTestId("chat-list"), secret, { contains: true });
    await waitForText(page.getByTestId("chat-list"), `In ${roomOf.get(writer)}`, { contains: true });
    await shot(writer.page, "12-breakout-room-chat");
    // A private message to the facilitators from someone in another room, and the therapist's answer.
    const asker = others[0];
    await asker.page.getByTestId("toggle-chat").click();
    await asker.page.getByTestId("chat-to").selectOption({ label: "The facilitators only (private)" });
    await asker.page.getByTestId("chat-text").fill(`A private word from ${asker.name}`);
    await asker.page.getByTestId("chat-send").click();
    await waitForText(page.getByTestId("chat-list"), `Private with ${asker.name}`, { contains: true });
    await page.getByTestId("chat-to").selectOption({ label: `${asker.name} (private, in ${roomOf.get(asker)})` });
    await page.getByTestId("chat-text").fill(`Answer for ${asker.name}`);
    await page.getByTestId("chat-send").click();
    await waitForText(asker.page.getByTestId("chat-list"), `Answer for ${asker.name}`, { contains: true });
    await shot(page, "12-console-chat-all-rooms");
    await shot(asker.page, "12-private-answer");
    // Staff delete the room message: it goes from the room-mates' screens.
    const secretRow = page.locator('[data-testid="chat-message"]', { hasText: secret });
    await secretRow.getByTestId("chat-delete").click();
    for (const c of [writer, ...mates]) await waitForCount(c.page.locator('[data-testid="chat-message"]', { hasText: secret }), 0);
    await sleep(1_000);
    for (const c of others) {
      expect(
        chatFrames.get(c)?.some((f) => f.includes(secret)),
        `${c.name} (another room) never received the room's message`,
      ).toBe(false);
      if (await c.page.getByTestId("chat-list").count()) expect(await c.page.getByTestId("chat-list").textContent()).not.toContain(secret);
    }
    for (const c of clients.filter((c) => c !== asker))
      expect(
        chatFrames.get(c)?.some((f) => f.includes(`private word from ${asker.name}`)),
        `${c.name} never received the private message`,
      ).toBe(false);
    for (const p of [page, ...clients.map((c) => c.page)]) if (await p.getByTestId("panel-chat").count()) await p.getByTestId("panel-close").click();
    await page.getByTestId("toggle-breakouts").click();
    await page.getByTestId("panel-breakouts").waitFor();

    // "Return to main room" asks first: staying keeps Ana in her room; confirming brings her to the main room.
    await ana.page.getByTestId("more").click();
    await ana.page.getByTestId("return-to-main-menu").click();
    await ana.page.getByTestId("return-dialog").waitFor();
    await shot(ana.page, "13-phone-return-confirmation");
    await ana.page.keyboard.press("Escape");
    await sleep(500);
    expect(await ana.page.getByTestId("room-name").textContent()).not.toBe("Main room");
    await ana.page.getByTestId("more").click();
    await ana.page.getByTestId("return-to-main-menu").click();
    await ana.page.getByTestId("return-confirm").click();
    await waitForText(ana.page.getByTestId("room-name"), "Main room");
    // Stepped out: she can go back to her room by herself.
    await ana.page.getByTestId("return-to-room-notice").waitFor();
    await shot(ana.page, "13-phone-go-back-to-my-room");
    await ana.page.getByTestId("return-to-room").click();
    await waitForText(ana.page.getByTestId("room-name"), roomOf.get(ana)!);
    await waitForCount(ana.page.getByTestId("return-to-room-notice"), 0);

    // A closing countdown can be called off: the rooms stay open (with more time).
    await page.getByTestId("close-all-countdown").fill("60");
    await page.getByTestId("close-all").click();
    await waitForText(page.getByTestId("session-phase"), "Breakout rooms closing");
    await ben.page.getByTestId("countdown-banner").waitFor();
    await page.getByTestId("cancel-closing").click();
    await waitForText(page.getByTestId("session-phase"), "Breakout rooms open");
    await waitForCount(ben.page.getByTestId("countdown-banner"), 0);

    // Close every room at once, back in the main room.
    await page.getByTestId("close-all-countdown").fill("0");
    await page.getByTestId("close-all").click();
    await waitForText(page.getByTestId("session-phase"), "Everyone in the main room", { timeoutMs: 20_000 });
    for (const p of [fac, ...clients]) expect(p.errors, `${p.name}'s page errors`).toEqual([]);
  }, 300_000);

  it("after the end: the report with attendance, minutes per room and a CSV file", async () => {
    const page = fac.page;
    await page.getByTestId("end-session").click();
    await page.getByTestId("end-dialog").waitFor();
    await shot(page, "14-end-confirmation");
    await page.getByTestId("end-session-confirm").click();
    await page.getByTestId("session-ended").waitFor();
    expect((await page.getByTestId("session-ended").textContent()) ?? "").not.toMatch(/\$|cost/i);
    await page.getByTestId("report-link").click();
    await page.getByTestId("report-attendance").waitFor();
    await waitForText(page.getByTestId("report-title"), "Thursday group");
    expect(await page.locator('[data-testid="report-attendance"] tbody tr').count()).toBe(5);
    // Main room plus the four rooms of two rounds.
    expect(await page.locator('[data-testid="report-rooms"] tbody tr').count()).toBe(5);
    await shot(page, "15-report");
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("report-csv").click()]);
    const file = path.join(SHOTS, "report.csv");
    await download.saveAs(file);
    const { readFile } = await import("node:fs/promises");
    const csv = await readFile(file, "utf8");
    expect(csv.split("\n")[0]).toMatch(/^"member_id","name","role"/);
    expect(csv).toContain("Ana");
    // The home page lists the facilitator's sessions (from the server) with a link to each report.
    await page.goto("/");
    const row = page.getByTestId(`session-${sessionId}`);
    await waitForText(row, /Thursday group.*ended.*2 breakout rounds/);
    expect(await page.getByTestId(`open-console-${sessionId}`).count(), "no console for an ended session").toBe(0);
    await shot(page, "15-home-session-list");
    await page.getByTestId(`open-report-${sessionId}`).click();
    await page.getByTestId("report-attendance").waitFor();
    expect(fac.errors).toEqual([]);
  }, 120_000);

  it("a damaged or missing invite says what happened; an operator lands on monitoring", async () => {
    const guest = await newPerson(browser, baseURL, { name: "Guest", viewport: LAPTOP });
    try {
      const p = guest.page;
      const url = new URL(inviteUrl);
      const token = url.searchParams.get("invite") ?? "";
      // Cut short: caught before anything is sent.
      await p.goto(`/join/${sessionId}?invite=${token.slice(0, 40)}`);
      await waitForText(p.getByTestId("invite-problem"), "This invite link is damaged or incomplete. Ask the facilitator to send it again.");
      expect(await p.getByTestId("join-submit").isDisabled()).toBe(true);
      // No invite at all.
      await p.goto(`/join/${sessionId}`);
      await waitForText(p.getByTestId("invite-problem"), /no invitation/);
      expect(await p.getByTestId("join-submit").isDisabled()).toBe(true);
      await shot(p, "16-join-no-invite");
      // Well-formed but tampered with: the server refuses it, and the page says the link is damaged.
      const [h, payload, sig] = token.split(".");
      const forged = `${h}.${payload}.${sig.slice(0, -4)}${sig.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`;
      await p.goto(`/join/${sessionId}?invite=${forged}`);
      await waitForText(p.getByTestId("invite-problem"), "This invite link is damaged or incomplete. Ask the facilitator to send it again.");
      expect(await p.getByTestId("join-submit").isDisabled()).toBe(true);
      await shot(p, "17-join-tampered-invite");
      // The short link leads to the join page with a preview: the title, and that this session has ended.
      await p.goto(shortInviteUrl);
      await p.waitForURL(new RegExp(`/join/${sessionId}\\?invite=`));
      await waitForText(p.getByTestId("preview-title"), "Thursday group");
      await waitForText(p.getByTestId("preview-facilitator"), "with Fay");
      await waitForText(p.getByTestId("invite-problem"), "This session has ended.");
      expect(await p.getByTestId("join-submit").isDisabled()).toBe(true);
      await shot(p, "17-join-preview-ended");
      // A short link that is not (or no longer) an invitation says so.
      await p.goto("/i/nosuchcode99");
      await waitForText(p.getByTestId("short-invite-problem"), /not \(or no longer\) an invitation/);

      // An operator signs in on the home page and lands on monitoring; the header links to it.
      await p.goto("/");
      await p.getByTestId("signin-form").waitFor();
      await p.getByLabel("Your name").fill("Olu");
      await p.locator("#role").selectOption("operator");
      await p.getByTestId("signin-submit").click();
      await p.waitForURL(/\/monitor$/);
      await p.getByTestId("stat-sessions").waitFor();
      await p.getByTestId("monitor-link").waitFor();
      expect(guest.errors.filter((e) => !/401|Failed to load resource/.test(e))).toEqual([]);
    } finally {
      await guest.context.close();
    }
  }, 120_000);
});
