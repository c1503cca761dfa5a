"""Every fixture file goes through parse_document: a ParseResult or a typed
ParseError, never anything else; plus invariants every result must keep and
the ninjs version-mapping checks (the same items exist in 1.x, 2.x and 3.x)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from services.ingest.parsers import ParseResult
from shared.errors import ParseError
from shared.models import NewsItem, content_hash, item_id

from ._parsing import FETCHED_AT, FIXTURES, fixtures, parse_bytes

CORPUS_DIRS = ("feeds/valid", "feeds/illformed", "feeds/real", "ninjs", "newsml-g2")


def _corpus() -> list[str]:
    if FIXTURES is None:
        return ["<fixtures missing>"]
    files = [
        p.relative_to(FIXTURES).as_posix()
        for d in CORPUS_DIRS
        for p in sorted((FIXTURES / d).rglob("*"))
        if p.is_file() and p.name != "NOTICE"
    ]
    return files or ["<fixtures missing>"]


CORPUS = _corpus()
_MARKUP_RE = re.compile(r"<(?:p|div|br|span|a|img|script|style|b|i|strong|em|li|ul)\b[^>]*>", re.I)
_ENTITY_RE = re.compile(r"&(?:[a-z]{2,8}|#\d{2,6}|#x[0-9a-f]{2,6});", re.I)
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\u200b\ufeff]")


def _check_item(item: NewsItem) -> None:
    # validated model, deterministic id and hash, UTC dates, clean text
    NewsItem.model_validate(item.model_dump(mode="json"))
    assert item.content_hash == content_hash(item.headline, item.summary, item.body_text)
    if item.guid:
        assert item.id == item_id(item.source, item.guid)
    for value in (item.versioncreated, item.firstcreated, item.embargoed, item.fetched_at):
        if value is not None:
            assert value.utcoffset() == timedelta(0)
    assert item.versioncreated <= FETCHED_AT + timedelta(minutes=10)
    for text in (item.headline, item.summary or "", item.body_text or ""):
        assert not _CONTROL_RE.search(text), text[:200]
        assert not _MARKUP_RE.search(text), text[:200]
        assert "\n\n\n" not in text
        assert text == text.strip()
    assert "\n" not in item.headline
    if item.body_text:
        assert all(p.strip() for p in item.body_text.split("\n\n"))


@pytest.mark.parametrize("relpath", CORPUS)
def test_every_fixture_parses_or_raises_parse_error(relpath: str) -> None:
    root = fixtures()
    data = (root / relpath).read_bytes()
    try:
        result = parse_bytes(data)
    except ParseError as exc:
        assert exc.reason and exc.reason != "parse_error", "ParseError without a specific reason"
        return
    assert isinstance(result, ParseResult)
    ids = [item.id for item in result.items]
    assert len(ids) == len(set(ids)), "duplicate ids in one result"
    for item in result.items:
        _check_item(item)
    for error in result.errors:
        assert error.reason and error.message


def _parse_fixture(relpath: str, **kw: object) -> ParseResult:
    return parse_bytes((fixtures() / relpath).read_bytes(), **kw)  # type: ignore[arg-type]


def _comparable(item: NewsItem) -> dict[str, object]:
    data = item.model_dump(mode="json")
    return data


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("ninjs/v2/2.1_dpa_text.json", "ninjs/v3/3.0_dpa_text.json"),
        ("ninjs/v2/2.1_ntb_text.json", "ninjs/v3/3.0_ntb_text.json"),
        ("ninjs/v2/2.1_ap_image.json", "ninjs/v3/3.0_ap_image.json"),
        ("ninjs/v2/2.1_ap_video.json", "ninjs/v3/3.0_ap_video.json"),
        ("ninjs/v2/2.1_ap_audio.json", "ninjs/v3/3.0_ap_audio.json"),
        ("ninjs/v2/2.1_SIPA_image_2.json", "ninjs/v3/3.0_SIPA_image_3.json"),
        ("ninjs/v2/2.1_tt_text_image_2.json", "ninjs/v3/3.0_tt_text_image_3.json"),
        ("ninjs/v2/2.1_imageLinkedRights.json", "ninjs/v3/3.0_imageLinkedRights.json"),
        ("ninjs/v2/2.1_imageEncodedRights.json", "ninjs/v3/3.0_imageEncodedRights.json"),
        (
            "ninjs/v2/2.1_businesswire-newsml-20130605006126.json",
            "ninjs/v3/3.0_businesswire-newsml-20130605006126.json",
        ),
        (
            "ninjs/v1/1.4_businesswire-newsml-20130605006126.json",
            "ninjs/v2/2.1_businesswire-newsml-20130605006126.json",
        ),
        (
            "ninjs/v1/1.6_doc_005_complex_text_article.json",
            "ninjs/v2/2.2_doc_005_complex_text_article.json",
        ),
        (
            "ninjs/v2/2.2_doc_005_complex_text_article.json",
            "ninjs/v3/3.1_doc_005_complex_text_article.json",
        ),
        ("ninjs/v1/1.6_doc_007_multimedia.json", "ninjs/v2/2.2_doc_007_multimedia.json"),
        ("ninjs/v2/2.2_doc_007_multimedia.json", "ninjs/v3/3.1_doc_007_multimedia.json"),
    ],
)
def test_ninjs_versions_normalise_to_the_same_item(older: str, newer: str) -> None:
    a = _parse_fixture(older)
    b = _parse_fixture(newer)
    assert len(a.items) == len(b.items) == 1
    assert _comparable(a.items[0]) == _comparable(b.items[0])


def test_ninjs_3x_fields_are_read() -> None:
    item = _parse_fixture("ninjs/v3/3.0_ntb_text.json").items[0]
    assert item.versioncreated.isoformat() == "2019-08-09T09:46:53+00:00"
    assert (
        item.firstcreated is not None
        and item.firstcreated.isoformat() == "2019-08-09T09:30:04+00:00"
    )
    assert item.version == 6 and item.urgency == 5 and item.language == "nb-NO"
    assert item.rights is not None and item.rights.holder == "NTB"
    assert [s.code for s in item.subjects] == ["Innenriks", "13010000", "04011000", "04005000"]


def test_ninjs_rightsinfo_linked_and_encoded() -> None:
    linked = _parse_fixture("ninjs/v3/3.0_imageLinkedRights.json").items[0]
    encoded = _parse_fixture("ninjs/v3/3.0_imageEncodedRights.json").items[0]
    assert linked.rights is not None and linked.rights.linked_rights
    assert encoded.rights is not None and encoded.rights.encoded_rights


def test_ninjs_pubstatus_cancelled_spelling_is_a_kill() -> None:
    # the 1.0 test suite's "cancelled" (double l) is invalid ninjs but means a kill
    item = _parse_fixture("ninjs/invalid/1.0_should-fail_007_pubstatus_cancelled.json").items[0]
    assert item.pubstatus == "canceled"


def test_g2_message_skips_non_news_items_and_keeps_picture() -> None:
    result = _parse_fixture("newsml-g2/other-providers/TT_newsmlg2_sample_sv.xml")
    assert [i.type for i in result.items] == ["composite", "text", "picture"]
    assert result.feed.updated is not None  # header/sent


def test_g2_items_without_guid_are_errors_not_crashes() -> None:
    # LISTING_24 is a Guidelines sketch: "<newsItem guid="N1"> ..... </newsItem>"
    # and a packageItem without guid, headline or date
    result = _parse_fixture(
        "newsml-g2/iptc-examples/LISTING_24_News_Message_conveying_a_complete_News_Package.xml"
    )
    assert [i.guid for i in result.items] == ["N1", "N2", "N3", "N4"]
    assert [(e.index, e.reason) for e in result.errors] == [(0, "empty_item")]
    assert all("date_missing:feed" in i.ingest_flags for i in result.items)


@pytest.mark.parametrize(
    ("relpath", "reason"),
    [
        (
            "newsml-g2/iptc-examples/LISTING_07_Group_Set_example_showing_Hierarchical_Package_Structure.xml",
            "unknown_format",
        ),
        (
            "newsml-g2/iptc-examples/LISTING_25_An_NITF_marked-up_article_conveyed_in_inlineXML.xml",
            "unknown_format",
        ),
        (
            "newsml-g2/iptc-examples/LISTING_10_Abstract_Concept_conveyed_in_a_NewsML-G2_Concept_Item.xml",
            "unsupported_item_class",
        ),
        ("newsml-g2/iptc-examples/LISTING_17_Planning_Item_a_CCL.xml", "unsupported_item_class"),
        ("newsml-g2/schema/NewsML-G2_2.35-spec-All-Power.xsd", "unknown_format"),
        ("ninjs/invalid/1.0_should-fail_010_body_must_be_string.json", "json_syntax"),
        ("ninjs/schemas/ninjs-schema_3.0.json", "unknown_format"),
        ("feeds/illformed/illformed_rss_empty_document.xml", "unknown_format"),
        ("feeds/valid/rss2_entity_in_doctype.xml", "xml_entities"),
        ("feeds/valid/rss1_doctype_contains_entity_decl.xml", "xml_entities"),
    ],
)
def test_whole_document_refusals_have_specific_reasons(relpath: str, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        _parse_fixture(relpath)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "relpath",
    [
        "feeds/real/androidauthority_rss2_en_2019_BLANK-LINES-BEFORE-XMLDECL.xml",
        "feeds/real/uol-noticias_rss_pt-br_2018_UNDECLARED-LATIN1.rss",
    ],
)
def test_malformed_real_feeds_keep_recovered_items_with_bozo_warning(relpath: str) -> None:
    result = _parse_fixture(relpath)
    assert result.items, "feedparser recovered entries; they must be kept"
    assert any(w.startswith("bozo: ") for w in result.warnings)


def test_raw_ampersands_in_a_real_feed_keep_its_items_with_a_bozo_warning() -> None:
    # publishers do send them (a Guardian feed of 2022 had raw & in its
    # media:content urls): the Guardian US feed, its escaped & written raw
    data = (fixtures() / "feeds/real/guardian-us_rss2_en_2018.rss").read_bytes()
    raw = data.replace(b"&amp;", b"&")
    assert raw != data
    strict = parse_bytes(data)
    result = parse_bytes(raw)
    assert any(w.startswith("bozo: ") for w in result.warnings)
    assert [i.headline for i in result.items] == [i.headline for i in strict.items]


def test_truncated_real_feed_is_an_empty_result_with_warning() -> None:
    result = _parse_fixture("feeds/real/reuters-most-read_rss2_en_2020_TRUNCATED.xml")
    assert result.items == [] and result.errors == []
    assert result.feed.title and any(w.startswith("bozo: ") for w in result.warnings)


def test_undeclared_latin1_is_decoded() -> None:
    result = _parse_fixture("feeds/real/uol-noticias_rss_pt-br_2018_UNDECLARED-LATIN1.rss")
    text = " ".join(i.headline for i in result.items)
    assert "\ufffd" not in text and ("ç" in text or "ã" in text)


def test_uol_read_more_tail_is_cut() -> None:
    result = _parse_fixture(
        "feeds/real/uol-noticias_rss_pt-br_2018_UNDECLARED-LATIN1.rss", lang="pt-BR"
    )
    summaries = [i.summary or "" for i in result.items]
    assert any(s.endswith("além de senadores por São Paulo.") for s in summaries)
    assert not any("Leia mais" in s for s in summaries)


def test_odd_real_world_dates() -> None:
    # Italian day/month names, Portuguese abbreviations, "PM" clock, ISO in pubDate
    cases = {
        "feeds/real/ilmessaggero-mondo_rss2_it_2022.xml": "2022-11-15T23:38:15+00:00",
        "feeds/real/nbc-newyork_rss2_en_2023.xml": "2023-12-16T14:02:33+00:00",
        "feeds/real/qq-tech_rss2_zh_2018_gb2312.xml": "2018-09-19T05:11:22+00:00",
    }
    for relpath, expected in cases.items():
        item = _parse_fixture(relpath).items[0]
        assert item.versioncreated.isoformat() == expected, relpath
    uol = _parse_fixture("feeds/real/uol-noticias_rss_pt-br_2018_UNDECLARED-LATIN1.rss")
    assert uol.items[0].versioncreated.isoformat() == "2018-09-24T22:42:40+00:00"


def test_feed_meta_for_the_poller() -> None:
    aif = _parse_fixture("feeds/real/aif_rss2_ru_2019.xml")
    assert aif.feed.ttl == 24 and aif.feed.language == "ru-RU"
    assert (
        aif.feed.updated is not None and aif.feed.updated.isoformat() == "2019-05-18T07:58:46+00:00"
    )
    # every RSS element in a default namespace, the ttl still read
    oren = _parse_fixture("feeds/real/oren-ru_rss2_ru_2014_windows-1251.xml")
    assert oren.feed.ttl == 30


def test_source_language_hint_applies_only_when_undeclared() -> None:
    declared = _parse_fixture("feeds/real/jn-ultimas_rss2_pt_2018_iso-8859-1.rss", lang="fr")
    assert {i.language for i in declared.items} == {"pt-PT"}
    undeclared = _parse_fixture("feeds/real/oren-ru_rss2_ru_2014_windows-1251.xml", lang="ru")
    assert {i.language for i in undeclared.items} == {"ru"}
    no_hint = _parse_fixture("feeds/real/oren-ru_rss2_ru_2014_windows-1251.xml")
    assert {i.language for i in no_hint.items} == {None}


def test_fixture_root_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from . import _parsing

    monkeypatch.setenv("WIRESTREAM_FIXTURES", str(tmp_path))
    assert _parsing.fixtures_root() == tmp_path.resolve()
    monkeypatch.setenv("WIRESTREAM_FIXTURES", str(tmp_path / "absent"))
    assert _parsing.fixtures_root() is None
    monkeypatch.delenv("WIRESTREAM_FIXTURES")
    # a fresh clone carries its own
    assert _parsing.fixtures_root() == (_parsing.REPO / "tests" / "fixtures").resolve()


def test_every_carried_fixture_has_its_provenance() -> None:
    root = _parsing_root()
    provenance = (root / "PROVENANCE.md").read_text(encoding="utf-8")
    carried = [p for p in root.rglob("*")
               if p.is_file() and p.name not in ("README.md", "PROVENANCE.md", "NOTICE")]
    assert len(carried) > 300
    for path in carried:
        assert f"| `{path.name}` |" in provenance, path


def _parsing_root() -> Path:
    from . import _parsing

    return _parsing.REPO / "tests" / "fixtures"
