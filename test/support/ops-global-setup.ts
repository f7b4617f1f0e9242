import type { TestProject } from "vitest/node";
import { startOpsReceivers } from "./ops-receivers.ts";
import { startLocalTwilio } from "./twilio-server.ts";

/** The workers-ops project: its own local Twilio server, and the Sentry envelope and Slack webhook receivers. */
export default async function setup(project: TestProject) {
  const twilio = await startLocalTwilio({ port: 0 });
  const receivers = await startOpsReceivers(0);
  project.provide("twilioPort", twilio.port);
  project.provide("opsPort", receivers.port);
  return async () => {
    await receivers.close();
    await twilio.close();
  };
}
