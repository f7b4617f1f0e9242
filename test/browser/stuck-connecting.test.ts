/**
 * The facilitator sees who is stuck connecting (issue 17), in Chromium: two clients join (as apps that never get into
 * video: WebSocket clients from the test), one of them reporting what blocks it (`mediaProblem` 53405, a network that
 * blocks UDP). The console names that one at once with the reason in plain words, shows the other as "connecting",
 * then "stuck connecting" after 20 s, and both leave the list once they arrive. Screenshots in test-artifacts/browser/.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { facilitatorCreatesSession, launchChromium, newPerson, pollUntil, screenshot, waitForText, type Person } from "./helpers.ts";

const baseURL = inject("appUrl");

let browser: Browser;
let fac: Person;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  fac = await newPerson(browser, baseURL, { name: "fac", viewport: { width: 1280, height: 800 } });
}, 60_000);

afterAll(async () => {
  for (const ws of sockets) ws.close();
  await browser?.close();
});

async function post(path: string, body: unknown) {
  const res = await fetch(`${baseURL}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json as any;
}

/** A client app that joins and opens its session socket, but whose video never connects. */
async function clientWithoutVideo(sessionId: string, invite: string, name: string) {
  const preview = await post(`/api/sessions/${sessionId}/preview`, { invite });
  const joined = await post(`/api/sessions/${sessionId}/join`, { invite, name, agreementHash: preview.agreement.hash });
  const ws = new WebSocket(`${baseURL.replace(/^http/, "ws")}/api/sessions/${sessionId}/ws?ticket=${encodeURIComponent(joined.ticket)}`);
  sockets.push(ws);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`${name}: socket failed`)), { once: true });
  });
  return { memberId: joined.memberId as string, ws };
}

describe("stuck connecting", () => {
  it("the console names who cannot get into video and why, and lets go once they are in", async () => {
    const page = fac.page;
    const { sessionId, inviteUrl } = await facilitatorCreatesSession(page, { title: "Tuesday group" });
    const invite = new URL(inviteUrl).searchParams.get("invite")!;
    const sam = await clientWithoutVideo(sessionId, invite, "Sam Blocked");
    const kit = await clientWithoutVideo(sessionId, invite, "Kit Quiet");
    await waitForText(page.getByTestId("waiting-notice"), /2 people/, { contains: true });
    await page.getByTestId("waiting-admit-all").click();

    // Sam's app reports Twilio's 53405 (media connection failed): named at once, with the reason.
    sam.ws.send(JSON.stringify({ type: "mediaProblem", code: "53405" }));
    const notice = page.getByTestId("stuck-notice");
    await waitForText(notice, /Sam Blocked \(Main room\): can't connect: their network blocks video/, { contains: true, timeoutMs: 10_000 });
    await screenshot(page, "stuck-connecting-notice");

    await page.getByTestId("stuck-review").click();
    await waitForText(page.getByTestId(`connecting-${sam.memberId}`), /can't connect: their network blocks video \(UDP \/ port 3478\)/, { contains: true });
    await waitForText(page.getByTestId(`connecting-${kit.memberId}`), /connecting to video…/, { contains: true });
    // Kit never gets in: stuck after 20 s.
    await waitForText(page.getByTestId(`connecting-${kit.memberId}`), /stuck connecting to video for \d+ s/, { contains: true, timeoutMs: 35_000 });
    await screenshot(page, "stuck-connecting-people");
    expect(await page.getByTestId(`person-${kit.memberId}`).getAttribute("data-connecting")).toBe("stuck");

    // Both get into video (local mode: the app reports its arrival): nothing is flagged any more.
    for (const m of [sam, kit]) m.ws.send(JSON.stringify({ type: "arrived", mediaRoom: `mb-${sessionId}-main` }));
    await pollUntil(
      async () => [
        await page.getByTestId(`person-${sam.memberId}`).getAttribute("data-arrived"),
        await page.getByTestId(`person-${kit.memberId}`).getAttribute("data-arrived"),
      ],
      (v) => v.every((x) => x === "true"),
      { timeoutMs: 10_000, what: "both in video" },
    );
    expect(await page.getByTestId(`connecting-${sam.memberId}`).count()).toBe(0);
    expect(await page.getByTestId(`connecting-${kit.memberId}`).count()).toBe(0);
    expect(fac.errors).toEqual([]);
  }, 120_000);
});
