"""The project's YAML reader: YAML 1.2 booleans."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from shared.yaml_data import TableError, load_table, safe_load

ROOT = Path(__file__).resolve().parents[2]


def test_only_true_and_false_are_booleans() -> None:
    data = safe_load("codes: {NO: [Norwegian], ON: x}\nflags: [yes, no, on, off, true, False]\n"
                     "n: 3\nday: 2026-12-05\n")
    assert data["codes"] == {"NO": ["Norwegian"], "ON": "x"}
    assert data["flags"] == ["yes", "no", "on", "off", True, False]
    assert data["n"] == 3 and data["day"] == datetime.date(2026, 12, 5)


def test_a_key_written_twice_is_refused() -> None:
    import yaml

    with pytest.raises(yaml.YAMLError, match="found the key 'a' twice"):
        safe_load("a: 1\nb: 2\na: 3\n")


@pytest.mark.parametrize("table", sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "services").rglob("*.yaml")))
def test_every_shipped_data_table_has_string_keys_only(table: str) -> None:
    data = load_table((ROOT / table).read_text(encoding="utf-8"), table)
    assert data


@pytest.mark.parametrize(("text", "problem"), [
    ("demonyms:\n  1: [One]\n", "key 1 (int) under demonyms"),
    ("days:\n  2026-12-05: x\n", "(date) under days"),
    ("- a\n- b\n", "expected a mapping"),
    ("rules:\n  - {3.5: x}\n", "key 3.5 (float) under rules/0"),
])
def test_a_table_with_a_key_that_is_not_a_string_is_refused(text: str, problem: str) -> None:
    with pytest.raises(TableError, match=re.escape(problem)):
        load_table(text, "t.yaml")


def test_the_loaders_refuse_such_a_table_at_boot(tmp_path: Path) -> None:
    from services.enrich.topics import load_rules
    from shared.errors import ConfigError

    bad = tmp_path / "topics.yaml"
    bad.write_text("topics: []\nweights:\n  1: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not a string"):
        load_rules(bad)
