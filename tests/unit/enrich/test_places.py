"""Offline place resolution and the places step."""

from __future__ import annotations

import pytest

from services.enrich.places import (
    Gazetteer,
    build_gazetteer,
    load_gazetteer,
    place_key,
    tag_places,
)
from shared.models import Concept, Entity, Mention
from tests.unit.test_shared import make_item


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return build_gazetteer()


@pytest.mark.parametrize(
    ("name", "code", "kind"),
    [("the UK", "GB", "country"), ("U.S.", "US", "country"), ("Britain", "GB", "country"),
     ("Россия", "RU", "country"), ("Украина", "UA", "country"), ("Alemania", "DE", "country"),
     ("Kyiv", "UA", "city"), ("Kiev", "UA", "city"), ("Киев", "UA", "city"),
     ("Seville", "ES", "city"), ("Texas", "US", "region"), ("Georgia", "GE", "country"),
     ("the Kremlin", "RU", "government"), ("Downing Street", "GB", "government")],
)
def test_names_short_forms_and_translations_resolve(
    gazetteer: Gazetteer, name: str, code: str, kind: str
) -> None:
    entry = gazetteer.lookup(name)
    assert entry is not None
    assert (entry.country_code, entry.kind) == (code, kind)


def test_cities_carry_geonames_ids_and_coordinates(gazetteer: Gazetteer) -> None:
    paris = gazetteer.lookup("Paris")
    assert paris is not None
    assert (paris.geonames_id, paris.entity_id) == (2988507, "gn:2988507")
    assert paris.lat is not None and 48 < paris.lat < 49
    france = gazetteer.country("FR")
    assert france is not None and france.entity_id == "geo:FR"
    assert place_key("São Paulo") == "sao paulo"


@pytest.mark.parametrize(
    ("capital", "after", "language", "government"),
    [("Moscow", " denied the report", "en", "RU"),
     ("Paris", " has said it will", "en", "FR"),
     ("Beijing", " on Monday warned", "en", "CN"),
     ("Москва", " заявила, что", "ru", "RU"),
     ("Paris", " is lovely in May", "en", None),
     ("Lyon", " said nothing", "en", None)],  # not a capital
)
def test_a_capital_as_subject_of_a_reporting_verb_is_its_government(
    gazetteer: Gazetteer, capital: str, after: str, language: str, government: str | None
) -> None:
    entry = gazetteer.lookup(capital)
    assert entry is not None
    result = gazetteer.government_of(entry, after, language)
    assert (result.country_code if result else None) == government
    if result:
        assert result.kind == "government"


def test_demonyms_including_plurals(gazetteer: Gazetteer) -> None:
    assert gazetteer.demonym("Ukrainians") == "UA"
    assert gazetteer.demonym("French") == "FR"
    assert gazetteer.demonym("Martian") is None


def entity(id_: str, name: str, code: str, mentions: list[tuple[str, int]],
           geonames: int | None = None) -> Entity:
    return Entity(id=id_, type="GPE", name=name, country_code=code, geonames_id=geonames,
                  mentions=[Mention(field=f, start=s, end=s + len(name), surface=name)
                            for f, s in mentions])


def test_primary_location_prefers_headline_and_dateline(gazetteer: Gazetteer) -> None:
    entities = [
        entity("geo:FR", "France", "FR", [("body_text", 200), ("body_text", 400)]),
        entity("gn:2988507", "Paris", "FR", [("body_text", 0)], 2988507),
        entity("geo:DE", "Germany", "DE", [("body_text", 300)]),
    ]
    places = tag_places(make_item(), entities, gazetteer)
    assert [p.name for p in places] == ["Paris", "France", "Germany"]
    paris = places[0]
    assert paris.primary and paris.kind == "city" and paris.location is not None
    assert not any(p.primary for p in places[1:])


def test_provider_places_count_and_keep_their_origin(gazetteer: Gazetteer) -> None:
    item = make_item(places=[Concept(name="Ukraine", code="iso3166-1a2:UA")])
    entities = [entity("geo:DE", "Germany", "DE", [("body_text", 300)])]
    places = tag_places(item, entities, gazetteer)
    assert places[0].country_code == "UA" and places[0].origin == "provider"
    assert places[0].primary


def test_the_child_built_gazetteer_is_the_same_tables(gazetteer: Gazetteer) -> None:
    """load_gazetteer builds in a child interpreter (to keep its transient
    heap out of the worker) and returns the very same lookups."""
    loaded = load_gazetteer()
    assert loaded.places.keys() == gazetteer.places.keys()
    assert loaded.places == gazetteer.places
    assert loaded.countries == gazetteer.countries
    assert (loaded.capitals, loaded.seats, loaded.demonyms) == (
        gazetteer.capitals, gazetteer.seats, gazetteer.demonyms)
    assert loaded.lookup("Kyiv") == gazetteer.lookup("Kyiv")
