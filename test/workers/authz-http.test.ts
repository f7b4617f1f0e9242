/**
 * Walks the endpoint tables of docs/authorization.md: every session endpoint × every role column (member tickets),
 * and every account endpoint × every kind of user token. Allowed cells answer the documented success status;
 * refused cells the documented status and code, change nothing in the session (debugState().context before/after),
 * create or revoke no invite, and — when the session itself refused a command — are audited as refused:<CODE>.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { CommandType } from "../../lib/protocol";
import { api, d1, flush, signIn } from "./helpers";
import {
  ROLE_COLUMNS,
  buildOutsiders,
  buildWorld,
  context,
  docTable,
  endpointCell,
  invite,
  membersFor,
  smallWorld,
  upgrade,
  type Member,
  type Outsiders,
  type Phase,
  type World,
} from "./authz-world";

interface Req {
  method: string;
  path: string;
  body?: unknown;
  upgrade?: boolean;
}

interface RowSpec {
  /** Phase of the session the refused cells run against (and the allowed ones, unless `fresh`). */
  phase: Phase;
  request: (w: { sessionId: string; inviteId?: string; P1: Member; F: Member }, who: { label: string; token?: string }) => Promise<Req> | Req;
  /** The session command the endpoint runs (its refusals by the session are audited). */
  command?: CommandType;
  /** Allowed cells change the session: run each on a fresh session of this phase. */
  fresh?: boolean;
  check?: (r: { status: number; json: any; headers: Headers }, label: string, w: { sessionId: string }) => void;
}

const sid = (w: { sessionId: string }) => `/api/sessions/${w.sessionId}`;

const SESSION_ROWS: Record<string, RowSpec> = {
  "`GET /api/sessions/:id`": {
    phase: "main",
    request: (w) => ({ method: "GET", path: sid(w) }),
    check: (r, label) => {
      if (/^[FC]$/.test(label)) expect(r.json.staff?.session?.id, label).toBeTruthy();
      else expect([r.json.view?.you?.memberId !== undefined, r.json.staff], label).toEqual([true, undefined]);
    },
  },
  "`GET /api/sessions/:id/ws`": { phase: "main", request: (w) => ({ method: "GET", path: `${sid(w)}/ws`, upgrade: true }) },
  '`POST /api/sessions/:id/invites` `{"role":"participant"}`': {
    phase: "main",
    request: (w) => ({ method: "POST", path: `${sid(w)}/invites`, body: { role: "participant" } }),
    check: (r, label) => expect([r.json.role, typeof r.json.token], label).toEqual(["participant", "string"]),
  },
  '`POST /api/sessions/:id/invites` `{"role":"cofacilitator"}`': {
    phase: "main",
    request: (w) => ({ method: "POST", path: `${sid(w)}/invites`, body: { role: "cofacilitator" } }),
    check: (r, label) => expect([r.json.role, typeof r.json.token], label).toEqual(["cofacilitator", "string"]),
  },
  "`DELETE /api/sessions/:id/invites/:inviteId`": {
    phase: "main",
    // Allowed callers revoke a fresh invite; refused ones try the session's own participant invite (which must survive).
    request: async (w, who) => {
      const target = who.label === "F" || who.label === "C" ? (await invite(w.sessionId, w.F.ticket)).id : w.inviteId!;
      return { method: "DELETE", path: `${sid(w)}/invites/${target}` };
    },
    check: (r, label) => expect([r.json.revoked, r.json.alreadyRevoked], label).toEqual([true, false]),
  },
  "`POST /api/sessions/:id/media-token`": {
    phase: "main",
    request: (w) => ({ method: "POST", path: `${sid(w)}/media-token` }),
    check: (r, label, w) => expect([r.json.provider, r.json.room], label).toEqual(["local", `mb-${w.sessionId}-main`]),
  },
  "`POST /api/sessions/:id/commands`": {
    phase: "main",
    command: "endSession",
    request: (w) => ({ method: "POST", path: `${sid(w)}/commands`, body: { commandId: `http-${crypto.randomUUID()}`, command: { type: "endSession" } } }),
  },
  "`POST /api/sessions/:id/breakout-rooms`": {
    phase: "main",
    command: "createBreakouts",
    fresh: true,
    request: (w) => ({ method: "POST", path: `${sid(w)}/breakout-rooms`, body: { count: 2, mode: "auto" } }),
    check: (r, label) => expect(r.json.ack, label).toBeTruthy(),
  },
  "`POST /api/sessions/:id/breakout-rooms/:roomId/close`": {
    phase: "open",
    command: "closeRoom",
    fresh: true,
    request: (w) => ({ method: "POST", path: `${sid(w)}/breakout-rooms/r1/close` }),
    check: (r, label) => expect(r.json.ack, label).toBeTruthy(),
  },
  "`POST /api/sessions/:id/move-participant`": {
    phase: "open",
    command: "move",
    fresh: true,
    request: (w) => ({ method: "POST", path: `${sid(w)}/move-participant`, body: { memberId: w.P1.memberId, to: "r2" } }),
    check: (r, label) => expect(r.json.ack, label).toBeTruthy(),
  },
  "`POST /api/sessions/:id/bulk-assign`": {
    phase: "open",
    command: "bulkAssign",
    fresh: true,
    request: (w) => ({ method: "POST", path: `${sid(w)}/bulk-assign`, body: { assignments: [{ memberId: w.P1.memberId, roomId: "r2" }] } }),
    check: (r, label) => expect(r.json.ack, label).toBeTruthy(),
  },
  "`POST /api/sessions/:id/end`": {
    phase: "main",
    command: "endSession",
    fresh: true,
    request: (w) => ({ method: "POST", path: `${sid(w)}/end` }),
    check: (r, label) => expect(r.json.ack, label).toBeTruthy(),
  },
  "`GET /api/sessions/:id/report`": {
    phase: "main",
    request: (w) => ({ method: "GET", path: `${sid(w)}/report` }),
    check: (r, label, w) => expect(r.json.session?.id, label).toBe(w.sessionId),
  },
  "`GET /api/sessions/:id/report.csv`": {
    phase: "main",
    request: (w) => ({ method: "GET", path: `${sid(w)}/report.csv` }),
    check: (r, label) => expect(r.headers.get("content-type"), label).toMatch(/^text\/csv/),
  },
  "`GET /api/sessions/:id/cost`": {
    phase: "main",
    request: (w) => ({ method: "GET", path: `${sid(w)}/cost` }),
    check: (r, label, w) => expect(r.json.sessionId, label).toBe(w.sessionId),
  },
  "`GET /api/sessions/:id/attendance`": {
    phase: "main",
    request: (w) => ({ method: "GET", path: `${sid(w)}/attendance` }),
    check: (r, label, w) => expect([r.json.session?.id, Array.isArray(r.json.members)], label).toEqual([w.sessionId, true]),
  },
  "`GET /api/sessions/:id/attendance.csv`": {
    phase: "main",
    request: (w) => ({ method: "GET", path: `${sid(w)}/attendance.csv` }),
    check: (r, label) => expect(r.headers.get("content-type"), label).toMatch(/^text\/csv/),
  },
};

async function perform(sessionId: string, req: Req, token: string | undefined, headers: Record<string, string> = {}) {
  if (req.upgrade) {
    const u = await upgrade(sessionId, token);
    u.ws?.close();
    return { status: u.status, json: u.json, headers: u.headers };
  }
  return api(req.path, { method: req.method, token, body: req.body, headers });
}

describe("docs/authorization.md: session endpoints × roles", () => {
  const rows = docTable("Endpoint");
  const worlds = {} as Record<Phase, World>;
  let outsiders: Outsiders;

  beforeAll(async () => {
    for (const phase of ["main", "open"] as Phase[]) worlds[phase] = await buildWorld(phase);
    outsiders = await buildOutsiders();
  }, 60_000);

  it("every documented endpoint has a walker here, and every walker a row", () => {
    expect(rows.map((r) => r.key).sort()).toEqual(Object.keys(SESSION_ROWS).sort());
    for (const r of rows) expect(Object.keys(r.cells)).toEqual([...ROLE_COLUMNS]);
  });

  for (const row of docTable("Endpoint")) {
    it(row.key, async () => {
      const spec = SESSION_ROWS[row.key];
      const audits: { sessionId: string; id: string; result: string; label: string }[] = [];
      for (const column of ROLE_COLUMNS) {
        if (row.cells[column] === "see Commands") continue; // walked by authz-commands.test.ts
        const cell = endpointCell(row.cells[column]);
        const allowed = cell.status < 400;
        for (const who of membersFor(worlds[spec.phase], column, outsiders)) {
          const label = `${row.key} × ${column} (${who.label})`;
          let w: any = worlds[spec.phase];
          let token = who.token;
          if (allowed && spec.fresh) {
            w = await smallWorld(spec.phase);
            token = w[who.label].ticket;
          }
          const idempotencyKey = `idem-${who.label}-${crypto.randomUUID()}`;
          const req = await spec.request(w, who);
          const invitesBefore = await d1(`SELECT id, revoked_at FROM invites WHERE session_id = ? ORDER BY id`, w.sessionId);
          const before = await context(w.sessionId);
          const r = await perform(w.sessionId, req, token, { "Idempotency-Key": idempotencyKey });
          expect({ status: r.status, code: allowed ? null : r.json?.error?.code }, label).toEqual({ status: cell.status, code: cell.code });
          if (allowed) {
            spec.check?.(r, who.label, w);
            continue;
          }
          expect(await context(w.sessionId), `${label}: state unchanged`).toEqual(before);
          expect(await d1(`SELECT id, revoked_at FROM invites WHERE session_id = ? ORDER BY id`, w.sessionId), `${label}: invites unchanged`).toEqual(
            invitesBefore,
          );
          // The session refused it (the caller is a member it knows): audited like any refused command.
          // (Someone removed is refused before the session does any work: not audited.)
          if (spec.command && "member" in who && who.member && column !== "denied/removed member") {
            audits.push({ sessionId: w.sessionId, id: who.member.memberId, result: `refused:${cell.code}`, label });
          }
        }
      }
      for (const a of audits) {
        await flush(a.sessionId);
        const rowsInDb = await d1(`SELECT action, result FROM audit_log WHERE session_id = ? AND actor = ? AND action = ?`, a.sessionId, a.id, spec.command);
        expect(rowsInDb, a.label).toContainEqual({ action: spec.command, result: a.result });
      }
    }, 30_000);
  }
});

describe("docs/authorization.md: account endpoints × user tokens", () => {
  const COLUMNS = ["facilitator user", "cofacilitator user", "participant user", "operator user", "anonymous", "member ticket"] as const;
  const REQUESTS: Record<string, Req> = {
    "`POST /api/sessions`": { method: "POST", path: "/api/sessions", body: { title: "Thursday group", mediaProvider: "local" } },
    "`GET /api/monitoring/overview`": { method: "GET", path: "/api/monitoring/overview" },
    "`GET /api/monitoring/timeseries`": { method: "GET", path: "/api/monitoring/timeseries?minutes=5" },
    "`GET /api/plans`": { method: "GET", path: "/api/plans" },
    "`POST /api/plans`": { method: "POST", path: "/api/plans", body: { name: "Group", steps: [{ kind: "main", title: "Check-in", durationSeconds: 600 }] } },
    // :planId is a plan of another facilitator (made in beforeAll): nobody in these columns owns it.
    "`GET /api/plans/:planId` (another facilitator's plan)": { method: "GET", path: "/api/plans/:planId" },
    "`PUT /api/plans/:planId` (another facilitator's plan)": {
      method: "PUT",
      path: "/api/plans/:planId",
      body: { name: "Group", steps: [{ kind: "main", title: "Check-in", durationSeconds: 600 }] },
    },
    "`DELETE /api/plans/:planId` (another facilitator's plan)": { method: "DELETE", path: "/api/plans/:planId" },
    "`POST /api/plans/:planId/sessions` (another facilitator's plan)": { method: "POST", path: "/api/plans/:planId/sessions", body: {} },
    "`GET /api/groups`": { method: "GET", path: "/api/groups" },
    "`POST /api/groups`": { method: "POST", path: "/api/groups", body: { name: "Tuesday group" } },
    "`GET /api/groups/:groupId` (another facilitator's group)": { method: "GET", path: "/api/groups/:groupId" },
    "`PATCH /api/groups/:groupId` (another facilitator's group)": { method: "PATCH", path: "/api/groups/:groupId", body: { name: "Taken over" } },
    "`POST /api/groups/:groupId/link` (another facilitator's group)": { method: "POST", path: "/api/groups/:groupId/link" },
    "`POST /api/groups/:groupId/sessions` (another facilitator's group)": { method: "POST", path: "/api/groups/:groupId/sessions", body: {} },
  };
  let otherPlanId = "";
  let otherGroup: { id: string; linkUrl: string } = { id: "", linkUrl: "" };
  const tokens = {} as Record<(typeof COLUMNS)[number], string | undefined>;

  beforeAll(async () => {
    tokens["facilitator user"] = await signIn("Fac", "facilitator");
    tokens["cofacilitator user"] = await signIn("Co", "cofacilitator");
    tokens["participant user"] = await signIn("Part", "participant");
    tokens["operator user"] = await signIn("Op", "operator");
    tokens.anonymous = undefined;
    tokens["member ticket"] = (await smallWorld("main")).F.ticket;
    const owner = await signIn("PlanOwner", "facilitator");
    otherPlanId = (await api("/api/plans", { token: owner, body: REQUESTS["`POST /api/plans`"].body })).json.plan.id;
    otherGroup = (await api("/api/groups", { token: owner, body: { name: "Owner's group" } })).json.group;
  });

  it("every documented endpoint has a request here", () => {
    expect(
      docTable("Endpoint", 2)
        .map((r) => r.key)
        .sort(),
    ).toEqual(Object.keys(REQUESTS).sort());
  });

  for (const key of Object.keys(REQUESTS)) {
    it(key, async () => {
      const row = docTable("Endpoint", 2).find((r) => r.key === key)!;
      for (const column of COLUMNS) {
        const cell = endpointCell(row.cells[column]);
        const path = REQUESTS[key].path.replace(":planId", otherPlanId).replace(":groupId", otherGroup.id);
        const r = await api(path, { method: REQUESTS[key].method, token: tokens[column], body: REQUESTS[key].body });
        expect({ status: r.status, code: cell.status < 400 ? null : r.json?.error?.code }, `${key} × ${column}`).toEqual({
          status: cell.status,
          code: cell.code,
        });
        if (key === "`POST /api/sessions`" && r.status === 201) expect(r.json).toMatchObject({ sessionId: expect.any(String), ticket: expect.any(String) });
      }
      // Nobody but its owner changed or deleted the other facilitator's plan.
      if (key.includes(":planId")) expect(await d1(`SELECT name FROM session_plans WHERE id = ?`, otherPlanId), key).toEqual([{ name: "Group" }]);
      // Nor renamed the other facilitator's group, replaced its link or started a session of it.
      if (key.includes(":groupId")) {
        expect(await d1(`SELECT name FROM therapy_groups WHERE id = ?`, otherGroup.id), key).toEqual([{ name: "Owner's group" }]);
        expect((await api(`/api/group-links/${otherGroup.linkUrl.split("/").pop()}`)).json.session, key).toBeNull();
      }
    });
  }
});

describe("public endpoints", () => {
  it("health and config answer anyone", async () => {
    const h = await api("/api/health");
    expect(h.status).toBe(200);
    expect(h.json.ok).toBe(true);
    const c = await api("/api/config");
    expect(c.status).toBe(200);
    expect(c.json).toMatchObject({ mediaProvider: expect.any(String), devSignIn: true });
  });
});
