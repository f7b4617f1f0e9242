/** Which media provider a deployment can offer, from its configuration. */
import type { MediaProvider } from "../protocol";
import type { Bindings } from "../runtime/env";

/** Twilio credentials are configured: production media is available. */
export function twilioConfigured(env: Bindings): boolean {
  return Boolean(env.TWILIO_ACCOUNT_SID && env.TWILIO_API_KEY_SID && env.TWILIO_API_KEY_SECRET && env.TWILIO_AUTH_TOKEN);
}

export function defaultMediaProvider(env: Bindings): MediaProvider {
  return twilioConfigured(env) ? "twilio" : "local";
}
