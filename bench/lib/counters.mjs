// Exact counts of what runs inside workerd, through its inspector (Chrome DevTools protocol): a conditional breakpoint
// whose condition adds to a counter in the isolate and returns false never pauses, so it counts executions of one
// source line (and can add an expression evaluated there, e.g. a batch's length). Profiler.startPreciseCoverage
// (V8 precise coverage) answers "Profiler is not enabled" on workerd's inspector even after Profiler.enable; the
// Debugger domain works. Counts do not depend on machine load: they are what would be billed as invocations, statements,
// rows. Each hit costs a debugger check, so never read latencies from a run with counters attached.
//
// Miniflare runs one isolate per service: the Worker and its Durable Objects in "core:user:<name>", the local D1
// database (Miniflare's D1DatabaseObject) in "d1:db".
import { Inspector } from "./profiler.mjs";

class Target extends Inspector {
  constructor(ws) {
    super(ws);
    this.scripts = [];
    this.contexts = [];
    ws.addEventListener("message", (ev) => {
      const m = JSON.parse(ev.data);
      if (m.method === "Debugger.scriptParsed") this.scripts.push(m.params);
      if (m.method === "Runtime.executionContextCreated") this.contexts.push(m.params.context);
    });
  }
}

async function open(port, idPrefix) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = list.find((t) => String(t.id).startsWith(idPrefix));
  if (!target) throw new Error(`inspector: no target ${idPrefix} (have ${list.map((t) => t.id).join(", ")})`);
  const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: "http://localhost" } });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error("inspector connection failed")), { once: true });
  });
  const t = new Target(ws);
  await t.call("Runtime.enable");
  await t.call("Debugger.enable");
  await new Promise((r) => setTimeout(r, 300)); // scriptParsed events for the scripts already loaded
  return t;
}

const GLOBAL = "globalThis.__mbCounts";

/**
 * Counters on source lines. `spec`: { label, target ("core:user:" | "d1:db"), script (a string in the script's
 * source that picks it), from (start searching at the first line holding this), at (a string on the line to find),
 * offset (lines after that one to break at; default 1, the first line of a function body), column (a string on that
 * line to break before; default its first token), add (an expression evaluated there, default 1) }.
 * Counters at the same place share one breakpoint.
 */
export class LineCounters {
  static async attach(port, specs) {
    const targets = new Map();
    for (const s of specs) if (!targets.has(s.target)) targets.set(s.target, await open(port, s.target));
    const c = new LineCounters(targets);
    await c.place(specs);
    return c;
  }

  constructor(targets) {
    this.targets = targets;
    this.placed = [];
  }

  async locate({ label, target, script, from, at, offset = 1, column }) {
    const t = this.targets.get(target);
    for (const sc of t.scripts) {
      const { scriptSource } = await t.call("Debugger.getScriptSource", { scriptId: sc.scriptId });
      if (!scriptSource.includes(script)) continue;
      const lines = scriptSource.split("\n");
      const f = from ? lines.findIndex((l) => l.includes(from)) : 0;
      if (f < 0) continue;
      const n = lines.findIndex((l, i) => i >= f && l.includes(at));
      if (n < 0) continue;
      const ln = n + offset;
      const col = column ? lines[ln].indexOf(column) : lines[ln].search(/\S/);
      if (col < 0) continue;
      return { scriptId: sc.scriptId, lineNumber: ln, columnNumber: col, text: lines[ln].trim().slice(0, 90) };
    }
    throw new Error(`counter ${label}: no «${at}» in a script with «${script}» on ${target}`);
  }

  async place(specs) {
    const groups = new Map();
    this.missing = [];
    for (const s of specs) {
      // scriptParsed events of a busy isolate may come late: retry for a few seconds before giving up on a counter.
      let loc = null;
      for (let attempt = 0; !loc; attempt++) {
        try {
          loc = await this.locate(s);
        } catch (err) {
          if (attempt >= 10) {
            if (!s.optional) throw err;
            this.missing.push({ label: s.label, error: String(err.message ?? err) });
            break;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      if (!loc) continue;
      const key = `${s.target}|${loc.scriptId}|${loc.lineNumber}|${loc.columnNumber}`;
      if (!groups.has(key)) groups.set(key, { target: s.target, loc, specs: [] });
      groups.get(key).specs.push(s);
    }
    for (const g of groups.values()) {
      const adds = g.specs.map((s) => `(c[${JSON.stringify(s.label)}] = (c[${JSON.stringify(s.label)}] ?? 0) + (${s.add ?? "1"}))`).join(", ");
      const condition = `((c) => (${adds}, false))(${GLOBAL} ??= {})`;
      const { loc } = g;
      await this.targets
        .get(g.target)
        .call("Debugger.setBreakpoint", { location: { scriptId: loc.scriptId, lineNumber: loc.lineNumber, columnNumber: loc.columnNumber }, condition });
      for (const s of g.specs) this.placed.push({ label: s.label, line: loc.lineNumber + 1, text: loc.text });
    }
  }

  /** Evaluates an expression in a target's isolate (its first execution context). */
  async evaluate(target, expression) {
    const t = this.targets.get(target);
    const contextId = t.contexts[0]?.id;
    const r = await t.call("Runtime.evaluate", { expression, returnByValue: true, ...(contextId === undefined ? {} : { contextId }) });
    if (r.exceptionDetails) throw new Error(`inspector evaluate: ${JSON.stringify(r.exceptionDetails).slice(0, 300)}`);
    return r.result.value;
  }

  /** Current totals per label (all targets), and zero them. */
  async take() {
    const out = {};
    for (const [name] of this.targets) {
      const v = await this.evaluate(name, `(() => { const c = ${GLOBAL} ?? {}; ${GLOBAL} = {}; return JSON.stringify(c); })()`);
      Object.assign(out, JSON.parse(v ?? "{}"));
    }
    for (const p of this.placed) out[p.label] ??= 0;
    for (const m of this.missing) out[m.label] = null;
    return out;
  }

  async close() {
    for (const [, t] of this.targets) {
      try {
        await t.call("Debugger.disable");
      } catch {
        /* gone */
      }
      t.close();
    }
  }
}

// What the benches count. Lines are found by their text in the bundle (wrangler's esbuild output, not minified), so
// they follow the code as long as these signatures exist; a missing one is an error, not a zero.
const DO = "var SessionDurableObject = class extends DurableObject";
const inDo = (label, at, more = {}) => ({ label, target: "core:user:", script: DO, from: DO, at, ...more });

/** The session DO's entry points (each call from outside is one billed Durable Object request), the Worker's fetch. */
/** withErrorTracking's `out.fetch = (request, env, ctx) => pick(env).fetch(...)`: a break inside the arrow's body. */
const WORKER_FETCH = {
  target: "core:user:",
  script: DO,
  from: "function withErrorTracking(handler) {",
  at: "out.fetch = ",
  offset: 0,
  column: ".fetch(request",
};

export const INVOCATIONS = [
  inDo("do.constructed", "constructor(ctx, env) {"),
  inDo("do.fetch", "async fetch(request) {"),
  inDo("do.webSocketMessage", "async webSocketMessage("),
  inDo("do.webSocketClose", "async webSocketClose("),
  inDo("do.webSocketError", "async webSocketError("),
  inDo("do.alarm", "async alarm() {"),
  { label: "worker.fetch", ...WORKER_FETCH },
];

/**
 * The RPC methods the Worker calls on the session DO (worker/: sessionStub(...).initialize / join / command / state /
 * mediaGrant / memberInfo / preview / clock / twilioEvent, flushOutbox (preflight, reports), opsHealth (alerts)).
 * `command` is also called by webSocketMessage for socket commands: callers subtract those.
 */
export const RPC = ["initialize", "join", "command", "state", "mediaGrant", "memberInfo", "preview", "clock", "twilioEvent", "flushOutbox", "opsHealth"].map(
  (name) => inDo(`rpc.${name}`, `  async ${name}(`),
);

const D1_PATCH = `(() => { const db = env.DB; if (!db) return 0; const P = Object.getPrototypeOf(db); if (P.__mbPatched) return 0;
  const S = Object.getPrototypeOf(db.prepare("SELECT 1"));
  const c = (globalThis.__mbD1 ??= { requests: 0, statements: 0, rowsRead: 0, rowsWritten: 0, sizeAfter: 0 });
  const meta = (m) => { if (!m) return; c.rowsRead += m.rows_read ?? 0; c.rowsWritten += m.rows_written ?? 0; if (m.size_after) c.sizeAfter = m.size_after; };
  const batch = P.batch;
  P.batch = async function (stmts) { c.requests++; c.statements += stmts.length; const r = await batch.call(this, stmts); for (const x of r ?? []) meta(x?.meta); return r; };
  for (const k of ["run", "all", "raw", "first"]) { const f = S[k]; if (typeof f !== "function") continue;
    S[k] = async function (...a) { c.requests++; c.statements++; const r = await f.apply(this, a); if (k === "run" || k === "all") meta(r?.meta); return r; }; }
  P.__mbPatched = true; return 1; })()`;

/** D1 totals since the last call (null when the binding was never wrapped), and zero them. */
export async function d1Totals(counters) {
  const v = await counters.evaluate(
    "core:user:",
    `(() => { const c = globalThis.__mbD1; if (!c) return "null"; const out = JSON.stringify(c); Object.assign(c, { requests: 0, statements: 0, rowsRead: 0, rowsWritten: 0 }); return out; })()`,
  );
  return JSON.parse(v);
}

/** Writes: outbox batches to D1 and their statements; Analytics Engine data points; D1's own per-query accounting. */
export const WRITES = [
  inDo("outbox.batches", "await db.batch(stmts)", { from: "async drain() {", at: "await db.batch(stmts)", offset: 0 }),
  inDo("outbox.statements", "await db.batch(stmts)", { from: "async drain() {", at: "await db.batch(stmts)", offset: 0, add: "stmts.length" }),
  inDo("outbox.rowsFlushed", "await db.batch(stmts)", { from: "async drain() {", at: "await db.batch(stmts)", offset: 0, add: "rows.length" }),
  inDo("outbox.oneByOne", "await db.prepare(", { from: "async writeOneByOne(", at: "await db.prepare(", offset: 0 }),
  {
    label: "ae.engine",
    target: "core:user:",
    script: DO,
    from: "function writeAnalytics(env, sessionId, records) {",
    at: "env.ANALYTICS.writeDataPoint(",
    offset: 0,
  },
  {
    label: "ae.worker",
    target: "core:user:",
    script: DO,
    from: "function recordWorkerEvent(env, event, fields",
    at: "env.ANALYTICS?.writeDataPoint(",
    offset: 0,
  },
  // D1 as the product uses it (env.DB, the same binding in the Worker and in the DO): the binding's batch and
  // statement methods are wrapped once, from the first Worker request after attaching, to count requests and
  // statements and to add up the rows read/written and the database size that D1 reports in each result's meta (D1's
  // billing units). first() returns no meta: its rows read are not counted (reads cost 1/1000 of writes).
  { label: "d1.patched", ...WORKER_FETCH, add: D1_PATCH },
];
