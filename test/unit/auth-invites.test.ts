/**
 * Invite persistence against a real D1 (workerd's, through Miniflare from Node) with the project's migrations applied.
 */
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueInvite } from "../../worker/auth/app-tokens";
import { assertInviteUsable, createInvite, getInvite, listInvites, revokeInvite, verifyInviteForJoin } from "../../worker/auth/invites";
import { migratedD1, refusal } from "./helpers/auth";

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const SECRET = "test-app-signing-secret-0123456789abcdef";

let mf: Miniflare;
let DB: D1Database;
let env: { APP_ENV: string; APP_SIGNING_SECRET: string; DB: D1Database };

beforeAll(async () => {
  ({ mf, DB } = await migratedD1("auth-invites-test"));
  env = { APP_ENV: "production", APP_SIGNING_SECRET: SECRET, DB };
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
});

describe("invites in D1", () => {
  it("createInvite signs a token and stores its row; a join verifies both", async () => {
    const created = await createInvite(env, { sessionId: "s1", createdBy: "user-f", role: "participant" }, { now: NOW, ttlSeconds: 3600 });
    expect(await getInvite(DB, created.inviteId)).toEqual({
      id: created.inviteId,
      session_id: "s1",
      created_by: "user-f",
      role: "participant",
      expires_at: NOW + 3_600_000,
      revoked_at: null,
      created_at: NOW,
    });
    const { claims, row } = await verifyInviteForJoin(env, created.token, "s1", { now: NOW + 1000 });
    expect(claims.inviteId).toBe(created.inviteId);
    expect(row.role).toBe("participant");
  });

  it("a revoked invite is refused at join time with CREDENTIAL_REVOKED; revoking is idempotent", async () => {
    const created = await createInvite(env, { sessionId: "s1", createdBy: "user-f", role: "cofacilitator" }, { now: NOW });
    expect(await revokeInvite(DB, "s1", created.inviteId, { now: NOW + 5 })).toEqual({ inviteId: created.inviteId, revokedAt: NOW + 5, alreadyRevoked: false });
    const e = await refusal(verifyInviteForJoin(env, created.token, "s1", { now: NOW + 10 }));
    expect([e.code, e.status]).toEqual(["CREDENTIAL_REVOKED", 401]);
    expect(await revokeInvite(DB, "s1", created.inviteId, { now: NOW + 99 })).toEqual({ inviteId: created.inviteId, revokedAt: NOW + 5, alreadyRevoked: true });
  });

  it("another session can neither use nor revoke it", async () => {
    const created = await createInvite(env, { sessionId: "s1", createdBy: "user-f", role: "participant" }, { now: NOW });
    expect((await refusal(verifyInviteForJoin(env, created.token, "s2", { now: NOW }))).code).toBe("WRONG_SESSION");
    expect((await refusal(revokeInvite(DB, "s2", created.inviteId, { now: NOW }))).code).toBe("WRONG_SESSION");
    expect((await getInvite(DB, created.inviteId))?.revoked_at).toBeNull();
    expect((await verifyInviteForJoin(env, created.token, "s1", { now: NOW })).claims.sessionId).toBe("s1");
  });

  it("a row from another session under the same id is refused (WRONG_SESSION)", async () => {
    // Only reachable if rows and tokens disagree; the stored session is authoritative.
    const { token, inviteId } = await issueInvite(env, { sessionId: "s1", role: "participant" }, { now: NOW });
    await DB.prepare(
      "INSERT INTO invites (id, session_id, created_by, role, expires_at, revoked_at, created_at) VALUES (?, 's9', 'u', 'participant', ?, NULL, ?)",
    )
      .bind(inviteId, NOW + 3_600_000, NOW)
      .run();
    expect((await refusal(verifyInviteForJoin(env, token, "s1", { now: NOW }))).code).toBe("WRONG_SESSION");
  });

  it("a validly signed invite without a row is refused (fail closed)", async () => {
    const { token } = await issueInvite(env, { sessionId: "s1", role: "participant" }, { now: NOW });
    const e = await refusal(verifyInviteForJoin(env, token, "s1", { now: NOW }));
    expect([e.code, e.reason]).toEqual(["CREDENTIAL_REVOKED", "unknown-invite"]);
  });

  it("expiry: by the token, and by the row when it was shortened", async () => {
    const created = await createInvite(env, { sessionId: "s1", createdBy: "user-f", role: "participant" }, { now: NOW, ttlSeconds: 600 });
    expect((await refusal(verifyInviteForJoin(env, created.token, "s1", { now: NOW + 601_000 }))).code).toBe("CREDENTIAL_EXPIRED");
    await DB.prepare("UPDATE invites SET expires_at = ? WHERE id = ?")
      .bind(NOW + 60_000, created.inviteId)
      .run();
    expect((await verifyInviteForJoin(env, created.token, "s1", { now: NOW + 59_000 })).row.expires_at).toBe(NOW + 60_000);
    expect((await refusal(verifyInviteForJoin(env, created.token, "s1", { now: NOW + 61_000 }))).code).toBe("CREDENTIAL_EXPIRED");
  });

  it("a row whose role disagrees with the token is refused", async () => {
    const created = await createInvite(env, { sessionId: "s1", createdBy: "user-f", role: "participant" }, { now: NOW });
    await DB.prepare("UPDATE invites SET role = 'cofacilitator' WHERE id = ?").bind(created.inviteId).run();
    const claims = { sessionId: "s1", inviteId: created.inviteId, role: "participant" as const, issuedAt: NOW, expiresAt: created.expiresAt };
    expect((await refusal(assertInviteUsable(DB, claims, { now: NOW }))).reason).toBe("role-mismatch");
  });

  it("revoking an unknown invite is NOT_FOUND; listInvites lists a session's invites only", async () => {
    expect((await refusal(revokeInvite(DB, "s3", "nope", { now: NOW }))).code).toBe("NOT_FOUND");
    const a = await createInvite(env, { sessionId: "s3", createdBy: "u", role: "participant" }, { now: NOW });
    const b = await createInvite(env, { sessionId: "s3", createdBy: "u", role: "cofacilitator" }, { now: NOW + 1 });
    await createInvite(env, { sessionId: "s4", createdBy: "u", role: "participant" }, { now: NOW });
    expect((await listInvites(DB, "s3")).map((r) => r.id)).toEqual([b.inviteId, a.inviteId]);
  });

  it("the same invite id cannot be created twice", async () => {
    await createInvite(env, { sessionId: "s5", createdBy: "u", role: "participant", inviteId: "fixed-id" }, { now: NOW });
    await expect(createInvite(env, { sessionId: "s5", createdBy: "u", role: "participant", inviteId: "fixed-id" }, { now: NOW })).rejects.toThrow(
      /UNIQUE|constraint/i,
    );
  });
});
