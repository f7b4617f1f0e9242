#!/usr/bin/env node
// Re-renders bench/results/latest.md from a result JSON and an optional baseline (the "before" column).
//   node bench/report.mjs [results/latest.json] [results/baseline.json]
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { renderMarkdown } from "./lib/report.mjs";

const results = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, "results", "latest.json"));
const baselineFile = path.resolve(process.argv[3] ?? path.join(import.meta.dirname, "results", "baseline.json"));
const doc = JSON.parse(readFileSync(results, "utf8"));
const baseline = existsSync(baselineFile) && baselineFile !== results ? JSON.parse(readFileSync(baselineFile, "utf8")) : null;
const md = renderMarkdown(doc, baseline, baseline ? path.relative(path.join(import.meta.dirname, ".."), baselineFile) : null);
const out = path.join(path.dirname(results), "latest.md");
writeFileSync(out, md);
console.log(md);
console.log(`wrote ${path.relative(process.cwd(), out)}`);
