"""notification.send under hostile records: each is dead-lettered, none is pushed, and
the consumer goes on to deliver the good record produced after it."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection

from shared.events.topics import dead_letter
from shared.testing.auth_service import AuthUser, register_and_login
from shared.testing.fuzz import (
    AWKWARD_CHARACTERS,
    FUZZ_SETTINGS,
    LoopBridge,
    hostile_text,
    json_values,
    nested,
)
from tests.conftest import SettingsFactory
from tests.support import Served, connect, notification, read_topic, receive_json, serve_gateway

FIELDS = ("message_id", "delivery_method", "user_id", "subject", "content")
# Characters PostgreSQL or a strict UTF-8 reader refuses in text.
UNSTORABLE = [c for c in AWKWARD_CHARACTERS if c == "\x00" or "\ud800" <= c <= "\udfff"]


def _valid(user: AuthUser) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(notification(user.id))
    return record


def bad_records(user: AuthUser) -> st.SearchStrategy[bytes]:
    """Records the contract says are not pushed: no JSON, no object, a field missing,
    of the wrong type or holding what cannot be stored, another delivery method, too
    large; all addressed to ``user``, so a wrongly accepted one would reach the socket."""

    def with_field(name: str, value: Any) -> bytes:
        return json.dumps({**_valid(user), name: value}).encode()

    def without(name: str) -> bytes:
        record = _valid(user)
        del record[name]
        return json.dumps(record).encode()

    not_text = json_values.filter(lambda v: not isinstance(v, str))
    unstorable = st.tuples(hostile_text, st.sampled_from(UNSTORABLE), hostile_text).map("".join)
    return st.one_of(
        st.binary(max_size=60).map(lambda b: b"\xff" + b),
        st.text(max_size=60).filter(lambda t: not t.strip().startswith("{")).map(str.encode),
        st.integers(min_value=100, max_value=10_000).map(lambda d: nested(d).encode()),
        json_values.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v).encode()),
        st.sampled_from(FIELDS).map(without),
        st.tuples(st.sampled_from(FIELDS), not_text).map(lambda f: with_field(*f)),
        st.tuples(st.sampled_from(["subject", "content"]), unstorable).map(
            lambda f: with_field(*f)
        ),
        hostile_text.filter(lambda m: m != "push").map(lambda m: with_field("delivery_method", m)),
        st.sampled_from(["message_id", "user_id"]).flatmap(
            lambda name: hostile_text.map(lambda v: with_field(name, v))
        ),
        st.just(with_field("content", "x" * 40_000)),
    )


@pytest.fixture
async def served(make_settings: SettingsFactory, auth_service_url: str) -> AsyncIterator[Served]:
    """A gateway of its own: its dead-letter topic holds only this test's records."""
    async with serve_gateway(make_settings()) as served:
        yield served


async def test_hostile_records_are_dead_lettered_and_consumption_goes_on(
    served: Served, producer: AIOKafkaProducer, auth_service_url: str, kafka_bootstrap: str
) -> None:
    user = await register_and_login(auth_service_url)
    topic = served.gateway.settings.notification_topic
    key = str(user.id).encode()  # one partition: each good record comes after its bad one
    bridge = LoopBridge(asyncio.get_running_loop(), timeout=60)
    produced: list[bytes] = []
    counter = itertools.count()

    async def bad_then_good(ws: ClientConnection, bad: bytes) -> dict[str, Any]:
        await producer.send_and_wait(topic, bad, key=key)
        good = notification(user.id, "good", str(next(counter)))
        await producer.send_and_wait(topic, good, key=key)
        frame: dict[str, Any] = await receive_json(ws, timeout=45)
        return frame

    async with connect(served.ws_url(user.access_token)) as ws:

        @settings(FUZZ_SETTINGS, max_examples=40)
        @given(bad=bad_records(user))
        def skipped(bad: bytes) -> None:
            produced.append(bad)
            expected = {"title": "good", "body": str(len(produced) - 1)}
            # The next frame is the good record: the bad one was not pushed, and the
            # consumer did not stall on it.
            assert bridge.run(bad_then_good(ws, bad)) == expected, bad[:200]

        await asyncio.to_thread(skipped)

    parked = await read_topic(kafka_bootstrap, dead_letter(topic), len(produced))
    assert sorted(r.value or b"" for r in parked) == sorted(produced)
