"""``Client``: hookrelay's API as Python methods. Bodies and answers are the generated
TypedDicts of :mod:`hookrelay.models` (plain dicts at run time); lists are iterators that
follow ``next_cursor``; publishing is retried safely because the event id is its idempotency
key."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any, Iterator, Optional

from . import models
from .transport import Transport

__all__ = ["Client"]


class Client:
    """A client of one hookrelay server, authenticated with one API key (admin or tenant).

    ``retries`` bounds how often a request that is safe to repeat (reads and publishes) is sent
    again after a 503 or a connection failure; waits start at ``backoff`` seconds and double.
    """

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.25,
    ) -> None:
        self._http = Transport(base_url, key, timeout=timeout, retries=retries, backoff=backoff)

    def __repr__(self) -> str:
        return f"Client({self._http.base_url!r})"

    # Events ---------------------------------------------------------------------------------

    def publish(
        self,
        type: str,
        data: dict[str, Any],
        *,
        id: Optional[str] = None,
        tenant: Optional[str] = None,
        tenants: Optional[list[str]] = None,
        channels: Optional[list[str]] = None,
    ) -> models.PublishOut:
        """Publishes one event. Without ``id`` one is generated here, before the first try, so
        that retries after a lost answer or a 503 never publish the event twice."""
        body: dict[str, Any] = {"id": id or new_event_id(), "type": type, "data": data}
        for name, value in (("tenant", tenant), ("tenants", tenants), ("channels", channels)):
            if value is not None:
                body[name] = value
        return self._http.request("POST", "/v1/events", body=body, retry=True)

    def publish_batch(self, events: list[models.PublishIn]) -> models.BatchOut:
        """Publishes up to 1,000 events at once; events without an ``id`` get one here."""
        body = {"events": [{**e, "id": e.get("id") or new_event_id()} for e in events]}
        return self._http.request("POST", "/v1/events/batch", body=body, retry=True)

    def get_event(self, id: str) -> models.EventOut:
        return self._http.request("GET", f"/v1/events/{_seg(id)}", retry=True)

    # Tenants --------------------------------------------------------------------------------

    def create_tenant(self, id: str, *, name: Optional[str] = None, contact_email: Optional[str] = None) -> models.TenantOut:
        body = _fields(id=id, name=name, contact_email=contact_email)
        return self._http.request("POST", "/v1/tenants", body=body)

    def get_tenant(self, id: str) -> models.TenantOut:
        return self._http.request("GET", f"/v1/tenants/{_seg(id)}", retry=True)

    def update_tenant(self, id: str, patch: models.TenantPatch) -> models.TenantOut:
        return self._http.request("PATCH", f"/v1/tenants/{_seg(id)}", body=patch)

    def delete_tenant(self, id: str) -> None:
        self._http.request("DELETE", f"/v1/tenants/{_seg(id)}")

    def create_tenant_key(self, id: str) -> models.KeyOut:
        """A new API key scoped to the tenant (shown once)."""
        return self._http.request("POST", f"/v1/tenants/{_seg(id)}/keys")

    def list_tenants(self, *, limit: Optional[int] = None) -> Iterator[models.TenantOut]:
        return self._paginate("/v1/tenants", limit)

    # Webhooks -------------------------------------------------------------------------------

    def create_webhook(self, webhook: models.WebhookIn, *, tenant: Optional[str] = None) -> models.WebhookOut:
        """Subscribes an endpoint; the answer holds its ``secret`` (or ``public_key``)."""
        return self._http.request("POST", _webhooks(tenant), body=webhook)

    def get_webhook(self, id: str, *, tenant: Optional[str] = None) -> models.WebhookOut:
        return self._http.request("GET", f"{_webhooks(tenant)}/{_seg(id)}", retry=True)

    def update_webhook(self, id: str, patch: models.WebhookPatch, *, tenant: Optional[str] = None) -> models.WebhookOut:
        return self._http.request("PATCH", f"{_webhooks(tenant)}/{_seg(id)}", body=patch)

    def delete_webhook(self, id: str, *, tenant: Optional[str] = None) -> None:
        self._http.request("DELETE", f"{_webhooks(tenant)}/{_seg(id)}")

    def rotate_secret(self, id: str, *, secret: Optional[str] = None, tenant: Optional[str] = None) -> models.RotateOut:
        body = None if secret is None else {"secret": secret}
        return self._http.request("POST", f"{_webhooks(tenant)}/{_seg(id)}/rotate-secret", body=body)

    def list_webhooks(self, *, tenant: Optional[str] = None, limit: Optional[int] = None) -> Iterator[models.WebhookOut]:
        return self._paginate(_webhooks(tenant), limit)

    # Deliveries -----------------------------------------------------------------------------

    def list_deliveries(
        self, webhook_id: str, *, tenant: Optional[str] = None, limit: Optional[int] = None, **filters: Any
    ) -> Iterator[models.DeliveryOut]:
        """The webhook's delivery log, newest first; ``filters`` are the API's query parameters."""
        return self._paginate(f"{_webhooks(tenant)}/{_seg(webhook_id)}/deliveries", limit, filters)

    def get_delivery(self, id: str) -> models.DeliveryDetail:
        return self._http.request("GET", f"/v1/deliveries/{_seg(id)}", retry=True)

    def retry_delivery(self, id: str) -> models.DeliveryOut:
        return self._http.request("POST", f"/v1/deliveries/{_seg(id)}/retry")

    # Event types ----------------------------------------------------------------------------

    def create_event_type(self, event_type: models.EventTypeIn) -> models.EventTypeOut:
        return self._http.request("POST", "/v1/event-types", body=event_type)

    def list_event_types(self, *, limit: Optional[int] = None) -> Iterator[models.EventTypeOut]:
        return self._paginate("/v1/event-types", limit)

    # ----------------------------------------------------------------------------------------

    def _paginate(self, path: str, limit: Optional[int], filters: Optional[dict] = None) -> Iterator[Any]:
        """Yields every item of a list, fetching the next page (``?cursor=<next_cursor>``) only
        when the previous one is used up."""
        cursor = None
        while True:
            query = {**(filters or {}), "limit": limit, "cursor": cursor}
            page = self._http.request("GET", path, query=query, retry=True)
            yield from page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return


def new_event_id() -> str:
    """A fresh event id (``evt_`` and 32 hex digits), to publish with and retry under."""
    return f"evt_{uuid.uuid4().hex}"


def _webhooks(tenant: Optional[str]) -> str:
    return "/v1/webhooks" if tenant is None else f"/v1/tenants/{_seg(tenant)}/webhooks"


def _seg(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _fields(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}
