/** zod validation for JSON bodies via @hono/zod-validator, answering the protocol's typed errors. */
import { zValidator } from "@hono/zod-validator";
import type { ZodType } from "zod";
import { describeZodError } from "../lib/protocol";
import { apiError } from "./middleware/security";

export const validJson = <T extends ZodType>(schema: T) =>
  zValidator("json", schema, (result, c) => {
    if (!result.success) {
      const { message, issues } = describeZodError(result.error as never);
      return apiError(c, 400, "INVALID_MESSAGE", message, issues);
    }
  });
