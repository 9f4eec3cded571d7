"""Delivers events to every socket of a user.

Each instance keeps its own sockets. :class:`RedisHub` carries events between instances
with one publish per event on one channel (``{prefix}events``) that every instance
listens to: the message names its recipients, so each instance hands the frame, encoded
once by the sender, to the sockets of those users it holds. :class:`LocalHub` is the
single-process stand-in for development without Redis.

Events that arrive together (a group commit's, read off Redis in one go) reach each
socket in one write: a frame a write cost a call chain and a send each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable, Sequence
from typing import Protocol
from uuid import UUID

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from chat_service.realtime.frames import Delivery, Outgoing
from shared.logging import get_logger
from shared.pubsub import with_ready

log = get_logger(__name__)


class Subscriber(Protocol):
    @property
    def user_id(self) -> UUID: ...

    def offer_all(self, events: Sequence[Outgoing]) -> None:
        """Queue the frames, in order, without blocking (a slow socket must not hold up
        the others)."""

    def end_session(self, session_id: UUID) -> None:
        """Close if the socket's token is of that login session."""


class Hub:
    def __init__(self) -> None:
        # Keyed by the user id's text, as events name their recipients.
        self._local: dict[str, set[Subscriber]] = {}

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def sockets_of(self, user_id: UUID) -> int:
        return len(self._local.get(str(user_id), ()))

    @property
    def socket_count(self) -> int:
        return sum(len(s) for s in self._local.values())

    async def register(self, subscriber: Subscriber) -> None:
        """From now on events for the subscriber's user reach it (the instance listens
        to every event from its start)."""
        self._local.setdefault(str(subscriber.user_id), set()).add(subscriber)

    async def unregister(self, subscriber: Subscriber) -> None:
        key = str(subscriber.user_id)
        subscribers = self._local.get(key)
        if subscribers is None:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._local[key]

    def end_session(self, session_id: UUID, user_id: UUID) -> None:
        """auth_service ended the session: its sockets here close (every instance learns
        of it on its own)."""
        for subscriber in list(self._local.get(str(user_id), ())):
            subscriber.end_session(session_id)

    async def deliver(self, deliveries: Sequence[Delivery]) -> None:
        """Send committed events; a failure here is logged, never undoes the commit."""
        wanted = [d for d in deliveries if d.user_ids]
        if not wanted:
            return
        try:
            await self._publish(wanted)
        except Exception as exc:
            log.error("fanout.failed", error=repr(exc), events=len(wanted))

    def _dispatch(self, routed: Iterable[tuple[Iterable[str], Outgoing]]) -> None:
        """Each event to the sockets of its recipients here, a socket's all at once."""
        by_subscriber: dict[Subscriber, list[Outgoing]] = {}
        for user_ids, event in routed:
            for user_id in user_ids:
                for subscriber in self._local.get(user_id, ()):
                    by_subscriber.setdefault(subscriber, []).append(event)
        for subscriber, events in by_subscriber.items():
            subscriber.offer_all(events)

    async def _publish(self, deliveries: Sequence[Delivery]) -> None:
        raise NotImplementedError


class LocalHub(Hub):
    """One process: events go straight to this process's sockets."""

    async def _publish(self, deliveries: Sequence[Delivery]) -> None:
        self._dispatch((map(str, d.user_ids), d.outgoing()) for d in deliveries)


class RedisHub(Hub):
    def __init__(self, redis: Redis, *, prefix: str, subscribe_timeout: float = 5.0) -> None:
        super().__init__()
        self._redis = redis
        self._channel = f"{prefix}events"
        self._subscribe_timeout = subscribe_timeout
        self._pubsub: PubSub | None = None
        self._subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Returns once this instance hears every event published from now on."""
        self._pubsub = self._redis.pubsub()
        await self._pubsub.subscribe(self._channel)
        self._task = asyncio.create_task(self._listen(), name="chat-fanout")
        await asyncio.wait_for(self._subscribed.wait(), self._subscribe_timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _publish(self, deliveries: Sequence[Delivery]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for delivery in deliveries:
                pipe.publish(self._channel, _wire(delivery))
            await pipe.execute()

    async def _listen(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("fanout.listen_failed", error=repr(exc))
                await asyncio.sleep(1.0)
                continue
            if message is None:
                continue
            routed = []
            for item in await with_ready(self._pubsub, message):
                if item["type"] == "subscribe":
                    self._subscribed.set()
                elif item["type"] == "message":
                    try:
                        routed.append(_unwire(item["data"]))
                    except (ValueError, KeyError, TypeError):
                        log.warning("fanout.bad_message", channel=self._channel)
            try:
                self._dispatch(routed)
            except Exception as exc:
                # The listener must outlive whatever went wrong with one delivery.
                log.error("fanout.dispatch_failed", error=repr(exc), events=len(routed))


def _wire(delivery: Delivery) -> str:
    """A header line (recipients, chat, event) and the frame's text after it: readers
    route by the header and pass the text on as it is. JSON text holds no raw newline."""
    event = delivery.outgoing()
    header = {
        "to": [str(u) for u in delivery.user_ids],
        "chat_id": event.chat_id,
        "event": event.event,
        "removed": sorted(event.removed),
    }
    return json.dumps(header, separators=(",", ":")) + "\n" + event.text


def _unwire(data: bytes | str) -> tuple[list[str], Outgoing]:
    text = data.decode() if isinstance(data, bytes) else data
    head, _, body = text.partition("\n")
    header = json.loads(head)
    event = Outgoing(
        chat_id=header["chat_id"],
        event=header["event"],
        text=body,
        removed=frozenset(header["removed"]),
    )
    return header["to"], event
