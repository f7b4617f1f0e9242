/** Shared by the auth unit tests: a refused promise's AuthError, and a real D1 (workerd via Miniflare) with migrations. */
import path from "node:path";
import { readD1Migrations } from "@cloudflare/vitest-plugin";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { expect } from "vitest";
import { AuthError } from "../../../worker/auth/user-tokens";

/** The AuthError a promise is refused with (fails the test when it resolves or throws something else). */
export async function refusal(p: Promise<unknown>): Promise<AuthError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, "expected a refusal").toBeInstanceOf(AuthError);
  return e as AuthError;
}

/** A D1 database in workerd with the project's migrations applied; dispose the Miniflare when done. */
export async function migratedD1(name: string): Promise<{ mf: Miniflare; DB: D1Database }> {
  // miniflare 5 takes a new options shape; the v4 one converts (compatibility date as in wrangler.toml).
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: "export default { fetch() { return new Response('') } }",
      compatibilityDate: "2026-04-01",
      d1Databases: { DB: name },
    }),
  );
  const DB = (await mf.getD1Database("DB")) as unknown as D1Database;
  for (const m of await readD1Migrations(path.join(import.meta.dirname, "../../../migrations"))) await DB.batch(m.queries.map((q) => DB.prepare(q)));
  return { mf, DB };
}
