"""PostgreSQL terminates chat_service's connections several times while senders write in
parallel (REST and sockets). Clients retry failed sends with the same client_message_id,
as a real client does: every acknowledged message is stored exactly once and every
chat's seq has no gap; each message's event reaches chat.events (once, as a consumer
idempotent by event_id sees it)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bench.faults.chat_clients import (
    ChatRest,
    ChatSocket,
    Sender,
    messages_created,
    send_until_acknowledged,
    seq_gaps,
)
from bench.faults.checker import Ledger
from bench.faults.domain_events import TopicLog
from bench.faults.domain_services import Domain
from shared.events.topics import CHAT_EVENTS
from shared.testing.services import terminate_backends

CHATS = 6
CHAT_SIZE = 4
MESSAGES = 40
KILLS = 5
# Terminations per round, 20 ms apart.
BURST = 20

pytestmark = pytest.mark.timeout(600)


async def _sender(sender: Sender, chat_id: str, ledger: Ledger, retries: Counter[str]) -> None:
    for number in range(MESSAGES):
        key = f"{sender.user.display_name}-m{number}"
        ledger.send(key)
        _, retried = await send_until_acknowledged(sender, chat_id, key, key)
        retries[type(sender).__name__] += retried
        ledger.acknowledge(key)


async def _killer(database_url: str, ledger: Ledger, total: int) -> list[int]:
    """Rounds of terminating every backend of the chat database, evenly spaced over the
    run (by acknowledged count, so they land mid-run however fast the machine is). Each
    round is a short burst, so a transaction in flight is hit, not only idle ones (those
    the pool replaces unnoticed)."""
    killed: list[int] = []
    for round_ in range(1, KILLS + 1):
        while len(ledger.acknowledged) < total * round_ // (KILLS + 1):
            await asyncio.sleep(0.02)
        terminated = 0
        for _ in range(BURST):
            terminated += await terminate_backends(database_url)
            await asyncio.sleep(0.02)
        killed.append(terminated)
    return killed


async def test_terminated_connections_lose_and_duplicate_nothing(domain: Domain) -> None:
    ledger = Ledger("chat: PostgreSQL connections terminated during sends")
    users = await domain.users("killed", CHATS * CHAT_SIZE)
    retries: Counter[str] = Counter()
    async with domain.http("chat_service") as client:
        groups = [users[i : i + CHAT_SIZE] for i in range(0, len(users), CHAT_SIZE)]
        chats = [await ChatRest(client, g[0]).create_chat("kills", g[1:]) for g in groups]
        senders: list[tuple[Sender, str]] = [
            (ChatSocket(domain.ws_url("chat_service"), u) if i % 2 else ChatRest(client, u), c)
            for g, c in zip(groups, chats, strict=True)
            for i, u in enumerate(g)
        ]
        killer = asyncio.create_task(
            _killer(domain.suite.databases["chat_service"], ledger, len(senders) * MESSAGES)
        )
        try:
            await asyncio.gather(*(_sender(s, c, ledger, retries) for s, c in senders))
            killed = await killer
        finally:
            killer.cancel()
            for s, _ in senders:
                if isinstance(s, ChatSocket):
                    await s.close()
        print(f"\nbackends terminated per round: {killed}; retries by client: {dict(retries)}")
        for group, chat_id in zip(groups, chats, strict=True):
            history = await ChatRest(client, group[0]).history(chat_id)
            ledger.receive(m["text"] for m in history)
            assert seq_gaps(history) == []
            assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
    assert len(killed) == KILLS
    assert sum(ledger.received.values()) == len(ledger.acknowledged)
    ledger.assert_clean()

    # The relay lost its connections too: each stored message's event still arrives.
    ours = messages_created("killed")
    async with TopicLog(domain.kafka, CHAT_EVENTS) as events:
        await events.until_changes(ours, ledger.acknowledged, 120)
        await events.drain()
    published = Ledger(
        "chat.events: PostgreSQL connections terminated during sends",
        sent=set(ledger.acknowledged),
        acknowledged=set(ledger.acknowledged),
    )
    published.receive(events.changes(ours))
    print(f"records on {events.topic} repeating an event_id: {events.raw_duplicates(ours)}")
    published.assert_clean()
