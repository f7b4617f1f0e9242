import type { TestProject } from "vitest/node";
import { startLocalTwilio } from "./twilio-server.ts";

/** Starts the local Twilio-compatible REST server for the workers project; its port reaches the bindings. */
export default async function setup(project: TestProject) {
  const server = await startLocalTwilio({ port: 0 });
  project.provide("twilioPort", server.port);
  return async () => server.close();
}
