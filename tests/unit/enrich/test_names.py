# ruff: noqa: RUF001  (multilingual news text: Cyrillic letters are meant)
"""Name keys: transliteration and spelling variants meet; different people
do not."""

from __future__ import annotations

import pytest

from services.enrich.names import acronym, clean_surface, fold, is_latin, name_key, person_parts

ZELENSKY = ["Zelensky", "Zelenskyy", "Zelenskiy", "Zelenskij", "Selenskyj", "Zelenskyi",
            "Зеленский", "Зеленський", "ZELENSKY"]


@pytest.mark.parametrize("spelling", ZELENSKY)
def test_every_zelensky_spelling_folds_to_one_key(spelling: str) -> None:
    assert fold(spelling) == fold("Zelensky")


@pytest.mark.parametrize(
    ("a", "b"),
    [("Macron", "Макрон"), ("Scholz", "Шольц"), ("Navalny", "Навальный"),
     ("Netanyahu", "Нетаньяху"), ("Erdoğan", "Erdogan"), ("Lavrov", "Лавров"),
     ("Shoigu", "Шойгу"), ("Putin", "Путин")],
)
def test_latin_and_cyrillic_spellings_meet(a: str, b: str) -> None:
    assert fold(a) == fold(b)


@pytest.mark.parametrize(
    "name",
    ["Volodymyr Zelensky", "Vladimir Zelensky", "Volodymyr Zelenskyy", "Владимир Зеленский",
     "Володимир Зеленський", "President Volodymyr Zelenskiy"],
)
def test_given_name_variants_meet_through_the_synonym_table(name: str) -> None:
    assert name_key(clean_surface(name, "PERSON"), "PERSON") == "PERSON:vladimir selenski"


@pytest.mark.parametrize(
    ("a", "b"),
    [("Joe Biden", "Jill Biden"), ("Olena Zelenska", "Volodymyr Zelensky"),
     ("Boris Johnson", "Lyndon Johnson"), ("Alexei Navalny", "Yulia Navalnaya")],
)
def test_different_people_keep_different_keys(a: str, b: str) -> None:
    assert name_key(a, "PERSON") != name_key(b, "PERSON")


@pytest.mark.parametrize(
    ("surface", "kind", "clean"),
    [
        ("President Emmanuel Macron", "PERSON", "Emmanuel Macron"),
        ("Secretary of State Antony Blinken's", "PERSON", "Antony Blinken"),
        ("Prime Minister Keir Starmer", "PERSON", "Keir Starmer"),
        ("Mr. Scholz’s", "PERSON", "Scholz"),
        ("former President Donald Trump", "PERSON", "Donald Trump"),
        ("президент Владимир Путин", "PERSON", "Владимир Путин"),
        ("the United Nations", "ORG", "United Nations"),
        ("the U.S.", "GPE", "U.S."),
        ("“NATO”", "ORG", "NATO"),
    ],
)
def test_titles_articles_possessives_and_quotes_are_stripped(
    surface: str, kind: str, clean: str
) -> None:
    assert clean_surface(surface, kind) == clean


def test_surname_keeps_its_particles_and_initials_are_evidence() -> None:
    assert person_parts("Ursula von der Leyen") == ("ursula", "von der leien")
    assert name_key("V. Zelensky", "PERSON") == "PERSON:v selenski"
    assert name_key("Zelensky", "PERSON") == "PERSON:selenski"


def test_acronyms_and_scripts() -> None:
    assert acronym("North Atlantic Treaty Organization") == "NATO"
    assert acronym("European Union") == "EU"
    assert acronym("Reuters") == ""
    assert is_latin("Zelenskyy") and not is_latin("Зеленский")


@pytest.mark.parametrize(("a", "b", "same"), [
    ("Volodymyr", "Vladimir", True),
    ("Jarosław", "Yaroslav", True),
    ("Mykola", "Nikolai", True),
    ("Sviatlana", "Svetlana", True),
    ("Recep", "Реджеп", True),
    ("Joe", "Jill", False),
    ("Danil", "Daria", False),
    ("Aleksandr", "Aleksandra", False),
    ("Michelle", "Barack", False),
])
def test_given_names_meet_through_the_wikidata_table(a: str, b: str, same: bool) -> None:
    from services.enrich.names import fold, given_names_match

    assert given_names_match(fold(a), fold(b)) is same


@pytest.mark.parametrize(("a", "b", "related"), [
    ("Ted", "Edward", True),
    ("Edward", "Ted", True),
    ("Bill", "William", True),
    ("Jamie", "James", True),
    ("William", "Robert", False),  # both have "Bill"; that does not make them one
    ("Aaron", "Erin", False),  # the table's nickname is a woman's name
    ("Edward", "Edwin", False),
])
def test_english_nicknames_come_from_the_shipped_table(a: str, b: str, related: bool) -> None:
    from services.enrich.names import nicknames_related, person_parts

    assert nicknames_related(person_parts(f"{a} X")[0], person_parts(f"{b} X")[0]) is related


def test_keys_write_a_given_name_in_its_wikidata_form_keeping_its_initial() -> None:
    from services.enrich.names import given_name_canonical

    canonical = given_name_canonical()
    forms = {w: canonical.get(fold(w), fold(w)) for w in
             ["Volodymyr", "Vladimir", "Wladimir", "Владимир", "Володимир",
              "Aleksandr", "Alexander", "Swiatłana", "Svetlana", "Joe", "Olena"]}
    assert {forms[w] for w in ["Volodymyr", "Vladimir", "Wladimir", "Владимир",
                               "Володимир"]} == {"vladimir"}
    assert forms["Aleksandr"] == forms["Alexander"]
    assert forms["Swiatłana"] == forms["Svetlana"]
    # every form keeps the initial its spelling has (keys hold initials as evidence)
    assert all(form[0] == fold(word)[0] for word, form in forms.items())
    assert name_key("Wołodymyr Zełenski", "PERSON") == name_key("Vladimir Zelensky", "PERSON")


def test_surname_first_order_is_read_in_cyrillic_only() -> None:
    assert person_parts("Зеленський Володимир") == person_parts("Володимир Зеленський")
    # in Latin script many surnames are given names too
    assert person_parts("Judy Murray")[1] == person_parts("J. Murray")[1] == "murai"
    assert person_parts("Kamala Harris")[1] == "haris"


def test_a_name_never_ends_in_a_particle() -> None:
    assert person_parts("Michael Phelps de") == person_parts("Michael Phelps")
    assert person_parts("Ursula von der Leyen")[1] == "von der leien"


def test_a_surname_that_folds_to_a_particle_is_still_a_surname() -> None:
    # "Lee", "Dell", "Dee" fold to "le", "del", "de": written so, they are
    # surnames, and two people with one initial in common stay apart
    assert person_parts("Chang W. Lee") == ("chang v", "le")
    assert person_parts("Michael Dell")[1] == "del"
    assert person_parts("Jack Dee")[1] == "de"
    assert name_key("Chang W. Lee", "PERSON") != name_key("Witold W.", "PERSON")
    assert person_parts("Marine Le Pen")[1] == "le pen"
    assert person_parts("Carla Del Ponte")[1] == "del ponte"
