/**
 * The session Durable Object as the Worker exports it: the class from durable-objects/ plus what operations need,
 * read from its own collaborators. `opsHealth()` is the outbox reading the alert rules use (worker/alerts): rows stored
 * but not yet in D1, and rows D1 refused for good. A mixin, so the workers tests' subclass gets it the same way.
 */
import type { SessionDurableObject } from "../durable-objects/session-do";
import type { SessionHealth } from "./alerts/rules";

type SessionClass = new (...args: any[]) => SessionDurableObject;

export function withOpsHealth<C extends SessionClass>(Base: C) {
  return class OperatedSession extends Base {
    /** Read-only: counts the outbox tables; wakes no timer and changes nothing. */
    async opsHealth(): Promise<SessionHealth> {
      return { outboxPending: this.outbox.size(), outboxDead: this.outbox.deadLetters() };
    }
  };
}
