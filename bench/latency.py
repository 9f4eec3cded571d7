"""Latency recording in an HDR histogram (microsecond resolution, up to one minute)."""

from __future__ import annotations

from hdrh.histogram import HdrHistogram

_MAX_MICROSECONDS = 60_000_000


class Latency:
    def __init__(self) -> None:
        self._histogram = HdrHistogram(1, _MAX_MICROSECONDS, 3)

    def record(self, seconds: float) -> None:
        micros = min(max(int(seconds * 1_000_000), 1), _MAX_MICROSECONDS)
        self._histogram.record_value(micros)

    @property
    def count(self) -> int:
        return int(self._histogram.get_total_count())

    def percentile_ms(self, percentile: float) -> float:
        return float(self._histogram.get_value_at_percentile(percentile)) / 1000

    def summary(self) -> dict[str, float]:
        """p50, p99, p99.9 and max in milliseconds."""
        return {
            "p50": self.percentile_ms(50),
            "p99": self.percentile_ms(99),
            "p99.9": self.percentile_ms(99.9),
            "max": float(self._histogram.get_max_value()) / 1000,
        }
