/**
 * Support for the authorization / security tests: a session with one member of every kind the authorization table
 * names, raw upgrade attempts, and a reader for the tables of docs/authorization.md (the tests walk those tables).
 */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";
import type { Command, ErrorCode } from "../../lib/protocol";
import authorizationDoc from "../../docs/authorization.md?raw";
import { api, BASE, Client, createSession, joinSession, randomIp, signIn, stubFor } from "./helpers";

export { authorizationDoc };

/** The columns of the authorization tables, in order. */
export const ROLE_COLUMNS = [
  "facilitator",
  "cofacilitator",
  "participant",
  "waiting participant",
  "denied/removed member",
  "another session's member",
  "anonymous",
  "operator user",
] as const;
export type RoleColumn = (typeof ROLE_COLUMNS)[number];

export interface Member {
  /** Short label used in test names: F, C, P1, W, D, R, RC… */
  label: string;
  memberId: string;
  ticket: string;
}

export type Phase = "main" | "preparing" | "open";

export interface World {
  sessionId: string;
  /** The facilitator's user token (they created the session). */
  userToken: string;
  /** A participant invite token of this session. */
  invite: string;
  inviteId: string;
  F: Member;
  C: Member;
  P1: Member;
  P2: Member;
  P3: Member;
  /** Waiting participant. */
  W: Member;
  /** Participant denied at the door. */
  D: Member;
  /** Participant removed after being admitted. */
  R: Member;
  /** Co-facilitator removed after being admitted (stored role cofacilitator, status denied). */
  RC: Member;
  /** Sockets opened before any status decision (so denied/removed members keep theirs), when asked for. */
  sockets: Record<string, Client>;
}

/** Another session's member (its facilitator, the strongest role), an operator's user token. */
export interface Outsiders {
  otherSessionId: string;
  X: Member;
  operatorToken: string;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------------------------------------------

let commandCounter = 0;
export const newCommandId = (label = "cmd") => `${label}-${++commandCounter}-${crypto.randomUUID().slice(0, 8)}`;

export async function commandOverHttp(sessionId: string, token: string | undefined, command: Command | Record<string, unknown>, commandId = newCommandId()) {
  const r = await api(`/api/sessions/${sessionId}/commands`, { token, body: { commandId, command } });
  return { ...r, commandId };
}

/** Run a command as `member` over HTTP and require an ack (scenario set-up). */
export async function must(sessionId: string, member: Member, command: Command) {
  const r = await commandOverHttp(sessionId, member.ticket, command);
  if (r.status !== 200 || !r.json?.ack) throw new Error(`set-up ${member.label} ${command.type} failed: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.ack as { commandId: string; seq: number; duplicate: boolean };
}

export async function invite(sessionId: string, staffTicket: string, role: "participant" | "cofacilitator" = "participant") {
  const r = await api(`/api/sessions/${sessionId}/invites`, { token: staffTicket, body: { role } });
  if (r.status !== 201) throw new Error(`invite failed ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as { id: string; token: string };
}

export async function join(sessionId: string, inviteToken: string, label: string): Promise<Member & { status: string }> {
  const j = await joinSession(sessionId, inviteToken, label);
  return { label, memberId: j.memberId, ticket: j.ticket, status: j.status };
}

/** A raw WebSocket upgrade attempt: the refusal (status + typed body + headers), or the open socket. */
export async function upgrade(sessionId: string, ticket?: string, headers: Record<string, string> = {}) {
  const q = ticket === undefined ? "" : `?${new URLSearchParams({ ticket })}`;
  const res = await SELF.fetch(`${BASE}/api/sessions/${sessionId}/ws${q}`, { headers: { Upgrade: "websocket", ...headers } });
  if (res.status === 101) {
    res.webSocket!.accept();
    return { status: 101, json: null as any, headers: res.headers, ws: res.webSocket! };
  }
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers, ws: null };
}

export async function context(sessionId: string) {
  return (await stubFor(sessionId).debugState()).context;
}

// ---------------------------------------------------------------------------------------------------------------
// Worlds
// ---------------------------------------------------------------------------------------------------------------

async function connect(world: World, m: Member) {
  const c = await Client.connect(world.sessionId, m.ticket, m.label);
  await c.next((x) => x.type === "snapshot");
  world.sockets[m.label] = c;
}

/**
 * A session with every kind of member: F (creator), C (co-facilitator), P1-P3 (admitted), W (waiting), D (denied),
 * R (participant removed), RC (co-facilitator removed). P1 has asked for help. Then the phase:
 * - "main": nothing more;
 * - "preparing": 2 rooms in "choose" mode (r1, r2);
 * - "open": 2 rooms, manual, 10-minute round, P1 and P3 in r1, P2 in r2.
 * With `sockets`, everyone's socket is opened before any decision about them, and kept.
 */
export async function buildWorld(phase: Phase, opts: { sockets?: boolean } = {}): Promise<World> {
  const s = await createSession({ settings: { autoAdmit: true } });
  const F: Member = { label: "F", memberId: s.memberId, ticket: s.ticket };
  const coInvite = await invite(s.sessionId, s.ticket, "cofacilitator");
  const world = { sessionId: s.sessionId, userToken: s.userToken, invite: s.invite.token, inviteId: s.invite.id, F, sockets: {} } as World;
  world.C = await join(s.sessionId, coInvite.token, "C");
  world.RC = await join(s.sessionId, coInvite.token, "RC");
  world.P1 = await join(s.sessionId, s.invite.token, "P1");
  world.P2 = await join(s.sessionId, s.invite.token, "P2");
  world.P3 = await join(s.sessionId, s.invite.token, "P3");
  world.R = await join(s.sessionId, s.invite.token, "R");
  if (opts.sockets) for (const m of [F, world.C, world.RC, world.P1, world.P2, world.P3, world.R]) await connect(world, m);
  await must(s.sessionId, F, { type: "removeMember", memberId: world.R.memberId });
  await must(s.sessionId, F, { type: "removeMember", memberId: world.RC.memberId });
  await must(s.sessionId, F, { type: "updateSettings", settings: { autoAdmit: false } });
  const W = await join(s.sessionId, s.invite.token, "W");
  const D = await join(s.sessionId, s.invite.token, "D");
  expect([W.status, D.status]).toEqual(["waiting", "waiting"]);
  world.W = W;
  world.D = D;
  if (opts.sockets) for (const m of [world.W, world.D]) await connect(world, m);
  await must(s.sessionId, F, { type: "deny", memberId: world.D.memberId });
  await must(s.sessionId, world.P1, { type: "requestHelp", message: "please" });
  await enterPhase(s.sessionId, F, phase, world);
  const st = await stubFor(s.sessionId).debugState();
  expect(st.phase).toBe(phase);
  const status = (m: Member) => st.context!.members[m.memberId].status;
  expect([F, world.C, world.P1, world.P2, world.P3, world.W, world.D, world.R, world.RC].map(status)).toEqual([
    "admitted",
    "admitted",
    "admitted",
    "admitted",
    "admitted",
    "waiting",
    "denied",
    "denied",
    "denied",
  ]);
  return world;
}

/** Brings a main-phase session to `phase`: rooms r1, r2 ("choose" while preparing; P1, P3 in r1 and P2 in r2 when open). */
async function enterPhase(sessionId: string, F: Member, phase: Phase, people: { P1: Member; P2: Member; P3: Member }) {
  if (phase === "preparing") await must(sessionId, F, { type: "createBreakouts", count: 2, mode: "choose" });
  if (phase === "open") {
    await must(sessionId, F, { type: "createBreakouts", count: 2, mode: "manual", durationSeconds: 600 });
    await must(sessionId, F, {
      type: "bulkAssign",
      assignments: [
        { memberId: people.P1.memberId, roomId: "r1" },
        { memberId: people.P2.memberId, roomId: "r2" },
        { memberId: people.P3.memberId, roomId: "r1" },
      ],
    });
    await must(sessionId, F, { type: "openBreakouts" });
  }
}

/** A lighter session for commands that change things: F, C, P1-P3 admitted, same rooms as buildWorld for the phase. */
export async function smallWorld(phase: Phase) {
  const s = await createSession({ settings: { autoAdmit: true } });
  const F: Member = { label: "F", memberId: s.memberId, ticket: s.ticket };
  const co = await invite(s.sessionId, s.ticket, "cofacilitator");
  const w = {
    sessionId: s.sessionId,
    invite: s.invite.token,
    F,
    C: (await join(s.sessionId, co.token, "C")) as Member,
    P1: (await join(s.sessionId, s.invite.token, "P1")) as Member,
    P2: (await join(s.sessionId, s.invite.token, "P2")) as Member,
    P3: (await join(s.sessionId, s.invite.token, "P3")) as Member,
  };
  await enterPhase(s.sessionId, F, phase, w);
  return w;
}

export async function buildOutsiders(): Promise<Outsiders> {
  const other = await createSession({ title: "Another group" });
  return {
    otherSessionId: other.sessionId,
    X: { label: "X", memberId: other.memberId, ticket: other.ticket },
    operatorToken: await signIn("Operator", "operator"),
  };
}

/** Who stands in each column of the tables (the denied/removed column has three people: D, R and RC). */
export function membersFor(world: World, column: RoleColumn, outsiders: Outsiders): { label: string; token: string | undefined; member?: Member }[] {
  switch (column) {
    case "facilitator":
      return [{ label: "F", token: world.F.ticket, member: world.F }];
    case "cofacilitator":
      return [{ label: "C", token: world.C.ticket, member: world.C }];
    case "participant":
      return [{ label: "P1", token: world.P1.ticket, member: world.P1 }];
    case "waiting participant":
      return [{ label: "W", token: world.W.ticket, member: world.W }];
    case "denied/removed member":
      return [world.D, world.R, world.RC].map((m) => ({ label: m.label, token: m.ticket, member: m }));
    case "another session's member":
      return [{ label: "X", token: outsiders.X.ticket }];
    case "anonymous":
      return [{ label: "A", token: undefined }];
    case "operator user":
      return [{ label: "O", token: outsiders.operatorToken }];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// docs/authorization.md
// ---------------------------------------------------------------------------------------------------------------

/** The rows of the nth markdown table whose header row starts with `firstHeader`: { key, cells by column name }. */
export function docTable(firstHeader: string, nth = 1): { key: string; cells: Record<string, string> }[] {
  const lines = authorizationDoc.split("\n");
  const starts = lines.flatMap((l, i) => (l.startsWith(`| ${firstHeader} |`) ? [i] : []));
  const start = starts[nth - 1] ?? -1;
  if (start < 0) throw new Error(`docs/authorization.md has no table starting with "${firstHeader}"`);
  const split = (l: string) =>
    l
      .trim()
      .replace(/^\||\|$/g, "")
      .split("|")
      .map((c) => c.trim());
  const headers = split(lines[start]);
  const rows: { key: string; cells: Record<string, string> }[] = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith("|"); i++) {
    const cells = split(lines[i]);
    if (cells.length !== headers.length) throw new Error(`docs/authorization.md: row "${lines[i]}" has ${cells.length} cells, expected ${headers.length}`);
    rows.push({ key: cells[0], cells: Object.fromEntries(headers.slice(1).map((h, j) => [h, cells[j + 1]])) });
  }
  return rows;
}

/** "allowed", or an error code (commands table). */
export type CommandCell = { allowed: true } | { allowed: false; code: ErrorCode };
export function commandCell(text: string): CommandCell {
  if (text === "allowed") return { allowed: true };
  if (!/^[A-Z_]+$/.test(text)) throw new Error(`docs/authorization.md: bad command cell "${text}"`);
  return { allowed: false, code: text as ErrorCode };
}

/** "201" (allowed with that status) or "403 FORBIDDEN" (endpoint tables). */
export type EndpointCell = { status: number; code: ErrorCode | null };
export function endpointCell(text: string): EndpointCell {
  const m = /^(\d{3})(?: ([A-Z_]+))?$/.exec(text);
  if (!m) throw new Error(`docs/authorization.md: bad endpoint cell "${text}"`);
  return { status: Number(m[1]), code: (m[2] as ErrorCode) ?? null };
}

export const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { FORBIDDEN: 403, WRONG_SESSION: 403, UNAUTHENTICATED: 401, NOT_ADMITTED: 409 };

export { api, randomIp };
