/**
 * X-Twilio-Signature verification for Workers and Node (WebCrypto, and `node:querystring`: nodejs_compat is on), with
 * the same verdicts as twilio-node 6.x `validateRequest` / `validateRequestWithBody` / `getExpectedTwilioSignature`
 * (node_modules/twilio/lib/webhooks).
 *
 * Signature = base64(HMAC-SHA1(authToken, url + concat(sorted(params) as name+value, raw))).
 * A request is valid when the header matches the signature of any of these URL forms, in this order:
 *   1. the URL as received, with its port removed / with the default port added (the string Twilio signed);
 *   2. the URL normalised by WHATWG `new URL()`, without / with port, and both again with the query string
 *      re-encoded by Node's legacy `querystring` (parse + stringify), for back ends that signed an escaped form.
 * One deliberate difference: twilio-node throws when the URL is not parseable (step 2); we answer false.
 */

import { parse, stringify } from "node:querystring";

export type TwilioParamPrimitive = string | number | boolean | null | undefined;
/** Params as a form parser yields them; repeated names are arrays (de-duplicated and sorted before signing). */
export type TwilioParamValue = TwilioParamPrimitive | readonly TwilioParamValue[];
export type TwilioParams = Readonly<Record<string, TwilioParamValue>>;

const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------------------------
// Crypto
// ---------------------------------------------------------------------------------------------------------------

function importSigningKey(authToken: string): Promise<CryptoKey> {
  if (typeof authToken !== "string" || authToken.length === 0) {
    // An empty HMAC key would make every signature forgeable; refuse instead of validating against it.
    throw new TypeError("Twilio auth token is required to validate signatures");
  }
  return crypto.subtle.importKey("raw", encoder.encode(authToken), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
}

// Small cache for the functional API: a Worker validates with one or two auth tokens (during rotation).
const KEY_CACHE_LIMIT = 4;
const keyCache = new Map<string, Promise<CryptoKey>>();

function cachedSigningKey(authToken: string): Promise<CryptoKey> {
  const hit = keyCache.get(authToken);
  if (hit) return hit;
  const pending = importSigningKey(authToken);
  pending.catch(() => keyCache.delete(authToken));
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value as string);
  keyCache.set(authToken, pending);
  return pending;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += bytes[i].toString(16).padStart(2, "0");
  return hex;
}

async function hmacBase64(key: CryptoKey, data: string): Promise<string> {
  return toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data))));
}

/** Constant-time equality of the UTF-8 bytes (as twilio's Buffer compare); length is not secret (fixed by SHA-1). */
export function timingSafeEqualString(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

// ---------------------------------------------------------------------------------------------------------------
// The signed string
// ---------------------------------------------------------------------------------------------------------------

function paramString(name: string, value: TwilioParamValue): string {
  if (Array.isArray(value)) {
    // Same as twilio: unique values, default (string) sort, each as name+value.
    return Array.from(new Set(value as readonly TwilioParamValue[]))
      .sort()
      .map((v) => paramString(name, v))
      .join("");
  }
  return name + String(value);
}

/** The params part of the signed string: names sorted (UTF-16 order), each name+value, not URL-encoded. */
export function signedParamsString(params: TwilioParams | null | undefined): string {
  if (!params) return "";
  let out = "";
  for (const name of Object.keys(params).sort()) out += paramString(name, params[name]);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// URL variants (the behaviour of twilio-node's splitUrl / addPort / removePort / withLegacyQuerystring)
// ---------------------------------------------------------------------------------------------------------------

interface UrlParts {
  scheme: string;
  userInfo: string;
  host: string;
  port: string;
  rest: string;
}

/** Splits without normalising, so the path and query keep the exact characters Twilio signed. */
function splitUrl(url: string): UrlParts | null {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!match) return null;
  const [prefix, scheme, authority] = match;
  const userInfoEnd = authority.lastIndexOf("@");
  const hostAndPort = authority.slice(userInfoEnd + 1);
  // A colon only starts the port after the closing bracket of an IPv6 literal.
  const portStart = hostAndPort.indexOf(":", hostAndPort.lastIndexOf("]") + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? "" : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

export function urlWithDefaultPort(url: string): string {
  const parts = splitUrl(url);
  if (!parts || parts.port) return url;
  const port = parts.scheme.toLowerCase() === "https://" ? ":443" : ":80";
  return parts.scheme + parts.userInfo + parts.host + port + parts.rest;
}

export function urlWithoutPort(url: string): string {
  const parts = splitUrl(url);
  if (!parts) return url;
  return parts.scheme + parts.userInfo + parts.host + parts.rest;
}

/**
 * twilio-node's `withLegacyQuerystring`: the query re-encoded by Node's legacy `querystring` (parse, then stringify,
 * default options). `node:querystring` is that very module on Node and workerd's port of it under nodejs_compat, so
 * its quirks ('+' as space, byte-wise fallback for bad escapes, integer-like keys first, the 1000-pair limit) match.
 */
export function urlWithLegacyQuerystring(url: string): string {
  const queryStart = url.indexOf("?");
  if (queryStart === -1 || queryStart === url.length - 1) return url;
  return url.slice(0, queryStart) + "?" + stringify(parse(url.slice(queryStart + 1)));
}

// ---------------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------------

/** URL forms tried after the as-received ones; null when `new URL()` rejects the URL (twilio-node throws there). */
function normalisedCandidates(url: string): string[] | null {
  let normalised: string;
  try {
    normalised = new URL(url).toString();
  } catch {
    return null;
  }
  const withoutPort = urlWithoutPort(normalised);
  const withPort = urlWithDefaultPort(normalised);
  return [withoutPort, withPort, urlWithLegacyQuerystring(withoutPort), urlWithLegacyQuerystring(withPort)];
}

async function validateWithKey(key: CryptoKey, signature: string | null | undefined, url: string, params: TwilioParams | null | undefined): Promise<boolean> {
  const header = signature ?? "";
  const signedParams = signedParamsString(params);
  const tried = new Set<string>();
  const matches = async (candidate: string) => {
    if (tried.has(candidate)) return false; // same string, same verdict: skip the HMAC
    tried.add(candidate);
    return timingSafeEqualString(header, await hmacBase64(key, candidate + signedParams));
  };
  for (const candidate of [urlWithoutPort(url), urlWithDefaultPort(url)]) {
    if (await matches(candidate)) return true;
  }
  const normalised = normalisedCandidates(url);
  if (!normalised) return false;
  for (const candidate of normalised) {
    if (await matches(candidate)) return true;
  }
  return false;
}

async function validateBodyWithKey(key: CryptoKey, signature: string | null | undefined, url: string, body: string): Promise<boolean> {
  let bodyHash: string;
  try {
    bodyHash = new URL(url).searchParams.get("bodySHA256") ?? "";
  } catch {
    return false;
  }
  if (!(await validateWithKey(key, signature, url, {}))) return false;
  return timingSafeEqualString(bodyHash, await expectedTwilioBodyHash(body));
}

/** base64 HMAC-SHA1 Twilio would send for this exact URL and params (no URL variants). */
export async function expectedTwilioSignature(authToken: string, url: string, params?: TwilioParams | null): Promise<string> {
  return hmacBase64(await cachedSigningKey(authToken), url + signedParamsString(params));
}

/** Hex SHA-256 of a JSON body, the value Twilio puts in the `bodySHA256` query parameter. */
export async function expectedTwilioBodyHash(body: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(body))));
}

/** Same verdict as `twilio.validateRequest(authToken, signature, url, params)` (false where twilio would throw). */
export async function validateTwilioRequest(
  authToken: string,
  signature: string | null | undefined,
  url: string,
  params?: TwilioParams | null,
): Promise<boolean> {
  return validateWithKey(await cachedSigningKey(authToken), signature, url, params);
}

/**
 * JSON-body webhooks: same verdict as `twilio.validateRequestWithBody`. The signature covers the URL (which carries
 * `bodySHA256`) with no params; the body must hash to that value.
 */
export async function validateTwilioRequestWithBody(authToken: string, signature: string | null | undefined, url: string, body: string): Promise<boolean> {
  return validateBodyWithKey(await cachedSigningKey(authToken), signature, url, body);
}

/**
 * Form body → params as Twilio signs them: every field, repeated names as arrays (what express.urlencoded gives
 * twilio-node). Use this on the raw body, never a parser that drops repeats.
 */
export function formParams(body: string | URLSearchParams): Record<string, string | string[]> {
  const search = typeof body === "string" ? new URLSearchParams(body) : body;
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of search) {
    const current = out[name];
    if (current === undefined) out[name] = value;
    else if (Array.isArray(current)) current.push(value);
    else out[name] = [current, value];
  }
  return out;
}

/** Holds one auth token's imported key; use in a long-lived object (e.g. per isolate) to skip the cache lookup. */
export class TwilioRequestValidator {
  readonly #key: Promise<CryptoKey>;

  constructor(authToken: string) {
    this.#key = importSigningKey(authToken);
    this.#key.catch(() => undefined); // surfaced on first use, not as an unhandled rejection
  }

  async validate(signature: string | null | undefined, url: string, params?: TwilioParams | null): Promise<boolean> {
    return validateWithKey(await this.#key, signature, url, params);
  }

  async validateWithBody(signature: string | null | undefined, url: string, body: string): Promise<boolean> {
    return validateBodyWithKey(await this.#key, signature, url, body);
  }

  async expectedSignature(url: string, params?: TwilioParams | null): Promise<string> {
    return hmacBase64(await this.#key, url + signedParamsString(params));
  }
}
