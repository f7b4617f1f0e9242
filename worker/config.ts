/**
 * Configuration the Worker refuses to run insecurely with. A problem here does not stop the Worker (a throw at start-up
 * would only make a crash loop nobody can read): the requests that depend on the setting are refused with a clear
 * message, `GET /api/health` answers 503 and lists the problems, and each isolate logs them once at error level.
 */
import type { Bindings } from "../lib/runtime/env";
import { log } from "../lib/runtime/log";
import { MIN_SIGNING_SECRET_LENGTH, PUBLIC_EXAMPLE_SIGNING_SECRETS } from "./auth/app-tokens";
import { idpConfigured } from "./auth/user-tokens";

type ConfigEnv = Pick<Bindings, "APP_ENV" | "APP_SIGNING_SECRET" | "AUTH_JWKS_URL" | "AUTH_JWT_SECRET" | "AUTH_ISSUER">;

export const isProduction = (env: Pick<Bindings, "APP_ENV">) => env.APP_ENV !== "development";

/** What is wrong with this deployment's settings, in words an operator can act on; empty when nothing is. */
export function configurationProblems(env: ConfigEnv): string[] {
  const problems: string[] = [];
  const secret = env.APP_SIGNING_SECRET;
  if (!secret || secret.length < MIN_SIGNING_SECRET_LENGTH) {
    problems.push(`APP_SIGNING_SECRET must be set (at least ${MIN_SIGNING_SECRET_LENGTH} characters): no invite, ticket or sign-in can be issued`);
  } else if (PUBLIC_EXAMPLE_SIGNING_SECRETS.has(secret)) {
    problems.push("APP_SIGNING_SECRET is the published example value, which anyone can sign with: set your own (npm run dev generates one)");
  }
  if (isProduction(env) && idpConfigured(env) && !env.AUTH_ISSUER?.trim()) {
    problems.push("AUTH_ISSUER must be set when an identity provider is configured (AUTH_JWKS_URL / AUTH_JWT_SECRET): sign-in tokens are refused until it is");
  }
  if (env.AUTH_JWT_SECRET && env.AUTH_JWT_SECRET === env.APP_SIGNING_SECRET) {
    problems.push("AUTH_JWT_SECRET must differ from APP_SIGNING_SECRET: sign-in tokens are refused until it does");
  }
  return problems;
}

/** Problems already logged by this isolate (a settings change brings a new isolate, or a new line). */
const logged = new Set<string>();

/** Logs each configuration problem once per isolate; cheap on every other call. */
export function logConfigurationProblemsOnce(env: ConfigEnv, requestId?: string): string[] {
  const problems = configurationProblems(env);
  for (const problem of problems) {
    if (logged.has(problem)) continue;
    logged.add(problem);
    log("error", "configuration problem", { problem }, { requestId });
  }
  return problems;
}
