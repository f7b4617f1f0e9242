/** Test clients that use the product exactly as a browser does: HTTP to the Worker, WebSockets to the session. */
import { SELF, env } from "cloudflare:test";
import { agreementHash, DEFAULT_AGREEMENT, type Command, type ServerMessage } from "../../lib/protocol";
import type { SessionDurableObject } from "./entry";

export const BASE = "https://mindbloom.test";

export async function api(path: string, init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {}) {
  // Each request looks like its own client to the rate limiters unless a test says otherwise.
  const headers: Record<string, string> = { "CF-Connecting-IP": randomIp(), ...(init.headers ?? {}) };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await SELF.fetch(`${BASE}${path}`, {
    method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
    headers,
    body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

export const randomIp = () => `10.${(Math.random() * 255) | 0}.${(Math.random() * 255) | 0}.${(Math.random() * 255) | 0}`;

let userCounter = 0;
export async function signIn(name: string, role: "facilitator" | "cofacilitator" | "participant" | "operator" = "facilitator") {
  const r = await api("/api/auth/dev-signin", { body: { name, role, userId: `u${++userCounter}-${name.toLowerCase().replace(/[^a-z0-9_.:@-]/g, "-")}` } });
  if (r.status !== 200) throw new Error(`sign-in failed ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.token as string;
}

export interface CreatedSession {
  sessionId: string;
  memberId: string;
  ticket: string;
  invite: { id: string; token: string; url: string };
  userToken: string;
}

export async function createSession(
  opts: { title?: string; settings?: Record<string, unknown>; mediaProvider?: "local" | "twilio" } = {},
): Promise<CreatedSession> {
  const userToken = await signIn("Therapist");
  const r = await api("/api/sessions", {
    token: userToken,
    body: { title: opts.title ?? "Tuesday group", settings: opts.settings, mediaProvider: opts.mediaProvider ?? "local" },
  });
  if (r.status !== 201) throw new Error(`create failed ${r.status} ${JSON.stringify(r.json)}`);
  return { ...r.json, userToken };
}

/** The hash a join presents to accept the default group agreement (what the preview of a new session gives). */
export const defaultAgreementHash = () => agreementHash(DEFAULT_AGREEMENT);

/**
 * A guest joins by invite, accepting the group agreement (the default one unless `agreement` is the text shown); with
 * the guestCredential of an earlier join they are that member again.
 */
export async function joinSession(sessionId: string, invite: string, name: string, guestCredential?: string, agreement = DEFAULT_AGREEMENT) {
  const body = { invite, name, agreementHash: await agreementHash(agreement), ...(guestCredential ? { guestCredential } : {}) };
  const r = await api(`/api/sessions/${sessionId}/join`, { body });
  if (r.status !== 200) throw new Error(`join failed ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as { memberId: string; ticket: string; status: string; role: string; guestCredential: string; guestCredentialExpiresAt: number };
}

/**
 * A session with its facilitator and `n` clients ("Client 1"…) connected, each past its first snapshot; clients are
 * let in at once unless `settings` say otherwise.
 */
export async function sessionWithClients(n: number, opts: { mediaProvider?: "local" | "twilio"; settings?: Record<string, unknown> } = {}) {
  const s = await createSession({ settings: { autoAdmit: true, ...opts.settings }, mediaProvider: opts.mediaProvider });
  const fac = await Client.connect(s.sessionId, s.ticket, "fac");
  await fac.next((m) => m.type === "snapshot");
  const people = [];
  for (let i = 0; i < n; i++) {
    const j = await joinSession(s.sessionId, s.invite.token, `Client ${i + 1}`);
    const c = await Client.connect(s.sessionId, j.ticket, `p${i + 1}`);
    await c.next((m) => m.type === "snapshot");
    people.push({ ...j, c });
  }
  return { s, fac, people, stub: stubFor(s.sessionId) };
}

export function stubFor(sessionId: string): DurableObjectStub<SessionDurableObject> {
  const ns = (env as any).SESSION as DurableObjectNamespace<SessionDurableObject>;
  return ns.get(ns.idFromName(sessionId));
}

type Msg = ServerMessage & Record<string, any>;

/** The placement a frame gives: a placement frame's, or the one a snapshot carries (null for any other frame). */
export function placementIn(m: Msg): any {
  if (m.type === "placement") return m.placement;
  if (m.type === "snapshot") return m.placement ?? null;
  return null;
}

/** A WebSocket client of one member, recording every frame. */
export class Client {
  readonly messages: Msg[] = [];
  /** Every frame as its text arrived. */
  readonly raw: string[] = [];
  private waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void; reject: (e: Error) => void; from: number }[] = [];
  lastSeq = 0;
  closed: { code: number; reason: string } | null = null;
  private counter = 0;

  constructor(
    readonly ws: WebSocket,
    readonly name: string,
  ) {
    ws.addEventListener("message", (ev) => {
      this.raw.push(ev.data as string);
      const m = JSON.parse(ev.data as string) as Msg;
      if (typeof m.seq === "number") this.lastSeq = Math.max(this.lastSeq, m.seq);
      this.messages.push(m);
      for (const w of [...this.waiters]) {
        if (w.pred(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    ws.addEventListener("close", (ev) => {
      this.closed = { code: ev.code, reason: ev.reason };
    });
  }

  static async connect(sessionId: string, ticket: string, name = "client", lastSeq?: number): Promise<Client> {
    const q = new URLSearchParams({ ticket });
    if (lastSeq !== undefined) q.set("lastSeq", String(lastSeq));
    const res = await SELF.fetch(`${BASE}/api/sessions/${sessionId}/ws?${q}`, { headers: { Upgrade: "websocket" } });
    if (res.status !== 101 || !res.webSocket) throw new Error(`upgrade failed ${res.status} ${await res.text()}`);
    res.webSocket.accept();
    const c = new Client(res.webSocket, name);
    return c;
  }

  /** Resolve with the first message (already received or future) matching pred. */
  next(pred: (m: Msg) => boolean, timeoutMs = 5000, from = 0): Promise<Msg> {
    const found = this.messages.slice(from).find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject, from };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          reject(new Error(`${this.name}: no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5))}`));
        }
      }, timeoutMs);
    });
  }

  /** Wait for a message that arrives after now. */
  nextNew(pred: (m: Msg) => boolean, timeoutMs = 3000) {
    return this.next(pred, timeoutMs, this.messages.length);
  }

  send(obj: unknown) {
    this.ws.send(typeof obj === "string" ? obj : JSON.stringify(obj));
  }

  /** Send a command and wait for its ack or error. */
  async command(command: Command | Record<string, unknown>, commandId = `${this.name}-${++this.counter}-${crypto.randomUUID().slice(0, 8)}`): Promise<Msg> {
    const from = this.messages.length;
    this.send({ type: "command", commandId, command });
    return this.next((m) => (m.type === "ack" || m.type === "error") && m.commandId === commandId, 3000, from);
  }

  /** Every placement this client was given: placement frames, and the one a snapshot carries. */
  placements(): any[] {
    return this.messages.map(placementIn).filter((p) => p !== null);
  }
  lastPlacement(): any {
    return this.placements().at(-1);
  }
  views(): any[] {
    return this.messages.filter((m) => m.type === "view" || (m.type === "snapshot" && m.view)).map((m) => (m as any).view);
  }
  lastView(): any {
    return this.views().at(-1);
  }

  close() {
    try {
      this.ws.close(1000, "bye");
    } catch {
      /* closed */
    }
  }
}

/** Staff-side mirror of the state, built only from snapshot + patch frames (what a console sees). */
export function staffMirror(c: Client) {
  let state: any = null;
  for (const m of c.messages) {
    if (m.type === "snapshot" && m.staff) state = structuredClone(m.staff);
    if (m.type === "patch" && state) {
      for (const ch of m.changes) {
        if (ch.entity === "member") upsert(state.members, ch.value);
        if (ch.entity === "room") upsert(state.rooms, ch.value);
        if (ch.entity === "media") upsert(state.media, ch.value, "key");
        if (ch.entity === "round") state.round = ch.value;
        if (ch.entity === "session") state.session = ch.value;
      }
    }
  }
  return state;
}

function upsert(list: any[], value: any, key = "id") {
  const i = list.findIndex((x) => x[key] === value[key]);
  if (i >= 0) list[i] = value;
  else list.push(value);
}

export async function d1(sql: string, ...params: unknown[]) {
  return (
    await (env as any).DB.prepare(sql)
      .bind(...params)
      .all()
  ).results as any[];
}

export async function flush(sessionId: string) {
  await stubFor(sessionId).flushOutbox();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
