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
                                                       "By A. Writer")


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
