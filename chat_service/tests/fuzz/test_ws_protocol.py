"""/ws and seed 000's /ws/chat/{chat_id} under hostile frames: whatever a member sends,
one socket keeps answering, with the error the protocol documents, never an internal
error."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis.strategies import SearchStrategy

from chat_service.main import create_app
from chat_service.ws.legacy import CHAT_TYPES
from chat_service.ws.protocol import ACTIONS
from shared.testing.fuzz import (
    ReusedSocket,
    assert_documented_answers,
    assert_huge_frames_close_1009,
    frames,
    requests,
)
from shared.testing.server import serve
from tests.conftest import MakeSettings
from tests.helpers import Api, Person, ws_url

# Each action with the fields its request takes.
ACTION_FIELDS = {name: list(a.request.model_fields) for name, a in ACTIONS.items()}
TYPE_FIELDS = {name: list(k.request.model_fields) for name, k in CHAT_TYPES.items()}
REPLIES = ("result", "error")


def documented_error(frame: str | bytes, key: str, known: Callable[[str], bool]) -> str | None:
    """The error the protocol promises for a frame that cannot be a request."""
    if isinstance(frame, bytes):
        return "text_only"
    try:
        payload = json.loads(frame)
    except (ValueError, RecursionError):
        return "invalid_json"
    if not isinstance(payload, dict):
        return "invalid_request"
    request_id = payload.get("request_id")
    if key == "action" and request_id is not None and not isinstance(request_id, str | int):
        return "invalid_request"
    name = payload.get(key)
    if not isinstance(name, str) or not known(name):
        return "unknown_action"
    return None


LIMIT = 64 * 1024


@pytest.fixture
async def fuzz_url(make_settings: MakeSettings) -> AsyncIterator[str]:
    # The frame-rate cap has its own tests; here it would only slow the fuzzing down.
    settings = make_settings(
        ws_frames_per_second=10_000, ws_frame_burst=10_000, ws_max_frame_bytes=LIMIT
    )
    async with serve(create_app(settings), ws_max_size=settings.ws_max_frame_bytes) as url:
        yield url


async def test_huge_frames_close_1009_and_the_server_serves_on(
    fuzz_url: str, alice: Person
) -> None:
    url = ws_url(fuzz_url, "/ws", alice.token)
    await assert_huge_frames_close_1009(url, LIMIT)
    socket = ReusedSocket(url)
    assert await socket.exchange('{"action": "help"}', "after") != []
    await socket.close()


async def _fuzz(
    socket: ReusedSocket,
    sent: SearchStrategy[str | bytes],
    key: str,
    known: Callable[[str], bool],
) -> None:
    await assert_documented_answers(
        socket,
        sent,
        replies=REPLIES,
        documented_error=lambda frame: documented_error(frame, key, known),
        max_examples=120,
    )


@pytest.mark.parametrize("kind", ["any-frame", "requests-with-any-values"])
async def test_user_socket_answers_every_frame(
    fuzz_url: str, api: Api, alice: Person, bob: Person, kind: str
) -> None:
    chat = await api.create_chat(alice, bob)
    known = {"chat_id": [chat["id"]], "member_ids": [[str(bob.id)], []], "seq": [1]}
    sent = (frames if kind == "any-frame" else requests)(ACTION_FIELDS, known)
    socket = ReusedSocket(ws_url(fuzz_url, "/ws", alice.token))
    await _fuzz(socket, sent, "action", ACTIONS.__contains__)


@pytest.mark.parametrize("kind", ["any-frame", "requests-with-any-values"])
async def test_chat_socket_answers_every_frame(
    fuzz_url: str, api: Api, alice: Person, bob: Person, kind: str
) -> None:
    chat = await api.create_chat(alice, bob)
    sent = (frames if kind == "any-frame" else requests)(TYPE_FIELDS, {"data": [[1]]})
    # Seed 000's frames name their kind in "type"; bob is a member, not the owner, so
    # delete_chat is refused rather than ending the socket.
    sent = sent.map(lambda f: _as_legacy(f))
    socket = ReusedSocket(ws_url(fuzz_url, f"/ws/chat/{chat['id']}", bob.token), key="type")
    await _fuzz(socket, sent, "type", CHAT_TYPES.__contains__)


def _as_legacy(frame: str | bytes) -> str | bytes:
    """A request frame with its "action" renamed "type" (other frames as they are)."""
    try:
        payload = json.loads(frame)
    except (ValueError, RecursionError):
        return frame
    if not isinstance(payload, dict) or "action" not in payload:
        return frame
    payload["type"] = payload.pop("action")
    text = json.dumps(payload)
    return text.encode() if isinstance(frame, bytes) else text
