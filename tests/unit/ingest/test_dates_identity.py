"""Date parsing and rules; canonical URLs and identity keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.ingest.dates import FUTURE_TOLERANCE, parse_date, resolve_item_dates
from services.ingest.identity import canonical_url, identity_key, make_content_hash
from shared.models import content_hash

FETCHED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "languages", "expected"),
    [
        ("2019-05-10T16:02:28+02:00", None, "2019-05-10T14:02:28+00:00"),
        ("2018-09-19T05:11:22.000Z", None, "2018-09-19T05:11:22+00:00"),
        ("2016-11-21", None, "2016-11-21T00:00:00+00:00"),
        ("2019-05-18 10:58:46 +0300", None, "2019-05-18T07:58:46+00:00"),  # aif.ru
        ("Wed, 31 Jan 2018 07:26:05 GMT", None, "2018-01-31T07:26:05+00:00"),
        ("Tue, 21 Aug 2012 10:33:00 EST", None, "2012-08-21T15:33:00+00:00"),
        ("Sat, Dec 16 2023 02:02:33 PM", None, "2023-12-16T14:02:33+00:00"),  # NBC: PM kept
        ("mer, 16 nov 2022 00:38:15 +0100", ["it"], "2022-11-15T23:38:15+00:00"),  # Il Messaggero
        ("Seg, 24 Set 2018 19:42:40 -0300", ["pt"], "2018-09-24T22:42:40+00:00"),  # UOL
        ("Seg, 24 Set 2018 19:42:40 -0300", None, "2018-09-24T22:42:40+00:00"),
        ("Friday, January 29, 2021 04:42 PM", ["hi"], "2021-01-29T16:42:00+00:00"),  # News18
        ("  Wed, 15 May 2019 20:48:02 +0000  ", None, "2019-05-15T20:48:02+00:00"),
        ("20210516T080625+0000", None, "2021-05-16T08:06:25+00:00"),  # NewsML 1.2 (AFP)
        ("20210516T080625Z", None, "2021-05-16T08:06:25+00:00"),
        ("20210516T090004", None, "2021-05-16T09:00:04+00:00"),  # NITF pubdata (NTB)
        ("20130605T2100+0200", None, "2013-06-05T19:00:00+00:00"),
    ],
)
def test_parse_date(raw: str, languages: list[str] | None, expected: str) -> None:
    parsed = parse_date(raw, languages=languages)
    assert parsed is not None and parsed.isoformat() == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "raw",
    [None, "", "yesterday", "2 hours ago", "May 2019", "sometime", "x" * 500, "32/13/2020 99:99",
     "20211316T250000"],
)
def test_unreadable_or_relative_dates_are_none(raw: str | None) -> None:
    assert parse_date(raw) is None


def test_naive_dates_are_utc() -> None:
    parsed = parse_date("2024-03-01T10:00:00")
    assert parsed == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_resolve_prefers_updated_then_published() -> None:
    pub = datetime(2024, 1, 1, 10, tzinfo=UTC)
    upd = datetime(2024, 1, 1, 11, tzinfo=UTC)
    r = resolve_item_dates(published=pub, updated=upd, feed_updated=None, fetched_at=FETCHED)
    assert (r.versioncreated, r.firstcreated, r.flags) == (upd, pub, [])
    r = resolve_item_dates(published=pub, updated=None, feed_updated=None, fetched_at=FETCHED)
    assert (r.versioncreated, r.firstcreated) == (pub, pub)
    # modification before publication (publisher error): the later date wins
    r = resolve_item_dates(published=upd, updated=pub, feed_updated=None, fetched_at=FETCHED)
    assert r.versioncreated == upd


def test_resolve_missing_and_future() -> None:
    feed = datetime(2024, 1, 1, tzinfo=UTC)
    r = resolve_item_dates(published=None, updated=None, feed_updated=feed, fetched_at=FETCHED)
    assert (r.versioncreated, r.flags) == (feed, ["date_missing:feed"])
    r = resolve_item_dates(published=None, updated=None, feed_updated=None, fetched_at=FETCHED)
    assert (r.versioncreated, r.flags) == (FETCHED, ["date_missing:fetched"])
    ahead = FETCHED + FUTURE_TOLERANCE + timedelta(seconds=1)
    r = resolve_item_dates(published=ahead, updated=None, feed_updated=None, fetched_at=FETCHED)
    assert (r.versioncreated, r.firstcreated, r.flags) == (
        FETCHED,
        FETCHED,
        ["date_future_clamped"],
    )
    within = FETCHED + FUTURE_TOLERANCE
    r = resolve_item_dates(published=within, updated=None, feed_updated=None, fetched_at=FETCHED)
    assert (r.versioncreated, r.flags) == (within, [])
    # a future feed date is clamped too, and still counts as missing
    r = resolve_item_dates(published=None, updated=None, feed_updated=ahead, fetched_at=FETCHED)
    assert r.versioncreated == FETCHED
    assert r.flags == ["date_future_clamped", "date_missing:feed"]


def test_resolve_implausible_and_fetched_at_in_other_zone() -> None:
    old = datetime(1969, 12, 31, tzinfo=UTC)
    cet = timezone(timedelta(hours=1))
    r = resolve_item_dates(
        published=old, updated=None, feed_updated=None, fetched_at=FETCHED.astimezone(cet)
    )
    assert r.flags == ["date_implausible", "date_missing:fetched"]
    assert r.versioncreated == FETCHED and r.versioncreated.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://WWW.Example.COM:443/a/b/?utm_source=x&b=2&a=1&fbclid=zz#frag",
            "https://www.example.com/a/b?a=1&b=2",
        ),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("http://example.com:8080/x/", "http://example.com:8080/x"),
        ("https://ex.com/a/../b/./c/", "https://ex.com/b/c"),
        ("https://ex.com/ü/ä?q=ö", "https://ex.com/%C3%BC/%C3%A4?q=%C3%B6"),
        ("https://ex.com/%7Euser/a%20b", "https://ex.com/~user/a%20b"),
        ("https://ex.com/a?gclid=1&id=5&ref=rss&mc_cid=3", "https://ex.com/a?id=5"),
        (
            "http://www.lemonde.fr/societe/article/x.html?xtor=RSS-3208",
            "http://www.lemonde.fr/societe/article/x.html",
        ),
        ("  https://ex.com/wrapped\n  /path  ", "https://ex.com/wrapped/path"),
        ("mailto:someone@example.org", None),
        ("javascript:alert(1)", None),
        ("ftp://example.org/file", None),
        ("http://[::1]:99999/", None),
        ("", None),
        (None, None),
    ],
)
def test_canonical_url(url: str | None, expected: str | None) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_resolves_relative_links() -> None:
    assert (
        canonical_url("../b?utm_campaign=x", base_url="https://ex.com/a/c/") == "https://ex.com/a/b"
    )
    assert canonical_url("/rel") is None


def test_identity_key_fallbacks() -> None:
    date = datetime(2024, 1, 1, tzinfo=UTC)
    assert (
        identity_key(guid=" g-1 ", canonical="https://x/", headline="H", provider_date=date)
        == "g-1"
    )
    assert (
        identity_key(guid="", canonical="https://x/a", headline="H", provider_date=date)
        == "url:https://x/a"
    )
    by_title = identity_key(guid=None, canonical=None, headline="  Big   News ", provider_date=date)
    assert by_title is not None and by_title.startswith("title:")
    assert by_title == identity_key(
        guid=None, canonical=None, headline="big news", provider_date=date
    )
    assert by_title != identity_key(
        guid=None, canonical=None, headline="big news", provider_date=None
    )
    by_text = identity_key(guid=None, canonical=None, headline="", provider_date=None, body="Body")
    assert by_text is not None and by_text.startswith("text:")
    assert identity_key(guid=None, canonical=None, headline=" ", provider_date=None) is None


def test_content_hash_is_the_shared_one() -> None:
    assert make_content_hash("h", None, "b") == content_hash("h", None, "b")
    assert make_content_hash("h", "s", "b") != make_content_hash("h", "sb", None)
