"""`make bench`: run the benchmarks, print one table, write var/bench/<name>.json.

Each module in bench/scenarios is one benchmark, named after the module, exposing
``async def run(quick: bool) -> tuple[list[Row], dict[str, object]]``: its rows and the
parameters it used.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import sys
from pathlib import Path

from bench import scenarios
from bench.report import Row, table, write_json


def main() -> int:
    names = [m.name for m in pkgutil.iter_modules(scenarios.__path__) if not m.name.startswith("_")]
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(names)}")
    parser.add_argument("--quick", action="store_true", help="small workloads, for a smoke run")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    args = parser.parse_args()
    if unknown := set(args.names) - set(names):
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}; known: {', '.join(names)}")
    all_rows: list[Row] = []
    for name in args.names or names:
        module = importlib.import_module(f"bench.scenarios.{name}")
        print(f"=== {name}", flush=True)
        rows, parameters = asyncio.run(module.run(args.quick))
        print(table(rows), flush=True)
        print(f"-> {write_json(args.out, name, rows, parameters)}", flush=True)
        all_rows += rows
    print("\n" + table(all_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
