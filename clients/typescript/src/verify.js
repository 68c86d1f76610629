// Verifying hookrelay deliveries on the receiving side, with node:crypto only: every wire format
// hookrelay signs (crates/hookrelay-signature is the reference; docs/receiving.md the guide).
// Each function takes the raw body (the bytes as received, before any JSON parsing) and returns
// { msgId, timestamp } or throws a WebhookVerificationError.
import crypto from "node:crypto";

/** Seconds a signed timestamp may be away from now, either way: hookrelay's default. */
export const DEFAULT_TOLERANCE = 5 * 60;

export class WebhookVerificationError extends Error {
  /**
   * @param {"missing_header" | "malformed_header" | "timestamp_out_of_tolerance" | "no_matching_signature"} reason
   * @param {string} message
   */
  constructor(reason, message) {
    super(message);
    this.name = "WebhookVerificationError";
    this.reason = reason;
  }
}

const fail = (reason, message) => {
  throw new WebhookVerificationError(reason, message);
};

/**
 * Verifies a delivery signed as `signature` says: the webhook's `signature` object from the API
 * (e.g. `{ scheme: "hmac-sha256", header: "X-Mavio-Signature" }`) or a scheme name.
 */
export function verify(signature, secrets, headers, body, options = {}) {
  const config = typeof signature === "string" ? { scheme: signature } : signature;
  switch (config.scheme) {
    case "standard-webhooks":
    case "standard-webhooks-v1a":
      return verifyStandardWebhooks(secrets, headers, body, options);
    case "hmac-sha256":
      return verifyHmacSha256(secrets, headers, body, { ...options, ...config });
    case "timestamped-key":
      return verifyTimestampedKey(secrets, headers, body, { ...options, ...config });
    default:
      throw new TypeError(`unknown signature scheme ${JSON.stringify(config.scheme)}`);
  }
}

/**
 * Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`. A `whsec_` secret
 * (or a bare base64 one) checks the `v1` (HMAC-SHA256) entries, a `whpk_` public key the `v1a`
 * (Ed25519) ones; during a rotation pass both secrets or keys.
 */
export function verifyStandardWebhooks(secrets, headers, body, options = {}) {
  const msgId = required(headers, "webhook-id");
  const rawTimestamp = required(headers, "webhook-timestamp");
  const signatures = required(headers, "webhook-signature");
  const timestamp = parseTimestamp(rawTimestamp, "webhook-timestamp");
  checkTolerance(timestamp, options);
  const signed = Buffer.concat([Buffer.from(`${msgId}.${rawTimestamp}.`), bytes(body)]);
  const entries = signatures.split(" ").map((entry) => {
    const comma = entry.indexOf(",");
    return comma < 0 ? [entry, ""] : [entry.slice(0, comma), entry.slice(comma + 1)];
  });
  let matched = false;
  for (const secret of list(secrets)) {
    if (secret.startsWith("whpk_")) {
      const key = ed25519Key(secret);
      for (const [version, sig] of entries) {
        // Evaluated for every entry, so the time taken does not tell which one matched.
        matched =
          (version === "v1a" && crypto.verify(null, signed, key, Buffer.from(sig, "base64"))) ||
          matched;
      }
    } else {
      const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
      const expected = crypto.createHmac("sha256", key).update(signed).digest();
      for (const [version, sig] of entries) {
        matched = (version === "v1" && safeEqual(Buffer.from(sig, "base64"), expected)) || matched;
      }
    }
  }
  if (!matched) noMatch();
  return { msgId, timestamp };
}

/** hmac-sha256: `<header>: <prefix><hex or base64 of HMAC-SHA256(secret, body)>`. */
export function verifyHmacSha256(secrets, headers, body, { header, prefix = "", encoding = "hex" }) {
  const value = required(headers, header);
  if (!value.startsWith(prefix)) {
    fail("malformed_header", `malformed header \`${header}\`: does not start with the configured prefix`);
  }
  const given = decode(value.slice(prefix.length), encoding);
  if (given === undefined) {
    fail("malformed_header", `malformed header \`${header}\`: not the ${encoding} of a 32-byte HMAC-SHA256`);
  }
  let matched = false;
  for (const secret of list(secrets)) {
    const expected = crypto.createHmac("sha256", secret).update(bytes(body)).digest();
    matched = safeEqual(given, expected) || matched;
  }
  if (!matched) noMatch();
  return { msgId: undefined, timestamp: undefined };
}

/** timestamped-key: `<header>: t=<unix>, v1=<hex>`, HMAC-SHA256 of the body keyed `"<t>.<secret>"`. */
export function verifyTimestampedKey(secrets, headers, body, { header, ...options }) {
  const value = required(headers, header);
  let rawTimestamp;
  const signatures = [];
  for (const field of value.split(",")) {
    const [name, ...rest] = field.trim().split("=");
    if (name === "t") rawTimestamp = rest.join("=");
    else if (name === "v1") signatures.push(decode(rest.join("="), "hex"));
  }
  if (rawTimestamp === undefined) fail("malformed_header", `malformed header \`${header}\`: no \`t=\` field`);
  const timestamp = parseTimestamp(rawTimestamp, header);
  if (signatures.length === 0) fail("malformed_header", `malformed header \`${header}\`: no \`v1=\` field`);
  checkTolerance(timestamp, options);
  let matched = false;
  for (const secret of list(secrets)) {
    // The key, not the message, carries the timestamp.
    const expected = crypto.createHmac("sha256", `${rawTimestamp}.${secret}`).update(bytes(body)).digest();
    for (const given of signatures) matched = (given !== undefined && safeEqual(given, expected)) || matched;
  }
  if (!matched) noMatch();
  return { msgId: undefined, timestamp };
}

/** Reads a header from a plain object (any case; Node's req.headers), a fetch `Headers` or a Map. */
function required(headers, name) {
  let value;
  if (typeof headers.get === "function") {
    value = headers.get(name) ?? headers.get(name.toLowerCase());
  } else {
    const wanted = name.toLowerCase();
    const key = Object.keys(headers).find((k) => k.toLowerCase() === wanted);
    value = key === undefined ? undefined : headers[key];
  }
  if (Array.isArray(value)) value = value.join(", ");
  if (value === undefined || value === null || value === "") {
    fail("missing_header", `missing header \`${name}\``);
  }
  return String(value);
}

function parseTimestamp(raw, header) {
  if (!/^-?\d{1,15}$/.test(raw)) {
    fail("malformed_header", `malformed header \`${header}\`: not an integer unix timestamp`);
  }
  return Number(raw);
}

function checkTolerance(timestamp, { now = Math.floor(Date.now() / 1000), tolerance = DEFAULT_TOLERANCE }) {
  // tolerance: null turns the check off, e.g. to check a captured delivery later.
  if (tolerance !== null && Math.abs(now - timestamp) > tolerance) {
    fail(
      "timestamp_out_of_tolerance",
      `signed timestamp ${timestamp} is ${Math.abs(now - timestamp)} s ${timestamp <= now ? "in the past" : "in the future"} (now is ${now}), outside the allowed tolerance`,
    );
  }
}

function noMatch() {
  fail("no_matching_signature", "no signature matches: wrong secret, or the body, id or timestamp was altered");
}

function ed25519Key(publicKey) {
  const raw = Buffer.from(publicKey.slice("whpk_".length), "base64");
  if (raw.length !== 32) throw new TypeError("a whpk_ key is the base64 of 32 bytes");
  // The raw 32-byte key is the "x" of a JSON Web Key.
  return crypto.createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") },
    format: "jwk",
  });
}

function decode(text, encoding) {
  const valid = encoding === "hex" ? /^[0-9a-fA-F]{64}$/ : /^[A-Za-z0-9+/]{43}=?$/;
  return valid.test(text) ? Buffer.from(text, encoding === "hex" ? "hex" : "base64") : undefined;
}

function safeEqual(a, b) {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function bytes(body) {
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function list(secrets) {
  const all = Array.isArray(secrets) ? secrets : [secrets];
  if (all.length === 0) throw new TypeError("no secret to verify with");
  return all;
}
