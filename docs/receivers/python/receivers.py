# Verifying hookrelay deliveries in Python, with the standard library only.
# Each function takes the raw request body (bytes, before any JSON parsing) and returns normally
# for a genuine delivery or raises InvalidSignature. Tested by
# crates/hookrelay-signature/tests/receivers.rs; docs/receiving.md shows the same code.

# --8<-- [start:common]
import base64
import hashlib
import hmac
import time

TOLERANCE = 5 * 60  # seconds: hookrelay's default, as in Standard Webhooks


class InvalidSignature(Exception):
    pass


def check_timestamp(timestamp: str, now: int | None = None) -> None:
    try:
        t = int(timestamp)
    except ValueError:
        raise InvalidSignature("timestamp is not an integer") from None
    now = int(time.time()) if now is None else now
    if abs(now - t) > TOLERANCE:
        raise InvalidSignature("timestamp outside the tolerance")
# --8<-- [end:common]


# --8<-- [start:standard-webhooks]
def verify_standard_webhooks(secret: str, headers, body: bytes, now: int | None = None) -> str:
    """secret is "whsec_..."; headers is a mapping (e.g. Flask's request.headers)."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    check_timestamp(timestamp, now)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for entry in signatures.split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return msg_id  # the event id: use it to deduplicate
    raise InvalidSignature("no matching signature")
# --8<-- [end:standard-webhooks]


# --8<-- [start:hmac-sha256]
def verify_hmac_sha256(
    secret: str, header: str | None, body: bytes, prefix: str = "", encoding: str = "hex"
) -> None:
    """header is the signature header's value, e.g. request.headers.get("X-Mavio-Signature")."""
    if header is None:
        raise InvalidSignature("missing signature header")
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    encoded = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    if not hmac.compare_digest(header.encode(), (prefix + encoded).encode()):
        raise InvalidSignature("signature does not match")
# --8<-- [end:hmac-sha256]


# --8<-- [start:timestamped-key]
def verify_timestamped_key(
    secret: str, header: str | None, body: bytes, now: int | None = None
) -> int:
    """header is e.g. request.headers.get("Mave-Signature"): "t=<unix>, v1=<hex>"."""
    if header is None:
        raise InvalidSignature("missing signature header")
    timestamp, signatures = None, []
    for field in header.split(","):
        name, _, value = field.strip().partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            signatures.append(value.encode())
    if timestamp is None:
        raise InvalidSignature("no t= field")
    check_timestamp(timestamp, now)
    key = f"{timestamp}.{secret}".encode()  # the key, not the message, carries the timestamp
    expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    if not any(hmac.compare_digest(s, expected) for s in signatures):
        raise InvalidSignature("no matching signature")
    return int(timestamp)
# --8<-- [end:timestamped-key]
