"""HTTP for the client: the standard library's ``urllib``, JSON in and out, the bearer key on
every request, and retries with backoff for requests that are safe to send again."""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Mapping, Optional

__all__ = ["HookrelayError", "Transport"]


class HookrelayError(Exception):
    """An error answer from hookrelay: ``{"error": {"code", "message", "field"?}}``.

    ``status`` is the HTTP status; ``code`` is stable (``validation_failed``, ``not_found``,
    ``conflict``, ``unauthorized``, …); ``field`` names the offending field of a 422.
    """

    def __init__(self, status: int, code: str, message: str, field: Optional[str] = None) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" (field `{field}`)" if field else ""))
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class Transport:
    """Sends requests to one hookrelay server with one key."""

    def __init__(self, base_url: str, key: str, *, timeout: float, retries: int, backoff: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def __repr__(self) -> str:
        # Never show the key.
        return f"Transport({self.base_url!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Optional[Mapping[str, Any]] = None,
        retry: bool = False,
    ) -> Any:
        """Sends one request and returns the decoded JSON (``None`` for an empty answer).

        With ``retry`` (requests that are safe to repeat: reads, and publishes, which carry an
        idempotency key) a 503 or a connection failure is retried up to ``retries`` times, after
        an exponentially growing, jittered wait (or the server's ``Retry-After``).
        """
        url = self.base_url + path
        pairs = [(k, str(v)) for k, v in (query or {}).items() if v is not None]
        if pairs:
            url += "?" + urllib.parse.urlencode(pairs)
        data = None if body is None else json.dumps(body).encode()
        attempt = 0
        while True:
            wait = None
            try:
                return self._send(method, url, data)
            except HookrelayError as e:
                if not (retry and e.status == 503 and attempt < self.retries):
                    raise
                wait = getattr(e, "retry_after", None)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if not (retry and attempt < self.retries):
                    raise
            delay = wait if wait is not None else self.backoff * (2**attempt) * (0.5 + random.random())
            time.sleep(min(delay, 30.0))
            attempt += 1

    def _send(self, method: str, url: str, data: Optional[bytes]) -> Any:
        headers = {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise _error(e) from None
        return json.loads(raw) if raw else None


def _error(e: urllib.error.HTTPError) -> HookrelayError:
    raw = e.read()
    try:
        detail = json.loads(raw)["error"]
        err = HookrelayError(e.code, detail["code"], detail["message"], detail.get("field"))
    except (ValueError, KeyError, TypeError):
        err = HookrelayError(e.code, "http_error", raw.decode(errors="replace") or e.reason)
    retry_after = e.headers.get("Retry-After") if e.headers else None
    if retry_after and retry_after.isdigit():
        err.retry_after = float(retry_after)
    return err
