// Type-level checks of the hand-written declarations against the generated schema: compiled by
// `npm run typecheck` (tsc --noEmit), never run.
import { Hookrelay, HookrelayError, verify, type Webhook, type PublishInput } from "../src/index.js";

async function usage(): Promise<void> {
  const client = new Hookrelay({ baseUrl: "http://127.0.0.1:8080", key: "hra_…" });
  const event: PublishInput = { type: "order.paid", data: { order_id: 1042, lines: [{ sku: "a" }] } };
  const published = await client.publish(event);
  const id: string = published.id;
  const webhook: Webhook = await client.webhooks.create({ url: "https://example.com/hook", events: ["order.*"] });
  const secret: string | null | undefined = webhook.secret;
  for await (const delivery of client.webhooks.deliveries(webhook.id, { status: "failed", limit: 10 })) {
    const status: string = delivery.status;
    void status;
  }
  try {
    await client.tenants.get("acme");
  } catch (error) {
    if (error instanceof HookrelayError && error.code === "not_found") void error.field;
  }
  const verified = verify(webhook.signature, [secret ?? ""], { "webhook-id": "x" }, new Uint8Array(), { now: 0 });
  void verified.msgId;
  void id;
}
void usage;
