# ruff: noqa: RUF001, RUF003  (Cyrillic test data)
"""How Cyrillic copy writes a Latin-script name: readings and the keys and
given-name checks built on them."""

from __future__ import annotations

import pytest

from services.enrich.names import (
    cross_script_keys,
    feminine_given_readings,
    fold,
    given_names_fit,
    nominative_person,
    surname_skeletons,
    surnames_alike,
)
from services.enrich.transcribe import readings, soften

# (Latin, Cyrillic as Russian or Ukrainian agency copy prints it)
TRANSCRIBED = [
    ("Giancarlo Giorgetti", "Джанкарло Джорджетти"),  # Italian gi/ge
    ("Hansi Flick", "Ханси Флик"),  # German h, Russian х
    ("Hansi Flick", "Гансі Флік"),  # German h, Ukrainian г
    ("Friedrich Merz", "Фридрих Мерц"),
    ("Ursula von der Leyen", "Урсула фон дер Ляйен"),  # ey; soft л
    ("Lars Klingbeil", "Ларс Клингбайль"),
    ("Philippe Baptiste", "Филипп Батист"),  # French silent letters
    ("Christine Lagarde", "Кристин Лагард"),
    ("Jean-Noël Barrot", "Жан-Ноэль Барро"),
    ("José Manuel Albares", "Хосе Мануэль Альбарес"),  # Spanish j
    ("Svetlana Tijanóvskaya", "Светлана Тихановская"),
    ("Luís Montenegro", "Луиш Монтенегру"),  # European Portuguese
    ("Jan Kowalczyk", "Ян Ковальчик"),  # Polish cz, w
    ("Sławosz Uznański-Wiśniewski", "Славош Узнаньский-Вишневский"),
    ("Ali Yerlikaya", "Али Ерликая"),  # Turkish initial ye
    ("Recep Tayyip Erdoğan", "Реджеп Тайип Эрдоган"),
    ("Mark Rutte", "Марк Рютте"),  # Dutch u
    ("Dick Schoof", "Дик Схоф"),
    ("Xi Jinping", "Си Цзиньпин"),  # pinyin by Palladius
    ("Li Qiang", "Ли Цян"),
    ("Zhou Enlai", "Чжоу Эньлай"),
]


@pytest.mark.parametrize(("latin", "cyrillic"), TRANSCRIBED)
def test_a_reading_of_the_latin_name_is_the_cyrillic_one(latin: str, cyrillic: str) -> None:
    assert soften(fold(cyrillic)) in {soften(fold(r)) for r in readings(latin)}
    written_latin, looked_latin = cross_script_keys(latin)
    written_cyrillic, looked_cyrillic = cross_script_keys(cyrillic)
    assert set(looked_cyrillic) & set(written_latin)
    assert set(looked_latin) & set(written_cyrillic)


def test_latin_names_never_meet_each_other_by_reading() -> None:
    written, _ = cross_script_keys("Giancarlo Giorgetti")
    _, looked = cross_script_keys("Giancarlo Dshordsheti")
    assert written and looked and not set(written) & set(looked)
    assert all(k.startswith("RL:") for k in written)
    assert all(k.startswith("RC:") for k in looked)


def test_one_word_names_and_other_scripts_have_no_readings() -> None:
    assert cross_script_keys("Giorgetti") == ([], [])
    assert cross_script_keys("Рютте") == ([], [])
    assert readings("Джорджетти") == frozenset()
    assert readings("Ελευθέριος Βενιζέλος") == frozenset()


def test_pinyin_rules_read_pinyin_names_only() -> None:
    # "Frier" read by the Palladius rules would be Фжиер, a skeleton of Фишер
    assert not any("zh" in r for r in readings("Adam Frier"))
    assert "si tszinpin" in readings("Xi Jinping")


def test_soften_drops_the_soft_sign_vowel_and_doubles() -> None:
    assert soften("liaien") == "laen"
    assert soften("riutte") == "rute"


@pytest.mark.parametrize(("a", "b", "fit"), [
    ("Giancarlo Giorgetti", "Джанкарло Джорджетти", True),
    ("Hansi Flick", "Гансі Флік", True),
    ("Jan Kowalczyk", "Ян Ковальчик", True),
    ("Xi Jinping", "Си Цзиньпин", True),
    ("Giorgetti", "Джанкарло Джорджетти", True),  # no given name: nothing against
    ("Giancarlo Giorgetti", "Массимо Джорджетти", False),
    ("Hansi Flick", "Ганна Флік", False),
])
def test_given_names_fit_across_scripts(a: str, b: str, fit: bool) -> None:
    assert given_names_fit(a, b) is fit
    assert given_names_fit(b, a) is fit


def test_skeletons_read_a_latin_surname_by_every_orthography() -> None:
    # in an English story "Kowalczyk" is still a Polish name (Ковальчик)
    assert surname_skeletons("Ковальчик") <= surname_skeletons("Kowalczyk", "en")
    # Spanish writes Russian х as j
    assert surname_skeletons("Тихановская") & surname_skeletons("Tijanóvskaya", "en")


@pytest.mark.parametrize(("a", "b", "alike"), [
    ("Poutine", "Putin", True), ("Путин", "Putin", True), ("Łukaszenka", "Lukashenka", True),
    ("Нетаниягу", "Netanyahu", True), ("Рютте", "Rutte", True),
    ("Tijanóvskaya", "Tsikhanouskaya", True),
    # skeletons agree (mlr; stpn when both are read), spellings do not
    ("Mueller", "Millar", False), ("Stephanie", "Catapani", False),
])
def test_surnames_alike_needs_more_than_the_consonants(a: str, b: str, alike: bool) -> None:
    assert surnames_alike(a, b) is alike


@pytest.mark.parametrize(("printed", "normal", "language", "nominative"), [
    # a foreign surname the morphology left in its given name's case
    ("Карлушем Моэдашем", "Карлуш Моэдашем", "ru", "Карлуш Моэдаш"),
    ("Карлосом Моэдасом", "Карлос Моэдасом", "ru", "Карлос Моэдас"),
    # a one-letter ending is no evidence: foreign surnames end in vowels
    ("Луису Гау", "Луис Гау", "ru", "Луис Гау"),
    # the surname already in the nominative, or read by the morphology
    ("Марком Рютте", "Марк Рютте", "ru", "Марк Рютте"),
    ("Дональдом Трампом", "Дональд Трамп", "ru", "Дональд Трамп"),
    # Ukrainian -ія names the Russian morphology leaves as printed
    ("Летицію", "Летицію", "uk", "Летиція"),
    ("Марією Примаченко", "Марією Примаченко", "uk", "Марія Примаченко"),
    ("Летицію", "Летицію", "ru", "Летицію"),  # not a Russian ending
    ("Марії", "Марія", "uk", "Марія"),  # the morphology read it: kept
])
def test_nominative_person_completes_the_morphology(printed: str, normal: str, language: str,
                                                    nominative: str) -> None:
    assert nominative_person(printed, normal, language) == nominative


def test_a_womans_accusative_read_as_a_mans_dative_looks_for_her_latin_name() -> None:
    assert feminine_given_readings("Джорджу Мелони", "Джордж Мелони") == ["Джорджа Мелони"]
    assert feminine_given_readings("Джорджу Мелоні", "Джордж Мелоні") == ["Джорджа Мелоні"]
    _, looked = cross_script_keys("Джорджа Мелони")
    written, _ = cross_script_keys("Giorgia Meloni")
    assert set(looked) & set(written)
    # the name as read still looks for its own reading; nothing to add when
    # the given name does not end so, or the name is Latin or one word
    assert feminine_given_readings("Марк Рютте", "Марк Рютте") == []
    assert feminine_given_readings("Летицію", "Летиція") == []
    assert feminine_given_readings("Giorgia Meloni", "Giorgia Meloni") == []
