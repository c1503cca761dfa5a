"""Headline and dates (issue #18, item 5): a zoneless time is a local time
of the source's zone (default UTC); in NewsML-G2 versionCreated is the
version's time and contentModified stands in when it is missing; an item
without a contentMeta headline takes its inline NITF's."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from services.ingest.dates import naive_zone, parse_date
from services.ingest.parsers import SourceRef, parse_document

from ._parsing import FETCHED_AT, REPO, parse_bytes

FIXTURES = REPO / "tests" / "fixtures"
NTB = FIXTURES / "newsml-g2" / "related-formats" / "NTB_nitf-3.6_sample_nb.xml"
LISTING_02 = REPO / "data" / "samples" / "LISTING_02_NewsML-G2_Text_Document.xml"
LISTING_22 = (FIXTURES / "newsml-g2" / "iptc-examples"
              / "LISTING_22_Sports_story_in_NewsML-G2NITF.xml")


def _parse(data: bytes, timezone: str | None = None) -> list:  # type: ignore[type-arg]
    return parse_document(data, source=SourceRef(id="t", timezone=timezone),
                          fetched_at=FETCHED_AT).items


def test_a_real_ntb_story_read_in_oslo_time() -> None:
    data = NTB.read_bytes()
    assert b'norm="2021-05-16T09:00:04"' in data  # as sent: no zone
    [utc_read] = _parse(data)
    [oslo_read] = _parse(data, "Europe/Oslo")
    assert utc_read.firstcreated == datetime(2021, 5, 16, 9, 0, 4, tzinfo=UTC)
    assert oslo_read.firstcreated == datetime(2021, 5, 16, 7, 0, 4, tzinfo=UTC)  # CEST
    assert oslo_read.id == utc_read.id


@pytest.mark.parametrize(("text", "zone", "expected"), [
    ("2024-01-15T12:00:00", "Europe/Berlin", datetime(2024, 1, 15, 11, 0, tzinfo=UTC)),
    ("2024-07-15T12:00:00", "America/New_York", datetime(2024, 7, 15, 16, 0, tzinfo=UTC)),
    ("2024-07-15T12:00:00+02:00", "America/New_York", datetime(2024, 7, 15, 10, 0, tzinfo=UTC)),
    ("Mon, 15 Jul 2024 12:00:00 -0000", "Asia/Tokyo", datetime(2024, 7, 15, 3, 0, tzinfo=UTC)),
    ("15. Juli 2024 12:00", "Europe/Berlin", datetime(2024, 7, 15, 10, 0, tzinfo=UTC)),
    ("15. Juli 2024 12:00", None, datetime(2024, 7, 15, 12, 0, tzinfo=UTC)),
])
def test_zoneless_times_take_the_zone(text: str, zone: str | None, expected: datetime) -> None:
    with naive_zone(zone):
        assert parse_date(text, languages=["de"]) == expected


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        SourceRef(id="t", timezone="Mars/Base")


def test_g2_version_time_precedence() -> None:
    original = LISTING_02.read_text()
    [item] = parse_bytes(original.encode()).items
    # versionCreated 2018-11-21T16:25:32-05:00 wins over contentModified 16:22:45
    assert item.versioncreated == datetime(2018, 11, 21, 21, 25, 32, tzinfo=UTC)
    without = re.sub(r"<versionCreated>.*?</versionCreated>", "", original)
    [item] = parse_bytes(without.encode()).items
    assert item.versioncreated == datetime(2018, 11, 21, 21, 22, 45, tzinfo=UTC)


def test_g2_headline_from_inline_nitf() -> None:
    original = LISTING_22.read_text()
    [item] = parse_bytes(original.encode()).items
    assert item.headline.startswith("Preview: Arizona Diamondbacks")
    without = re.sub(r"<headline[^>]*>.*?</headline>", "", original, flags=re.S)
    assert without != original
    [item] = parse_bytes(without.encode()).items
    assert item.headline.startswith("Arizona Diamondbacks (29-23) at Philadelphia Phillies")
