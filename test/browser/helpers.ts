/**
 * Shared helpers for the browser tests: launching the system Chromium (headless, fake camera and microphone,
 * media permission prompts auto-accepted) with playwright-core, one context per simulated person, and small
 * probes for what a person would see and hear. Flags from /work/shared/TOOLCHAIN.md.
 *
 * The app must be served (`npm run dev`, i.e. vite dev on port 5173) or APP_URL set to where it runs.
 * Kept free of DOM lib types: this file is type-checked with the Worker's tsconfig (page functions take `any`).
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Flags verified on this machine kind (TOOLCHAIN.md). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
] as const;

/** A synthetic camera (test pattern) and microphone (beep), with the permission prompt accepted. */
export const FAKE_MEDIA_ARGS = [
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  // Remote <audio> must play without a click in every tab of the test.
  "--autoplay-policy=no-user-gesture-required",
] as const;

export const APP_URL = (process.env.APP_URL ?? "http://localhost:5173").replace(/\/$/, "");

export interface LaunchOptions {
  headless?: boolean;
  /** Extra Chromium flags, e.g. a video file for the fake camera: `--use-file-for-fake-video-capture=...`. */
  extraArgs?: string[];
  /** Leave out the fake media flags (to test "no camera" paths). */
  noFakeMedia?: boolean;
  slowMo?: number;
}

export async function launchChromium(opts: LaunchOptions = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: opts.headless ?? true,
    slowMo: opts.slowMo,
    args: [...CHROMIUM_ARGS, ...(opts.noFakeMedia ? [] : FAKE_MEDIA_ARGS), ...(opts.extraArgs ?? [])],
  });
}

/**
 * A fresh context: one person (its own sessionStorage, so its own member ticket), camera and microphone allowed,
 * phone or desktop viewport.
 */
export async function newPerson(browser: Browser, opts: { baseURL?: string; phone?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const baseURL = opts.baseURL ?? APP_URL;
  const context = await browser.newContext({
    baseURL,
    viewport: opts.phone ? { width: 390, height: 844 } : { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    permissions: ["camera", "microphone", "clipboard-read", "clipboard-write"],
  });
  await context.grantPermissions(["camera", "microphone"], { origin: baseURL });
  const page = await context.newPage();
  return { context, page };
}

/** Collect console errors and page errors so a test can assert there were none. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** Wait until the dev server (Worker + app) answers /api/health. */
export async function waitForServer(baseURL = APP_URL, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${baseURL}/api/health`);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`server at ${baseURL} not healthy after ${timeoutMs} ms: ${String(last)}`);
}

/** Frames a <video> has decoded so far (0 when it has no stream). */
export async function decodedFrames(video: Locator): Promise<number> {
  return video.evaluate((el: any) => (typeof el.getVideoPlaybackQuality === "function" ? el.getVideoPlaybackQuality().totalVideoFrames : 0));
}

/** Resolves once the <video> has decoded more than `minFrames` frames (it is really showing someone). */
export async function waitForVideoFrames(video: Locator, minFrames = 5, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = 0;
  while (Date.now() < deadline) {
    n = await decodedFrames(video).catch(() => 0);
    if (n > minFrames) return n;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`video decoded only ${n} frames in ${timeoutMs} ms`);
}

/** The remote video of one member as another member's page shows it. */
export function remoteVideo(page: Page, memberId: string): Locator {
  return page.locator(`[data-testid="remote-tile"] video[data-member-id="${memberId}"]`);
}

/** Save a full-page screenshot under test-artifacts/ (gitignored); returns the file path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = path.resolve(process.cwd(), "test-artifacts");
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name.replace(/[^\w.-]+/g, "_")}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Sign in with the development sign-in and create a session; returns the console page's session id and invite URL. */
export async function facilitatorCreatesSession(page: Page, opts: { name?: string; title?: string } = {}): Promise<{ sessionId: string; inviteUrl: string }> {
  await page.goto("/");
  await page.getByTestId("signin-form").waitFor();
  await page.getByLabel("Your name").fill(opts.name ?? "Fay Facilitator");
  await page.getByTestId("signin-submit").click();
  await page.getByTestId("create-session-form").waitFor();
  if (opts.title) await page.getByLabel("Session title").fill(opts.title);
  await page.getByTestId("create-session").click();
  await page.waitForURL(/\/console\//);
  const sessionId = decodeURIComponent(new URL(page.url()).pathname.split("/")[2] ?? "");
  const inviteUrl = await page.getByTestId("invite-link").inputValue();
  return { sessionId, inviteUrl };
}

/** A participant opens the invite link, enters a name and joins; resolves once in the waiting room or a room. */
export async function participantJoins(page: Page, inviteUrl: string, name: string): Promise<void> {
  await page.goto(inviteUrl);
  await page.getByTestId("join-form").waitFor();
  await page.getByTestId("join-name").fill(name);
  await page.getByTestId("join-submit").click();
  await page.waitForURL(/\/session\//);
  await page.locator('[data-testid="waiting-room"], [data-testid="participant-room"]').first().waitFor();
}
