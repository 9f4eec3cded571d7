"""50 senders x 100 messages, 10% of them sent again with the same client_message_id
(half as a parallel twin, half as a retry after the reply): exactly 5,000 stored, every
chat's seq without a gap. Half the senders use REST, half one socket each."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict

import pytest

from bench.faults.chat_clients import (
    Acknowledged,
    ChatRest,
    ChatSocket,
    Sender,
    send_until_acknowledged,
    seq_gaps,
)
from bench.faults.checker import Ledger
from bench.faults.domain_services import Domain
from shared.testing.auth_service import AuthUser

SENDERS = 50
MESSAGES = 100
CHAT_SIZE = 5

pytestmark = pytest.mark.timeout(600)


def _key(sender: AuthUser, number: int) -> str:
    return f"{sender.display_name}-m{number}"


async def _send_all(sender: Sender, chat_id: str, ledger: Ledger) -> list[Acknowledged]:
    replies: list[Acknowledged] = []

    async def once(key: str) -> Acknowledged:
        reply, _ = await send_until_acknowledged(sender, chat_id, key, key)
        return reply

    for number in range(MESSAGES):
        key = _key(sender.user, number)
        ledger.send(key)
        if number % 20 == 0:  # a double tap: two requests in flight at once
            replies += await asyncio.gather(once(key), once(key))
        else:
            replies.append(await once(key))
        if number % 20 == 10:  # a retry of something already acknowledged
            replies.append(await once(key))
        ledger.acknowledge(key)
    return replies


async def _run(domain: Domain, ledger: Ledger) -> tuple[list[Acknowledged], dict[str, str]]:
    users = await domain.users("sender", SENDERS)
    async with domain.http("chat_service", max_connections=SENDERS) as client:
        chat_of: dict[str, str] = {}
        for start in range(0, SENDERS, CHAT_SIZE):
            group = users[start : start + CHAT_SIZE]
            chat_id = await ChatRest(client, group[0]).create_chat(f"chat{start}", group[1:])
            chat_of.update({u.display_name: chat_id for u in group})
        senders: list[Sender] = [
            ChatSocket(domain.ws_url("chat_service"), u) if i % 2 else ChatRest(client, u)
            for i, u in enumerate(users)
        ]
        started = time.monotonic()
        try:
            results = await asyncio.gather(
                *(_send_all(s, chat_of[s.user.display_name], ledger) for s in senders)
            )
        finally:
            for s in senders:
                if isinstance(s, ChatSocket):
                    await s.close()
        elapsed = time.monotonic() - started
        replies = [r for per_sender in results for r in per_sender]
        print(f"\n{len(replies)} sends in {elapsed:.1f}s ({len(replies) / elapsed:.0f}/s)")
        for owner in users[::CHAT_SIZE]:
            history = await ChatRest(client, owner).history(chat_of[owner.display_name])
            ledger.receive(m["text"] for m in history)
            assert seq_gaps(history) == []
            assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
    return replies, chat_of


async def test_fifty_senders_with_resends_store_each_message_once(domain: Domain) -> None:
    ledger = Ledger("chat: 50 senders x 100, 10% resent")
    replies, _ = await _run(domain, ledger)
    # Every reply for one message names the same stored message; one of them created it.
    ids_of: dict[str, set[str]] = defaultdict(set)
    for reply in replies:
        ids_of[reply.message["client_message_id"]].add(reply.message["id"])
    assert all(len(ids) == 1 for ids in ids_of.values())
    created = Counter(r.message["client_message_id"] for r in replies if not r.duplicate)
    assert set(created.values()) == {1}
    assert len(created) == SENDERS * MESSAGES
    assert sum(ledger.received.values()) == SENDERS * MESSAGES
    ledger.assert_clean()
