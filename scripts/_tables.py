"""What the scripts that build a shipped data table share: read one wheel
named on the command line, write the table under its header, say how many
rows."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


def write_table(argv: list[str], usage: str | None, build: Callable[[Path], list[str]],
                out: Path, header: str, what: str) -> int:
    """``main`` of a table-building script: 2 and the usage without exactly
    one argument (the wheel), else the table written and 0."""
    if len(argv) != 1:
        print(usage, file=sys.stderr)
        return 2
    rows = build(Path(argv[0]))
    out.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} {what} -> {out}")
    return 0
