"""Place names in every language the sources write, their Slavic case
forms, and the gazetteer pass over running text."""

from __future__ import annotations

import itertools

import pytest

from services.enrich.places import Gazetteer, build_gazetteer, find_places

KYIV, MOSCOW, WARSAW, BEIJING, LONDON = (
    "gn:703448", "gn:524901", "gn:756135", "gn:1816670", "gn:2643743")


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return build_gazetteer()


def ids(gazetteer: Gazetteer, names: list[str], language: str | None = None) -> set[str | None]:
    found = {n: gazetteer.lookup(n, language) for n in names}
    return {e.entity_id if e else f"unresolved {n}" for n, e in found.items()}


@pytest.mark.parametrize(
    ("place", "names"),
    [(KYIV, ["Kiew", "Kiev", "Kijów", "Київ", "Киев", "Kyiv", "Kijev", "Kiiv", "Kíev"]),
     (MOSCOW, ["Moscow", "Moskau", "Moscou", "Mosca", "Moskwa", "Москва", "Moskou", "Moskva",
               "Moscú"]),
     (WARSAW, ["Warsaw", "Warschau", "Varsovie", "Varsóvia", "Varsavia", "Warszawa",
               "Варшава", "Varsovia"]),
     (BEIJING, ["Beijing", "Peking", "Pékin", "Pequim", "Pechino", "Pekin", "Пекин", "Pekín"]),
     (LONDON, ["London", "Londres", "Londra", "Londyn", "Лондон", "Londen"]),
     ("geo:US", ["United States", "Vereinigte Staaten", "Estados Unidos", "Stati Uniti",
                 "Stany Zjednoczone", "États-Unis", "Verenigde Staten", "USA", "США",
                 "Сполучені Штати", "Estats Units"]),
     ("geo:DE", ["Germany", "Deutschland", "Niemcy", "Germania", "Alemanha", "Allemagne",
                 "Alemania", "Duitsland", "Tyskland", "Alemanya", "Германия", "Німеччина"]),
     ("geo:GB", ["Vereinigtes Königreich", "Royaume-Uni", "Reino Unido", "Regno Unito",
                 "Wielka Brytania", "Verenigd Koninkrijk", "Storbritannien", "Regne Unit",
                 "Великобритания", "Велика Британія"]),
     ("geo:PL", ["Poland", "Polen", "Pologne", "Polonia", "Polónia", "Polska", "Польша",
                 "Польща", "Polònia"])],
)
def test_one_place_whatever_the_language(gazetteer: Gazetteer, place: str,
                                         names: list[str]) -> None:
    assert ids(gazetteer, names) == {place}


@pytest.mark.parametrize(
    ("language", "forms", "place"),
    [("pl", ["Warszawie", "Warszawy", "Warszawą"], WARSAW),
     ("pl", ["Kijowa", "Kijowie", "Kijowem"], KYIV),
     ("pl", ["Moskwie", "Moskwy"], MOSCOW),
     ("pl", ["Londynie", "Londynu"], LONDON),
     ("pl", ["Pekinie", "Pekinu"], BEIJING),
     ("pl", ["Niemczech", "Niemcami"], "geo:DE"),
     ("pl", ["Polski", "Polsce", "Polską"], "geo:PL"),
     ("pl", ["Francji", "Francją"], "geo:FR"),
     ("pl", ["Stanach Zjednoczonych", "Stanów Zjednoczonych"], "geo:US"),
     ("pl", ["Ukrainie", "Ukrainy"], "geo:UA"),
     ("ru", ["Москве", "Москвы", "Москвой", "Москву"], MOSCOW),
     ("ru", ["Киеве", "Киева", "Киеву"], KYIV),
     ("ru", ["Германии", "Германию"], "geo:DE"),
     ("ru", ["США", "Соединённых Штатах"], "geo:US"),
     ("ru", ["Варшаве", "Варшавы"], WARSAW),
     ("ru", ["Китае", "Китая"], "geo:CN"),
     ("uk", ["Києві", "Києва", "Києвом"], KYIV),
     ("uk", ["Варшави", "Варшаві"], WARSAW),
     ("uk", ["Франції", "Францію"], "geo:FR"),
     ("uk", ["Німеччині", "Україні", "Польщі"], None),
     ("uk", ["США", "Сполучених Штатах"], "geo:US"),
     ("uk", ["Москві", "Лондоні"], None)],
)
def test_slavic_case_forms_resolve_to_the_nominative(
    gazetteer: Gazetteer, language: str, forms: list[str], place: str | None
) -> None:
    resolved = [gazetteer.lookup(form, language) for form in forms]
    assert all(resolved), dict(zip(forms, resolved, strict=True))
    if place is not None:
        assert {e.entity_id for e in resolved if e} == {place}


def test_case_forms_need_no_language_when_the_alphabet_tells(gazetteer: Gazetteer) -> None:
    assert ids(gazetteer, ["Warszawie", "Москве", "Києві", "Kijowa"]) == {
        WARSAW, MOSCOW, KYIV}


def test_case_endings_are_restricted_to_the_language(gazetteer: Gazetteer) -> None:
    # a Polish ending does not apply to an English text, nor a Russian one
    # to Latin letters; "Kyivie" is no Polish form ("Kyiv" has a v)
    assert gazetteer.lookup("Kijowa", "en") is None
    assert gazetteer.lookup("Warszawie", "ru") is None
    assert gazetteer.lookup("Kyivie", "pl") is None
    # the stem must keep two letters in a word of four: "Уфе" is not "Уфа"
    assert gazetteer.lookup("Уфе", "ru") is None
    assert gazetteer.lookup("Уфа", "ru") is not None


def test_collisions_across_languages(gazetteer: Gazetteer) -> None:
    # a country beats a city of the same name in any language: Polish
    # "Włochy" is Italy, not the Warsaw district
    assert (entry := gazetteer.lookup("Włochy")) and entry.entity_id == "geo:IT"
    assert (entry := gazetteer.lookup("Georgia")) and entry.entity_id == "geo:GE"
    # a capital beats a bigger namesake; a bigger city a smaller one
    assert (entry := gazetteer.lookup("Paris")) and entry.entity_id == "gn:2988507"
    # airport codes that GeoNames lists as names are not places
    assert gazetteer.lookup("MAD") is None
    assert (entry := gazetteer.lookup("WAW")) is None or entry.entity_id != WARSAW
    assert (entry := gazetteer.lookup("NYC")) and entry.entity_id == "gn:5128581"


def spans(gazetteer: Gazetteer, text: str, language: str | None) -> list[tuple[str, str]]:
    return [(text[s:e], entry.entity_id) for s, e, entry in find_places(text, language,
                                                                          gazetteer)]


def test_find_places_polish_text(gazetteer: Gazetteer) -> None:
    text = ("Prezydent przyleciał do Warszawy z Kijowa. W Niemczech i we Francji "
            "mówi się o Stanach Zjednoczonych, a w Polsce o Londynie.")
    assert spans(gazetteer, text, "pl") == [
        ("Warszawy", WARSAW), ("Kijowa", KYIV), ("Niemczech", "geo:DE"),
        ("Francji", "geo:FR"), ("Stanach Zjednoczonych", "geo:US"), ("Polsce", "geo:PL"),
        ("Londynie", LONDON)]


def test_find_places_russian_and_ukrainian_text(gazetteer: Gazetteer) -> None:
    assert spans(gazetteer, "Сегодня в Москве заявили, что США и Германия обсудят это в Киеве.",
                 "ru") == [("Москве", MOSCOW), ("США", "geo:US"), ("Германия", "geo:DE"),
                           ("Киеве", KYIV)]
    text = "Сьогодні в Києві та з Варшави кажуть, що Франції це відомо."
    assert spans(gazetteer, text, "uk") == [
        ("Києві", KYIV), ("Варшави", WARSAW), ("Франції", "geo:FR")]


def test_find_places_longest_match_no_overlap_and_connectors(gazetteer: Gazetteer) -> None:
    text = ("Officials from the U.S. met in Rio de Janeiro and Côte d'Ivoire before "
            "Britain's envoy reached Bosnia and Herzegovina.")
    assert spans(gazetteer, text, "en") == [
        ("U.S.", "geo:US"), ("Rio de Janeiro", "gn:3451190"), ("Côte d'Ivoire", "geo:CI"),
        ("Britain", "geo:GB"), ("Bosnia and Herzegovina", "geo:BA")]
    found = find_places(text, "en", gazetteer)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(found))


def test_find_places_leaves_ordinary_words_alone(gazetteer: Gazetteer) -> None:
    # German nouns after an article, listed common words, sentence-initial
    # words that are not countries or capitals, airport codes
    assert spans(gazetteer, "Das Essen war gut, zur Halle ging er nicht.", "de") == []
    assert spans(gazetteer, "Nice weather. Reading is fun. Mad Max came.", "en") == []
    assert spans(gazetteer, "Nada es imposible en Madrid.", "es") == [("Madrid", "gn:3117735")]
    # the same word in lower case elsewhere in the text marks it as a word
    assert spans(gazetteer, "Split the bill. We split it in Split.", None) == []
    # a capital may start a sentence (a capital for its government)
    assert spans(gazetteer, "Kyiv said on Monday.", "en") == [("Kyiv", KYIV)]


def test_gazetteer_method_is_the_same_pass(gazetteer: Gazetteer) -> None:
    text = "Z Kijowa do Warszawy."
    assert gazetteer.find_places(text, "pl") == find_places(text, "pl", gazetteer)
