"""Helpers for the parsing-layer tests: where the shared fixtures are, a
fixed clock, and golden files.

Fixtures: ``$WIRESTREAM_FIXTURES`` if set, else the repository's own
``tests/fixtures`` (real wire samples with provenance and licences: README
there). Tests that need them call :func:`fixtures`; only an override that
points nowhere makes them skip, with a clear reason.

Goldens: ``tests/golden/<name>.json``. Set ``WIRESTREAM_UPDATE_GOLDENS=1`` to
rewrite them from the current output - then review every changed file by
eye (``git diff tests/golden``) before committing.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.ingest.parsers import ParseResult, SourceRef, parse_document
from shared.errors import ParseError
from tests.conftest import fixtures_dir

REPO = Path(__file__).resolve().parents[3]
GOLDEN_DIR = REPO / "tests" / "golden"
GOLDEN_INPUTS = GOLDEN_DIR / "inputs"
# A fixed "now" so no golden depends on when the tests run.
FETCHED_AT = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
UPDATE_GOLDENS = os.environ.get("WIRESTREAM_UPDATE_GOLDENS", "") not in ("", "0", "false")
# Big feeds: the first items in full, every item as (id, content_hash, headline).
GOLDEN_FULL_ITEMS = 4


def fixtures_root() -> Path | None:
    """``$WIRESTREAM_FIXTURES`` when set (None when it does not exist: then
    the fixture tests skip), else ``<repo>/tests/fixtures``."""
    return fixtures_dir()


FIXTURES = fixtures_root()


def fixtures() -> Path:
    """The fixtures folder, or skip the calling test."""
    if FIXTURES is None:
        where = os.environ.get("WIRESTREAM_FIXTURES") or "tests/fixtures"
        pytest.skip(f"wire-format fixtures not found at {where} (WIRESTREAM_FIXTURES)")
    return FIXTURES


def parse_bytes(
    data: bytes, *, source: str = "test", lang: str | None = None, **kw: Any
) -> ParseResult:
    return parse_document(
        data, source=SourceRef(id=source, language=lang), fetched_at=FETCHED_AT, **kw
    )


def parse_mutations(original: bytes, seed: str, rounds: int, alphabet: bytes = b"") -> None:
    """Parse ``rounds`` damaged copies of ``original`` (every third cut
    short, the others with up to 19 bytes overwritten by random bytes or by
    ones of ``alphabet``): each must give a ParseResult or a ParseError with
    a reason, never another exception."""
    rng = random.Random(seed)
    for round_ in range(rounds):
        data = bytearray(original)
        if round_ % 3 == 0:
            del data[rng.randrange(1, len(data)):]
        else:
            for _ in range(rng.randrange(1, 20)):
                data[rng.randrange(len(data))] = rng.choice([rng.randrange(256), *alphabet])
        try:
            result = parse_bytes(bytes(data))
        except ParseError as exc:
            assert exc.reason
            continue
        assert isinstance(result, ParseResult)


def golden_view(result: ParseResult) -> dict[str, Any]:
    data = result.model_dump(mode="json")
    items = data.pop("items")
    view: dict[str, Any] = {"item_count": len(items)}
    if len(items) > GOLDEN_FULL_ITEMS:
        view["all_items"] = [[i["id"], i["content_hash"], i["headline"]] for i in items]
        view["items_shown"] = f"first {GOLDEN_FULL_ITEMS} of {len(items)}"
        items = items[:GOLDEN_FULL_ITEMS]
    view["items"] = items
    view.update(data)
    return view


def check_golden(name: str, input_label: str, options: dict[str, Any], result: ParseResult) -> None:
    path = GOLDEN_DIR / f"{name}.json"
    actual = {"input": input_label, "options": options, "result": golden_view(result)}
    if UPDATE_GOLDENS:
        path.write_text(json.dumps(actual, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(
            f"golden {path.name} missing: run with WIRESTREAM_UPDATE_GOLDENS=1 and review it"
        )
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert actual == expected, (
        f"output differs from {path.name} (WIRESTREAM_UPDATE_GOLDENS=1 to rewrite)"
    )
