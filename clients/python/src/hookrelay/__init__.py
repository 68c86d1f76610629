"""The Python client of hookrelay, a self-hosted webhook delivery service.

- :class:`Client` publishes events and manages tenants, webhooks and deliveries;
- :mod:`hookrelay.verify` checks, on the receiving side, that a delivery is authentic;
- :mod:`hookrelay.models` holds the API's types, generated from its OpenAPI document.
"""

from . import models, verify
from .client import Client, new_event_id
from .transport import HookrelayError

__all__ = ["Client", "HookrelayError", "models", "new_event_id", "verify"]
