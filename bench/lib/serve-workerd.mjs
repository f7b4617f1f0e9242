#!/usr/bin/env node
// Runs the product's production bundle on workerd through Miniflare's API (the library `wrangler dev` itself drives),
// with a socket bound straight to the Worker's fetch handler, the way Cloudflare's edge calls it. `wrangler dev` puts
// two dev-only Workers in front of every request (its proxy Worker in a second workerd, Miniflare's entry Worker with
// its RPC and tracing plumbing); on this machine those cost ≈ 0.8 ms of CPU per request, 15× a trivial Worker's own
// cost (bench/README.md). The benches measure both: the product on this socket, and through `wrangler dev`.
//
// Input: one JSON argument { project, persistTo, vars, assetsDir, logFile, inspectorPort? }.
// Output: a line `BENCH_READY <json>` on stdout { url, directUrl, workerdPid, bundle } once ready; SIGTERM/SIGINT dispose and exit.
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const input = JSON.parse(process.argv[2]);
const { project, persistTo, vars, assetsDir, logFile, inspectorPort } = input;
const label = input.label ?? "workerd";
const log = (line) => appendFileSync(logFile, `${line}\n`);

// The bundle `wrangler deploy` would upload (same esbuild settings, same entry, no dev shims).
const outdir = path.join(persistTo, `bundle-${label}`);
mkdirSync(outdir, { recursive: true });
// --assets: the benches serve a one-page stand-in for the web app (its build is not what is measured).
const deploy = ["deploy", "--dry-run", "--outdir", outdir, "--assets", assetsDir, "-c", path.join(project, "wrangler.toml")];
try {
  execFileSync(path.join(project, "node_modules", ".bin", "wrangler"), deploy, {
    cwd: project,
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 120_000,
  });
} catch (err) {
  log(`wrangler ${deploy.join(" ")} failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  process.exit(1);
}
const entry = readdirSync(outdir).find((f) => f.endsWith(".js"));
if (!entry) throw new Error(`wrangler deploy --dry-run wrote no bundle to ${outdir}`);

// Bindings exactly as wrangler derives them from wrangler.toml (DO, D1, Analytics Engine, rate limits, assets, vars).
const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(project, "wrangler.toml"));
const worker = {
  ...workerOptions,
  name: "mindbloom-video",
  modules: true,
  scriptPath: path.join(outdir, entry),
  modulesRoot: outdir,
  bindings: { ...workerOptions.bindings, ...vars },
  assets: { ...workerOptions.assets, directory: assetsDir },
  unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
};
delete worker.rootPath;
delete worker.modulesRules; // one bundled ES module: no module rules to apply

const mf = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    inspectorPort,
    // Same layout as `wrangler dev --persist-to <persistTo>` and `wrangler d1 ... --persist-to <persistTo>`.
    resourcePersistencePath: path.join(persistTo, "v3"),
    cf: false, // no network here: the placeholder `request.cf`, without trying to download one
    log: new Log(LogLevel.WARN),
    handleStructuredLogs: ({ level, message }) => log(`[${level}] ${message}`),
    workers: [worker],
  }),
);
const url = await mf.ready;
const directUrl = await mf.unsafeGetDirectURL("mindbloom-video");

// workerd is our child; find it for the benches' CPU, RSS and fd readings.
const workerdPid = readdirSync("/proc")
  .filter((d) => /^\d+$/.test(d))
  .find((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      return ppid === process.pid && readFileSync(`/proc/${d}/cmdline`, "utf8").includes("workerd");
    } catch {
      return false;
    }
  });

process.stdout.write(
  `BENCH_READY ${JSON.stringify({ url: url.origin, directUrl: directUrl.origin, workerdPid: Number(workerdPid), bundle: path.join(outdir, entry) })}\n`,
);

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.once(sig, async () => {
    await mf.dispose().catch(() => {});
    process.exit(0);
  });
}
