"""Results of a benchmark run: one row per measured figure, ours beside the baseline's."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Row:
    benchmark: str
    metric: str
    unit: str
    ours: float
    baseline: float | None = None
    # True when a bigger number is better (rates), False for latencies and memory.
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times better ours is than the baseline (>1 means better)."""
        if self.baseline is None or self.baseline == 0 or self.ours == 0:
            return None
        return self.ours / self.baseline if self.higher_is_better else self.baseline / self.ours


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def table(rows: list[Row]) -> str:
    header = ("benchmark", "metric", "ours", "baseline", "x better", "unit", "note")
    cells = [
        (
            r.benchmark,
            r.metric,
            _number(r.ours),
            _number(r.baseline),
            "-" if r.ratio is None else f"{r.ratio:.1f}x",
            r.unit,
            r.note,
        )
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
    lines = ["  ".join(str(c[i]).ljust(widths[i]) for i in range(len(header))) for c in [header]]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c[i]).ljust(widths[i]) for i in range(len(header))) for c in cells]
    return "\n".join(lines)


def machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cores": psutil.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
    }


def write_json(directory: Path, name: str, rows: list[Row], parameters: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    document = {
        "benchmark": name,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "parameters": parameters,
        "rows": [asdict(r) | {"ratio": r.ratio} for r in rows],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
