"""ANPA 1312 and IPTC 7901 (issue #18, item 7). No licensed real sample of
either format was found (docs/ingest.md): these messages are written here,
byte by byte, after the published layouts - the AP/Canadian Press ANPA
header and heading conventions and the dpa/KNA IPTC 7901 message - with
made-up text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.ingest.parsers import detect_format
from shared.errors import ParseError

from ._parsing import parse_bytes, parse_mutations

SYN, SOH, STX, ETX, EOT, US = b"\x16", b"\x01", b"\x02", b"\x03", b"\x04", b"\x1f"
DC3, DC1, BS = b"\x13", b"\x11", b"\x08"


def anpa(number: bytes = b"0404", priority: bytes = b"r", category: bytes = b"f",
         fields: bytes = b"bc-Fed-Rates 2ndLd-Writethru  10-31 0412",
         text: bytes | None = None, trailer: bytes = b"AP-WF-10-31-14 1635GMT") -> bytes:
    text = text if text is not None else (
        b"^BC-Fed-Rates,2nd Ld-Writethru,0412<\r\n"
        b"^Fed keeps its key rate unchanged, signals patience<\r\n"
        b"^Eds: Updates with market reaction.<\r\n"
        b"^By JANE DOE<\r\n"
        b"^AP Economics Writer<\r\n"
        b"\t   WASHINGTON (AP) -- The Federal Reserve kept its benchmark rate unchanged\r\n"
        b"on Wednesday.\r\n"
        b"\t   Markets rose after the decision.\r\n"
        b"\t   (Copyright 2014 by The Associated Press.)\r\n")
    return (SYN + SYN + SOH + b"a" + number + US + b"cpstf\r\n" + priority + b" " + category
            + DC3 + DC1 + b" " + fields + b"\r\n" + STX + text + ETX + b"\r\n" + trailer
            + b"\r\n" + EOT)


def iptc7901(header: bytes = b"bdt0012 2 pl 171  dpa 0012", slug: bytes = "Partei/Grüne/".encode(),
             text: bytes | None = None, dtg: bytes = b"251037 Sep 24") -> bytes:
    text = text if text is not None else (
        "(Eil)\n\nGrünen-Spitze tritt nach Wahlniederlagen\nzurück =\n\n"
        "Von Anna Schmidt, dpa\n\n"
        "Berlin (dpa) - Die Grünen-Spitze tritt nach den Niederlagen bei den\n"
        "Landtagswahlen zurück.\n\n"
        "Das teilte die Partei am Mittwoch mit.\n\n"
        "dpa kre/su yysw a3\n").encode()
    return (SOH + header + b"\n\n" + slug + b"\n" + STX + text + ETX + dtg + b"\n\x7f\n\x7f"
            + EOT)


def test_both_formats_are_detected_by_content() -> None:
    assert detect_format(anpa()) == "anpa1312"
    assert detect_format(iptc7901()) == "iptc7901"
    assert detect_format(b"\r\n" + iptc7901()) == "iptc7901"


def test_an_anpa_story_reads_as_its_editors_meant_it() -> None:
    result = parse_bytes(anpa())
    assert result.format == "anpa1312" and not result.errors
    [item] = result.items
    assert item.headline == "Fed keeps its key rate unchanged, signals patience"
    assert (item.byline, item.byline_role) == ("JANE DOE", "AP Economics Writer")
    assert item.body_text == (
        "WASHINGTON (AP) -- The Federal Reserve kept its benchmark rate unchanged on Wednesday."
        "\n\nMarkets rose after the decision.\n\n(Copyright 2014 by The Associated Press.)")
    assert "Eds" not in (item.body_text or "")  # the note to editors is no text
    assert item.versioncreated == datetime(2014, 10, 31, 16, 35, tzinfo=UTC)
    assert item.urgency == 5  # regular
    assert [(s.code, s.name) for s in item.subjects] == [
        ("anpa-category:f", "business and finance")]
    assert item.provider_keywords == ["bc-Fed-Rates"]
    assert item.version == 2
    assert item.guid == "anpa:bc-Fed-Rates:2014-10-31"


def test_an_anpa_writethru_replaces_the_story_it_updates() -> None:
    text = b"^BC-Fed-Rates,0380<\r\n^Fed keeps its key rate unchanged<\r\n\t   The Fed.\r\n"
    first = parse_bytes(anpa(number=b"0398", fields=b"bc-Fed-Rates   10-31 0380",
                             text=text)).items[0]
    later = parse_bytes(anpa()).items[0]
    assert first.id == later.id and (first.version, later.version) == (1, 2)


@pytest.mark.parametrize(("trailer", "expected"), [
    (b"AP-WF-10-31-14 1235EDT", datetime(2014, 10, 31, 16, 35, tzinfo=UTC)),
    (b"16:35ET 31-10-14<", datetime(2014, 10, 31, 21, 35, tzinfo=UTC)),  # Canadian Press
    (b"16:35 10-31-14", datetime(2014, 10, 31, 16, 35, tzinfo=UTC)),  # Reuters, source zone UTC
])
def test_anpa_time_stamps_of_each_agency(trailer: bytes, expected: datetime) -> None:
    [item] = parse_bytes(anpa(trailer=trailer)).items
    assert item.versioncreated == expected


def test_anpa_priorities_tables_and_headings_without_carets() -> None:
    [flash] = parse_bytes(anpa(priority=b"f")).items
    assert flash.urgency == 1
    table = (b"^BC-BBO-Standings,0120<\r\n^American League standings<\r\n"
             + BS + b"Team\tW\tL\r\n" + BS + b"Boston\t98\t64\r\n")
    [agate] = parse_bytes(anpa(category=b"q", text=table)).items
    assert agate.headline == "American League standings"
    assert agate.body_text == "Team\tW\tL\n\nBoston\t98\t64"
    reuters = b"Dollar slips against the yen\r\n\t   TOKYO (Reuters) - The dollar fell.\r\n"
    [item] = parse_bytes(anpa(text=reuters)).items
    assert (item.headline, item.body_text) == ("Dollar slips against the yen",
                                               "TOKYO (Reuters) - The dollar fell.")


def test_an_iptc7901_message_reads_as_its_editors_meant_it() -> None:
    result = parse_bytes(iptc7901())
    assert result.format == "iptc7901" and not result.errors
    [item] = result.items
    assert item.headline == "Grünen-Spitze tritt nach Wahlniederlagen zurück"
    assert item.byline == "Anna Schmidt"
    assert item.body_text == ("Berlin (dpa) - Die Grünen-Spitze tritt nach den Niederlagen bei "
                              "den Landtagswahlen zurück.\n\nDas teilte die Partei am Mittwoch "
                              "mit.")
    assert item.urgency == 2
    assert [s.code for s in item.subjects] == ["iptc7901-category:pl"]
    assert item.provider_keywords == ["Partei", "Grüne"]
    assert item.versioncreated == datetime(2024, 9, 25, 10, 37, tzinfo=UTC)


def test_iptc7901_story_id_version_correction_and_latin1() -> None:
    text = ("(Berichtigung: Name korrigiert)\n\nKirche lädt zum Gebet ein =\n\n"
            "Bonn (KNA) Die Bischöfe laden ein.\n").encode("latin-1")
    data = iptc7901(header=b"bkn014 4 pl 171 vvvvb KNA 170123-89-00065#2", text=text)
    [item] = parse_bytes(data).items
    assert item.guid == "iptc7901:170123-89-00065" and item.version == 2
    assert "correction" in item.ingest_flags
    assert item.headline == "Kirche lädt zum Gebet ein"
    assert item.body_text == "Bonn (KNA) Die Bischöfe laden ein."


def test_a_wire_file_of_several_messages_keeps_the_good_ones() -> None:
    broken = SOH + b"this is no header\n" + STX + b"text" + ETX + EOT
    data = iptc7901() + b"\r\n" + broken + b"\r\n" + iptc7901(
        header=b"bdt0013 3 vm 80  dpa 0013", slug=b"Wetter/",
        text="Sonne im Süden =\n\nMünchen (dpa) - Es wird warm.\n".encode(),
        dtg=b"251100 Sep 24")
    result = parse_bytes(data)
    assert [i.headline for i in result.items] == [
        "Grünen-Spitze tritt nach Wahlniederlagen zurück", "Sonne im Süden"]
    assert [e.reason for e in result.errors] == ["bad_header"]


def test_a_control_wire_that_is_neither_is_refused_with_a_reason() -> None:
    with pytest.raises(ParseError) as info:
        parse_bytes(SOH + b"hello" + STX + b"x" + ETX + EOT)
    assert info.value.reason == "unknown_format"
    assert "neither ANPA 1312 nor IPTC 7901" in info.value.message
    with pytest.raises(ParseError) as forced:
        parse_bytes(anpa(), fmt="iptc7901")
    assert forced.value.reason == "format_mismatch"


@pytest.mark.parametrize("kind", ["anpa1312", "iptc7901"])
def test_mutated_wire_messages_never_raise_anything_but_parse_error(kind: str) -> None:
    original = anpa() + anpa(number=b"0405") if kind == "anpa1312" else iptc7901() * 2
    parse_mutations(original, kind, 200, b"\x01\x02\x03\x04\x1f\x13\x08\n^=<")


def test_teleprinter_framing_and_messages_without_stx_etx() -> None:
    # ZCZC ... NNNN instead of SOH ... EOT, no STX/ETX: a 7901 message as a
    # teleprinter would carry it
    text = ("ZCZC\nbdt0020 3 vm 60  dpa 0020\nWetter/\nSonne im Süden =\n\n"
            "München (dpa) - Es wird warm.\n\n251100 Sep 24\nNNNN\n").encode()
    assert detect_format(text) == "iptc7901"
    [item] = parse_bytes(text).items
    assert (item.headline, item.body_text) == ("Sonne im Süden", "München (dpa) - Es wird warm.")
    assert item.provider_keywords == ["Wetter"]
    assert item.versioncreated == datetime(2024, 9, 25, 11, 0, tzinfo=UTC)


def test_a_header_an_agency_bent_keeps_the_story_and_says_so() -> None:
    # the US separator missing from an ANPA header; a 7901 header with a
    # priority letter: the text is read, the item flagged header_unread
    data = anpa().replace(US, b" ")
    assert detect_format(data) == "anpa1312"
    [item] = parse_bytes(data).items
    assert item.headline == "Fed keeps its key rate unchanged, signals patience"
    assert item.urgency == 5 and "header_unread" in item.ingest_flags
    bent = iptc7901(header=b"bdt0012 A pl 171  dpa 0012")
    assert detect_format(bent) == "iptc7901"  # the = headline, / keyword line, date-time group
    [story] = parse_bytes(bent).items
    assert story.headline == "Grünen-Spitze tritt nach Wahlniederlagen zurück"
    assert story.provider_keywords == ["Partei", "Grüne"] and "header_unread" in story.ingest_flags


def test_a_message_saved_without_its_soh_is_still_read() -> None:
    # control characters stripped on the way, or a capture starting at the header
    bare_anpa = anpa().replace(SYN, b"").replace(SOH, b"").replace(EOT, b"")
    assert detect_format(bare_anpa) == "anpa1312"
    [story] = parse_bytes(bare_anpa).items
    assert story.headline == "Fed keeps its key rate unchanged, signals patience"
    bare_7901 = iptc7901().replace(SOH, b"")
    assert detect_format(bare_7901) == "iptc7901"
    [item] = parse_bytes(bare_7901).items
    assert item.headline == "Grünen-Spitze tritt nach Wahlniederlagen zurück"
    assert item.urgency == 2 and item.provider_keywords == ["Partei", "Grüne"]
    with pytest.raises(ParseError) as info:  # plain words are still nobody's format
        parse_bytes(b"Just some words\nand some more\n")
    assert info.value.reason == "unknown_format"


@pytest.mark.parametrize(("trailer", "expected"), [
    (b"AP-WF-10-31-14 1235EDT", datetime(2014, 10, 31, 16, 35, tzinfo=UTC)),
    (b"16:35ET 31-10-14", datetime(2014, 10, 31, 21, 35, tzinfo=UTC)),  # Canadian Press
    (b"16:35 10-31-14", datetime(2014, 10, 31, 16, 35, tzinfo=UTC)),  # Reuters
])
def test_an_anpa_message_without_stx_etx_reads_each_agency_s_stamp_as_its_trailer(
    trailer: bytes, expected: datetime
) -> None:
    """Without ETX the trailer is the last line when it is a stamp: by the
    same patterns the trailer is read with, so no agency's stamp is left in
    the story's text."""
    text = (b"^Fed keeps its key rate unchanged<\r\n"
            b"\t   WASHINGTON (AP) -- The Federal Reserve kept its rate on 10-30-14.\r\n")
    message = (SOH + b"a0404" + US + b"cpstf\r\nr f" + DC3 + DC1
               + b" bc-Fed-Rates  10-31 0412\r\n" + text + trailer + b"\r\n" + EOT)
    [item] = parse_bytes(message).items
    assert item.versioncreated == expected
    assert item.body_text.endswith("kept its rate on 10-30-14.")
    assert trailer.decode() not in item.body_text
