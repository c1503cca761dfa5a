"""IPTC Media Topics: the shipped vocabulary, the rules and agency codes."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from services.enrich.topics import (
    TopicRules,
    _Keys,
    _keys,
    _pattern,
    classify,
    fold,
    load_rules,
    provider_topics,
)
from shared.errors import ConfigError
from shared.models import Entity, Subject, Translation, TranslationStatus
from tests.unit.test_shared import make_item

TOPICS_EN = Path(__file__).parents[3] / "bench" / "data" / "enrich" / "topics_en.jsonl"


@pytest.fixture(scope="module")
def rules() -> TopicRules:
    return load_rules()


def test_the_vocabulary_has_all_17_top_level_topics(rules: TopicRules) -> None:
    tops = {r.code for r in rules.rules if r.level == 1}
    assert tops == {f"medtop:{n:02d}000000" for n in range(1, 18)}
    assert rules.by_code["medtop:16000000"].label == "conflict, war and peace"
    children = [r for r in rules.rules if r.level == 2]
    assert len(children) > 60
    assert all(c.parent in tops for c in children)


def test_keywords_match_whole_words_with_explicit_prefixes() -> None:
    pattern = _pattern(["win", "elect*", "interest rate*"])
    assert pattern is not None
    assert pattern.findall(fold("They win. Elections and electoral interest  rates")) == [
        "win", "elections", "electoral", "interest  rates"]
    assert pattern.findall(fold("window winter reelection")) == []


def test_a_star_marks_a_prefix_inside_a_phrase_too() -> None:
    pattern = _pattern(["prisoner* of war", "свобод* слова"])
    assert pattern is not None
    text = fold("Prisoners of war were freed; свободы слова нет; prisoner of warfare")
    assert pattern.findall(text) == ["prisoners of war", "свободы слова"]


def test_keyword_first_words_skip_rules_without_a_chance() -> None:
    keys = _keys(["elect*", "cease-fire", "interest rate*", "'quoted"])
    assert keys.exact == {"cease", "interest"} and keys.prefixes == {"elect"}
    assert keys.always
    plain = _keys(["vote", "ballot*"])
    assert plain.may_match({"a", "vote"}, set())
    assert plain.may_match({"ballots"}, {"ballot"})
    assert not plain.may_match({"voter", "ballast"}, {"balla"})


def test_skipping_rules_changes_no_score(rules: TopicRules) -> None:
    """The first-word filter only saves regex scans: every document of the
    labelled topic set and of the benchmark corpus (five languages, with and
    without an English translation) gets the same topics as when every rule
    is scanned."""
    from bench.corpus import make_items

    scan_all = dataclasses.replace(rules, rules=[
        dataclasses.replace(r, keys={lang: _Keys(always=True) for lang in r.keys})
        for r in rules.rules])
    scan_all.by_code = {r.code: r for r in scan_all.rules}
    rows = [json.loads(line) for line in TOPICS_EN.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    cases = [(make_item(headline=r["headline"], body_text=r["lead"]), "en", None) for r in rows]
    for n, it in enumerate(make_items(40, seed=3, mix={"en": 0.3, "es": 0.3, "ru": 0.2,
                                                         "sw": 0.2})):
        english = (Translation(status=TranslationStatus.translated, headline=rows[n]["headline"],
                               body_text=rows[n]["lead"]) if it.language != "en" else None)
        cases.append((make_item(headline=it.headline, body_text=it.body), it.language, english))
    found = 0
    for item, language, english in cases:
        fast = classify(item, language, english, [], rules)
        assert fast == classify(item, language, english, [], scan_all), item.headline
        found += bool(fast)
    assert found > len(cases) // 2


def test_folding_matches_what_ignorecase_would() -> None:
    """Keywords match any case, including dotted capital I and final sigma."""
    pattern = _pattern(["istanbul", "εκλογές", "ВЫБОРЫ"])
    assert pattern is not None
    raw = "İSTANBUL, Istanbul; ΕΚΛΟΓΈΣ, Εκλογές and Выборы"
    assert len(pattern.findall(fold(raw))) == 5
    assert len(re.compile(pattern.pattern, re.IGNORECASE).findall(raw)) == 5


@pytest.mark.parametrize(
    ("headline", "body", "language", "top"),
    [
        ("Russian missiles hit Kyiv power plant", "Air defences shot down drones overnight.",
         "en", "medtop:16000000"),
        ("Fed holds interest rates as inflation cools", "Stocks rose on Wall Street.", "en",
         "medtop:04000000"),
        ("Voters go to the polls in snap election", "The coalition collapsed.", "en",
         "medtop:11000000"),
        ("Землетрясение магнитудой 6 произошло на Камчатке", "Угрозы цунами нет.", "ru",
         "medtop:03000000"),
        ("Huelga general por los salarios", "Los sindicatos convocan una huelga.", "es",
         "medtop:09000000"),
    ],
)
def test_rules_rank_the_right_top_level_first(
    rules: TopicRules, headline: str, body: str, language: str, top: str
) -> None:
    found = classify(make_item(headline=headline, body_text=body), language, None, [], rules)
    assert found[0].code == top
    assert found[0].origin == "rules"
    assert 0 < found[0].score < 1
    assert found == sorted(found, key=lambda t: -t.score)


def test_second_level_topics_come_with_their_parent(rules: TopicRules) -> None:
    found = classify(make_item(headline="Earthquake of magnitude 7 strikes off Japan",
                               body_text="A tsunami warning was issued."), "en", None, [], rules)
    codes = {t.code: t for t in found}
    assert codes["medtop:20000148"].parent == "medtop:03000000"
    assert "medtop:03000000" in codes


def test_the_english_translation_is_read_too(rules: TopicRules) -> None:
    item = make_item(headline="Kuvaton otsikko", body_text="Teksti")
    tr = Translation(status=TranslationStatus.translated,
                     headline="Earthquake kills dozens, rescue teams search rubble")
    found = classify(item, "fi", tr, [], rules)
    assert found and found[0].code == "medtop:03000000"


def test_entity_triggers_count(rules: TopicRules) -> None:
    item = make_item(headline="Statement", body_text="A short statement was published.")
    fifa = Entity(id="org-1", type="ORG", name="FIFA", variants=["FIFA"])
    assert classify(item, "en", None, [], rules) == []
    [sport] = classify(item, "en", None, [fifa, fifa.model_copy(update={"id": "org-2"})],
                       rules)
    assert sport.code == "medtop:15000000"


def test_nothing_topical_gives_no_topic(rules: TopicRules) -> None:
    assert classify(make_item(headline="Hello", body_text="Nothing here."), "en", None, [],
                    rules) == []


@pytest.mark.parametrize(
    ("subject", "code", "origin"),
    [
        (Subject(code="medtop:20000082", name="Kriminalität", scheme="medtop"),
         "medtop:20000082", "provider:medtop"),
        (Subject(code="http://cv.iptc.org/newscodes/mediatopic/15000000", name="Sport",
                 scheme="http://cv.iptc.org/newscodes/mediatopic/"),
         "medtop:15000000", "provider:medtop"),
        (Subject(code="13010000", name="Teknologi"), "medtop:20000756", "provider:subjectcode"),
        (Subject(code="04011000", name="Industri"), "medtop:04000000", "provider:subjectcode"),
        (Subject(code="subj:11003000", scheme="subj"), "medtop:20000574",
         "provider:subjectcode"),
        (Subject(code="http://tt.se/spec/subref/1.0/16000000",
                 scheme="http://tt.se/spec/subref/1.0/"), "medtop:16000000",
         "provider:subjectcode"),
    ],
)
def test_agency_codes_map_to_media_topics_and_keep_their_origin(
    rules: TopicRules, subject: Subject, code: str, origin: str
) -> None:
    [topic] = provider_topics([subject], rules)
    assert (topic.code, topic.origin, topic.source_code) == (code, origin, subject.code)
    assert topic.score == 1.0


def test_agency_codes_we_cannot_map_are_left_alone(rules: TopicRules) -> None:
    subjects = [Subject(code="dpacat:ku", scheme="dpacat"), Subject(code="i", name="Intl"),
                Subject(code="Innenriks")]
    assert provider_topics(subjects, rules) == []
    # beyond our rules' levels: placed by the IPTC vocabulary
    [deep] = provider_topics([Subject(code="medtop:20000350", name="Zentralbank",
                                      scheme="medtop")], rules)
    assert (deep.level, deep.label, deep.parent) == (3, "central bank", "medtop:20000344")
    # a code the vocabulary does not know either keeps the agency's name
    [unknown] = provider_topics([Subject(code="medtop:99999999", name="Odd",
                                         scheme="medtop")], rules)
    assert (unknown.level, unknown.label, unknown.parent) == (0, "Odd", None)


def test_a_broken_rules_file_fails_at_boot(tmp_path: Path) -> None:
    bad = tmp_path / "topics.yaml"
    bad.write_text("topics:\n  - label: no code\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_rules(bad)
