"""Standard Webhooks signatures and OpenAI's batch events: pure functions, no I/O.

OpenAI signs each webhook the Standard Webhooks way: ``webhook-signature`` lists ``v1,<base64>``
entries (space-separated; several during a secret rotation), each an HMAC-SHA256 under the endpoint's
``whsec_<base64>`` secret of ``{webhook-id}.{webhook-timestamp}.{body}``. A delivery is accepted when
one entry matches (compared in constant time) and its timestamp is within the tolerance of our clock,
both ways: an old one is a replay, one from the future a forgery that would outlive the window. The
webhook id is what a receiver de-duplicates on (a provider retries a delivery with the same id).

Every refusal is a :class:`WebhookError` subclass, so a receiver answers 400 to all of them and logs
which rule the delivery broke. ``tests/unit/test_webhook_signatures.py`` checks :func:`verify`
against the official ``openai`` SDK's own verifier on the same payloads.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

#: Standard Webhooks' (and OpenAI's SDK's) replay window, seconds either side of our clock.
TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret

#: OpenAI's batch event types, and the provider batch status each announces.
BATCH_EVENT_STATUS: dict[str, str] = {
    "batch.completed": "completed",
    "batch.failed": "failed",
    "batch.expired": "expired",
    "batch.cancelled": "cancelled",
}
#: The inverse: the event a provider batch status is announced with (the emulator's sender).
STATUS_EVENT: dict[str, str] = {status: kind for kind, status in BATCH_EVENT_STATUS.items()}


class WebhookError(Exception):
    """A delivery that must be refused (400) and must change nothing."""


class MissingHeader(WebhookError):
    pass


class BadTimestamp(WebhookError):
    pass


class TimestampOutOfTolerance(WebhookError):
    """Older than the tolerance (a replay) or further ahead than it (a forged future delivery)."""


class SignatureMismatch(WebhookError):
    pass


class BadPayload(WebhookError):
    """Signed correctly but not an event object (a broken sender, never a forgery)."""


class BadSecret(ValueError):
    """The configured secret is not ``whsec_<base64>`` (a configuration error, raised at start)."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: the base64 after ``whsec_``; a secret without the prefix is used as
    its bytes, as the ``openai`` SDK does (so both accept the same configuration)."""
    secret = secret.strip()
    if not secret:
        raise BadSecret("the webhook secret is empty")
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise BadSecret("the webhook secret is not whsec_ followed by base64") from None
    if not key:
        raise BadSecret("the webhook secret decodes to no bytes")
    return key


def signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` (what a ``v1,`` entry carries)."""
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign_headers(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers a sender adds to a delivery (the emulator's sender; tests)."""
    stamp = str(int(timestamp))
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + signature(secret_key(secret), webhook_id, stamp, body),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise MissingHeader(f"missing header {name}")


def verify(
    body: bytes, headers: Mapping[str, str], *, key: bytes, now: float, tolerance_s: int = TOLERANCE_S
) -> str:
    """Check one delivery; returns its ``webhook-id`` or raises a :class:`WebhookError`.

    The timestamp is checked before the signature (a replay is refused without computing anything),
    and every ``v1`` entry is compared in constant time, so a mismatch leaks no prefix length.
    """
    webhook_id = _header(headers, "webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    listed = _header(headers, "webhook-signature")
    if not webhook_id or len(webhook_id) > 255:
        raise MissingHeader("webhook-id is empty or longer than 255 characters")
    try:
        sent_at = int(stamp)
    except ValueError:
        raise BadTimestamp("webhook-timestamp is not an integer") from None
    if now - sent_at > tolerance_s:
        raise TimestampOutOfTolerance("webhook-timestamp is too old")
    if sent_at - now > tolerance_s:
        raise TimestampOutOfTolerance("webhook-timestamp is in the future")
    expected = signature(key, webhook_id, stamp, body).encode()
    candidates = [entry[3:] for entry in listed.split() if entry.startswith("v1,")]
    # No short cut: every entry is compared, matching or not.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise SignatureMismatch("no v1 signature matches")
    return webhook_id


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """An OpenAI batch event: which provider batch reached which terminal status."""

    event_id: str
    type: str
    provider_batch_id: str
    created_at: int


def parse_event(body: bytes) -> BatchEvent | None:
    """The batch event in a verified body; None for an event of another kind (``response.*``, ...),
    which a batch receiver acknowledges and ignores. Raises :class:`BadPayload` if it is no event."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadPayload("the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise BadPayload("the body is not an event object")
    if data["type"] not in BATCH_EVENT_STATUS:
        return None
    inner = data.get("data")
    batch_id = inner.get("id") if isinstance(inner, dict) else None
    event_id, created = data.get("id"), data.get("created_at")
    if not isinstance(batch_id, str) or not batch_id or len(batch_id) > 200:
        raise BadPayload("a batch event without data.id")
    if not isinstance(event_id, str) or not isinstance(created, int) or isinstance(created, bool):
        raise BadPayload("a batch event without id or created_at")
    return BatchEvent(event_id=event_id, type=data["type"], provider_batch_id=batch_id, created_at=created)


def batch_event_body(event_id: str, status: str, provider_batch_id: str, created_at: int) -> bytes:
    """The JSON body OpenAI sends when a batch reaches ``status`` (a terminal provider status)."""
    return orjson.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": STATUS_EVENT[status],
            "created_at": int(created_at),
            "data": {"id": provider_batch_id},
        }
    )
