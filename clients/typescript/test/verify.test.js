// The verify helpers against the Standard Webhooks vectors the repository keeps
// (crates/hookrelay-signature/tests/vectors), the v1a example of docs/receiving.md, and the
// reference documents' cases pinned in crates/hookrelay-signature/tests/seeds.rs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  WebhookVerificationError,
  verify,
  verifyHmacSha256,
  verifyStandardWebhooks,
  verifyTimestampedKey,
} from "../src/verify.js";

const vectors = JSON.parse(
  readFileSync(new URL("../../../crates/hookrelay-signature/tests/vectors/standard-webhooks.json", import.meta.url)),
).vectors;

const rejects = (reason, fn) =>
  assert.throws(fn, (error) => error instanceof WebhookVerificationError && error.reason === reason);

const swHeaders = (v) => ({
  "webhook-id": v.msg_id,
  "webhook-timestamp": String(v.timestamp),
  "webhook-signature": v.signature_header ?? v.expected_signature,
});

test("every Standard Webhooks vector verifies or fails as it says", () => {
  assert.ok(vectors.length >= 5);
  for (const v of vectors) {
    const run = () => verifyStandardWebhooks(v.secret, swHeaders(v), v.payload, { now: v.timestamp });
    if (v.valid) {
      assert.deepEqual(run(), { msgId: v.msg_id, timestamp: v.timestamp }, v.name);
    } else {
      rejects("no_matching_signature", run);
    }
  }
});

test("a Standard Webhooks delivery fails when tampered, stale, early or unsigned", () => {
  const v = vectors.find((x) => x.name === "sign_basic");
  const headers = swHeaders(v);
  rejects("no_matching_signature", () => verifyStandardWebhooks(v.secret, headers, `${v.payload} `, { now: v.timestamp }));
  rejects("no_matching_signature", () =>
    verifyStandardWebhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx", headers, v.payload, { now: v.timestamp }),
  );
  rejects("no_matching_signature", () =>
    verifyStandardWebhooks(v.secret, { ...headers, "webhook-id": "msg_other" }, v.payload, { now: v.timestamp }),
  );
  rejects("timestamp_out_of_tolerance", () => verifyStandardWebhooks(v.secret, headers, v.payload, { now: v.timestamp + 301 }));
  rejects("timestamp_out_of_tolerance", () => verifyStandardWebhooks(v.secret, headers, v.payload, { now: v.timestamp - 301 }));
  assert.equal(verifyStandardWebhooks(v.secret, headers, v.payload, { now: v.timestamp + 300 }).msgId, v.msg_id);
  // tolerance: null checks a captured delivery long after.
  assert.equal(verifyStandardWebhooks(v.secret, headers, v.payload, { tolerance: null }).timestamp, v.timestamp);
  rejects("missing_header", () => verifyStandardWebhooks(v.secret, { "webhook-id": v.msg_id }, v.payload));
  rejects("malformed_header", () =>
    verifyStandardWebhooks(v.secret, { ...headers, "webhook-timestamp": "soon" }, v.payload, { now: v.timestamp }),
  );
});

test("headers are found in any case, in a fetch Headers or a Map, and the body may be bytes", () => {
  const v = vectors.find((x) => x.name === "sign_basic");
  const upper = Object.fromEntries(Object.entries(swHeaders(v)).map(([k, val]) => [k.toUpperCase(), val]));
  const body = new TextEncoder().encode(v.payload);
  for (const headers of [upper, new Headers(swHeaders(v)), new Map(Object.entries(swHeaders(v)))]) {
    assert.equal(verifyStandardWebhooks([v.secret], headers, body, { now: v.timestamp }).msgId, v.msg_id);
  }
  assert.equal(verifyStandardWebhooks(v.secret, swHeaders(v), Buffer.from(v.payload), { now: v.timestamp }).msgId, v.msg_id);
});

test("during a rotation either secret matches", () => {
  const v = vectors.find((x) => x.name === "sign_basic");
  const secrets = ["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", v.secret];
  assert.equal(verify("standard-webhooks", secrets, swHeaders(v), v.payload, { now: v.timestamp }).msgId, v.msg_id);
});

// docs/receiving.md, "Standard Webhooks v1a" (checked there by the Rust doctest).
const v1a = {
  key: "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
  headers: {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature":
      "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoVmAb2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAw==",
  },
  body: '{"test": 2432232314}',
  now: 1614265330 + 60,
};

test("a v1a (Ed25519) signature verifies with the webhook's public key, and only the genuine body", () => {
  const { key, headers, body, now } = v1a;
  assert.deepEqual(verify({ scheme: "standard-webhooks-v1a" }, key, headers, body, { now }), {
    msgId: "msg_p5jXN8AQM9LWM0D4loKWxJek",
    timestamp: 1614265330,
  });
  rejects("no_matching_signature", () => verify("standard-webhooks-v1a", key, headers, '{"test": 2432232315}', { now }));
  // A v1 secret does not accept a v1a entry, nor a whpk_ key a v1 entry.
  rejects("no_matching_signature", () => verify("standard-webhooks", vectors[0].secret, headers, body, { now }));
  const v = vectors.find((x) => x.name === "sign_basic");
  rejects("no_matching_signature", () => verifyStandardWebhooks(key, swHeaders(v), v.payload, { now: v.timestamp }));
  // Mixed lists: a whsec_ secret and a whpk_ key together, each checking its own entries.
  const mixed = { ...headers, "webhook-signature": `${swHeaders(v)["webhook-signature"]} ${headers["webhook-signature"]}` };
  assert.equal(verifyStandardWebhooks([v.secret, key], mixed, body, { now }).msgId, headers["webhook-id"]);
});

// The reference documents' cases (crates/hookrelay-signature/tests/seeds.rs).
const seeds = [
  {
    name: "000 mavio",
    signature: { scheme: "hmac-sha256", header: "X-Mavio-Signature" },
    secret: "mavio_secret_123",
    body: '{"id":"evt_123","type":"meeting.completed","created_at":"2024-01-15T10:30:00Z","data":{"meeting_id":"m_1"}}',
    value: "4a5393bab475ab20e0b3e61d71e2712f3a1f5c587c37262528e1f889bda38f37",
  },
  {
    name: "001 sha256= prefix",
    signature: { scheme: "hmac-sha256", header: "X-Webhook-Signature", prefix: "sha256=" },
    secret: "whk_secret_001",
    body: '{"event":"recording.created","timestamp":"2024-01-15T10:00:00Z","data":{"recording":{"id":999,"title":"Test Recording","status":"new"}}}',
    value: "sha256=9e3ea3a9efc0feaeae04e90112fec39d9e1d22ba713b6a8f4c5cf0687f64ae0e",
  },
  {
    name: "002 mave timestamped key",
    signature: { scheme: "timestamped-key", header: "Mave-Signature" },
    secret: "mave_secret_abc",
    body: '{"id":"j3bw2jWb6q7aWGwChsgR86","object":"event","data":{"created":1643723737,"embed_url":"","id":"k1iFD7h4rW","last_upload":null,"object":"video"},"type":"video.created","created":1643723823}',
    value: "t=1643723823, v1=235b3aa821f12f49fce05797c8470728cd94d0bb4e704796aa66c037917f6139",
    timestamp: 1643723823,
  },
  {
    name: "003 mave long secret",
    signature: { scheme: "timestamped-key", header: "Mave-Signature" },
    secret: "mave_whsec_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    body: '{"id":"j3bw2jWb6q7aWGwChsgR86","object":"event","data":{"created":1643723737,"duration":null,"id":"k1iFD7h4rW","last_upload":null,"name":null,"object":"video","poster_image":null,"size":null,"renditions":["sd","hd"]},"type":"video.created","created":1643723823}',
    value: "t=1643723823, v1=6d16e9b8c811e077592fedf58d1b5db060085a5011c412e42e9b8f42dd4a7591",
    timestamp: 1643723823,
  },
  {
    name: "004 meetgeek",
    signature: { scheme: "hmac-sha256", header: "X-MG-Signature" },
    secret: "mg-secret-xyz",
    body: '{\n    "message": "File analyzed successfully",\n    "meeting_id": "9433976b-cfa3-4373-9afb-eb0b7a5915df"\n}',
    value: "4b49907da90dcc544f6e019d68c026c82e8d9d8cc60b062abf1ed49c39257760",
  },
  {
    name: "hmac-sha256 in base64",
    signature: { scheme: "hmac-sha256", header: "X-Sig", encoding: "base64", prefix: "v1=" },
    secret: "key",
    body: "hello",
    value: "v1=kwezuRXvtRcf8U2MtV+8x5jGwO8UVtZt7RpqpyOli3s=",
  },
];

test("every reference document's signature verifies, and fails on another body or secret", () => {
  for (const seed of seeds) {
    const headers = { [seed.signature.header.toLowerCase()]: seed.value };
    const now = seed.timestamp ?? 0;
    assert.deepEqual(verify(seed.signature, seed.secret, headers, seed.body, { now }), {
      msgId: undefined,
      timestamp: seed.timestamp,
    }, seed.name);
    rejects("no_matching_signature", () => verify(seed.signature, seed.secret, headers, `${seed.body} `, { now }));
    rejects("no_matching_signature", () => verify(seed.signature, `${seed.secret}x`, headers, seed.body, { now }));
    rejects("missing_header", () => verify(seed.signature, seed.secret, {}, seed.body, { now }));
  }
});

test("the scheme-specific helpers reject malformed headers and stale timestamps", () => {
  const [mavio, prefixed, mave] = seeds;
  rejects("malformed_header", () =>
    verifyHmacSha256(mavio.secret, { "x-mavio-signature": "zz" }, mavio.body, mavio.signature),
  );
  rejects("malformed_header", () =>
    verifyHmacSha256(prefixed.secret, { "x-webhook-signature": prefixed.value.slice(7) }, prefixed.body, prefixed.signature),
  );
  const header = { "mave-signature": mave.value };
  assert.equal(verifyTimestampedKey(mave.secret, header, mave.body, { ...mave.signature, now: mave.timestamp }).timestamp, mave.timestamp);
  rejects("timestamp_out_of_tolerance", () =>
    verifyTimestampedKey(mave.secret, header, mave.body, { ...mave.signature, now: mave.timestamp + 301 }),
  );
  rejects("malformed_header", () =>
    verifyTimestampedKey(mave.secret, { "mave-signature": "v1=00" }, mave.body, mave.signature),
  );
  assert.throws(() => verify({ scheme: "rot13" }, "s", {}, ""), TypeError);
});

test("garbage signature entries are no match, not a crash", () => {
  const headers = { "webhook-id": "m", "webhook-timestamp": "100", "webhook-signature": "v1a,abc v1a,%%% v1,zz v1a v1," };
  rejects("no_matching_signature", () => verify("standard-webhooks-v1a", v1a.key, headers, "x", { now: 100 }));
  rejects("no_matching_signature", () => verify("standard-webhooks", vectors[0].secret, headers, "x", { now: 100 }));
  rejects("no_matching_signature", () =>
    verifyTimestampedKey("s", { "mave-signature": "t=100, v1=zz, v1=" }, "x", { header: "Mave-Signature", now: 100 }),
  );
});
