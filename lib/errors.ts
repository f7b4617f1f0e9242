/** Refusals as values across RPC, and the typed error the Worker maps to HTTP. */
import type { ErrorCode, ErrorPayload } from "./protocol";

/**
 * What an RPC method that can be refused returns. Refusals travel as values, not exceptions: a thrown error crossing
 * RPC is logged by the runtime as uncaught, and a user's mistake is not an incident.
 */
export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: ErrorPayload };

export type CommandOutcome = { ok: true; commandId: string; seq: number; duplicate: boolean } | { ok: false; commandId: string | null; error: ErrorPayload };

/**
 * A typed refusal, thrown and caught within one side (the session's RPC methods return it as a value; the Worker's
 * route code throws it for its error handler). It never crosses RPC as an exception.
 */
export class SessionError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly text: string,
  ) {
    super(text);
    this.name = "SessionError";
  }
}

/** The refusal an error carries, or INTERNAL for anything else (which is then logged, not shown). */
export function toErrorPayload(err: unknown): ErrorPayload {
  if (err instanceof SessionError) return { code: err.code, message: err.text };
  return { code: "INTERNAL", message: "something went wrong; nothing was changed" };
}
