/**
 * Media grants: what a member needs to join the media room where they belong now, and the grants the session holds.
 * One authority interface, two providers: Twilio (a jose-signed access token for exactly that room) and local
 * (peer-to-peer WebRTC signalled through the session socket; no token). Grants are minted for a step without changing
 * what is held (`mint`), and installed once the step is stored (`install`).
 */
import { mediaRoomName, type MediaGrant, type MediaProvider, type Role } from "../lib/protocol";
import { workerEventStatement } from "../lib/runtime/analytics";
import type { Bindings } from "../lib/runtime/env";
import { twilioConfigured } from "../lib/twilio/config";
import { TwilioTokenSigner } from "../lib/twilio/token";
import type { SessionContext } from "./logic/model";
import type { Statement } from "./logic/records";

export interface MediaAuthority {
  readonly provider: MediaProvider;
  /** Token lifetime (ms), null when grants never expire. */
  readonly ttlMs: number | null;
  /** A grant for `identity` to join media room `room` (a Twilio UniqueName). */
  grant(identity: string, room: string, now: number): Promise<MediaGrant>;
}

export const localMedia: MediaAuthority = {
  provider: "local",
  ttlMs: null,
  async grant(identity, room) {
    return { provider: "local", room, identity, token: null, expiresAt: null };
  },
};

// One signer per isolate and credential set: the HMAC key is imported once, not per token.
const signers = new Map<string, TwilioTokenSigner>();

/**
 * Media tokens are short-lived (default 10 min, 2 min to 1 h): a token is what lets someone into a media room, and
 * one that outlives a move or a removal must not be usable for long. The session pushes a fresh one over the socket
 * ahead of expiry (Twilio's SDK reconnects with the token it holds, so it must always hold a valid one).
 */
export const DEFAULT_MEDIA_TOKEN_TTL_SECONDS = 600;

export function mediaTokenTtlSeconds(env: Pick<Bindings, "MEDIA_TOKEN_TTL_SECONDS">): number {
  const n = Number(env.MEDIA_TOKEN_TTL_SECONDS ?? DEFAULT_MEDIA_TOKEN_TTL_SECONDS) || DEFAULT_MEDIA_TOKEN_TTL_SECONDS;
  return Math.max(120, Math.min(Math.round(n), 3600));
}

export function twilioMedia(env: Bindings): MediaAuthority {
  const ttl = mediaTokenTtlSeconds(env);
  const cacheKey = `${env.TWILIO_ACCOUNT_SID}:${env.TWILIO_API_KEY_SID}:${ttl}`;
  let signer = signers.get(cacheKey);
  if (!signer) {
    signer = new TwilioTokenSigner({
      accountSid: env.TWILIO_ACCOUNT_SID ?? "",
      apiKeySid: env.TWILIO_API_KEY_SID ?? "",
      apiKeySecret: env.TWILIO_API_KEY_SECRET ?? "",
      ttlSeconds: ttl,
    });
    signers.set(cacheKey, signer);
  }
  const s = signer;
  return {
    provider: "twilio",
    ttlMs: ttl * 1000,
    async grant(identity, room, now) {
      const t = await s.sign({ identity, room, now });
      return { provider: "twilio", room, identity, token: t.token, expiresAt: t.expiresAt };
    },
  };
}

export function mediaAuthority(env: Bindings, provider: MediaProvider): MediaAuthority {
  if (provider === "twilio") {
    if (!twilioConfigured(env)) throw new Error("Twilio media requested but TWILIO_* credentials are not configured");
    return twilioMedia(env);
  }
  return localMedia;
}

/** A token is refreshed this long before it expires (at most; half its lifetime for short ones). */
export const TOKEN_REFRESH_LEAD_MS = 5 * 60 * 1000;
/** Refreshes due within this long of each other go out together (one wake of the session, not one per member). */
const REFRESH_COALESCE_MS = 60_000;

export function refreshLeadMs(ttlMs: number | null): number {
  return ttlMs === null ? TOKEN_REFRESH_LEAD_MS : Math.min(TOKEN_REFRESH_LEAD_MS, Math.floor(ttlMs / 2));
}

/** A token minted for a step: its D1 row rides the step's transaction; its analytics point is written after. */
export interface TokenIssued {
  memberId: string;
  role: Role;
  provider: MediaProvider;
  location: string;
  ttlSeconds: number | null;
}

export interface MintedGrants {
  /** memberId → the grant for their new place (null: they are nowhere and hold none). */
  grants: Map<string, MediaGrant | null>;
  statements: Statement[];
  issued: TokenIssued[];
}

export const noGrants = (): MintedGrants => ({ grants: new Map(), statements: [], issued: [] });

export class Grants {
  private held = new Map<string, MediaGrant>();
  /** HTTP media-token requests per member in the current clock-aligned window. */
  private readonly requests = new Map<string, { window: number; count: number }>();

  constructor(
    private readonly authority: MediaAuthority,
    private readonly requestLimit: { perWindow: number; windowMs: number },
  ) {}

  load(held: Map<string, MediaGrant>) {
    this.held = held;
  }

  get(memberId: string): MediaGrant | undefined {
    return this.held.get(memberId);
  }

  entries(): IterableIterator<[string, MediaGrant]> {
    return this.held.entries();
  }

  /** Grants for members at places (null location: none). Signed together: one await for all tokens of an opening. */
  async mint(ctx: SessionContext, needs: readonly { memberId: string; location: string | null }[], now: number): Promise<MintedGrants> {
    const out = noGrants();
    const signed = await Promise.all(
      needs.map((n) => (n.location === null ? null : this.authority.grant(n.memberId, mediaRoomName(ctx.sessionId, n.location), now))),
    );
    needs.forEach((n, i) => {
      const grant = signed[i];
      out.grants.set(n.memberId, grant);
      if (!grant?.token || n.location === null) return;
      const m = ctx.members[n.memberId];
      const issued: TokenIssued = {
        memberId: n.memberId,
        role: m.role,
        provider: grant.provider,
        location: n.location,
        ttlSeconds: grant.expiresAt ? Math.round((grant.expiresAt - now) / 1000) : null,
      };
      out.issued.push(issued);
      // Every access token minted is an analytics event; its D1 row rides the outbox like everything else.
      out.statements.push(
        workerEventStatement("token_issued", { sessionId: ctx.sessionId, ...issued }, `${ctx.sessionId}:t:${n.memberId}:${now}:${n.location}`, now),
      );
    });
    return out;
  }

  install(minted: MintedGrants) {
    for (const [memberId, grant] of minted.grants) {
      if (grant === null) this.held.delete(memberId);
      else this.held.set(memberId, grant);
    }
  }

  private get leadMs(): number {
    return refreshLeadMs(this.authority.ttlMs);
  }

  /** The held grant for the member's place now, if it is valid for at least `minRemainingMs` more (default: the refresh lead). */
  heldFor(ctx: SessionContext, memberId: string, now: number, minRemainingMs = this.leadMs): MediaGrant | null {
    const m = ctx.members[memberId];
    const g = this.held.get(memberId);
    if (!m || m.location === null || !g || g.room !== mediaRoomName(ctx.sessionId, m.location)) return null;
    return g.expiresAt === null || g.expiresAt - now > minRemainingMs ? g : null;
  }

  /** What the token endpoint may hand out again without signing: a held grant with more than half its life left. */
  reusable(ctx: SessionContext, memberId: string, now: number): MediaGrant | null {
    return this.heldFor(ctx, memberId, now, this.authority.ttlMs === null ? 0 : Math.ceil(this.authority.ttlMs / 2));
  }

  /** Counts one HTTP media-token request; false once the member is over the limit in this window. */
  countRequest(memberId: string, wallNow: number): boolean {
    const window = Math.floor(wallNow / this.requestLimit.windowMs);
    const seen = this.requests.get(memberId);
    const count = seen?.window === window ? seen.count + 1 : 1;
    this.requests.set(memberId, { window, count });
    return count <= this.requestLimit.perWindow;
  }

  /** Connected members whose held token is due for a refresh now, or within the coalescing window after it. */
  dueForRefresh(ctx: SessionContext, now: number): string[] {
    const out: string[] = [];
    for (const [memberId, g] of this.held) {
      if (g.expiresAt !== null && g.expiresAt - this.leadMs <= now + REFRESH_COALESCE_MS && ctx.members[memberId]?.connected) out.push(memberId);
    }
    return out;
  }

  /** When the next refresh is due (presence is in the context: connection events keep it true to the sockets). */
  nextRefreshAt(ctx: SessionContext): number | null {
    let t: number | null = null;
    for (const [memberId, g] of this.held) {
      if (g.expiresAt === null || !ctx.members[memberId]?.connected) continue;
      const due = g.expiresAt - this.leadMs;
      if (t === null || due < t) t = due;
    }
    return t;
  }
}
