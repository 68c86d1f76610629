"""Signs and verifies with the official Standard Webhooks Python library (PyPI
`standardwebhooks`, installed into .python/ beside this file by scripts/install-test-deps.sh).

Usage: python3 official.py < requests.json > results.json
Input: a JSON list of requests:
  {"op": "version"}
  {"op": "sign", "secret", "msg_id", "timestamp", "payload"}
  {"op": "verify", "secret", "headers", "payload", "now"}  (the library's clock frozen at "now")
Output: one {"ok": true, "value": ...} or {"ok": false, "error": "..."} per request.
Driven by tests/official_libraries.rs.
"""

import json
import os
import sys
from datetime import datetime, timezone
from importlib.metadata import version

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".python"))

from standardwebhooks import webhooks  # noqa: E402

frozen_now = None


class FrozenDatetime(datetime):
    """What the library sees as `datetime`: `now()` answers the request's "now"."""

    @classmethod
    def now(cls, tz=None):
        return datetime.fromtimestamp(frozen_now, tz=tz)


webhooks.datetime = FrozenDatetime


def run(request):
    global frozen_now
    op = request["op"]
    if op == "version":
        return version("standardwebhooks")
    wh = webhooks.Webhook(request["secret"])
    if op == "sign":
        timestamp = datetime.fromtimestamp(request["timestamp"], tz=timezone.utc)
        return wh.sign(request["msg_id"], timestamp, request["payload"])
    if op == "verify":
        frozen_now = request["now"]
        return wh.verify(request["payload"].encode(), request["headers"], json_parse=False)
    raise ValueError(f"unknown op {op!r}")


results = []
for request in json.load(sys.stdin):
    try:
        results.append({"ok": True, "value": run(request)})
    except Exception as e:  # the library raises several exception types
        results.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
json.dump(results, sys.stdout)
