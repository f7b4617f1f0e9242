// Local settings for `npm run dev`: .dev.vars, created from .dev.vars.example on the first run, with a signing secret
// of its own. The example ships none: a fixed one would be a key anyone reading this repository could sign tickets with.
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Values once published as APP_SIGNING_SECRET (the Worker refuses them too: worker/auth/app-tokens.ts). */
export const PUBLISHED_SECRETS = new Set(["local-development-signing-secret-change-me-0123456789"]);
const MIN_LENGTH = 32;

/** 256 random bits, base64url: 43 characters. */
export const newSigningSecret = () => randomBytes(32).toString("base64url");

/**
 * Makes sure `dir/.dev.vars` exists and has a usable APP_SIGNING_SECRET: created from the example on the first run;
 * a missing, empty, short or published secret is replaced with a random one; a secret of the developer's own is kept.
 * Returns what it did, for the message.
 */
export function ensureDevVars(dir) {
  const file = path.join(dir, ".dev.vars");
  const created = !existsSync(file);
  if (created) copyFileSync(path.join(dir, ".dev.vars.example"), file);
  const text = readFileSync(file, "utf8");
  const line = /^APP_SIGNING_SECRET=(.*)$/m.exec(text);
  const current = line?.[1].trim() ?? "";
  if (current.length >= MIN_LENGTH && !PUBLISHED_SECRETS.has(current)) return { created, secret: "kept" };
  const entry = `APP_SIGNING_SECRET=${newSigningSecret()}`;
  writeFileSync(file, line ? text.replace(line[0], entry) : `${text.replace(/\n?$/, "\n")}${entry}\n`);
  return { created, secret: current ? "replaced" : "generated" };
}
