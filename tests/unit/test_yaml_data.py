"""The project's YAML reader: YAML 1.2 booleans."""

from __future__ import annotations

import datetime

from shared.yaml_data import safe_load


def test_only_true_and_false_are_booleans() -> None:
    data = safe_load("codes: {NO: [Norwegian], ON: x}\nflags: [yes, no, on, off, true, False]\n"
                     "n: 3\nday: 2026-12-05\n")
    assert data["codes"] == {"NO": ["Norwegian"], "ON": "x"}
    assert data["flags"] == ["yes", "no", "on", "off", True, False]
    assert data["n"] == 3 and data["day"] == datetime.date(2026, 12, 5)
