/**
 * Our Twilio REST client and the local Twilio-compatible server, checked against Twilio's own OpenAPI description of
 * Video v1 (test/fixtures/twilio_video_v1.json, vendored unmodified):
 * - every request the client sends: method and path template of the operation we mean, every query parameter and
 *   form field declared for it with the right type / enum, the required ones present;
 * - every answer the local server gives: valid against the spec's schema for that operation and status; errors (the
 *   spec declares none) in Twilio's error shape `{ code, message, more_info, status }`;
 * - the other way round, what the spec allows in an answer our parsers accept: its examples, every nullable field
 *   null, every enum value.
 * Schemas are checked with ajv (+ ajv-formats for date-time and uri); OpenAPI 3.0.1's `nullable` is ajv's own keyword.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FetchLike, TwilioApiError, TwilioVideoClient } from "../../lib/twilio/rest";
import { type LocalTwilio, startLocalTwilio } from "../support/twilio-server";

/** The spec is untyped JSON. */
type Json = any;

const spec: Json = JSON.parse(readFileSync(path.join(import.meta.dirname, "../fixtures/twilio_video_v1.json"), "utf8"));

// ---------------------------------------------------------------------------------------------------------------
// The spec, prepared for ajv (an in-memory copy; the fixture stays as published)
// ---------------------------------------------------------------------------------------------------------------

/** Component refs point into one registered document. */
const rewriteRefs = (node: Json): Json => JSON.parse(JSON.stringify(node).replaceAll('"#/components/schemas/', '"twilio#/$defs/'));

/**
 * OpenAPI 3.0.1 (the spec's version) lets `nullable: true` admit null even where an `enum` lists the values (3.0.3
 * later required null in the enum); ajv reads it the 3.0.3 way, so null is added to such enums.
 */
function nullableEnums(node: Json): Json {
  if (Array.isArray(node)) return node.map(nullableEnums);
  if (node === null || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) out[k] = nullableEnums(v);
  if (out.nullable === true && Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  return out;
}

/**
 * Where the spec's schema contradicts the spec's own examples of what Twilio answers, the examples win (they are what
 * Twilio sends). Each erratum names the example that shows it; a test below fails once the schema no longer needs it.
 */
const ERRATA = [
  {
    what: "subscribe rule fields are null when unset (the schema types them as plain strings / boolean)",
    schema: "video.v1.room.room_participant.room_participant_subscribe_rule",
    example: { path: "/v1/Rooms/{RoomSid}/Participants/{ParticipantSid}/SubscribeRules", method: "get", status: "200", name: "readEmpty" },
    apply(schemas: Json) {
      for (const field of Object.values<Json>(schemas[this.schema].properties.rules.items.properties)) field.nullable = true;
    },
  },
];

function prepareSchemas(withErrata: boolean): Json {
  const schemas = structuredClone(spec.components.schemas);
  if (withErrata) for (const e of ERRATA) e.apply(schemas);
  return nullableEnums(rewriteRefs(schemas));
}

function makeAjv(withErrata = true): Ajv {
  // strictTypes off: the spec puts formats on objects ("uri-map", "subscribe-rule"); unknown keywords still fail.
  const ajv = new Ajv({ strict: true, strictTypes: false, allErrors: true });
  addFormats(ajv, ["date-time", "uri"]);
  // Twilio's own format names: on objects (ignored there by JSON Schema), or already pinned by an enum / the type.
  for (const f of ["uri-map", "subscribe-rule", "recording-rule", "http-method", "mp4", "webm"]) ajv.addFormat(f, true);
  ajv.addFormat("int64", { type: "number", validate: Number.isSafeInteger });
  ajv.addSchema({ $id: "twilio", $defs: prepareSchemas(withErrata) });
  return ajv;
}

const ajv = makeAjv();
const compiled = new Map<string, ValidateFunction>();
function validator(schema: Json): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (!v) compiled.set(key, (v = ajv.compile(nullableEnums(rewriteRefs(schema)))));
  return v;
}
const problemsOf = (v: ValidateFunction, data: unknown, where: string) =>
  v(data) ? [] : (v.errors ?? []).map((e) => `${where}${e.instancePath || ""} ${e.message} ${JSON.stringify(e.params)}`);

/** Follow a component $ref (one level is all the spec uses for parameters). */
const deref = (schema: Json): Json => (schema?.$ref ? spec.components.schemas[schema.$ref.replace("#/components/schemas/", "")] : schema);

/** Twilio's error body (twilio-node's RestException reads these; the spec declares no error responses). */
const TWILIO_ERROR = {
  type: "object",
  required: ["code", "message", "more_info", "status"],
  properties: { code: { type: "integer" }, message: { type: "string" }, more_info: { type: "string", format: "uri" }, status: { type: "integer" } },
};

interface Operation {
  method: "GET" | "POST" | "DELETE";
  template: string;
  operationId: string;
  op: Json;
  pattern: RegExp;
}

const OPERATIONS: Operation[] = Object.entries<Json>(spec.paths).flatMap(([template, item]) =>
  (["get", "post", "delete"] as const)
    .filter((m) => item[m])
    .map((m) => ({
      method: m.toUpperCase() as Operation["method"],
      template,
      operationId: item[m].operationId,
      op: item[m],
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
    })),
);

function operationFor(method: string, pathname: string): Operation[] {
  return OPERATIONS.filter((o) => o.method === method && o.pattern.test(pathname));
}

// ---------------------------------------------------------------------------------------------------------------
// Checking one request/answer pair
// ---------------------------------------------------------------------------------------------------------------

interface Exchange {
  method: string;
  url: URL;
  contentType: string | null;
  body: string;
  status: number;
  responseText: string;
}

/** A form or query value as the parameter's schema types it; a string problem when it cannot be read so. */
function coerce(raw: string[], schema: Json, name: string): { value: unknown } | { problem: string } {
  const s = deref(schema);
  const one = (v: string, t: Json): { value: unknown } | { problem: string } => {
    const type = deref(t).type;
    if (type === "integer") return /^-?\d+$/.test(v) ? { value: Number(v) } : { problem: `${name}=${v} is not an integer` };
    if (type === "boolean") return v === "true" || v === "false" ? { value: v === "true" } : { problem: `${name}=${v} is not a boolean` };
    if (type === "object") {
      // Twilio's convention for object-typed form fields: JSON text (Rules is "A JSON-encoded array").
      try {
        const parsed = JSON.parse(v);
        return parsed !== null && typeof parsed === "object" ? { value: parsed } : { problem: `${name} is JSON but not an object or array` };
      } catch {
        return { problem: `${name} is not JSON` };
      }
    }
    return { value: v };
  };
  if (s.type === "array") {
    const items = raw.map((v) => one(v, s.items));
    const bad = items.find((i) => "problem" in i);
    return bad ?? { value: items.map((i) => (i as { value: unknown }).value) };
  }
  if (raw.length > 1) return { problem: `${name} is repeated but not an array` };
  return one(raw[0], s);
}

/** Problems with a validated value: ajv on the (coerced) value; object-typed JSON fields are checked by the caller. */
function checkValue(raw: string[], schema: Json, name: string): string[] {
  const c = coerce(raw, schema, name);
  if ("problem" in c) return [c.problem];
  if (deref(schema).type === "object") return [];
  return problemsOf(validator(schema), c.value, name);
}

interface Checked {
  operation: Operation | null;
  /** What is wrong with the request, then with the answer; `problems` is both. */
  request: string[];
  response: string[];
  problems: string[];
}

function checkExchange(x: Exchange): Checked {
  const where = `${x.method} ${x.url.pathname}${x.url.search}`;
  const matches = operationFor(x.method, x.url.pathname);
  if (matches.length !== 1) {
    const problems = [`${where}: ${matches.length} operations in the spec match`];
    return { operation: null, request: problems, response: [], problems };
  }
  const [operation] = matches;
  const problems: string[] = [];
  const declared = (operation.op.parameters ?? []) as Json[];

  // Query parameters.
  const queryParams = declared.filter((p) => p.in === "query");
  for (const name of new Set(x.url.searchParams.keys())) {
    const param = queryParams.find((p) => p.name === name);
    if (!param) problems.push(`${where}: query parameter ${name} is not declared for ${operation.operationId}`);
    else problems.push(...checkValue(x.url.searchParams.getAll(name), param.schema, `${where}: query ${name}`));
  }
  for (const p of queryParams) if (p.required && !x.url.searchParams.has(p.name)) problems.push(`${where}: required query ${p.name} missing`);

  // Form body.
  const formSchema = operation.op.requestBody?.content?.["application/x-www-form-urlencoded"]?.schema;
  if (!formSchema) {
    if (x.body) problems.push(`${where}: ${operation.operationId} takes no body, got ${x.body}`);
  } else {
    if (!x.contentType?.startsWith("application/x-www-form-urlencoded")) problems.push(`${where}: content type ${x.contentType}, not form-encoded`);
    const form = new URLSearchParams(x.body);
    for (const name of new Set(form.keys())) {
      const field = formSchema.properties?.[name];
      if (!field) problems.push(`${where}: form field ${name} is not declared for ${operation.operationId}`);
      else problems.push(...checkValue(form.getAll(name), field, `${where}: form ${name}`));
    }
    for (const name of formSchema.required ?? []) if (!form.has(name)) problems.push(`${where}: required form field ${name} missing`);
  }

  // The answer.
  const request = problems.splice(0);
  const done = (): Checked => ({ operation, request, response: problems, problems: [...request, ...problems] });
  let json: unknown;
  try {
    json = JSON.parse(x.responseText);
  } catch {
    problems.push(`${where}: answer ${x.status} is not JSON`);
    return done();
  }
  const response = operation.op.responses?.[String(x.status)];
  if (response) {
    problems.push(...problemsOf(validator(response.content["application/json"].schema), json, `${where} → ${x.status}: `));
  } else if (x.status >= 400) {
    problems.push(...problemsOf(validator(TWILIO_ERROR), json, `${where} → ${x.status} (error): `));
    if ((json as { status?: unknown }).status !== x.status)
      problems.push(`${where}: error body status ${(json as { status?: unknown }).status} ≠ HTTP ${x.status}`);
  } else {
    problems.push(`${where}: ${operation.operationId} does not declare status ${x.status} (declares ${Object.keys(operation.op.responses ?? {}).join(", ")})`);
  }
  return done();
}

/** A fetch that passes everything to the real one and keeps each request with its answer. */
function recorder() {
  const log: Exchange[] = [];
  const recordingFetch: FetchLike = async (input, init) => {
    const res = await fetch(input, init);
    const headers = new Headers(init.headers);
    log.push({
      method: (init.method ?? "GET").toUpperCase(),
      url: new URL(input),
      contentType: headers.get("content-type"),
      body: typeof init.body === "string" ? init.body : "",
      status: res.status,
      responseText: await res.clone().text(),
    });
    return res;
  };
  return { log, fetch: recordingFetch };
}

// ---------------------------------------------------------------------------------------------------------------
// The operations the client uses
// ---------------------------------------------------------------------------------------------------------------

/** operationId → [method, path template], as the client means to call them. */
const CLIENT_OPERATIONS: Record<string, [string, string]> = {
  CreateRoom: ["POST", "/v1/Rooms"],
  ListRoom: ["GET", "/v1/Rooms"],
  FetchRoom: ["GET", "/v1/Rooms/{Sid}"],
  UpdateRoom: ["POST", "/v1/Rooms/{Sid}"],
  ListRoomParticipant: ["GET", "/v1/Rooms/{RoomSid}/Participants"],
  FetchRoomParticipant: ["GET", "/v1/Rooms/{RoomSid}/Participants/{Sid}"],
  UpdateRoomParticipant: ["POST", "/v1/Rooms/{RoomSid}/Participants/{Sid}"],
  FetchRoomParticipantSubscribeRule: ["GET", "/v1/Rooms/{RoomSid}/Participants/{ParticipantSid}/SubscribeRules"],
  UpdateRoomParticipantSubscribeRule: ["POST", "/v1/Rooms/{RoomSid}/Participants/{ParticipantSid}/SubscribeRules"],
  ListRoomParticipantSubscribedTrack: ["GET", "/v1/Rooms/{RoomSid}/Participants/{ParticipantSid}/SubscribedTracks"],
};

let server: LocalTwilio;
beforeAll(async () => {
  server = await startLocalTwilio({ port: 0 });
});
afterAll(() => server.close());
beforeEach(() => server.reset());

describe("the spec file", () => {
  it("declares each operation the client uses where the client calls it", () => {
    for (const [operationId, [method, template]] of Object.entries(CLIENT_OPERATIONS)) {
      expect(OPERATIONS.filter((o) => o.operationId === operationId).map((o) => [o.method, o.template])).toEqual([[method, template]]);
    }
  });

  it("its own examples of the answers we read validate against its schemas (with the errata)", () => {
    let checked = 0;
    for (const [operationId, [method, template]] of Object.entries(CLIENT_OPERATIONS)) {
      const op = spec.paths[template][method.toLowerCase()];
      for (const [status, response] of Object.entries<Json>(op.responses)) {
        const content = response.content["application/json"];
        for (const [name, example] of Object.entries<Json>(content.examples ?? {})) {
          expect(problemsOf(validator(content.schema), example.value, `${operationId} ${status} ${name}: `)).toEqual([]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it("each erratum is still needed: the spec's schema as published refuses its own example", () => {
    const published = makeAjv(false);
    for (const e of ERRATA) {
      const op = spec.paths[e.example.path][e.example.method];
      const content = op.responses[e.example.status].content["application/json"];
      expect(content.schema.$ref).toBe(`#/components/schemas/${e.schema}`);
      const v = published.compile({ $ref: `twilio#/$defs/${e.schema}` });
      expect(v(content.examples[e.example.name].value), e.what).toBe(false);
    }
  });

  it("the checker notices what it should (undeclared field, wrong type, wrong enum, missing required, wrong status)", () => {
    const x = (method: string, path: string, body: string, status: number, answer: unknown): Exchange => ({
      method,
      url: new URL(`http://t${path}`),
      contentType: body ? "application/x-www-form-urlencoded" : null,
      body,
      status,
      responseText: JSON.stringify(answer),
    });
    const room = {};
    expect(checkExchange(x("POST", "/v1/Rooms", "Nope=1", 201, room)).problems.join()).toMatch(/form field Nope is not declared/);
    expect(checkExchange(x("POST", "/v1/Rooms", "MaxParticipants=ten", 201, room)).problems.join()).toMatch(/not an integer/);
    expect(checkExchange(x("POST", "/v1/Rooms", "Type=huge", 201, room)).problems.join()).toMatch(/allowed values/);
    expect(checkExchange(x("POST", "/v1/Rooms/RM1", "", 202, room)).problems.join()).toMatch(/required form field Status missing/);
    expect(checkExchange(x("POST", "/v1/Rooms", "", 200, room)).problems.join()).toMatch(/does not declare status 200/);
    expect(checkExchange(x("GET", "/v1/Rooms?Status=open", "", 200, { rooms: [] })).problems.join()).toMatch(/query Status.*allowed values/);
    expect(checkExchange(x("GET", "/v1/Rooms/RM1", "", 200, { status: "paused" })).problems.join()).toMatch(/status.*allowed values/);
    expect(checkExchange(x("GET", "/v1/Rooms/RM1", "", 404, { code: 20404, message: "x", status: 404 })).problems.join()).toMatch(/more_info/);
    expect(checkExchange(x("GET", "/v1/Nothing", "", 200, {})).problems.join()).toMatch(/0 operations/);
  });
});

describe("the client's requests and the local server's answers", () => {
  const RULES = [
    { type: "include", all: true },
    { type: "exclude", publisher: "bob@example.com", kind: "audio" },
    { type: "exclude", track: "screen", priority: "high" },
  ] as const;

  /** Each client call, with the operations (in order) it must make. */
  const scenarios: Array<{ name: string; ops: string[]; run: (client: TwilioVideoClient) => Promise<unknown> }> = [
    {
      name: "createRoom with every parameter",
      ops: ["CreateRoom"],
      run: (c) =>
        c.createRoom({
          uniqueName: "s1:main",
          type: "group",
          maxParticipants: 12,
          statusCallback: "https://app.example/cb",
          statusCallbackMethod: "POST",
          emptyRoomTimeout: 3,
          unusedRoomTimeout: 2,
          maxParticipantDuration: 3600,
          mediaRegion: "de1",
          audioOnly: false,
        }),
    },
    { name: "createRoom again (53113, then the room by name)", ops: ["CreateRoom", "ListRoom"], run: (c) => c.createRoom({ uniqueName: "s1:main" }) },
    { name: "getRoom by sid", ops: ["FetchRoom"], run: async (c) => c.getRoom(server.findRoom("s1:main")!.sid) },
    { name: "getRoom by a name with reserved characters", ops: ["ListRoom", "FetchRoom"], run: (c) => c.getRoom("s1:main") },
    { name: "getRoom by a path-safe name", ops: ["CreateRoom", "FetchRoom"], run: (c) => c.createRoom({ uniqueName: "plain" }).then(() => c.getRoom("plain")) },
    { name: "getRoom of an absent room (20404)", ops: ["FetchRoom"], run: (c) => c.getRoom("RM00000000000000000000000000000000").catch((e) => e) },
    { name: "listRooms, paginated", ops: ["ListRoom", "ListRoom"], run: (c) => c.listRooms({ status: "in-progress", pageSize: 1 }) },
    { name: "listRooms by UniqueName", ops: ["ListRoom"], run: (c) => c.listRooms({ uniqueName: "plain", status: "in-progress" }) },
    {
      name: "participants: list connected, by identity, paginated",
      ops: ["ListRoomParticipant", "ListRoomParticipant"],
      run: async (c) => {
        const room = server.findRoom("s1:main")!;
        server.connectParticipant(room.sid, "alice@example.com", { tracks: ["audio", "video"] });
        server.connectParticipant(room.sid, "bob@example.com", { tracks: ["audio", { kind: "video", name: "screen", priority: "high" }] });
        return c.listParticipants(room.sid, { status: "connected", pageSize: 1 });
      },
    },
    {
      name: "listParticipants by identity, room by reserved name",
      ops: ["ListRoom", "ListRoomParticipant"],
      run: (c) => c.listParticipants("s1:main", { identity: "alice@example.com" }),
    },
    {
      name: "getParticipant by identity",
      ops: ["ListRoomParticipant", "FetchRoomParticipant"],
      run: (c) => c.getParticipant(server.findRoom("s1:main")!.sid, "alice@example.com"),
    },
    {
      name: "updateSubscribeRules by identity",
      ops: ["ListRoomParticipant", "UpdateRoomParticipantSubscribeRule"],
      run: (c) => c.updateSubscribeRules(server.findRoom("s1:main")!.sid, "alice@example.com", RULES),
    },
    {
      name: "getSubscribeRules by sid",
      ops: ["FetchRoomParticipantSubscribeRule"],
      run: (c) => {
        const room = server.findRoom("s1:main")!;
        const alice = [...room.participants.values()].find((p) => p.identity === "alice@example.com")!;
        return c.getSubscribeRules(room.sid, alice.sid);
      },
    },
    {
      name: "getSubscribeRules of a participant with the default rules",
      ops: ["ListRoomParticipant", "FetchRoomParticipantSubscribeRule"],
      run: (c) => c.getSubscribeRules(server.findRoom("s1:main")!.sid, "bob@example.com"),
    },
    {
      name: "listSubscribedTracks, paginated",
      ops: ["ListRoomParticipant", "ListRoomParticipantSubscribedTrack", "ListRoomParticipantSubscribedTrack"],
      run: (c) => c.listSubscribedTracks(server.findRoom("s1:main")!.sid, "bob@example.com", { pageSize: 1 }),
    },
    {
      name: "a reconnecting participant is found and kicked",
      ops: ["ListRoomParticipant", "ListRoomParticipant", "UpdateRoomParticipant"],
      run: (c) => {
        server.setReconnecting("s1:main", "bob@example.com", true);
        return c.disconnectParticipant(server.findRoom("s1:main")!.sid, "bob@example.com");
      },
    },
    {
      name: "disconnectParticipant by identity",
      ops: ["ListRoomParticipant", "UpdateRoomParticipant"],
      run: (c) => c.disconnectParticipant(server.findRoom("s1:main")!.sid, "alice@example.com"),
    },
    {
      name: "disconnectParticipant again by sid (already disconnected)",
      ops: ["UpdateRoomParticipant"],
      run: (c) => {
        const room = server.findRoom("s1:main")!;
        return c.disconnectParticipant(room.sid, [...room.participants.values()][0].sid);
      },
    },
    { name: "listParticipants disconnected", ops: ["ListRoomParticipant"], run: (c) => c.listParticipants(server.findRoom("s1:main")!.sid, "disconnected") },
    { name: "completeRoom by sid", ops: ["UpdateRoom"], run: async (c) => c.completeRoom(server.findRoom("plain")!.sid) },
    {
      name: "completeRoom again (53112, then the room)",
      ops: ["UpdateRoom", "FetchRoom"],
      run: (c) => c.completeRoom([...server.rooms.values()].find((r) => r.uniqueName === "plain")!.sid),
    },
    { name: "completeRoom by a reserved name", ops: ["ListRoom", "UpdateRoom"], run: (c) => c.completeRoom("s1:main") },
    { name: "listRooms completed", ops: ["ListRoom"], run: (c) => c.listRooms({ status: "completed" }) },
  ];

  it("every request is declared and typed as the spec says, every answer valid, every operation the client uses covered", async () => {
    const { log, fetch } = recorder();
    const client = new TwilioVideoClient({
      apiKeySid: server.credentials.apiKeySid,
      apiKeySecret: server.credentials.apiKeySecret,
      baseUrl: server.url,
      fetch,
    });
    const problems: string[] = [];
    const covered = new Set<string>();
    const statuses = new Set<number>();
    for (const s of scenarios) {
      const from = log.length;
      await s.run(client);
      const mine = log.slice(from);
      const checked = mine.map(checkExchange);
      expect(
        checked.map((c) => c.operation?.operationId),
        s.name,
      ).toEqual(s.ops);
      for (const [i, c] of checked.entries()) {
        problems.push(...c.problems.map((p) => `${s.name}: ${p}`));
        if (c.operation) covered.add(c.operation.operationId);
        statuses.add(mine[i].status);
      }
    }
    expect(problems).toEqual([]);
    expect([...covered].sort()).toEqual(Object.keys(CLIENT_OPERATIONS).sort());
    // Success answers of each kind, and errors, went through the checks.
    expect([...statuses].sort()).toEqual([200, 201, 202, 400, 404]);
  });

  it("the rules arrive as the JSON array Twilio documents, each rule of the shape its answers have", async () => {
    const { log, fetch } = recorder();
    const client = new TwilioVideoClient({
      apiKeySid: server.credentials.apiKeySid,
      apiKeySecret: server.credentials.apiKeySecret,
      baseUrl: server.url,
      fetch,
    });
    const room = await client.createRoom({ uniqueName: "rules" });
    server.connectParticipant(room.sid!, "alice");
    await client.updateSubscribeRules(room.sid!, "alice", RULES);
    const post = log.find((x) => x.method === "POST" && x.url.pathname.endsWith("/SubscribeRules"))!;
    const sent = JSON.parse(new URLSearchParams(post.body).get("Rules")!);
    expect(sent).toEqual(RULES);
    const ruleSchema = spec.components.schemas["video.v1.room.room_participant.room_participant_subscribe_rule"].properties.rules;
    expect(problemsOf(validator(ruleSchema), sent, "Rules")).toEqual([]);
  });

  it("errors come back in Twilio's shape: bad credentials, malformed rules (53215), unknown paths", async () => {
    const { log, fetch } = recorder();
    const room = (await new TwilioVideoClient({ ...server.credentials, baseUrl: server.url }).createRoom({ uniqueName: "errors" })).sid!;
    const alice = server.connectParticipant(room, "alice");
    const auth = `Basic ${btoa(`${server.credentials.apiKeySid}:${server.credentials.apiKeySecret}`)}`;
    const form = { Authorization: auth, "Content-Type": "application/x-www-form-urlencoded" };
    const rulesPath = `${server.url}/v1/Rooms/${room}/Participants/${alice.sid}/SubscribeRules`;
    for (const rules of [
      "[]",
      "not json",
      '{"type":"include","all":true}',
      '[{"all":true}]',
      '[{"type":"include","all":false}]',
      '[{"type":"include","kind":"screen"}]',
    ]) {
      await fetch(rulesPath, { method: "POST", headers: form, body: new URLSearchParams({ Rules: rules }).toString() });
    }
    await fetch(`${server.url}/v1/Rooms/${room}`, { method: "GET", headers: { Authorization: "Basic bm9wZTpub3Bl" } });
    await fetch(`${server.url}/v1/Rooms/${room}/Participants/PA00000000000000000000000000000000/SubscribeRules`, {
      method: "GET",
      headers: { Authorization: auth },
    });
    expect(log.map((x) => x.status)).toEqual([400, 400, 400, 400, 400, 400, 401, 404]);
    expect(log.slice(0, 6).map((x) => JSON.parse(x.responseText).code)).toEqual(Array(6).fill(53215));
    const checked = log.map(checkExchange);
    expect(checked.flatMap((c) => c.response)).toEqual([]);
    // The malformed requests were sent on purpose; the checker sees the one that breaks the spec's own typing.
    expect(checked.flatMap((c) => c.request)).toEqual([expect.stringMatching(/form Rules is not JSON/)]);
  });

  it("answers the client does not ask for yet stay in the spec too: a subscribed track by sid, participants by each status", async () => {
    const { log, fetch } = recorder();
    const client = new TwilioVideoClient({ ...server.credentials, baseUrl: server.url });
    const room = (await client.createRoom({ uniqueName: "extra" })).sid!;
    const alice = server.connectParticipant(room, "alice", { tracks: ["audio"] });
    const bob = server.connectParticipant(room, "bob", { tracks: ["video"] });
    server.setReconnecting(room, "bob", true);
    const auth = { Authorization: `Basic ${btoa(`${server.credentials.apiKeySid}:${server.credentials.apiKeySecret}`)}` };
    const [track] = await client.listSubscribedTracks(room, bob.sid);
    await fetch(`${server.url}/v1/Rooms/${room}/Participants/${bob.sid}/SubscribedTracks/${track.sid}`, { method: "GET", headers: auth });
    for (const status of ["", "?Status=connected", "?Status=reconnecting", "?Status=disconnected"]) {
      await fetch(`${server.url}/v1/Rooms/${room}/Participants${status}`, { method: "GET", headers: auth });
    }
    await fetch(`${server.url}/v1/Rooms/${room}/Participants/${alice.sid}`, { method: "GET", headers: auth });
    expect(log.map((x) => `${checkExchange(x).operation?.operationId} ${x.status}`)).toEqual([
      "FetchRoomParticipantSubscribedTrack 200",
      ...Array(4).fill("ListRoomParticipant 200"),
      "FetchRoomParticipant 200",
    ]);
    expect(log.flatMap((x) => checkExchange(x).problems)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// What the spec allows, our parsers accept
// ---------------------------------------------------------------------------------------------------------------

const RM = "RMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const PA = "PAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/** How to make the client read one answer of an operation, and what it returns. */
const READERS: Record<string, { status: number; read: (c: TwilioVideoClient) => Promise<unknown>; list?: string }> = {
  CreateRoom: { status: 201, read: (c) => c.createRoom({ uniqueName: "x" }) },
  FetchRoom: { status: 200, read: (c) => c.getRoom(RM) },
  UpdateRoom: { status: 202, read: (c) => c.completeRoom(RM) },
  ListRoom: { status: 200, read: (c) => c.listRooms(), list: "rooms" },
  ListRoomParticipant: { status: 200, read: (c) => c.listParticipants(RM), list: "participants" },
  FetchRoomParticipant: { status: 200, read: (c) => c.getParticipant(RM, PA) },
  UpdateRoomParticipant: { status: 202, read: (c) => c.disconnectParticipant(RM, PA) },
  FetchRoomParticipantSubscribeRule: { status: 200, read: (c) => c.getSubscribeRules(RM, PA) },
  UpdateRoomParticipantSubscribeRule: { status: 200, read: (c) => c.updateSubscribeRules(RM, PA, [{ type: "exclude", all: true }]) },
  ListRoomParticipantSubscribedTrack: { status: 200, read: (c) => c.listSubscribedTracks(RM, PA), list: "subscribed_tracks" },
};

/** A client whose every request is answered with `body` (status as the operation declares). */
function answering(status: number, body: unknown): TwilioVideoClient {
  return new TwilioVideoClient({
    apiKeySid: "SKx",
    apiKeySecret: "x",
    baseUrl: "http://twilio.test",
    maxAttempts: 1,
    fetch: async () => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }),
  });
}

const camel = (snake: string) => snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** One item the spec shows for a schema (from an example of an operation that answers it). */
function exampleOf(schemaName: string): Json {
  for (const o of OPERATIONS) {
    for (const response of Object.values<Json>(o.op.responses ?? {})) {
      const content = response.content?.["application/json"];
      if (content?.schema?.$ref !== `#/components/schemas/${schemaName}`) continue;
      const example = Object.values<Json>(content.examples ?? {})[0];
      if (example) return structuredClone(example.value);
    }
  }
  throw new Error(`no example for ${schemaName}`);
}

/** Variants the schema allows: every nullable property null at once and one by one, every enum value of each. */
function variants(schemaName: string): Array<{ name: string; value: Json; nulls: string[] }> {
  const schema = spec.components.schemas[schemaName];
  const base = exampleOf(schemaName);
  const props = Object.entries<Json>(schema.properties);
  const nullable = props.filter(([, p]) => p.nullable).map(([k]) => k);
  const out = [{ name: "example", value: base, nulls: [] as string[] }];
  out.push({ name: "every nullable field null", value: { ...base, ...Object.fromEntries(nullable.map((k) => [k, null])) }, nulls: nullable });
  for (const k of nullable) out.push({ name: `${k} null`, value: { ...base, [k]: null }, nulls: [k] });
  for (const [k, p] of props) {
    for (const v of deref(p).enum ?? []) if (v !== null) out.push({ name: `${k} = ${v}`, value: { ...base, [k]: v }, nulls: [] });
  }
  return out;
}

describe("our parsers accept what the spec allows", () => {
  it("every example the spec gives of an answer we read", async () => {
    for (const [operationId, reader] of Object.entries(READERS)) {
      const [method, template] = CLIENT_OPERATIONS[operationId];
      const content = spec.paths[template][method.toLowerCase()].responses[String(reader.status)].content["application/json"];
      const examples = Object.entries<Json>(content.examples ?? {});
      for (const [name, example] of examples) {
        await expect(reader.read(answering(reader.status, example.value)), `${operationId} ${name}`).resolves.toBeDefined();
      }
    }
  });

  const items: Record<string, string[]> = {
    "video.v1.room": ["FetchRoom", "CreateRoom", "UpdateRoom", "ListRoom"],
    "video.v1.room.room_participant": ["FetchRoomParticipant", "UpdateRoomParticipant", "ListRoomParticipant"],
    "video.v1.room.room_participant.room_participant_subscribe_rule": ["FetchRoomParticipantSubscribeRule", "UpdateRoomParticipantSubscribeRule"],
    "video.v1.room.room_participant.room_participant_subscribed_track": ["ListRoomParticipantSubscribedTrack"],
  };

  for (const [schemaName, operationIds] of Object.entries(items)) {
    it(`${schemaName}: each nullable field null (surfaced as null), each enum value`, async () => {
      const failures: string[] = [];
      let checked = 0;
      for (const variant of variants(schemaName)) {
        for (const operationId of operationIds) {
          const reader = READERS[operationId];
          const body = reader.list ? { [reader.list]: [variant.value], meta: { next_page_url: null, key: reader.list } } : variant.value;
          try {
            const result = await reader.read(answering(reader.status, body));
            const item = (Array.isArray(result) ? result[0] : result) as Record<string, unknown>;
            for (const k of variant.nulls)
              if (camel(k) in item && item[camel(k)] !== null) failures.push(`${operationId} ${variant.name}: ${camel(k)} is ${item[camel(k)]}`);
          } catch (e) {
            failures.push(`${operationId} ${variant.name}: ${e instanceof TwilioApiError ? e.message : String(e)}`);
          }
          checked++;
        }
      }
      expect(failures).toEqual([]);
      expect(checked).toBeGreaterThan(operationIds.length * 3);
    });
  }
});
