/**
 * The Sentry scrubber over events the SDK itself builds: a real CloudflareClient (the Worker's and the session DO's
 * client) with its default integrations, a request recorded the way `wrapRequestHandler` records it, breadcrumbs from
 * the console integration and `addBreadcrumb`, and a transport that keeps the envelopes it would send. Browser-shaped
 * breadcrumbs (ui.click selectors, navigation, fetch) are built with the SDK's types as @sentry/browser records them.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  addBreadcrumb,
  captureException,
  captureMessage,
  createStackParser,
  createTransport,
  getCurrentScope,
  getIntegrationsToSetup,
  getIsolationScope,
  nodeStackLineParser,
  parseEnvelope,
  setCurrentClient,
  winterCGRequestToRequestData,
  withIsolationScope,
  type Breadcrumb,
  type Envelope,
  type ErrorEvent,
  type Event,
} from "@sentry/core";
import { CloudflareClient, getDefaultIntegrations, httpServerIntegration } from "@sentry/cloudflare";
import { FILTERED, redactText, scrubBreadcrumb, scrubEvent, scrubUrl, sentryPrivacyOptions } from "../../lib/runtime/sentry-scrub";
import { formatLogLine } from "../../lib/runtime/log";

// Realistic secrets and personal data, as the product makes them.
const TICKET =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzaWQiOiI2MmVjMDFhYiIsInJvbGUiOiJwYXJ0aWNpcGFudCIsIm5hbWUiOiJKYW5lIERvZSIsInR5cCI6InRpY2tldCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
const TWILIO_TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0.eyJncmFudHMiOnsiaWRlbnRpdHkiOiJtMyJ9fQ.dHdpbGlvLXNpZ25hdHVyZQ";
const INVITE = "eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJpbnZpdGUiLCJzaWQiOiI2MmVjIn0.aW52aXRlLXNpZw";
const GUEST = "guest:3f9c2a71b0d44e";
const NAME = "Jane Doe";
const CHAT = "I have been feeling low since my divorce";
const HELP = "Can someone help, my partner is shouting";

/** Everything that must never appear in what leaves. */
const FORBIDDEN = [
  TICKET,
  TWILIO_TOKEN,
  INVITE,
  GUEST,
  "3f9c2a71b0d44e",
  NAME,
  "Jane",
  CHAT,
  "divorce",
  HELP,
  "shouting",
  "user:u1-therapist",
  "s3cret-cookie",
  "jane@example.org",
];

function expectClean(sent: unknown) {
  const text = JSON.stringify(sent);
  for (const bad of FORBIDDEN) expect(text, `leaked ${bad}`).not.toContain(bad);
}

let sent: Envelope[] = [];
let client: CloudflareClient | null = null;

/** A real SDK client whose transport keeps each envelope as it would be posted (serialized, then parsed back). */
function startClient() {
  sent = [];
  const options = {
    dsn: "https://public@sentry.invalid/1",
    release: "mindbloom-video@test",
    environment: "test",
    ...sentryPrivacyOptions,
    // As the SDK's init() resolves them: the defaults, with ours replacing the one of the same name.
    integrations: getIntegrationsToSetup({
      defaultIntegrations: getDefaultIntegrations({}),
      integrations: [httpServerIntegration({ maxRequestBodySize: "none" })],
    }),
    stackParser: createStackParser(nodeStackLineParser()),
    transport: (o: Parameters<typeof createTransport>[0]) =>
      createTransport(o, async (request) => {
        sent.push(parseEnvelope(typeof request.body === "string" ? request.body : new Uint8Array(request.body)));
        return { statusCode: 200 };
      }),
  };
  client = new CloudflareClient(options as ConstructorParameters<typeof CloudflareClient>[0]);
  setCurrentClient(client);
  client.init();
  return client;
}

afterEach(async () => {
  await client?.close(100);
  client = null;
  getCurrentScope().clear();
  getIsolationScope().clear();
});

/** The events inside the envelopes sent so far. */
function sentEvents(): Event[] {
  return sent.flatMap((env) => env[1].filter(([h]) => h.type === "event" || h.type === "transaction").map(([, payload]) => payload as Event));
}

describe("Sentry scrubber over SDK-built Worker events", () => {
  it("a route error: URL query values, Authorization, Cookie, body, identities and tokens in the message never leave", async () => {
    const c = startClient();
    await withIsolationScope(async (scope) => {
      const request = new Request(`https://mindbloom.example/api/sessions/62ec01ab/ws?ticket=${TICKET}&lastSeq=12`, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${TICKET}`,
          Cookie: "sb-access=s3cret-cookie",
          "User-Agent": "Mozilla/5.0",
          "X-Request-Id": "req-1",
          "CF-Connecting-IP": "203.0.113.9",
          "content-type": "application/json",
        },
      });
      // What wrapRequestHandler records (scope-utils addRequest), plus a body as captureIncomingRequestBody would add it.
      scope.setSDKProcessingMetadata({ normalizedRequest: { ...winterCGRequestToRequestData(request), data: JSON.stringify({ name: NAME, invite: INVITE }) } });
      scope.setContext("log", { msg: "unhandled error", member: { name: NAME, identity: "user:u1-therapist" }, media: { token: TWILIO_TOKEN } });
      scope.setTag("guestCredential", GUEST);
      scope.setExtra("command", { type: "broadcast", text: CHAT });
      scope.setUser({ id: "user:u1-therapist", email: "jane@example.org", ip_address: "203.0.113.9" });
      // Our JSON log line goes through console (the console integration makes it a breadcrumb).
      console.log(formatLogLine("warn", "join refused", { identity: GUEST, name: NAME, requestId: "req-1" }));
      console.log(`raw text ${CHAT}`);
      addBreadcrumb({
        category: "fetch",
        type: "http",
        data: { method: "POST", url: `https://api.twilio.example/v1/Rooms?token=${TWILIO_TOKEN}`, status_code: 500 },
      });
      captureException(new Error(`join failed for ${GUEST} (user:u1-therapist) with ticket ${TICKET}`));
    });
    await c.flush(1000);
    const [event] = sentEvents() as ErrorEvent[];
    expect(event).toBeDefined();
    expectClean(sent);
    // What debugging needs is still there.
    expect(event.release).toBe("mindbloom-video@test");
    expect(event.environment).toBe("test");
    expect(event.request?.url).toBe(`https://mindbloom.example/api/sessions/62ec01ab/ws?ticket=${FILTERED}&lastSeq=${FILTERED}`);
    expect(event.request?.method).toBe("POST");
    expect(Object.keys(event.request?.headers ?? {}).map((h) => h.toLowerCase())).toEqual(expect.arrayContaining(["user-agent", "x-request-id"]));
    expect(JSON.stringify(event.request?.headers).toLowerCase()).not.toMatch(/authorization|cookie|cf-connecting-ip/);
    expect(event.request?.data).toBeUndefined();
    expect(event.user).toBeUndefined();
    expect(event.exception?.values?.[0]).toMatchObject({
      type: "Error",
      value: `join failed for guest:${FILTERED} (user:${FILTERED}) with ticket ${FILTERED}`,
    });
    expect(event.exception?.values?.[0].stacktrace?.frames?.length).toBeGreaterThan(0);
    expect(event.tags?.guestCredential).toBe(FILTERED);
    expect(event.extra?.command).toEqual({ type: "broadcast", text: FILTERED });
    const crumbs = event.breadcrumbs ?? [];
    const logCrumb = crumbs.find((b) => b.category === "console" && b.message?.includes("join refused"));
    expect(JSON.parse(logCrumb!.message!)).toMatchObject({ level: "warn", msg: "join refused", identity: FILTERED, name: FILTERED, requestId: "req-1" });
    expect(crumbs.find((b) => b.category === "console" && b.message?.startsWith("[console message filtered"))).toBeDefined();
    expect(crumbs.every((b) => b.data?.arguments === undefined)).toBe(true);
    expect(crumbs.find((b) => b.category === "fetch")?.data?.url).toBe(`https://api.twilio.example/v1/Rooms?token=${FILTERED}`);
  });

  it("a captured message and a transaction with spans are scrubbed too (beforeSendTransaction, span attributes)", async () => {
    const c = startClient();
    captureMessage(`configuration problem for ${GUEST}: Bearer ${TICKET}`, "error");
    const transaction: Event = {
      type: "transaction",
      transaction: `GET /join/62ec01ab?invite=${INVITE}`,
      spans: [
        {
          span_id: "a1",
          trace_id: "b2",
          start_timestamp: 1,
          description: `GET https://mindbloom.example/api/sessions/62ec01ab/ws?ticket=${TICKET}`,
          data: {
            "url.full": `https://mindbloom.example/?ticket=${TICKET}`,
            "http.query": `ticket=${TICKET}`,
            "http.request.header.authorization": `Bearer ${TICKET}`,
            "http.request.header.user_agent": "UA",
          },
        },
      ],
    };
    const scrubbed = sentryPrivacyOptions.beforeSendTransaction(transaction);
    await c.flush(1000);
    expectClean(sent);
    expectClean(scrubbed);
    expect(sentEvents()[0].message).toBe(`configuration problem for guest:${FILTERED}: Bearer ${FILTERED}`);
    expect(scrubbed.transaction).toBe(`GET /join/62ec01ab?invite=${FILTERED}`);
    expect(scrubbed.spans?.[0].data).toEqual({
      "url.full": `https://mindbloom.example/?ticket=${FILTERED}`,
      "http.query": FILTERED,
      "http.request.header.user_agent": "UA",
    });
  });
});

describe("Sentry scrubber over browser-shaped data", () => {
  it("keeps the trail of what happened without what anyone typed or is called", () => {
    const crumbs: Breadcrumb[] = [
      { category: "ui.click", message: `div.console > button.move[aria-label="Move ${NAME} to Room 2"]` },
      { category: "ui.input", message: `textarea#chat[placeholder='Say something, ${NAME}']` },
      { category: "navigation", data: { from: `/join/62ec01ab?invite=${INVITE}`, to: "/session/62ec01ab#room" } },
      {
        category: "xhr",
        type: "http",
        data: { method: "POST", url: `/api/sessions/62ec01ab/media-token?ticket=${TICKET}`, status_code: 401, request_body: CHAT },
      },
      { category: "console", level: "error", message: `chat failed: ${CHAT}`, data: { arguments: [CHAT], logger: "console" } },
      { category: "sentry.event", message: `help request by ${GUEST}: ${HELP.length}` },
    ];
    const out = crumbs.map(scrubBreadcrumb);
    expectClean(out);
    expect(out[0].message).toBe(`div.console > button.move[aria-label="${FILTERED}"]`);
    expect(out[2].data).toEqual({ from: `/join/62ec01ab?invite=${FILTERED}`, to: "/session/62ec01ab" });
    expect(out[3].data).toEqual({ method: "POST", url: `/api/sessions/62ec01ab/media-token?ticket=${FILTERED}`, status_code: 401 });
    expect(out[4]).toMatchObject({ category: "console", level: "error", data: { logger: "console" } });
  });

  it("an error event from the page: request, referer, user and contexts", () => {
    const event: ErrorEvent = {
      type: undefined,
      request: {
        url: `https://mindbloom.example/join/62ec01ab?invite=${INVITE}`,
        headers: { "User-Agent": "UA", Referer: `https://mindbloom.example/join/62ec01ab?invite=${INVITE}` },
      },
      user: { ip_address: "{{auto}}" },
      exception: {
        values: [
          {
            type: "TwilioError",
            value: `Access Token expired (20104) ${TWILIO_TOKEN}`,
            stacktrace: { frames: [{ filename: `https://mindbloom.example/assets/index.js?v=${INVITE}`, function: "connect", vars: { name: NAME } }] },
          },
        ],
      },
      contexts: { session: { you: { memberId: "m3", name: NAME }, helpMessage: HELP, members: [{ displayName: NAME }] } },
    };
    const out = scrubEvent(event);
    expectClean(out);
    expect(out.user).toBeUndefined();
    expect(out.request?.headers).toEqual({ "User-Agent": "UA", Referer: `https://mindbloom.example/join/62ec01ab?invite=${FILTERED}` });
    expect(out.exception?.values?.[0].value).toBe(`Access Token expired (20104) ${FILTERED}`);
    expect(out.exception?.values?.[0].stacktrace?.frames?.[0]).toMatchObject({ function: "connect", vars: { name: FILTERED } });
  });

  it("text and URL rules", () => {
    expect(redactText(`Authorization: Basic dXNlcjpwYXNz and mail jane@example.org`)).toBe(`Authorization: Basic ${FILTERED} and mail ${FILTERED}`);
    expect(scrubUrl("/api/monitoring/timeseries?minutes=60#x")).toBe(`/api/monitoring/timeseries?minutes=${FILTERED}`);
    expect(scrubUrl("/api/sessions/62ec01ab/report")).toBe("/api/sessions/62ec01ab/report");
    // A cycle is cut, not followed forever.
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    expect(scrubEvent({ extra: { loop } }).extra).toEqual({ loop: { a: 1, self: "[Circular]" } });
  });
});
