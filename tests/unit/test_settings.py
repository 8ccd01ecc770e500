"""Settings: environment variables, validation, and the README documenting every one of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from devtools.settings_doc import settings_table
from shared.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text()
    missing = [
        f"BATCHLINE_{n.upper()}" for n in Settings.model_fields if f"`BATCHLINE_{n.upper()}`" not in text
    ]
    assert missing == []
    assert settings_table() in text, "README table is stale: paste `python -m devtools.settings_doc` output"


def test_environment_variables_configure_and_secrets_stay_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHLINE_BATCH_MAX_REQUESTS", "50000")
    monkeypatch.setenv("BATCHLINE_TOPIC_PREFIX", "staging.")
    monkeypatch.setenv("BATCHLINE_OPENAI_API_KEY", "sk-very-secret-value")
    monkeypatch.setenv("BATCHLINE_MODEL_PRICES", '{"m": {"input_per_million": 1, "output_per_million": 2}}')
    s = Settings()
    assert s.batch_max_requests == 50_000
    assert (
        s.topics.session_events == "staging.session.events"
        and s.group_id("poller") == "staging.batchline-poller"
    )
    assert "sk-very-secret-value" not in repr(s) and "sk-very-secret-value" not in str(s.model_dump())
    assert s.model_prices["m"].output_per_million == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BATCHLINE_BATCH_MAX_REQUESTS", "50001"),
        ("BATCHLINE_BATCH_MAX_BYTES", str(300 * 1024 * 1024)),
        ("BATCHLINE_TOPIC_PREFIX", "bad prefix!"),
        ("BATCHLINE_POLL_INTERVAL_S", "0"),
        ("BATCHLINE_COMPLETION_WINDOW", "48h"),
        # Must outlive the 24 h window plus the default 3,600 s grace: 90,000 s is not enough.
        ("BATCHLINE_PROVIDER_INPUT_FILE_TTL_S", "90000"),
        ("BATCHLINE_PROVIDER_OUTPUT_FILE_TTL_S", "3599"),
    ],
)
def test_values_beyond_provider_limits_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_an_input_file_ttl_just_past_window_and_grace_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHLINE_PROVIDER_INPUT_FILE_TTL_S", "90001")
    assert Settings().provider_input_file_ttl_s == 90_001
