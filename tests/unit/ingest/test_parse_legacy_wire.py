"""NewsML 1.x and NITF 3.x: the wire formats before NewsML-G2 and ninjs that
AFP, Business Wire and NTB still send (real samples in the shared fixtures,
plus small documents for the rules the samples do not exercise)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.ingest.parsers import detect_format
from shared.errors import ParseError
from shared.models import PubStatus

from ._parsing import fixtures, parse_bytes

AFP = "newsml-g2/related-formats/AFP_newsml-1.2_sample_en.xml"
NTB = "newsml-g2/related-formats/NTB_nitf-3.6_sample_nb.xml"
BUSINESS_WIRE = ["20130515006361", "20130605006126", "20130612006110", "20130731006140"]


@pytest.mark.parametrize(
    ("relpath", "fmt"),
    [(AFP, "newsml-1"), (NTB, "nitf"),
     *((f"ninjs/newsml1-sources/businesswire-newsml-{n}.xml", "newsml-1") for n in BUSINESS_WIRE)],
)
def test_detected_by_content(relpath: str, fmt: str) -> None:
    assert detect_format((fixtures() / relpath).read_bytes()) == fmt


@pytest.mark.parametrize("number", BUSINESS_WIRE)
def test_business_wire_original_agrees_with_its_ninjs_conversion(number: str) -> None:
    """IPTC converted these NewsML 1.2 releases to ninjs, keeping the first
    paragraph only: the original gives the same headline and language, and
    its body starts with that paragraph and goes on."""
    original = parse_bytes(
        (fixtures() / f"ninjs/newsml1-sources/businesswire-newsml-{number}.xml").read_bytes()
    ).items
    converted = parse_bytes(
        (fixtures() / f"ninjs/v1/1.4_businesswire-newsml-{number}.json").read_bytes()
    ).items
    [item] = original
    [text] = converted  # "text", or "composite" for the releases with pictures
    assert (item.headline, item.language) == (text.headline, text.language)
    assert item.body_text and text.body_text
    assert item.body_text.startswith(text.body_text.split("\n\n")[0])
    assert len(item.body_text) > 2 * len(text.body_text)
    assert item.uri == f"urn:newsml:businesswire.com:20010714:{number}:1"
    assert "Logo" not in item.body_text and "bwalignc" not in item.body_text


def test_afp_metadata() -> None:
    [item] = parse_bytes((fixtures() / AFP).read_bytes()).items
    assert item.version == 1 and item.urgency == 4
    assert item.byline == "Adel Zaanoun with Guillaume Lavallee in Jerusalem"
    assert item.firstcreated == datetime(2021, 5, 16, 8, 6, 25, tzinfo=UTC)
    assert [s.code for s in item.subjects][:2] == ["subj:16000000", "subj:16002000"]
    assert [(p.name, p.code) for p in item.places] == [("Gaza City", "PSE")]
    # people pictured are not the story's keywords
    assert item.provider_keywords == ["Israel", "Palestinians", "conflict"]
    assert item.body_text is not None
    assert item.body_text.startswith("Israel's army said Sunday")
    assert "- Media offices destroyed -" in item.body_text.split("\n\n")  # NITF hl2 subhead


def test_ntb_nitf_metadata() -> None:
    [item] = parse_bytes((fixtures() / NTB).read_bytes()).items
    assert item.guid == "NTB5df9281a-a270-4dc5-a618-869bbc3bbca7_00"
    assert (item.language, item.urgency, item.byline) == ("nb-NO", 5, "NTB-AFP-DPA")
    assert [(s.code, s.name, s.origin) for s in item.subjects] == [
        ("subj:07001000", "Sykdom", "provider"), ("subj:07000000", "Medisin og helse", "provider"),
        # what the IPTC vocabulary adds: the Media Topic the codes map to, in Norwegian
        ("medtop:07000000", "helse og medisin", "vocabulary")]
    assert [p.name for p in item.places] == ["India", "Asia"]
    assert item.provider_keywords == ["india-korona-bygd"]
    assert item.body_text is not None and item.body_text.startswith("Koronapandemien herjer")


def _newsml(*items: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><NewsML Version="1.2"><NewsEnvelope>'
            "<DateAndTime>20260101T100000Z</DateAndTime></NewsEnvelope>"
            + "".join(items) + "</NewsML>").encode()


def _news_item(number: str, *, status: str = "Usable", revision: int = 1,
               extra: str = "", component: bool = True) -> str:
    body = ("<NewsComponent><NewsLines><HeadLine>Story " + number + "</HeadLine></NewsLines>"
            "<ContentItem><MediaType FormalName='Text'/><Format FormalName='NITF3.1'/>"
            "<DataContent><nitf><body><body.content><p>Text of story " + number + ".</p>"
            "</body.content></body></nitf></DataContent></ContentItem></NewsComponent>")
    return (
        "<NewsItem><Identification><NewsIdentifier><ProviderId>example.com</ProviderId>"
        f"<DateId>20260101</DateId><NewsItemId>{number}</NewsItemId>"
        f"<RevisionId PreviousRevision='0' Update='N'>{revision}</RevisionId>"
        f"<PublicIdentifier>urn:newsml:example.com:20260101:{number}:{revision}</PublicIdentifier>"
        "</NewsIdentifier></Identification><NewsManagement>"
        "<FirstCreated>20260101T090000+0000</FirstCreated>"
        "<ThisRevisionCreated>20260101T093000+0000</ThisRevisionCreated>"
        f"<Status FormalName='{status}'/>{extra}</NewsManagement>"
        + (body if component else "") + "</NewsItem>"
    )


def test_newsml1_revisions_kills_and_embargoes() -> None:
    embargo = ("<StatusWillChange><FutureStatus FormalName='Usable'/>"
               "<DateAndTime>20260101T120000+0000</DateAndTime></StatusWillChange>")
    result = parse_bytes(_newsml(
        _news_item("1", revision=3),
        _news_item("2", status="Canceled"),
        _news_item("3", status="Embargoed", extra=embargo),
        _news_item("4", status="Withheld"),
    ))
    first, killed, held, withheld = result.items
    assert (first.version, first.headline, first.body_text) == (3, "Story 1", "Text of story 1.")
    assert first.versioncreated == datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
    assert first.firstcreated == datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    assert killed.pubstatus == PubStatus.canceled
    assert withheld.pubstatus == PubStatus.withheld
    assert held.pubstatus == PubStatus.usable
    assert held.embargoed == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_newsml1_bad_item_does_not_drop_the_others() -> None:
    result = parse_bytes(_newsml(_news_item("1"), _news_item("2", component=False),
                                 _news_item("3")))
    assert [i.headline for i in result.items] == ["Story 1", "Story 3"]
    assert [(e.index, e.reason) for e in result.errors] == [(1, "empty_item")]


def _nitf(docdata: str = "", doctype: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{doctype}'
        '<nitf version="-//IPTC//DTD NITF 3.4//EN" baselang="en-GB"><head>'
        f"<title>Title line</title><docdata>{docdata}</docdata></head><body><body.head>"
        "<hedline><hl1>Hedline one</hl1></hedline><byline>By A. Writer</byline>"
        "<abstract><p>The short version.</p></abstract></body.head>"
        "<body.content><p>First paragraph.</p><hl2>A subhead</hl2><p>Second.</p>"
        "</body.content><body.end><tagline>Reporting by A. Writer</tagline></body.end>"
        "</body></nitf>"
    ).encode()


def test_nitf_status_versions_and_release_time() -> None:
    result = parse_bytes(_nitf(
        '<doc-id id-string="X-1"/><du-key key="x" version="2"/>'
        '<date.issue norm="20260101T080000Z"/><date.release norm="20260101T100000Z"/>'
        '<urgency ed-urg="2"/>'
    ))
    [item] = result.items
    assert result.format == "nitf" and result.format_version == "3.4"
    assert (item.guid, item.version, item.urgency) == ("X-1", 2, 2)
    assert (item.headline, item.summary, item.byline) == (
        "Hedline one", "The short version.", "A. Writer")
    assert item.body_text == "First paragraph.\n\nA subhead\n\nSecond."  # no body.end tagline
    assert item.embargoed == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert item.language == "en-GB"


@pytest.mark.parametrize(("status", "expected"), [
    ("withheld", PubStatus.withheld), ("canceled", PubStatus.canceled),
    ("embargoed", PubStatus.usable), ("usable", PubStatus.usable)])
def test_nitf_management_status(status: str, expected: PubStatus) -> None:
    data = _nitf('<doc-id id-string="X-2"/>').replace(
        b"<docdata>", f'<docdata management-status="{status}">'.encode())
    [item] = parse_bytes(data).items
    assert item.pubstatus == expected


def test_nitf_doctypes() -> None:
    """NITF names its DTD by public id or by file ("nitf-3-2.dtd"): read
    without it (never fetched), its named characters (&nbsp;, &mdash;) as
    HTML's. An entity declaration is refused as for every XML format."""
    for doctype in ('<!DOCTYPE nitf PUBLIC "-//IPTC//DTD NITF 3.4//EN" "nitf-3-4.dtd">',
                    '<!DOCTYPE nitf SYSTEM "nitf-3-2.dtd">',
                    '<!DOCTYPE nitf SYSTEM "http://example.com/nitf.dtd">'):
        assert parse_bytes(_nitf('<doc-id id-string="X-3"/>', doctype)).items, doctype
    characters = _nitf('<doc-id id-string="X-5"/>', '<!DOCTYPE nitf SYSTEM "nitf-3-2.dtd">')
    characters = characters.replace(b"First paragraph.",
                                    b"First&nbsp;paragraph &mdash; caf&eacute;.")
    [item] = parse_bytes(characters).items
    # (the no-break space is a space once the text is cleaned)
    assert (item.body_text or "").startswith("First paragraph \u2014 caf\u00e9.")
    with pytest.raises(ParseError) as info:
        parse_bytes(_nitf('<doc-id id-string="X-4"/>', '<!DOCTYPE nitf [<!ENTITY a "aaaa">]>'))
    assert info.value.reason == "xml_entities"


def test_every_format_is_a_source_type_and_a_cli_choice() -> None:
    from typing import get_args

    from services.ingest.cli import FormatChoice
    from services.ingest.parsers import FORMATS
    from services.ingest.sources import SourceType

    assert set(get_args(SourceType)) == {"auto", *FORMATS}
    assert {choice.value for choice in FormatChoice} == {"auto", *FORMATS}
