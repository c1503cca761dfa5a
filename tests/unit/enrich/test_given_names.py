# ruff: noqa: RUF001  (multilingual news text: Cyrillic letters are meant)
"""People found by their given name (services.enrich.given_names), on the
table shipped in the gender-guesser package."""

from __future__ import annotations

import pytest

from services.enrich.given_names import GivenNames, load_given_names


@pytest.fixture(scope="module")
def given() -> GivenNames:
    return load_given_names()


def found(given: GivenNames, text: str, language: str, **kw: object) -> list[str]:
    return [text[a:b] for a, b in given.find(text, language, **kw)]  # type: ignore[arg-type]


def test_a_given_name_and_a_surname_are_a_person_in_any_case_form(given: GivenNames) -> None:
    text = ("Prezydent Ukrainy Wołodymyr Zełenski spotkał się z premierem Donaldem Tuskiem "
            "i ze Swiatłaną Cichanouską.")
    assert found(given, text, "pl") == ["Wołodymyr Zełenski", "Donaldem Tuskiem",
                                        "Swiatłaną Cichanouską"]


def test_particles_stay_inside_and_joiners_end_the_name(given: GivenNames) -> None:
    text = ("O Presidente Recep Tayyip Erdoğan falou com Marcelo Rebelo de Sousa e Felipe VI "
            "y Letizia.")
    assert found(given, text, "pt") == ["Recep Tayyip Erdoğan", "Marcelo Rebelo de Sousa",
                                        "Felipe VI"]


def test_another_script_matches_by_the_folded_key(given: GivenNames) -> None:
    assert found(given, "Президент Володимир Зеленський і Олена Зеленська.", "uk") == [
        "Володимир Зеленський", "Олена Зеленська"]


def test_case_forms_count_only_in_languages_that_inflect_names(given: GivenNames) -> None:
    assert found(given, "Spotkanie z Donaldem Tuskiem.", "pl") == ["Donaldem Tuskiem"]
    assert found(given, "Encontro com Donaldem Tuskiem.", "pt") == []


def test_what_is_not_a_person(given: GivenNames) -> None:
    # one word alone; an acronym after the name; a sentence's first word in
    # a case form; a word the text also writes in lower case; a place
    assert found(given, "Disse Marcelo.", "pt") == []
    assert found(given, "Армія РФ атакувала.", "uk") == []
    assert found(given, "Заява Умєрова прозвучала вчора.", "uk") == []
    text = "Rosa Parks e a rosa vermelha."
    assert found(given, text, "pt") == []
    assert found(given, "Em Santa Catarina e São Paulo.", "pt",
                 is_place=lambda run: run in ("São Paulo",)) == []
