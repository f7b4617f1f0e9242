/**
 * Code flows one way: web → lib; worker → durable-objects (RPC types; the entry re-exports the class), lib;
 * durable-objects → lib; lib → nothing of ours. Every relative import in the four trees is resolved and checked.
 */
import { execSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
type Tree = "web" | "worker" | "durable-objects" | "lib";
const TREES: Tree[] = ["web", "worker", "durable-objects", "lib"];
const ALLOWED: Record<Tree, Tree[]> = {
  web: ["web", "lib"],
  worker: ["worker", "durable-objects", "lib"],
  "durable-objects": ["durable-objects", "lib"],
  lib: ["lib"],
};
/** The one file allowed a value import from durable-objects: the runtime needs the class on the Worker's exports. */
const WORKER_ENTRY = "worker/index.ts";

const treeOf = (rel: string): Tree | null => TREES.find((t) => rel === t || rel.startsWith(`${t}/`)) ?? null;

export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

export function importsOf(file: string, source: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  const re = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of source.matchAll(re)) {
    const spec = m[3] ?? m[4];
    if (spec?.startsWith(".")) out.push({ spec, typeOnly: Boolean(m[2]) });
  }
  void file;
  return out;
}

function edges(): ImportEdge[] {
  const files = execSync("git ls-files --cached --others --exclude-standard -- web worker durable-objects lib", { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter((f) => /\.(ts|tsx|mts|mjs|js)$/.test(f) && fs.existsSync(path.join(root, f)));
  const out: ImportEdge[] = [];
  for (const f of files) {
    const src = fs.readFileSync(path.join(root, f), "utf8");
    for (const { spec, typeOnly } of importsOf(f, src)) {
      const to = path.relative(root, path.resolve(path.dirname(path.join(root, f)), spec));
      out.push({ from: f, to, typeOnly });
    }
  }
  return out;
}

describe("import direction", () => {
  const all = edges();

  it("finds the imports it checks", () => {
    expect(all.length).toBeGreaterThan(100);
    expect(all.some((e) => e.from.startsWith("web/") && e.to.startsWith("lib/"))).toBe(true);
  });

  it("no import runs against the direction web → lib, worker → durable-objects → lib", () => {
    const wrong = all.filter((e) => {
      const a = treeOf(e.from);
      const b = treeOf(e.to);
      if (!a) return false;
      if (!b) return true; // out of the four trees (e.g. into test/): never from product code
      return !ALLOWED[a].includes(b);
    });
    expect(wrong.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it("the Worker takes only types from durable-objects, except its entry that exports the class", () => {
    const values = all.filter((e) => treeOf(e.from) === "worker" && treeOf(e.to) === "durable-objects" && !e.typeOnly && e.from !== WORKER_ENTRY);
    expect(values.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it("the checker itself sees a wrong-way import", () => {
    const found = importsOf(
      "lib/x.ts",
      'import { a } from "../worker/app";\nimport type { B } from "../durable-objects/session-do";\nconst m = import("./y");',
    );
    expect(found).toEqual([
      { spec: "../worker/app", typeOnly: false },
      { spec: "../durable-objects/session-do", typeOnly: true },
      { spec: "./y", typeOnly: false },
    ]);
  });
});
