/** Structured logging: one JSON line per call, request id, levels, and redaction of tokens and secrets. */
import fc from "fast-check";
import { SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, formatLogLine, log, redact } from "../../lib/runtime/log";

afterEach(() => vi.restoreAllMocks());

function capture() {
  return vi.spyOn(console, "log").mockImplementation(() => {});
}

describe("log", () => {
  it("writes exactly one JSON line with level, msg, time, request id and fields", () => {
    const spy = capture();
    log("info", "member joined", { sessionId: "s1", count: 3 }, { requestId: "req-1" });
    expect(spy).toHaveBeenCalledTimes(1);
    const line = String(spy.mock.calls[0][0]);
    expect(line).not.toContain("\n");
    expect(JSON.parse(line)).toEqual({ level: "info", msg: "member joined", time: expect.any(String), requestId: "req-1", sessionId: "s1", count: 3 });
  });

  it("drops debug lines unless DEBUG_LOGS enables them", () => {
    const spy = capture();
    createLogger({}).debug("hidden");
    createLogger({ DEBUG_LOGS: "false" }).debug("hidden");
    log("debug", "hidden");
    expect(spy).not.toHaveBeenCalled();
    createLogger({ DEBUG_LOGS: "true" }, { requestId: "r" }).with({ sessionId: "s" }).debug("shown", { n: 1 });
    expect(JSON.parse(String(spy.mock.calls[0][0]))).toMatchObject({ level: "debug", msg: "shown", requestId: "r", sessionId: "s", n: 1 });
  });

  it("fields cannot overwrite level or msg", () => {
    const line = JSON.parse(formatLogLine("warn", "real", { level: "error", msg: "fake" })!);
    expect([line.level, line.msg, line.field_level, line.field_msg]).toEqual(["warn", "real", "error", "fake"]);
  });
});

describe("redaction", () => {
  it("never prints tokens, secrets, authorization headers, signatures, passwords or JWT-looking strings", async () => {
    const jwt = await new SignJWT({ sub: "u1" }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("k".repeat(32)));
    const spy = capture();
    const err = new Error(`verification failed for ${jwt}`);
    log(
      "error",
      `could not verify Bearer ${jwt}`,
      {
        token: "tok-AAA",
        accessToken: "tok-BBB",
        APP_SIGNING_SECRET: "sec-CCC",
        headers: new Headers({ Authorization: "Basic dXNlcjpwYXNz", "X-Twilio-Signature": "sig-DDD", "content-type": "text/plain" }),
        nested: { deeper: [{ password: "pw-EEE" }, { note: `see ${jwt.slice(0, 60)}` }] },
        url: `https://app.test/ws?ticket=${jwt}`,
        err,
        ok: "visible",
      },
      { requestId: "r1" },
    );
    const line = String(spy.mock.calls[0][0]);
    for (const secret of ["tok-AAA", "tok-BBB", "sec-CCC", "dXNlcjpwYXNz", "sig-DDD", "pw-EEE", jwt.split(".")[1], jwt.split(".")[2], jwt.slice(0, 40)]) {
      expect(line).not.toContain(secret);
    }
    const parsed = JSON.parse(line);
    expect(parsed.ok).toBe("visible");
    expect(parsed.token).toBe("[redacted]");
    expect(parsed.headers["content-type"]).toBe("text/plain");
    expect(parsed.err.message).toContain("[redacted-jwt]");
  });

  it("property: any value under a sensitive key is never printed", () => {
    const sensitiveKey = fc.constantFrom(
      "token",
      "idToken",
      "refresh_token",
      "clientSecret",
      "Authorization",
      "x-twilio-signature",
      "password",
      "TWILIO_AUTH_TOKEN",
      "apiKey",
    );
    fc.assert(
      fc.property(sensitiveKey, fc.stringMatching(/^[A-Za-z0-9]{6,24}$/), fc.integer({ min: 0, max: 4 }), (key, secret, depth) => {
        const value = `ZZ${secret}`;
        let fields: Record<string, unknown> = { [key]: value };
        for (let i = 0; i < depth; i++) fields = i % 2 ? { wrap: fields } : { list: [fields] };
        const line = formatLogLine("info", "x", fields)!;
        return !line.includes(value);
      }),
    );
  });

  it("handles cycles, bigint and deep values without throwing", () => {
    const a: Record<string, unknown> = { n: 1n };
    a.self = a;
    expect(redact(a)).toEqual({ n: "1", self: "[circular]" });
    let deep: Record<string, unknown> = { v: 1 };
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(JSON.stringify(redact(deep))).toContain("[depth]");
  });
});
