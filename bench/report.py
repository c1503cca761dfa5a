"""Figures and BENCHMARKS.md: every benchmark returns :class:`Figure` rows;
the report keeps the previous figures and prints the ratio per line, so a
regression shows up the moment `make bench` runs.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Figure", "median_of", "write_report"]

MARK = "<!-- figures: name | value | unit | better -->"


@dataclass(frozen=True)
class Figure:
    section: str
    name: str
    value: float
    unit: str
    better: str  # "higher" or "lower"
    note: str = ""


def median_of(runs: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    values = [measure() for _ in range(runs)]
    return statistics.median(values), values


def _previous(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    figures: dict[str, float] = {}
    in_block = False
    for line in path.read_text().splitlines():
        if line.strip() == MARK:
            in_block = True
            continue
        if in_block:
            if not line.startswith("| "):
                if figures:
                    break
                continue
            cells = _cells(line)
            if len(cells) >= 3 and re.fullmatch(r"-?[0-9.]+(e[-+]?\d+)?", cells[2]):
                figures[f"{cells[0]} / {cells[1]}"] = float(cells[2])
    return figures


def write_jsonl(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Error rows of a quality run, one JSON object a line (``--errors``)."""
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"errors: {path}", file=sys.stderr)


def _cells(line: str) -> list[str]:
    """A table row's cells; a pipe inside a cell is written ``\\|`` (a
    translation route such as ``spa|eng``)."""
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def _previous_rows(path: Path, skip: set[str]) -> list[str]:
    """Table rows of sections not run this time, kept as they were."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        cells = _cells(line)
        if line.startswith("| ") and len(cells) >= 7 and re.fullmatch(
            r"-?[0-9.]+(e[-+]?\d+)?", cells[2]
        ) and cells[0] not in skip:
            rows.append(line)
    return rows


_WRITTEN_BY = re.compile(r"^Written by (`[^`]+`) on (.+?) UTC, commit (\w+)[.;]")
SOURCE_PREFIX = "Measured by "


def _source_line(command: str, when: str, commit: str) -> str:
    return f"{SOURCE_PREFIX}{command} on {when} UTC, commit {commit}."


def _previous_notes(path: Path, skip: set[str]) -> dict[str, str]:
    """Notes of the sections not re-run, each starting with the command that
    measured it (taken from the old header for reports older than that line)."""
    if not path.exists():
        return {}
    notes: dict[str, str] = {}
    current: str | None = None
    header = ""
    for line in path.read_text().splitlines():
        match = _WRITTEN_BY.match(line)
        if match and not header:
            header = _source_line(*match.groups())
        if line.startswith("## "):
            current = line[3:].strip()
            if current == "All figures" or current in skip:
                current = None
            else:
                notes[current] = ""
        elif current is not None:
            notes[current] += line + "\n"
    return {section: note if note.strip().startswith(SOURCE_PREFIX) or not header
            else f"{header}\n\n{note.strip()}\n" for section, note in notes.items()}


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}"


def write_report(path: Path, figures: list[Figure], *, command: str,
                 notes: dict[str, str]) -> list[str]:
    """Write BENCHMARKS.md; returns the comparison lines printed to the user."""
    previous = _previous(path)
    sections = {f.section for f in figures} | set(notes)
    carried_rows = _previous_rows(path, sections)
    carried_notes = _previous_notes(path, sections)
    lines_out: list[str] = []
    rows: list[str] = []
    for f in figures:
        key = f"{f.section} / {f.name}"
        old = previous.get(key)
        ratio = ""
        if old:
            r = f.value / old if old else 0.0
            flag = ""
            worse = (r < 0.9) if f.better == "higher" else (r > 1.1)
            if worse:
                flag = "  <-- regression?"
            ratio = f"{r:.2f}x"
            lines_out.append(f"{key}: {f.value:.4g} {f.unit} (previous {old:.4g}, {ratio}){flag}")
        else:
            lines_out.append(f"{key}: {f.value:.4g} {f.unit} (no previous figure)")
        rows.append(f"| {f.section} | {_escape(f.name)} | {f.value:.4g} | {f.unit} | "
                    f"{f.better} | {ratio or '-'} | {_escape(f.note)} |")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
    source = _source_line(f"`{command}`", when, commit)
    text = [
        "# Benchmarks",
        "",
        f"Written by `{command}` on {when} UTC, commit {commit}; each section names the "
        "command that measured it.",
        f"Machine: {machine()}.",
        "Each figure is the median, or the best, of the runs stated in its section; the "
        "ratio column compares with the previous BENCHMARKS.md (a drop below 0.9x, or a "
        "latency rise above 1.1x, is flagged when `make bench` runs).",
        "",
    ]
    for section, note in notes.items():
        text += [f"## {section}", "", source, "", note.strip(), ""]
    for section, note in carried_notes.items():
        text += [f"## {section}", "", note.strip(), ""]
    text += [
        "## All figures",
        "",
        MARK,
        "| section | figure | value | unit | better | vs previous | note |",
        "|---|---|---|---|---|---|---|",
        *rows,
        *carried_rows,
        "",
    ]
    path.write_text("\n".join(text))
    return lines_out
