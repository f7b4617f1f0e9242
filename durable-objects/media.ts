/**
 * Media grants: what a member needs to join the media room where they belong now. One interface, two providers:
 * Twilio (production; a jose-signed access token for exactly that room) and local (peer-to-peer WebRTC signalled
 * through the session socket; no token, no cloud).
 */
import type { MediaGrant, MediaProvider } from "../lib/protocol";
import type { Bindings } from "../lib/runtime/env";
import { twilioConfigured } from "../lib/twilio/config";
import { TwilioTokenSigner } from "../lib/twilio/token";

export interface MediaAuthority {
  readonly provider: MediaProvider;
  /** A grant for `identity` to join media room `room` (a Twilio UniqueName). */
  grant(identity: string, room: string, now: number): Promise<MediaGrant>;
}

export const localMedia: MediaAuthority = {
  provider: "local",
  async grant(identity, room) {
    return { provider: "local", room, identity, token: null, expiresAt: null };
  },
};

// One signer per isolate and credential set: the HMAC key is imported once, not per token.
const signers = new Map<string, TwilioTokenSigner>();

export function twilioMedia(env: Bindings): MediaAuthority {
  // 10 min .. 1 h: the refresh goes out 5 min before expiry, so shorter tokens would refresh continuously.
  const ttl = Math.max(600, Math.min(Number(env.MEDIA_TOKEN_TTL_SECONDS ?? 3600) || 3600, 3600));
  const cacheKey = `${env.TWILIO_ACCOUNT_SID}:${env.TWILIO_API_KEY_SID}:${ttl}`;
  let signer = signers.get(cacheKey);
  if (!signer) {
    signer = new TwilioTokenSigner({
      accountSid: env.TWILIO_ACCOUNT_SID!,
      apiKeySid: env.TWILIO_API_KEY_SID!,
      apiKeySecret: env.TWILIO_API_KEY_SECRET!,
      ttlSeconds: ttl,
    });
    signers.set(cacheKey, signer);
  }
  const s = signer;
  return {
    provider: "twilio",
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

/** Refresh a token this long before it expires (the SDK only uses a new token at its next connect). */
export const TOKEN_REFRESH_LEAD_MS = 5 * 60 * 1000;
