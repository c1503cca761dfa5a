"""Field hygiene (issue #18, item 9): markup never reaches a plain-text
field, a script or inline-data URI never becomes an item's uri or url, and
identifiers carry no control characters - in every format that has such a
field."""

from __future__ import annotations

import json

import pytest

from services.ingest.parsers._build import clean_guid, plain_line

from ._parsing import parse_bytes

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title>
<item><guid isPermaLink="false">abc&#x1;def&#x7f;</guid>
<title>&lt;b&gt;Bold&lt;/b&gt; title &lt;script&gt;alert(1)&lt;/script&gt;</title>
<link>javascript:alert(1)</link>
<description>Summary &lt;i&gt;here&lt;/i&gt;</description>
<author>&lt;a href="https://example.org/jane"&gt;Jane Doe&lt;/a&gt;</author>
<category>&lt;b&gt;Politics&lt;/b&gt;</category></item>
<item><guid isPermaLink="true">data:text/html,hello</guid><title>Two</title>
<link>data:text/html;base64,SGVsbG8=</link></item>
<item><guid> JaVaScRiPt:void(0)</guid><title>Three &lt; four</title></item>
</channel></rss>"""


def test_rss_fields_are_plain_and_ids_safe() -> None:
    first, second, third = parse_bytes(RSS).items
    assert first.headline == "Bold title"
    assert first.summary == "Summary here"
    assert first.byline == "Jane Doe"
    assert first.provider_keywords == ["Politics"]
    assert first.guid == first.uri == "abcdef"
    assert first.url is None
    assert second.guid is None and second.url is None
    assert second.uri.startswith("urn:wirestream:")
    assert "guid_unsafe_scheme" in second.ingest_flags
    assert third.uri.startswith("urn:wirestream:") and third.headline == "Three < four"
    # the id still follows the provider's guid: the same item keeps its id
    again = parse_bytes(RSS).items
    assert [i.id for i in again] == [first.id, second.id, third.id]


def test_ninjs_headline_and_byline_markup_and_control_characters() -> None:
    doc = {"uri": "urn:x:\u00071", "headline": "<em>Storm</em> hits <br/>coast",
           "byline": "By <strong>A. Writer</strong>", "body_text": "Text."}
    [item] = parse_bytes(json.dumps(doc).encode()).items
    assert (item.uri, item.headline, item.byline) == ("urn:x:1", "Storm hits coast",
                                                       "A. Writer")


@pytest.mark.parametrize(("raw", "plain"), [
    ("x < y and y > z", "x < y and y > z"),  # comparisons are not tags
    ("&lt;p&gt;One&lt;/p&gt;&lt;p&gt;two&lt;/p&gt;", "One two"),
    ("Caf&amp;eacute; <!-- note --> menu", "Café menu"),
    ("<style>p {}</style>Styled", "Styled"),
])
def test_plain_line(raw: str, plain: str) -> None:
    assert plain_line(raw) == plain


def test_clean_guid() -> None:
    assert clean_guid(" \x00id\x1b-1\x9f ") == "id-1"
    assert clean_guid("\x01\x02") is None
    assert clean_guid(None) is None


def _feed(count: int, atom: bool = False) -> bytes:
    if atom:
        entries = "".join(f"<entry><id>urn:e:{n}</id><title>Entry {n}</title></entry>"
                          for n in range(count))
        return (f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t'
                f"</title>{entries}</feed>").encode()
    items = "".join(f"<item><guid>g{n}</guid><title>Item {n}</title></item>"
                    for n in range(count))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
            "</channel></rss>").encode()


@pytest.mark.parametrize("atom", [False, True])
def test_entries_past_the_bound_are_refused_with_one_error(atom: bool) -> None:
    at_bound = parse_bytes(_feed(50, atom), max_items=50)
    assert len(at_bound.items) == 50 and at_bound.errors == []
    over = parse_bytes(_feed(130, atom), max_items=50)
    assert [i.headline for i in over.items] == [f"{'Entry' if atom else 'Item'} {n}"
                                                for n in range(50)]
    [error] = over.errors
    assert (error.reason, error.index) == ("too_many_entries", 50)
    assert "130 entries" in error.message and "other 80 refused" in error.message


def test_json_entries_past_the_bound() -> None:
    doc = [{"uri": f"urn:n:{n}", "headline": f"N {n}"} for n in range(30)]
    result = parse_bytes(json.dumps(doc).encode(), max_items=10)
    assert len(result.items) == 10
    assert [e.reason for e in result.errors] == ["too_many_entries"]


def test_a_huge_feed_of_tiny_items_is_cut_before_it_is_parsed() -> None:
    """300,000 tiny items (a 10 MB feed): what is parsed is the first
    10,000; the memory the rest would cost is never spent."""
    import tracemalloc

    items = "".join(f"<item><title>{n}</title></item>" for n in range(300_000))
    data = f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    assert len(data) < 10 * 1024 * 1024
    tracemalloc.start()
    try:
        result = parse_bytes(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.items) == 10_000
    assert [e.reason for e in result.errors] == ["too_many_entries"]
    # the 10,000 items' own objects, not 300,000 entries' (which took 1.7 GB)
    assert peak < 400 * 1024 * 1024, f"peak {peak / 2**20:.0f} MB"
