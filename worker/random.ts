/** Random ids and link codes the Worker mints: `bytes` random bytes from the platform's CSPRNG, as text. */
import { Buffer } from "node:buffer";

const randomBytes = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes)));

/** Lowercase hex, 2 characters a byte. */
export const randomHex = (bytes: number): string => randomBytes(bytes).toString("hex");

/** base64url without padding (A–Z a–z 0–9 - _): 16 bytes make 22 characters. */
export const randomBase64url = (bytes: number): string => randomBytes(bytes).toString("base64url");
