"""Route choice over a backend's pair list: direct pairs, one pivot, ties."""

from __future__ import annotations

import pytest

from services.enrich._translation_routes import legs, plan_routes

# What Debian 12's Apertium packages give APy (GET /listPairs), trimmed.
DEBIAN = [
    ("spa", "eng"), ("spa", "eng_US"), ("eng", "spa"),
    ("cat", "eng"), ("cat", "eng_US"), ("eng", "cat"), ("eng", "cat_valencia"),
    ("por", "spa"), ("spa", "por"), ("spa", "por_BR"),
    ("ita", "spa"), ("spa", "ita"),
    ("fra", "spa"), ("spa", "fra"),
    ("ron", "spa"),
    ("glg", "eng"), ("eng", "glg"),
    ("hbs", "eng"), ("eng", "hbs_SR"),
    ("ukr", "rus"), ("rus", "ukr"),
]


def test_direct_pairs_and_one_pivot_through_spanish() -> None:
    routes = plan_routes(DEBIAN, "eng")
    assert routes == {
        "spa": "spa|eng", "cat": "cat|eng", "glg": "glg|eng", "hbs": "hbs|eng",
        "por": "por|spa|eng", "ita": "ita|spa|eng", "fra": "fra|spa|eng",
        "ron": "ron|spa|eng",
    }
    # Ukrainian reaches Russian only, which has no pair into English
    assert "ukr" not in routes and "rus" not in routes


def test_a_direct_pair_beats_any_pivot() -> None:
    pairs = [("por", "spa"), ("spa", "eng"), ("por", "eng")]
    assert plan_routes(pairs, "eng") == {"por": "por|eng", "spa": "spa|eng"}


def test_ties_prefer_the_plain_target_then_the_first_pivot() -> None:
    pairs = [("por", "spa"), ("spa", "eng_US"), ("por", "glg"), ("glg", "eng"),
             ("por", "cat"), ("cat", "eng")]
    assert plan_routes(pairs, "eng")["por"] == "por|cat|eng"
    # a variant target only when nothing ends in the plain one
    assert plan_routes([("por", "spa"), ("spa", "eng_US")], "eng") == {
        "por": "por|spa|eng_US", "spa": "spa|eng_US"}
    assert plan_routes([("spa", "eng_US"), ("spa", "eng")], "eng") == {"spa": "spa|eng"}


def test_variants_are_neither_sources_nor_pivots_and_two_pivots_are_too_many() -> None:
    pairs = [("cat_valencia", "eng"), ("por", "spa_x"), ("spa_x", "eng"),
             ("ron", "ita"), ("ita", "spa"), ("spa", "eng")]
    routes = plan_routes(pairs, "eng")
    assert routes == {"spa": "spa|eng", "ita": "ita|spa|eng"}
    assert plan_routes(pairs, "eng", max_legs=3)["ron"] == "ron|ita|spa|eng"


def test_other_targets_for_a_reader_of_that_language() -> None:
    assert plan_routes(DEBIAN, "rus") == {"ukr": "ukr|rus"}


def test_legs_of_a_route() -> None:
    assert legs("spa|eng") == ["spa|eng"]
    assert legs("por|spa|eng_US") == ["por|spa", "spa|eng_US"]
    with pytest.raises(ValueError):
        legs("spa")
    with pytest.raises(ValueError):
        legs("spa||eng")
