"""Runs the receiver snippets of docs/receivers/python/receivers.py on cases read from stdin.

Usage: python3 receivers.py <path to receivers.py> < cases.json > results.json
Input: a JSON list of cases, each with "scheme", "secret", "headers" (lowercase names),
"body_b64", "now", and for hmac-sha256 / timestamped-key "header_name" (plus "prefix" and
"encoding" for hmac-sha256). Output: a JSON list of {"ok": true, "value": ...} or
{"ok": false, "error": "..."}, one per case. Driven by tests/receivers.rs.
"""

import base64
import importlib.util
import json
import sys

spec = importlib.util.spec_from_file_location("receivers", sys.argv[1])
receivers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(receivers)


def run(case):
    body = base64.b64decode(case["body_b64"])
    headers = case["headers"]
    scheme = case["scheme"]
    if scheme == "standard-webhooks":
        return receivers.verify_standard_webhooks(case["secret"], headers, body, now=case["now"])
    header = headers.get(case["header_name"].lower())
    if scheme == "hmac-sha256":
        return receivers.verify_hmac_sha256(
            case["secret"], header, body, prefix=case["prefix"], encoding=case["encoding"]
        )
    if scheme == "timestamped-key":
        return receivers.verify_timestamped_key(case["secret"], header, body, now=case["now"])
    raise ValueError(f"unknown scheme {scheme!r}")


results = []
for case in json.load(sys.stdin):
    try:
        results.append({"ok": True, "value": run(case)})
    except receivers.InvalidSignature as e:
        results.append({"ok": False, "error": str(e)})
json.dump(results, sys.stdout)
