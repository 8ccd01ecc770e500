"""Our Standard Webhooks verifier against the official ``openai`` SDK's, on the same deliveries.

Each case is one delivery (body, headers, secret); the SDK's ``client.webhooks.verify_signature`` and
``unwrap`` are the reference: where it accepts, :func:`shared.webhooks.verify` returns the webhook id,
where it refuses, ours raises the :class:`WebhookError` subclass named in the case.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from openai import InvalidWebhookSignatureError, OpenAI

from shared.webhooks import (
    BadPayload,
    SignatureMismatch,
    TimestampOutOfTolerance,
    WebhookError,
    batch_event_body,
    parse_event,
    secret_key,
    sign_headers,
    verify,
)

SECRET = "whsec_" + base64.b64encode(b"batchline-test-secret-32-bytes!!").decode()
OTHER = "whsec_" + base64.b64encode(b"another-secret-entirely-32-bytes").decode()
BODY = batch_event_body("evt_1", "completed", "batch_abc", 1_700_000_000)


def sdk_signature(secret: str, webhook_id: str, stamp: str, body: bytes) -> str:
    """An independent HMAC (not ours) for the several-signatures case."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{webhook_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def cases() -> list[tuple[str, bytes, dict[str, str], type[WebhookError] | None]]:
    now = int(time.time())
    good = sign_headers(SECRET, "wh_1", now, BODY)
    several = dict(good)
    several["webhook-signature"] = " ".join(
        [sdk_signature(OTHER, "wh_1", str(now), BODY), good["webhook-signature"], "v1,AAAA"]
    )
    return [
        ("valid", BODY, good, None),
        ("wrong secret", BODY, sign_headers(OTHER, "wh_1", now, BODY), SignatureMismatch),
        ("tampered body", BODY.replace(b"batch_abc", b"batch_xyz"), good, SignatureMismatch),
        ("old timestamp", BODY, sign_headers(SECRET, "wh_1", now - 400, BODY), TimestampOutOfTolerance),
        ("future timestamp", BODY, sign_headers(SECRET, "wh_1", now + 400, BODY), TimestampOutOfTolerance),
        ("several, one valid", BODY, several, None),
        ("id swapped", BODY, {**good, "webhook-id": "wh_2"}, SignatureMismatch),
    ]


#: The cases by name: each test signs its delivery when it runs (signed at import, a long suite would
#: see every timestamp leave the 300 s tolerance before the test ran).
CASE_NAMES = [c[0] for c in cases()]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_verifier_agrees_with_the_openai_sdk(name: str) -> None:
    body, headers, refusal = {c[0]: c[1:] for c in cases()}[name]
    client = OpenAI(api_key="sk-unused", base_url="http://127.0.0.1:9/v1")
    sdk_accepts = True
    try:
        client.webhooks.verify_signature(body, headers, secret=SECRET)
    except InvalidWebhookSignatureError:
        sdk_accepts = False
    assert sdk_accepts is (refusal is None), name

    if refusal is None:
        assert verify(body, headers, key=secret_key(SECRET), now=time.time()) == headers["webhook-id"]
        unwrapped = client.webhooks.unwrap(body, headers, secret=SECRET)
        event = parse_event(body)
        assert event is not None
        assert (unwrapped.type, unwrapped.data.id, unwrapped.id) == ("batch.completed", "batch_abc", "evt_1")
        assert (event.type, event.provider_batch_id, event.event_id) == ("batch.completed", "batch_abc", "evt_1")
    else:
        with pytest.raises(refusal):
            verify(body, headers, key=secret_key(SECRET), now=time.time())


def test_tolerance_is_300_seconds_both_ways() -> None:
    key = secret_key(SECRET)
    at = 1_800_000_000
    for offset, ok in ((300, True), (-300, True), (301, False), (-301, False)):
        headers = sign_headers(SECRET, "wh_t", at + offset, BODY)
        if ok:
            assert verify(BODY, headers, key=key, now=at) == "wh_t"
        else:
            with pytest.raises(TimestampOutOfTolerance):
                verify(BODY, headers, key=key, now=at)


def test_missing_header_and_non_event_bodies_are_refused() -> None:
    key = secret_key(SECRET)
    headers = sign_headers(SECRET, "wh_m", 1_800_000_000, BODY)
    del headers["webhook-signature"]
    with pytest.raises(WebhookError):
        verify(BODY, headers, key=key, now=1_800_000_000)
    with pytest.raises(BadPayload):
        parse_event(b"[1, 2]")
    assert parse_event(b'{"id": "evt", "type": "response.completed", "created_at": 1, "data": {"id": "r"}}') is None
