"""Log redaction through ``shared.logging`` itself: configured the way services configure it, every
rendered line is free of the secrets, wherever they sit in the event (top level, nested, exceptions)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog
from pydantic import SecretStr

from shared import logging as blog
from shared.bootstrap import configure_logging
from shared.settings import Settings

API_KEY = "sk-unit-logging-0123456789abcdef"
SASL_PASSWORD = "kafka-pass-9876543210"
MARKER = "[REDACTED]"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """``configure`` changes process-wide state (structlog, the root logger): put it back after."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**saved)
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = handlers
    root.setLevel(level)


def log_everywhere(secret: str) -> None:
    log = structlog.get_logger("test.redaction")
    log.warning(
        f"calling with {secret}",
        key=secret,
        header=f"Authorization: Bearer {secret}",
        request={"headers": {"Authorization": f"Bearer {secret}"}, "attempt": 2},
        tries=[f"first {secret}", {"key": secret}, (secret, 1)],
        error=RuntimeError(f"HTTP 401 for key {secret}"),
    )


@pytest.mark.parametrize("json", [True, False], ids=["json", "console"])
def test_secret_never_rendered_at_top_level_or_nested(json: bool, capsys: pytest.CaptureFixture[str]) -> None:
    blog.configure(level="INFO", json=json, secrets=[API_KEY], service="ingester")
    log_everywhere(API_KEY)
    out, err = capsys.readouterr()
    rendered = out + err
    assert "calling with" in rendered, rendered  # the line was logged ...
    assert "ingester" in rendered
    assert API_KEY not in rendered  # ... without the secret ...
    # ... which is replaced wherever it was: message, key, header, nested dict, list, tuple, exception
    assert rendered.count(MARKER) >= 8, rendered


def test_secret_in_a_library_log_record_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    blog.configure(level="INFO", secrets=[API_KEY])
    logging.getLogger("httpx").warning("request to %s with key %s failed", "https://api", API_KEY)
    rendered = "".join(capsys.readouterr())
    assert "request to https://api with key" in rendered
    assert API_KEY not in rendered
    assert MARKER in rendered


def test_services_redact_the_api_key_and_the_kafka_password(capsys: pytest.CaptureFixture[str]) -> None:
    """``configure_logging`` is what every service runs at start-up (``batchline run <service>``)."""
    settings = Settings(
        openai_api_key=SecretStr(API_KEY),
        kafka_sasl_password=SecretStr(SASL_PASSWORD),
        log_json=True,
    )
    configure_logging(settings, "submitter")
    log_everywhere(API_KEY)
    log_everywhere(SASL_PASSWORD)
    rendered = "".join(capsys.readouterr())
    assert rendered.count("calling with") == 2, rendered
    assert API_KEY not in rendered
    assert SASL_PASSWORD not in rendered
    assert rendered.count(MARKER) >= 16, rendered


def test_deep_and_cyclic_values_are_redacted_without_recursing_forever(
    capsys: pytest.CaptureFixture[str],
) -> None:
    blog.configure(secrets=[API_KEY])
    cyclic: list[object] = [API_KEY]
    cyclic.append(cyclic)
    deep: object = API_KEY
    for _ in range(100):
        deep = {"inner": [deep]}
    structlog.get_logger("t").warning("odd shapes", cyclic=cyclic, deep=deep, tags={API_KEY, "x"})
    rendered = "".join(capsys.readouterr())
    assert "odd shapes" in rendered
    assert API_KEY not in rendered
    assert rendered.count(MARKER) >= 3, rendered


def test_short_or_empty_secrets_are_not_redacted_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    """A secret under 6 characters would blank ordinary words: it is ignored, the log stays readable."""
    blog.configure(secrets=["", "abc"])
    structlog.get_logger("t").warning("abc is a word", detail={"word": "abc"})
    rendered = "".join(capsys.readouterr())
    assert "abc is a word" in rendered
    assert MARKER not in rendered
