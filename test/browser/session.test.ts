/**
 * A real session in real browsers (issue "Web client"): headless Chromium with a fake camera and microphone, one
 * browser context per person, local media mode (peer-to-peer WebRTC mesh signalled over the session WebSocket),
 * against the built product served by `wrangler dev` (global-setup.ts).
 *
 * A facilitator and four participants: everyone in the main room sees everyone; two breakout rooms are created
 * automatically and opened; each page decodes video frames from exactly its room-mates and none from the other
 * room; a live move (console control) shows the moved person the notice and their new room-mates only; close-all
 * with a 5 s countdown shows the countdown banner while people are still in their rooms; everyone is back in the
 * main room, decoding everyone. Then the operator's monitoring page, with the session's data in its charts.
 *
 * "Decodes frames" is measured on each page, per remote <video data-member-id>: getVideoPlaybackQuality()
 * .totalVideoFrames must grow. Screenshots of the console and a participant at each step, the per-pair frame
 * figures (frames.json) and the server log go to test-artifacts/browser/.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  expectDecodingExactly,
  facilitatorCreatesSession,
  launchChromium,
  memberIdOf,
  newPerson,
  participantJoins,
  pollUntil,
  screenshot,
  writeArtifact,
  waitForCount,
  waitForText,
  type DecodeReport,
  type Person,
} from "./helpers.ts";

const baseURL = inject("appUrl");
const PARTICIPANTS = ["Ana", "Ben", "Cai", "Dee"];
/** Frames each remote video must newly decode for "sees them" (the fake camera runs at 15 fps). */
const MIN_FRAMES = 10;
const DECODE_TIMEOUT = 90_000;
/** Then a fixed window in which every one of those videos must keep decoding (the figures in frames.json). */
const WINDOW_MS = 3_000;

let browser: Browser;
let fac: Person;
const people: Person[] = [];
let sessionId = "";
const idOf = new Map<Person, string>();
const nameOf = new Map<string, string>();
const figures: Record<string, Record<string, DecodeReport & { page: string }>> = {};

function everyone(): Person[] {
  return [fac, ...people];
}

/** Each page in `pages` decodes exactly `expected(page)`; the figures go under `step`. */
async function expectMedia(step: string, pages: Person[], expected: (p: Person) => Person[]): Promise<void> {
  const reports = await Promise.all(
    pages.map((p) =>
      expectDecodingExactly(
        p.page,
        expected(p).map((x) => idOf.get(x)!),
        { label: `${p.name} (${step})`, minNewFrames: MIN_FRAMES, timeoutMs: DECODE_TIMEOUT, windowMs: WINDOW_MS, nameOf: (id) => nameOf.get(id) ?? "?" },
      ),
    ),
  );
  figures[step] = Object.fromEntries(
    pages.map((p, i) => [
      p.name,
      {
        page: p.name,
        ...reports[i],
        newFrames: Object.fromEntries(Object.entries(reports[i].newFrames).map(([id, n]) => [nameOf.get(id) ?? id, n])),
        size: Object.fromEntries(Object.entries(reports[i].size).map(([id, s]) => [nameOf.get(id) ?? id, s])),
        window: reports[i].window && {
          ms: reports[i].window!.ms,
          frames: Object.fromEntries(Object.entries(reports[i].window!.frames).map(([id, n]) => [nameOf.get(id) ?? id, n])),
        },
      },
    ]),
  );
}

/** Where the console's breakout manager shows each person while rooms are open: member id -> room column. */
async function locations(console_: Page): Promise<Record<string, string>> {
  return console_.evaluate(() => {
    const out: Record<string, string> = {};
    for (const col of Array.from((globalThis as any).document.querySelectorAll('[data-testid="room-column"]')) as any[])
      for (const m of Array.from(col.querySelectorAll("[data-member-id]")) as any[]) out[m.dataset.memberId] = col.dataset.roomId;
    return out;
  });
}

async function roomTitle(console_: Page, roomId: string): Promise<string> {
  return (await console_.locator(`[data-testid="room-column"][data-room-id="${roomId}"] h3 > span`).first().textContent())?.trim() ?? "";
}

describe("a session in real browsers, local media mode", () => {
  beforeAll(async () => {
    browser = await launchChromium({ fakeVideoFile: inject("fakeVideoFile") });
    fac = await newPerson(browser, baseURL, { name: "Fay (facilitator)" });
    for (const name of PARTICIPANTS) people.push(await newPerson(browser, baseURL, { name }));
  });

  afterAll(async () => {
    if (Object.keys(figures).length) await writeArtifact("frames.json", figures);
    await browser?.close();
  });

  it("facilitator and four participants: main room, two automatic breakout rooms, a live move, close-all with countdown, back in main", async () => {
    // --- The facilitator creates the session; four people join by the invite link and are admitted. ----------
    const created = await facilitatorCreatesSession(fac.page, { name: "Fay", title: "Tuesday group" });
    sessionId = created.sessionId;
    expect(created.inviteUrl).toContain(`/join/${sessionId}?invite=`);
    idOf.set(fac, await memberIdOf(fac.page, sessionId));
    nameOf.set(idOf.get(fac)!, fac.name);

    await Promise.all(people.map((p) => participantJoins(p.page, created.inviteUrl, p.name)));
    for (const p of people) {
      idOf.set(p, await memberIdOf(p.page, sessionId));
      nameOf.set(idOf.get(p)!, p.name);
      await p.page.getByTestId("waiting-room").waitFor();
    }
    const console_ = fac.page;
    // One grouped notice for the four; "Review" opens the waiting room beside the video.
    await waitForText(console_.getByTestId("waiting-notice"), "4 people are waiting", { contains: true });
    await console_.getByTestId("waiting-review").click();
    await expect.poll(() => console_.locator('[data-testid="waiting-list"] li[data-member-id]').count(), { timeout: 20_000 }).toBe(4);
    // One admitted individually, the rest with "Admit everyone".
    await console_.getByTestId(`admit-${idOf.get(people[0])}`).click();
    await people[0].page.getByTestId("participant-room").waitFor();
    await console_.getByTestId("admit-all").click();
    for (const p of people) {
      await p.page.getByTestId("participant-room").waitFor();
      await waitForText(p.page.getByTestId("room-name"), "Main room");
    }

    // --- Everyone in the main room sees everyone (5 people, 20 video streams). -------------------------------
    await expectMedia("1-main", everyone(), (p) => everyone().filter((x) => x !== p));
    await screenshot(console_, "01-main-console");
    await screenshot(people[0].page, "01-main-participant");

    // --- Two breakout rooms, assigned automatically, opened (the breakout manager, a panel beside the video). ---
    await console_.getByTestId("toggle-breakouts").click();
    await console_.getByTestId("rooms-count").fill("2");
    await console_.getByTestId("rooms-mode").selectOption("auto");
    await console_.getByTestId("create-rooms-submit").click();
    await console_.getByTestId("open-rooms").waitFor();
    // The plan: the facilitator stays in the main room, two rooms of two.
    const columns = console_.locator('[data-testid="room-column"]');
    await waitForCount(columns, 3);
    await waitForCount(columns.nth(0).locator(".member"), 1);
    await waitForCount(columns.nth(0).locator(`[data-member-id="${idOf.get(fac)}"]`), 1);
    await waitForCount(columns.nth(1).locator(".member"), 2);
    await waitForCount(columns.nth(2).locator(".member"), 2);
    await screenshot(console_, "02-preparing-console");
    await console_.getByTestId("open-rooms").click();
    await waitForText(console_.getByTestId("session-phase"), "Breakout rooms open", { timeoutMs: 20_000 });

    const locs = await pollUntil(
      () => locations(console_),
      (l) => PARTICIPANTS.every((_, i) => (l[idOf.get(people[i])!] ?? "main") !== "main"),
      { timeoutMs: 20_000, what: "every participant placed in a breakout room" },
    );
    expect(locs[idOf.get(fac)!]).toBe("main");
    const roomIds = [...new Set(people.map((p) => locs[idOf.get(p)!]))].sort();
    expect(roomIds).toHaveLength(2);
    const titles = new Map<string, string>();
    for (const r of roomIds) titles.set(r, await roomTitle(console_, r));
    const inRoom = (r: string) => people.filter((p) => locs[idOf.get(p)!] === r);
    // Spread evenly: two and two.
    expect(roomIds.map((r) => inRoom(r).length)).toEqual([2, 2]);

    for (const p of people) await waitForText(p.page.getByTestId("room-name"), titles.get(locs[idOf.get(p)!])!, { timeoutMs: 20_000 });
    await waitForText(console_.getByTestId("my-location"), "Main room");

    const roomOf = new Map(people.map((p) => [p, locs[idOf.get(p)!]]));
    await expectMedia("2-rooms", everyone(), (p) => (p === fac ? [] : people.filter((x) => x !== p && roomOf.get(x) === roomOf.get(p))));
    await screenshot(console_, "02-rooms-console");
    await screenshot(people[0].page, "02-rooms-participant");

    // --- A live move: the first member of room A goes to room B (the console's "Move to" control). -------------
    const [roomA, roomB] = roomIds;
    const mover = inRoom(roomA)[0];
    const moverId = idOf.get(mover)!;
    await console_.getByTestId(`move-menu-${moverId}`).click();
    await console_.getByTestId(`move-to-${roomB}`).click();
    await waitForText(mover.page.getByTestId("moving-notice"), `You're moving to ${titles.get(roomB)}`, { timeoutMs: 20_000, contains: true });
    await waitForText(mover.page.getByTestId("room-name"), titles.get(roomB)!, { timeoutMs: 20_000 });
    await screenshot(mover.page, "03-moved-participant-notice");
    roomOf.set(mover, roomB);
    await pollUntil(
      () => locations(console_),
      (l) => l[moverId] === roomB,
      { timeoutMs: 20_000, what: "the console to show the move" },
    );
    await expectMedia("3-after-move", everyone(), (p) => (p === fac ? [] : people.filter((x) => x !== p && roomOf.get(x) === roomOf.get(p))));
    await screenshot(console_, "03-moved-console");
    await screenshot(mover.page, "03-moved-participant");

    // --- Close all rooms with a 5 s countdown: the banner shows while people are still in their rooms. ---------
    await console_.getByTestId("close-all-countdown").fill("5");
    await console_.getByTestId("close-all").click();
    await waitForText(console_.getByTestId("session-phase"), "Breakout rooms closing", { timeoutMs: 20_000 });
    await waitForText(console_.getByTestId("countdown-banner"), "Breakout rooms close in", { contains: true });
    const sawBanner = await Promise.all(
      people.map(async (p) => {
        const banner = p.page.getByTestId("countdown-banner");
        await banner.waitFor({ timeout: 10_000 });
        const text = (await banner.textContent()) ?? "";
        // Still in the breakout room while the countdown runs.
        const room = (await p.page.getByTestId("room-name").textContent()) ?? "";
        return { name: p.name, text, room };
      }),
    );
    for (const s of sawBanner) {
      // A few seconds (the 5 s asked for, not the session's default countdown), counted on the client's clock.
      expect(s.text).toMatch(/^Breakout rooms close in 0:0\d\. Everyone will return to the main room\.$/);
      expect(s.room).not.toBe("Main room");
    }
    await Promise.all([screenshot(console_, "04-closing-console"), screenshot(people[1].page, "04-closing-participant")]);

    // --- Everyone back in the main room, seeing everyone. ------------------------------------------------------
    await waitForText(console_.getByTestId("session-phase"), "Everyone in the main room", { timeoutMs: 30_000 });
    for (const p of people) {
      await waitForText(p.page.getByTestId("room-name"), "Main room", { timeoutMs: 20_000 });
      await waitForCount(p.page.getByTestId("countdown-banner"), 0);
    }
    await expectMedia("4-back-in-main", everyone(), (p) => everyone().filter((x) => x !== p));
    await screenshot(console_, "05-back-in-main-console");
    await screenshot(people[2].page, "05-back-in-main-participant");

    // Nothing went wrong in any page.
    for (const p of everyone()) expect(p.errors, `${p.name}'s page errors`).toEqual([]);
  }, 300_000);

  it("the operator's monitoring page shows the session in populated charts", async () => {
    expect(sessionId, "the session of the previous test").not.toBe("");
    const op = await newPerson(browser, baseURL, { name: "Operator" });
    try {
      const page = op.page;
      await page.goto("/monitor");
      await page.getByTestId("monitor-signin").waitFor();
      await page.getByLabel("Name (development sign-in, role operator)").fill("Olu Operator");
      await page.getByTestId("monitor-signin-button").click();
      await page.getByTestId("stat-sessions").waitFor();

      const num = async (testid: string) => Number(((await page.getByTestId(testid).textContent()) ?? "").replace(/[^\d.]/g, ""));
      // Live now: the session, its five people in media rooms, all connected.
      await expect.poll(() => num("stat-sessions"), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
      await expect.poll(() => num("stat-in-media"), { timeout: 30_000 }).toBeGreaterThanOrEqual(5);
      await expect.poll(() => num("stat-connected"), { timeout: 30_000 }).toBeGreaterThanOrEqual(5);
      expect(await num("stat-created")).toBeGreaterThanOrEqual(1);
      await waitForText(page.getByTestId("live-sessions"), sessionId, { contains: true });

      // Three uPlot charts drawn on canvases, with the session's data in them.
      for (const chart of ["chart-load", "chart-commands", "chart-quality"]) {
        const box = page.getByTestId(chart);
        await waitForCount(box.locator(".uplot canvas"), 1);
        const size = await box.locator(".uplot canvas").evaluate((c: any) => ({ w: c.width, h: c.height }));
        expect(size.w).toBeGreaterThan(200);
        expect(size.h).toBeGreaterThan(100);
      }
      const total = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? "0");
      await expect
        .poll(async () => total((await page.getByTestId("commands-total").textContent()) ?? "", /In this window: (\d+) commands/), { timeout: 30_000 })
        .toBeGreaterThan(0);
      await expect
        .poll(async () => total((await page.getByTestId("load-latest").textContent()) ?? "", /(\d+) people in media rooms/), { timeout: 30_000 })
        .toBeGreaterThanOrEqual(5);
      // Connection quality samples (each browser reports about every 10 s).
      await expect
        .poll(
          async () => {
            const t = (await page.getByTestId("quality-total").textContent()) ?? "";
            return [...t.matchAll(/level \d: (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
          },
          { timeout: 40_000, interval: 2_000 },
        )
        .toBeGreaterThan(0);
      await screenshot(page, "06-monitor");
      expect(op.errors).toEqual([]);
    } finally {
      await op.context.close();
    }
  });
});
