// Verifying hookrelay deliveries in Node.js, with node:crypto only.
// Each function takes the raw request body (a Buffer, before any JSON parsing, e.g. from
// express.raw({ type: "*/*" })) and returns normally for a genuine delivery or throws.
// Tested by crates/hookrelay-signature/tests/receivers.rs; docs/receiving.md shows the same code.
"use strict";

// --8<-- [start:common]
const crypto = require("node:crypto");

const TOLERANCE = 5 * 60; // seconds: hookrelay's default, as in Standard Webhooks

function safeEqual(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function checkTimestamp(timestamp, now = Math.floor(Date.now() / 1000)) {
  if (!/^-?\d+$/.test(timestamp)) throw new Error("timestamp is not an integer");
  if (Math.abs(now - Number(timestamp)) > TOLERANCE) {
    throw new Error("timestamp outside the tolerance");
  }
}
// --8<-- [end:common]

// --8<-- [start:standard-webhooks]
// secret is "whsec_..."; headers is req.headers (lowercase names).
function verifyStandardWebhooks(secret, headers, body, now) {
  const msgId = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (!msgId || !timestamp || !signatures) {
    throw new Error("missing webhook-id, webhook-timestamp or webhook-signature");
  }
  checkTimestamp(timestamp, now);
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = crypto
    .createHmac("sha256", key)
    .update(`${msgId}.${timestamp}.`)
    .update(body)
    .digest("base64");
  for (const entry of signatures.split(" ")) {
    const [version, ...rest] = entry.split(",");
    if (version === "v1" && safeEqual(rest.join(","), expected)) {
      return msgId; // the event id: use it to deduplicate
    }
  }
  throw new Error("no matching signature");
}
// --8<-- [end:standard-webhooks]

// --8<-- [start:standard-webhooks-v1a]
// publicKey is the webhook's "public_key", "whpk_..."; headers is req.headers.
function verifyStandardWebhooksV1a(publicKey, headers, body, now) {
  const msgId = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (!msgId || !timestamp || !signatures) {
    throw new Error("missing webhook-id, webhook-timestamp or webhook-signature");
  }
  checkTimestamp(timestamp, now);
  // The raw 32-byte key is the "x" of a JSON Web Key.
  const x = Buffer.from(publicKey.replace(/^whpk_/, ""), "base64").toString("base64url");
  const key = crypto.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
  const signed = Buffer.concat([Buffer.from(`${msgId}.${timestamp}.`), body]);
  for (const entry of signatures.split(" ")) {
    const [version, signature] = entry.split(",");
    if (version === "v1a" && crypto.verify(null, signed, key, Buffer.from(signature, "base64"))) {
      return msgId; // the event id: use it to deduplicate
    }
  }
  throw new Error("no matching signature");
}
// --8<-- [end:standard-webhooks-v1a]

// --8<-- [start:hmac-sha256]
// header is the signature header's value, e.g. req.headers["x-mavio-signature"].
function verifyHmacSha256(secret, header, body, prefix = "", encoding = "hex") {
  if (header === undefined) throw new Error("missing signature header");
  const expected = crypto.createHmac("sha256", secret).update(body).digest(encoding);
  if (!safeEqual(header, prefix + expected)) throw new Error("signature does not match");
}
// --8<-- [end:hmac-sha256]

// --8<-- [start:timestamped-key]
// header is e.g. req.headers["mave-signature"]: "t=<unix>, v1=<hex>".
function verifyTimestampedKey(secret, header, body, now) {
  if (header === undefined) throw new Error("missing signature header");
  let timestamp;
  const signatures = [];
  for (const field of header.split(",")) {
    const [name, ...rest] = field.trim().split("=");
    if (name === "t") timestamp = rest.join("=");
    else if (name === "v1") signatures.push(rest.join("="));
  }
  if (timestamp === undefined) throw new Error("no t= field");
  checkTimestamp(timestamp, now);
  // The key, not the message, carries the timestamp.
  const key = `${timestamp}.${secret}`;
  const expected = crypto.createHmac("sha256", key).update(body).digest("hex");
  if (!signatures.some((s) => safeEqual(s, expected))) throw new Error("no matching signature");
  return Number(timestamp);
}
// --8<-- [end:timestamped-key]

module.exports = {
  verifyStandardWebhooks,
  verifyStandardWebhooksV1a,
  verifyHmacSha256,
  verifyTimestampedKey,
};
