// An independent implementation of Standard Webhooks asymmetric signatures (`v1a`) on Node's
// built-in `crypto` (OpenSSL's Ed25519; nothing to install), written from the specification:
// Ed25519 over "<msg_id>.<timestamp>.<payload>", keys `whsk_`/`whpk_` + base64, signatures
// `v1a,<base64>` in the space-separated `webhook-signature` header.
// Usage: node ed25519.js < requests.json > results.json. Driven by tests/asymmetric_node.rs.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");

const base64url = (buf) => buf.toString("base64url");

function message(r) {
  return Buffer.concat([
    Buffer.from(`${r.msg_id}.${r.timestamp}.`, "utf8"),
    Buffer.from(r.payload_base64, "base64"),
  ]);
}

// A `whpk_` key as a KeyObject, through its JWK (the raw 32 bytes are the JWK's `x`).
function publicKey(whpk) {
  if (!whpk.startsWith("whpk_")) throw new Error("not a whpk_ key");
  const raw = Buffer.from(whpk.slice(5), "base64");
  if (raw.length !== 32) throw new Error("a public key is 32 bytes");
  return crypto.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: base64url(raw) }, format: "jwk" });
}

function run(r) {
  if (r.op === "version") return process.version;
  if (r.op === "verify") {
    // Any `v1a` entry valid under any key passes; other versions are not ours to check.
    const keys = r.public_keys.map(publicKey);
    const msg = message(r);
    return r.signature_header
      .split(" ")
      .filter((entry) => entry.startsWith("v1a,"))
      .some((entry) => {
        const sig = Buffer.from(entry.slice(4), "base64");
        return sig.length === 64 && keys.some((key) => crypto.verify(null, msg, key, sig));
      });
  }
  if (r.op === "sign") {
    // A fresh key pair from OpenSSL; the seed and the public key come back as whsk_/whpk_.
    const { publicKey: pub, privateKey } = crypto.generateKeyPairSync("ed25519");
    const jwk = privateKey.export({ format: "jwk" });
    const sig = crypto.sign(null, message(r), privateKey);
    return {
      secret_key: `whsk_${Buffer.from(jwk.d, "base64url").toString("base64")}`,
      public_key: `whpk_${Buffer.from(pub.export({ format: "jwk" }).x, "base64url").toString("base64")}`,
      signature: `v1a,${sig.toString("base64")}`,
    };
  }
  throw new Error(`unknown op ${r.op}`);
}

const results = JSON.parse(fs.readFileSync(0, "utf8")).map((r) => {
  try {
    return { ok: true, value: run(r) };
  } catch (e) {
    return { ok: false, error: `${e.name}: ${e.message}` };
  }
});
process.stdout.write(JSON.stringify(results));
