
"""Entities through the real CoreNLP server, APy and Redis registry: every
language the sources speak gets people and places, one id per person across
languages, and a dead or refusing server costs the entity step alone."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import redis

from services.enrich.loading import load_models
from services.enrich.stage import Models, enrich_items
from shared.models import NewsItem
from shared.settings import Settings
from tests.unit.test_shared import make_item

ROOT = Path(__file__).resolve().parents[2]
PARALLEL = ROOT / "bench" / "data" / "ner" / "parallel.jsonl"
# How each language is read (services/enrich/entities.py, _plan)
STATUS = {"en": "native", "de": "native", "fr": "native", "es": "native", "it": "related",
          "ru": "native", "pt": "related", "uk": "related", "pl": "related"}


def _story(name: str) -> list[tuple[str, NewsItem]]:
    rows = [json.loads(line) for line in PARALLEL.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [(r["lang"], make_item(id=r["id"], uri=r["id"], headline="", body_text=r["text"],
                                  language=r["lang"]))
            for r in rows if r["story"] == name]


def test_one_story_in_nine_languages_gets_people_and_places_in_every_one(
        models: Models) -> None:
    story = _story("par-01")
    assert [lang for lang, _ in story] == ["en", "de", "fr", "pt", "it", "es", "pl", "ru", "uk"]
    # English first, as a live registry would have met the names before
    order = sorted(story, key=lambda pair: pair[0] != "en")
    enriched = {lang: item for (lang, _), item in zip(
        order, enrich_items([item for _, item in order], models), strict=True)}
    warsaw = set()
    for lang, item in enriched.items():
        assert item.enrichment is not None
        assert item.enrichment.errors == [], lang
        assert item.enrichment.entities_status == STATUS[lang], lang
        people = {e.name for e in item.enrichment.entities if e.type == "PERSON"}
        assert len(people) >= 2, (lang, people)
        places = {p.geonames_id for p in item.enrichment.places}
        assert places, lang
        warsaw |= {p.geonames_id for p in item.enrichment.places
                   if p.name in ("Warsaw", "Warszawa")}
        # every mention points into the original text or its translation
        for entity in item.enrichment.entities:
            for m in entity.mentions:
                text = item.body_text if m.field == "body_text" else None
                if text is not None:
                    assert text[m.start:m.end] == m.surface, (lang, m)
    assert warsaw == {756135}  # Warsaw, Warszawa, Varsovie ... one GeoNames place
    # Donald Tusk: one id in the languages that write his name as English does
    tusk = {lang: {e.id for e in item.enrichment.entities  # type: ignore[union-attr]
                   if e.type == "PERSON" and "Tusk" in e.name}
            for lang, item in enriched.items() if lang in ("en", "de", "fr", "es", "it", "pt")}
    ids = set().union(*tusk.values())
    assert len(ids) == 1 and all(tusk.values()), tusk


def test_polish_names_the_registry_knows_are_found_inflected(models: Models) -> None:
    [en] = enrich_items([make_item(
        id="en-tusk", headline="Polish prime minister travels to Germany for defence talks",
        body_text="Donald Tusk met Friedrich Merz in Berlin on Monday to discuss the "
                  "financing of air defence and the future of the eastern border.",
        language="en")], models)
    assert en.enrichment is not None
    tusk = {e.id for e in en.enrichment.entities if e.name == "Donald Tusk"}
    assert tusk
    models.ner.known.max_age = 0  # type: ignore[union-attr]  # see the new names now
    [pl] = enrich_items([make_item(
        id="pl-tusk", headline="Rozmowy w Berlinie",
        body_text="Kanclerz Friedrich Merz rozmawiał z Donaldem Tuskiem o obronności.",
        language="pl")], models)
    assert pl.enrichment is not None
    found = {e.id: [m.surface for m in e.mentions] for e in pl.enrichment.entities}
    assert tusk <= found.keys(), found
    assert found[next(iter(tusk))] == ["Donaldem Tuskiem"]


def test_cyrillic_case_forms_the_morphology_leaves_meet_the_latin_name(
        models: Models) -> None:
    # "Карлушем Моэдашем": natasha puts the given name in the nominative,
    # not the foreign surname; "Джорджу Мелони": it reads a woman's
    # accusative as the dative of a man's name (Джордж)
    stories = {name: dict(_story(name)) for name in ("par-04", "par-10")}
    models.ner.known.max_age = 0  # type: ignore[union-attr]  # see the new names now
    ids: dict[str, dict[str, set[str]]] = {"Moedas": {}, "Meloni": {}}
    for lang in ("en", "ru", "uk"):
        for story in stories.values():
            [item] = enrich_items([story[lang]], models)
            assert item.enrichment is not None
            for entity in item.enrichment.entities:
                for surname, surfaces in (("Moedas", ("Моэдаш", "Моедаш", "Moedas")),
                                          ("Meloni", ("Мелон", "Meloni"))):
                    if entity.type == "PERSON" and any(
                            s in m.surface for m in entity.mentions for s in surfaces):
                        ids[surname].setdefault(lang, set()).add(entity.id)
    for surname, by_language in ids.items():
        assert by_language.keys() == {"en", "ru", "uk"}, (surname, by_language)
        assert len(set().union(*by_language.values())) == 1, (surname, by_language)


def _unmet(models: Models, item: NewsItem) -> NewsItem:
    """``item`` enriched with no registry behind the NER: what the text alone
    gives."""
    assert models.ner is not None
    saved = models.ner.known
    models.ner.known = None
    try:
        [enriched] = enrich_items([item], models)
    finally:
        models.ner.known = saved
    return enriched


def test_people_nobody_has_met_are_found_by_their_given_name_in_polish(
        models: Models) -> None:
    pl = _unmet(models, make_item(
        id="pl-given", headline="Astronauta w Gdańsku",
        body_text="Astronauta Sławosz Uznański-Wiśniewski spotkał się w Gdańsku ze "
                  "Swiatłaną Cichanouską i z premierem Donaldem Tuskiem.",
        language="pl"))
    assert pl.enrichment is not None
    assert pl.enrichment.entities_status == "related"
    people = {m.surface for e in pl.enrichment.entities if e.type == "PERSON"
              for m in e.mentions}
    assert {"Sławosz Uznański-Wiśniewski", "Swiatłaną Cichanouską",
            "Donaldem Tuskiem"} <= people, people
    assert "Gdańsk" in {p.name for p in pl.enrichment.places}


def test_a_bare_polish_surname_found_by_the_related_model_joins_its_case_form(
        models: Models) -> None:
    # German CoreNLP finds "Sikorski"; Polish case rules, not German ones,
    # tell that it is the "Radosławem Sikorskim" (instrumental) of the story
    pl = _unmet(models, make_item(
        id="pl-case", headline="",
        body_text="Premier spotkał się wczoraj z Radosławem Sikorskim w Brukseli. "
                  "Sikorski powiedział dziennikarzom, że rozmowy były trudne.",
        language="pl"))
    assert pl.enrichment is not None
    people = [sorted(m.surface for m in e.mentions) for e in pl.enrichment.entities
              if e.type == "PERSON"]
    assert people == [["Radosławem Sikorskim", "Sikorski"]]


def test_ner_server_down_records_the_step_error_and_keeps_the_rest(
        settings: Settings, redis_db: redis.Redis, http: httpx.Client) -> None:
    dead = settings.model_copy(update={"ner": settings.ner.model_copy(
        update={"corenlp_url": "http://127.0.0.1:9", "timeout": 2.0})})
    models = load_models(dead, redis_db, http)
    items = [make_item(id="de-down", headline="Merkel in Paris",
                       body_text="Angela Merkel besuchte am Montag Paris.", language="de"),
             make_item(id="ru-up", headline="Путин в Москве",
                       body_text="Владимир Путин выступил в Москве.", language="ru")]
    de, ru = enrich_items(items, models)
    assert de.enrichment is not None and ru.enrichment is not None
    assert [(e.step, e.reason) for e in de.enrichment.errors] == [
        ("entities", "ner_unavailable")]
    assert de.enrichment.entities_status == "failed"
    assert de.enrichment.language is not None and de.enrichment.keywords
    # natasha reads Russian in the process: the batch's other story is whole
    assert ru.enrichment.errors == [] and ru.enrichment.entities_status == "native"
    assert any(e.type == "PERSON" for e in ru.enrichment.entities)
    # and the same story enriched again with the server up gets its entities
    [again] = enrich_items([items[0]], load_models(settings, redis_db, http))
    assert again.enrichment is not None and again.enrichment.errors == []
    assert {e.name for e in again.enrichment.entities} >= {"Angela Merkel", "Paris"}


def test_a_megabyte_story_is_read_in_bounded_requests_beside_a_small_one(
        models: Models) -> None:
    paragraph = ("Die Bundesregierung in Berlin und der Konzern Siemens verhandeln weiter, "
                 "sagte Olaf Scholz am Montag in Hamburg. ")
    big = "\n\n".join(paragraph * 3 for _ in range(3000))  # ~1 MB
    assert len(big) > 1_000_000
    items = [make_item(id="big", headline="Lange Meldung", body_text=big, language="de"),
             make_item(id="small", headline="Kurz", body_text="Angela Merkel besuchte Rom.",
                       language="de")]
    large, small = enrich_items(items, models)
    assert small.enrichment is not None and small.enrichment.errors == []
    assert {e.name for e in small.enrichment.entities} >= {"Angela Merkel"}
    assert large.enrichment is not None and large.enrichment.errors == []
    scholz = [e for e in large.enrichment.entities if e.name == "Olaf Scholz"]
    assert scholz and len(scholz[0].mentions) > 1000
