/**
 * Global setup of the `browser` project: serves the real product, production-like, for the browser tests.
 *
 * 1. `vite build` into a temporary directory (the app in <tmp>/build/client, the Worker bundle and its generated
 *    wrangler.json in <tmp>/build/mindbloom_video), the same build `npm run deploy` ships. The build rewrites the
 *    cloudflare plugin's deploy redirects (.wrangler/deploy/config.json and web/.wrangler/deploy/config.json): they
 *    are put back as they were.
 * 2. Fresh local D1 state in <tmp>/state with the migrations applied (`wrangler d1 migrations apply DB --local`).
 * 3. `wrangler dev` on the built Worker (it serves build/client as Workers static assets, like production) on a free
 *    127.0.0.1 port, in its own process group, with development settings: local media mode (no Twilio credentials),
 *    development sign-in on, a random signing secret. The developer's .dev.vars that the build copies next to the
 *    bundle is replaced, so a machine with Twilio credentials in .dev.vars still tests local media mode.
 * 4. Waits until /api/health answers and /api/config says local media + development sign-in.
 * 5. Writes a small synthetic camera clip (320x180, 15 fps, Y4M) for Chromium's fake camera: five people in one
 *    peer-to-peer mesh means 20 video encoders and 20 decoders on one machine; at the fake device's default 720p
 *    that saturates two cores (frames crawl at 1-3 fps), at 320x180 it does not.
 *
 * Set APP_URL to test an already running server instead (e.g. `npm run dev`: APP_URL=http://localhost:5173), and
 * BROWSER_TEST_CAMERA=builtin to use Chromium's own 720p fake camera instead of the clip (heavier; it passes too).
 * Teardown stops the server's whole process group and removes the temporary directory; the server log is kept in
 * test-artifacts/browser/server.log.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { ARTIFACTS_DIR, CHROMIUM_PATH } from "./helpers.ts";

const root = path.resolve(import.meta.dirname, "../..");
const node = process.execPath; // Node 22 from node_modules/.bin (vitest runs through npx / npm test)
const viteBin = path.join(root, "node_modules/vite/bin/vite.js");
const wranglerBin = path.join(root, "node_modules/wrangler/bin/wrangler.js");

function log(msg: string) {
  console.log(`[browser setup] ${msg}`);
}

/** Run a command to completion; its output goes to `logFile`; rejects with the log's tail on failure or time-out. */
function run(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; logFile: string; timeoutMs: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = openSync(opts.logFile, "a");
    const child = spawn(cmd, args, { cwd: root, env: opts.env, stdio: ["ignore", fd, fd], detached: true });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    }, opts.timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      closeSync(fd);
      if (code === 0) return resolve();
      const tail = readFileSync(opts.logFile, "utf8").split("\n").slice(-40).join("\n");
      reject(new Error(`${path.basename(args[0] ?? cmd)} ${args.slice(1, 3).join(" ")} failed (${signal ?? `exit ${code}`}):\n${tail}`));
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A looping synthetic camera clip in YUV4MPEG2 (what --use-file-for-fake-video-capture reads): a bar sweeping across. */
export function writeFakeCameraClip(file: string, width = 320, height = 180, fps = 15): void {
  const frames = fps * 2;
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`)];
  const cw = width / 2;
  const ch = height / 2;
  for (let f = 0; f < frames; f++) {
    const y = Buffer.alloc(width * height);
    const u = Buffer.alloc(cw * ch);
    const v = Buffer.alloc(cw * ch);
    const x0 = Math.floor((f / frames) * width);
    for (let r = 0; r < height; r++)
      for (let c = 0; c < width; c++) y[r * width + c] = c >= x0 && c < x0 + width / 8 ? 235 : 60 + (((r >> 3) + (c >> 3)) % 2) * 50;
    for (let r = 0; r < ch; r++)
      for (let c = 0; c < cw; c++) {
        u[r * cw + c] = 100 + Math.floor((c / cw) * 60);
        v[r * cw + c] = 150 - Math.floor((r / ch) * 40);
      }
    parts.push(Buffer.from("FRAME\n"), y, u, v);
  }
  writeFileSync(file, Buffer.concat(parts));
}

async function waitForApp(baseURL: string, server: ChildProcess | null, logFile: string | null, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (server && server.exitCode !== null) break;
    try {
      const res = await fetch(`${baseURL}/api/health`, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const tail = logFile && existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-40).join("\n") : "";
  throw new Error(
    `the product at ${baseURL} did not answer /api/health (${last})${server?.exitCode !== null && server ? `; server exited ${server.exitCode}` : ""}\n${tail}`,
  );
}

/** The cloudflare plugin's deploy redirects that a build rewrites: remember them to put them back. */
const redirects = [path.join(root, ".wrangler/deploy/config.json"), path.join(root, "web/.wrangler/deploy/config.json")];

export default async function setup(project: TestProject) {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install it (apt-get install -y chromium) or set CHROMIUM_PATH. The browser tests need it.`);
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const tmp = mkdtempSync(path.join(tmpdir(), "mb-browser-"));
  // BROWSER_TEST_CAMERA=builtin: Chromium's own fake camera (720p test pattern) instead of the small clip.
  const fakeVideo = process.env.BROWSER_TEST_CAMERA === "builtin" ? "" : path.join(tmp, "camera-320x180.y4m");
  if (fakeVideo) writeFakeCameraClip(fakeVideo);
  project.provide("fakeVideoFile", fakeVideo);

  const external = process.env.APP_URL?.replace(/\/$/, "");
  if (external) {
    log(`using the server at ${external} (APP_URL)`);
    await waitForApp(external, null, null, 60_000);
    project.provide("appUrl", external);
    return async () => rmSync(tmp, { recursive: true, force: true });
  }

  const started = Date.now();
  const buildDir = path.join(tmp, "build");
  const stateDir = path.join(tmp, "state");
  const serverLog = path.join(tmp, "server.log");
  const buildLog = path.join(tmp, "build.log");
  const env: NodeJS.ProcessEnv = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" };
  delete env.APP_URL;

  // 1. Build.
  const saved = redirects.map((f) => (existsSync(f) ? readFileSync(f) : null));
  try {
    await run(node, [viteBin, "build", "--outDir", buildDir, "--emptyOutDir", "--logLevel", "warn"], {
      env: { ...env, NODE_ENV: "production" },
      logFile: buildLog,
      timeoutMs: 180_000,
    });
  } finally {
    redirects.forEach((f, i) => {
      const before = saved[i];
      if (before) writeFileSync(f, before);
      else rmSync(f, { force: true });
    });
  }
  const workerConfig = path.join(buildDir, "mindbloom_video", "wrangler.json");
  if (!existsSync(workerConfig) || !existsSync(path.join(buildDir, "client", "index.html")))
    throw new Error(`vite build did not produce ${workerConfig} and client/index.html:\n${readFileSync(buildLog, "utf8")}`);
  // The test's own settings, not the developer's .dev.vars (which the cloudflare plugin copies next to the bundle).
  writeFileSync(
    path.join(buildDir, "mindbloom_video", ".dev.vars"),
    ["APP_ENV=development", "DEV_SIGNIN=on", `APP_SIGNING_SECRET=browser-tests-${randomBytes(24).toString("hex")}`, "DEBUG_LOGS=false", ""].join("\n"),
  );
  log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // 2. Fresh D1 with migrations.
  await run(node, [wranglerBin, "d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir, "-c", workerConfig], {
    env,
    logFile: buildLog,
    timeoutMs: 120_000,
  });

  // 3. Serve.
  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  const fd = openSync(serverLog, "a");
  const server = spawn(
    node,
    [
      wranglerBin,
      "dev",
      "-c",
      workerConfig,
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      stateDir,
      "--var",
      "APP_ENV:development",
      "--var",
      "DEV_SIGNIN:on",
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
    ],
    { cwd: root, env, stdio: ["ignore", fd, fd], detached: true },
  );
  closeSync(fd);
  // If vitest dies without running the teardown, do not leave the server behind.
  const killOnExit = () => {
    try {
      process.kill(-server.pid!, "SIGKILL");
    } catch {
      /* already gone */
    }
  };
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    if (server.exitCode === null && server.pid) {
      const exited = new Promise<void>((r) => server.once("exit", () => r()));
      try {
        process.kill(-server.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      const t = setTimeout(() => {
        try {
          process.kill(-server.pid!, "SIGKILL");
        } catch {
          /* gone */
        }
      }, 5_000);
      await exited;
      clearTimeout(t);
    }
    try {
      copyFileSync(serverLog, path.join(ARTIFACTS_DIR, "server.log"));
      copyFileSync(buildLog, path.join(ARTIFACTS_DIR, "build.log"));
    } catch {
      /* nothing logged */
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    await waitForApp(baseURL, server, serverLog, 90_000);
    const config = (await (await fetch(`${baseURL}/api/config`)).json()) as { mediaProvider?: string; devSignIn?: boolean };
    if (config.mediaProvider !== "local" || config.devSignIn !== true)
      throw new Error(`the test server must run in local media mode with development sign-in; /api/config said ${JSON.stringify(config)}`);
    const html = await (await fetch(`${baseURL}/console/x`)).text();
    if (!html.includes('<div id="root">')) throw new Error(`the built app is not served at ${baseURL}: ${html.slice(0, 200)}`);
  } catch (e) {
    await stop();
    throw e;
  }
  log(`product served at ${baseURL} (wrangler dev on the built Worker; ready ${((Date.now() - started) / 1000).toFixed(1)} s after start)`);
  project.provide("appUrl", baseURL);
  return stop;
}
