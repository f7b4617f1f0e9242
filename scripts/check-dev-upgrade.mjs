// Checks that the dev server (`npm run dev`: Vite + @cloudflare/vite-plugin) answers a refused WebSocket upgrade the
// way the deployed Worker does, with its HTTP status and typed JSON error, instead of dropping the connection; and
// that accepted upgrades still open. Starts the real dev server (vite.config.ts) on a free port, then stops it.
//
//   npx node scripts/check-dev-upgrade.mjs        (prepares .dev.vars and the local D1 like npm run dev; exit 1 on a mismatch)
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import path from "node:path";
import { createServer } from "vite";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
execFileSync(process.execPath, [path.join(root, "scripts", "dev-setup.mjs")], { stdio: ["ignore", "ignore", "inherit"] });

const server = await createServer({ configFile: path.join(root, "vite.config.ts"), server: { port: 0, host: "127.0.0.1" }, logLevel: "warn" });
await server.listen();
const { port } = server.httpServer.address();
const base = `http://127.0.0.1:${port}`;

/** A raw upgrade request: the status the server answers with and the typed error code, or how the connection ended. */
function upgrade(urlPath, headers = {}) {
  return new Promise((resolve) => {
    const req = http.request(`${base}${urlPath}`, {
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
        ...headers,
      },
    });
    req.setTimeout(15_000, () => req.destroy(new Error("timed out")));
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode });
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => {
        let code;
        try {
          code = JSON.parse(body).error?.code;
        } catch {
          code = body.slice(0, 60);
        }
        resolve({ status: res.statusCode, code });
      });
    });
    req.on("error", (e) => resolve({ status: `no answer (${e.message})` }));
    req.end();
  });
}

async function json(method, urlPath, { token, body } = {}) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${urlPath}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json();
  if (!res.ok) throw new Error(`${method} ${urlPath}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

let failed = false;
try {
  await json("GET", "/api/health");
  const { token: userToken } = await json("POST", "/api/auth/dev-signin", { body: { name: "Check", role: "facilitator" } });
  const s = await json("POST", "/api/sessions", { token: userToken, body: { title: "Upgrade check", mediaProvider: "local", settings: { autoAdmit: true } } });
  const preview = await json("POST", `/api/sessions/${s.sessionId}/preview`, { body: { invite: s.invite.token } });
  const guest = await json("POST", `/api/sessions/${s.sessionId}/join`, {
    body: { invite: s.invite.token, name: "Guest", agreementHash: preview.agreement.hash },
  });
  await json("POST", `/api/sessions/${s.sessionId}/commands`, { token: guest.ticket, body: { commandId: `check-${Date.now()}`, command: { type: "leave" } } });
  const forged = `${s.ticket.split(".").slice(0, 2).join(".")}.${"A".repeat(43)}`;
  const ws = (ticket) => `/api/sessions/${s.sessionId}/ws${ticket ? `?ticket=${encodeURIComponent(ticket)}` : ""}`;

  const checks = [
    ["no ticket", ws(), {}, { status: 401, code: "UNAUTHENTICATED" }],
    ["forged ticket", ws(forged), {}, { status: 401, code: "UNAUTHENTICATED" }],
    ["another session's id", `/api/sessions/0000000000/ws?ticket=${encodeURIComponent(s.ticket)}`, {}, { status: 403, code: "WRONG_SESSION" }],
    ["foreign Origin", ws(s.ticket), { Origin: "https://evil.example" }, { status: 403, code: "FORBIDDEN" }],
    ["member who left (refused by the session)", ws(guest.ticket), {}, { status: 409, code: "NOT_ADMITTED" }],
    ["valid ticket", ws(s.ticket), {}, { status: 101 }],
  ];
  for (const [what, urlPath, headers, expected] of checks) {
    const got = await upgrade(urlPath, headers);
    const ok = got.status === expected.status && got.code === expected.code;
    failed ||= !ok;
    console.log(
      `${ok ? "ok  " : "FAIL"} ${what}: ${got.status}${got.code ? ` ${got.code}` : ""}${ok ? "" : ` (expected ${expected.status}${expected.code ? ` ${expected.code}` : ""})`}`,
    );
  }
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await server.close();
}
process.exit(failed ? 1 : 0);
