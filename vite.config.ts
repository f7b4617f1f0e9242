/**
 * One dev server for the Worker (API + WebSockets, inside workerd via @cloudflare/vite-plugin) and the SolidJS app.
 * The app lives in web/ (the vite root); `vite build` writes the app to dist/client (served as Workers static assets,
 * see [assets] in wrangler.toml) and the Worker bundle next to it (dist/mindbloom_video).
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { STATUS_CODES } from "node:http";
import path from "node:path";
import type { Duplex } from "node:stream";
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

/** The part of a Miniflare instance the relay below needs (miniflare's `dispatchFetch`). */
type Dispatcher = { dispatchFetch: (input: unknown, init?: { headers?: unknown }) => Promise<Response & { webSocket?: unknown }> };

/**
 * Refused WebSocket upgrades answer with their status under `npm run dev`, as the deployed Worker (and `wrangler dev`)
 * does: 401/403/409 and the typed JSON error, not a dropped connection.
 *
 * Why they drop: @cloudflare/vite-plugin (1.64, src/websockets.ts `handleWebSocket`) forwards each upgrade to the Worker
 * with `miniflare.dispatchFetch` and, when the answer has no WebSocket, calls `socket.destroy()` without writing the
 * answer (cloudflare/workers-sdk#15170; fix proposed in #15205; drop this plugin once a release has it).
 *
 * The relay: an `upgrade` listener that runs before the plugin's tags the request (a header the plugin copies into the
 * dispatch) and wraps the socket's `destroy`; the Miniflare instance's `dispatchFetch` (reached through the dev
 * environments' `initRunner`, which is handed it) keeps the Worker's answer to a tagged upgrade that it refused; the
 * plugin's `destroy()` then writes that answer to the socket instead. Nothing is dispatched twice, and the tag is removed
 * before the Worker sees the request.
 */
function relayRefusedUpgrades(): Plugin {
  const TAG = "x-mindbloom-dev-upgrade";
  const refused = new Map<string, Response>();
  const hooked = new WeakSet<object>();

  function hook(miniflare: Dispatcher) {
    if (hooked.has(miniflare)) return;
    hooked.add(miniflare);
    const dispatch = miniflare.dispatchFetch;
    miniflare.dispatchFetch = async (input, init) => {
      const headers = init?.headers as Headers | undefined;
      const id = typeof headers?.get === "function" ? headers.get(TAG) : null;
      if (!id) return dispatch(input, init);
      headers!.delete(TAG);
      const response = await dispatch(input, init);
      if (!response.webSocket) {
        refused.set(id, response);
        setTimeout(() => refused.delete(id), 30_000).unref();
      }
      return response;
    };
  }

  async function answer(socket: Duplex, response: Response, destroy: () => void) {
    try {
      const body = Buffer.from(await response.arrayBuffer());
      const head = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ""}`];
      response.headers.forEach((value, name) => {
        if (!["connection", "content-length", "keep-alive", "transfer-encoding", "upgrade"].includes(name)) head.push(`${name}: ${value}`);
      });
      head.push(`content-length: ${body.length}`, "connection: close", "", "");
      socket.end(Buffer.concat([Buffer.from(head.join("\r\n")), body]), destroy);
    } catch {
      destroy();
    }
  }

  return {
    name: "mindbloom:relay-refused-upgrades",
    apply: "serve",
    configureServer(server) {
      let reachable = false;
      for (const environment of Object.values(server.environments) as unknown as { initRunner?: (miniflare: Dispatcher, ...rest: unknown[]) => unknown }[]) {
        const initRunner = environment.initRunner;
        if (typeof initRunner !== "function") continue;
        reachable = true;
        environment.initRunner = function (this: unknown, miniflare: Dispatcher, ...rest: unknown[]) {
          hook(miniflare);
          return initRunner.call(this, miniflare, ...rest);
        };
      }
      if (!reachable) server.config.logger.warn("mindbloom: cannot reach the Worker's dispatcher; refused WebSocket upgrades will drop the connection");
      server.httpServer?.prependListener("upgrade", (request, socket: Duplex) => {
        if (String(request.headers["sec-websocket-protocol"] ?? "").startsWith("vite")) return; // Vite's own HMR socket
        const id = randomUUID();
        // Ours only: a client's own header of that name is dropped (the plugin dispatches from rawHeaders).
        for (let i = request.rawHeaders.length - 2; i >= 0; i -= 2) if (request.rawHeaders[i].toLowerCase() === TAG) request.rawHeaders.splice(i, 2);
        request.rawHeaders.push(TAG, id);
        const destroy = socket.destroy.bind(socket);
        socket.destroy = (error?: Error) => {
          const response = refused.get(id);
          refused.delete(id);
          if (!response || error) return destroy(error);
          void answer(socket, response, () => destroy());
          return socket;
        };
      });
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
    // Before cloudflare(): its configureServer must find the hooks in place.
    relayRefusedUpgrades(),
    cloudflare({
      configPath: path.join(projectRoot, "wrangler.toml"),
      // Local D1 / Durable Object state lives in <project>/.wrangler/state, where `wrangler d1 migrations apply --local`
      // writes it, not under the vite root (web/).
      persistState: { path: path.join(projectRoot, ".wrangler", "state") },
    }),
    deployRedirectAtProjectRoot(),
  ],
});
