// Types of the client (hand-written over the generated schema.d.ts, which they refer to, so that
// a change in the API's document shows up here at type-check time).
import type { components, operations } from "./schema.js";

export * from "./verify.js";
export type { components, operations, paths } from "./schema.js";

type Schemas = components["schemas"];
type Query<Op extends keyof operations> = NonNullable<operations[Op]["parameters"]["query"]>;
type ListQuery<Op extends keyof operations> = Omit<Query<Op>, "cursor">;

export type Tenant = Schemas["TenantOut"];
export type TenantInput = Schemas["TenantIn"];
export type TenantPatch = Schemas["TenantPatch"];
export type ApiKey = Schemas["KeyOut"];
export type DashboardLink = Schemas["LinkOut"];
export type Webhook = Schemas["WebhookOut"];
export type WebhookInput = Schemas["WebhookIn"];
export type WebhookPatch = Schemas["WebhookPatch"];
export type WebhookStats = Schemas["StatsOut"];
export type RotateInput = Schemas["RotateIn"];
export type Rotated = Schemas["RotateOut"];
export type TestInput = Schemas["TestIn"];
export type TestResult = Schemas["TestOut"];
export type ReplayInput = Schemas["ReplayIn"];
export type Replayed = Schemas["ReplayOut"];
export type Delivery = Schemas["DeliveryOut"];
export type DeliveryDetail = Schemas["DeliveryDetail"];
export type Event = Schemas["EventOut"];
export type EventType = Schemas["EventTypeOut"];
export type EventTypeInput = Schemas["EventTypeIn"];
export type EventTypePatch = Schemas["EventTypePatch"];
export type Published = Schemas["PublishOut"];
export type BatchResult = Schemas["BatchOut"];
export type ErrorDetail = Schemas["ErrorDetail"];

/**
 * An event to publish. The generator reads the document's `data` (any JSON object) as an
 * object with no properties; any JSON object is meant.
 */
export type PublishInput = Omit<Schemas["PublishIn"], "data"> & { data: Record<string, unknown> };

export interface RetryOptions {
  /** Tries in all, for retryable calls (default 4). */
  attempts?: number;
  /** The first backoff's upper bound; each further one doubles it (default 250). */
  baseDelayMs?: number;
  /** The longest wait between tries, `Retry-After` included (default 5000). */
  maxDelayMs?: number;
}

export declare const DEFAULT_RETRY: Readonly<Required<RetryOptions>>;

export interface HookrelayOptions {
  /** Where hookrelay listens, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string | URL;
  /** The admin key or a tenant key, sent as `Authorization: Bearer <key>`. */
  key?: string;
  retry?: RetryOptions;
  /** Per try (default 30000). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export declare class HookrelayError extends Error {
  /** The HTTP status; undefined when no response came. */
  readonly status: number | undefined;
  /** The error JSON's `code` (`validation_failed`, `not_found`, …), or `connection_failed`. */
  readonly code: string;
  /** The offending field, for validation errors. */
  readonly field: string | undefined;
}

export declare function newEventId(): string;

interface TenantScoped {
  /** Another tenant's webhooks (admin key); default: the key's own tenant. */
  tenant?: string;
}

export declare class Hookrelay {
  constructor(options: HookrelayOptions);
  /** Publishes an event, retried with its id as the idempotency key (generated when absent). */
  publish(event: PublishInput): Promise<Published>;
  /** Any call, for what the methods do not cover. */
  request<T = unknown>(
    method: string,
    path: string,
    init?: { query?: Record<string, unknown>; body?: unknown; retryable?: boolean },
  ): Promise<T>;
  readonly tenants: {
    list(query?: ListQuery<"list_tenants">): AsyncIterableIterator<Tenant>;
    create(tenant: TenantInput): Promise<Tenant>;
    get(id: string): Promise<Tenant>;
    update(id: string, patch: TenantPatch): Promise<Tenant>;
    delete(id: string): Promise<void>;
    createKey(id: string): Promise<ApiKey>;
    createDashboardLink(id: string): Promise<DashboardLink>;
  };
  readonly webhooks: {
    list(query?: ListQuery<"list_webhooks"> & TenantScoped): AsyncIterableIterator<Webhook>;
    create(webhook: WebhookInput, scope?: TenantScoped): Promise<Webhook>;
    get(id: string, scope?: TenantScoped): Promise<Webhook>;
    update(id: string, patch: WebhookPatch, scope?: TenantScoped): Promise<Webhook>;
    delete(id: string, scope?: TenantScoped): Promise<void>;
    rotateSecret(id: string, body?: RotateInput, scope?: TenantScoped): Promise<Rotated>;
    test(id: string, body?: TestInput, scope?: TenantScoped): Promise<TestResult>;
    replay(id: string, body: ReplayInput, scope?: TenantScoped): Promise<Replayed>;
    stats(id: string, query?: Query<"webhook_stats"> & TenantScoped): Promise<WebhookStats>;
    deliveries(id: string, query?: ListQuery<"list_deliveries"> & TenantScoped): AsyncIterableIterator<Delivery>;
  };
  readonly events: {
    publish(event: PublishInput): Promise<Published>;
    publishBatch(events: PublishInput[]): Promise<BatchResult>;
    get(id: string): Promise<Event>;
  };
  readonly deliveries: {
    get(id: string): Promise<DeliveryDetail>;
    retry(id: string): Promise<Delivery>;
  };
  readonly eventTypes: {
    list(query?: ListQuery<"list_event_types">): AsyncIterableIterator<EventType>;
    create(eventType: EventTypeInput): Promise<EventType>;
    get(name: string): Promise<EventType>;
    update(name: string, patch: EventTypePatch): Promise<EventType>;
    delete(name: string): Promise<void>;
  };
}
