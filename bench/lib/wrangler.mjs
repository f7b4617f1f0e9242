// Starts and stops `wrangler dev` for the benchmarks, finds its workerd processes, and reads their RSS / open files.
// Everything listens on 127.0.0.1 only.
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync, existsSync, mkdirSync, writeFileSync, statSync, copyFileSync, cpSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";

/** The project under test (BENCH_PROJECT lets the same harness measure a scratch copy with a proposed change). */
export const ROOT = path.resolve(process.env.BENCH_PROJECT ?? path.join(import.meta.dirname, "..", ".."));
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const quietEnv = () => ({
  ...process.env,
  PATH: `${path.join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  NO_COLOR: "1",
  FORCE_COLOR: "0",
});

/** `wrangler d1 migrations apply DB --local --persist-to dir`. */
export function applyMigrations(persistTo, project = ROOT) {
  execFileSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], {
    cwd: project,
    env: quietEnv(),
    stdio: "pipe",
    timeout: 120_000,
  });
}

/**
 * A frozen copy of the sources wrangler serves (worker, durable objects, migrations, config) with node_modules linked.
 * wrangler dev watches its sources and reloads the worker on every edit (dropping sockets, DO state and its port);
 * in a tree others are editing, the benchmarks would measure reloads. The copy also pins one code version per run.
 */
export function snapshotProject(dest, project = ROOT) {
  mkdirSync(dest, { recursive: true });
  for (const entry of ["worker", "durable-objects", "lib", "migrations", "wrangler.toml", "package.json", "tsconfig.json", "worker-configuration.d.ts"]) {
    if (existsSync(path.join(project, entry))) cpSync(path.join(project, entry), path.join(dest, entry), { recursive: true });
  }
  symlinkSync(path.join(project, "node_modules"), path.join(dest, "node_modules"));
  return dest;
}

/** One SQL query against the local D1 (a separate wrangler process reading the same persisted SQLite file). */
export function d1Query(persistTo, sql, project = ROOT) {
  const out = execFileSync(WRANGLER, ["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--json", "--command", sql], {
    cwd: project,
    env: quietEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  }).toString();
  const start = out.indexOf("[");
  const parsed = JSON.parse(out.slice(start));
  return parsed[0]?.results ?? [];
}

function children(pid) {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

function descendants(pid) {
  const all = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift();
    for (const c of children(p)) {
      all.push(c);
      queue.push(c);
    }
  }
  return all;
}

const cmdline = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
};

/** VmRSS / VmHWM of a process, kB. */
export function memoryOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? NaN);
    return { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM"), threads: kb("Threads") };
  } catch {
    return { rssKb: NaN, hwmKb: NaN, threads: NaN };
  }
}

export function openFiles(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

export function fdLimit(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const [soft, hard] = line.trim().split(/\s+/).slice(3, 5);
    return { soft: Number(soft), hard: Number(hard) };
  } catch {
    return { soft: NaN, hard: NaN };
  }
}

/** Listening TCP ports of a process (via /proc/net/tcp inode ↔ /proc/pid/fd sockets). */
function listeningPorts(pid) {
  const inodes = new Set();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const l = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(l);
        if (m) inodes.add(m[1]);
      } catch {
        /* closed meanwhile */
      }
    }
  } catch {
    return [];
  }
  const ports = [];
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A") continue; // LISTEN
      if (inodes.has(cols[9])) ports.push(parseInt(cols[1].split(":")[1], 16));
    }
  }
  return ports;
}

/** A one-page stand-in for the web app (what the benches serve as assets; the app build is not what they measure). */
function benchAssets(persistTo) {
  const assets = path.join(persistTo, "bench-assets");
  mkdirSync(assets, { recursive: true });
  writeFileSync(path.join(assets, "index.html"), "<!doctype html><title>bench</title>");
  return assets;
}

/**
 * Starts argv in its own process group through bash, at the bench's priority (BENCH_NICE), with the soft fd limit
 * raised to the hard one (sockets are file descriptors), appending its output to logFile (`stdout: "pipe"` keeps
 * stdout for the caller and logs stderr only).
 */
function spawnBenchProcess(argv, { project, logFile, raiseFds = true, stdout = "log" }) {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const nice = Number(process.env.BENCH_NICE ?? 0);
  const redirect = stdout === "pipe" ? `2>> '${logFile}'` : `>> '${logFile}' 2>&1`;
  const script = `${raiseFds ? "ulimit -n $(ulimit -Hn) 2>/dev/null; " : ""}exec ${nice ? `nice -n ${nice} ` : ""}${quoted} ${redirect}`;
  return spawn("bash", ["-c", script], { cwd: project, env: quietEnv(), stdio: ["ignore", stdout === "pipe" ? "pipe" : "ignore", "ignore"], detached: true });
}

/**
 * Stops what spawnBenchProcess started: `signal` to `target` (the child, or -pid for its whole group), SIGKILL to the
 * group after 10 s, then waits for `leftovers` (workerd children may outlive their parent for a moment), killing them
 * after 5 s.
 */
async function stopBenchProcess(child, { signal, target, leftovers = [] }) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  try {
    process.kill(target, signal);
  } catch {
    /* gone */
  }
  const t = setTimeout(() => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }, 10_000);
  await exited;
  clearTimeout(t);
  for (let i = 0; i < 40; i++) {
    const alive = leftovers.filter((p) => p && existsSync(`/proc/${p}`) && !/^Z/.test(stateOf(p)));
    if (!alive.length) break;
    await new Promise((r) => setTimeout(r, 250));
    if (i === 20)
      for (const p of alive)
        try {
          process.kill(p, "SIGKILL");
        } catch {
          /* gone */
        }
  }
}

/**
 * Starts `wrangler dev` and waits until it answers. Returns { url, directUrl, pids, stop() }.
 * - url: wrangler's own port (its dev ProxyWorker forwards to the user worker);
 * - directUrl: the user worker's own workerd entry socket (same code, same bindings, without the dev proxy hop).
 */
export async function startWrangler({ persistTo, vars, logLevel = "info", label = "wrangler", logDir, raiseFds = true, project = ROOT }) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const assets = benchAssets(persistTo);
  // An explicit -c: a `vite build` elsewhere leaves .wrangler/deploy/config.json, which would redirect wrangler to the
  // built output instead of the sources.
  const args = [
    "dev",
    "-c",
    path.join(project, "wrangler.toml"),
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--persist-to",
    persistTo,
    "--assets",
    assets,
    "--log-level",
    logLevel,
    "--inspector-port",
    String(inspectorPort),
    "--show-interactive-dev-session=false",
  ];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const logFile = path.join(logDir ?? persistTo, `${label}.log`);
  const child = spawnBenchProcess([WRANGLER, ...args], { project, logFile, raiseFds });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  let ok = false;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const r = await fetch(`${url}/api/config`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) {
        ok = true;
        break;
      }
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!ok) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      /* gone */
    }
    throw new Error(`wrangler dev did not start; see ${logFile}:\n${safeTail(logFile)}`);
  }
  // The wrangler Node process is the bash child (exec), its workerd children: the dev proxy and the user worker.
  const all = descendants(child.pid);
  const workerds = all.filter((p) => /workerd serve/.test(cmdline(p)));
  const proxyPid = workerds.find((p) => cmdline(p).includes(`entry=127.0.0.1:${port}`)) ?? null;
  const userPid = workerds.find((p) => p !== proxyPid) ?? null;
  let directUrl = null;
  if (userPid) {
    for (const p of listeningPorts(userPid)) {
      try {
        const r = await fetch(`http://127.0.0.1:${p}/api/config`, { signal: AbortSignal.timeout(1500) });
        if (r.ok && (await r.json()).devSignIn !== undefined) {
          directUrl = `http://127.0.0.1:${p}`;
          break;
        }
      } catch {
        /* not the entry socket */
      }
    }
  }
  // The bundle wrangler built (for mapping profile line numbers back to source); copied, wrangler deletes it on exit.
  let bundle = null;
  try {
    const tmp = path.join(project, ".wrangler", "tmp");
    const dirs = readdirSync(tmp)
      .filter((d) => d.startsWith("dev-"))
      .map((d) => ({ d, t: statSync(path.join(tmp, d)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    if (dirs.length) {
      bundle = path.join(persistTo, `${label}-bundle.js`);
      copyFileSync(path.join(tmp, dirs[0].d, "index.js"), bundle);
    }
  } catch {
    bundle = null;
  }
  return {
    url,
    directUrl,
    bundle,
    port,
    inspectorPort,
    logFile,
    pids: { wrangler: child.pid, proxyWorkerd: proxyPid, userWorkerd: userPid },
    // The whole process group we started: wrangler and its workerd children.
    stop: () => stopBenchProcess(child, { signal: "SIGINT", target: -child.pid, leftovers: [proxyPid, userPid] }),
  };
}

function stateOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return "X";
  }
}

function safeTail(file) {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "(no log)";
  }
}

/** CPU time (user+system, ms) of a process so far. */
export function cpuMs(pid) {
  const { user, system } = cpuSplitMs(pid);
  return user + system;
}

/** CPU (user + kernel, ms) of each thread of a process so far, by thread id, with the thread's name. */
export function threadCpuMs(pid) {
  const out = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
        out[tid] = { name: s.slice(s.indexOf("(") + 1, s.lastIndexOf(")")), ms: ((Number(f[11]) + Number(f[12])) * 1000) / 100 };
      } catch {
        /* the thread ended */
      }
    }
  } catch {
    /* the process ended */
  }
  return out;
}

/** User and kernel CPU of a process so far (kernel: socket and file syscalls on its behalf). */
export function cpuSplitMs(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { user: (Number(f[11]) * 1000) / 100, system: (Number(f[12]) * 1000) / 100 }; // USER_HZ = 100
  } catch {
    return { user: NaN, system: NaN };
  }
}

/** CPU used by everything on the machine vs by the given processes, over an interval (other load = noise). */
export function noiseMeter(pidsFn) {
  const total = () => {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const all = f.reduce((a, b) => a + b, 0);
    return { busyMs: ((all - idle) * 1000) / 100 };
  };
  const ours = () => {
    let sum = 0;
    for (const p of pidsFn()) {
      sum += cpuMs(p) || 0;
      for (const d of descendants(p)) sum += cpuMs(d) || 0;
    }
    return sum;
  };
  const t0 = Date.now();
  const a = total();
  const o = ours();
  const load0 = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  return {
    stop() {
      const secs = (Date.now() - t0) / 1000;
      const busy = total().busyMs - a.busyMs;
      const mine = ours() - o;
      return {
        seconds: +secs.toFixed(1),
        machineBusyCores: +(busy / 1000 / secs).toFixed(2),
        benchProcessesCores: +(mine / 1000 / secs).toFixed(2),
        otherProcessesCores: +(Math.max(0, busy - mine) / 1000 / secs).toFixed(2),
        loadAvgBefore: load0,
        loadAvgAfter: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number),
      };
    },
  };
}

/**
 * Starts the product's production bundle on workerd with a socket straight to the Worker (bench/lib/serve-workerd.mjs).
 * Same return shape as startWrangler: { url, directUrl, pids: { wrangler (the Node host), userWorkerd }, stop() };
 * `url` is Miniflare's entry (its dev plumbing), `directUrl` the Worker's own socket.
 */
export async function startWorkerd({ persistTo, vars, label = "workerd", logDir, project = ROOT, inspectorPort }) {
  const assets = benchAssets(persistTo);
  const logFile = path.join(logDir ?? persistTo, `${label}.log`);
  const input = JSON.stringify({ project, persistTo, vars, assetsDir: assets, logFile, inspectorPort, label });
  const host = path.join(import.meta.dirname, "serve-workerd.mjs");
  const child = spawnBenchProcess([process.execPath, host, input], { project, logFile, stdout: "pipe" });
  const ready = await new Promise((resolve, reject) => {
    let buf = "";
    const t = setTimeout(() => reject(new Error(`workerd did not start in 120 s; see ${logFile}:\n${safeTail(logFile)}`)), 120_000);
    child.stdout.on("data", (d) => {
      buf += d;
      const m = /^BENCH_READY (.*)$/m.exec(buf);
      if (m) {
        clearTimeout(t);
        resolve(JSON.parse(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`workerd host exited (${code}); see ${logFile}:\n${safeTail(logFile)}`));
    });
  });
  const pids = { wrangler: child.pid, proxyWorkerd: null, userWorkerd: ready.workerdPid };
  return {
    url: ready.url,
    directUrl: ready.directUrl,
    bundle: ready.bundle, // profile line numbers map back to source through it
    inspectorPort,
    logFile,
    pids,
    // The Node host alone: it disposes Miniflare, which stops workerd.
    stop: () => stopBenchProcess(child, { signal: "SIGTERM", target: child.pid, leftovers: [pids.userWorkerd] }),
  };
}
