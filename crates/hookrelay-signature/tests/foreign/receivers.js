// Runs the receiver snippets of docs/receivers/node/receivers.js on cases read from stdin.
// Usage: node receivers.js <path to receivers.js> < cases.json > results.json
// Same input and output as receivers.py beside this file. Driven by tests/receivers.rs.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const receivers = require(path.resolve(process.argv[2]));

function run(c) {
  const body = Buffer.from(c.body_b64, "base64");
  if (c.scheme === "standard-webhooks") {
    return receivers.verifyStandardWebhooks(c.secret, c.headers, body, c.now);
  }
  if (c.scheme === "standard-webhooks-v1a") {
    return receivers.verifyStandardWebhooksV1a(c.secret, c.headers, body, c.now);
  }
  const header = c.headers[c.header_name.toLowerCase()];
  if (c.scheme === "hmac-sha256") {
    return receivers.verifyHmacSha256(c.secret, header, body, c.prefix, c.encoding);
  }
  if (c.scheme === "timestamped-key") {
    return receivers.verifyTimestampedKey(c.secret, header, body, c.now);
  }
  throw new TypeError(`unknown scheme ${c.scheme}`);
}

const results = JSON.parse(fs.readFileSync(0, "utf8")).map((c) => {
  try {
    const value = run(c);
    return { ok: true, value: value === undefined ? null : value };
  } catch (e) {
    if (e instanceof TypeError) throw e;
    return { ok: false, error: e.message };
  }
});
process.stdout.write(JSON.stringify(results));
