"""Dates for ingested items: parsing odd formats and the rules for missing or
implausible dates. Pure: nothing here reads the clock; "now" is always the
``fetched_at`` the caller passes in.

Parsing (:func:`parse_date`), first match wins:

1. ISO 8601 / RFC 3339 (``2019-05-10T16:02:28+02:00``, ``...Z``, date only),
   and ISO 8601's basic format with a time as NewsML 1 and NITF write it
   (``20210516T080625+0000``, ``20210516T090004``).
2. RFC 822/2822 as in RSS (``Wed, 31 Jan 2018 07:26:05 GMT``).
3. ``dateparser`` as a fallback for everything else (localised month and day
   names such as ``mer, 16 nov 2022`` or ``Seg, 24 Set 2018``, ``2019-05-18
   10:58:46 +0300``, ``Friday, January 29, 2021 04:42 PM``), first with the
   document's language, then with :data:`DEFAULT_DATE_LANGUAGES`. Only
   strings with a four-digit year get there; relative expressions ("2 hours
   ago") are NOT accepted and day, month and year must all be present, so the
   result never depends on the current time.

A date without a time zone is taken as UTC. Every returned datetime is
timezone-aware UTC.

Item dates (:func:`resolve_item_dates`):

* ``versioncreated`` is the provider's modification date, else its publication
  date; ``firstcreated`` is the publication date when there is one.
* **Missing**: with neither date, ``versioncreated`` falls back to the feed's
  own updated date (channel ``lastBuildDate``/``pubDate``, Atom feed
  ``updated``, NewsML-G2 message ``sent``) and is flagged ``date_missing:feed``;
  without that too, to ``fetched_at``, flagged ``date_missing:fetched``.
* **Future**: a date more than :data:`FUTURE_TOLERANCE` (10 minutes) after
  ``fetched_at`` is clamped to ``fetched_at`` and flagged
  ``date_future_clamped`` (clock skew and time-zone mistakes, not scheduling:
  embargoes are carried separately and never clamped).
* **Implausible**: a date before 1970-01-01 is treated as missing and flagged
  ``date_implausible`` (it cannot be an Elasticsearch external version).
"""

from __future__ import annotations

import calendar
import email.utils
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dateparser

from shared.models import utc

__all__ = [
    "DEFAULT_DATE_LANGUAGES",
    "EPOCH",
    "FUTURE_TOLERANCE",
    "ItemDates",
    "from_struct_time",
    "parse_date",
    "resolve_item_dates",
]

FUTURE_TOLERANCE = timedelta(minutes=10)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_ISO_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?$"
)
_ISO_BASIC_RE = re.compile(
    r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})?(?:[.,]\d+)?(Z|[+-]\d{2}:?\d{2})?$"
)
_RFC822_RE = re.compile(
    r"^(?:[A-Za-z]{3},?\s+)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"(?:\s+(?:[A-Za-z]{1,5}|[+-]\d{4}))?$"
)
_YEAR_RE = re.compile(r"(?<!\d)(?:1[89]|2\d)\d{2}(?!\d)")
# tried when the document gives no language (or its language fails)
DEFAULT_DATE_LANGUAGES: tuple[str, ...] = (
    "en", "de", "fr", "es", "it", "pt", "nl", "sv", "nb", "da", "fi", "pl", "cs", "ru", "uk",
    "tr", "el", "zh", "ja", "ar",
)  # fmt: skip
_DATEPARSER_SETTINGS: Any = {
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TIMEZONE": "UTC",
    "TO_TIMEZONE": "UTC",
    # no "relative-time": "yesterday" would depend on the clock
    "PARSERS": ["timestamp", "custom-formats", "absolute-time"],
    "REQUIRE_PARTS": ["day", "month", "year"],
    "PREFER_DATES_FROM": "past",
}


# The zone a time without one is read in: the source's (Source.timezone,
# set around one document's parse by services.ingest.parsers), else UTC.
_NAIVE_ZONE: ContextVar[tzinfo] = ContextVar("naive_zone", default=UTC)


def zone_of(name: str | None) -> tzinfo:
    """The IANA zone ``name`` ("Europe/Berlin"), UTC for None; ValueError
    for a name the zone database does not know."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as "
                         "'Europe/Berlin')") from exc


@contextmanager
def naive_zone(name: str | None) -> Iterator[None]:
    """Within the block, a date without a zone ("2024-10-01T12:00:00",
    NITF's "20241001T120000") is a local time of zone ``name``."""
    token = _NAIVE_ZONE.set(zone_of(name))
    try:
        yield
    finally:
        _NAIVE_ZONE.reset(token)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=_NAIVE_ZONE.get())
    return utc(value)


def _iso(value: str) -> datetime | None:
    if not _ISO_RE.match(value):
        return None
    text = value.replace(" ", "T", 1) if "T" not in value and len(value) > 10 else value
    text = text.replace("Z", "+00:00").replace(",", ".")
    # "+0200" -> "+02:00" for older fromisoformat rules
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    text = re.sub(r"\s+(?=[+-]\d{2}:\d{2}$)", "", text)
    try:
        return _aware(datetime.fromisoformat(text))
    except ValueError:
        return None


def _iso_basic(value: str) -> datetime | None:
    match = _ISO_BASIC_RE.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    extended = f"{year}-{month}-{day}T{hour}:{minute}:{second or '00'}{zone or ''}"
    return _iso(extended)


def _rfc822(value: str) -> datetime | None:
    # email.utils is lenient to a fault ("... 02:02:33 PM" loses the PM), so
    # only strings of the RFC 822 shape go to it.
    if not _RFC822_RE.match(value):
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return _aware(parsed)  # "-0000" (zone unknown) comes back naive


def parse_date(value: str | None, *, languages: list[str] | None = None) -> datetime | None:
    """Parse a provider date string; None when it cannot be read."""
    if not value:
        return None
    text = " ".join(value.split())
    if not text or len(text) > 200:
        return None
    parsed = _iso(text) or _iso_basic(text) or _rfc822(text)
    if parsed is not None:
        return parsed
    if not _YEAR_RE.search(text):
        # no four-digit year: nothing dateparser may read without guessing
        return None
    hints = tuple(dict.fromkeys(lang.split("-")[0].lower() for lang in languages or [] if lang))
    zone = str(_NAIVE_ZONE.get())
    result = _dateparser(text, hints, zone) if hints else None
    if result is None:
        result = _dateparser(text, DEFAULT_DATE_LANGUAGES, zone)
    return result


@lru_cache(maxsize=8192)
def _dateparser(text: str, languages: tuple[str, ...], zone: str = "UTC") -> datetime | None:
    # A fixed language list keeps dateparser from trying every language it
    # knows on each call (several times slower, and slowest on the first).
    with warnings.catch_warnings():
        # dateparser and its dependencies warn about deprecated tz handling on
        # some inputs; a warning is not a reason to lose the date.
        warnings.simplefilter("ignore")
        try:
            settings = (_DATEPARSER_SETTINGS if zone == "UTC"
                        else {**_DATEPARSER_SETTINGS, "TIMEZONE": zone})
            result = dateparser.parse(text, languages=list(languages), settings=settings)
        except (ValueError, OverflowError, TypeError, AttributeError, LookupError):
            # dateparser raises these on some garbage (unknown language codes,
            # out-of-range numbers); for us that is just "not a date".
            return None
    return utc(result) if result is not None else None


def from_struct_time(value: time.struct_time | None) -> datetime | None:
    """feedparser's ``*_parsed`` values are UTC struct_times."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


@dataclass(frozen=True)
class ItemDates:
    versioncreated: datetime
    firstcreated: datetime | None
    flags: list[str] = field(default_factory=list)


def _plausible(value: datetime | None, flags: list[str]) -> datetime | None:
    if value is not None and value < EPOCH:
        if "date_implausible" not in flags:
            flags.append("date_implausible")
        return None
    return value


def _clamp(value: datetime | None, fetched_at: datetime, flags: list[str]) -> datetime | None:
    if value is not None and value > fetched_at + FUTURE_TOLERANCE:
        if "date_future_clamped" not in flags:
            flags.append("date_future_clamped")
        return fetched_at
    return value


def resolve_item_dates(
    *,
    published: datetime | None,
    updated: datetime | None,
    feed_updated: datetime | None,
    fetched_at: datetime,
) -> ItemDates:
    """Apply the module's rules for missing, future and implausible dates."""
    fetched_at = utc(fetched_at)
    flags: list[str] = []
    published = _clamp(_plausible(published, flags), fetched_at, flags)
    updated = _clamp(_plausible(updated, flags), fetched_at, flags)
    version = updated or published
    if version is None:
        fallback = _clamp(_plausible(feed_updated, flags), fetched_at, flags)
        if fallback is not None:
            version = fallback
            flags.append("date_missing:feed")
        else:
            version = fetched_at
            flags.append("date_missing:fetched")
    first = published
    if first is not None and first > version:
        # a publication date after the modification date: trust the later one
        version = first
    return ItemDates(versioncreated=version, firstcreated=first, flags=flags)
