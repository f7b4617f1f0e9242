// Benchmark clients: the product's HTTP API and WebSockets, used exactly as the web client uses them.
import { performance } from "node:perf_hooks";

// ---------------------------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------------------------

/** Nearest-rank percentiles of a list of numbers (ms). */
export function summarize(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = v.length;
  const at = (q) => (n ? v[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] : null);
  const round = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
  return {
    n,
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(n ? v[n - 1] : null),
    mean: round(n ? v.reduce((a, b) => a + b, 0) / n : null),
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Run fn over items with at most `limit` in flight. */
export async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------------------------

let ipCounter = 0;
/** A distinct client address per request: the rate limiters key anonymous callers by CF-Connecting-IP. */
export function nextIp() {
  const n = ++ipCounter;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export class Api {
  constructor(base) {
    this.base = base;
  }

  async call(path, { method, body, token, ip } = {}) {
    const headers = { "CF-Connecting-IP": ip ?? nextIp() };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await fetch(`${this.base}${path}`, {
          method: method ?? (body !== undefined ? "POST" : "GET"),
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        if (attempt < 3) {
          await sleep(200 * (attempt + 1));
          continue;
        }
        throw err;
      }
      const text = await res.text();
      let json = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = text;
      }
      // wrangler dev's own plumbing sometimes drops a request ("Network connection lost", 500/503 before our code
      // answers); setup requests are retried a few times. Our API's own errors are JSON bodies with error.code.
      if (res.status >= 500 && !json?.error?.code && attempt < 3) {
        await sleep(300 * (attempt + 1));
        continue;
      }
      return { status: res.status, json };
    }
  }

  async ok(path, init, expect = [200, 201]) {
    const r = await this.call(path, init);
    if (!expect.includes(r.status)) throw new Error(`${init?.method ?? "POST"} ${path} → ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  }

  async signIn(name, role = "facilitator") {
    const r = await this.ok("/api/auth/dev-signin", { body: { name, role, userId: `bench-${role}-${Math.random().toString(36).slice(2, 10)}` } });
    return r.token;
  }

  /** A session created by a fresh facilitator account; returns the create response plus that user's token. */
  async createSession({ title = "Bench group", settings = { autoAdmit: true }, mediaProvider = "twilio" } = {}) {
    const userToken = await this.signIn("Therapist");
    const r = await this.ok("/api/sessions", { token: userToken, body: { title, settings, mediaProvider } });
    return { ...r, userToken };
  }

  /** Joins as a client does: reads the preview, accepts its group agreement (by hash), joins. */
  async join(sessionId, invite, name) {
    const preview = await this.ok(`/api/sessions/${sessionId}/preview`, { body: { invite } });
    return this.ok(`/api/sessions/${sessionId}/join`, { body: { invite, name, agreementHash: preview.agreement.hash } });
  }

  /** A session with `n` auto-admitted participants (joined over HTTP, not yet connected). */
  async sessionWithParticipants(n, { concurrency = 8, ...opts } = {}) {
    const s = await this.createSession(opts);
    const participants = await pool(
      Array.from({ length: n }, (_, i) => i),
      concurrency,
      async (i) => {
        const j = await this.join(s.sessionId, s.invite.token, `Participant ${i + 1}`);
        if (j.status !== "admitted") throw new Error(`participant ${i + 1} is ${j.status}, not admitted`);
        return j;
      },
    );
    return { ...s, participants };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// WebSocket client (Node 22's global WebSocket)
// ---------------------------------------------------------------------------------------------------------------

let commandCounter = 0;

export class WsClient {
  constructor(ws, name) {
    this.ws = ws;
    this.name = name;
    this.lastSeq = 0;
    this.waiters = new Set();
    this.pending = new Map();
    this.closed = null;
    this.received = 0;
    /** Optional keeper of every frame (off by default: thousands of clients). */
    this.keep = null;
    ws.addEventListener("message", (ev) => {
      const t = performance.now();
      const m = JSON.parse(ev.data);
      this.received++;
      if (typeof m.seq === "number" && m.seq > this.lastSeq) this.lastSeq = m.seq;
      if (m.type === "hello") this.memberId = m.you.memberId;
      if (this.keep) this.keep.push(m);
      if ((m.type === "ack" || m.type === "error") && m.commandId && this.pending.has(m.commandId)) {
        const p = this.pending.get(m.commandId);
        this.pending.delete(m.commandId);
        p.resolve({ msg: m, t });
      }
      for (const w of this.waiters) {
        if (w.pred(m)) {
          this.waiters.delete(w);
          clearTimeout(w.timer);
          w.resolve({ msg: m, t });
        }
      }
    });
    ws.addEventListener("close", (ev) => {
      this.closed = { code: ev.code, reason: ev.reason };
      for (const w of this.waiters) {
        clearTimeout(w.timer);
        w.reject(new Error(`${this.name}: socket closed (${ev.code} ${ev.reason}) while waiting`));
      }
      this.waiters.clear();
      for (const p of this.pending.values()) p.reject(new Error(`${this.name}: socket closed (${ev.code} ${ev.reason}) before the ack`));
      this.pending.clear();
    });
  }

  /**
   * Opens the session socket. Resolves once open AND the server's first frames up to `until` (default: hello) are in,
   * so a caller can start measuring on a settled connection.
   */
  static connect(base, sessionId, ticket, { name = "client", lastSeq, until = (m) => m.type === "hello", timeoutMs = 30_000, keep = false } = {}) {
    const q = new URLSearchParams({ ticket });
    if (lastSeq !== undefined && lastSeq !== null) q.set("lastSeq", String(lastSeq));
    const url = `${base.replace(/^http/, "ws")}/api/sessions/${sessionId}/ws?${q}`;
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (err) {
        reject(err);
        return;
      }
      const c = new WsClient(ws, name);
      if (keep) c.keep = [];
      const timer = setTimeout(() => {
        reject(new Error(`${name}: no ${until} within ${timeoutMs} ms`));
        try {
          ws.close();
        } catch {
          /* closed */
        }
      }, timeoutMs);
      c.waitFor(until, timeoutMs).then(
        ({ msg, t }) => {
          clearTimeout(timer);
          c.connectMs = t - t0;
          c.firstMatch = msg;
          resolve(c);
        },
        (err) => {
          clearTimeout(timer);
          reject(err);
        },
      );
      ws.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new Error(`${name}: WebSocket error while connecting to ${url.replace(/ticket=[^&]+/, "ticket=…")}`));
      });
    });
  }

  /** Resolves with { msg, t } for the next frame matching pred (t = performance.now() at arrival). */
  waitFor(pred, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject, timer: null };
      w.timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`${this.name}: no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  /** Sends a command; resolves with { msg (ack|error), t, sentAt }. */
  command(command, timeoutMs = 10_000) {
    const commandId = `${this.name}-${++commandCounter}-${Math.random().toString(36).slice(2, 8)}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(commandId);
        reject(new Error(`${this.name}: no ack for ${command.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const sentAt = performance.now();
      this.pending.set(commandId, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve({ ...r, sentAt });
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.send({ type: "command", commandId, command });
    });
  }

  close() {
    try {
      this.ws.close(1000, "bye");
    } catch {
      /* closed */
    }
  }

  /** Close and wait for the close handshake (bounded). */
  async closeAndWait(timeoutMs = 5000) {
    if (this.closed) return;
    const done = new Promise((r) => this.ws.addEventListener("close", r, { once: true }));
    this.close();
    await Promise.race([done, sleep(timeoutMs)]);
  }
}

/** Decodes a JWT's header and payload (no verification: the benches check shapes, the tests check signatures). */
export function decodeJwt(token) {
  const [h, p] = token.split(".");
  const dec = (s) => JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
  return { header: dec(h), payload: dec(p) };
}
