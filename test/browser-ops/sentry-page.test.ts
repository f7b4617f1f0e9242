/**
 * Browser errors reach Sentry scrubbed: the web app built with VITE_SENTRY_DSN pointed at a local envelope receiver
 * (test/support/ops-receivers.ts, Sentry's envelope contract), served as static files, opened in headless Chromium at
 * an invite link (`/join/<session>?invite=<token>`); an error thrown in the page arrives, with release and environment,
 * and without the invite, identities or tokens. The built client only: the API is not needed for this.
 */
import { createServer, type Server } from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "vite";
import solid from "vite-plugin-solid";
import { startOpsReceivers } from "../support/ops-receivers";
import { launchChromium } from "../browser/helpers";

const root = path.resolve(import.meta.dirname, "../..");
const INVITE = "eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJpbnZpdGUiLCJzaWQiOiI2MmVjMDFhYiJ9.aW52aXRlLXNpZ25hdHVyZQ";
const TICKET = "eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJ0aWNrZXQiLCJuYW1lIjoiSmFuZSBEb2UifQ.dGlja2V0LXNpZ25hdHVyZQ";

let receivers: Awaited<ReturnType<typeof startOpsReceivers>>;
let server: Server;
let appUrl = "";
let out = "";

beforeAll(async () => {
  receivers = await startOpsReceivers(0);
  out = fs.mkdtempSync(path.join(os.tmpdir(), "mb-sentry-page-"));
  // The app's own client build (vite.config.ts minus the Worker half), with the DSN and tags as a deploy sets them.
  process.env.VITE_SENTRY_DSN = receivers.dsn;
  process.env.VITE_SENTRY_RELEASE = "mindbloom-video@page-test";
  process.env.VITE_SENTRY_ENVIRONMENT = "page-test";
  try {
    await build({
      root: path.join(root, "web"),
      envDir: out,
      configFile: false,
      logLevel: "warn",
      plugins: [solid()],
      build: { outDir: path.join(out, "dist"), emptyOutDir: true },
    });
  } finally {
    delete process.env.VITE_SENTRY_DSN;
    delete process.env.VITE_SENTRY_RELEASE;
    delete process.env.VITE_SENTRY_ENVIRONMENT;
  }
  const dist = path.join(out, "dist");
  server = createServer((req, res) => {
    const p = new URL(req.url ?? "/", "http://x").pathname;
    const file = path.join(dist, p);
    const target = p !== "/" && file.startsWith(dist) && fs.existsSync(file) && fs.statSync(file).isFile() ? file : path.join(dist, "index.html");
    if (p.startsWith("/api/")) {
      res.writeHead(404, { "content-type": "application/json" });
      return res.end(JSON.stringify({ error: { code: "NOT_FOUND", message: "no API in this test" } }));
    }
    const type = target.endsWith(".js") ? "text/javascript" : target.endsWith(".css") ? "text/css" : "text/html";
    res.writeHead(200, { "content-type": type });
    fs.createReadStream(target).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await receivers?.close();
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

describe("Sentry in the page (VITE_SENTRY_DSN)", () => {
  it("an error thrown in the page arrives, scrubbed", async () => {
    const browser = await launchChromium({ noFakeMedia: true });
    try {
      const page = await browser.newPage();
      await page.goto(`${appUrl}/join/62ec01ab?invite=${INVITE}`);
      // The SDK is up once its global carrier holds a client.
      await page.waitForFunction(() => Boolean((globalThis as any).__SENTRY__), null, { timeout: 20_000 });
      await page.evaluate(
        ([ticket]) => {
          console.log(`chat: Jane Doe said she feels low`);
          setTimeout(() => {
            throw new Error(`media connect failed for guest:3f9c2a71 with ticket ${ticket}`);
          }, 0);
        },
        [TICKET],
      );
      const end = Date.now() + 20_000;
      let event: any;
      while (!event && Date.now() < end) {
        event = receivers
          .envelopes()
          .flatMap((e) => e.items)
          .find((i) => i.type === "event")?.payload;
        if (!event) await new Promise((r) => setTimeout(r, 100));
      }
      expect(event, "no event reached the receiver").toBeDefined();
      expect(event).toMatchObject({ release: "mindbloom-video@page-test", environment: "page-test", platform: "javascript" });
      expect(event.exception.values[0].value).toBe("media connect failed for guest:[Filtered] with ticket [Filtered]");
      expect(event.request.url).toBe(`${appUrl}/join/62ec01ab?invite=[Filtered]`);
      expect(event.user).toBeUndefined();
      const raw = receivers
        .envelopes()
        .map((e) => e.raw)
        .join("\n");
      for (const bad of [INVITE, TICKET, "Jane Doe", "feels low", "3f9c2a71"]) expect(raw, `leaked ${bad}`).not.toContain(bad);
    } finally {
      await browser.close();
    }
  });
});
