"""/ws/orders under hostile frames: whatever a client sends, one socket keeps answering,
with the error the protocol documents for it, and never an internal error."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from hypothesis.strategies import SearchStrategy

from orders_service.ws.handlers import HANDLERS
from shared.testing.fuzz import (
    ReusedSocket,
    assert_documented_answers,
    assert_huge_frames_close_1009,
    frames,
    requests,
)
from tests.conftest import SettingsFactory
from tests.support import serve_orders

# Each action with the fields its request takes.
ACTION_FIELDS = {
    "ping": [],
    "create_order": ["customer"],
    "change_status": ["order_id", "status"],
    "get_order": ["order_id"],
    "list_orders": ["status", "limit", "offset"],
}
REPLIES = ("result", "error", "pong")


def documented_error(frame: str | bytes) -> str | None:
    """The error the README promises for a frame that cannot be a request."""
    if isinstance(frame, bytes):
        return "text_only"
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        return "invalid_json"
    if not isinstance(message, dict):
        return "invalid_message"
    action = message.get("action")
    if not isinstance(action, str) or action not in HANDLERS:
        return "unknown_action"
    return None


LIMIT = 64 * 1024


@pytest.fixture
async def orders_url(make_settings: SettingsFactory) -> AsyncIterator[str]:
    # The frame-rate cap has its own tests; here it would only slow the fuzzing down.
    settings = make_settings(frames_per_second=10_000, frame_burst=10_000, ws_max_size=LIMIT)
    async with serve_orders(settings) as url:
        yield url


async def test_huge_frames_close_1009_and_the_server_serves_on(orders_url: str) -> None:
    url = orders_url.replace("http://", "ws://", 1) + "/ws/orders"
    await assert_huge_frames_close_1009(url, LIMIT)
    socket = ReusedSocket(url)
    assert await socket.exchange('{"action": "ping"}', "after") == [{"type": "pong"}]
    await socket.close()


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(frames(ACTION_FIELDS, {"order_id": [1]}), id="any-frame"),
        pytest.param(requests(ACTION_FIELDS, {"order_id": [1]}), id="requests-with-any-values"),
    ],
)
async def test_every_frame_gets_its_documented_answer(
    orders_url: str, sent: SearchStrategy[str | bytes]
) -> None:
    socket = ReusedSocket(orders_url.replace("http://", "ws://", 1) + "/ws/orders")
    await assert_documented_answers(
        socket, sent, replies=REPLIES, documented_error=documented_error, max_examples=150
    )
