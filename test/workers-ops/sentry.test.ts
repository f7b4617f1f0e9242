/**
 * Error tracking end to end inside workerd: the production entry's Sentry wrapping (worker/sentry.ts) with SENTRY_DSN
 * pointed at a local envelope receiver (test/support/ops-receivers.ts, Sentry's envelope contract). An error in a
 * Worker route and errors in the session Durable Object arrive there, tagged, and nothing personal or secret is in
 * any byte that was posted.
 */
import { describe, expect, inject, it } from "vitest";
import { api, Client, createSession, defaultAgreementHash, joinSession, sleep, stubFor } from "../workers/helpers";

const ops = () => `http://127.0.0.1:${inject("opsPort")}`;

interface Received {
  raw: string;
  items: { type: string; payload: any }[];
}

async function received(): Promise<Received[]> {
  return ((await (await fetch(`${ops()}/__ops/envelopes`)).json()) as { envelopes: Received[] }).envelopes;
}

const eventsIn = (envs: Received[]) => envs.flatMap((e) => e.items.filter((i) => i.type === "event").map((i) => i.payload));

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 800)}`);
    await sleep(50);
  }
}

describe("Sentry (SENTRY_DSN at a local envelope receiver)", () => {
  it("a route error and session DO errors arrive with release, environment and component, and without names, tokens or identities", async () => {
    await fetch(`${ops()}/__ops/reset`, { method: "POST" });
    const title = "Grief group with Jane Doe";
    const s = await createSession({ title, settings: { autoAdmit: true } });

    // 1. A Worker route fails: the join's token signing breaks (in the DO), the RPC throws, the route answers 500.
    await stubFor(s.sessionId).failSigning(1);
    const failed = await api(`/api/sessions/${s.sessionId}/join?invite=${encodeURIComponent(s.invite.token)}`, {
      body: { invite: s.invite.token, name: "Jane Doe", agreementHash: await defaultAgreementHash() },
      headers: { Cookie: "sb-access-token=secret-cookie-value", "X-Request-Id": "req-sentry-route-1" },
    });
    expect(failed.status).toBe(500);
    expect(failed.json.error.code).toBe("INTERNAL");

    // 2. A session command fails inside the DO (caught and logged there), sent over the WebSocket as the console does.
    const fac = await Client.connect(s.sessionId, s.ticket, "fac");
    await fac.next((m) => m.type === "snapshot");
    expect((await fac.command({ type: "updateSettings", settings: { autoAdmit: false } })).type).toBe("ack");
    const guest = await joinSession(s.sessionId, s.invite.token, "Jane Doe");
    expect(guest.status).toBe("waiting");
    await stubFor(s.sessionId).failSigning(1);
    const admit = await fac.command({ type: "admit", memberId: guest.memberId });
    expect(admit).toMatchObject({ type: "error", error: { code: "INTERNAL" } });
    fac.close();

    const envs = await until(
      received,
      (e) => {
        const evs = eventsIn(e);
        return evs.some((x) => x.tags?.component === "worker") && evs.some((x) => x.tags?.component === "session" && x.contexts?.log?.msg === "command failed");
      },
      "the route's event and the failed command's",
    );
    const events = eventsIn(envs);

    const route = events.find((e) => e.tags?.component === "worker" && e.request?.url?.includes("/join"));
    expect(route, JSON.stringify(events.map((e) => [e.tags, e.message, e.exception?.values?.[0]?.value]))).toBeDefined();
    expect(route).toMatchObject({ release: "mindbloom-video@ops-test", environment: "ops-test", level: "error" });
    expect(route.request.url).toBe(`https://mindbloom.test/api/sessions/${s.sessionId}/join?invite=[Filtered]`);
    expect(route.request.method).toBe("POST");
    expect(route.request.data).toBeUndefined();
    expect(JSON.stringify(route.request.headers ?? {}).toLowerCase()).not.toMatch(/cookie|authorization|cf-connecting-ip/);
    expect(route.exception.values[0].value).toContain("injected: token signing failed");
    expect(route.contexts.log.msg).toBe("unhandled error");

    const session = events.filter((e) => e.tags?.component === "session");
    expect(session.length).toBeGreaterThan(0);
    for (const e of session) expect(e).toMatchObject({ release: "mindbloom-video@ops-test", environment: "ops-test" });
    // The failed command (caught and logged in the DO) and the failed join (thrown by the DO's RPC method).
    const command = session.find((e) => e.contexts?.log?.msg === "command failed");
    expect(command.exception.values[0].value).toBe("injected: token signing failed");
    expect(command.contexts.log).toMatchObject({ session: s.sessionId, command: "admit" });
    expect(session.some((e) => e.exception?.values?.[0]?.mechanism?.type === "auto.faas.cloudflare.durable_object")).toBe(true);
    // One event per failure: the 5xx request summary line is not a second one.
    expect(events.filter((e) => e.contexts?.log?.msg === "request")).toEqual([]);

    // Nothing personal or secret in any byte posted to Sentry.
    const raw = envs.map((e) => e.raw).join("\n");
    for (const bad of ["Jane", title, "Therapist", "therapist", s.invite.token, s.ticket, guest.ticket, guest.guestCredential, "secret-cookie-value"]) {
      const at = raw.indexOf(bad);
      expect(at, `leaked ${bad.slice(0, 30)}…: ${raw.slice(Math.max(0, at - 200), at + 100)}`).toBe(-1);
    }
    expect(raw).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    expect(raw).not.toMatch(/\b(guest|user):(?!\[Filtered\])/);
  });
});
