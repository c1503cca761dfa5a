"""Text decoded with the wrong charset (issue #18, item 3): a field whose
UTF-8 was read as ISO-8859-1 or windows-1252 ("DÃ©cÃ¨s", "worldâ€™s"), or a
document whose UTF-8 bytes declare ISO-8859-1, comes out as its editors
wrote it and the item is flagged ``charset_repaired``; correct text that
merely looks odd, and garbage no repair makes clean, are left alone."""

# ruff: noqa: RUF001  (mojibake is made of look-alike characters on purpose)
from __future__ import annotations

import pytest

from services.ingest.parsers._build import repair_mojibake

from ._parsing import REPO, parse_bytes

FIXTURES = REPO / "tests" / "fixtures"
SAMPLES = REPO / "data" / "samples"


@pytest.mark.parametrize(("broken", "meant"), [
    ("DÃ©cÃ¨s du prÃ©sident", "Décès du président"),
    ("Ich hÃ¤tte gern Ã–l", "Ich hätte gern Öl"),
    ("The â€œquoteâ€\x9d here", "The \u201cquote\u201d here"),
    ("Â£5 million", "£5 million"),
    ("Ð\x9fÑ\x80Ð¸Ð²ÐµÑ\x82 мир", "Привет мир"),
])
def test_mojibake_is_repaired(broken: str, meant: str) -> None:
    assert repair_mojibake(broken) == (meant, True)


@pytest.mark.parametrize("text", [
    "Décès du président", "São Paulo ação", "PÃO", "ÂNGELA", "Привет мир", "", None,
    # EUC-JP read as Latin-1: ftfy's repair would be other garbage
    "Ê¤ë¤Û¤É¡¢PS2¤Ã¤Æ¤¹¤´¤¤²èÁü½èÍýÇ½ÎÏ¤À¤Ê",
])
def test_correct_text_and_garbage_stay(text: str | None) -> None:
    assert repair_mojibake(text) == (text, False)


def test_a_real_release_with_mojibake_in_its_body() -> None:
    data = (FIXTURES / "ninjs" / "v1" / "1.4_businesswire-newsml-20130515006361.json").read_bytes()
    assert "worldâ€™s".encode() in data  # as published
    [item] = parse_bytes(data).items
    assert "world\u2019s most powerful rack workstation" in (item.body_text or "")
    assert "â€" not in (item.body_text or "")
    assert "charset_repaired" in item.ingest_flags


@pytest.mark.parametrize(("sample", "declared"), [
    # dpa's Spanish service, NewsML-G2 (read by lxml, which trusts the declaration)
    ("dpa-es_empty_paragraph.newsmlg2.xml", b'encoding="UTF-8"'),
    # heise, German, Atom (feedparser finds the bytes are UTF-8 by itself)
    ("heise-developer_atom_de_2016.atom", b'encoding="utf-8"'),
])
def test_utf8_bytes_declared_iso_8859_1_read_as_written(sample: str, declared: bytes) -> None:
    """A real UTF-8 document whose declaration says ISO-8859-1, as a
    misconfigured server sends it: every item as in the original, and an
    item is flagged when its text had to be repaired."""
    original = (SAMPLES / sample).read_bytes()
    assert declared in original[:60]
    mislabelled = original.replace(declared, b'encoding="iso-8859-1"', 1)
    right, wrong = parse_bytes(original).items, parse_bytes(mislabelled).items
    assert right and [(i.headline, i.summary, i.body_text) for i in wrong] == [
        (i.headline, i.summary, i.body_text) for i in right]
    assert not any("charset_repaired" in i.ingest_flags for i in right)
    if sample.endswith(".newsmlg2.xml"):
        assert all("charset_repaired" in i.ingest_flags for i in wrong)
