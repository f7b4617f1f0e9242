/**
 * Media grants without workerd: minting signs every token a step needs without changing what is held (installed only
 * after the step is stored), a held grant is reused only for the member's current room and while fresh, refreshes
 * come due ahead of expiry for connected members, and the token endpoint's per-member count is exact per window.
 */
import { jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { Grants, localMedia, TOKEN_REFRESH_LEAD_MS, twilioMedia } from "../../durable-objects/grants";
import { mediaRoomName } from "../../lib/protocol";
import { createSession } from "./helpers/session-fixture";

const CREDS = {
  TWILIO_ACCOUNT_SID: "AC" + "a".repeat(32),
  TWILIO_API_KEY_SID: "SK" + "b".repeat(32),
  TWILIO_API_KEY_SECRET: "secret-0123456789",
  TWILIO_AUTH_TOKEN: "t",
};

function twilioGrants() {
  return new Grants(twilioMedia({ ...CREDS, MEDIA_TOKEN_TTL_SECONDS: "600" } as never), { perWindow: 3, windowMs: 60_000 });
}

describe("Grants", () => {
  it("mints a token for exactly each member's new room, and holds nothing until installed", async () => {
    const s = createSession({ participants: 3 });
    const grants = twilioGrants();
    const [a, b] = s.participants;
    const minted = await grants.mint(
      s.ctx,
      [
        { memberId: a, location: "main" },
        { memberId: b, location: null },
      ],
      s.now,
    );
    expect(grants.get(a)).toBeUndefined();
    const g = minted.grants.get(a)!;
    expect(minted.grants.get(b)).toBeNull();
    // Signed with the API key secret (HS256), granting that one room to that identity.
    const { payload: claims } = (await jwtVerify(g.token!, new TextEncoder().encode(CREDS.TWILIO_API_KEY_SECRET), { currentDate: new Date(s.now) })) as {
      payload: Record<string, any>;
    };
    expect(claims.grants).toEqual({ identity: a, video: { room: mediaRoomName(s.ctx.sessionId, "main") } });
    expect(claims.exp - claims.iat).toBe(600);
    expect(minted.issued).toEqual([{ memberId: a, role: "participant", provider: "twilio", location: "main", ttlSeconds: 600 }]);
    expect(minted.statements).toHaveLength(1);
    grants.install(minted);
    expect(grants.get(a)).toEqual(g);
  });

  it("reuses a held grant only for the member's current room and while it is fresh", async () => {
    const s = createSession({ participants: 2 });
    const grants = twilioGrants();
    const [a] = s.participants;
    grants.install(await grants.mint(s.ctx, [{ memberId: a, location: "main" }], s.now));
    const g = grants.get(a)!;
    expect(grants.heldFor(s.ctx, a, s.now)).toEqual(g);
    expect(grants.heldFor(s.ctx, a, g.expiresAt! - TOKEN_REFRESH_LEAD_MS + 1)).toBeNull();
    // The token endpoint hands a held one out again only while more than half its life is left.
    expect(grants.reusable(s.ctx, a, s.now)).toEqual(g);
    expect(grants.reusable(s.ctx, a, g.expiresAt! - 300_000)).toBeNull();
    s.ok("createBreakouts", { count: 1 });
    s.ok("openBreakouts");
    expect(s.ctx.members[a].location).not.toBe("main");
    expect(grants.heldFor(s.ctx, a, s.now)).toBeNull();
  });

  it("refreshes come due ahead of expiry (half a 10-minute life), only for connected members, and go out together", async () => {
    const s = createSession({ participants: 3 });
    const grants = twilioGrants();
    const [a, b, c] = s.participants;
    grants.install(
      await grants.mint(
        s.ctx,
        [
          { memberId: a, location: "main" },
          { memberId: b, location: "main" },
        ],
        s.now,
      ),
    );
    grants.install(await grants.mint(s.ctx, [{ memberId: c, location: "main" }], s.now + 30_000));
    s.send({ type: "connection", memberId: a, connected: true });
    s.send({ type: "connection", memberId: c, connected: true });
    const due = grants.get(a)!.expiresAt! - TOKEN_REFRESH_LEAD_MS;
    expect(due - s.now).toBeLessThanOrEqual(300_000);
    expect(grants.nextRefreshAt(s.ctx)).toBe(due);
    expect(grants.dueForRefresh(s.ctx, due - 61_000)).toEqual([]);
    // c's comes due 30 s later: refreshed in the same wake. b is not connected.
    expect(grants.dueForRefresh(s.ctx, due)).toEqual([a, c]);
  });

  it("counts token requests per member in clock-aligned windows", () => {
    const grants = twilioGrants();
    const t = 120_000;
    expect([1, 2, 3, 4].map(() => grants.countRequest("m2", t + 10))).toEqual([true, true, true, false]);
    expect(grants.countRequest("m3", t + 10)).toBe(true);
    expect(grants.countRequest("m2", t + 60_000)).toBe(true);
  });

  it("local media: grants carry no token and never expire", async () => {
    const s = createSession({ participants: 1 });
    const grants = new Grants(localMedia, { perWindow: 60, windowMs: 60_000 });
    const minted = await grants.mint(s.ctx, [{ memberId: s.participants[0], location: "main" }], s.now);
    expect(minted.grants.get(s.participants[0])).toMatchObject({ provider: "local", token: null, expiresAt: null });
    expect(minted.statements).toEqual([]);
  });
});
