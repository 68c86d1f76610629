// The hookrelay API client: one method per operation, grouped by resource, over Transport.
import { randomUUID } from "node:crypto";

import { Transport } from "./transport.js";

const seg = encodeURIComponent;

/** A fresh event id, so that a publish can be retried without publishing twice. */
export function newEventId() {
  return `evt_${randomUUID().replaceAll("-", "")}`;
}

export class Hookrelay {
  /**
   * @param {{ baseUrl: string | URL, key?: string, retry?: object, timeoutMs?: number, fetch?: typeof fetch }} options
   */
  constructor(options) {
    const http = new Transport(options);
    const call = (method, path, init) => http.request(method, path, init);
    const pages = (path, query) => paginate(call, path, query);
    this.tenants = new Tenants(call, pages);
    this.webhooks = new Webhooks(call, pages);
    this.events = new Events(call);
    this.deliveries = new Deliveries(call);
    this.eventTypes = new EventTypes(call, pages);
    this.request = call;
  }

  /**
   * Publishes an event. Its `id` is the idempotency key: generated here when absent, so that
   * the retries after a 503 or a lost connection publish it once. A repeat answers the same id.
   */
  publish(event) {
    return this.events.publish(event);
  }
}

/** Every item of a list, page after page, following `next_cursor`. */
async function* paginate(call, path, query = {}) {
  let cursor;
  do {
    const page = await call("GET", path, { query: { ...query, cursor } });
    yield* page.data;
    cursor = page.next_cursor;
  } while (cursor);
}

class Tenants {
  #call;
  #pages;
  constructor(call, pages) {
    this.#call = call;
    this.#pages = pages;
  }
  list(query) {
    return this.#pages("/v1/tenants", query);
  }
  create(tenant) {
    return this.#call("POST", "/v1/tenants", { body: tenant });
  }
  get(id) {
    return this.#call("GET", `/v1/tenants/${seg(id)}`);
  }
  update(id, patch) {
    return this.#call("PATCH", `/v1/tenants/${seg(id)}`, { body: patch });
  }
  delete(id) {
    return this.#call("DELETE", `/v1/tenants/${seg(id)}`);
  }
  /** A new API key scoped to this tenant (shown once). */
  createKey(id) {
    return this.#call("POST", `/v1/tenants/${seg(id)}/keys`);
  }
  createDashboardLink(id) {
    return this.#call("POST", `/v1/tenants/${seg(id)}/dashboard-link`);
  }
}

class Webhooks {
  #call;
  #pages;
  constructor(call, pages) {
    this.#call = call;
    this.#pages = pages;
  }
  // Without `tenant`, the key's own tenant (`default` for the admin key).
  #base(tenant) {
    return tenant === undefined ? "/v1/webhooks" : `/v1/tenants/${seg(tenant)}/webhooks`;
  }
  #one(id, tenant) {
    return `${this.#base(tenant)}/${seg(id)}`;
  }
  list({ tenant, ...query } = {}) {
    return this.#pages(this.#base(tenant), query);
  }
  create(webhook, { tenant } = {}) {
    return this.#call("POST", this.#base(tenant), { body: webhook });
  }
  get(id, { tenant } = {}) {
    return this.#call("GET", this.#one(id, tenant));
  }
  update(id, patch, { tenant } = {}) {
    return this.#call("PATCH", this.#one(id, tenant), { body: patch });
  }
  delete(id, { tenant } = {}) {
    return this.#call("DELETE", this.#one(id, tenant));
  }
  rotateSecret(id, body = {}, { tenant } = {}) {
    return this.#call("POST", `${this.#one(id, tenant)}/rotate-secret`, { body });
  }
  test(id, body = {}, { tenant } = {}) {
    return this.#call("POST", `${this.#one(id, tenant)}/test`, { body });
  }
  replay(id, body, { tenant } = {}) {
    return this.#call("POST", `${this.#one(id, tenant)}/replay`, { body });
  }
  stats(id, { tenant, ...query } = {}) {
    return this.#call("GET", `${this.#one(id, tenant)}/stats`, { query });
  }
  /** The webhook's deliveries, newest first; filters: status, event_type, since, until, limit. */
  deliveries(id, { tenant, ...query } = {}) {
    return this.#pages(`${this.#one(id, tenant)}/deliveries`, query);
  }
}

class Events {
  #call;
  constructor(call) {
    this.#call = call;
  }
  publish(event) {
    const body = { ...event, id: event.id ?? newEventId() };
    return this.#call("POST", "/v1/events", { body, retryable: true });
  }
  /** Publishes up to 1,000 events in one request; each gets an id here when it has none. */
  publishBatch(events) {
    const body = { events: events.map((event) => ({ ...event, id: event.id ?? newEventId() })) };
    return this.#call("POST", "/v1/events/batch", { body, retryable: true });
  }
  get(id) {
    return this.#call("GET", `/v1/events/${seg(id)}`);
  }
}

class Deliveries {
  #call;
  constructor(call) {
    this.#call = call;
  }
  get(id) {
    return this.#call("GET", `/v1/deliveries/${seg(id)}`);
  }
  retry(id) {
    return this.#call("POST", `/v1/deliveries/${seg(id)}/retry`);
  }
}

class EventTypes {
  #call;
  #pages;
  constructor(call, pages) {
    this.#call = call;
    this.#pages = pages;
  }
  list(query) {
    return this.#pages("/v1/event-types", query);
  }
  create(eventType) {
    return this.#call("POST", "/v1/event-types", { body: eventType });
  }
  get(name) {
    return this.#call("GET", `/v1/event-types/${seg(name)}`);
  }
  update(name, patch) {
    return this.#call("PATCH", `/v1/event-types/${seg(name)}`, { body: patch });
  }
  delete(name) {
    return this.#call("DELETE", `/v1/event-types/${seg(name)}`);
  }
}
