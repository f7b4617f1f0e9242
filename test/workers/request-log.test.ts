/** Request log sampling: routine successes are sampled, errors, refusals and slow requests are always logged. */
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { requestLogSampleRate, requestLogger } from "../../worker/routes/monitoring";

function appWithLog() {
  const app = new Hono<{ Bindings: { REQUEST_LOG_SAMPLE_RATE?: string } }>();
  app.use("*", requestLogger() as never);
  app.get("/ok", (c) => c.text("ok"));
  app.get("/refused", (c) => c.json({ error: { code: "FORBIDDEN" } }, 403));
  app.get("/slow", async (c) => {
    vi.advanceTimersByTime(1500);
    return c.text("slow");
  });
  return app;
}

function captureLines() {
  const lines: Record<string, unknown>[] = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    for (const a of args) {
      try {
        lines.push(JSON.parse(String(a)));
      } catch {
        /* not a JSON line */
      }
    }
  });
  vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => {
    for (const a of args) lines.push(JSON.parse(String(a)));
  });
  return lines;
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("request log sampling", () => {
  it("reads REQUEST_LOG_SAMPLE_RATE, clamps it to 0–1 and defaults to 0.05", () => {
    expect(requestLogSampleRate(undefined)).toBe(0.05);
    expect(requestLogSampleRate({})).toBe(0.05);
    expect(requestLogSampleRate({ REQUEST_LOG_SAMPLE_RATE: "1" })).toBe(1);
    expect(requestLogSampleRate({ REQUEST_LOG_SAMPLE_RATE: "0" })).toBe(0);
    expect(requestLogSampleRate({ REQUEST_LOG_SAMPLE_RATE: "7" })).toBe(1);
    expect(requestLogSampleRate({ REQUEST_LOG_SAMPLE_RATE: "-1" })).toBe(0);
    expect(requestLogSampleRate({ REQUEST_LOG_SAMPLE_RATE: "lots" })).toBe(0.05);
  });

  it("at rate 0: no line for a routine success, always one for a refusal and for a slow request", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const lines = captureLines();
    const app = appWithLog();
    const env = { REQUEST_LOG_SAMPLE_RATE: "0" };
    for (let i = 0; i < 20; i++) expect((await app.request("/ok", {}, env)).status).toBe(200);
    expect(lines.filter((l) => l.msg === "request")).toEqual([]);
    await app.request("/refused", {}, env);
    await app.request("/slow", {}, env);
    const logged = lines.filter((l) => l.msg === "request");
    expect(logged).toEqual([
      expect.objectContaining({ level: "warn", path: "/refused", status: 403 }),
      expect.objectContaining({ level: "info", path: "/slow", status: 200, durationMs: 1500 }),
    ]);
  });

  it("at rate 1 every success is logged; at 0.05 about one in twenty", async () => {
    const lines = captureLines();
    const app = appWithLog();
    for (let i = 0; i < 10; i++) await app.request("/ok", {}, { REQUEST_LOG_SAMPLE_RATE: "1" });
    expect(lines.filter((l) => l.msg === "request")).toHaveLength(10);
    lines.length = 0;
    const rnd = vi.spyOn(Math, "random");
    let k = 0;
    rnd.mockImplementation(() => (k++ % 20) / 20); // 0, 0.05, 0.1 … : exactly one draw in twenty is below 0.05
    for (let i = 0; i < 200; i++) await app.request("/ok", {}, {});
    expect(lines.filter((l) => l.msg === "request")).toHaveLength(10);
  });
});
