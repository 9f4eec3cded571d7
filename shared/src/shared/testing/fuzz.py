"""What the services' fuzz tests share: schemathesis against a served app, hostile JSON
for the socket protocols, and a bridge from hypothesis (synchronous) to the test's loop.

The fuzz runs are bounded and deterministic so they can run in ``make test``: a fixed
number of examples, derandomized generation, no example database.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

T = TypeVar("T")

# Deterministic and free of state between runs; slow examples are expected (real I/O).
FUZZ_SETTINGS = settings(
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
    timeout: float = 240,
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
    process = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **env},
        cwd=config_file.parent,
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


# Text a socket or a record may carry: NUL, lone surrogates (only representable as JSON
# escapes), control characters, right-to-left marks, astral characters.
hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec=None, exclude_categories=()),
        st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "\ufeff", "\U0001f600"]),
    ),
    max_size=40,
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


def requests(actions: Sequence[str], fields: Sequence[str]) -> st.SearchStrategy[str]:
    """Frames that look like the protocol's requests, with any values in their fields."""
    request = st.fixed_dictionaries(
        {"action": st.one_of(st.sampled_from(actions), json_values)},
        optional=dict.fromkeys(("request_id", *fields), json_values),
    )
    return request.map(lambda frame: json.dumps(frame))


def frames(actions: Sequence[str], fields: Sequence[str]) -> st.SearchStrategy[str | bytes]:
    """Anything a client can put in a frame: requests with wrong values, any JSON, no
    JSON, JSON nested past the parser's limit, and binary frames."""
    text_or_bytes: st.SearchStrategy[str | bytes] = st.one_of(
        requests(actions, fields),
        json_values.map(json.dumps),
        st.text(max_size=60),
        st.integers(min_value=100, max_value=100_000).map(nested),
        st.binary(max_size=60),
        requests(actions, fields).map(str.encode),
    )
    return text_or_bytes
