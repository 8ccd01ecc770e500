"""A model routed to Anthropic meets a revoked key: its work pauses behind the configuration circuit,
nothing fails or is charged an attempt, and once the key is restored at the provider every request
completes, with no service restarted.

The same done-when as ``test_key_revocation.py`` (OpenAI), on the other provider: the Anthropic adapter
must land the emulator's 401 ``authentication_error`` in :class:`ConfigurationFault`, or the submitter
would burn attempts on a key problem. The circuit's pause is compressed as there (0.5 s doubling to 2 s).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from shared.kafka.topics import ensure_topics
from shared.settings import Settings
from tests.integration.test_key_revocation import session, wait_for_probes
from tests.pipeline import publish, running_services, scalar, wait_until_terminal

KEY = "sk-ant-api03-KEYkey-0123456789abcdef"
#: make_settings' OpenAI key. The emulator has one key ring for both providers, so the test revokes
#: only the Anthropic key (removes it, then adds it back): OpenAI's key, as at a real second
#: provider, keeps working (the submitter's reconciliation lists both providers' batches).
OPENAI_KEY = "sk-test-" + "k" * 24
CLAUDE = "claude-3-5-haiku-latest"
SESSIONS = 200


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(port=0, stage_s=0.2, seed=29, api_keys=[OPENAI_KEY, KEY])


def claude_session(i: int) -> dict[str, Any]:
    return session(i) | {"model": CLAUDE}


async def test_a_revoked_anthropic_key_pauses_its_model_and_restoring_it_finishes_the_backlog(
    make_settings: Callable[..., Settings], engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    settings = make_settings(
        default_model=CLAUDE,
        model_providers={CLAUDE: "anthropic"},
        anthropic_base_url=emulator.url,
        anthropic_api_key=KEY,
        circuit_base_s=0.5,
        circuit_max_s=2.0,
        batch_max_requests=50,
    )
    await ensure_topics(settings)
    async with running_services(settings), httpx.AsyncClient() as admin:
        revoked = await admin.post(f"{emulator.url}/_emulator/keys", json={"remove": [KEY]})
        assert revoked.status_code == 200 and len(revoked.json()["keys"]) == 1
        await publish(settings, [claude_session(i) for i in range(SESSIONS)])
        circuit = await wait_for_probes(engine, faults=3, timeout_s=60)
        assert (circuit.provider, circuit.model) == ("anthropic", CLAUDE)
        assert "401" in circuit.reason and "authentication_error" in circuit.reason
        assert KEY not in circuit.reason

        # During the outage: no Message batch was made, nothing failed, no attempt was charged.
        assert emulator.emulator.counters["message_batches_created"] == 0
        assert await scalar(engine, "SELECT count(*) FROM ai_processing_requests") == SESSIONS
        assert await scalar(engine, "SELECT count(*) FROM ai_processing_requests "
                                    "WHERE status = 'PROCESSING_FAILED' OR attempt > 1") == 0  # fmt: skip
        assert await scalar(engine, "SELECT coalesce(max(submit_attempts), 0) FROM provider_batches") == 0

        restored = await admin.post(f"{emulator.url}/_emulator/keys", json={"add": [KEY]})
        assert len(restored.json()["keys"]) == 2
        fixed = time.monotonic()
        counts = await wait_until_terminal(engine, SESSIONS, timeout_s=90)
        resumed_s = time.monotonic() - fixed

    assert counts == {"PROCESSING_COMPLETE": SESSIONS}
    assert await scalar(engine, "SELECT max(attempt) FROM ai_processing_requests") == 1
    assert await scalar(engine, "SELECT max(submit_attempts) FROM provider_batches") == 1
    assert await scalar(engine, "SELECT count(*) FROM provider_batches "
                                "WHERE provider <> 'anthropic' OR status <> 'PROCESSED'") == 0  # fmt: skip
    assert await scalar(engine, "SELECT count(*) FROM provider_circuits") == 0
    assert emulator.emulator.counters["message_batches_created"] >= SESSIONS // 50
    print(f"\nanthropic key revocation: {SESSIONS} sessions, {circuit.faults}+ failed probes, "
          f"all complete {resumed_s:.1f} s after the key was restored")  # fmt: skip
