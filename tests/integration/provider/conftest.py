"""Emulator servers (real uvicorn on a free port, in a thread) and a client pointed at them.

``emulator`` is one server per module, reset before every test (files, batches, counters and
faults back to the configured ones), on a compressed clock of 0.1 s per lifecycle stage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from shared.provider.openai import OpenAIBatchProvider
from tests.integration.provider.helpers import make_provider

STAGE_S = 0.1


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0, stage_s=STAGE_S, seed=7)) as server:
        yield server


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> EmulatorServer:
    emulator_server.emulator.reset()
    return emulator_server


@pytest.fixture
async def provider(emulator: EmulatorServer) -> AsyncIterator[OpenAIBatchProvider]:
    async with make_provider(emulator) as client:
        yield client
