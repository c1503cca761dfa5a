"""Section signals: the publisher's sections as Media Topics, and how they
weigh on the topic model's choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.enrich.sections import item_sections, load_sections, section_topics
from services.enrich.topics import TopicRules, load_rules, with_model, with_sections
from shared.errors import ConfigError
from tests.unit.test_shared import make_item

SPORT, ECONOMY, POLITICS, LIFESTYLE = ("medtop:15000000", "medtop:04000000",
                                       "medtop:11000000", "medtop:10000000")


@pytest.fixture(scope="module")
def rules() -> TopicRules:
    return load_rules()


def test_sections_come_from_feed_categories_and_the_url_path() -> None:
    sections = load_sections()
    item = make_item(id="a", headline="x", body_text="y")
    item = item.model_copy(update={
        "provider_keywords": ["Premier League", "Football", "Tottenham Hotspur"],
        "url": "https://www.example.com/business/2018/feb/01/story"})
    assert item_sections(item)[:3] == ["premier league", "football", "tottenham hotspur"]
    assert section_topics(item, sections) == [(SPORT, "football"), (ECONOMY, "business")]
    # "-" and "_" are spaces; names are whole (no "sport" in "transport")
    other = item.model_copy(update={"provider_keywords": ["Transport"],
                                    "url": "https://www.lemonde.fr/police-justice/a.html"})
    assert section_topics(other, sections) == [("medtop:02000000", "police justice")]


def test_a_source_s_own_section_names_win(tmp_path: Path) -> None:
    path = tmp_path / "sections.yaml"
    path.write_text("topics:\n  medtop:15000000: [sport]\n"
                    "sources:\n  jn:\n    medtop:04000000: [sport]\n", encoding="utf-8")
    sections = load_sections(path)
    item = make_item(id="a", headline="x").model_copy(update={"provider_keywords": ["Sport"]})
    assert section_topics(item, sections) == [(SPORT, "sport")]
    own = item.model_copy(update={"source": "jn"})
    assert section_topics(own, sections) == [(ECONOMY, "sport")]


@pytest.mark.parametrize(("text", "problem"), [
    ("topics:\n  sport: [sport]\n", "not a Media Topic code"),
    ("topics:\n  medtop:15000000: [sport]\n  medtop:04000000: [Sport]\n", "maps to"),
    ("prior: 0.5\ntopics: {}\n", "prior must be"),
    ("topics: {}\nsources: [a]\n", "sources must map"),
])
def test_a_broken_mapping_is_refused_at_boot(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "sections.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        load_sections(path)


def test_a_section_makes_its_topic_likelier_for_the_model(rules: TopicRules) -> None:
    probabilities = {POLITICS: 0.5, ECONOMY: 0.3, SPORT: 0.2}
    [top, *_] = with_model(probabilities, [], rules, 0.2, [ECONOMY], prior=6.0)
    # 0.3 x 6 against 0.5: economy now leads, the scores a distribution again
    assert (top.code, top.origin) == (ECONOMY, "model+section")
    assert top.score == pytest.approx(1.8 / 2.5, abs=1e-4)


def test_a_section_stands_for_a_topic_the_model_lacks(rules: TopicRules) -> None:
    topics = with_model({POLITICS: 0.9, SPORT: 0.1}, [], rules, 0.2, [LIFESTYLE],
                        section_score=0.6)
    assert [(t.code, t.origin) for t in topics] == [(POLITICS, "model"),
                                                    (LIFESTYLE, "section")]
    # without a model, the rules' topics and the section's
    alone = with_sections([], [LIFESTYLE, SPORT], rules, 0.6)
    assert {(t.code, t.origin) for t in alone} == {(LIFESTYLE, "section"), (SPORT, "section")}


def test_unmapped_section_names_are_suggested_with_their_usual_topic() -> None:
    from services.enrich.sections import suggestions

    def doc(keywords: list[str], topic: str, url: str | None = None) -> dict[str, object]:
        return {"provider_keywords": keywords, "url": url, "source": "feed",
                "topics": [{"code": topic, "level": 1}]}

    docs = ([doc(["Desportos"], SPORT) for _ in range(4)] + [doc(["Desportos"], POLITICS)]
            + [doc(["Football"], SPORT) for _ in range(6)]  # mapped already
            + [doc([], ECONOMY, "https://x.example/mercado/a") for _ in range(2)])
    assert suggestions(docs, load_sections(), least=2) == [
        ("desportos", 5, SPORT, 0.8), ("a", 2, ECONOMY, 1.0), ("mercado", 2, ECONOMY, 1.0)]


def test_an_article_page_s_json_ld_section_is_its_section() -> None:
    from datetime import UTC, datetime

    from services.ingest.parsers import SourceRef, parse_document

    page = ('<html><head><title>Derby</title><script type="application/ld+json">'
            '{"@context": "https://schema.org", "@type": "NewsArticle", '
            '"headline": "Bayern win the derby", "articleSection": "Sport", '
            '"datePublished": "2024-05-01T10:00:00Z"}</script></head><body><article>'
            '<h1>Bayern win the derby</h1><p>'
            + "Bayern Munich won the derby against 1860 on Saturday. " * 8
            + "</p></article></body></html>")
    [item] = parse_document(page.encode(), source=SourceRef(id="x"),
                            fetched_at=datetime.now(UTC), fmt="html").items
    assert section_topics(item, load_sections()) == [(SPORT, "sport")]
