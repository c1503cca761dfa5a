"""Edge cases of parse_document: sizes, duplicates, empties, wrong formats,
date rules, one bad entry among good ones, and mutated real documents."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from services.ingest.parsers import SourceRef, detect_format, parse_document
from shared.errors import ParseError
from shared.models import PubStatus, item_id

from ._parsing import FETCHED_AT, fixtures, parse_bytes, parse_mutations


def _rss(items: str, channel: str = "<title>Test feed</title>") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"{channel}{items}</channel></rss>"
    ).encode()


def _item(guid: str | None, title: str, date: str | None = None, link: str | None = None) -> str:
    parts = [f"<title>{title}</title>"]
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    if link is not None:
        parts.append(f"<link>{link}</link>")
    return "<item>" + "".join(parts) + "</item>"


def test_duplicate_guids_keep_the_newest_and_warn() -> None:
    data = _rss(
        _item("dup", "Old version", "Mon, 01 Jan 2024 10:00:00 GMT")
        + _item("other", "Other story", "Mon, 01 Jan 2024 11:00:00 GMT")
        + _item("dup", "New version", "Mon, 01 Jan 2024 12:00:00 GMT")
    )
    result = parse_bytes(data)
    assert [i.headline for i in result.items] == ["Other story", "New version"]
    assert result.errors == []
    assert [w.split(":")[0] for w in result.warnings] == ["duplicate_id"]
    assert "entry 0" in result.warnings[0]


def test_tracking_parameters_do_not_make_two_items() -> None:
    data = _rss(
        _item(None, "A", link="https://example.org/story?utm_source=rss")
        + _item(None, "A", link="https://EXAMPLE.org/story#comments")
    )
    result = parse_bytes(data)
    assert len(result.items) == 1
    assert result.items[0].canonical_url == "https://example.org/story"
    assert result.items[0].id == item_id("test", "url:https://example.org/story")


def test_ten_thousand_items() -> None:
    items = "".join(
        _item(
            f"id-{i}",
            f"Item number {i}",
            "Wed, 31 Jan 2018 07:26:05 GMT",
            f"https://example.org/{i}",
        )
        for i in range(10_000)
    )
    started = time.monotonic()
    result = parse_bytes(_rss(items))
    elapsed = time.monotonic() - started
    assert len(result.items) == 10_000 and result.errors == [] and result.warnings == []
    assert len({i.id for i in result.items}) == 10_000
    assert result.items[9999].headline == "Item number 9999"
    assert elapsed < 120, f"10,000 items took {elapsed:.1f}s"


def test_item_of_several_megabytes() -> None:
    paragraph = "<p>" + ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 40) + "</p>"
    body = paragraph * 2500  # ~5.8 MB of HTML
    data = _rss(
        f"<item><guid>big</guid><title>Big</title><description><![CDATA[{body}]]></description></item>"
        + _item("small", "Small", "Mon, 01 Jan 2024 12:00:00 GMT")
    )
    assert len(data) > 5_000_000
    # over the default bound (1,000,000 characters): refused alone, recorded
    result = parse_bytes(data)
    assert [i.guid for i in result.items] == ["small"]
    assert [(e.guid, e.reason) for e in result.errors] == [("big", "item_too_large")]
    # an operator who allows more gets it whole, paragraphs kept
    result = parse_bytes(data, max_item_chars=10_000_000)
    big = next(i for i in result.items if i.guid == "big")
    assert big.summary is not None and len(big.summary) > 5_000_000
    assert big.summary.count("\n\n") == 2499
    assert [i.guid for i in result.items] == ["big", "small"]


def test_empty_feed() -> None:
    result = parse_bytes(_rss("", "<title>Nothing today</title><ttl>15</ttl>"))
    assert result.items == [] and result.errors == []
    assert result.feed.title == "Nothing today" and result.feed.ttl == 15


def test_skip_hours_and_days() -> None:
    channel = (
        "<title>t</title><skipHours><hour>0</hour><hour>23</hour><hour>24</hour><hour>x</hour>"
        "</skipHours><skipDays><day>Sunday</day><day>saturday</day><day>Funday</day></skipDays>"
    )
    feed = parse_bytes(_rss("", channel)).feed
    assert feed.skip_hours == [0, 23]
    assert feed.skip_days == ["Saturday", "Sunday"]


@pytest.mark.parametrize("data", [b"", b"   \n\t", b"\xef\xbb\xbf", b"\x00\x00"])
def test_empty_document(data: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_bytes(data)
    assert info.value.reason == "empty_document"


@pytest.mark.parametrize(
    "data", [b"plain text, no markup", b"%PDF-1.4 binary", b"\x89PNG\r\n\x1a\n"]
)
def test_unknown_format(data: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_bytes(data)
    assert info.value.reason == "unknown_format"


HTML_ERROR_PAGE = b"""<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>
<body><h1>Service Unavailable</h1><p>Try again later.</p></body></html>"""


def test_html_served_as_a_feed_is_detected_by_content() -> None:
    result = parse_bytes(HTML_ERROR_PAGE, content_type="application/rss+xml; charset=utf-8")
    assert result.format == "html"
    assert any(w.startswith("content_type_mismatch:") for w in result.warnings)
    assert result.items == []
    assert [e.reason for e in result.errors] == ["no_article_content"]


def test_html_forced_as_rss_is_a_format_mismatch() -> None:
    with pytest.raises(ParseError) as info:
        parse_bytes(HTML_ERROR_PAGE, fmt="rss", content_type="application/rss+xml")
    assert info.value.reason == "format_mismatch"


def test_forced_formats() -> None:
    atom_as_rss = parse_bytes(
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id><title>T</title></entry></feed>',
        fmt="rss",
    )
    assert atom_as_rss.format == "atom" and len(atom_as_rss.items) == 1
    with pytest.raises(ParseError) as info:
        parse_bytes(b'{"uri": "urn:x"}', fmt="newsml-g2")
    assert info.value.reason == "format_mismatch"
    with pytest.raises(ValueError):
        parse_bytes(b"<rss/>", fmt="rss3")


def test_detect_format() -> None:
    assert detect_format(b'\xef\xbb\xbf<?xml version="1.0"?><rss version="2.0"/>') == "rss"
    assert detect_format("<rss/>".encode("utf-16")) == "rss"
    assert detect_format(b"<!-- c --><rdf:RDF xmlns:rdf='x'/>") == "rss"
    assert detect_format(b"<newsMessage/>") == "newsml-g2"
    assert (
        detect_format(b'  {"version": "https://jsonfeed.org/version/1.1", "items": []}')
        == "jsonfeed"
    )
    assert detect_format(b'{"data": {"items": [{"item": {"uri": "urn:x"}}]}}') == "ninjs"
    assert detect_format(b"<!doctype html><title>x</title>") == "html"
    assert (
        detect_format(b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>')
        == "sitemap"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"uri": "x", "version": ' + b"9" * 10_000 + b"}",
        b'{"a": ',
    ],
)
def test_hostile_json(data: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_bytes(data)
    assert info.value.reason in ("json_syntax", "unknown_format")


def test_one_bad_ninjs_entry_never_drops_the_rest() -> None:
    doc = {
        "items": [
            {
                "uri": "urn:ok:1",
                "headlines": [{"value": "One"}],
                "versioncreated": "2024-01-01T10:00:00Z",
            },
            "not an object",
            {
                "uri": "urn:ok:2",
                "headline": "Two",
                "version": "x",
                "urgency": True,
                "subjects": "nope",
            },
            {"uri": "urn:event:1", "type": "event", "title": "A conference"},
            {"no": "uri"},
        ]
    }
    result = parse_bytes(json.dumps(doc).encode())
    assert [i.headline for i in result.items] == ["One", "Two"]
    assert [(e.index, e.reason) for e in result.errors] == [
        (1, "invalid_item"),
        (4, "invalid_item"),
    ]
    assert any(w.startswith("skipped_type:") for w in result.warnings)
    two = result.items[1]
    assert two.version == 1 and two.urgency is None and two.subjects == []


def test_one_empty_rss_item_never_drops_the_rest() -> None:
    data = _rss(_item("a", "First") + "<item></item>" + _item("c", "Third"))
    result = parse_bytes(data)
    assert [i.guid for i in result.items] == ["a", "c"]
    assert [(e.index, e.reason) for e in result.errors] == [(1, "empty_item")]


def test_date_rules() -> None:
    future = (FETCHED_AT + timedelta(days=2)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    near_future = (FETCHED_AT + timedelta(minutes=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    channel = "<title>t</title><lastBuildDate>Mon, 01 Jan 2024 08:00:00 GMT</lastBuildDate>"
    data = _rss(
        _item("future", "F", future)
        + _item("near", "N", near_future)
        + _item("missing", "M")
        + _item("ancient", "A", "Thu, 01 Jan 1920 00:00:00 GMT")
        + _item("garbage", "G", "sometime next week"),
        channel,
    )
    items = {i.guid: i for i in parse_bytes(data).items}
    assert items["future"].versioncreated == FETCHED_AT
    assert items["future"].ingest_flags == ["date_future_clamped"]
    assert items["near"].ingest_flags == [] and items["near"].versioncreated > FETCHED_AT
    assert items["missing"].versioncreated == datetime(2024, 1, 1, 8, tzinfo=UTC)
    assert items["missing"].ingest_flags == ["date_missing:feed"]
    assert items["ancient"].ingest_flags == ["date_implausible", "date_missing:feed"]
    assert items["garbage"].ingest_flags == ["date_missing:feed"]
    no_feed_date = parse_bytes(_rss(_item("m", "M"))).items[0]
    assert no_feed_date.versioncreated == FETCHED_AT
    assert no_feed_date.ingest_flags == ["date_missing:fetched"]


def test_identity_without_guid_or_link_is_stable_across_polls() -> None:
    data = _rss(_item(None, "No id, no link", "Mon, 01 Jan 2024 12:00:00 GMT"))
    first = parse_document(data, source=SourceRef(id="s"), fetched_at=FETCHED_AT)
    later = parse_document(
        data, source=SourceRef(id="s"), fetched_at=FETCHED_AT + timedelta(hours=5)
    )
    assert first.items[0].id == later.items[0].id
    assert first.items[0].uri.startswith("urn:wirestream:s:")
    undated = _rss(_item(None, "No date either"))
    a = parse_document(undated, source=SourceRef(id="s"), fetched_at=FETCHED_AT)
    b = parse_document(undated, source=SourceRef(id="s"), fetched_at=FETCHED_AT + timedelta(days=1))
    assert a.items[0].id == b.items[0].id
    assert a.items[0].versioncreated != b.items[0].versioncreated  # fetched_at fallback


def test_relative_links_use_the_base_url() -> None:
    data = _rss(_item("g", "T", link="/news/2024/story.html?utm_medium=rss"))
    item = parse_bytes(data, base_url="https://www.example.org/feeds/rss.xml").items[0]
    assert item.url == "https://www.example.org/news/2024/story.html?utm_medium=rss"
    assert item.canonical_url == "https://www.example.org/news/2024/story.html"
    no_base = parse_bytes(data).items[0]
    assert no_base.url is None and no_base.canonical_url is None


def test_http_charset_applies_to_undeclared_xml() -> None:
    xml = (
        '<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="g" version="2">'
        "<itemMeta><versionCreated>2024-01-01T00:00:00Z</versionCreated>"
        '<pubStatus qcode="stat:canceled"/></itemMeta>'
        "<contentMeta><headline>Grüße aus Köln</headline></contentMeta></newsItem>"
    ).encode("iso-8859-1")
    item = parse_bytes(xml, content_type="text/xml; charset=ISO-8859-1").items[0]
    assert item.headline == "Grüße aus Köln"
    assert item.pubstatus == PubStatus.canceled and item.version == 2
    with pytest.raises(ParseError) as info:  # without the header: not UTF-8
        parse_bytes(xml)
    assert info.value.reason == "xml_syntax"


def test_g2_without_namespace_and_embargo() -> None:
    xml = b"""<newsItem guid="urn:x:1" version="3" xml:lang="fr">
      <itemMeta><itemClass qcode="ninat:text"/>
        <versionCreated>2024-05-01T10:00:00+02:00</versionCreated>
        <embargoed>2030-01-01T00:00:00Z</embargoed><pubStatus qcode="stat:withheld"/></itemMeta>
      <contentMeta><headline>Titre</headline><keyword>mot</keyword>
        <subject type="cpnat:person" qcode="p:1"><name>Jeanne</name></subject></contentMeta>
    </newsItem>"""
    item = parse_bytes(xml).items[0]
    assert item.language == "fr" and item.version == 3
    assert item.pubstatus == PubStatus.withheld
    assert item.embargoed == datetime(2030, 1, 1, tzinfo=UTC)  # embargoes are never clamped
    assert item.versioncreated == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert item.provider_keywords == ["mot"]
    assert [(p.name, p.code, p.scheme) for p in item.people] == [("Jeanne", "p:1", "p")]


MUTATION_SOURCES = [
    "feeds/real/guardian-us_rss2_en_2018.rss",
    "feeds/real/heise-developer_atom_de_2016.atom",
    "feeds/valid/jsonfeed_example.json",
    "ninjs/v3/3.0_tt_text_image_3.json",
    "newsml-g2/other-providers/TT_newsmlg2_sample_sv.xml",
    "newsml-g2/dpa-digitalwires/with_infobox.newsmlg2.xml",
]


@pytest.mark.parametrize("relpath", MUTATION_SOURCES)
def test_mutated_documents_never_raise_anything_but_parse_error(relpath: str) -> None:
    parse_mutations((fixtures() / relpath).read_bytes(), relpath, 25)


def test_json_feed_1_1() -> None:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Desk",
        "home_page_url": "https://desk.example/",
        "language": "en-us",
        "authors": [{"name": "Desk staff"}],
        "items": [
            {
                "id": 42,
                "url": "https://desk.example/a?utm_source=json",
                "title": "Numeric id",
                "summary": "Short summary.",
                "content_html": "<p>Body one.</p><p>Share this article</p><p>Partager</p>",
                "date_published": "2024-02-01T10:00:00-05:00",
                "date_modified": "2024-02-01T12:00:00-05:00",
                "tags": ["politics", "politics", " "],
                "authors": [{"name": "A. Writer"}, {"name": "B. Writer"}],
                "language": "fr-CA",
            },
            {"external_url": "https://elsewhere.example/b", "content_text": "Only text.\n\nTwo."},
            {"title": "nothing else"},
        ],
    }
    result = parse_bytes(json.dumps(feed).encode())
    assert result.format == "jsonfeed" and result.format_version == "1.1"
    assert result.feed.language == "en-US" and result.feed.link == "https://desk.example/"
    first, second, third = result.items
    assert (
        first.guid == "42" and first.byline == "A. Writer, B. Writer" and first.language == "fr-CA"
    )
    # the item is French: French rules apply, the English share line is kept
    assert first.body_text == "Body one.\n\nShare this article"
    assert first.versioncreated == datetime(2024, 2, 1, 17, tzinfo=UTC)
    assert first.firstcreated == datetime(2024, 2, 1, 15, tzinfo=UTC)
    assert first.provider_keywords == ["politics"]
    assert second.url == "https://elsewhere.example/b" and second.body_text == "Only text.\n\nTwo."
    assert second.byline == "Desk staff" and second.language == "en-US"
    assert third.guid is None and third.uri.startswith("urn:wirestream:test:")


def test_ninjs_wrappers() -> None:
    ap_style = {"data": {"items": [{"item": {"uri": "urn:a:1", "headline": "One"}}, {"meta": {}}]}}
    result = parse_bytes(json.dumps(ap_style).encode())
    assert [i.guid for i in result.items] == ["urn:a:1"]
    assert [e.reason for e in result.errors] == ["invalid_item"]
    as_list = [{"uri": "urn:b:1", "headline": "B1"}, {"uri": "urn:b:2", "headline": "B2"}]
    assert len(parse_bytes(json.dumps(as_list).encode()).items) == 2
    empty = parse_bytes(b'{"items": []}')
    assert empty.format == "ninjs" and empty.items == [] and empty.errors == []


def test_html_charsets() -> None:
    text = "Новости дня: " + " ".join(f"Абзац номер {i} достаточно длинный." for i in range(12))
    body = "<html><head><meta charset='windows-1251'><title>Заголовок</title></head><body>"
    page = (body + f"<article><h1>Заголовок</h1><p>{text}</p></article></body></html>").encode(
        "cp1251"
    )
    item = parse_bytes(page).items[0]
    assert item.headline == "Заголовок" and "Абзац номер 11" in (item.body_text or "")
    no_meta = page.replace(b"<meta charset='windows-1251'>", b"")
    item = parse_bytes(no_meta, content_type="text/html; charset=windows-1251").items[0]
    assert item.headline == "Заголовок"


def test_feedparser_crash_paths_become_parse_errors() -> None:
    # a non-UTF-8 byte in the declared encoding name crashes feedparser's sniffer
    data = b'<?xml version="1.0" encoding="\xc4bad"?><rss version="2.0"><channel/></rss>'
    with pytest.raises(ParseError) as info:
        parse_bytes(data)
    assert info.value.reason == "feed_unreadable"


def test_double_escaped_plain_text_is_decoded() -> None:
    data = _rss(
        "<item><guid>e</guid>"
        "<title>Rock &amp;amp; roll &amp;#8217;s &amp;quot;best&amp;quot;</title>"
        "<description>AT&amp;amp;T &amp; co</description></item>"
    )
    item = parse_bytes(data).items[0]
    assert item.headline == 'Rock & roll \u2019s "best"'
    assert item.summary == "AT&T & co"


def test_undeclared_single_byte_cyrillic_feed_is_not_read_as_mojibake() -> None:
    ru = "Власти города сообщили о новых случаях, это самый высокий показатель с весны"  # noqa: RUF001
    data = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Новости</title>'
        f'<item><guid isPermaLink="false">1</guid><title>{ru}</title></item>'
        "</channel></rss>"
    ).encode("cp1251")
    result = parse_bytes(data, content_type="application/rss+xml")
    assert [i.headline for i in result.items] == [ru]
    assert any("decoded as cp1251" in w for w in result.warnings)


def test_undeclared_latin_feed_keeps_the_windows_1252_reading() -> None:
    title = "Café com pão: sessão extraordinária"
    data = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
        f'<item><guid isPermaLink="false">1</guid><title>{title}</title></item>'
        "</channel></rss>"
    ).encode("latin-1")
    result = parse_bytes(data, content_type="application/rss+xml")
    assert [i.headline for i in result.items] == [title]
    assert not any(w.startswith("charset:") for w in result.warnings)


def test_undeclared_cyrillic_titles_among_english_text_are_decoded() -> None:
    """Mostly English text around a few Cyrillic headlines still reads as cp1251."""
    ru = "Власти города сообщили о новых случаях"  # noqa: RUF001
    summary = "Officials said the figures would be published next week in the capital. " * 4
    entries = "".join(
        f'<item><guid isPermaLink="false">{n}</guid><title>{ru}</title>'
        f"<description>{summary}</description></item>"
        for n in range(3)
    )
    data = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>wire</title>{entries}'
        "</channel></rss>"
    ).encode("cp1251")
    result = parse_bytes(data, content_type="application/rss+xml")
    assert [i.headline for i in result.items] == [ru] * 3


def test_undeclared_accented_latin_words_keep_windows_1252() -> None:
    title = "Été à Göteborg: où déjà élu, Größe über ÉÉÉ"
    data = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
        f'<item><guid isPermaLink="false">1</guid><title>{title}</title></item>'
        "</channel></rss>"
    ).encode("cp1252")
    result = parse_bytes(data)
    assert [i.headline for i in result.items] == [title]


def test_repeat_check_folds_case_and_spaces_like_its_definition() -> None:
    """The headline/summary/body repeat check, decided word by word, agrees
    with its definition on seeded random texts (sharp s, dotted I, ligatures,
    final sigma, Unicode spaces)."""
    from services.ingest.parsers._build import _same

    def definition(a: str, b: str) -> bool:
        return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()

    alphabet = ["a", "A", "ß", "SS", " ", "\n", "\u00a0", "\u2028", "İ", "i\u0307", "ﬁ", "fi",
                "Σ", "ς", "\u03c3", "b"]
    rnd = random.Random(3)
    equal = 0
    for _ in range(20_000):
        a = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 8)))
        b = a if rnd.random() < 0.3 else "".join(rnd.choice(alphabet) for _ in range(8))
        b = b.upper() if rnd.random() < 0.3 else b
        assert _same(a, b) == definition(a, b), (a, b)
        equal += definition(a, b)
    assert equal > 3_000  # both outcomes are exercised
