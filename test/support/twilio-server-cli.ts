/**
 * Run the local Twilio-compatible server by hand:
 *   npx node --experimental-strip-types test/support/twilio-server-cli.ts [--port 3999] [--host 127.0.0.1] [--queue]
 * Credentials come from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN / TWILIO_API_KEY_SID / TWILIO_API_KEY_SECRET when set,
 * else the fixed local defaults (printed). Status callbacks are POSTed to each room's StatusCallback unless --queue.
 */
import { parseArgs } from "node:util";
import type * as LocalTwilioModule from "./twilio-server.ts";

// Node's type stripping needs the ".ts" path; a runtime specifier keeps tsc happy without allowImportingTsExtensions.
const serverModulePath = "./twilio-server.ts";
const { startLocalTwilio } = (await import(serverModulePath)) as typeof LocalTwilioModule;

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "3999" },
    host: { type: "string", default: "127.0.0.1" },
    queue: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  console.log("usage: twilio-server-cli.ts [--port 3999] [--host 127.0.0.1] [--queue]");
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${values.port}`);
  process.exit(2);
}

const server = await startLocalTwilio({
  port,
  host: values.host,
  accountSid: process.env.TWILIO_ACCOUNT_SID || undefined,
  authToken: process.env.TWILIO_AUTH_TOKEN || undefined,
  apiKeySid: process.env.TWILIO_API_KEY_SID || undefined,
  apiKeySecret: process.env.TWILIO_API_KEY_SECRET || undefined,
  deliverCallbacks: !values.queue,
});

console.log(`local Twilio Video API on ${server.url}`);
console.log(`  TWILIO_API_BASE=${server.url}`);
console.log(`  TWILIO_ACCOUNT_SID=${server.credentials.accountSid}`);
console.log(`  TWILIO_AUTH_TOKEN=${server.credentials.authToken}`);
console.log(`  TWILIO_API_KEY_SID=${server.credentials.apiKeySid}`);
console.log(`  TWILIO_API_KEY_SECRET=${server.credentials.apiKeySecret}`);
console.log(`  controls: GET ${server.url}/__local/state, POST ${server.url}/__local/rooms/<room>/participants {"identity":"...","tracks":["audio","video"]}`);
console.log(`  who receives whom (subscribe rules): GET ${server.url}/__local/rooms/<room>/subscriptions`);

const shutdown = async () => {
  await server.close();
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
