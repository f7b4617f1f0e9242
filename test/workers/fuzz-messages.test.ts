/**
 * Fuzzing the two doors with fast-check.
 *
 * WebSocket: at least 10,000 random and mutated frames (random JSON, random text, random bytes, valid commands with
 * mutated fields, wrong types, huge strings, deep nesting, prototype-pollution keys, unicode), interleaved over a staff
 * socket and a participant socket, raw strings and serialised objects mixed. Only frames that cannot legitimately
 * change anything are sent (invalid ones, and valid commands the sender's role may not run). Each must be answered by
 * exactly one typed `error` frame with the code the protocol prescribes (computed here from the same schema the
 * session uses); afterwards the engine's context is deep-equal to before, D1's state tables hold the same rows
 * (audit_log may only grow by refusals), and the session still answers a ping and runs a valid command.
 * Sockets are rotated before their message budget runs out (participants 30, staff 600 per burst); a second socket of
 * each member stays open throughout so no connect/disconnect changes the session either.
 *
 * HTTP: malformed JSON → 400 BAD_JSON, unknown fields / wrong shapes → 400 INVALID_MESSAGE, > 16 KiB → 413
 * MESSAGE_TOO_LARGE, on every JSON endpoint, all typed JSON errors, nothing changed.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { COMMAND_ROLES, ClientMessageSchema, PING_FRAME, ErrorPayloadSchema, MAX_MESSAGE_BYTES, type CommandType, type ErrorCode } from "../../lib/protocol";
import { api, Client, createSession, d1, defaultAgreementHash, flush, joinSession, signIn, stubFor, placementIn } from "./helpers";
import { context } from "./authz-world";

const WS_FRAMES = 10_000;
const HTTP_BODIES = 400;
const PROTO_KEYS = ["__proto__", "constructor", "prototype", "toString", "valueOf", "hasOwnProperty", "__defineGetter__", "isPrototypeOf"];
const STATE_TABLES = [
  "sessions",
  "session_participants",
  "breakout_rooms",
  "breakout_room_participants",
  "breakout_room_transitions",
  "session_analytics_events",
  "media_rooms",
  "invites",
];

type Frame = { kind: "text"; text: string } | { kind: "binary"; bytes: Uint8Array };
type Target = "staff" | "participant";

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------------------------

const members = ["m1", "m2", "m3", "m4"];
const idArb = fc.oneof(fc.constantFrom(...members, "r1", "r2", "main", ...PROTO_KEYS), fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,64}$/));
const unicodeArb = fc.oneof(
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 60 }),
  fc.constantFrom("ﷺ‮evil‬", "👩‍👩‍👧‍👦 group", "zero​width", "\u0000nul", "e\u0301\u0301\u0301", "\uD83D", "Ω≈ç√∫", "  padded  "),
);
const nameArb = fc.oneof(unicodeArb, fc.string({ minLength: 1, maxLength: 80 }));
const commandIdArb = fc.oneof(fc.uuid(), fc.string({ minLength: 8, maxLength: 64 }), fc.string({ unit: "grapheme", minLength: 8, maxLength: 20 }));

/** Commands that pass the schema most of the time (ids, names, numbers in range). */
const validCommandArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constantFrom("admit", "deny", "removeMember", "resolveHelp"), memberId: idArb }),
  fc.record({
    type: fc.constant("updateSettings"),
    settings: fc.record({ autoAdmit: fc.boolean(), warningSeconds: fc.integer({ min: 0, max: 600 }) }, { requiredKeys: [] }),
  }),
  fc.record({ type: fc.constant("createBreakouts"), count: fc.integer({ min: 1, max: 50 }), mode: fc.constantFrom("auto", "manual", "choose") }),
  fc.record({ type: fc.constant("createBreakouts"), names: fc.array(nameArb, { minLength: 1, maxLength: 5 }) }),
  fc.record({ type: fc.constant("addRoom"), name: nameArb }, { requiredKeys: ["type"] }),
  fc.record({ type: fc.constant("renameRoom"), roomId: idArb, name: nameArb }),
  fc.record({ type: fc.constantFrom("deleteRoom", "closeRoom"), roomId: idArb }),
  fc.record({ type: fc.constantFrom("autoAssign", "openBreakouts", "endSession", "returnToMain", "leave") }),
  fc.record({ type: fc.constant("assign"), memberId: idArb, roomId: fc.option(idArb, { nil: null }) }),
  fc.record({
    type: fc.constant("bulkAssign"),
    assignments: fc.array(fc.record({ memberId: idArb, roomId: fc.option(idArb, { nil: null }) }), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ type: fc.constant("preAssign"), identity: idArb, roomId: fc.option(idArb, { nil: null }) }),
  fc.record({ type: fc.constant("move"), memberId: idArb, to: idArb }),
  fc.record({ type: fc.constant("swap"), memberA: idArb, memberB: idArb }),
  fc.record({ type: fc.constant("closeAll"), countdownSeconds: fc.integer({ min: 0, max: 300 }) }, { requiredKeys: ["type"] }),
  fc.record({ type: fc.constant("extendRound"), seconds: fc.integer({ min: 30, max: 3600 }) }),
  fc.record(
    { type: fc.constant("broadcast"), text: fc.oneof(unicodeArb, fc.string({ minLength: 1, maxLength: 1000 })), roomId: fc.option(idArb, { nil: null }) },
    { requiredKeys: ["type", "text"] },
  ),
  fc.record({ type: fc.constant("visitRoom"), to: idArb }),
  fc.record({ type: fc.constant("chooseRoom"), roomId: idArb }),
  fc.record({ type: fc.constant("requestHelp"), message: unicodeArb }, { requiredKeys: ["type"] }),
);

const wrongValue = fc.oneof(
  fc.constant(null),
  fc.constant(true),
  fc.integer(),
  fc.double(),
  fc.constant(""),
  fc.string({ minLength: 81, maxLength: 2000 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  fc.constantFrom(-1, 0, 51, 1e9, 1.5, -0.5),
);

const setOwn = (o: Record<string, unknown>, k: string, v: unknown) =>
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

/** A mutation that (almost always) breaks the schema; the expectation is computed from the schema anyway. */
const mutatedCommandArb = fc
  .tuple(
    validCommandArb,
    commandIdArb,
    fc.integer({ min: 0, max: 7 }),
    fc.oneof(fc.constantFrom(...PROTO_KEYS, "actor", "role", "now", "isAdmin"), fc.string({ minLength: 1, maxLength: 12 })),
    wrongValue,
    fc.string({ maxLength: 12 }),
  )
  .map(([cmd, commandId, how, key, value, text]) => {
    const command: Record<string, unknown> = { ...cmd };
    const envelope: Record<string, unknown> = { type: "command", commandId, command };
    const fields = Object.keys(command).filter((k) => k !== "type");
    switch (how) {
      case 0: // unknown or prototype-polluting key in the command
        setOwn(command, key, value ?? { role: "facilitator" });
        break;
      case 1: // a field of the wrong type or out of range
        if (fields.length) command[fields[0]] = value;
        else setOwn(command, key, value);
        break;
      case 2: // a required field missing
        if (fields.length) delete command[fields[0]];
        else command.type = `${String(command.type)}X`;
        break;
      case 3: // unknown command type
        command.type = text.length ? text : "fly";
        break;
      case 4: // bad envelope: commandId too short / too long / not a string
        envelope.commandId = [text.slice(0, 7), "x".repeat(65), 12345678, null][text.length % 4];
        break;
      case 5: // unknown key on the envelope (the actor, a role, __proto__…)
        setOwn(envelope, key, value ?? { memberId: "m1", role: "facilitator" });
        break;
      case 6: // actor injection inside the command
        setOwn(command, "actor", { memberId: "m1", role: "facilitator" });
        break;
      case 7: // the whole command replaced by a wrong value
        envelope.command = value;
        break;
    }
    return envelope;
  });

const textOf = (o: unknown) => JSON.stringify(o);

const genericFrameArb: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 5, arbitrary: mutatedCommandArb.map((o) => ({ kind: "text" as const, text: textOf(o) })) },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => ({ kind: "text" as const, text: JSON.stringify(v) ?? "null" })) },
  { weight: 1, arbitrary: fc.object({ maxDepth: 3 }).map((v) => ({ kind: "text" as const, text: JSON.stringify(v) ?? "{}" })) },
  {
    weight: 2,
    arbitrary: fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" })).map((t) => ({ kind: "text" as const, text: t })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => ({ kind: "binary" as const, bytes: b })) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 1, max: 6000 }), fc.constantFrom("[", '{"a":')).map(([d, open]) => {
      const close = open === "[" ? "]" : "}";
      const nested = open.repeat(d) + (open === "[" ? "" : "1") + close.repeat(d);
      return { kind: "text" as const, text: d % 2 ? nested : `{"type":"command","commandId":"deep-nesting","command":${nested}}` };
    }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...PROTO_KEYS), commandIdArb).map(([k, id]) => ({
      kind: "text" as const,
      text: `{"type":"command","commandId":${JSON.stringify(id)},"command":{"type":"autoAssign"},${JSON.stringify(k)}:{"role":"facilitator","isAdmin":true}}`,
    })),
  },
  {
    weight: 1,
    // Huge: over 16 KiB in bytes (sometimes only in bytes: 3-byte characters under 16 K characters).
    arbitrary: fc
      .tuple(fc.integer({ min: MAX_MESSAGE_BYTES - 50, max: MAX_MESSAGE_BYTES + 3000 }), fc.constantFrom("a", "€", "é"), fc.boolean())
      .map(([n, ch, binary]) => {
        const body = `{"type":"command","commandId":"huge-frame","command":{"type":"broadcast","text":"${ch.repeat(Math.floor(n / new TextEncoder().encode(ch).length))}"}}`;
        return binary ? { kind: "binary" as const, bytes: new TextEncoder().encode(body) } : { kind: "text" as const, text: body };
      }),
  },
  {
    weight: 1,
    // Valid signal frames to nobody in the room (deep data included): refused, relayed to no one.
    arbitrary: fc
      .tuple(fc.stringMatching(/^x-[a-z0-9]{1,20}$/), fc.jsonValue({ maxDepth: 6 }))
      .map(([to, data]) => ({ kind: "text" as const, text: JSON.stringify({ type: "signal", to, data: { payload: data } }) })),
  },
);

const STAFF_ONLY = (Object.keys(COMMAND_ROLES) as CommandType[]).filter((t) => !COMMAND_ROLES[t].includes("participant"));
const PARTICIPANT_ONLY = (Object.keys(COMMAND_ROLES) as CommandType[]).filter((t) => !COMMAND_ROLES[t].includes("facilitator"));

/** Valid commands the target's role may not run (they reach the session and must be refused FORBIDDEN). */
const forbiddenFor = (target: Target) =>
  fc
    .tuple(
      validCommandArb.filter((c) => (target === "participant" ? STAFF_ONLY : PARTICIPANT_ONLY).includes(c.type as CommandType)),
      commandIdArb,
      fc.boolean(),
    )
    .map(([command, commandId, raw]) => {
      const text = JSON.stringify({ type: "command", commandId, command });
      // Raw strings with odd whitespace, or the plain serialisation.
      return { kind: "text" as const, text: raw ? `  \n${text}\t ` : text };
    });

const framesArb: fc.Arbitrary<{ target: Target; frame: Frame }> = fc.oneof(
  // Refusals by role go through the session's storage (audited), so they are the expensive kind: about one in eight.
  { weight: 14, arbitrary: fc.tuple(fc.constantFrom<Target>("staff", "staff", "participant"), genericFrameArb).map(([target, frame]) => ({ target, frame })) },
  { weight: 1, arbitrary: forbiddenFor("participant").map((frame) => ({ target: "participant" as const, frame })) },
  { weight: 1, arbitrary: forbiddenFor("staff").map((frame) => ({ target: "staff" as const, frame })) },
);

// ---------------------------------------------------------------------------------------------------------------
// The protocol's answer to a frame, computed exactly as the session must
// ---------------------------------------------------------------------------------------------------------------

type Expected = { commandId: string | null; code: ErrorCode } | "skip";

function expectedFor(frame: Frame, target: Target, memberIds: Set<string>): Expected {
  if (frame.kind === "binary") return { commandId: null, code: frame.bytes.byteLength > MAX_MESSAGE_BYTES ? "MESSAGE_TOO_LARGE" : "INVALID_MESSAGE" };
  // What arrives: the UTF-8 encoding on the wire replaces lone surrogates with U+FFFD.
  const text = (frame.text as string & { toWellFormed(): string }).toWellFormed();
  if (new TextEncoder().encode(text).length > MAX_MESSAGE_BYTES) return { commandId: null, code: "MESSAGE_TOO_LARGE" };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { commandId: null, code: "BAD_JSON" };
  }
  const parsed = ClientMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const commandId = typeof (raw as { commandId?: unknown })?.commandId === "string" ? (raw as { commandId: string }).commandId.slice(0, 64) : null;
    return { commandId, code: "INVALID_MESSAGE" };
  }
  const msg = parsed.data;
  if (msg.type === "command") {
    const role = target === "staff" ? "facilitator" : "participant";
    return COMMAND_ROLES[msg.command.type].includes(role) ? "skip" : { commandId: msg.commandId, code: "FORBIDDEN" };
  }
  if (msg.type === "signal") return memberIds.has(msg.to) ? "skip" : { commandId: null, code: "FORBIDDEN" };
  return "skip"; // ping, resume, quality, arrived, refreshMedia: valid, and not what this fuzz is about
}

// ---------------------------------------------------------------------------------------------------------------
// Sockets that rotate before their budget runs out
// ---------------------------------------------------------------------------------------------------------------

class Rotor {
  socket!: Client;
  used = 0;
  opened = 0;
  constructor(
    readonly sessionId: string,
    readonly ticket: string,
    readonly label: string,
    readonly budget: number,
  ) {}
  /** A socket with room for `n` more frames in its budget. */
  async get(n = 1): Promise<Client> {
    if (this.socket && this.used + n <= this.budget && !this.socket.closed) return this.socket;
    this.socket?.close();
    this.socket = await Client.connect(this.sessionId, this.ticket, `${this.label}${++this.opened}`);
    await this.socket.next((m) => placementIn(m) !== null);
    this.used = 0;
    return this.socket;
  }
}

async function d1Counts(sessionId: string) {
  const out: Record<string, number> = {};
  for (const t of STATE_TABLES) out[t] = (await d1(`SELECT COUNT(*) AS n FROM ${t} WHERE ${t === "sessions" ? "id" : "session_id"} = ?`, sessionId))[0].n;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

describe("fuzz: WebSocket frames", () => {
  let sessionId: string;
  let staffTicket: string;
  let participantTicket: string;
  const anchors: Client[] = [];
  const memberIds = new Set<string>();

  beforeAll(async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    sessionId = s.sessionId;
    staffTicket = s.ticket;
    // A member's budget is shared by all their sockets (security-ratelimit.test.ts tests it); this fuzz is about
    // answers, so the rotors' members get budgets they cannot exhaust.
    await stubFor(sessionId).setMessageBudgets({ participant: "100000/100000", staff: "100000/100000", connect: "100000/100000" });
    const p1 = await joinSession(sessionId, s.invite.token, "Fuzz target");
    const p2 = await joinSession(sessionId, s.invite.token, "Bystander");
    participantTicket = p1.ticket;
    for (const [ticket, label] of [
      [staffTicket, "anchor-staff"],
      [p1.ticket, "anchor-p1"],
      [p2.ticket, "anchor-p2"],
    ] as const) {
      const c = await Client.connect(sessionId, ticket, label);
      await c.next((m) => placementIn(m) !== null);
      anchors.push(c);
    }
    for (const id of Object.keys((await context(sessionId))!.members)) memberIds.add(id);
  });

  it(`${WS_FRAMES} random and mutated frames: one typed error each, nothing changes`, async () => {
    await flush(sessionId);
    const before = await context(sessionId);
    const beforeSeq = (await stubFor(sessionId).debugState()).seq;
    const countsBefore = await d1Counts(sessionId);
    const auditBefore = (await d1(`SELECT COUNT(*) AS n FROM audit_log WHERE session_id = ?`, sessionId))[0].n;
    const anchorSeen = anchors.map((a) => a.messages.length);

    const rotors = { staff: new Rotor(sessionId, staffTicket, "fuzz-staff", 500), participant: new Rotor(sessionId, participantTicket, "fuzz-p", 25) };
    const tally: Record<string, number> = {};
    let sent = 0;

    // Batches are pipelined (sent in one go, interleaved over both sockets) and matched order-independently: a refusal
    // that goes through the session's storage answers later than a malformed frame sent after it.
    const describeFrame = (f: Frame) => (f.kind === "text" ? f.text : `<binary ${f.bytes.byteLength} bytes>`).slice(0, 300);
    const key = (commandId: string | null, code: string) => `${commandId === null ? "∅" : JSON.stringify(commandId)} ${code}`;
    const batchProperty = fc.asyncProperty(fc.array(framesArb, { minLength: 16, maxLength: 24 }), async (batch) => {
      const plan = batch.flatMap(({ target, frame }) => {
        const expected = expectedFor(frame, target, memberIds);
        return expected === "skip" ? [] : [{ target, frame, expected }];
      });
      const sockets = {} as Record<Target, Client>;
      const from = {} as Record<Target, number>;
      for (const target of ["staff", "participant"] as Target[]) {
        const n = plan.filter((x) => x.target === target).length;
        sockets[target] = await rotors[target].get(n);
        rotors[target].used += n;
        from[target] = sockets[target].messages.length;
      }
      for (const { target, frame } of plan) sockets[target].ws.send(frame.kind === "text" ? frame.text : frame.bytes);
      sent += plan.length;
      for (const target of ["staff", "participant"] as Target[]) {
        const mine = plan.filter((x) => x.target === target);
        const socket = sockets[target];
        for (let i = 0; i < 2000 && socket.messages.length - from[target] < mine.length && !socket.closed; i++) await new Promise((r) => setTimeout(r, 5));
        const replies = socket.messages.slice(from[target]);
        for (const r of replies) {
          expect(r.type, `${target} got a ${r.type} frame: ${JSON.stringify(r).slice(0, 300)}`).toBe("error");
          expect(ErrorPayloadSchema.safeParse(r.error).success, JSON.stringify(r).slice(0, 300)).toBe(true);
        }
        const got = replies.map((r) => key(r.commandId, r.error.code)).sort();
        const want = mine.map((x) => key(x.expected.commandId, x.expected.code)).sort();
        expect(
          got,
          `${target} answers to:\n${mine.map((x) => `${key(x.expected.commandId, x.expected.code)} ⇐ ${describeFrame(x.frame)}`).join("\n")}`,
        ).toEqual(want);
        for (const x of mine) tally[`${target}:${x.expected.code}`] = (tally[`${target}:${x.expected.code}`] ?? 0) + 1;
      }
    });
    while (sent < WS_FRAMES) await fc.assert(batchProperty, { numRuns: Math.ceil((WS_FRAMES - sent) / 20) });

    expect(sent).toBeGreaterThanOrEqual(WS_FRAMES);
    // Every kind of answer was exercised on both sockets.
    for (const key of [
      "staff:INVALID_MESSAGE",
      "staff:BAD_JSON",
      "staff:MESSAGE_TOO_LARGE",
      "staff:FORBIDDEN",
      "participant:INVALID_MESSAGE",
      "participant:BAD_JSON",
      "participant:FORBIDDEN",
      "participant:MESSAGE_TOO_LARGE",
    ])
      expect(tally[key] ?? 0, key).toBeGreaterThan(10);
    console.log(JSON.stringify({ fuzz: "ws", sent, tally, socketsOpened: rotors.staff.opened + rotors.participant.opened }));

    // Nothing changed: engine, sequence, what the members heard, D1's state tables.
    expect(await context(sessionId)).toEqual(before);
    expect((await stubFor(sessionId).debugState()).seq).toBe(beforeSeq);
    anchors.forEach((a, i) =>
      expect(
        a.messages.slice(anchorSeen[i]).map((m) => m.type),
        a.name,
      ).toEqual([]),
    );
    await flush(sessionId);
    expect(await d1Counts(sessionId)).toEqual(countsBefore);
    const newAudit = await d1(`SELECT result, COUNT(*) AS n FROM audit_log WHERE session_id = ? GROUP BY result`, sessionId);
    expect(newAudit.every((r) => r.result === "ok" || r.result === "refused:FORBIDDEN")).toBe(true);
    expect(newAudit.reduce((n, r) => n + r.n, 0)).toBeGreaterThan(auditBefore);

    // Still alive: a ping, and a valid command.
    const probe = await Client.connect(sessionId, staffTicket, "probe");
    await probe.next((m) => placementIn(m) !== null);
    probe.send(PING_FRAME);
    expect(await probe.next((m) => m.type === "pong")).toEqual({ type: "pong" });
    expect((await probe.command({ type: "broadcast", text: "still here" })).type).toBe("ack");
    await anchors[1].next((m) => m.type === "notice" && m.notice.kind === "broadcast" && m.notice.text === "still here");
    probe.close();
    rotors.staff.socket?.close();
    rotors.participant.socket?.close();
  }, 180_000);
});

describe("fuzz: HTTP bodies", () => {
  it(`${HTTP_BODIES} malformed, unknown-field and oversized bodies on every JSON endpoint: typed 400/413, nothing changes`, async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const p = await joinSession(s.sessionId, s.invite.token, "Body target");
    const before = await context(s.sessionId);
    await flush(s.sessionId);
    const countsBefore = await d1Counts(s.sessionId);
    let userToken = await signIn("BodyFuzz", "facilitator");
    let userUses = 0;

    /** Endpoint, credential, and a body that would be valid there (the base for "valid + unknown field"). */
    const endpoints: { path: string; token: () => Promise<string | undefined> | string | undefined; valid: Record<string, unknown> }[] = [
      {
        path: `/api/sessions/${s.sessionId}/commands`,
        token: () => s.ticket,
        valid: { commandId: "body-fuzz-01", command: { type: "broadcast", text: "hi" } },
      },
      { path: `/api/sessions/${s.sessionId}/commands`, token: () => p.ticket, valid: { commandId: "body-fuzz-02", command: { type: "requestHelp" } } },
      { path: `/api/sessions/${s.sessionId}/invites`, token: () => s.ticket, valid: { role: "participant" } },
      {
        path: `/api/sessions/${s.sessionId}/join`,
        token: () => undefined,
        valid: { invite: s.invite.token, name: "x", agreementHash: await defaultAgreementHash() },
      },
      { path: `/api/sessions/${s.sessionId}/breakout-rooms`, token: () => s.ticket, valid: { count: 2 } },
      { path: `/api/sessions/${s.sessionId}/move-participant`, token: () => s.ticket, valid: { memberId: p.memberId, to: "main" } },
      { path: `/api/sessions/${s.sessionId}/bulk-assign`, token: () => s.ticket, valid: { assignments: [{ memberId: p.memberId, roomId: null }] } },
      { path: `/api/auth/dev-signin`, token: () => undefined, valid: { name: "x", role: "participant" } },
      {
        path: `/api/sessions`,
        // 20 creations a minute per user: rotate users well before that.
        token: async () => {
          if (++userUses > 10) (userToken = await signIn(`BodyFuzz${Math.random().toString(36).slice(2, 8)}`, "facilitator")), (userUses = 1);
          return userToken;
        },
        valid: { title: "x", mediaProvider: "local" },
      },
    ];

    const bodyArb = fc.oneof(
      // Not JSON at all.
      {
        weight: 3,
        arbitrary: fc
          .oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.constantFrom("", "{", "[1,", "{'a':1}", "undefined", "NaN", '{"a":1,}', "\u0000"))
          .map((text) => ({ text, kind: "malformed" as const })),
      },
      // JSON, but with an unknown field (prototype keys included) on an otherwise valid body.
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.oneof(fc.constantFrom(...PROTO_KEYS, "actor", "role", "admin"), fc.string({ minLength: 1, maxLength: 10 })), fc.jsonValue({ maxDepth: 2 }))
          .map(([key, value]) => ({ key, value, kind: "extra" as const })),
      },
      // JSON that is not an object of the right shape.
      {
        weight: 2,
        arbitrary: fc
          .oneof(
            fc.jsonValue().filter((v) => v === null || typeof v !== "object" || Array.isArray(v)),
            fc.constantFrom([], [{}], "a string", 0, true),
          )
          .map((value) => ({ value, kind: "shape" as const })),
      },
      // Too large (bytes), valid JSON otherwise.
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.integer({ min: MAX_MESSAGE_BYTES + 1, max: MAX_MESSAGE_BYTES + 4000 }), fc.constantFrom("a", "€"))
          .map(([n, ch]) => ({ n, ch, kind: "large" as const })),
      },
    );

    const seen: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: endpoints.length - 1 }), bodyArb, async (which, b) => {
        const ep = endpoints[which];
        let text: string;
        if (b.kind === "malformed") {
          // A random string that happens to be JSON ("{}", "0"…) is not malformed: it belongs to the other kinds.
          let isJson = true;
          try {
            JSON.parse((b.text as string & { toWellFormed(): string }).toWellFormed().replace(/^\uFEFF/, ""));
          } catch {
            isJson = false;
          }
          fc.pre(!isJson);
          text = b.text;
        } else if (b.kind === "extra") {
          const body = JSON.parse(JSON.stringify(ep.valid));
          setOwn(body, b.key in ep.valid ? `${b.key}_extra` : b.key, b.value);
          text = JSON.stringify(body);
        } else if (b.kind === "shape") text = JSON.stringify(b.value);
        else text = JSON.stringify({ ...ep.valid, padding: b.ch.repeat(Math.ceil(b.n / new TextEncoder().encode(b.ch).length)) });
        const wellFormed = (text as string & { toWellFormed(): string }).toWellFormed().replace(/^\uFEFF/, "");
        let expected: { status: number; code: ErrorCode };
        if (new TextEncoder().encode(wellFormed).length > MAX_MESSAGE_BYTES) expected = { status: 413, code: "MESSAGE_TOO_LARGE" };
        else {
          try {
            JSON.parse(wellFormed);
            expected = { status: 400, code: "INVALID_MESSAGE" };
          } catch {
            expected = { status: 400, code: "BAD_JSON" };
          }
        }
        const r = await api(ep.path, { method: "POST", token: await ep.token(), body: text });
        expect(r.headers.get("content-type"), `${ep.path} ${text.slice(0, 200)}`).toMatch(/^application\/json/);
        expect({ status: r.status, code: r.json?.error?.code, message: typeof r.json?.error?.message }, `${ep.path} ${text.slice(0, 200)}`).toEqual({
          ...expected,
          message: "string",
        });
        seen[expected.code] = (seen[expected.code] ?? 0) + 1;
      }),
      { numRuns: HTTP_BODIES },
    );
    for (const code of ["BAD_JSON", "INVALID_MESSAGE", "MESSAGE_TOO_LARGE"]) expect(seen[code] ?? 0, code).toBeGreaterThan(10);

    expect(await context(s.sessionId)).toEqual(before);
    await flush(s.sessionId);
    expect(await d1Counts(s.sessionId)).toEqual(countsBefore);
  }, 120_000);
});
