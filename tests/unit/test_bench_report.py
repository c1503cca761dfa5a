"""BENCHMARKS.md writing: sections not re-run are kept with the command that
measured them, and figures are compared with the previous report."""

from __future__ import annotations

from pathlib import Path

from bench.report import Figure, write_report


def test_a_partial_run_keeps_other_sections_and_their_command(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    write_report(path, [Figure("ingest", "speed", 100.0, "items/s", "higher", "")],
                 command="make bench", notes={"ingest": "Ingest note."})
    lines = write_report(path, [Figure("enrich", "speed", 50.0, "docs/s", "higher", "")],
                         command="python -m bench.run --only enrich", notes={"enrich": "E."})
    text = path.read_text()
    ingest = text.split("## ingest", 1)[1].split("## ", 1)[0]
    enrich = text.split("## enrich", 1)[1].split("## ", 1)[0]
    assert "Measured by `make bench`" in ingest and "Ingest note." in ingest
    assert "Measured by `python -m bench.run --only enrich`" in enrich
    assert "| ingest | speed | 100 | items/s |" in text
    assert lines == ["enrich / speed: 50 docs/s (no previous figure)"]


def test_a_drop_is_flagged_against_the_previous_figure(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    write_report(path, [Figure("ingest", "speed", 100.0, "items/s", "higher", "")],
                 command="make bench", notes={"ingest": "n"})
    lines = write_report(path, [Figure("ingest", "speed", 80.0, "items/s", "higher", "")],
                         command="make bench", notes={"ingest": "n"})
    assert lines == ["ingest / speed: 80 items/s (previous 100, 0.80x)  <-- regression?"]
    assert text_count(path, "Measured by") == 1


def text_count(path: Path, needle: str) -> int:
    return path.read_text().count(needle)


def test_a_figure_named_with_a_pipe_survives_a_run_of_another_section(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    route = Figure("e2e", "translation pt (por|spa|eng)", 1.1, "ms/article", "lower", "a|b")
    write_report(path, [route], command="make bench", notes={"e2e": "n"})
    assert "| e2e | translation pt (por\\|spa\\|eng) | 1.1 |" in path.read_text()
    write_report(path, [Figure("ingest", "speed", 1.0, "items/s", "higher", "")],
                 command="python -m bench.run --only ingest", notes={"ingest": "n"})
    lines = write_report(path, [route], command="make bench", notes={"e2e": "n"})
    assert lines == ["e2e / translation pt (por|spa|eng): 1.1 ms/article (previous 1.1, 1.00x)"]
