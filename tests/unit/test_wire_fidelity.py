"""The wire-fidelity benchmark's judging rules (bench/wire_fidelity.py)."""

from __future__ import annotations

from bench import wire_fidelity as wf


def test_the_pairs_are_the_agency_forms_carried_in_tests_fixtures() -> None:
    names = [name for name, _, _ in wf.pairs()]
    assert len(names) == 28
    assert sum(n.startswith("dpa ") for n in names) == 10


def test_a_body_agrees_when_the_words_are_alike_both_ways_or_ours_hold_an_excerpt() -> None:
    story = " ".join(f"word{i}" for i in range(100))
    assert wf._alike(story, story.replace("word5 ", "")) is True
    assert wf._alike(story + " extra" * 30, story) is False  # ours has a third more
    assert wf._alike(story, " ".join(story.split()[:20])) is True  # an excerpt of ours
    assert wf._alike(story, "other " * 20) is False


def test_bylines_compare_without_by_and_agency() -> None:
    assert wf._byline("Von Christian Hollmann, dpa") == "Christian Hollmann"
    assert wf._byline("By ASHOK SHARMA") == "ASHOK SHARMA"
    assert wf._byline(None) is None


def test_every_field_of_a_dpa_item_is_judged() -> None:
    tally = wf.Tally()
    name, path, reference = next(p for p in wf.pairs() if p[0] == "dpa eil")
    wf.compare(name, path, reference(), tally)
    assert tally.total["headline"] == tally.agree["headline"] == 1
    assert {"versioncreated", "urgency", "language", "uri", "byline"} <= set(tally.total)
