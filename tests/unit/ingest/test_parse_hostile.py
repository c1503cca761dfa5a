"""Hostile XML: entity bombs and external entities are refused with
ParseError before any parser runs; a document naming an external DTD is read
without it. Nothing is expanded, fetched or opened. A loopback HTTP server
counts requests, every socket connect is recorded and a FIFO notices being
opened, so "not fetched" is observed, not assumed."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from services.ingest.parsers import _xml
from shared.errors import ParseError

from ._parsing import parse_bytes


class _Trap(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        body = b'<!ENTITY leak "FETCHED-BY-PARSER">'
        self.send_response(200)
        self.send_header("Content-Type", "application/xml-dtd")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def trap() -> Iterator[tuple[str, list[str]]]:
    """(base URL, list of request paths) of a loopback server."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trap)
    server.hits = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.hits  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every outgoing socket connect made while the test runs."""
    seen: list[Any] = []
    real = socket.socket.connect

    def record(self: socket.socket, address: Any) -> None:
        seen.append(address)
        real(self, address)

    monkeypatch.setattr(socket.socket, "connect", record)
    return seen


LAUGHS = (
    '<!DOCTYPE {root} [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
        for i in range(1, 10)
    )
    + "]>"
)
QUADRATIC = '<!DOCTYPE {root} [<!ENTITY a "' + "A" * 50_000 + '">]>'
BODIES = {
    "rss": '<rss version="2.0"><channel><title>t</title><item><guid>g1</guid><title>{ref}</title>'
    "<description>{ref}</description></item></channel></rss>",
    "atom": '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>g1</id>'
    "<title>{ref}</title><content>{ref}</content></entry></feed>",
    "newsml-g2": '<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="g1" version="1">'
    "<itemMeta><versionCreated>2024-01-01T00:00:00Z</versionCreated></itemMeta>"
    "<contentMeta><headline>{ref}</headline></contentMeta></newsItem>",
    "sitemap": '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    "<url><loc>https://example.org/{ref}</loc></url></urlset>",
}
ROOTS = {"rss": "rss", "atom": "feed", "newsml-g2": "newsItem", "sitemap": "urlset"}


def _doc(fmt: str, doctype: str, ref: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        + doctype.format(root=ROOTS[fmt])
        + "\n"
        + BODIES[fmt].format(ref=ref)
    ).encode()


def _refused(data: bytes, reason: str, **kw: Any) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_bytes(data, **kw)
    assert info.value.reason == reason, info.value.message
    return info.value


@pytest.mark.parametrize("fmt", list(BODIES))
def test_billion_laughs_refused(fmt: str) -> None:
    _refused(_doc(fmt, LAUGHS, "&lol9;"), "xml_entities")


@pytest.mark.parametrize("fmt", list(BODIES))
def test_quadratic_blowup_refused(fmt: str) -> None:
    _refused(_doc(fmt, QUADRATIC, "&a;" * 5000), "xml_entities")


@pytest.mark.parametrize("fmt", list(BODIES))
def test_external_file_entity_refused(fmt: str) -> None:
    doctype = '<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    error = _refused(_doc(fmt, doctype, "&xxe;"), "xml_entities")
    assert "root:" not in error.message


@pytest.mark.parametrize("fmt", list(BODIES))
def test_external_http_entity_not_fetched(
    fmt: str, trap: tuple[str, list[str]], connects: list[Any]
) -> None:
    base, hits = trap
    doctype = '<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "' + base + '/xxe">]>'
    _refused(_doc(fmt, doctype, "&xxe;"), "xml_entities")
    assert hits == [] and connects == []


@pytest.mark.parametrize("fmt", list(BODIES))
def test_external_dtd_is_read_without_it_and_never_fetched(
    fmt: str, trap: tuple[str, list[str]], connects: list[Any]
) -> None:
    """An external DTD (SYSTEM or PUBLIC) is accepted and never loaded; a
    reference to one of its entities that HTML does not name is dropped."""
    base, hits = trap
    plain = parse_bytes(_doc(fmt, "", "ab"))
    doctype = '<!DOCTYPE {root} SYSTEM "' + base + '/evil.dtd">'
    result = parse_bytes(_doc(fmt, doctype, "a&leak;b"))
    assert len(result.items) == len(plain.items)
    public = '<!DOCTYPE {root} PUBLIC "-//Evil//DTD X//EN" "' + base + '/public.dtd">'
    assert len(parse_bytes(_doc(fmt, public, "ab")).items) == len(plain.items)
    assert hits == [] and connects == []
    if fmt == "newsml-g2":  # (feedparser keeps an unknown reference as written)
        assert result.items[0].headline == "ab"


def _opened(fifo: Path, stop: threading.Event, seen: list[bool]) -> None:
    """Note whether anyone opens ``fifo`` for reading (a write end opens
    only then) and let that reader go with an empty file."""
    while not stop.is_set():
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader
            stop.wait(0.005)
            continue
        seen.append(True)
        os.close(fd)


@pytest.mark.parametrize("path_form", ["{path}", "file://{path}"])
def test_a_local_dtd_is_never_opened(tmp_path: Path, path_form: str) -> None:
    """libxml2 opens a DOCTYPE's DTD for attribute defaults even with
    load_dtd off; the parser's resolver answers first, so the file named
    (here a FIFO that notices a reader) is never opened."""
    fifo = tmp_path / "x.dtd"
    os.mkfifo(fifo)
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=_opened, args=(fifo, stop, seen), daemon=True)
    watcher.start()
    doctype = '<!DOCTYPE {root} SYSTEM "' + path_form.format(path=fifo) + '">'
    try:
        for fmt in ("newsml-g2", "sitemap"):
            result = parse_bytes(_doc(fmt, doctype, "a&nbsp;b"))
            assert result.format == fmt
            if fmt == "newsml-g2":
                assert result.items[0].headline == "a b"  # U+00A0, then cleaned
    finally:
        stop.set()
        watcher.join(5)
    assert seen == []


@pytest.mark.parametrize("fmt", list(BODIES))
def test_parameter_entity_dtd_refused(
    fmt: str, trap: tuple[str, list[str]], connects: list[Any]
) -> None:
    base, hits = trap
    doctype = '<!DOCTYPE {root} [<!ENTITY % p SYSTEM "' + base + '/p.dtd"> %p;]>'
    _refused(_doc(fmt, doctype, "&leak;"), "xml_entities")
    assert hits == [] and connects == []


def test_utf16_entity_bomb_refused() -> None:
    data = _doc("rss", LAUGHS, "&lol9;").replace(b'encoding="utf-8"', b'encoding="utf-16"')
    _refused(data.decode().encode("utf-16"), "xml_entities")


def test_utf7_refused() -> None:
    data = b'<?xml version="1.0" encoding="UTF-7"?>+ADw-rss version="2.0"+AD4-+ADw-/rss+AD4-'
    with pytest.raises(ParseError):
        parse_bytes(data, fmt="rss")


def test_netscape_rss091_doctype_is_tolerated_and_never_fetched(
    trap: tuple[str, list[str]], connects: list[Any]
) -> None:
    base, hits = trap
    data = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        f'"{base}/rss-0.91.dtd">\n'
        '<rss version="0.91"><channel><title>Old feed</title><link>https://example.org/</link>'
        "<item><title>Still here</title><link>https://example.org/a</link></item>"
        "</channel></rss>"
    ).encode()
    result = parse_bytes(data)
    assert [i.headline for i in result.items] == ["Still here"]
    assert hits == [] and connects == []


def test_entities_in_html_pages_are_not_expanded() -> None:
    html = (
        '<!DOCTYPE html [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
        "<html><body><article><h1>Title</h1>"
        + "".join(
            f"<p>&lol2; Paragraph {i} has enough words to count as the main text of the page.</p>"
            for i in range(6)
        )
        + "</article></body></html>"
    )
    result = parse_bytes(html.encode(), fmt="html")
    assert result.items
    assert "lollol" not in (result.items[0].body_text or "")


def test_nitf_body_with_entities_is_skipped_not_expanded() -> None:
    nitf = (
        '<!DOCTYPE nitf [<!ENTITY lol "lol"><!ENTITY l2 "&lol;&lol;&lol;">]>'
        "<nitf><body><body.content><p>&l2;</p></body.content></body></nitf>"
    )
    doc = (
        '{"uri": "urn:x:1", "versioncreated": "2024-01-01T00:00:00Z", '
        '"headlines": [{"value": "H"}],'
        ' "bodies": [{"contenttype": "application/nitf+xml", "value": ' + _json_str(nitf) + "}]}"
    )
    item = parse_bytes(doc.encode()).items[0]
    assert item.body_text is None and item.headline == "H"


def _json_str(value: str) -> str:
    import json

    return json.dumps(value)


def test_lxml_layer_is_safe_on_its_own(trap: tuple[str, list[str]], connects: list[Any]) -> None:
    """Defence in depth: even without the prolog check, the lxml parser
    configuration neither expands nor fetches, and the tree guard refuses
    declared entities; an external DTD is never read, and references to
    the entities it would declare become HTML's characters."""
    base, hits = trap
    bomb = _doc("newsml-g2", LAUGHS, "&lol9;")
    with pytest.raises(ParseError) as info:
        _xml.parse_xml(bomb)
    assert info.value.reason in ("xml_entities", "xml_syntax")
    external = _doc("newsml-g2", '<!DOCTYPE {root} [<!ENTITY x SYSTEM "' + base + '/x">]>', "&x;")
    with pytest.raises(ParseError):
        _xml.parse_xml(external)
    dtd = _doc("newsml-g2", '<!DOCTYPE {root} SYSTEM "' + base + '/d.dtd">',
               "a&nbsp;b&mdash;c&unknown;d")
    root = _xml.parse_xml(dtd)
    assert "".join(root.itertext()).endswith("a\u00a0b\u2014cd")
    assert hits == [] and connects == []


def test_doctype_larger_than_the_sniff_window_is_refused() -> None:
    doctype = "<!DOCTYPE rss [" + "<!-- padding -->" * 6000 + "]>"
    data = ('<?xml version="1.0"?>' + doctype + "<rss><channel/></rss>").encode()
    with pytest.raises(ParseError) as info:
        parse_bytes(data)
    assert info.value.reason in ("xml_doctype", "unknown_format")


def test_utf16_without_bom_entity_bomb_refused() -> None:
    doc = _doc("rss", LAUGHS, "&lol9;").decode().replace('encoding="utf-8"', 'encoding="utf-16"')
    for data in (doc.encode("utf-16-le"), ("  " + doc).encode("utf-16-be")):
        with pytest.raises(ParseError) as info:
            parse_bytes(data)
        assert info.value.reason in ("xml_entities", "unknown_format")
