// The peer for the token benchmark: a token server built the way Twilio's reference apps build theirs
// (Express + the `twilio` package's AccessToken + VideoGrant, @twilio-labs/plugin-rtc's request shape
// `{ user_identity, room_name, create_room }`, ttl 14400), plus the same user check our endpoint makes: the caller's
// HS256 member ticket, verified with `jsonwebtoken` (installed as a dependency of `twilio`).
//
// The ticket key is what worker/auth/app-tokens.ts derives: HKDF-SHA256(APP_SIGNING_SECRET,
// salt "mindbloom-video/app-tokens/v1", info "hs256:ticket") → 32-byte HMAC key; derived once at start, as any server would.
// Room lookup/creation over Twilio REST (create_room: true in plugin-rtc) is not done: our endpoint does not call Twilio
// per token either, so both sides do auth + signing only.
import { hkdfSync } from "node:crypto";
import express from "express";
import jwt from "jsonwebtoken";
import twilio from "twilio";

const { AccessToken } = twilio.jwt;
const { VideoGrant } = AccessToken;

const env = process.env;
for (const k of ["APP_SIGNING_SECRET", "TWILIO_ACCOUNT_SID", "TWILIO_API_KEY_SID", "TWILIO_API_KEY_SECRET"]) {
  if (!env[k]) throw new Error(`${k} is required`);
}
const ticketKey = Buffer.from(hkdfSync("sha256", env.APP_SIGNING_SECRET, "mindbloom-video/app-tokens/v1", "hs256:ticket", 32));

const app = express();
app.disable("x-powered-by");
app.use(express.json({ limit: "16kb" }));

app.post("/token", (req, res) => {
  const m = /^Bearer\s+(\S+)$/i.exec(req.get("authorization") ?? "");
  if (!m) return res.status(401).json({ error: { code: "UNAUTHENTICATED", message: "a session ticket is required" } });
  let claims;
  try {
    claims = jwt.verify(m[1], ticketKey, {
      algorithms: ["HS256"],
      issuer: "mindbloom-video",
      audience: "mindbloom-video:ticket",
      clockTolerance: 5,
    });
  } catch (e) {
    return res.status(401).json({ error: { code: "UNAUTHENTICATED", message: String(e.message) } });
  }
  if (claims.typ !== "ticket" || typeof claims.sub !== "string" || typeof claims.sid !== "string") {
    return res.status(401).json({ error: { code: "UNAUTHENTICATED", message: "not a member ticket" } });
  }
  const { room_name: roomName } = req.body ?? {};
  if (typeof roomName !== "string" || !roomName) return res.status(400).json({ error: { code: "INVALID_MESSAGE", message: "room_name is required" } });
  const token = new AccessToken(env.TWILIO_ACCOUNT_SID, env.TWILIO_API_KEY_SID, env.TWILIO_API_KEY_SECRET, { identity: claims.sub, ttl: 14400 });
  token.addGrant(new VideoGrant({ room: roomName }));
  return res.json({ token: token.toJwt(), room_type: "group" });
});

const server = app.listen(Number(env.PORT ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
