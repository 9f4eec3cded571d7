"""Group commit: concurrent requests share one transaction.

While a batch is being written, new requests queue; when it is done, the next batch
takes everything that queued meanwhile. Under light load a request is written at once
(no delay waits for company); under heavy load batches grow by themselves, and so do
the rows per round trip and per commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from shared.logging import get_logger

log = get_logger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

# Each item gets its result or its own error; raising fails the whole batch.
WriteBatch = Callable[[Sequence[Item], bool], Awaitable[list[Result | Exception]]]


class GroupCommit(Generic[Item, Result]):
    """``write(items, alone)`` stores a batch in one transaction. When a batch fails as a
    whole, each item is written again on its own (``alone=True``), so one item's failure
    is never another's and a closed connection costs no request; ``write`` must make that
    safe even if the failed batch did commit (it may have, when the connection died
    during COMMIT)."""

    def __init__(self, write: WriteBatch[Item, Result], *, max_batch: int = 256) -> None:
        self._write = write
        self._max_batch = max_batch
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._run(batch)
        finally:
            self._worker = None

    async def _run(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            outcomes = await self._write([item for item, _ in batch], False)
        except Exception as exc:
            # One item's bad data, or a connection the server closed mid-batch: each
            # item is written again on its own, once.
            log.warning("group_commit.batch_failed", size=len(batch), error=repr(exc))
            for item, future in batch:
                try:
                    (outcome,) = await self._write([item], True)
                except Exception as alone:
                    outcome = alone
                _settle(future, outcome)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)


def _settle(future: asyncio.Future[Result], outcome: Result | Exception) -> None:
    if future.done():  # the caller went away; the write stands
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
