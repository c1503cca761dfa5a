"""ninjs as agencies send it (issue #18, item 1): a real ninjs 1.4 item
(tests/fixtures/ninjs/v1, IPTC's AP example) read in the shapes wires put it
in must give the same story as the canonical form: ``guid`` and no ``uri``
(1.x copy), the AP Media API single-item wrapper ``{"data": {"item": ...}}``,
a list under ``item``; and a format named by the caller wins over detection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ParseError

from ._parsing import REPO, parse_bytes

SAMPLE = REPO / "tests" / "fixtures" / "ninjs" / "v1" / "1.4_ninjsExMediumText1.json"
FIELDS = ("headline", "body_text", "byline", "language", "versioncreated", "summary")


def _original() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(SAMPLE.read_bytes())
    return value


def _story(data: Any, **kw: Any) -> dict[str, Any]:
    [item] = parse_bytes(json.dumps(data).encode(), **kw).items
    return {f: getattr(item, f) for f in (*FIELDS, "guid")}


def test_the_sample_reads_as_a_story() -> None:
    story = _story(_original())
    assert story["headline"] == "Captain of wrecked cruise ship on trial in Italy"
    assert story["guid"] == "http://ninjs.example.com/newsitems/20130709med123"
    assert (story["body_text"] or "").startswith("GROSSETO, Italy (AP)")


def test_a_guid_stands_for_the_missing_uri() -> None:
    original = _original()
    guid_only = {("guid" if k == "uri" else k): v for k, v in original.items()}
    assert _story(guid_only) == _story(original)


@pytest.mark.parametrize("shape", ["ap_single", "ap_feed", "item_list", "bare_list"])
def test_wrappers_give_the_same_story(shape: str) -> None:
    original = _original()
    wrapped: Any = {
        "ap_single": {"api_version": "2", "data": {"item": original, "meta": {}}},
        "ap_feed": {"data": {"items": [{"item": original, "meta": {}}]}},
        "item_list": {"item": [original]},
        "bare_list": [original],
    }[shape]
    assert _story(wrapped) == _story(original)


def test_a_named_format_wins_over_detection() -> None:
    # no uri and no field detection counts on: not recognised as ninjs ...
    odd = {"guid": "urn:x:1", "title": "Not a ninjs key", "description_text": "Summary."}
    with pytest.raises(ParseError) as info:
        parse_bytes(json.dumps(odd).encode())
    assert info.value.reason == "unknown_format"
    # ... but read as ninjs when the caller says so
    [item] = parse_bytes(json.dumps(odd).encode(), fmt="ninjs").items
    assert item.guid == "urn:x:1" and item.summary == "Summary."
    # a named format the content cannot be is still refused
    with pytest.raises(ParseError) as info:
        parse_bytes(json.dumps(_original()).encode(), fmt="rss")
    assert info.value.reason == "format_mismatch"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wirestream.cli", "parse", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_cli_fails_with_one_line_when_nothing_is_read(tmp_path: Path) -> None:
    nothing = tmp_path / "nothing.json"
    nothing.write_text(json.dumps({"stuff": {"title": "no id"}}))
    forced = _cli("--type", "ninjs", str(nothing))
    assert forced.returncode == 2
    assert forced.stderr.strip().count("\n") == 0
    assert "invalid_item" in forced.stderr and "no item read" in forced.stderr
    unknown = _cli(str(nothing))
    assert unknown.returncode == 2 and "unknown_format" in unknown.stderr
    good = _cli("--type", "ninjs", str(SAMPLE))
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["items"][0]["guid"].endswith("20130709med123")
