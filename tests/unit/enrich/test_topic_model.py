"""The learned topic model: training, files, refusal, swapping, and how its
topics combine with the rules'."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.enrich.topic_corpus import Example, fold_of, indexed_examples, seed_examples
from services.enrich.topic_model import (
    FEATURES,
    ModelError,
    TopicModel,
    TopicModelFile,
    document_text,
    load_model,
    save_model,
    train,
)
from services.enrich.topics import TopicRules, load_rules, with_model
from shared.models import TopicScore


@pytest.fixture(scope="module")
def corpus() -> list[Example]:
    return seed_examples()


@pytest.fixture(scope="module")
def small(corpus: list[Example]) -> TopicModel:
    # every 12th sentence: a few seconds to train, enough to learn sport
    sample = corpus[::12]
    return train([e.text for e in sample], [e.topic for e in sample], seed=3,
                 provenance={"languages": {"en": 1}})


@pytest.fixture(scope="module")
def rules() -> TopicRules:
    return load_rules()


def test_the_shipped_corpus_is_every_language_with_ten_topics(corpus: list[Example]) -> None:
    assert len(corpus) == 64393
    assert len({e.language for e in corpus}) == 16
    assert len({e.topic for e in corpus}) == 11
    assert all(e.topic.startswith("medtop:") and e.text for e in corpus)
    assert {fold_of(e.text, 5) for e in corpus[:500]} == set(range(5))


def test_training_is_deterministic_for_a_seed(corpus: list[Example], small: TopicModel
                                               ) -> None:
    sample = corpus[::12]
    again = train([e.text for e in sample], [e.topic for e in sample], seed=3)
    assert again.classes == small.classes and again.temperature == small.temperature
    assert np.array_equal(again.coef, small.coef)


def test_probabilities_are_a_distribution_and_read_any_language(small: TopicModel) -> None:
    texts = ["Manchester United beat Liverpool 2-1 in the Premier League match on Sunday.",
             "Der FC Bayern München gewann das Bundesliga-Spiel gegen Dortmund mit 3:1.",
             "O Benfica venceu o Sporting por 2-0 no campeonato nacional de futebol."]
    probabilities = small.probabilities(texts)
    assert probabilities.shape == (3, len(small.classes))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    for text in texts:
        assert small.ranked(text, 1)[0][0] == "medtop:15000000", text


def test_a_model_file_round_trips(tmp_path: Path, small: TopicModel) -> None:
    path = tmp_path / "m.npz"
    save_model(small, path)
    loaded = load_model(path)
    assert loaded.classes == small.classes and loaded.temperature == small.temperature
    assert np.array_equal(loaded.coef, small.coef)
    assert loaded.provenance == {"languages": {"en": 1}}
    assert not list(tmp_path.glob("*.tmp"))


def _rewrite(path: Path, small: TopicModel, **changes: object) -> None:
    meta = {"format": 1, "features": FEATURES, "classes": list(small.classes),
            "temperature": small.temperature, "provenance": {}}
    coef = changes.pop("coef", small.coef)
    meta.update(changes)
    with path.open("wb") as handle:
        np.savez_compressed(handle, coef=coef, intercept=small.intercept,
                            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))


@pytest.mark.parametrize(("change", "message"), [
    ({"format": 2}, "format 2"),
    ({"features": {**FEATURES, "char_bits": 16}}, "other features"),
    ({"classes": ["medtop:15000000"]}, "do not fit"),
    ({"temperature": 0}, "not positive"),
])
def test_a_model_file_that_does_not_fit_this_code_is_refused(
        tmp_path: Path, small: TopicModel, change: dict[str, object], message: str) -> None:
    path = tmp_path / "m.npz"
    _rewrite(path, small, **change)
    with pytest.raises(ModelError, match=message):
        load_model(path)


def test_a_missing_or_corrupt_model_file_is_refused(tmp_path: Path, small: TopicModel) -> None:
    with pytest.raises(ModelError, match="no such file"):
        load_model(tmp_path / "none.npz")
    broken = tmp_path / "broken.npz"
    save_model(small, broken)
    broken.write_bytes(broken.read_bytes()[:1000])
    with pytest.raises(ModelError, match="not a readable model file"):
        load_model(broken)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, coef=np.array([object()], dtype=object), intercept=small.intercept,
             meta=np.zeros(1, dtype=np.uint8))
    with pytest.raises(ModelError):  # object arrays would need pickle: never loaded
        load_model(pickled)


def test_the_model_file_is_swapped_when_it_changes_and_kept_when_broken(
        tmp_path: Path, small: TopicModel) -> None:
    now = [0.0]
    path = tmp_path / "m.npz"
    holder = TopicModelFile(path, check_seconds=10, clock=lambda: now[0])
    assert holder.current() is None and "no such file" in (holder.error or "")
    save_model(small, path)
    assert holder.current() is None  # not looked at again before check_seconds
    now[0] = 10
    first = holder.current()
    assert first is not None and holder.error is None
    other = TopicModel(small.classes, small.coef, small.intercept, 2.0, {"v": 2})
    save_model(other, path)
    now[0] = 20
    second = holder.current()
    assert second is not None and second.provenance == {"v": 2}
    path.write_bytes(b"not a model")
    now[0] = 30
    assert holder.current() is second and "not a readable model file" in (holder.error or "")


def test_document_text_reads_the_headline_twice_and_bounds_the_body() -> None:
    text = document_text("Title", "Lead.", "x" * 10_000)
    assert text.startswith("Title\nTitle\nLead.\n") and len(text) == FEATURES["text_chars"]


def _rule(code: str, score: float, rules: TopicRules, level: int = 1) -> TopicScore:
    rule = rules.by_code[code]
    return TopicScore(code=code, label=rule.label, score=score, level=level,
                      parent=rule.parent, origin="rules")


def test_the_model_decides_the_top_levels_it_knows(rules: TopicRules) -> None:
    probabilities = {"medtop:04000000": 0.7, "medtop:11000000": 0.25, "medtop:15000000": 0.05}
    found = [_rule("medtop:11000000", 0.8, rules)]  # the rules follow a minister's name
    topics = with_model(probabilities, found, rules, min_probability=0.2)
    assert [(t.code, t.origin) for t in topics] == [
        ("medtop:04000000", "model"), ("medtop:11000000", "model")]
    assert topics[0].score == 0.7


def test_model_politics_is_war_when_the_rules_say_conflict(rules: TopicRules) -> None:
    probabilities = {"medtop:11000000": 0.9, "medtop:04000000": 0.1}
    found = [_rule("medtop:16000000", 0.7, rules), _rule("medtop:11000000", 0.4, rules)]
    [topic] = [t for t in with_model(probabilities, found, rules, 0.2) if t.level == 1]
    assert (topic.code, topic.origin, topic.score) == ("medtop:16000000", "model+rules", 0.9)


def test_the_rules_add_top_levels_the_model_does_not_know(rules: TopicRules) -> None:
    probabilities = {"medtop:01000000": 0.6, "medtop:11000000": 0.3}
    child = next(r for r in rules.rules if r.parent == "medtop:12000000")
    found = [_rule("medtop:12000000", 0.8, rules),  # religion: no Wikinews category
             _rule("medtop:01000000", 0.5, rules),
             _rule(child.code, 0.6, rules, level=2)]
    topics = with_model(probabilities, found, rules, 0.2)
    assert [(t.code, t.origin) for t in topics if t.level == 1] == [
        ("medtop:12000000", "rules"), ("medtop:01000000", "model"), ("medtop:11000000", "model")]
    assert [t.code for t in topics if t.level == 2] == [child.code]


def test_indexed_documents_with_agency_codes_label_themselves() -> None:
    docs = [
        {"headline": "Rates", "body_text": "The bank raised rates.", "language": "en-GB",
         "topics": [{"code": "medtop:20000350", "level": 2, "parent": "medtop:04000000",
                     "origin": "provider:medtop"}]},
        {"headline": "Match", "language": "de",
         "topics": [{"code": "medtop:15000000", "level": 1, "origin": "provider:subjectcode"}]},
        {"headline": "No codes", "topics": [{"code": "medtop:11000000", "level": 1,
                                             "origin": "model"}]},
    ]
    examples = list(indexed_examples(docs))
    assert [(e.language, e.topic, e.origin) for e in examples] == [
        ("en", "medtop:04000000", "provider"), ("de", "medtop:15000000", "provider")]
    # with the section mapping, a story filed under a known section too
    from services.enrich.sections import load_sections

    filed = {"headline": "Derby", "body_text": "Bayern won.", "language": "de",
             "provider_keywords": ["Fußball"], "topics": []}
    agency_first = {**docs[0], "provider_keywords": ["Sport"]}
    labelled = list(indexed_examples([filed, agency_first, docs[2]], load_sections()))
    assert [(e.topic, e.origin) for e in labelled] == [
        ("medtop:15000000", "section"), ("medtop:04000000", "provider")]


def test_the_stage_takes_its_topics_from_the_model_file_and_keeps_it_when_it_breaks(
        tmp_path: Path, small: TopicModel, rules: TopicRules) -> None:
    from services.enrich.language import build_detector
    from services.enrich.stage import Models, enrich_items
    from tests.unit.test_shared import make_item

    path = tmp_path / "topics.npz"
    models = Models(language=build_detector(), topics=rules,
                    topic_model=TopicModelFile(path, check_seconds=0))
    story = make_item(id="s", headline="Liverpool beat Manchester United 2-1",
                      body_text="Liverpool beat Manchester United 2-1 in the Premier League "
                                "on Sunday, with two goals from their striker in the second "
                                "half of the football match.", language="en")
    [alone] = enrich_items([story], models)  # no model file yet: the rules alone
    assert alone.enrichment is not None
    assert {t.origin for t in alone.enrichment.topics} <= {"rules"}
    save_model(small, path)
    [learned] = enrich_items([story], models)
    assert learned.enrichment is not None
    first = learned.enrichment.topics[0]
    assert (first.code, first.origin) == ("medtop:15000000", "model")
    assert 0.2 <= first.score <= 1.0
    path.write_bytes(b"truncated")
    [kept] = enrich_items([story], models)
    assert kept.enrichment is not None
    assert kept.enrichment.topics[0].origin == "model"
    assert models.topic_model is not None and "not a readable" in (models.topic_model.error
                                                                   or "")


def test_an_operator_override_rule_comes_first_whatever_the_model_says(
        tmp_path: Path) -> None:
    from services.enrich.topics import classify
    from tests.unit.test_shared import make_item

    path = tmp_path / "topics.yaml"
    path.write_text(
        "topics:\n"
        "  - {code: 'medtop:12000000', label: religion, override: true,\n"
        "     keywords: {en: [pope, vatican]}}\n"
        "  - {code: 'medtop:11000000', label: politics, keywords: {en: [president]}}\n"
        "  - {code: 'medtop:04000000', label: economy}\n", encoding="utf-8")
    rules = load_rules(path)
    story = make_item(id="p", headline="Pope meets the president at the Vatican",
                      body_text="The pope and the president spoke.", language="en")
    found = classify(story, "en", None, [], rules)
    topics = with_model({"medtop:11000000": 0.8, "medtop:04000000": 0.2}, found, rules, 0.2)
    assert [(t.code, t.origin) for t in topics] == [
        ("medtop:12000000", "rules:override"), ("medtop:11000000", "model"),
        ("medtop:04000000", "model")]
    # a rule that does not fire overrides nothing
    quiet = make_item(id="q", headline="The president signs the budget", language="en")
    assert with_model({"medtop:11000000": 0.8}, classify(quiet, "en", None, [], rules),
                      rules, 0.2)[0].origin == "model"
