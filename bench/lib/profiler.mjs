// CPU profiles of the Worker + Durable Object isolate through workerd's inspector (Chrome DevTools protocol).
// Used only for breakdowns; headline numbers always come from runs without the profiler attached.
import { readFileSync, writeFileSync } from "node:fs";

export class Inspector {
  static async connect(port) {
    const list = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
    // Miniflare lists one target per service (D1, rate limiter, assets router…): the Worker is "core:user:<name>".
    const target = list.find((t) => String(t.id).startsWith("core:user:")) ?? list.find((t) => t.webSocketDebuggerUrl) ?? list[0];
    // wrangler's inspector proxy wants an Origin it knows (DevTools-style clients); undici's WebSocket takes extra headers.
    const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: "http://localhost" } });
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve, { once: true });
      ws.addEventListener("error", () => reject(new Error("inspector connection failed")), { once: true });
    });
    return new Inspector(ws);
  }

  constructor(ws) {
    this.ws = ws;
    this.id = 0;
    this.pending = new Map();
    ws.addEventListener("message", (ev) => {
      const m = JSON.parse(ev.data);
      if (m.id && this.pending.has(m.id)) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error) p.reject(new Error(JSON.stringify(m.error)));
        else p.resolve(m.result);
      }
    });
  }

  call(method, params = {}) {
    const id = ++this.id;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
      setTimeout(() => {
        if (this.pending.has(id)) {
          this.pending.delete(id);
          reject(new Error(`inspector: ${method} timed out`));
        }
      }, 60_000);
    });
  }

  async start(intervalUs = 200) {
    await this.call("Profiler.enable");
    await this.call("Profiler.setSamplingInterval", { interval: intervalUs });
    await this.call("Profiler.start");
  }

  async stop() {
    const { profile } = await this.call("Profiler.stop");
    return profile;
  }

  close() {
    try {
      this.ws.close();
    } catch {
      /* closed */
    }
  }
}

/** Where code comes from, by the bundled source position (wrangler bundles one file; node_modules paths survive in names). */
function category(frame) {
  const fn = frame.functionName || "(anonymous)";
  if (fn === "(idle)") return "idle";
  if (fn === "(program)") return "runtime (program)";
  if (fn === "(garbage collector)") return "garbage collector";
  return null;
}

/**
 * Summarises a .cpuprofile: self time per function (top N) and totals. Function names come from the bundled worker, so
 * they read like the source (e.g. "apply", "participantView", "jwtVerify").
 */
export function summarizeProfile(profile, top = 30, bundleFile = null) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let lines = null;
  try {
    lines = bundleFile ? readFileSync(bundleFile, "utf8").split("\n") : null;
  } catch {
    lines = null;
  }
  const parentOf = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const namedAncestor = (id) => {
    let cur = parentOf.get(id);
    while (cur !== undefined) {
      const name = byId.get(cur).callFrame.functionName;
      if (name) return name;
      cur = parentOf.get(cur);
    }
    return "?";
  };
  const self = new Map();
  const total = profile.samples.length;
  // Samples are weighted by the median sampling interval, not by their own time delta: on a busy machine the thread is
  // descheduled now and then and the next sample carries the whole gap, charging seconds to whatever frame it lands in.
  const deltas = [...profile.timeDeltas].filter((x) => x > 0).sort((a, b) => a - b);
  const interval = deltas.length ? deltas[Math.floor(deltas.length / 2)] : 100;
  const dt = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    dt.set(id, (dt.get(id) ?? 0) + interval);
  }
  let allUs = 0;
  let idleUs = 0;
  for (const [id, us] of dt) {
    const n = byId.get(id);
    const f = n.callFrame;
    const cat = category(f);
    if (cat === "idle") {
      idleUs += us;
      continue;
    }
    allUs += us;
    const file = (f.url || "").split("/").slice(-1)[0];
    let key = cat;
    if (!key) {
      const name = f.functionName || `(anon in ${namedAncestor(id)})`;
      const src = file === "index.js" && lines ? ` «${(lines[f.lineNumber] ?? "").trim().slice(0, 60)}»` : "";
      key = `${name} ${file}:${f.lineNumber + 1}${src}`;
    }
    self.set(key, (self.get(key) ?? 0) + us);
  }
  // Inclusive time for named functions: walk parents.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map();
  for (const [id, us] of dt) {
    const seen = new Set();
    let cur = id;
    while (cur !== undefined) {
      const n = byId.get(cur);
      const name = n.callFrame.functionName;
      if (name && !seen.has(name)) {
        seen.add(name);
        incl.set(name, (incl.get(name) ?? 0) + us);
      }
      cur = parent.get(cur);
    }
  }
  const busyMs = allUs / 1000;
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => ({ fn: k, selfMs: +(us / 1000).toFixed(1), pct: +((100 * us) / allUs).toFixed(1) }));
  const inclusive = (names) =>
    Object.fromEntries(names.map((n) => [n, { ms: +((incl.get(n) ?? 0) / 1000).toFixed(1), pct: +((100 * (incl.get(n) ?? 0)) / allUs).toFixed(1) }]));
  return { samples: total, busyMs: +busyMs.toFixed(1), idleMs: +(idleUs / 1000).toFixed(1), topSelf: rows, inclusive, inclMap: incl, allUs };
}

export function saveProfile(file, profile) {
  writeFileSync(file, JSON.stringify(profile));
}
