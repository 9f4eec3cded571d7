"""Classify every sent event id as delivered, lost or duplicated, as Jepsen checkers do.

A scenario records what it sent, what the system acknowledged and what a consumer
received (each id once per receipt); ``verdict`` says what the user saw.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field


@dataclass
class Ledger:
    name: str
    sent: set[Hashable] = field(default_factory=set)
    acknowledged: set[Hashable] = field(default_factory=set)
    received: Counter[Hashable] = field(default_factory=Counter)
    dead_lettered: int = 0
    recovery_seconds: float | None = None
    _fault_ended: float | None = None

    def send(self, event_id: Hashable) -> None:
        self.sent.add(event_id)

    def acknowledge(self, event_id: Hashable) -> None:
        self.acknowledged.add(event_id)

    def receive(self, event_ids: Iterable[Hashable]) -> None:
        self.received.update(event_ids)

    def fault_ended(self) -> None:
        self._fault_ended = time.monotonic()

    def recovered(self) -> None:
        """The last expected event arrived: time since the fault ended."""
        if self._fault_ended is not None:
            self.recovery_seconds = time.monotonic() - self._fault_ended

    @property
    def lost(self) -> set[Hashable]:
        """Acknowledged (the user was told it worked) but never received."""
        return self.acknowledged - set(self.received)

    @property
    def duplicated(self) -> set[Hashable]:
        return {event_id for event_id, times in self.received.items() if times > 1}

    def verdict(self) -> str:
        recovery = "-" if self.recovery_seconds is None else f"{self.recovery_seconds:.1f}s"
        return (
            f"{self.name}: sent {len(self.sent)} / acknowledged {len(self.acknowledged)} / "
            f"delivered {len(set(self.received) & self.acknowledged)} / lost {len(self.lost)} / "
            f"duplicated {len(self.duplicated)} / dead-lettered {self.dead_lettered} / "
            f"recovery {recovery}"
        )

    def assert_clean(self) -> None:
        print(self.verdict(), flush=True)
        assert not self.lost, f"{len(self.lost)} lost, e.g. {sorted(map(str, self.lost))[:5]}"
        assert not self.duplicated, f"{len(self.duplicated)} duplicated"
