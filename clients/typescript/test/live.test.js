// The client against a real hookrelay server, started by crates/hookrelay/tests/it/
// clients_typescript.rs, which passes its address and admin key in HOOKRELAY_URL and
// HOOKRELAY_ADMIN_KEY. Deliveries go to receivers this file runs on 127.0.0.1, where the verify
// helpers check them.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { test } from "node:test";

import { Hookrelay, HookrelayError, verify } from "../src/index.js";

const baseUrl = process.env.HOOKRELAY_URL;
const key = process.env.HOOKRELAY_ADMIN_KEY;
const skip = baseUrl && key ? false : "HOOKRELAY_URL and HOOKRELAY_ADMIN_KEY are not set: no server to test against";
if (skip) console.warn(`SKIPPED live tests: ${skip}`);

const client = () => new Hookrelay({ baseUrl, key, retry: { baseDelayMs: 10 } });
const unique = (prefix) => `${prefix}_${process.hrtime.bigint().toString(36)}`;

/** An HTTP server on 127.0.0.1 that records each request (raw body included) and answers 200. */
async function receiver(t) {
  const received = [];
  const waiters = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    received.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
    res.end("ok");
    for (const waiter of waiters.splice(0)) waiter();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => server.close());
  return {
    url: (path) => `http://127.0.0.1:${server.address().port}${path}`,
    /** The first request to `path`, once it has come (node --test's timeout bounds the wait). */
    async arrival(path) {
      for (;;) {
        const found = received.find((r) => r.url === path);
        if (found) return found;
        await new Promise((resolve) => waiters.push(resolve));
      }
    },
    count: (path) => received.filter((r) => r.url === path).length,
  };
}

/**
 * A proxy in front of the server that spoils the first request matching `spoil`: "drop" sends it
 * on and then cuts the connection before the answer (a lost response), "503" answers as
 * hookrelay does when it cannot reach its database. Later requests pass through.
 */
async function faultyProxy(t, mode, spoil) {
  const seen = [];
  let spoiled = false;
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    seen.push({ method: req.method, url: req.url, body: body.toString() });
    const fault = !spoiled && spoil(req);
    if (fault && mode === "503") {
      spoiled = true;
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "unavailable", message: "the database cannot be reached" } }));
      return;
    }
    const upstream = await fetch(new URL(req.url, baseUrl), {
      method: req.method,
      headers: { authorization: req.headers.authorization ?? "", "content-type": "application/json" },
      body: body.length ? body : undefined,
    });
    const text = await upstream.text();
    if (fault) {
      spoiled = true;
      req.socket.destroy();
      return;
    }
    res.writeHead(upstream.status, { "content-type": "application/json" });
    res.end(text);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${server.address().port}`, seen };
}

test("tenants: create, get, update, list page by page, delete", { skip }, async () => {
  const hr = client();
  const ids = [unique("t_a"), unique("t_b"), unique("t_c")];
  for (const id of ids) {
    const created = await hr.tenants.create({ id, name: `Tenant ${id}` });
    assert.equal(created.id, id);
  }
  assert.equal((await hr.tenants.get(ids[0])).name, `Tenant ${ids[0]}`);
  assert.equal((await hr.tenants.update(ids[0], { name: "Renamed" })).name, "Renamed");
  // limit 1: one tenant per page, so the iterator follows next_cursor through every page.
  const listed = [];
  for await (const tenant of hr.tenants.list({ limit: 1 })) listed.push(tenant.id);
  assert.equal(new Set(listed).size, listed.length, "no tenant twice");
  for (const id of ids) assert.ok(listed.includes(id), `${id} listed`);
  await hr.tenants.delete(ids[2]);
  await assert.rejects(hr.tenants.get(ids[2]), (e) => e instanceof HookrelayError && e.status === 404 && e.code === "not_found");
});

test("errors carry the error JSON's code, message and field", { skip }, async () => {
  await assert.rejects(client().webhooks.create({ url: "not a url" }), (e) => {
    assert.ok(e instanceof HookrelayError);
    assert.equal(e.status, 422);
    assert.equal(e.code, "validation_failed");
    assert.equal(e.field, "url");
    assert.match(e.message, /absolute http\(s\) URL/);
    return true;
  });
  const stranger = new Hookrelay({ baseUrl, key: "hra_not_the_key" });
  await assert.rejects(stranger.tenants.get("default"), (e) => e.status === 401 && e.code === "unauthorized");
});

test("webhooks: create, get, update, list and delete in a tenant", { skip }, async () => {
  const hr = client();
  const tenant = (await hr.tenants.create({ id: unique("t_wh") })).id;
  const made = [];
  for (const n of [1, 2, 3]) {
    made.push((await hr.webhooks.create({ url: `https://example.com/hook/${n}` }, { tenant })).id);
  }
  const listed = [];
  for await (const webhook of hr.webhooks.list({ tenant, limit: 2 })) listed.push(webhook.id);
  assert.deepEqual(listed.toSorted(), made.toSorted());
  const updated = await hr.webhooks.update(made[0], { description: "orders", events: ["order.*"] }, { tenant });
  assert.deepEqual([updated.description, updated.events], ["orders", ["order.*"]]);
  assert.equal((await hr.webhooks.get(made[0], { tenant })).description, "orders");
  await hr.webhooks.delete(made[0], { tenant });
  await assert.rejects(hr.webhooks.get(made[0], { tenant }), (e) => e.code === "not_found");
});

test("a delivery of each wire format verifies with the helper, given the webhook's signature config", { skip }, async (t) => {
  const hr = client();
  const inbox = await receiver(t);
  const tenant = (await hr.tenants.create({ id: unique("t_sig") })).id;
  const signatures = [
    { scheme: "standard-webhooks" },
    { scheme: "standard-webhooks-v1a" },
    { scheme: "hmac-sha256", header: "X-Webhook-Signature", prefix: "sha256=" },
    { scheme: "hmac-sha256", header: "X-Sig", encoding: "base64" },
    { scheme: "timestamped-key", header: "Mave-Signature" },
  ];
  const webhooks = [];
  for (const [n, signature] of signatures.entries()) {
    webhooks.push(await hr.webhooks.create({ url: inbox.url(`/hook/${n}`), signature }, { tenant }));
  }
  const published = await hr.publish({ type: "order.paid", tenant, data: { order_id: 1042 } });
  assert.match(published.id, /^evt_[0-9a-f]{32}$/, "the client chose the id");
  assert.equal(published.deliveries, signatures.length);
  for (const [n, webhook] of webhooks.entries()) {
    const delivery = await inbox.arrival(`/hook/${n}`);
    const secret = webhook.signature.scheme === "standard-webhooks-v1a" ? webhook.public_key : webhook.secret;
    assert.ok(secret, `${webhook.signature.scheme} has a secret or key`);
    const verified = verify(webhook.signature, secret, delivery.headers, delivery.body);
    assert.equal(delivery.headers["webhook-id"], published.id);
    if (webhook.signature.scheme.startsWith("standard-webhooks")) assert.equal(verified.msgId, published.id);
    assert.throws(() => verify(webhook.signature, secret, delivery.headers, Buffer.concat([delivery.body, Buffer.from(" ")])));
  }
  // The deliveries list shows each one, once it is recorded.
  for (const webhook of webhooks) {
    for (;;) {
      const deliveries = [];
      for await (const d of hr.webhooks.deliveries(webhook.id, { tenant })) deliveries.push(d);
      assert.equal(deliveries.length, 1);
      if (deliveries[0].status === "succeeded") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
});

test("a publish whose response was lost is sent again with the same id and published once", { skip }, async (t) => {
  const inbox = await receiver(t);
  const admin = client();
  const tenant = (await admin.tenants.create({ id: unique("t_lost") })).id;
  await admin.webhooks.create({ url: inbox.url("/lost") }, { tenant });
  const proxy = await faultyProxy(t, "drop", (req) => req.url === "/v1/events");
  const hr = new Hookrelay({ baseUrl: proxy.url, key, retry: { baseDelayMs: 10 } });
  const published = await hr.publish({ type: "order.paid", tenant, data: { n: 1 } });
  const sent = proxy.seen.filter((r) => r.url === "/v1/events");
  assert.equal(sent.length, 2, "sent twice");
  assert.equal(JSON.parse(sent[0].body).id, published.id);
  assert.equal(JSON.parse(sent[1].body).id, published.id);
  assert.equal((await admin.events.get(published.id)).id, published.id);
  await inbox.arrival("/lost");
  const deliveries = [];
  for await (const d of admin.webhooks.list({ tenant })) {
    for await (const delivery of admin.webhooks.deliveries(d.id, { tenant })) deliveries.push(delivery);
  }
  assert.equal(deliveries.length, 1, "one delivery, not two");
});

test("a publish answered 503 is retried; a create that lost its answer is not", { skip }, async (t) => {
  const inbox = await receiver(t);
  const admin = client();
  const tenant = (await admin.tenants.create({ id: unique("t_503") })).id;
  await admin.webhooks.create({ url: inbox.url("/503") }, { tenant });
  const proxy = await faultyProxy(t, "503", (req) => req.url === "/v1/events");
  const hr = new Hookrelay({ baseUrl: proxy.url, key, retry: { baseDelayMs: 10 } });
  const id = unique("order");
  const published = await hr.publish({ id, type: "order.paid", tenant, data: {} });
  assert.deepEqual(published, { id, deliveries: 1 });
  assert.equal(proxy.seen.filter((r) => r.url === "/v1/events").length, 2);
  assert.equal((await inbox.arrival("/503")).headers["webhook-id"], id);

  const dropping = await faultyProxy(t, "drop", (req) => req.url === "/v1/tenants");
  const creator = new Hookrelay({ baseUrl: dropping.url, key, retry: { baseDelayMs: 10 } });
  await assert.rejects(creator.tenants.create({ id: unique("t_once") }), (e) => e.code === "connection_failed" && e.status === undefined);
  assert.equal(dropping.seen.length, 1, "a write without an idempotency key is sent once");
});

test("an unreachable server fails with connection_failed after the retries", { skip }, async () => {
  const closed = createServer();
  closed.listen(0, "127.0.0.1");
  await once(closed, "listening");
  const { port } = closed.address();
  closed.close();
  await once(closed, "close");
  const hr = new Hookrelay({ baseUrl: `http://127.0.0.1:${port}`, key, retry: { attempts: 3, baseDelayMs: 1 } });
  await assert.rejects(hr.publish({ type: "a", data: {} }), (e) => e instanceof HookrelayError && e.code === "connection_failed");
});
