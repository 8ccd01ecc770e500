"""A submitter that loses its advisory lock in a database restart while its upload is in flight must
not create a second provider batch for requests another submitter has taken over meanwhile.

The submission of a batch runs under a session-level advisory lock; the reconciler of any
submitter takes over a PENDING_SUBMISSION batch whose lock is free (its owner died). A database
restart frees every lock while the owners live on: here submitter A's upload is stalled at the
provider, PostgreSQL restarts, submitter B's reconciler takes the batch over and submits it; then
A's upload returns. Without a fence A went on and created a second provider batch over the same
requests (unknown to the database, its requests answered twice). Now the submission attempt
number fences the upload record: A sees the batch was taken over and does not create it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from devtools.dataset.generator import generate_events
from devtools.infra import postgres
from tests.e2e.harness import assert_pipeline_invariants, wait_terminal
from tests.pipeline import scalar
from tests.reliability.harness import expected_requests, feed, log_counts, private_pipeline

pytestmark = pytest.mark.reliability

STALL_S = 12.0


async def test_submitter_losing_its_lock_in_a_database_restart_makes_no_second_provider_batch(
    tmp_path: Path,
) -> None:
    events = list(generate_events(60, companies=["acme-retail"], models=["gpt-4o-mini"], seed=41))
    async with private_pipeline(
        tmp_path, instances=2, batch_max_requests=1000, provider_timeout_s=30.0
    ) as env:
        stack = env.stack
        # The next provider call (the first submitter's upload) hangs for STALL_S.
        stack.set_faults(stall_next=1, stall_s=STALL_S)
        await feed(env.settings, events, chunks=1, over_s=0)
        deadline = time.monotonic() + 60
        while not await scalar(
            env.engine, "SELECT count(*) FROM provider_batches WHERE status = 'PENDING_SUBMISSION'"
        ):
            assert time.monotonic() < deadline, "no batch was claimed"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the claiming submitter is now inside its stalled upload
        await postgres.restart_postgres(env.pg, mode="immediate")

        stalled_until = time.monotonic() + STALL_S
        await wait_terminal(env.engine, stack, sum(expected_requests(events).values()), timeout_s=180)
        # The other submitter finished the job; give the stalled one time to come back and act.
        await asyncio.sleep(max(0.0, stalled_until - time.monotonic()) + 5.0)
        await wait_terminal(env.engine, stack, sum(expected_requests(events).values()), timeout_s=60)
        batches = stack.emulator_stats(include_requests=True)["batches"]
        await assert_pipeline_invariants(env.engine, stack)
        logs = log_counts(stack)
    assert len(batches) == 1, [(b["id"], b["status"], b["metadata"]) for b in batches]
    # The scenario really happened: the stalled submitter came back and stood down.
    assert logs["submission_takeovers_fenced"] == 1, logs
