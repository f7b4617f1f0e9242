// `npm run dev`: prepare the checkout (scripts/dev-setup.mjs), then run the one Vite dev server (Worker, Durable Object,
// D1 and the SolidJS app). Ctrl-C stops everything: Vite runs in its own process group and the whole group is killed,
// so no workerd is left holding the port.
import { spawn } from "node:child_process";
import { setUpDev } from "./dev-setup.mjs";

// Offline, miniflare's fetch of Cloudflare's Request.cf data prints a stack trace on every start; wrangler's usage
// metrics would try the network too. Neither is needed locally.
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

try {
  setUpDev({ env });
} catch (error) {
  console.error(`dev: set-up failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const vite = spawn("npx", ["vite", "dev", ...process.argv.slice(2)], { stdio: "inherit", env, detached: true });

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  try {
    process.kill(-vite.pid, signal);
  } catch {
    // already gone
  }
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(signal));
process.on("exit", () => stop("SIGTERM"));
vite.on("exit", (code, signal) => {
  stop("SIGTERM");
  process.exit(code ?? (signal ? 1 : 0));
});
