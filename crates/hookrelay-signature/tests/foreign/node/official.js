// Signs and verifies with the official Standard Webhooks Node library (npm `standardwebhooks`,
// pinned by package.json and package-lock.json beside this file and installed into node_modules/
// by scripts/install-test-deps.sh).
// Usage: node official.js < requests.json > results.json
// Same requests and results as ../official.py. Driven by tests/official_libraries.rs.
"use strict";

const fs = require("node:fs");
const { Webhook } = require("standardwebhooks");

const realNow = Date.now;

function run(r) {
  if (r.op === "version") return require("standardwebhooks/package.json").version;
  const wh = new Webhook(r.secret);
  if (r.op === "sign") return wh.sign(r.msg_id, new Date(r.timestamp * 1000), r.payload);
  if (r.op === "verify") {
    // The library reads the clock with Date.now(): freeze it at the request's "now".
    Date.now = () => r.now * 1000;
    try {
      wh.verify(Buffer.from(r.payload, "utf8"), r.headers, { jsonParse: false });
      return null;
    } finally {
      Date.now = realNow;
    }
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
