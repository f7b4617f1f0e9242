/** Worker entry: the Hono app answers HTTP; the session Durable Object class is exported for its binding. */
import { app } from "./app";

export { SessionDurableObject } from "../durable-objects/session-do";
export default app;
