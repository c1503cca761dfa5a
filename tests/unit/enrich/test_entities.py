# ruff: noqa: RUF001  (multilingual news text: Cyrillic letters are meant)
"""Entity recognition and within-document resolution with the real shipped
models (spaCy small English, natasha); ids from the offline resolver."""

from __future__ import annotations

from typing import Any

import pytest

from services.enrich.aliases import OfflineResolver
from services.enrich.entities import (
    ENGLISH_MODEL,
    NerModels,
    RawMention,
    group_mentions,
    load_english,
    load_russian,
    recognise,
    tag_entities,
)
from services.enrich.places import Gazetteer, build_gazetteer
from shared.models import Entity, Translation, TranslationStatus
from tests.unit.test_shared import make_item


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return build_gazetteer()


@pytest.fixture(scope="module")
def models() -> NerModels:
    return NerModels(load_english(), load_russian())


EN_BODY = (
    "PARIS (AP) — French President Emmanuel Macron hosted Ukraine's President Volodymyr "
    "Zelenskyy on Monday. Macron said the European Union would keep its support. The North "
    "Atlantic Treaty Organization (NATO) plans more drills, NATO officials said. Moscow denied "
    "the claims, and the Kremlin said Russian forces were not involved. The U.S. and the UK "
    "sent envoys to Paris."
)
RU_BODY = (
    "Президент Украины Владимир Зеленский в понедельник встретился с Эммануэлем Макроном. "
    "Москва заявила, что обвинения беспочвенны. Зеленскому пообещали помощь."
)


def run(models: NerModels, gazetteer: Gazetteer, item: Any, lang: str,
        tr: Translation | None = None) -> list[Entity]:
    raw = recognise([item], [lang], [tr], models)
    [entities] = tag_entities([item], raw, gazetteer, OfflineResolver())
    return entities


def by_name(entities: list[Entity]) -> dict[str, Entity]:
    return {e.name: e for e in entities}


def test_ner_only_pipeline_finds_what_the_full_pipeline_finds(models: NerModels) -> None:
    import spacy

    full = spacy.load(ENGLISH_MODEL)
    texts = [EN_BODY, "Angela Merkel met Xi Jinping in Beijing during the G20 summit.",
             "Shares of Apple and Microsoft rose on Wall Street after the Fed decision."]
    lean = [[(e.start_char, e.end_char, e.label_) for e in d.ents]
            for d in models.english.pipe(texts)]
    reference = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in full.pipe(texts)]
    assert lean == reference
    assert models.english.pipe_names == ["ner"]


def test_one_document_per_item_and_each_mention_back_in_its_field(models: NerModels) -> None:
    """The fields are read as one spaCy document; every mention's offsets
    are its field's, across several items of one batch."""
    items = [
        make_item(headline="Macron meets Zelensky in Paris",
                  summary="The French president hosted Volodymyr Zelenskyy.", body_text=EN_BODY),
        make_item(headline="Apple and Microsoft shares rise",
                  body_text="Shares of Apple rose on Wall Street after Tim Cook spoke in London."),
    ]
    raw = recognise(items, ["en", "en"], [None, None], models)
    for item, mentions in zip(items, raw, strict=True):
        fields = {m.field for m in mentions}
        assert "headline" in fields and "body_text" in fields
        for m in mentions:
            assert getattr(item, m.field)[m.start:m.end] == m.text, m
    assert "summary" in {m.field for m in raw[0]}
    assert any(m.text == "Tim Cook" and m.field == "body_text" for m in raw[1])


def test_russian_names_are_normalised_as_with_whole_document_morphology(
    models: NerModels,
) -> None:
    """Morphology is tagged only in sentences that hold a name; the mentions
    and their nominative forms are those of tagging every sentence, on the
    real Russian feeds of the fixtures (every item) and the labelled set."""
    import json

    import feedparser
    from natasha import Doc

    from services.enrich.entities import _natasha
    from services.ingest.text import html_to_text
    from tests.conftest import ROOT, fixtures_dir

    texts = [RU_BODY] + [json.loads(line)["text"] for line in
                         (ROOT / "bench/data/enrich/ner_ru.jsonl").read_text().splitlines()]
    feeds = fixtures_dir()
    if feeds is not None:
        for name in ("aif_rss2_ru_2019.xml", "oren-ru_rss2_ru_2014_windows-1251.xml"):
            for entry in feedparser.parse((feeds / "feeds" / "real" / name).read_bytes()).entries:
                texts += [entry.get("title", ""), html_to_text(entry.get("summary", ""))]
    assert models.russian is not None
    russian = models.russian

    def whole_document(text: str) -> list[tuple[int, int, str, str]]:
        doc = Doc(text)
        doc.segment(russian.segmenter)
        doc.tag_morph(russian.morph)
        doc.tag_ner(russian.ner)
        out = []
        for span in doc.spans:
            span.normalize(russian.vocab)
            out.append((span.start, span.stop, span.type, span.normal or span.text))
        return out

    compared = 0
    for text in filter(None, texts):
        ours = [(m.start, m.end, m.normal) for m in _natasha(russian, "body_text", text)]
        theirs = [(a, b, normal) for a, b, kind, normal in whole_document(text)
                  if kind in ("PER", "LOC", "ORG")]
        assert ours == theirs, text
        compared += len(ours)
    assert compared > (30 if feeds is not None else 10)


def test_short_forms_resolve_to_the_full_name_with_offsets(
    models: NerModels, gazetteer: Gazetteer
) -> None:
    item = make_item(headline="Macron meets Zelensky", body_text=EN_BODY)
    entities = by_name(run(models, gazetteer, item, "en"))
    macron = entities["Emmanuel Macron"]
    assert macron.type == "PERSON"
    assert set(macron.variants) == {"Emmanuel Macron", "Macron"}
    headline = [m for m in macron.mentions if m.field == "headline"]
    assert [(m.start, m.end, m.surface) for m in headline] == [(0, 6, "Macron")]
    for mention in macron.mentions:
        text = item.headline if mention.field == "headline" else item.body_text
        assert text is not None and text[mention.start:mention.end] == mention.surface
    zelensky = entities["Volodymyr Zelenskyy"]
    assert {"Zelensky", "Volodymyr Zelenskyy"} <= set(zelensky.variants)


def test_acronym_joins_its_organisation_and_places_get_iso_codes(
    models: NerModels, gazetteer: Gazetteer
) -> None:
    entities = by_name(run(models, gazetteer, make_item(body_text=EN_BODY), "en"))
    nato = entities["NATO"]
    assert "North Atlantic Treaty Organization" in nato.variants
    assert len(nato.mentions) >= 3
    assert entities["United States"].id == "geo:US"
    assert entities["United Kingdom"].country_code == "GB"
    assert entities["Paris"].id == "gn:2988507"  # the dateline and the city agree


def test_a_capital_that_speaks_is_its_government(
    models: NerModels, gazetteer: Gazetteer
) -> None:
    entities = by_name(run(models, gazetteer, make_item(body_text=EN_BODY), "en"))
    russia = entities["Russia"]
    assert russia.id == "geo:RU"
    assert russia.role == "government"
    assert {"Moscow", "Kremlin"} <= set(russia.variants)
    assert entities["Russian"].type == "NORP"
    assert entities["Russian"].country_code == "RU"


def test_russian_text_is_normalised_and_meets_the_english_ids(
    models: NerModels, gazetteer: Gazetteer
) -> None:
    english = by_name(run(models, gazetteer, make_item(body_text=EN_BODY), "en"))
    russian = run(models, gazetteer, make_item(headline="", body_text=RU_BODY), "ru")
    ids = {e.id: e for e in russian}
    assert english["Volodymyr Zelenskyy"].id in ids
    assert english["Emmanuel Macron"].id in ids
    macron = ids[english["Emmanuel Macron"].id]
    assert "Эммануэль Макрон" in macron.variants  # nominative, not "Эммануэлем Макроном"
    assert "geo:RU" in ids and ids["geo:RU"].role == "government"
    assert "geo:UA" in ids


def test_a_translated_document_is_read_in_english_with_en_fields(
    models: NerModels, gazetteer: Gazetteer
) -> None:
    item = make_item(headline="Sánchez visita Berlín")
    tr = Translation(status=TranslationStatus.translated, headline="Pedro Sánchez visits Berlin")
    entities = run(models, gazetteer, item, "es", tr)
    berlin = next(e for e in entities if e.id.startswith("gn:"))
    assert berlin.country_code == "DE"
    assert berlin.mentions[0].field == "headline_en"


def test_a_language_we_cannot_read_gives_no_entities(
    models: NerModels, gazetteer: Gazetteer
) -> None:
    item = make_item(headline="Die Regierung in Berlin hat entschieden")
    assert run(models, gazetteer, item, "de") == []


def test_two_people_with_one_surname_stay_apart(gazetteer: Gazetteer) -> None:
    def m(text: str, start: int) -> RawMention:
        return RawMention("body_text", start, start + len(text), text, "PERSON", text, "", "en")

    grouped = group_mentions([m("Joe Biden", 0), m("Jill Biden", 20), m("Biden", 40),
                              m("Joe Biden", 60)], gazetteer)
    names = sorted((e.best_name(), len(e.mentions)) for e in grouped)
    # the bare surname fits two people of the story: it joins neither
    assert names == [("Biden", 1), ("Jill Biden", 1), ("Joe Biden", 2)]


def person(text: str, start: int, language: str = "en") -> RawMention:
    return RawMention("body_text", start, start + len(text), text, "PERSON", text, "",
                      language)


def people_of(gazetteer: Gazetteer, *names: str, language: str = "en"
              ) -> list[tuple[str, list[str]]]:
    mentions = [person(n, 20 * k, language) for k, n in enumerate(names)]
    return sorted((e.best_name(), sorted(e.surfaces)) for e in group_mentions(mentions, gazetteer)
                  if e.type == "PERSON")


def test_an_umlaut_written_out_is_the_same_surname(gazetteer: Gazetteer) -> None:
    assert people_of(gazetteer, "Gerhard Müller", "Mueller", "Muller") == [
        ("Gerhard Müller", ["Gerhard Müller", "Mueller", "Muller"])]


def test_a_nickname_joins_the_one_person_whose_given_name_it_shortens(
    gazetteer: Gazetteer
) -> None:
    assert people_of(gazetteer, "Ted Heath", "Edward Heath", "Heath") == [
        ("Edward Heath", ["Edward Heath", "Heath", "Ted Heath"])]
    # Ted is Edward's and Theodore's: with both in the story, neither
    assert [n for n, _ in people_of(gazetteer, "Edward Heath", "Theodore Heath",
                                    "Ted Heath")] == [
        "Edward Heath", "Ted Heath", "Theodore Heath"]
    # a nickname is no evidence between two surnames
    assert len(people_of(gazetteer, "Bill Clinton", "William Gates")) == 2


def test_initials_are_evidence(gazetteer: Gazetteer) -> None:
    assert people_of(gazetteer, "Judy Murray", "Mark Murray", "J. Murray", "M. Murray") == [
        ("Judy Murray", ["J. Murray", "Judy Murray"]),
        ("Mark Murray", ["M. Murray", "Mark Murray"])]
    # one Murray in the story: the bare surname is hers
    assert people_of(gazetteer, "Judy Murray", "Murray") == [
        ("Judy Murray", ["Judy Murray", "Murray"])]
    # the keys keep the initial: J. Murray and M. Murray are two registry names
    from services.enrich.names import name_key

    assert name_key("J. Murray", "PERSON") != name_key("M. Murray", "PERSON")


def test_a_family_name_written_first_joins_its_full_name(gazetteer: Gazetteer) -> None:
    assert people_of(gazetteer, "Xi Jinping", "Li Qiang", "Xi", "Li") == [
        ("Li Qiang", ["Li", "Li Qiang"]), ("Xi Jinping", ["Xi", "Xi Jinping"])]
    # a word that also ends a name is that surname, not a family name first
    assert people_of(gazetteer, "Kim Jong Un", "Lisa Kim", "Kim") == [
        ("Kim Jong Un", ["Kim Jong Un"]), ("Lisa Kim", ["Kim", "Lisa Kim"])]
    # a role glued on is not a second person with the surname: it is the
    # one real person of the story written so (and the name stays his)
    assert people_of(gazetteer, "Daniel Hagari", "Armeesprecher Hagari", "Hagari",
                     language="de") == [
        ("Daniel Hagari", ["Armeesprecher Hagari", "Daniel Hagari", "Hagari"])]
    # not in English, where nouns are not capitalised: a capitalised word
    # before a surname is a given name the table lacks
    assert people_of(gazetteer, "Kidd Jordan", "Rachel Jordan") == [
        ("Kidd Jordan", ["Kidd Jordan"]), ("Rachel Jordan", ["Rachel Jordan"])]
    # ... but a surname written otherwise is another person (Ezer Weizman,
    # Chaim Weizmann), and so is a glued word when two people have the surname
    assert people_of(gazetteer, "Chaim Weizmann", "Ezer Weizman") == [
        ("Chaim Weizmann", ["Chaim Weizmann"]), ("Ezer Weizman", ["Ezer Weizman"])]
    assert people_of(gazetteer, "Barack Obama", "Michelle Obama", "Ex-Präsident Obama") == [
        ("Barack Obama", ["Barack Obama"]), ("Ex-Präsident Obama", ["Ex-Präsident Obama"]),
        ("Michelle Obama", ["Michelle Obama"])]


def test_a_surname_s_russian_and_belarusian_forms_are_one_person(gazetteer: Gazetteer) -> None:
    assert people_of(gazetteer, "Alexander Lukashenko", "Lukashenka") == [
        ("Alexander Lukashenko", ["Alexander Lukashenko", "Lukashenka"])]


def test_provider_people_become_entities_without_mentions(
    models: NerModels, gazetteer: Gazetteer
) -> None:
    from shared.models import Concept

    item = make_item(headline="", people=[Concept(name="Зеленський Володимир")])
    [entity] = run(models, gazetteer, item, "uk")
    assert entity.type == "PERSON" and entity.mentions == []
    # surname-first metadata gets the same id as "Volodymyr Zelensky"
    assert entity.id == OfflineResolver().resolve([to_candidate_of("Volodymyr Zelensky")])[0][0]


def to_candidate_of(name: str) -> Any:
    from services.enrich.aliases import Candidate
    from services.enrich.names import name_key

    return Candidate(type="PERSON", name=name, key=name_key(name, "PERSON"))


def test_datelines_and_one_word_places_mistaken_for_people(gazetteer: Gazetteer) -> None:
    from services.enrich.entities import dateline_mentions

    [city, country] = dateline_mentions("body_text", "KYIV, Ukraine (AP) — Russian forces",
                                        "en", gazetteer)
    assert (city.text, city.start, city.end) == ("KYIV", 0, 4)
    assert country.text == "Ukraine"
    [madrid] = dateline_mentions("body_text", "MADRID (Reuters) - The government", "en",
                                 gazetteer)
    assert madrid.text == "MADRID"
    assert dateline_mentions("body_text", "The government said on Monday - again", "en",
                             gazetteer) == []
    kyiv_as_person = RawMention("headline", 0, 4, "Kyiv", "PERSON", "Kyiv", " hit", "en")
    [entity] = group_mentions([kyiv_as_person], gazetteer)
    assert entity.type == "GPE" and entity.geo is not None and entity.geo.country_code == "UA"


def typed(text: str, kind: str, start: int, language: str = "en") -> RawMention:
    """A body-text mention of ``kind`` as a model would return it."""
    return RawMention("body_text", start, start + len(text), text, kind, text, "", language)


def test_a_surname_mistyped_as_a_place_joins_its_person(gazetteer: Gazetteer) -> None:
    m = typed

    grouped = group_mentions([m("Pedro Sánchez", "PERSON", 0), m("Sánchez", "LOC", 30)],
                             gazetteer)
    [person] = grouped
    assert person.type == "PERSON" and len(person.mentions) == 2


def test_a_full_name_typed_as_an_organisation_joins_its_person(gazetteer: Gazetteer) -> None:
    def m(text: str, kind: str, start: int) -> RawMention:
        return typed(text, kind, start, "de")

    # dpa copy: the model read the full name as an organisation, the bare
    # surname as a person
    grouped = group_mentions([m("Fadi Alameh", "ORG", 0), m("Alameh", "PERSON", 40)],
                             gazetteer)
    [person] = grouped
    assert person.type == "PERSON" and person.best_name() == "Fadi Alameh"
    # a company named after a person stays a company: no given name opens it
    # (and a given name that does not fit is someone else)
    grouped = group_mentions([m("Goldman Sachs", "ORG", 0), m("Sachs", "PERSON", 40),
                              m("Maria Alameh", "ORG", 60), m("Fadi Alameh", "PERSON", 80)],
                             gazetteer)
    assert sorted((e.type, e.best_name()) for e in grouped) == [
        ("ORG", "Goldman Sachs"), ("ORG", "Maria Alameh"), ("PERSON", "Fadi Alameh"),
        ("PERSON", "Sachs")]


def test_spacy_batches_hold_a_bounded_amount_of_text() -> None:
    from services.enrich.entities import (
        PIPE_BATCH_CHARS,
        PIPE_BATCH_MAX,
        PIPE_BATCH_MIN,
        pipe_batch_size,
    )

    long_stories = ["h" * 80, "b" * 3_800] * 25  # headline, body, ...
    size = pipe_batch_size(long_stories)
    assert size * (80 + 3_800) / 2 <= PIPE_BATCH_CHARS
    assert pipe_batch_size(["short headline"] * 100) == PIPE_BATCH_MAX
    assert pipe_batch_size(["x" * 1_000_000]) == PIPE_BATCH_MIN
    assert pipe_batch_size([]) == PIPE_BATCH_MIN


def test_a_place_hyphened_to_another_name_is_a_place_of_its_own(gazetteer: Gazetteer) -> None:
    from services.enrich.entities import RawMention, group_mentions

    text = "The Trump-Russia investigation goes on"
    start = text.index("Trump-Russia")
    mention = RawMention("body_text", start, start + len("Trump-Russia"), "Trump-Russia",
                         "LOC", "Trump-Russia", "", "en")
    [russia] = group_mentions([mention], gazetteer)
    assert russia.geo is not None and russia.geo.country_code == "RU"
    [(part, _)] = russia.mentions
    assert text[part.start:part.end] == "Russia"


def test_names_geonames_lists_for_cities_that_are_something_else_are_not_places(
        gazetteer: Gazetteer) -> None:
    assert gazetteer.lookup("Google") is None
    assert gazetteer.lookup("Hamas") is None
    assert gazetteer.lookup("Topeka") is not None and gazetteer.lookup("Hamm") is not None


def test_nationalities_of_english_text_come_from_the_demonym_table(gazetteer: Gazetteer) -> None:
    from services.enrich.entities import RawMention, _nationalities

    text = "Ukrainian troops and American advisers met a pro-Russian group in Paris"
    paris = text.index("Paris")
    found = [RawMention("body_text", paris, paris + 5, "Paris", "LOC", "Paris", "", "en")]
    norp = _nationalities([("body_text", text)], found, gazetteer)
    assert [(m.text, m.type) for m in norp] == [("Ukrainian", "NORP"), ("American", "NORP")]


@pytest.mark.parametrize(("span", "name"), [
    ("Wojciech Wierzejski powiedział", "Wojciech Wierzejski"),
    ("Hugo Miguel é", "Hugo Miguel"),
    ("Олексій Дзюбка з Сахновщини", "Олексій Дзюбка"),
    ("Mohammad al-Hadidi", "Mohammad al-Hadidi"),
    ("Valéry Giscard d'Estaing", "Valéry Giscard d'Estaing"),
    ("Ursula von der Leyen", "Ursula von der Leyen"),
    ("John Smith co-founder", "John Smith"),
    ("José Ortega y Gasset", "José Ortega y Gasset"),
    ("Michael Phelps de", "Michael Phelps"),  # never in a particle either
])
def test_a_person_span_ends_before_a_glued_on_lower_case_word(span: str, name: str) -> None:
    from services.enrich.entities import person_end

    text = f"Yesterday {span} arrived."
    start = text.index(span)
    assert text[start:person_end(text, start, start + len(span))] == name


@pytest.mark.parametrize(("text", "language", "person", "place"), [
    ("України Володимир Зеленський", "uk", "Володимир Зеленський", "Ukraine"),
    ("Belarus Alexander Lukashenko", "en", "Alexander Lukashenko", "Belarus"),
])
def test_a_country_glued_onto_a_name_is_split_off(
        gazetteer: Gazetteer, text: str, language: str, person: str, place: str) -> None:
    from services.enrich.entities import RawMention, group_mentions

    mention = RawMention("body_text", 0, len(text), text, "PERSON", text, "", language)
    grouped = {e.type: e for e in group_mentions([mention], gazetteer)}
    assert grouped["PERSON"].surfaces == [person]
    [(raw, _)] = grouped["PERSON"].mentions
    assert text[raw.start:raw.end] == person
    assert grouped["GPE"].geo is not None and grouped["GPE"].geo.name == place


def test_a_two_word_name_starting_with_a_city_stays_a_person(gazetteer: Gazetteer) -> None:
    from services.enrich.entities import RawMention, group_mentions

    text = "Paris Jackson Smith"
    mention = RawMention("body_text", 0, len(text), text, "PERSON", text, "", "en")
    [person] = group_mentions([mention], gazetteer)
    assert person.type == "PERSON" and person.surfaces == [text]


def test_a_full_name_the_registry_knows_beats_a_city_named_like_its_given_name(
        gazetteer: Gazetteer) -> None:
    from services.enrich.entities import recognise_batch
    from services.enrich.known_names import KnownNames, KnownNamesCache

    known = KnownNamesCache(lambda: KnownNames([("PERSON", "vladimir selenski")]))
    models = NerModels(english=None, russian=load_russian(), known=known)
    text = "Президент України Володимир Зеленський прибув до Києва."
    item = make_item(id="uk", headline="", body_text=text, language="uk")
    [found] = recognise_batch([item], ["uk"], [None], models, gazetteer)
    assert found.status == "related"
    spans = {(text[m.start:m.end], m.type) for m in found.mentions}
    assert ("Володимир Зеленський", "PERSON") in spans
    assert not any(t == "Володимир" for t, _ in spans)


@pytest.mark.parametrize(("text", "places"), [
    ("Zelensky later returned to Kyiv on an overnight train.", ["Kyiv"]),
    # a missed club or event: the city or country inside it is not added
    ("Real Madrid lost, and the Tour de France starts in Lille.", []),
    # a village sharing a word, and a city named in lower case elsewhere
    ("The Gold reserve grew.", []),
    ("Beijing said the talks would go on.", ["Beijing"]),
])
def test_a_native_model_s_missed_countries_and_big_cities_are_filled_in(
        gazetteer: Gazetteer, text: str, places: list[str]) -> None:
    from services.enrich.entities import _fill_gaps

    item = make_item(id="gap", headline="", body_text=text, language="en")
    _, added = _fill_gaps(item, [], None, gazetteer, "en")
    assert [m.text for m in added] == places
    assert all(m.type == "GPE" for m in added)


def test_a_mention_the_model_read_is_never_overlapped_by_the_gap_pass(
        gazetteer: Gazetteer) -> None:
    from services.enrich.entities import _fill_gaps, _split_fields

    text = "Zelensky returned to Kyiv."
    item = make_item(id="gap", headline="", body_text=text, language="en")
    model = _split_fields([("body_text", text)], [(21, 25, "GPE")], "en")
    assert _fill_gaps(item, model, None, gazetteer, "en") == (model, [])


def test_a_known_person_s_surname_read_as_a_place_or_organisation_is_that_person(
        gazetteer: Gazetteer) -> None:
    from services.enrich.entities import _fill_gaps, _split_fields
    from services.enrich.known_names import KnownNames
    from services.enrich.names import fold

    known = KnownNames([(kind, fold(name)) for kind, name in [
        ("PERSON", "Bashar al-Assad"), ("PERSON", "Michael Bloomberg"), ("ORG", "Bloomberg"),
        ("PERSON", "Michael Jordan")]])
    text = "Assad a parlé. Bloomberg rapporte. Jordan hésite."
    item = make_item(id="k", headline="", body_text=text, language="fr")
    spans = [(0, 5, "LOC"), (15, 24, "ORG"), (35, 41, "LOC")]
    model = _split_fields([("body_text", text)], spans, "fr")
    retyped, _ = _fill_gaps(item, model, known, gazetteer, "fr")
    # the surname of a known person, which is no place; not the agency the
    # registry knows as an organisation, nor a country
    assert [(m.text, m.type) for m in retyped] == [
        ("Assad", "PERSON"), ("Bloomberg", "ORG"), ("Jordan", "LOC")]


def test_an_organisation_or_place_starts_at_its_first_capitalised_word() -> None:
    from services.enrich.entities import _split_fields

    text = "une usine de Barcelone"
    [mention] = _split_fields([("body_text", text)], [(10, 22, "ORG")], "fr")
    assert (mention.text, mention.start) == ("Barcelone", 13)


def test_a_given_name_beats_a_related_model_s_span_with_a_title_glued_on(
        gazetteer: Gazetteer) -> None:
    from services.enrich.entities import _merge, _split_fields
    from services.enrich.given_names import load_given_names

    text = "O Presidente Recep Tayyip Erdoğan prometeu reconstruir."
    item = make_item(id="pt", headline="", body_text=text, language="pt")
    # what the Spanish model reads in the Portuguese text
    spanish = _split_fields([("body_text", text)], [(2, 33, "PERSON")], "es")
    merged = _merge(item, [spanish], None, gazetteer, "pt", load_given_names())
    assert [(m.text, m.type) for m in merged] == [("Recep Tayyip Erdoğan", "PERSON")]


def test_a_norwegian_story_keeps_its_entities(gazetteer: Gazetteer) -> None:
    # Norway's code NO once read as YAML 1.1's boolean false, and every
    # entity of a story naming a Norwegian failed validation
    from services.enrich.entities import _split_fields

    text = "Norwegian Prime Minister Jonas Gahr Store met Keir Starmer in Oslo."
    item = make_item(id="no", headline="", body_text=text, language="en")
    raw = _split_fields([("body_text", text)],
                        [(0, 9, "NORP"), (25, 41, "PERSON"), (46, 58, "PERSON"),
                         (62, 66, "GPE")], "en")
    [entities] = tag_entities([item], [raw], gazetteer, OfflineResolver())
    names = by_name(entities)
    assert gazetteer.demonym("Norwegian") == "NO"
    assert {"Jonas Gahr Store", "Keir Starmer", "Oslo"} <= set(names)


def test_two_names_read_as_one_are_two(gazetteer: Gazetteer) -> None:
    text = ("Alexander Lukashenko met Li Qiang. Lukashenka China ties grew, and "
            "Lukashenka Li talks ended.")
    spans = [("Alexander Lukashenko", "PERSON"), ("Li Qiang", "PERSON"),
             ("Lukashenka China", "ORG"), ("Lukashenka Li", "PERSON")]
    raw = [RawMention("body_text", text.index(t), text.index(t) + len(t), t, kind, t, "", "en")
           for t, kind in spans]
    grouped = group_mentions(raw, gazetteer)
    people = sorted((e.best_name(), sorted(e.surfaces)) for e in grouped if e.type == "PERSON")
    assert people == [("Alexander Lukashenko", ["Alexander Lukashenko", "Lukashenka"]),
                      ("Li Qiang", ["Li", "Li Qiang"])]
    assert not [e for e in grouped if e.type == "ORG"]
    assert "CN" in {e.country_code for e in grouped if e.type == "GPE"}


def test_case_forms_of_a_surname_are_its_person_in_slavic_text(gazetteer: Gazetteer) -> None:
    def pl(text: str, start: int) -> RawMention:
        return RawMention("body_text", start, start + len(text), text, "PERSON", text, "", "pl")

    grouped = group_mentions([pl("Donald Tusk", 0), pl("Radosławem Sikorskim", 20),
                              pl("Tuskiem", 50), pl("Sikorski", 70)], gazetteer)
    assert sorted(sorted(e.surfaces) for e in grouped) == [
        ["Donald Tusk", "Tuskiem"], ["Radosławem Sikorskim", "Sikorski"]]


def test_husband_and_wife_stay_two_people(gazetteer: Gazetteer) -> None:
    assert people_of(gazetteer, "Volodymyr Zelensky", "Olena Zelenska", "Zelensky") == [
        ("Olena Zelenska", ["Olena Zelenska"]),
        ("Volodymyr Zelensky", ["Volodymyr Zelensky", "Zelensky"])]


def test_a_line_break_ends_a_name() -> None:
    from services.enrich.entities import _split_fields

    text = "MINSK\nAlexander Lukashenko said"
    found = _split_fields([("body_text", text)], [(0, 26, "PERSON")], "en")
    assert [(m.text, m.start) for m in found] == [("MINSK", 0), ("Alexander Lukashenko", 6)]


def test_a_name_typed_two_ways_takes_the_type_of_most_mentions(gazetteer: Gazetteer) -> None:
    text = "Chega won. Ventura leads Chega, and Chega grew."
    spans = [(0, 5, "PERSON"), (25, 30, "ORG"), (36, 41, "ORG")]
    raw = [RawMention("body_text", a, b, text[a:b], kind, text[a:b], "", "pt")
           for a, b, kind in spans]
    grouped = group_mentions(raw, gazetteer)
    assert [(e.type, len(e.mentions)) for e in grouped] == [("ORG", 3)]


def test_a_word_glued_onto_a_person_is_cut_off(gazetteer: Gazetteer) -> None:
    from services.enrich.entities import _repair_people
    from services.enrich.given_names import load_given_names

    text = ("Загинули мешканець Києва Микола Сосницький та боєць Іван Ткачук. "
            "Микола Сосницький Про загибель повідомили про це рідні. "
            "Президент Луїс Інасіу Лула да Сілва.")
    item = make_item(id="uk", headline="", body_text=text, language="uk")
    spans = ["Києва Микола Сосницький", "Микола Сосницький Про", "Іван Ткачук",
             "Луїс Інасіу Лула да Сілва"]
    raw = [RawMention("body_text", text.index(t), text.index(t) + len(t), t, "PERSON", t, "",
                      "uk") for t in spans]
    repaired = _repair_people(item, raw, load_given_names(), gazetteer, "uk")
    # a place before the given name goes; a first word we merely do not know stays
    assert [m.text for m in repaired] == ["Микола Сосницький", "Микола Сосницький",
                                          "Іван Ткачук", "Луїс Інасіу Лула да Сілва"]
    assert all(text[m.start:m.end] == m.text for m in repaired)


def test_an_organisation_typed_surname_joins_the_one_real_person(gazetteer: Gazetteer) -> None:
    text = "Daniel Hagari said. Armeesprecher Hagari added. Hagari warned."
    spans = [("Daniel Hagari", "PERSON"), ("Armeesprecher Hagari", "PERSON"),
             ("Hagari", "ORG")]
    raw = [RawMention("body_text", text.index(t), text.index(t) + len(t), t, kind, t, "", "de")
           for t, kind in spans]
    grouped = group_mentions(raw, gazetteer)
    daniel = next(e for e in grouped if e.best_name() == "Daniel Hagari")
    assert sorted(daniel.surfaces) == ["Armeesprecher Hagari", "Daniel Hagari", "Hagari"]
    assert not [e for e in grouped if e.type == "ORG"]


def test_a_given_name_s_case_form_is_that_name_in_slavic_copy(gazetteer: Gazetteer) -> None:
    def uk(text: str, start: int) -> RawMention:
        return RawMention("body_text", start, start + len(text), text, "PERSON", text, "", "uk")

    grouped = group_mentions([uk("Денис Рашпля", 0), uk("Дениса Рашплю", 30)], gazetteer)
    assert [sorted(e.surfaces) for e in grouped] == [["Денис Рашпля", "Дениса Рашплю"]]


def repaired_people(gazetteer: Gazetteer, text: str, spans: list[str],
                    language: str) -> list[str]:
    from services.enrich.entities import _repair_people
    from services.enrich.given_names import load_given_names

    item = make_item(id="r", headline="", body_text=text, language=language)
    raw = [RawMention("body_text", text.index(t), text.index(t) + len(t), t, "PERSON", t, "",
                      language) for t in spans]
    out = _repair_people(item, raw, load_given_names(), gazetteer, language)
    assert all(text[m.start:m.end] == m.text for m in out)
    return [m.text for m in out]


def test_a_name_ends_at_a_line_break(gazetteer: Gazetteer) -> None:
    text = "Дениса Рашплю\n\nФейковий лист ширять у мережі."
    assert repaired_people(gazetteer, text, ["Дениса Рашплю\n\nФейковий"], "uk") == [
        "Дениса Рашплю"]


def test_two_names_written_without_a_space_are_two_people(gazetteer: Gazetteer) -> None:
    text = "W radzie zasiadają Bogdan CzajkowskiJacek Kurski oraz Ronald McDonald."
    assert repaired_people(gazetteer, text, ["Bogdan CzajkowskiJacek Kurski",
                                             "Ronald McDonald"], "pl") == [
        "Bogdan Czajkowski", "Jacek Kurski", "Ronald McDonald"]


def test_an_acronym_or_a_role_before_a_full_name_is_cut_off(gazetteer: Gazetteer) -> None:
    text = ("Речник ЗСУ Дениса Рашплю. Tesla-Gründer Elon Musk sagte, Elon Musk komme. "
            "Luiz Inácio Lula da Silva e Lula da Silva.")
    assert repaired_people(gazetteer, text, [
        "ЗСУ Дениса Рашплю", "Tesla-Gründer Elon Musk", "Elon Musk",
        "Luiz Inácio Lula da Silva", "Lula da Silva"], "uk") == [
        "Дениса Рашплю", "Elon Musk", "Elon Musk", "Luiz Inácio Lula da Silva",
        "Lula da Silva"]


def test_a_given_name_read_alone_runs_on_to_its_surname(gazetteer: Gazetteer) -> None:
    text = "Derweil wird US-Außenminister Antony Blinken erwartet. Sagte Maria Die Welt?"
    assert repaired_people(gazetteer, text, ["Antony", "Maria"], "de") == [
        "Antony Blinken", "Maria"]


def story_surnames(text: str, spans: list[str], language: str) -> list[str]:
    from services.enrich.entities import _story_surnames
    from services.enrich.given_names import load_given_names

    item = make_item(id="s", headline="", body_text=text, language=language)
    raw = [RawMention("body_text", text.index(t), text.index(t) + len(t), t, "PERSON", t, "",
                      language) for t in spans]
    found = _story_surnames(item, raw, load_given_names(), language)
    assert all(text[m.start:m.end] == m.text and m.type == "PERSON" for m in found)
    return [m.text for m in found]


def test_a_surname_alone_after_the_full_name_is_a_person() -> None:
    text = ("US-Außenminister Antony Blinken reist. Danach schrieb Blinken auf X. "
            "Thomas Koch kocht, der Koch lacht. Koch Media wächst.")
    # the article makes "Koch" a noun; a capitalised word after it a company
    assert story_surnames(text, ["Antony Blinken", "Thomas Koch"], "de") == ["Blinken"]
    # Slavic case forms, but never the other gender's
    text = ("Donald Tusk spotkał się z Ołeną Zełenską. Ołena Zełenska dziękowała "
            "Tuskowi, a Zełenskiego nie było.")
    assert story_surnames(text, ["Donald Tusk", "Ołena Zełenska"], "pl") == ["Tuskowi"]
    # a family name written first is looked for as written; a word also
    # written in lower case is not a name
    text = "Xi Jinping llegó. Xi dijo que Rose Li y Sam Rose, rose."
    assert story_surnames(text, ["Xi Jinping", "Sam Rose"], "es") == ["Xi"]


def test_a_noun_and_of_before_a_surname_of_the_story_is_cut(gazetteer: Gazetteer) -> None:
    """Romance copy capitalises a noun only where it opens the headline or a
    sentence: "Advogado de Bolsonaro" is the surname of the Jair Bolsonaro
    the story names; a given name before "de" stays (Maria de Souza), and
    so does the span when the story names no one of that surname."""
    text = ("Advogado de Bolsonaro fala à imprensa. O ex-presidente Jair Bolsonaro "
            "não compareceu. Maria de Souza, vizinha, assistiu.")
    assert repaired_people(gazetteer, text, ["Advogado de Bolsonaro", "Jair Bolsonaro",
                                             "Maria de Souza"], "pt") == [
        "Bolsonaro", "Jair Bolsonaro", "Maria de Souza"]
    alone = "Advogado de Bolsonaro fala à imprensa."
    assert repaired_people(gazetteer, alone, ["Advogado de Bolsonaro"], "pt") == [
        "Advogado de Bolsonaro"]


def test_a_bare_given_name_joins_the_case_form_opening_a_full_name(
    gazetteer: Gazetteer
) -> None:
    assert people_of(gazetteer, "Климом Мишанчуком", "Клим", language="uk") == [
        ("Климом Мишанчуком", ["Клим", "Климом Мишанчуком"])]


def test_a_bare_surname_is_the_one_person_of_that_name_met_before_it(
    gazetteer: Gazetteer
) -> None:
    # "Ron Paul ... Paul's son, Rand Paul ...": the reader has met one Paul
    assert people_of(gazetteer, "Ron Paul", "Paul", "Rand Paul", "Paul") == [
        ("Paul", ["Paul"]), ("Rand Paul", ["Rand Paul"]), ("Ron Paul", ["Paul", "Ron Paul"])]
    # the headline is read before the body; a name met in the original does
    # not decide a bare surname of the English translation
    mentions = [RawMention("headline", 0, 9, "Joe Biden", "PERSON", "Joe Biden", "", "en"),
                person("Biden", 5), person("Jill Biden", 40)]
    assert sorted((e.best_name(), sorted(e.surfaces)) for e in group_mentions(mentions, gazetteer)
                  ) == [("Jill Biden", ["Jill Biden"]), ("Joe Biden", ["Biden", "Joe Biden"])]
    translated = [person("Joe Biden", 0), person("Jill Biden", 40),
                  RawMention("body_text_en", 5, 10, "Biden", "PERSON", "Biden", "", "en")]
    assert len(group_mentions(translated, gazetteer)) == 3
