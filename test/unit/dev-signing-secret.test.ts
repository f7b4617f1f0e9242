/**
 * No fixed signing secret (issue 12, finding 8): .dev.vars.example ships none, the first `npm run dev`
 * (scripts/dev-setup.mjs → scripts/dev-vars.mjs) writes a random one, and the Worker refuses the value the example
 * used to ship, as it refuses a missing one.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { refusal } from "./helpers/auth";
import { issueInvite, issueMemberTicket, MIN_SIGNING_SECRET_LENGTH, PUBLIC_EXAMPLE_SIGNING_SECRETS } from "../../worker/auth/app-tokens";
import { configurationProblems } from "../../worker/config";
// @ts-expect-error -- a plain .mjs script without type declarations
import { ensureDevVars, PUBLISHED_SECRETS } from "../../scripts/dev-vars.mjs";

const root = path.resolve(import.meta.dirname, "../..");
const OLD_EXAMPLE = "local-development-signing-secret-change-me-0123456789";
const secretOf = (file: string) => /^APP_SIGNING_SECRET=(.*)$/m.exec(readFileSync(file, "utf8"))?.[1];

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A scratch project directory holding the real .dev.vars.example (and, when given, a .dev.vars). */
function scratch(devVars?: string) {
  const dir = mkdtempSync(path.join(tmpdir(), "mb-dev-vars-"));
  dirs.push(dir);
  writeFileSync(path.join(dir, ".dev.vars.example"), readFileSync(path.join(root, ".dev.vars.example")));
  if (devVars !== undefined) writeFileSync(path.join(dir, ".dev.vars"), devVars);
  return { dir, file: path.join(dir, ".dev.vars") };
}

describe("the development signing secret", () => {
  it("the example ships no usable secret", () => {
    const example = secretOf(path.join(root, ".dev.vars.example")) ?? "";
    expect(example.length).toBeLessThan(MIN_SIGNING_SECRET_LENGTH);
  });

  it("the first npm run dev writes a random one (a different one each checkout); later runs keep it", () => {
    const a = scratch();
    expect(ensureDevVars(a.dir)).toEqual({ created: true, secret: "generated" });
    const first = secretOf(a.file)!;
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ensureDevVars(a.dir)).toEqual({ created: false, secret: "kept" });
    expect(secretOf(a.file)).toBe(first);
    // Everything else of the example is there.
    expect(readFileSync(a.file, "utf8").replace(/^APP_SIGNING_SECRET=.*$/m, "")).toBe(
      readFileSync(path.join(root, ".dev.vars.example"), "utf8").replace(/^APP_SIGNING_SECRET=.*$/m, ""),
    );
    const b = scratch();
    ensureDevVars(b.dir);
    expect(secretOf(b.file)).not.toBe(first);
  });

  it("replaces the published example value, an empty or a short one in an existing .dev.vars; keeps the developer's own", () => {
    for (const value of [OLD_EXAMPLE, "", "short"]) {
      const s = scratch(`APP_ENV=development\nAPP_SIGNING_SECRET=${value}\nDEBUG_LOGS=true\n`);
      expect(ensureDevVars(s.dir).secret).toBe(value ? "replaced" : "generated");
      expect(secretOf(s.file)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(readFileSync(s.file, "utf8")).toMatch(/^APP_ENV=development\n.*\nDEBUG_LOGS=true\n$/);
    }
    const missing = scratch("APP_ENV=development\n");
    expect(ensureDevVars(missing.dir).secret).toBe("generated");
    expect(secretOf(missing.file)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const own = scratch("APP_SIGNING_SECRET=my-very-own-local-secret-0123456789abcdef\n");
    expect(ensureDevVars(own.dir).secret).toBe("kept");
    expect(secretOf(own.file)).toBe("my-very-own-local-secret-0123456789abcdef");
  });

  it("the Worker refuses the published example value like a missing secret, and /api/health names it", async () => {
    expect([...PUBLIC_EXAMPLE_SIGNING_SECRETS]).toEqual([...PUBLISHED_SECRETS]);
    const env = { APP_ENV: "development", DEV_SIGNIN: "on", APP_SIGNING_SECRET: OLD_EXAMPLE };
    for (const attempt of [
      issueMemberTicket(env, { sessionId: "s", memberId: "m1", role: "participant", name: "N" }),
      issueInvite(env, { sessionId: "s", role: "participant" }),
    ]) {
      const e = await refusal(attempt);
      expect([e.code, e.status, e.reason]).toEqual(["INTERNAL", 500, "config"]);
      expect(e.message).toMatch(/published example value/);
    }
    expect(configurationProblems(env)).toEqual([expect.stringMatching(/^APP_SIGNING_SECRET is the published example value/)]);
    expect(configurationProblems({ ...env, APP_SIGNING_SECRET: "test-app-signing-secret-0123456789abcdef" })).toEqual([]);
  });
});
