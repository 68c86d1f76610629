//! Every API operation the client calls, declared once: method, path template, query
//! parameters, whether a retry is safe, and the request and answer types. The client sends
//! nothing that is not an [`Op`] from this table, and the drift test (`drift.rs`) holds the
//! whole table against `clients/openapi.json`: each operation must exist there with that
//! method and path, and its body and answer must be the schemas these types are checked
//! against.

use std::any::TypeId;
use std::marker::PhantomData;

use crate::models::*;
use crate::page::Page;

/// An HTTP method the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Patch,
    Delete,
}

impl Verb {
    pub(crate) fn method(self) -> reqwest::Method {
        match self {
            Verb::Get => reqwest::Method::GET,
            Verb::Post => reqwest::Method::POST,
            Verb::Patch => reqwest::Method::PATCH,
            Verb::Delete => reqwest::Method::DELETE,
        }
    }
}

/// Whether a call may be sent again after a failure that leaves its fate unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Reads, and publishes (their event ids make a repeat a no-op).
    Safe,
    /// Anything else: a second create would create twice.
    Never,
}

/// One operation: `Req` is what its body is made from (`()` for none), `Resp` what its
/// success answer is read into (`()` for 204).
pub(crate) struct Op<Req, Resp> {
    pub(crate) verb: Verb,
    /// The document's path template, `{name}` for each parameter.
    pub(crate) path: &'static str,
    /// The query parameters the client may send.
    pub(crate) query: &'static [&'static str],
    pub(crate) retry: Retry,
    types: PhantomData<fn(Req) -> Resp>,
}

/// What the drift test reads of an [`Op`], whatever its types.
#[cfg_attr(not(test), expect(dead_code, reason = "read by the drift test"))]
pub(crate) trait Described: Sync {
    fn verb(&self) -> Verb;
    fn path(&self) -> &'static str;
    fn query(&self) -> &'static [&'static str];
    fn request(&self) -> TypeId;
    fn response(&self) -> TypeId;
}

impl<Req: 'static, Resp: 'static> Described for Op<Req, Resp> {
    fn verb(&self) -> Verb {
        self.verb
    }
    fn path(&self) -> &'static str {
        self.path
    }
    fn query(&self) -> &'static [&'static str] {
        self.query
    }
    fn request(&self) -> TypeId {
        TypeId::of::<Req>()
    }
    fn response(&self) -> TypeId {
        TypeId::of::<Resp>()
    }
}

/// Declares each operation as a static and lists them all in [`ALL`], so that no operation
/// can escape the drift test.
macro_rules! operations {
    ($($name:ident: $verb:ident $path:literal $(? [$($q:literal),*])?, $retry:ident, $req:ty => $resp:ty;)*) => {
        $(
            pub(crate) static $name: Op<$req, $resp> = Op {
                verb: Verb::$verb,
                path: $path,
                query: &[$($($q),*)?],
                retry: Retry::$retry,
                types: PhantomData,
            };
        )*
        /// Every operation above.
        #[cfg_attr(not(test), expect(dead_code, reason = "read by the drift test"))]
        pub(crate) static ALL: &[&dyn Described] = &[$(&$name),*];
    };
}

operations! {
    HEALTHZ: Get "/healthz", Safe, () => Health;
    READYZ: Get "/readyz", Safe, () => Health;

    PUBLISH: Post "/v1/events", Safe, NewEvent => Published;
    PUBLISH_BATCH: Post "/v1/events/batch", Safe, Batch => BatchResult;
    GET_EVENT: Get "/v1/events/{id}", Safe, () => Event;

    LIST_TENANTS: Get "/v1/tenants" ? ["limit", "cursor"], Safe, () => Page<Tenant>;
    CREATE_TENANT: Post "/v1/tenants", Never, NewTenant => Tenant;
    GET_TENANT: Get "/v1/tenants/{tid}", Safe, () => Tenant;
    UPDATE_TENANT: Patch "/v1/tenants/{tid}", Never, TenantPatch => Tenant;
    DELETE_TENANT: Delete "/v1/tenants/{tid}", Never, () => ();
    CREATE_KEY: Post "/v1/tenants/{tid}/keys", Never, () => TenantKey;
    CREATE_TENANT_LINK: Post "/v1/tenants/{tid}/dashboard-link", Never, () => DashboardLink;
    CREATE_LINK: Post "/v1/dashboard-link", Never, () => DashboardLink;

    LIST_EVENT_TYPES: Get "/v1/event-types" ? ["limit", "cursor"], Safe, () => Page<EventType>;
    CREATE_EVENT_TYPE: Post "/v1/event-types", Never, NewEventType => EventType;
    GET_EVENT_TYPE: Get "/v1/event-types/{name}", Safe, () => EventType;
    UPDATE_EVENT_TYPE: Patch "/v1/event-types/{name}", Never, EventTypePatch => EventType;
    DELETE_EVENT_TYPE: Delete "/v1/event-types/{name}", Never, () => ();

    LIST_WEBHOOKS: Get "/v1/webhooks" ? ["limit", "cursor"], Safe, () => Page<Webhook>;
    CREATE_WEBHOOK: Post "/v1/webhooks", Never, NewWebhook => Webhook;
    GET_WEBHOOK: Get "/v1/webhooks/{id}", Safe, () => Webhook;
    UPDATE_WEBHOOK: Patch "/v1/webhooks/{id}", Never, WebhookPatch => Webhook;
    DELETE_WEBHOOK: Delete "/v1/webhooks/{id}", Never, () => ();
    LIST_DELIVERIES: Get "/v1/webhooks/{id}/deliveries"
        ? ["status", "event_type", "since", "until", "limit", "cursor"], Safe, () => Page<Delivery>;
    REPLAY: Post "/v1/webhooks/{id}/replay", Never, Replay => Replayed;
    ROTATE_SECRET: Post "/v1/webhooks/{id}/rotate-secret", Never, RotateSecret => Rotated;
    WEBHOOK_STATS: Get "/v1/webhooks/{id}/stats" ? ["window"], Safe, () => Stats;
    TEST_WEBHOOK: Post "/v1/webhooks/{id}/test", Never, TestSend => TestResult;

    LIST_TENANT_WEBHOOKS: Get "/v1/tenants/{tid}/webhooks" ? ["limit", "cursor"], Safe, () => Page<Webhook>;
    CREATE_TENANT_WEBHOOK: Post "/v1/tenants/{tid}/webhooks", Never, NewWebhook => Webhook;
    GET_TENANT_WEBHOOK: Get "/v1/tenants/{tid}/webhooks/{id}", Safe, () => Webhook;
    UPDATE_TENANT_WEBHOOK: Patch "/v1/tenants/{tid}/webhooks/{id}", Never, WebhookPatch => Webhook;
    DELETE_TENANT_WEBHOOK: Delete "/v1/tenants/{tid}/webhooks/{id}", Never, () => ();
    LIST_TENANT_DELIVERIES: Get "/v1/tenants/{tid}/webhooks/{id}/deliveries"
        ? ["status", "event_type", "since", "until", "limit", "cursor"], Safe, () => Page<Delivery>;
    REPLAY_TENANT: Post "/v1/tenants/{tid}/webhooks/{id}/replay", Never, Replay => Replayed;
    ROTATE_TENANT_SECRET: Post "/v1/tenants/{tid}/webhooks/{id}/rotate-secret", Never, RotateSecret => Rotated;
    TENANT_WEBHOOK_STATS: Get "/v1/tenants/{tid}/webhooks/{id}/stats" ? ["window"], Safe, () => Stats;
    TEST_TENANT_WEBHOOK: Post "/v1/tenants/{tid}/webhooks/{id}/test", Never, TestSend => TestResult;

    GET_DELIVERY: Get "/v1/deliveries/{id}", Safe, () => DeliveryDetail;
    RETRY_DELIVERY: Post "/v1/deliveries/{id}/retry", Never, () => Delivery;
}
