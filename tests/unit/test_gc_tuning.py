"""Service processes collect garbage less often than Python's default (``BATCHLINE_GC_GEN0_THRESHOLD``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.runtime import tune_gc
from shared.settings import Settings


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def test_the_young_generation_is_collected_at_the_configured_threshold(restored_gc: None) -> None:
    _, gen1, gen2 = gc.get_threshold()
    tune_gc(Settings().gc_gen0_threshold)
    assert gc.get_threshold() == (50_000, gen1, gen2)
    assert gc.get_freeze_count() > 0  # what was alive at start is left out of every collection


def test_zero_keeps_pythons_collection(restored_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    tune_gc(0)
    assert gc.get_threshold() == (700, 10, 10)


def test_the_threshold_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHLINE_GC_GEN0_THRESHOLD", "0")
    assert Settings().gc_gen0_threshold == 0
    monkeypatch.setenv("BATCHLINE_GC_GEN0_THRESHOLD", "-1")
    with pytest.raises(ValueError, match="gc_gen0_threshold"):
        Settings()
