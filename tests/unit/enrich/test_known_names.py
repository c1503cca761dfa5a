# ruff: noqa: RUF001  (multilingual news text: Cyrillic letters are meant)
"""The gazetteer pass: names the registry knows, in any language."""

from __future__ import annotations

import pytest

from services.enrich.known_names import KnownNames, KnownNamesCache, is_form_of
from services.enrich.names import fold, name_key
from shared.errors import ServiceUnavailable


def _known(*names: tuple[str, str]) -> KnownNames:
    # registry keys are "TYPE:folded name"
    return KnownNames(tuple(name_key(n, t).split(":", 1)) for t, n in names)  # type: ignore[misc]


KNOWN = _known(("PERSON", "Donald Tusk"), ("PERSON", "Volodymyr Zelensky"),
               ("PERSON", "Alexander Lukashenko"), ("ORG", "Orlen"),
               ("PERSON", "Xi Jinping"), ("PERSON", "Vladimir Putin"))


@pytest.mark.parametrize(("text", "found"), [
    ("Premier Donald Tusk spotkał się w Kijowie", ["Donald Tusk"]),
    ("Rozmowa z Donaldem Tuskiem trwała godzinę", ["Donaldem Tuskiem"]),
    ("Wizyta Donalda Tuska w Berlinie", ["Donalda Tuska"]),
    ("Według Tuska to sukces", ["Tuska"]),
    ("spotkał się z Wołodymyrem Zełenskim", ["Wołodymyrem Zełenskim"]),
    ("Przemówienie Zełenskiego w Sejmie", ["Zełenskiego"]),
    ("встреча с Владимиром Зеленским", ["Владимиром Зеленским"]),
    ("Лукашенко заявил", ["Лукашенко"]),
    ("Koncern Orlen podał", ["Orlen"]),
    ("Xi Jinping przyjął", ["Xi Jinping"]),
    ("Путину сообщили", ["Путину"]),
])
def test_known_names_are_found_in_their_inflected_forms(text: str, found: list[str]) -> None:
    assert [text[a:b] for a, b, _, _ in KNOWN.find(text)] == found


def test_the_mention_carries_the_registry_form_so_it_keys_to_the_same_entity() -> None:
    text = "Wizyta Donalda Tuska w Berlinie"
    [(_, _, kind, name)] = KNOWN.find(text)
    assert kind == "PERSON"
    assert name_key(name, kind) == name_key("Donald Tusk", "PERSON")


@pytest.mark.parametrize("text", [
    "Natomiast rząd milczy",  # starts like nothing known
    "the tusk of an elephant",  # lower case is not a name
    "Tuskarora River",  # more than a case ending past the name
    "Xiaomi sprzedało telefony",  # a short name must match exactly
    "Putinversteher sind laut",  # far more than a case ending past the name
])
def test_words_that_merely_start_like_a_known_name_are_not_found(text: str) -> None:
    assert KNOWN.find(text) == []


def test_the_longest_known_name_wins_and_matches_do_not_overlap() -> None:
    names = _known(("ORG", "Jan Kowalski Foundation"), ("PERSON", "Jan Kowalski"))
    text = "Jan Kowalski Foundation, founded by Jan Kowalski"
    assert [text[a:b] for a, b, _, _ in names.find(text)] == ["Jan Kowalski Foundation",
                                                              "Jan Kowalski"]


def test_the_cache_reloads_after_its_age_and_keeps_the_old_index_while_redis_is_down() -> None:
    now = [0.0]
    loads: list[int] = []
    fail = [False]

    def load() -> KnownNames:
        if fail[0]:
            # what the registry adapter raises for any Redis fault
            raise ServiceUnavailable("down", reason="redis_unavailable")
        loads.append(1)
        return KNOWN

    cache = KnownNamesCache(load, max_age=60, clock=lambda: now[0])
    first = cache.current()
    now[0] = 30
    assert cache.current() is first and len(loads) == 1
    now[0] = 61
    fail[0] = True
    assert cache.current() is first  # kept while the registry is down
    fail[0] = False
    now[0] = 122
    cache.current()
    assert len(loads) == 2


def test_a_case_form_of_one_gender_is_not_a_form_of_the_other() -> None:
    def form(word: str, known: str) -> bool:
        return is_form_of(fold(word), fold(known))

    assert form("Zełenskiego", "Zełenski") and form("Zełenskiej", "Zełenska")
    assert form("Cichanouską", "Cichanouska") and form("Łukaszenki", "Łukaszenka")
    assert not form("Zełenskiego", "Zełenska") and not form("Zełenskiemu", "Zełenska")
    assert not form("Zełenskiej", "Zełenski") and not form("Зеленская", "Зеленский")
    # the man's nominative is no case form of the woman's name
    assert not form("Zełenski", "Zełenska") and not form("Зеленский", "Зеленская")
