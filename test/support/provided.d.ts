declare module "vitest" {
  interface ProvidedContext {
    twilioPort: number;
    /** The workers-ops project's Sentry envelope + Slack webhook receivers (test/support/ops-receivers.ts). */
    opsPort: number;
  }
}
export {};
