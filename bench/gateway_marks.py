"""The mark a measured notification carries in its title: ``~phase~seq~intended µs~``.

The intended send time is on the system's monotonic clock, which every process on the
machine shares, so a client computes latency = arrival - intended without any exchange.
"""

from __future__ import annotations

import re

_MARK = re.compile(rb"~(\d+)~(\d+)~(\d+)~")


def make_mark(phase: int, seq: int, intended: float) -> str:
    return f"~{phase}~{seq}~{int(intended * 1_000_000)}~"


def read_mark(payload: bytes) -> tuple[int, int, int] | None:
    """(phase, seq, intended µs) from a frame, or None for a frame without a mark."""
    found = _MARK.search(payload)
    if found is None:
        return None
    return int(found[1]), int(found[2]), int(found[3])
