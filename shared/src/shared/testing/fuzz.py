"""What the services' fuzz tests share: schemathesis against a served app, hostile JSON
for the socket protocols, and a bridge from hypothesis (synchronous) to the test's loop.

The fuzz runs are bounded and deterministic so they can run in ``make test``: a fixed
number of examples, derandomized generation, no example database.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

T = TypeVar("T")

# Deterministic and free of state between runs; slow examples are expected (real I/O).
# No shrinking: over real sockets it takes minutes, and the failing frame is reported
# as generated.
FUZZ_SETTINGS = settings(
    phases=(Phase.explicit, Phase.generate),
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


async def schemathesis_run(
    schema_url: str,
    *,
    config_file: Path,
    env: Mapping[str, str] = {},
    max_examples: int = 10,
    timeout: float = 110,
) -> tuple[int, str]:
    """``schemathesis run`` over real HTTP: every phase (examples, coverage, fuzzing,
    stateful on the links it infers) and the checks the config file enables (all, less
    the exclusions it gives per operation, which ``--checks all`` would override).
    Returns the exit code and the report."""
    args = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_file),
        "run",
        schema_url,
        "--max-examples",
        str(max_examples),
        "--generation-deterministic",
        "--no-color",
        "--request-timeout",
        "30",
    ]
    # A scratch working directory: nothing (.hypothesis, .schemathesis) is left behind
    # in the source tree, and nothing from an earlier run is reused.
    with tempfile.TemporaryDirectory(prefix="schemathesis-") as scratch:
        process = await asyncio.create_subprocess_exec(
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **env},
            cwd=scratch,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


class LoopBridge:
    """Runs coroutines on the test's event loop (where the served app and the sockets
    live) from a hypothesis test running in a worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float = 30) -> None:
        self._loop = loop
        self._timeout = timeout

    def run(self, coroutine: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(self._timeout)


# Characters that storage, encoders and displays trip over: NUL, lone surrogates (only
# representable as JSON escapes), a right-to-left override, a BOM, an astral character.
AWKWARD_CHARACTERS = ["\x00", "\ud800", "\udfff", "\u202e", "\ufeff", "\U0001f600"]

# Any text, half the time with one awkward character in it.
hostile_text = st.one_of(
    st.text(max_size=40),
    st.tuples(st.text(max_size=20), st.sampled_from(AWKWARD_CHARACTERS), st.text(max_size=20)).map(
        "".join
    ),
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)

json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(hostile_text, st.sampled_from(["action", "id"])), children),
    ),
    max_leaves=12,
)


def nested(depth: int) -> str:
    """An array nested ``depth`` deep: deeper than a recursive parser's stack allows."""
    return "[" * depth + "]" * depth


Actions = Mapping[str, Sequence[str]]


def requests(actions: Actions, known: Mapping[str, Sequence[Any]] = {}) -> st.SearchStrategy[str]:
    """Frames that look like the protocol's requests: a known action (nine times in ten)
    with every field it takes (``actions`` maps each to its fields) holding any value,
    text half the time (text is where NUL and lone surrogates hide); missing and
    unknown fields are the unit tests' business. A field with ``known`` values (a real
    chat's id) holds one of them half the time, so requests get past the lookups to the
    code that stores things."""
    value = st.one_of(hostile_text, json_values)

    def field(name: str) -> st.SearchStrategy[Any]:
        real = known.get(name)
        return value if not real else st.one_of(st.sampled_from(list(real)), value)

    def request(action: Any) -> st.SearchStrategy[dict[str, Any]]:
        fields = actions.get(action, ()) if isinstance(action, str) else ()
        return st.fixed_dictionaries(
            {"action": st.just(action), **{name: field(name) for name in fields}},
            optional={"request_id": value},
        )

    action = st.integers(0, 9).flatmap(
        lambda n: json_values if n == 0 else st.sampled_from(list(actions))
    )
    return action.flatmap(request).map(json.dumps)


def frames(
    actions: Actions, known: Mapping[str, Sequence[Any]] = {}
) -> st.SearchStrategy[str | bytes]:
    """Anything a client can put in a frame: requests with wrong values, any JSON, no
    JSON, JSON nested past the parser's limit, and binary frames."""
    text_or_bytes: st.SearchStrategy[str | bytes] = st.one_of(
        requests(actions, known),
        json_values.map(json.dumps),
        st.text(max_size=60),
        # Deep, but within the 64 KiB frames the services take (larger ones close 1009).
        # Depths near the interpreter's recursion limit (1000) are left out: whether
        # they parse depends on how deep the parser's caller already is.
        st.one_of(
            st.integers(min_value=100, max_value=500),
            st.integers(min_value=2_000, max_value=30_000),
        ).map(nested),
        st.binary(max_size=60),
        requests(actions, known).map(str.encode),
    )
    return text_or_bytes


def huge_frames(limit: int) -> st.SearchStrategy[str | bytes]:
    """Text or binary frames from just over ``limit`` bytes to 16 times it."""
    sizes = st.integers(min_value=limit + 1, max_value=limit * 16)
    return st.one_of(sizes.map(lambda n: "x" * n), sizes.map(lambda n: b"\x00" * n))


async def assert_huge_frames_close_1009(url: str, limit: int) -> None:
    """Frames over ``limit`` (text or binary) each get close 1009 from the server."""
    bridge = LoopBridge(asyncio.get_running_loop())

    @settings(FUZZ_SETTINGS, max_examples=6)
    @given(frame=huge_frames(limit))
    def closes(frame: str | bytes) -> None:
        assert bridge.run(close_code_after(url, frame)) == 1009

    await asyncio.to_thread(closes)


async def close_code_after(url: str, frame: str | bytes, timeout: float = 30) -> int | None:
    """Open a socket, send ``frame`` and read until the server closes; its close code."""
    async with connect(url, max_size=None, open_timeout=30) as ws:
        await ws.send(frame)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await ws.recv()
        except ConnectionClosed:
            pass
        return ws.close_code


async def exchange(
    ws: ClientConnection, frame: str | bytes, sync_id: str, *, key: str, timeout: float = 30
) -> list[dict[str, Any]]:
    """Send ``frame``, then ``{key: sync_id}``: a request for an action that does not
    exist, which every protocol here answers with ``unknown_action`` echoing it. Returns
    every frame the server sent before that answer (which proves the socket still
    serves)."""
    await ws.send(frame)
    await ws.send(json.dumps({key: sync_id}))
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            reply = json.loads(await ws.recv())
            assert isinstance(reply, dict), reply
            if reply.get("error") == "unknown_action" and reply.get("raw_action") == sync_id:
                return frames
            frames.append(reply)


class ReusedSocket:
    """One socket for many examples, replaced only after the server closed it: the
    example that closed it fails, and the ones hypothesis tries next (shrinking) start
    on a live socket, so a failure replays the same way."""

    def __init__(self, url: str, *, key: str = "action") -> None:
        self._url = url
        self._key = key
        self._ws: ClientConnection | None = None

    async def exchange(self, frame: str | bytes, sync_id: str) -> list[dict[str, Any]]:
        if self._ws is None or self._ws.state is not State.OPEN:
            self._ws = await connect(self._url, max_size=None, open_timeout=30)
        try:
            return await exchange(self._ws, frame, sync_id, key=self._key)
        except ConnectionClosed as exc:
            sent = repr(frame)[:200]
            raise AssertionError(f"the server closed the socket after {sent}: {exc}") from exc

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()


async def assert_documented_answers(
    socket: ReusedSocket,
    sent: st.SearchStrategy[str | bytes],
    *,
    replies: Sequence[str],
    documented_error: Callable[[str | bytes], str | None],
    max_examples: int,
) -> None:
    """Every frame ``sent`` gets exactly one reply of a ``replies`` type, never an
    internal error, and the error the protocol documents where it promises one. The
    socket is closed at the end."""
    bridge = LoopBridge(asyncio.get_running_loop())
    sync_ids = (f"sync-{n}" for n in itertools.count())

    @settings(FUZZ_SETTINGS, max_examples=max_examples)
    @given(frame=sent)
    def answers(frame: str | bytes) -> None:
        received = bridge.run(socket.exchange(frame, next(sync_ids)))
        answered = [r for r in received if r.get("type") in replies]
        assert len(answered) == 1, (frame, received)
        reply = answered[0]
        assert reply.get("error") != "internal_error", (frame, reply)
        if (expected := documented_error(frame)) is not None:
            assert reply["error"] == expected, (frame, reply)

    try:
        await asyncio.to_thread(answers)
    finally:
        await socket.close()
