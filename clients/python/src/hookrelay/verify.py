"""Verifying hookrelay deliveries on the receiving side, for every wire format hookrelay signs.

Each function reads the request's headers (a ``dict``, a list of pairs, or the ``headers`` of
``http.server`` / ``email.message.Message``: anything with ``items()``; names compare
case-insensitively, the first value wins) and the *raw* body bytes, and raises a
:class:`VerifyError` subclass when the request is not authentic. They mirror the Rust crate
``hookrelay-signature`` check for check, so a request one accepts the other accepts:

- Standard Webhooks ``v1`` (HMAC-SHA256, ``whsec_`` secrets) and ``v1a`` (Ed25519, ``whpk_``
  public keys; needs the ``cryptography`` package, an optional dependency);
- ``hmac-sha256``: HMAC-SHA256 of the body in one header, hex or base64, with a prefix;
- ``timestamped-key``: ``t=<unix>, v1=<hex>`` keyed with ``"<t>.<secret>"``.

MACs are compared in constant time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

__all__ = [
    "DEFAULT_TOLERANCE",
    "Verified",
    "VerifyError",
    "MissingHeader",
    "MalformedHeader",
    "TimestampOutOfTolerance",
    "NoMatchingSignature",
    "standard_webhooks",
    "hmac_sha256",
    "timestamped_key",
    "webhook",
]

#: Largest accepted distance, in seconds, between a signed timestamp and now.
DEFAULT_TOLERANCE = 300

Headers = Union[Mapping[str, str], Iterable[Sequence[str]], Any]
Secrets = Union[str, Sequence[str]]

_TIMESTAMP = re.compile(r"[+-]?[0-9]+\Z", re.ASCII)
_HEX = re.compile(r"[0-9A-Fa-f]*\Z", re.ASCII)
_I64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Verified:
    """What a successful check learned from the signed headers."""

    #: The signed message id (``webhook-id``: the event id); ``None`` when the scheme signs none.
    msg_id: Optional[str]
    #: The signed unix timestamp; ``None`` for ``hmac-sha256``.
    timestamp: Optional[int]


class VerifyError(Exception):
    """The request is not a delivery signed with any of the given secrets."""


class MissingHeader(VerifyError):
    """A required header is absent."""

    def __init__(self, header: str) -> None:
        super().__init__(f"missing header `{header}`")
        self.header = header


class MalformedHeader(VerifyError):
    """A header is present but cannot be parsed."""

    def __init__(self, header: str, reason: str) -> None:
        super().__init__(f"malformed header `{header}`: {reason}")
        self.header = header
        self.reason = reason


class TimestampOutOfTolerance(VerifyError):
    """The signed timestamp is further from now than the tolerance allows (a replay?)."""

    def __init__(self, timestamp: int, now: int) -> None:
        super().__init__(f"signed timestamp {timestamp} is {abs(now - timestamp)} s from now ({now})")
        self.timestamp = timestamp
        self.now = now


class NoMatchingSignature(VerifyError):
    """No signature matches: wrong secret, or the body, id or timestamp was altered."""

    def __init__(self) -> None:
        super().__init__("no signature matches: wrong secret, or the body, id or timestamp was altered")


def standard_webhooks(
    secrets: Secrets,
    headers: Headers,
    body: bytes,
    *,
    now: Optional[int] = None,
    tolerance: Optional[int] = DEFAULT_TOLERANCE,
) -> Verified:
    """Checks a Standard Webhooks delivery (schemes ``standard-webhooks`` and ``-v1a``).

    ``secrets`` are ``whsec_`` secrets (``v1`` signatures) and/or ``whpk_`` public keys (``v1a``);
    several may be given during a rotation. ``now`` defaults to the clock; ``tolerance=None``
    skips the timestamp check (the timestamp must still parse).
    """
    secrets = _as_list(secrets)
    lookup = _Lookup(headers)
    msg_id = lookup.required("webhook-id")
    raw_timestamp = lookup.required("webhook-timestamp")
    signature = lookup.required("webhook-signature")
    timestamp = _parse_timestamp(raw_timestamp)
    if timestamp is None:
        raise MalformedHeader("webhook-timestamp", "not an integer unix timestamp")
    _check_tolerance(timestamp, now, tolerance)
    mac_keys, ed_keys = [], []
    for secret in secrets:
        if secret.startswith(("whsk_", "whpk_")):
            ed_keys.append(_ed25519_public_key(secret))
        else:
            mac_keys.append(_standard_webhooks_key(secret))
    signed = b"%s.%s.%s" % (msg_id.encode(), raw_timestamp.encode(), body)
    entries = [e.split(",", 1) for e in signature.split(" ") if "," in e]
    tally = _Tally()
    use_mac = bool(mac_keys) or not secrets
    if use_mac:
        expected = [hmac.new(key, signed, hashlib.sha256).digest() for key in mac_keys]
        v1 = (sig for version, sig in entries if version == "v1")
        if tally.any(v1, lambda s: _b64(s, 32), lambda tag: _matches(expected, tag)):
            return Verified(msg_id, timestamp)
    if ed_keys:
        v1a = (sig for version, sig in entries if version == "v1a")
        if tally.any(v1a, lambda s: _b64(s, 64), lambda sig: any(_ed25519_verifies(k, sig, signed) for k in ed_keys)):
            return Verified(msg_id, timestamp)
    if use_mac and not ed_keys:
        reasons = ("no `v1,<base64>` signature", "no v1 signature is the base64 of a 32-byte HMAC-SHA256")
    elif not use_mac:
        reasons = ("no `v1a,<base64>` signature", "no v1a signature is the base64 of a 64-byte Ed25519 signature")
    else:
        reasons = (
            "no `v1,<base64>` or `v1a,<base64>` signature",
            "no v1 or v1a signature decodes (base64 of a 32-byte HMAC-SHA256 or a 64-byte Ed25519 signature)",
        )
    raise tally.error("webhook-signature", reasons)


def hmac_sha256(
    secrets: Secrets,
    headers: Headers,
    body: bytes,
    *,
    header: str = "X-Webhook-Signature",
    encoding: str = "hex",
    prefix: str = "",
) -> Verified:
    """Checks scheme ``hmac-sha256``: ``<header>: <prefix><hex or base64 HMAC-SHA256 of the body>``,
    keyed with each secret's UTF-8 bytes. It carries no timestamp: deduplicate by event id."""
    if encoding not in ("hex", "base64"):
        raise ValueError("encoding must be 'hex' or 'base64'")
    value = _Lookup(headers).required(header)
    if not value.startswith(prefix):
        raise MalformedHeader(header, "does not start with the configured prefix")
    encoded = value[len(prefix) :]
    expected = [hmac.new(_utf8_key(s), body, hashlib.sha256).digest() for s in _as_list(secrets)]
    if encoding == "hex":
        decode, undecodable = _hex32, "not the hex of a 32-byte HMAC-SHA256"
    else:
        decode, undecodable = (lambda s: _b64(s, 32)), "not the base64 of a 32-byte HMAC-SHA256"
    tally = _Tally()
    if tally.any([encoded], decode, lambda tag: _matches(expected, tag)):
        return Verified(None, None)
    raise tally.error(header, ("empty", undecodable))


def timestamped_key(
    secrets: Secrets,
    headers: Headers,
    body: bytes,
    *,
    header: str = "Webhook-Signature",
    now: Optional[int] = None,
    tolerance: Optional[int] = DEFAULT_TOLERANCE,
) -> Verified:
    """Checks scheme ``timestamped-key``: ``<header>: t=<unix>, v1=<hex>``, the HMAC-SHA256 of the
    body keyed with ``"<t>.<secret>"``."""
    value = _Lookup(headers).required(header)
    fields = []
    for field in value.split(","):
        key, sep, val = field.strip().partition("=")
        if sep:
            fields.append((key, val))
    t_values = [v for k, v in fields if k == "t"]
    if not t_values:
        raise MalformedHeader(header, "no `t=<unix timestamp>` field")
    if len(t_values) > 1:
        raise MalformedHeader(header, "more than one `t=` field")
    timestamp = _parse_timestamp(t_values[0])
    if timestamp is None:
        raise MalformedHeader(header, "`t=` is not an integer unix timestamp")
    _check_tolerance(timestamp, now, tolerance)
    expected = [
        hmac.new(t_values[0].encode() + b"." + _utf8_key(s), body, hashlib.sha256).digest()
        for s in _as_list(secrets)
    ]
    tally = _Tally()
    v1 = (v for k, v in fields if k == "v1")
    if tally.any(v1, _hex32, lambda tag: _matches(expected, tag)):
        return Verified(None, timestamp)
    raise tally.error(header, ("no `v1=<hex>` signature", "no v1 signature is the hex of a 32-byte HMAC-SHA256"))


def webhook(
    signature: Optional[Mapping[str, Any]],
    secrets: Secrets,
    headers: Headers,
    body: bytes,
    *,
    now: Optional[int] = None,
    tolerance: Optional[int] = DEFAULT_TOLERANCE,
) -> Verified:
    """Checks a delivery of a webhook whose ``signature`` setting (as the API returns it, e.g.
    ``{"scheme": "hmac-sha256", "header": "X-MG-Signature"}``; ``None`` for the default) is given:
    dispatches to the function for its scheme with the same defaults as the server."""
    config = dict(signature or {"scheme": "standard-webhooks"})
    scheme = config.get("scheme")
    if scheme in ("standard-webhooks", "standard-webhooks-v1a"):
        return standard_webhooks(secrets, headers, body, now=now, tolerance=tolerance)
    if scheme == "hmac-sha256":
        return hmac_sha256(
            secrets,
            headers,
            body,
            header=config.get("header", "X-Webhook-Signature"),
            encoding=config.get("encoding", "hex"),
            prefix=config.get("prefix", ""),
        )
    if scheme == "timestamped-key":
        header = config.get("header", "Webhook-Signature")
        return timestamped_key(secrets, headers, body, header=header, now=now, tolerance=tolerance)
    raise ValueError(f"unknown signature scheme {scheme!r}")


class _Lookup:
    """Case-insensitive, first-value-wins header access."""

    def __init__(self, headers: Headers) -> None:
        pairs = headers.items() if hasattr(headers, "items") else headers
        self._values: dict = {}
        for name, value in pairs:
            self._values.setdefault(str(name).lower(), value)

    def required(self, name: str) -> str:
        value = self._values.get(name.lower())
        if value is None:
            raise MissingHeader(name)
        if isinstance(value, bytes):
            try:
                return value.decode()
            except UnicodeDecodeError:
                raise MissingHeader(name) from None
        return value


class _Tally:
    """What the search through candidate signatures met, to say why none matched."""

    def __init__(self) -> None:
        self.seen = False
        self.decoded = False

    def any(self, candidates, decode, matches) -> bool:
        for candidate in candidates:
            self.seen = True
            decoded = decode(candidate)
            if decoded is None:
                continue
            self.decoded = True
            if matches(decoded):
                return True
        return False

    def error(self, header: str, reasons) -> VerifyError:
        if not self.seen:
            return MalformedHeader(header, reasons[0])
        if not self.decoded:
            return MalformedHeader(header, reasons[1])
        return NoMatchingSignature()


def _as_list(secrets: Secrets) -> list:
    return [secrets] if isinstance(secrets, str) else list(secrets)


def _parse_timestamp(raw: str) -> Optional[int]:
    if not _TIMESTAMP.match(raw):
        return None
    value = int(raw)
    return value if _I64[0] <= value <= _I64[1] else None


def _check_tolerance(timestamp: int, now: Optional[int], tolerance: Optional[int]) -> None:
    if tolerance is None:
        return
    now = int(time.time()) if now is None else now
    if abs(now - timestamp) > tolerance:
        raise TimestampOutOfTolerance(timestamp, now)


def _matches(expected: list, tag: bytes) -> bool:
    # Compare against every secret, without stopping early, so timing says nothing of which.
    found = False
    for want in expected:
        found |= hmac.compare_digest(want, tag)
    return found


def _b64(text: str, length: int) -> Optional[bytes]:
    """Standard base64, padding optional, of exactly ``length`` bytes."""
    if len(text) % 4 == 1:
        return None
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == length else None


def _hex32(text: str) -> Optional[bytes]:
    if len(text) != 64 or not _HEX.match(text):
        return None
    return bytes.fromhex(text)


def _utf8_key(secret: str) -> bytes:
    key = secret.encode()
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def _standard_webhooks_key(secret: str) -> bytes:
    """``whsec_`` (optional) + standard base64, padding optional, as the reference libraries read it."""
    encoded = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    if len(encoded) % 4 == 1:
        raise ValueError("the webhook secret is not valid base64")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the webhook secret is not valid base64") from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def _ed25519_public_key(key: str):
    """A ``whpk_`` public key, or the public half of a ``whsk_`` private key (32-byte seed, or
    seed then public key)."""
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise RuntimeError(
            "verifying v1a (Ed25519) signatures needs the `cryptography` package: "
            "pip install 'hookrelay[ed25519]'"
        ) from None
    raw = _b64(key[5:], 32) if key.startswith("whpk_") else (_b64(key[5:], 32) or _b64(key[5:], 64))
    if raw is None:
        raise ValueError("the key is not an Ed25519 key (`whpk_` + base64 of 32 bytes)")
    if key.startswith("whpk_"):
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    private = ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32])
    public = private.public_key()
    if len(raw) == 64 and public.public_bytes_raw() != raw[32:]:
        raise ValueError("the private key's public half does not match its seed")
    return public


def _ed25519_verifies(public_key, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
