"""Agency subjects with their hierarchy and names (issue #18, item 6), from
the IPTC Media Topics vocabulary the project ships."""

from __future__ import annotations

from services.ingest.parsers._build import with_hierarchy
from shared.mediatopics import media_topics, subjectcode_parents
from shared.models import Subject


def _view(subjects: list[Subject]) -> list[tuple[str, str | None, str]]:
    return [(s.code, s.name, s.origin) for s in subjects]


def test_a_media_topic_gets_its_name_and_parents() -> None:
    out = with_hierarchy([Subject(code="medtop:20000189", scheme="medtop")], "de")
    assert _view(out) == [
        ("medtop:20000189", "Entlassung und Rationalisierung", "provider"),
        ("medtop:20000188", "Personal", "vocabulary"),
        ("medtop:20000170", "Firmeninformation", "vocabulary"),
        ("medtop:04000000", "Wirtschaft und Finanzen", "vocabulary"),
    ]


def test_the_agency_name_and_parents_it_sent_are_kept() -> None:
    sent = [Subject(code="http://cv.iptc.org/newscodes/mediatopic/20001065", name="Soccer",
                    scheme="medtop"),
            Subject(code="medtop:15000000", name="Sports", scheme="medtop")]
    out = with_hierarchy(sent, "en")
    assert out[:2] == sent
    codes = [s.code for s in out]
    assert codes.count("medtop:15000000") == 1 and "medtop:20000822" in codes


def test_a_subject_code_gets_parent_codes_and_its_media_topic() -> None:
    out = with_hierarchy([Subject(code="subj:15054001", scheme="subj")], "en")
    view = _view(out)
    assert view[:3] == [("subj:15054001", None, "provider"),
                        ("subj:15054000", None, "vocabulary"),
                        ("subj:15000000", None, "vocabulary")]
    medtops = [code for code, _, _ in view if code.startswith("medtop:")]
    assert medtops[0] == "medtop:20001065"  # football, which 15054000 maps to
    assert medtops[-1] == "medtop:15000000"


def test_codes_outside_iptc_are_left_alone() -> None:
    sent = [Subject(code="dpasubject:587", name="Bundestag", scheme="dpasubject"),
            Subject(code="medtop:99999999", scheme="medtop")]
    assert with_hierarchy(sent, "de") == sent


def test_the_vocabulary() -> None:
    vocabulary = media_topics()
    assert len(vocabulary) > 1300
    top = [vocabulary.get(f"medtop:{n:02d}000000") for n in range(1, 18)]
    assert all(t is not None and t.level == 1 and t.parent is None for t in top)
    football = vocabulary.get("medtop:20001065")
    assert football is not None
    assert (football.name("en"), football.name("en-US"), football.name("pt-BR")) == (
        "football", "soccer", "futebol")
    assert football.name("xx") == "football"
    assert subjectcode_parents("15054001") == ["15054000", "15000000"]
    assert subjectcode_parents("15000000") == []
