/**
 * Shared helpers for the browser tests: launching the system Chromium (headless, fake camera and microphone,
 * media permission prompts auto-accepted) with playwright-core, one context per simulated person, and probes for
 * what a person would see: which remote videos a page shows and how many frames each has decoded, keyboard focus,
 * accessible names (Chromium's own accessibility tree), horizontal overflow, screenshots.
 * Flags from /work/shared/TOOLCHAIN.md.
 *
 * The product is served by the project's globalSetup (test/browser/global-setup.ts): tests get its URL with
 * `inject("appUrl")`. Kept free of DOM lib types: this file is type-checked with the Worker's tsconfig (page
 * functions take `any`).
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Screenshots and figures of the browser tests (test-artifacts/ is gitignored). */
export const ARTIFACTS_DIR = path.resolve(import.meta.dirname, "../../test-artifacts/browser");

/** Flags verified on this machine kind (TOOLCHAIN.md). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  // Many pages in one headless browser: none of them counts as hidden or occluded, so timers and video keep running.
  "--disable-background-timer-throttling",
  "--disable-backgrounding-occluded-windows",
  "--disable-renderer-backgrounding",
] as const;

/** A synthetic camera and microphone (beep), with the permission prompt accepted. */
export const FAKE_MEDIA_ARGS = [
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  // Remote <audio> must play without a click in every tab of the test.
  "--autoplay-policy=no-user-gesture-required",
] as const;

export interface LaunchOptions {
  headless?: boolean;
  /** A Y4M clip the fake camera plays instead of its 720p test pattern (see global-setup.ts). */
  fakeVideoFile?: string;
  /** Extra Chromium flags. */
  extraArgs?: string[];
  /** Leave out the fake media flags (to test "no camera" paths). */
  noFakeMedia?: boolean;
  slowMo?: number;
}

export async function launchChromium(opts: LaunchOptions = {}): Promise<Browser> {
  const media = opts.noFakeMedia ? [] : [...FAKE_MEDIA_ARGS, ...(opts.fakeVideoFile ? [`--use-file-for-fake-video-capture=${opts.fakeVideoFile}`] : [])];
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: opts.headless ?? true,
    slowMo: opts.slowMo,
    timeout: 60_000,
    args: [...CHROMIUM_ARGS, ...media, ...(opts.extraArgs ?? [])],
  });
}

export interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Page errors and console errors seen so far. */
  errors: string[];
}

/**
 * A fresh context: one person (its own sessionStorage, so its own member ticket), camera and microphone allowed,
 * phone (390x844) or desktop viewport. Every wait on the page is bounded (default 20 s).
 */
export async function newPerson(
  browser: Browser,
  baseURL: string,
  opts: { name?: string; phone?: boolean; viewport?: { width: number; height: number } } = {},
): Promise<Person> {
  const context = await browser.newContext({
    baseURL,
    viewport: opts.viewport ?? (opts.phone ? { width: 390, height: 844 } : { width: 1280, height: 900 }),
    deviceScaleFactor: 1,
    isMobile: false,
    permissions: ["camera", "microphone"],
  });
  await context.grantPermissions(["camera", "microphone"], { origin: baseURL });
  context.setDefaultTimeout(20_000);
  context.setDefaultNavigationTimeout(30_000);
  const page = await context.newPage();
  return { name: opts.name ?? "", context, page, errors: collectErrors(page) };
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

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `probe` until `done` says yes; throws with `describe(last)` after `timeoutMs`. */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  opts: { timeoutMs: number; everyMs?: number; what: string; describe?: (v: T | undefined) => string },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: T | undefined;
  let lastError: unknown = null;
  for (;;) {
    try {
      last = await probe();
      lastError = null;
      if (done(last)) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) break;
    await sleep(opts.everyMs ?? 500);
  }
  const seen = opts.describe ? opts.describe(last) : JSON.stringify(last);
  throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}; last seen: ${seen}${lastError ? ` (error: ${String(lastError)})` : ""}`);
}

/**
 * Waits until the (first) element's text is `expected` (a string: the whole trimmed text, or contained when
 * `contains`; a RegExp: matched), and returns it. vitest's expect has no retrying DOM matchers, so this is ours.
 */
export async function waitForText(locator: Locator, expected: string | RegExp, opts: { timeoutMs?: number; contains?: boolean } = {}): Promise<string> {
  const norm = (t: string | null) => (t ?? "").replace(/\s+/g, " ").trim();
  const ok = (t: string) => (typeof expected === "string" ? (opts.contains ? t.includes(expected) : t === expected) : expected.test(t));
  return pollUntil(async () => ((await locator.count()) > 0 ? norm(await locator.first().textContent({ timeout: 5_000 })) : "<no element>"), ok, {
    timeoutMs: opts.timeoutMs ?? 20_000,
    everyMs: 250,
    what: `${locator} to ${opts.contains ? "contain" : "read"} ${String(expected)}`,
  });
}

/** Waits until `locator` matches exactly `n` elements. */
export async function waitForCount(locator: Locator, n: number, opts: { timeoutMs?: number } = {}): Promise<void> {
  await pollUntil(
    () => locator.count(),
    (c) => c === n,
    { timeoutMs: opts.timeoutMs ?? 20_000, everyMs: 250, what: `${n} of ${locator}` },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Video: which remote members a page shows and what it has decoded
// ---------------------------------------------------------------------------------------------------------------

/** Every remote video on the page: member id -> frames decoded so far (getVideoPlaybackQuality) and its size. */
export async function remoteVideos(page: Page): Promise<Record<string, { frames: number; width: number; height: number }>> {
  return page.evaluate(() => {
    const out: Record<string, { frames: number; width: number; height: number }> = {};
    for (const el of Array.from((globalThis as any).document.querySelectorAll('[data-testid="remote-tile"] video[data-member-id]')) as any[]) {
      const q = typeof el.getVideoPlaybackQuality === "function" ? el.getVideoPlaybackQuality() : null;
      out[el.dataset.memberId] = { frames: q ? q.totalVideoFrames : 0, width: el.videoWidth, height: el.videoHeight };
    }
    return out;
  });
}

export interface DecodeReport {
  /** Frames each expected member's video decoded during the observation window. */
  newFrames: Record<string, number>;
  /** Decoded size of each expected member's video. */
  size: Record<string, string>;
  /** How long it took (ms) until every expected video had decoded `minNewFrames` new frames. */
  tookMs: number;
  /** With `windowMs`: frames each expected video decoded in the window that followed (all must be > 0), and how long (ms) the window really lasted. */
  window?: { ms: number; frames: Record<string, number> };
}

/**
 * Waits until the page shows remote videos of exactly `expected` (no tile of anyone else) and each of them has
 * decoded at least `minNewFrames` new frames since the set became right: the person really sees exactly those
 * people, moving. An element that restarts (its counter drops) restarts its count.
 */
export async function expectDecodingExactly(
  page: Page,
  expected: readonly string[],
  opts: { label: string; minNewFrames?: number; timeoutMs?: number; nameOf?: (id: string) => string; windowMs?: number; everyMs?: number },
): Promise<DecodeReport> {
  const min = opts.minNewFrames ?? 10;
  const started = Date.now();
  const want = [...expected].sort();
  let base: Record<string, number> | null = null;
  let gained: Record<string, number> = {};
  let last: Awaited<ReturnType<typeof remoteVideos>> = {};
  const name = (id: string) => (opts.nameOf ? `${opts.nameOf(id)}(${id})` : id);
  const describe = () =>
    `${opts.label} should decode exactly [${want.map(name).join(", ")}]; shows ${JSON.stringify(
      Object.fromEntries(Object.entries(last).map(([id, v]) => [name(id), v])),
    )}; new frames so far ${JSON.stringify(gained)}`;
  await pollUntil(
    async () => {
      last = await remoteVideos(page);
      const ids = Object.keys(last).sort();
      if (ids.join(",") !== want.join(",")) {
        base = null;
        gained = {};
        return false;
      }
      if (!base) {
        base = Object.fromEntries(ids.map((id) => [id, last[id].frames]));
        gained = Object.fromEntries(ids.map((id) => [id, 0]));
        return want.length === 0;
      }
      for (const id of ids) {
        if (last[id].frames < base[id]) base[id] = last[id].frames;
        gained[id] = last[id].frames - base[id];
      }
      return ids.every((id) => gained[id] >= min);
    },
    (ok) => ok,
    { timeoutMs: opts.timeoutMs ?? 60_000, everyMs: opts.everyMs ?? 400, what: `${opts.label}'s videos`, describe },
  );
  const report: DecodeReport = {
    newFrames: { ...gained },
    size: Object.fromEntries(want.map((id) => [id, `${last[id]?.width ?? 0}x${last[id]?.height ?? 0}`])),
    tookMs: Date.now() - started,
  };
  // Then, optionally, a fixed window: the videos keep decoding (not a burst that stopped), and none restarts (a
  // counter going back means the element was re-attached: a blank flash on screen).
  if (opts.windowMs) {
    const first = last;
    let prev = last;
    const windowStart = Date.now();
    const end = windowStart + opts.windowMs;
    while (Date.now() < end) {
      await sleep(250);
      last = await remoteVideos(page);
      const restarted = want.filter((id) => (last[id]?.frames ?? 0) < (prev[id]?.frames ?? 0));
      if (restarted.length)
        throw new Error(
          `${opts.label}: the video of [${restarted.map(name).join(", ")}] restarted (frames went from ${JSON.stringify(prev)} to ${JSON.stringify(last)})`,
        );
      prev = last;
    }
    const frames = Object.fromEntries(want.map((id) => [id, (last[id]?.frames ?? 0) - (first[id]?.frames ?? 0)]));
    report.window = { ms: Date.now() - windowStart, frames };
    const stalled = want.filter((id) => !(frames[id] > 0));
    if (stalled.length)
      throw new Error(`${opts.label}: no new frames in ${opts.windowMs} ms from [${stalled.map(name).join(", ")}]; window ${JSON.stringify(frames)}`);
  }
  // The set must still be exact once every video flows (nobody extra showed up meanwhile).
  const after = Object.keys(await remoteVideos(page)).sort();
  if (after.join(",") !== want.join(",")) throw new Error(`${describe()}; then the page showed [${after.map(name).join(", ")}]`);
  return report;
}

// ---------------------------------------------------------------------------------------------------------------
// Keyboard, accessible names, layout
// ---------------------------------------------------------------------------------------------------------------

/** A short description of the focused element (tag, test id, accessible label or text). */
export async function focused(page: Page): Promise<{ tag: string; testid: string | null; label: string; id: string; focusVisible: boolean; outline: string }> {
  return page.evaluate(() => {
    const doc = (globalThis as any).document;
    const el = doc.activeElement;
    if (!el || el === doc.body) return { tag: "body", testid: null, label: "", id: "", focusVisible: false, outline: "" };
    const labelled = el.labels?.length
      ? Array.from(el.labels as any[])
          .map((l: any) => l.textContent)
          .join(" ")
      : "";
    const label = (el.getAttribute("aria-label") || labelled || el.textContent || "").replace(/\s+/g, " ").trim();
    const cs = (globalThis as any).getComputedStyle(el);
    return {
      tag: el.tagName.toLowerCase(),
      testid: el.getAttribute("data-testid"),
      label,
      id: el.id || "",
      focusVisible: el.matches(":focus-visible"),
      outline: `${cs.outlineStyle} ${cs.outlineWidth}`,
    };
  });
}

/**
 * Press Tab (or Shift+Tab) until the focused element satisfies `match`; fails after `maxPresses`. Returns what was
 * focused. Only the keyboard moves focus: this is how a keyboard user reaches a control.
 */
export async function tabTo(
  page: Page,
  match: (f: Awaited<ReturnType<typeof focused>>) => boolean,
  opts: { what: string; maxPresses?: number; backwards?: boolean },
): Promise<Awaited<ReturnType<typeof focused>> & { presses: number }> {
  const seen: string[] = [];
  for (let i = 0; i < (opts.maxPresses ?? 80); i++) {
    await page.keyboard.press(opts.backwards ? "Shift+Tab" : "Tab");
    const f = await focused(page);
    if (match(f)) return { ...f, presses: i + 1 };
    seen.push(f.testid ?? `${f.tag}:${f.label.slice(0, 30)}`);
  }
  throw new Error(`could not reach ${opts.what} with the Tab key; focus went through: ${seen.join(" | ")}`);
}

export interface AxControl {
  role: string;
  name: string;
  description: string;
}

/** Roles of interactive controls that must have an accessible name. */
const CONTROL_ROLES = new Set([
  "button",
  "link",
  "textbox",
  "searchbox",
  "combobox",
  "listbox",
  "spinbutton",
  "checkbox",
  "radio",
  "switch",
  "slider",
  "menuitem",
  "tab",
]);

/**
 * The page's interactive controls as Chromium's accessibility tree sees them (role and computed accessible name),
 * through the DevTools protocol. Ignored (hidden) nodes are left out.
 */
export async function accessibleControls(page: Page): Promise<AxControl[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send("Accessibility.getFullAXTree")) as {
      nodes: { ignored?: boolean; role?: { value?: string }; name?: { value?: string }; description?: { value?: string } }[];
    };
    return nodes
      .filter((n) => !n.ignored && CONTROL_ROLES.has(String(n.role?.value ?? "")))
      .map((n) => ({ role: String(n.role?.value), name: String(n.name?.value ?? "").trim(), description: String(n.description?.value ?? "") }));
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/** Horizontal overflow of the page: scrollWidth beyond the viewport width (0 means it fits), and the widest offenders. */
export async function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number; overflow: number; offenders: string[] }> {
  return page.evaluate(() => {
    const w = globalThis as any;
    const doc = w.document;
    const innerWidth = w.innerWidth;
    const scrollWidth = doc.documentElement.scrollWidth;
    const offenders: string[] = [];
    if (scrollWidth > innerWidth)
      for (const el of Array.from(doc.querySelectorAll("body *")) as any[]) {
        const r = el.getBoundingClientRect();
        if (r.right > innerWidth + 0.5 && r.width > 0)
          offenders.push(
            `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${el.dataset?.testid ? `[${el.dataset.testid}]` : ""} right=${Math.round(r.right)}`,
          );
      }
    return { scrollWidth, innerWidth, overflow: scrollWidth - innerWidth, offenders: offenders.slice(0, 8) };
  });
}

/** A box on the page (CSS pixels, viewport coordinates). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Where the elements matching `selector` are, whether each lies wholly inside the viewport, and whether it is on top
 * at a few points of its own (centre and near the corners): not covered by a panel, a menu or another tile.
 */
export async function boxesOnScreen(
  page: Page,
  selector: string,
): Promise<{ viewport: { width: number; height: number }; boxes: (Box & { id: string; inside: boolean; onTop: boolean; covering: string })[] }> {
  return page.evaluate((sel: string) => {
    const w = globalThis as any;
    const doc = w.document;
    const vw = w.innerWidth;
    const vh = w.innerHeight;
    const boxes = (Array.from(doc.querySelectorAll(sel)) as any[]).map((el) => {
      const r = el.getBoundingClientRect();
      const inside = r.width > 0 && r.height > 0 && r.left >= -0.5 && r.top >= -0.5 && r.right <= vw + 0.5 && r.bottom <= vh + 0.5;
      const points = [
        [r.left + r.width / 2, r.top + r.height / 2],
        [r.left + 12, r.top + r.height / 2],
        [r.right - 12, r.top + r.height / 2],
        [r.left + r.width / 2, r.top + 12],
        [r.left + r.width / 2, r.bottom - 12],
      ];
      let covering = "";
      const onTop = points.every(([x, y]) => {
        const hit = doc.elementFromPoint(x, y);
        const ok = !!hit && (hit === el || el.contains(hit));
        if (!ok && !covering)
          covering = hit ? `${hit.tagName.toLowerCase()}${hit.className ? `.${String(hit.className).split(" ").join(".")}` : ""}` : "nothing";
        return ok;
      });
      return {
        id: el.dataset.memberId ?? el.dataset.testid ?? el.tagName,
        x: r.left,
        y: r.top,
        width: r.width,
        height: r.height,
        inside,
        onTop,
        covering,
      };
    });
    return { viewport: { width: vw, height: vh }, boxes };
  }, selector);
}

// ---------------------------------------------------------------------------------------------------------------
// Artifacts
// ---------------------------------------------------------------------------------------------------------------

/** Save a full-page screenshot under test-artifacts/browser/ (or `dir`); returns the file path. */
export async function screenshot(page: Page, name: string, dir: string = ARTIFACTS_DIR): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name.replace(/[^\w.-]+/g, "_")}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: "disabled", timeout: 30_000 });
  return file;
}

export async function writeArtifact(name: string, data: unknown): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, name);
  await writeFile(file, typeof data === "string" ? data : JSON.stringify(data, null, 2));
  return file;
}

// ---------------------------------------------------------------------------------------------------------------
// The app's flows
// ---------------------------------------------------------------------------------------------------------------

/** The member id this page joined as (the app keeps its ticket in sessionStorage, per tab). */
export async function memberIdOf(page: Page, sessionId: string): Promise<string> {
  const id = await page.evaluate((sid: string) => {
    const raw = (globalThis as any).sessionStorage.getItem(`mb.session.${sid}`);
    return raw ? (JSON.parse(raw).memberId as string) : null;
  }, sessionId);
  if (!id) throw new Error(`no member id stored for session ${sessionId} in this page`);
  return id;
}

/** The facilitator signs in on the start page (development sign-in) and sees the form to create a session. */
export async function facilitatorSignsIn(page: Page, name: string): Promise<void> {
  await page.goto("/");
  await page.getByTestId("signin-form").waitFor();
  await page.getByLabel("Your name").fill(name);
  await page.getByTestId("signin-submit").click();
  await page.getByTestId("create-session-form").waitFor();
}

/** Sign in with the development sign-in (role facilitator) and create a session; returns its id and invite URL. */
export async function facilitatorCreatesSession(page: Page, opts: { name?: string; title?: string } = {}): Promise<{ sessionId: string; inviteUrl: string }> {
  await facilitatorSignsIn(page, opts.name ?? "Fay Facilitator");
  if (opts.title) await page.getByLabel("Session title").fill(opts.title);
  await page.getByTestId("create-session").click();
  await page.waitForURL(/\/console\//);
  const sessionId = decodeURIComponent(new URL(page.url()).pathname.split("/")[2] ?? "");
  const inviteUrl = await page.getByTestId("invite-link").inputValue();
  return { sessionId, inviteUrl };
}

/**
 * A participant opens the invite link, waits for the camera preview to play, enters a name, accepts the group
 * agreement and joins; resolves once
 * in the waiting room or a room.
 */
export async function participantJoins(page: Page, inviteUrl: string, name: string): Promise<void> {
  await page.goto(inviteUrl);
  await joinsFromJoinPage(page, name);
}

/** participantJoins from a join page already open (e.g. one a group's standing link led to). */
export async function joinsFromJoinPage(page: Page, name: string): Promise<void> {
  await page.getByTestId("join-form").waitFor();
  await pollUntil(
    () => page.getByTestId("join-preview").evaluate((el: any) => (el.getVideoPlaybackQuality?.().totalVideoFrames ?? 0) as number),
    (n) => n > 2,
    { timeoutMs: 20_000, what: `${name}'s camera preview` },
  );
  await page.getByTestId("join-name").fill(name);
  // A client joins only by accepting the group agreement, shown with the session's title above the form.
  await page.getByTestId("agreement-accept").check();
  await page.getByTestId("join-submit").click();
  await page.waitForURL(/\/session\//);
  await page.locator('[data-testid="waiting-room"], [data-testid="participant-room"]').first().waitFor();
}

/** Open a person's "Move" menu by keyboard and pick `label` with the arrow keys and Enter. */
export async function moveByKeyboard(page: Page, memberId: string, label: string): Promise<void> {
  await page.getByTestId(`move-menu-${memberId}`).focus();
  await page.keyboard.press("Enter");
  const menu = page.getByTestId(`move-menu-${memberId}-menu`);
  await menu.waitFor();
  for (let i = 0; i < 12; i++) {
    const f = await focused(page);
    if (f.label.startsWith(label)) break;
    await page.keyboard.press("ArrowDown");
  }
  const on = (await focused(page)).label;
  if (!on.includes(label)) throw new Error(`${label} is not in ${memberId}'s Move menu (focus stopped on "${on}")`);
  await page.keyboard.press("Enter");
  await waitForCount(menu, 0);
}
