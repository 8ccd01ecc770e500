"""Who must act on a failed submission: the operator (circuit, nothing charged), the batch (it fails) or
nobody (retried, then released without an attempt). In memory: ``tests.fake_stores`` plays the circuit
table with the same decisions as ``services/submitter/circuits.py``, on a clock the test moves.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from services.submitter.accumulator import GroupKey
from services.submitter.circuits import WAIT_MARK
from services.submitter.service import Submitter, SubmitterConfig
from shared.events import BatchCompleted
from shared.lifecycle import BatchStatus, OutcomeKind, RequestStatus, resolve_request, unfinished_reason
from shared.provider.base import ConfigurationFault, PermanentProviderError, RetryableProviderError
from tests.fake_stores import FakeSubmitterStore
from tests.fakes import FakeBatchProvider

MODEL = "gpt-4o-mini"
GROUP = GroupKey("acme", MODEL)
CREATED, COMPLETED = "t.batch.created", "t.batch.completed"


def revoked() -> ConfigurationFault:
    return ConfigurationFault(
        "POST /files failed: HTTP 401 (invalid_api_key): Incorrect API key provided", status=401,
        code="invalid_api_key")


def submitter(store: FakeSubmitterStore, provider: FakeBatchProvider, tmp_path: Path, *,
              max_transient_failures: int = 6) -> Submitter:
    config = SubmitterConfig(max_requests=10, max_bytes=10**6, max_conversation_chars=10_000, retry_delay_s=30.0,
                             batch_created_topic=CREATED, batch_completed_topic=COMPLETED, work_dir=tmp_path,
                             max_transient_failures=max_transient_failures, circuit_base_s=15.0,
                             circuit_max_s=300.0)
    return Submitter(store, provider, config, on_commit=lambda: None)


async def test_a_configuration_fault_opens_the_circuit_and_charges_nothing(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    ids = [store.add_request(f"q{i}") for i in range(3)]
    provider.fail_next["upload_file"] = [revoked()]
    s = submitter(store, provider, tmp_path)
    t0 = store.clock.now

    assert await s.flush_group(GROUP) == 1
    [batch] = store.batches.values()
    assert batch.status == "PENDING_SUBMISSION"
    assert batch.submit_attempts == 0  # the attempt counted before the call was given back
    assert batch.submit_retry_at == t0 + timedelta(seconds=15)
    assert batch.last_error == WAIT_MARK + str(revoked())
    circuit = store.circuits[("openai", MODEL)]
    assert (circuit.faults, circuit.opened_at, circuit.probe_at) == (1, t0, t0 + timedelta(seconds=15))
    assert "401" in circuit.reason and "invalid_api_key" in circuit.reason
    assert [(store.requests[i].status, store.requests[i].attempt) for i in ids] == [
        ("BATCHING_IN_PROGRESS", 1)] * 3
    assert store.outbox == [] and s.stats["configuration_faults"] == 1 and s.stats["batches_failed"] == 0
    assert s.gate.gauge() == {("openai", MODEL): 1.0}

    # While it is open nothing of that model is claimed, for any company; the requests stay pending.
    later = [store.add_request("late"), store.add_request("other", company_id="globex")]
    store.clock.advance(14)
    assert await s.flush_group(GROUP) == 0
    assert await s.flush_group(GroupKey("globex", MODEL)) == 0
    assert [store.requests[i].status for i in later] == ["PENDING_BATCHING"] * 2
    assert len(store.batches) == 1 and provider.called("upload_file") == ["batchline-" + f"{batch.id}.jsonl"]
    assert await s.reconcile_once() == 0  # the waiting batch is not due before the probe

    # Another model is not paused.
    store.add_request("x", model="gpt-4o")
    assert await s.flush_group(GroupKey("acme", "gpt-4o")) == 1
    assert len(provider.called("create_batch")) == 1


async def test_a_failed_probe_pauses_longer_and_the_batches_behind_it_wait_uncharged(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    first = store.left_behind([store.add_request()], age_s=60, attempts=0)
    second = store.left_behind([store.add_request(company_id="globex")], age_s=30, attempts=0)
    provider.fail_next["upload_file"] = [revoked(), revoked()]
    s = submitter(store, provider, tmp_path)

    assert await s.reconcile_once() == 2  # the first opens the circuit, the second meets it open
    assert len(provider.called("upload_file")) == 1
    t0 = store.clock.now
    assert [(store.batches[b].submit_attempts, store.batches[b].submit_retry_at) for b in (first, second)] == [
        (0, t0 + timedelta(seconds=15))] * 2
    assert s.stats["submissions_paused"] == 1

    store.clock.advance(15)  # the probe time: one submission is tried, it fails again
    assert await s.reconcile_once() == 2
    assert len(provider.called("upload_file")) == 2  # one probe, not one per batch
    circuit = store.circuits[("openai", MODEL)]
    assert (circuit.faults, circuit.opened_at, circuit.probe_at) == (2, t0, store.clock.now + timedelta(seconds=30))
    assert [store.batches[b].submit_attempts for b in (first, second)] == [0, 0]
    assert {store.batches[b].submit_retry_at for b in (first, second)} == {circuit.probe_at}
    assert all(b.status == "PENDING_SUBMISSION" for b in store.batches.values()) and store.outbox == []


async def test_a_successful_probe_closes_the_circuit_and_the_backlog_flows_again(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    probe = store.left_behind([store.add_request()], age_s=60, attempts=0)
    waiting = store.left_behind([store.add_request(company_id="globex")], age_s=30, attempts=0)
    provider.fail_next["upload_file"] = [revoked()]
    s = submitter(store, provider, tmp_path)
    await s.reconcile_once()
    pending = store.add_request("arrived during the outage")
    assert await s.flush_group(GROUP) == 0

    store.clock.advance(15)
    # Play the other batch as taken by a live submitter at the probe moment: only the probe runs.
    store.held.add(waiting)
    assert await s.reconcile_once() == 1
    store.held.discard(waiting)
    assert store.batches[probe].status == "VALIDATING" and store.batches[probe].submit_attempts == 1
    assert store.circuits == {} and s.stats["circuits_closed"] == 1 and s.gate.gauge() == {}
    # The batch that waited for the circuit is due at once (no wait for its old retry time) ...
    assert store.batches[waiting].submit_retry_at is None
    assert await s.reconcile_once() == 1 and store.batches[waiting].status == "VALIDATING"
    assert store.batches[waiting].submit_attempts == 1
    # ... and the requests that stayed pending are claimed again.
    assert await s.flush_group(GROUP) == 1
    assert store.requests[pending].status == "BATCHING_IN_PROGRESS"
    assert len(provider.called("create_batch")) == 3


async def test_a_probe_that_meets_a_content_fault_fails_its_batch_and_closes_the_circuit(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    batch_id = store.left_behind([store.add_request()], age_s=60, attempts=0)
    provider.fail_next["upload_file"] = [revoked()]
    s = submitter(store, provider, tmp_path)
    await s.reconcile_once()
    store.clock.advance(15)
    provider.fail_next["create_batch"] = [PermanentProviderError("invalid file", status=400)]
    await s.reconcile_once()
    assert store.batches[batch_id].status == "FAILED" and store.circuits == {}


async def test_a_content_fault_fails_the_batch_and_opens_no_circuit(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    store.add_request()
    provider.fail_next["create_batch"] = [PermanentProviderError("invalid_file: line 1 is not JSON", status=400)]
    s = submitter(store, provider, tmp_path)
    await s.flush_group(GROUP)
    [batch] = store.batches.values()
    assert batch.status == "FAILED" and batch.error_codes == [] and batch.submit_attempts == 1
    assert store.circuits == {} and s.stats["configuration_faults"] == 0
    assert [(t, type(e).__name__) for t, e in store.outbox] == [(COMPLETED, "BatchCompleted")]
    kind, _ = unfinished_reason(BatchStatus.FAILED, batch.error_codes, batch.last_error)
    assert kind is OutcomeKind.UNFINISHED  # the ingester charges its requests an attempt


async def test_a_create_refused_for_the_token_quota_requeues_like_a_validation_refusal(tmp_path: Path) -> None:
    # Azure refuses at create what OpenAI fails at validation: the same code, the same path.
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    store.add_request()
    provider.fail_next["create_batch"] = [PermanentProviderError(
        "POST /batches failed: HTTP 400 (token_limit_exceeded): Enqueued token limit reached", status=400,
        code="token_limit_exceeded")]
    s = submitter(store, provider, tmp_path)
    await s.flush_group(GROUP)
    [batch] = store.batches.values()
    assert batch.status == "FAILED" and batch.error_codes == ["token_limit_exceeded"]
    assert batch.submitted_at == store.clock.now  # seen by the provider: admission reads the refusal
    assert store.circuits == {} and s.stats["configuration_faults"] == 0
    assert [(t, type(e).__name__) for t, e in store.outbox] == [(COMPLETED, "BatchCompleted")]
    kind, _ = unfinished_reason(BatchStatus.FAILED, batch.error_codes, batch.last_error)
    assert kind is OutcomeKind.REQUEUED  # back to pending without an attempt


async def test_transient_failures_are_retried_up_to_the_cap_then_the_batch_is_released(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    ids = [store.add_request(), store.add_request()]
    provider.fail_next["create_batch"] = [RetryableProviderError(f"HTTP 503 #{n}", status=503) for n in (1, 2, 3)]
    s = submitter(store, provider, tmp_path, max_transient_failures=3)
    await s.flush_group(GROUP)
    [batch] = store.batches.values()
    assert (batch.status, batch.submit_attempts) == ("PENDING_SUBMISSION", 1)
    store.clock.advance(30)
    assert await s.reconcile_once() == 1
    assert (batch.status, batch.submit_attempts) == ("PENDING_SUBMISSION", 2)
    store.clock.advance(60)
    lookups = len(provider.called("list_batches"))
    assert await s.reconcile_once() == 1

    assert batch.status == "FAILED" and batch.error_codes == ["submission_released"]
    assert batch.last_error is not None and batch.last_error.startswith(
        "submission_released: 3 transient submission failures, last: HTTP 503 #3")
    # Looked before the upload, again after it (a retry may be a takeover), and before giving up.
    assert len(provider.called("list_batches")) == lookups + 3
    assert [(t, type(e).__name__) for t, e in store.outbox] == [(COMPLETED, "BatchCompleted")]
    assert isinstance(store.outbox[0][1], BatchCompleted) and store.outbox[0][1].batch_id == batch.id
    assert s.stats["batches_released"] == 1 and store.circuits == {}
    # The ingester's rule for that code: back to pending, same attempt.
    kind, reason = unfinished_reason(BatchStatus.FAILED, batch.error_codes, batch.last_error)
    back = resolve_request(kind, attempt=1, max_attempts=3, reason=reason, backoff_base_s=30)
    assert (kind, back.status, back.attempt) == (OutcomeKind.REQUEUED, RequestStatus.PENDING_BATCHING, 1)
    assert [store.requests[i].attempt for i in ids] == [1, 1]


async def test_a_batch_about_to_be_released_that_exists_at_the_provider_is_recorded(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    store.add_request()
    s = submitter(store, provider, tmp_path, max_transient_failures=1)

    def created_then_timed_out() -> None:
        [batch] = store.batches.values()
        provider.add_batch("validating", local_batch_id=str(batch.id))

    provider.before["create_batch"] = created_then_timed_out
    provider.fail_next["create_batch"] = [RetryableProviderError("ReadTimeout")]
    await s.flush_group(GROUP)
    [batch] = store.batches.values()
    assert batch.status == "VALIDATING" and batch.provider_batch_id == "batch_2"
    assert s.stats["batches_released"] == 0 and s.stats["batches_reconciled"] == 1


async def test_a_transient_retry_waits_at_least_what_the_provider_asked(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    store.add_request()
    busy = RetryableProviderError("HTTP 429", status=429)
    busy.retry_after = 120.0
    provider.fail_next["upload_file"] = [busy]
    await submitter(store, provider, tmp_path).flush_group(GROUP)
    [batch] = store.batches.values()
    assert batch.submit_retry_at == store.clock.now + timedelta(seconds=120)


async def test_a_copy_created_for_a_batch_released_meanwhile_is_cancelled(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    store.add_request()

    def another_submitter_releases_it() -> None:
        [batch] = store.batches.values()
        batch.status, batch.error_codes = "FAILED", ["submission_released"]

    provider.before["create_batch"] = another_submitter_releases_it
    s = submitter(store, provider, tmp_path)
    await s.flush_group(GROUP)
    assert provider.called("cancel_batch") == ["batch_2"]  # nobody recorded it: it must not run
    assert (s.stats["orphans_found"], s.stats["orphans_cancelled"]) == (1, 1)


async def test_a_lookup_that_finds_two_copies_keeps_one_and_cancels_the_other(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    batch_id = store.left_behind([store.add_request()], age_s=600, attempts=2, input_file_id="file-in-1")
    running = provider.add_batch("in_progress", local_batch_id=str(batch_id))
    duplicate = provider.add_batch("validating", local_batch_id=str(batch_id))
    provider.add_batch("failed", local_batch_id=str(batch_id))
    s = submitter(store, provider, tmp_path)
    assert await s.reconcile_once() == 1
    assert store.batches[batch_id].provider_batch_id == running.id  # the copy furthest along
    assert provider.called("cancel_batch") == [duplicate.id]  # a failed copy cannot be cancelled
    assert (s.stats["orphans_found"], s.stats["orphans_cancelled"]) == (2, 1)
    assert provider.called("create_batch") == []


async def test_the_gauge_shows_circuits_another_instance_opened(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    s, other = submitter(store, provider, tmp_path), submitter(store, provider, tmp_path)
    store.add_request()
    provider.fail_next["upload_file"] = [revoked()]
    await other.flush_group(GROUP)
    assert s.gate.gauge() == {}
    await s.reconcile_once()
    assert s.gate.gauge() == {("openai", MODEL): 1.0}


async def test_metrics_show_the_open_circuit_and_the_fault_count(tmp_path: Path) -> None:
    from prometheus_client import generate_latest

    from shared.metrics import ServiceMetrics

    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    s = submitter(store, provider, tmp_path)
    metrics = ServiceMetrics("submitter")
    metrics.add_source("submitter", lambda: s.stats)
    metrics.add_gauge(s.gate.metric())
    store.add_request()
    provider.fail_next["upload_file"] = [revoked()]
    await s.flush_group(GROUP)
    text = generate_latest(metrics.registry).decode()
    assert 'batchline_submitter_open_circuits{model="gpt-4o-mini",provider="openai",service="submitter"} 1.0' in text
    assert 'batchline_submitter_configuration_faults_total{service="submitter"} 1.0' in text

    store.clock.advance(15)
    await s.reconcile_once()  # the probe succeeds
    text = generate_latest(metrics.registry).decode()
    assert "batchline_submitter_open_circuits{" not in text
    assert 'batchline_submitter_circuits_closed_total{service="submitter"} 1.0' in text


async def test_a_release_whose_lookup_is_refused_for_configuration_pauses_instead(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    store.add_request()
    provider.fail_next["create_batch"] = [RetryableProviderError("HTTP 502", status=502)]
    provider.fail_next["list_batches"] = [revoked()]
    s = submitter(store, provider, tmp_path, max_transient_failures=1)
    await s.flush_group(GROUP)
    [batch] = store.batches.values()
    assert batch.status == "PENDING_SUBMISSION" and batch.submit_attempts == 0
    assert ("openai", MODEL) in store.circuits and s.stats["batches_released"] == 0
