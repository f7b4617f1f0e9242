/**
 * The built web app must never carry a server secret. Builds the real project (`vite build` with vite.config.ts,
 * the cloudflare plugin included) into a temporary directory with fake secrets in the environment, then searches every
 * file of the client bundle (what Workers assets serve to anyone) for them, and for the secret values of
 * .dev.vars.example / .dev.vars. The Worker bundle is checked too: secrets are runtime bindings, never build inputs.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

/** Fake secrets, unique per run so a hit cannot be a coincidence. */
const nonce = Math.random().toString(36).slice(2, 10);
const FAKE: Record<string, string> = {
  TWILIO_AUTH_TOKEN: `fake-twilio-auth-token-${nonce}`,
  TWILIO_API_KEY_SECRET: `fake-twilio-api-key-secret-${nonce}`,
  TWILIO_API_KEY_SID: `SKfake${nonce}0000000000000000000000`,
  TWILIO_ACCOUNT_SID: `ACfake${nonce}0000000000000000000000`,
  APP_SIGNING_SECRET: `fake-app-signing-secret-${nonce}-0123456789abcdef`,
  AUTH_JWT_SECRET: `fake-auth-jwt-secret-${nonce}-0123456789abcdef`,
};

/** Secret-looking entries of a .dev.vars-style file, commented-out ones included. */
function secretsIn(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*#?\s*([A-Z][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const [, key, raw] = m;
    const value = raw.replace(/^["']|["']$/g, "");
    if (/SECRET|TOKEN|PASSWORD|PRIVATE|_SID$/.test(key) && value.length >= 8) out[`${path.basename(file)}:${key}`] = value;
  }
  return out;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Where the build leaves its deploy redirects (vite root and project root); a temp build rewrites them: put them back. */
const deployRedirects = [path.join(root, "web/.wrangler/deploy/config.json"), path.join(root, ".wrangler/deploy/config.json")];

describe("no secret in the built client bundle", () => {
  let outDir: string;
  let buildLog = "";
  const redirectsBefore = deployRedirects.map((f) => (existsSync(f) ? readFileSync(f, "utf8") : null));
  const wranglerDirExisted = existsSync(path.join(root, "web/.wrangler"));

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), "mb-bundle-"));
    try {
      const r = await run(
        process.execPath,
        [path.join(root, "node_modules/vite/bin/vite.js"), "build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"],
        {
          cwd: root,
          env: { ...process.env, ...FAKE, NODE_ENV: "production" },
          timeout: 170_000,
          maxBuffer: 32 * 1024 * 1024,
        },
      );
      buildLog = `${r.stdout}\n${r.stderr}`;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      buildLog = `BUILD FAILED: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`;
    }
  }, 180_000);

  afterAll(() => {
    deployRedirects.forEach((file, i) => {
      const before = redirectsBefore[i];
      if (before !== null) writeFileSync(file, before);
      else rmSync(file, { force: true });
    });
    if (!wranglerDirExisted) rmSync(path.join(root, "web/.wrangler"), { recursive: true, force: true });
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it("the project builds (client + Worker)", () => {
    expect(buildLog).not.toMatch(/^BUILD FAILED/);
    const client = filesUnder(path.join(outDir, "client"));
    expect(
      client.some((f) => f.endsWith("index.html")),
      `client files: ${client.join(", ")}\n${buildLog}`,
    ).toBe(true);
    expect(client.some((f) => f.endsWith(".js"))).toBe(true);
  });

  it("no fake secret from the build environment, and no .dev.vars(.example) secret, appears in any client file", () => {
    const secrets = { ...FAKE, ...secretsIn(path.join(root, ".dev.vars.example")), ...secretsIn(path.join(root, ".dev.vars")) };
    expect(Object.keys(secrets).length).toBeGreaterThan(Object.keys(FAKE).length); // the example's values are in the list
    const client = filesUnder(path.join(outDir, "client"));
    expect(client.length).toBeGreaterThan(0);
    const hits: string[] = [];
    for (const file of client) {
      const bytes = readFileSync(file);
      for (const [name, value] of Object.entries(secrets))
        if (bytes.includes(Buffer.from(value, "utf8"))) hits.push(`${path.relative(outDir, file)} contains ${name}`);
    }
    expect(hits).toEqual([]);
  });

  it("the client directory holds no environment files", () => {
    const names = filesUnder(path.join(outDir, "client")).map((f) => path.basename(f));
    expect(names.filter((n) => n === ".dev.vars" || n.startsWith(".env") || n === "wrangler.json" || n === "wrangler.toml")).toEqual([]);
  });

  it("the Worker bundle has no fake secret baked in either (they are runtime bindings)", () => {
    const worker = filesUnder(outDir).filter((f) => !f.startsWith(path.join(outDir, "client")) && path.basename(f) !== ".dev.vars");
    expect(
      worker.some((f) => f.endsWith(".js")),
      `worker files: ${worker.join(", ")}`,
    ).toBe(true);
    const hits: string[] = [];
    for (const file of worker) {
      const bytes = readFileSync(file);
      for (const [name, value] of Object.entries(FAKE))
        if (bytes.includes(Buffer.from(value, "utf8"))) hits.push(`${path.relative(outDir, file)} contains ${name}`);
    }
    expect(hits).toEqual([]);
  });
});
