/** Refusals as values across RPC, and the typed error the Worker maps to HTTP. */
import type { ErrorCode, ErrorPayload } from "./protocol";

/**
 * What an RPC method that can be refused returns. Refusals travel as values, not exceptions: a thrown error crossing
 * RPC is logged by the runtime as uncaught, and a user's mistake is not an incident.
 */
export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: ErrorPayload };

export type CommandOutcome = { ok: true; commandId: string; seq: number; duplicate: boolean } | { ok: false; commandId: string | null; error: ErrorPayload };

/** A typed refusal thrown across RPC: the message carries the code ("CODE: text") because RPC keeps only messages. */
export class SessionError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly text: string,
  ) {
    super(`${code}: ${text}`);
    this.name = "SessionError";
  }
}

export function toErrorPayload(err: unknown): ErrorPayload {
  if (err instanceof SessionError) return { code: err.code, message: err.text };
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  // RPC rethrows lose the class but keep the message; our messages carry the code as "CODE: text".
  if (typeof e?.message === "string") {
    const m = /^(?:[A-Za-z]*Error: )?([A-Z_]{3,}): (.*)$/s.exec(e.message);
    if (m) return { code: m[1] as ErrorCode, message: m[2] };
  }
  return { code: "INTERNAL", message: "something went wrong; nothing was changed" };
}
