"""`make bench`: run the benchmarks against the local services and write
BENCHMARKS.md, printing each figure's ratio to the previous run.

Usage: ``python -m bench.run [--only ingest,index,...] [--quick]``. Benchmarks
never assert on time; they measure and report.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from bench.report import Figure, write_report

ROOT = Path(__file__).resolve().parents[1]

# name -> (module, run() keyword arguments for a full run, for --quick, notes)
BENCHMARKS: dict[str, tuple[str, dict[str, int], dict[str, int], str]] = {
    "ingest": (
        "bench.ingest_bench",
        {"items": 1000, "runs": 3},
        {"items": 200, "runs": 1},
        "Items per second from fetched bytes to enqueued documents, next to "
        "`feedparser.parse` on the same generated feed (1,000 items, bodies of "
        "300-1,500 words, 70% English, 20% Spanish, 10% other) in the same run. "
        "`poll to queue` includes the version gate in the real Redis and publishing "
        "the batches to the real broker; no network fetch. Median of 3 runs.",
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--quick", action="store_true", help="small sizes, one run")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    os.environ.setdefault("WIRESTREAM_ENV_FILE", str(ROOT / "var" / "local.env"))
    names = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    figures: list[Figure] = []
    notes: dict[str, str] = {}
    for name in names:
        module, full, quick, note = BENCHMARKS[name]
        print(f"== {name}", flush=True)
        run = importlib.import_module(module).run
        figures.extend(run(**(quick if args.quick else full)))
        notes[name] = note
    command = "make bench" + (" (--quick)" if args.quick else "")
    for line in write_report(Path(args.output), figures, command=command, notes=notes):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
