"""Long-lived objects are frozen out of the collector; garbage cycles among them are
collected once the frozen set has doubled."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from shared import heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_what_survives_is_frozen_and_freed_by_refcount_still() -> None:
    kept = [Node() for _ in range(1000)]
    assert heap.freeze() >= 1000
    frozen = gc.get_freeze_count()
    assert frozen >= 1000
    kept.pop()
    gone = kept.pop()
    gone.me = None  # type: ignore[assignment]
    del gone
    assert gc.get_freeze_count() == frozen - 1


def test_frozen_cycles_are_collected_by_a_thaw() -> None:
    nodes = [Node() for _ in range(100)]
    probe = weakref.ref(nodes[0])
    heap.freeze()
    del nodes
    gc.collect()
    assert probe() is not None, "frozen: the collector does not see it"
    heap.thaw_and_collect()
    assert probe() is None


def count_thaws(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    thaws: list[int] = []
    monkeypatch.setattr(heap, "THAW_FLOOR", 0)
    real = heap.thaw_and_collect

    def counted() -> int:
        thaws.append(1)
        return real()

    monkeypatch.setattr(heap, "thaw_and_collect", counted)
    return thaws


async def test_the_loop_thaws_when_the_frozen_set_doubled(monkeypatch: pytest.MonkeyPatch) -> None:
    thaws = count_thaws(monkeypatch)
    task = asyncio.create_task(heap.freeze_forever(0.01, min_thaw_interval=0.0))
    try:
        await asyncio.sleep(0.1)
        assert len(thaws) == 1, "the first round thaws: nothing was thawed yet"
        grown = [Node() for _ in range(2 * gc.get_freeze_count())]
        await asyncio.sleep(0.1)
        assert len(thaws) == 2
        assert len(grown) > 0
        await asyncio.sleep(0.1)
        assert len(thaws) == 2, "not again until it doubles again"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_no_thaw_comes_sooner_than_the_minimum_interval_after_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    thaws = count_thaws(monkeypatch)
    task = asyncio.create_task(heap.freeze_forever(0.01, min_thaw_interval=3600.0))
    try:
        await asyncio.sleep(0.1)
        assert thaws == [], "what the process started with waits the interval too"
        grown = [Node() for _ in range(2 * gc.get_freeze_count())]
        await asyncio.sleep(0.1)
        assert thaws == [], "doubled, but the start was too recent"
        assert len(grown) > 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class TestFreezer:
    async def test_it_freezes_while_running_and_stops(self) -> None:
        freezer = heap.Freezer(0.01)
        freezer.start()
        try:
            await asyncio.sleep(0.05)
            assert gc.get_freeze_count() > 0
        finally:
            await freezer.stop()
        gc.unfreeze()
        await asyncio.sleep(0.05)
        assert gc.get_freeze_count() == 0, "stopped: nothing freezes any more"

    async def test_interval_zero_leaves_the_collector_alone(self) -> None:
        freezer = heap.Freezer(0)
        freezer.start()
        await asyncio.sleep(0.05)
        assert gc.get_freeze_count() == 0
        await freezer.stop()
