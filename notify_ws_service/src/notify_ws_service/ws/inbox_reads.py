"""What sockets read from the inbox: where a socket starts, ``?since=`` catch-up, and
the positions a push arrived ahead of.

A push ahead of a gap reaches every socket of its user on this instance at once, so
reads of one gap are shared.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notify_ws_service.fanout.push import Push
from notify_ws_service.inbox import repository


@dataclass(frozen=True)
class CatchUp:
    missed: list[Push]
    complete: bool
    # The position live pushes continue after.
    last: int


class InboxReads:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, limit: int) -> None:
        self._sessionmaker = sessionmaker
        self.limit = limit
        self._gaps: dict[tuple[UUID, int, int], asyncio.Task[list[Push]]] = {}

    async def last_position(self, user_id: UUID) -> int:
        async with self._sessionmaker() as session:
            return await repository.last_position(session, user_id)

    async def catch_up(self, user_id: UUID, since: UUID) -> CatchUp:
        """What the user missed after ``since``, oldest first, and whether that is all.

        Not complete when ``since`` is no longer in the inbox (or never was), or when more
        than ``limit`` were missed (reconnect with the last id for the rest); live pushes
        then continue after the last position stored so far.
        """
        async with self._sessionmaker() as session:
            anchor = await repository.get_for_user(session, user_id=user_id, message_id=since)
            if anchor is None:
                return CatchUp([], False, await repository.last_position(session, user_id))
            rows = await repository.between(
                session, user_id=user_id, after=anchor.position, limit=self.limit + 1
            )
            if len(rows) > self.limit:
                last = await repository.last_position(session, user_id)
                return CatchUp([Push.of(r) for r in rows[: self.limit]], False, last)
        return CatchUp(
            [Push.of(r) for r in rows], True, rows[-1].position if rows else anchor.position
        )

    async def between(self, user_id: UUID, after: int, before: int) -> list[Push]:
        """The user's notifications between two positions (at most ``limit``), in order."""
        key = (user_id, after, before)
        read = self._gaps.get(key)
        if read is None:
            read = asyncio.create_task(self._between(user_id, after, before))
            self._gaps[key] = read
            read.add_done_callback(lambda done: self._forget(key, done))
        # One socket closing must not cancel the read the others wait for.
        return await asyncio.shield(read)

    async def _between(self, user_id: UUID, after: int, before: int) -> list[Push]:
        async with self._sessionmaker() as session:
            rows = await repository.between(
                session, user_id=user_id, after=after, before=before, limit=self.limit
            )
        return [Push.of(r) for r in rows]

    def _forget(self, key: tuple[UUID, int, int], done: asyncio.Task[list[Push]]) -> None:
        self._gaps.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: its waiters may all have gone
