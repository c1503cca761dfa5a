"""Bodies keep their structure (issue #18, item 4): table rows as
tab-separated cells (a real dpa league table), WordPress shortcodes
removed, characters a wire spelt as bracketed names ("<endash>") restored."""

from __future__ import annotations

import pytest

from services.ingest import text as textmod

from ._parsing import REPO, parse_bytes

TABLE = REPO / "tests" / "fixtures" / "newsml-g2" / "dpa-digitalwires" / "spe_tab.newsmlg2.xml"


def test_a_real_league_table_keeps_its_cells() -> None:
    [item] = parse_bytes(TABLE.read_bytes()).items
    lines = (item.body_text or "").split("\n\n")
    assert "FC Augsburg\t-\tBor. Mönchengladbach\t2:1 (1:0)" in lines
    leader = next(line for line in lines if line.startswith("1.\t"))
    assert leader.split("\t") == ["1.", "Bayern München", "6", "4", "2", "0", "+13", "20:7",
                                  "14"]


def test_cells_rows_and_empty_cells() -> None:
    paragraphs = textmod.html_to_paragraphs(
        "<p>Intro</p><table><tr><th>Team</th><th>Pts</th></tr>"
        "<tr><td>Ajax <a href='/a'>FC</a></td><td>12</td></tr>"
        "<tr><td>PSV</td><td></td></tr><tr><td></td><td></td></tr></table><p>After</p>",
        mark_links=True)
    assert [textmod.remove_link_markers(p) for p in paragraphs] == [
        "Intro", "Team\tPts", "Ajax FC\t12", "PSV", "After"]


@pytest.mark.parametrize(("raw", "clean"), [
    ('[caption id="attachment_9" align="alignnone" width="300"] Photo: X[/caption]Text.',
     "Text."),
    ('Before [gallery ids="1,2,3"] after', "Before after"),
    ("Watch: [embed]https://youtu.be/x[/embed] now", "Watch: now"),
    ('[vc_row][vc_column width="1/2"]Story text[/vc_column][/vc_row]', "Story text"),
    ('A [button link="https://x" color="red"]Buy[/button] call', "A Buy call"),
    ("He said [sic] that [1] in [Updated] copy", "He said [sic] that [1] in [Updated] copy"),
])
def test_shortcodes(raw: str, clean: str) -> None:
    assert textmod.remove_shortcodes(raw) == clean


def test_shortcodes_and_names_in_a_feed_body() -> None:
    rss = b"""<rss version="2.0"><channel><title>t</title><item><guid>1</guid>
<title>Rates rise 2&lt;endash&gt;3 percent</title><description><![CDATA[<p>[caption id="a"
align="alignnone"]<img src="a.jpg"/> Photo by X[/caption]Markets rose 2&lt;endash&gt;3
percent&lt;emdash&gt;a record [sic].</p><p>[gallery ids="1,2"]</p>]]></description>
</item></channel></rss>"""
    [item] = parse_bytes(rss).items
    assert item.headline == "Rates rise 2\u20133 percent"
    assert item.summary == "Markets rose 2\u20133 percent\u2014a record [sic]."


@pytest.mark.parametrize(("raw", "clean"), [
    ("2<endash>3", "2\u20133"), ("Wait<ellipsis>", "Wait\u2026"), ("a<mdash>b", "a\u2014b"),
    ("30<degree>C", "30\u00b0C"), ("x <y> z", "x <y> z"), ("<notaname>", "<notaname>"),
])
def test_typographic_names(raw: str, clean: str) -> None:
    assert textmod.typographic_names(raw) == clean


def test_atom_content_is_the_body() -> None:
    """An Atom entry's <content> is its body, also when the entry has no
    <summary> (feedparser copies the content there); with both, each is
    what it says."""
    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><id>urn:1</id><title>One</title><updated>2024-01-01T00:00:00Z</updated>
<content type="html">&lt;p&gt;First.&lt;/p&gt;&lt;p&gt;Second.&lt;/p&gt;</content></entry>
<entry><id>urn:2</id><title>Two</title><updated>2024-01-01T00:00:00Z</updated>
<summary>Lead.</summary><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
<p>Body one.</p><p>Body two.</p></div></content></entry></feed>"""
    one, two = parse_bytes(atom).items
    assert (one.summary, one.body_text) == (None, "First.\n\nSecond.")
    assert (two.summary, two.body_text) == ("Lead.", "Body one.\n\nBody two.")


AFP = REPO / "tests" / "fixtures" / "newsml-g2" / "related-formats" / "AFP_newsml-1.2_sample_en.xml"


@pytest.mark.parametrize("wrapping", ["cdata", "escaped"])
def test_newsml1_html_sent_as_text_is_read_as_html(wrapping: str) -> None:
    """The real AFP story with its NITF body re-sent as HTML text (Format
    HTML, the markup in CDATA or escaped), as some NewsML 1 feeds do: the
    same paragraphs, no "<P>"."""
    import html
    import re

    original = AFP.read_bytes().decode()
    [expected] = parse_bytes(original.encode()).items
    body = re.search(r"<body\.content>(.*?)</body\.content>", original, re.S)
    assert body is not None
    markup = body.group(1).replace("<p>", "<P>").replace("</p>", "</P>")
    sent = f"<![CDATA[{markup}]]>" if wrapping == "cdata" else html.escape(markup, quote=False)
    changed = re.sub(r'<Format FormalName="NITF3.1"/>(.*?)<DataContent>.*?</DataContent>',
                     lambda m: f'<Format FormalName="HTML"/>{m.group(1)}<DataContent>'
                               f"{sent}</DataContent>", original, flags=re.S)
    assert changed != original
    [item] = parse_bytes(changed.encode()).items
    assert "<P>" not in (item.body_text or "") and "<" not in (item.body_text or "")[:500]
    # the NITF original also reads its <hl2> subheads; the HTML has them too
    assert item.body_text == expected.body_text


@pytest.mark.parametrize(("raw", "role", "names", "role_out"), [
    ("By JOSH BOAK\nAP Economics Writer", None, "JOSH BOAK", "AP Economics Writer"),
    ("By Jane Doe, Reuters", None, "Jane Doe", "Reuters"),
    ("Von Christian Hollmann, dpa", None, "Christian Hollmann", "dpa"),
    ("By Anna Li and Tom Ray, Associated Press", None, "Anna Li and Tom Ray",
     "Associated Press"),
    ("By A. Writer AP Business Writer", "AP Business Writer", "A. Writer", "AP Business Writer"),
    ("A. Writer, B. Writer", None, "A. Writer, B. Writer", None),  # a list of names
    ("Di Maio Luigi", None, "Di Maio Luigi", None),  # "Di" is a name here
    ("By: Sam Jones", None, "Sam Jones", None),
    (None, None, None, None),
])
def test_byline_names_and_role(raw: str | None, role: str | None, names: str | None,
                               role_out: str | None) -> None:
    from services.ingest.parsers._build import split_byline

    assert split_byline(raw, role) == (names, role_out)


def test_nitf_byline_role_from_byttl() -> None:
    nitf = (b'<?xml version="1.0"?><nitf><head><docdata><doc-id id-string="B-1"/></docdata>'
            b"</head><body><body.head><hedline><hl1>H</hl1></hedline><byline>By Jo Lee"
            b"<byttl>AP Business Writer</byttl></byline></body.head><body.content><p>Text."
            b"</p></body.content></body></nitf>")
    [item] = parse_bytes(nitf).items
    assert (item.byline, item.byline_role) == ("Jo Lee", "AP Business Writer")


def test_a_g2_creator_account_is_no_byline() -> None:
    # dpa names the editing account as creator ("stahlberg.leo"); IPTC's
    # listing names a person: only the person is a byline
    g2 = REPO / "tests" / "fixtures" / "newsml-g2"
    [dpa] = parse_bytes((g2 / "dpa-digitalwires" / "with_infobox.newsmlg2.xml").read_bytes()).items
    assert dpa.byline is None
    [iptc] = parse_bytes(
        (g2 / "iptc-examples" / "LISTING_02_NewsML-G2_Text_Document.xml").read_bytes()).items
    assert iptc.byline == "Meredith Jameson"
