/**
 * One dev server for the Worker (API + WebSockets, inside workerd via @cloudflare/vite-plugin) and the SolidJS app.
 * The app lives in web/ (the vite root); `vite build` writes the app to dist/client (served as Workers static assets,
 * see [assets] in wrangler.toml) and the Worker bundle next to it (dist/mindbloom_video).
 */
import fs from "node:fs";
import path from "node:path";
import { defineConfig, type Plugin } from "vite";
import solid from "vite-plugin-solid";
import { cloudflare } from "@cloudflare/vite-plugin";

const projectRoot = import.meta.dirname;
const webRoot = path.join(projectRoot, "web");

/**
 * The cloudflare plugin writes its deploy redirect (.wrangler/deploy/config.json, pointing wrangler at the built
 * dist/<worker>/wrangler.json) under the vite root, i.e. web/. `wrangler deploy` looks for it next to wrangler.toml,
 * so copy it there (paths re-based) after each build.
 */
function deployRedirectAtProjectRoot(): Plugin {
  return {
    name: "mindbloom:deploy-redirect-at-project-root",
    apply: "build",
    writeBundle: {
      order: "post",
      handler() {
        const from = path.join(webRoot, ".wrangler", "deploy", "config.json");
        if (!fs.existsSync(from)) return;
        const toDir = path.join(projectRoot, ".wrangler", "deploy");
        const rebase = (p: string) => path.relative(toDir, path.resolve(path.dirname(from), p));
        const cfg = JSON.parse(fs.readFileSync(from, "utf8")) as {
          configPath: string;
          auxiliaryWorkers?: { configPath: string }[];
          prerenderWorkerConfigPath?: string;
        };
        const out = {
          ...cfg,
          configPath: rebase(cfg.configPath),
          auxiliaryWorkers: (cfg.auxiliaryWorkers ?? []).map((w) => ({ configPath: rebase(w.configPath) })),
          ...(cfg.prerenderWorkerConfigPath ? { prerenderWorkerConfigPath: rebase(cfg.prerenderWorkerConfigPath) } : {}),
        };
        fs.mkdirSync(toDir, { recursive: true });
        fs.writeFileSync(path.join(toDir, "config.json"), JSON.stringify(out));
      },
    },
  };
}

export default defineConfig({
  root: webRoot,
  // .env files and VITE_* variables (VITE_ENABLE_DEBUG_LOGS) are read from the project root.
  envDir: projectRoot,
  // The cloudflare plugin puts each environment under build.outDir: dist/client (app) and dist/<worker> (Worker).
  build: { outDir: path.join(projectRoot, "dist"), emptyOutDir: true },
  server: { fs: { allow: [projectRoot] } },
  plugins: [
    solid(),
    cloudflare({
      configPath: path.join(projectRoot, "wrangler.toml"),
      // Local D1 / Durable Object state lives in <project>/.wrangler/state, where `wrangler d1 migrations apply --local`
      // writes it, not under the vite root (web/).
      persistState: { path: path.join(projectRoot, ".wrangler", "state") },
    }),
    deployRedirectAtProjectRoot(),
  ],
});
