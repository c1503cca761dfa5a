"""Content-Encoding and the size cap: bodies are decoded incrementally and
bounded by output size, so compression bombs are refused without being
inflated in memory."""

from __future__ import annotations

import gzip
import os
import struct
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import brotli  # type: ignore[import-untyped]
import httpx
import pytest

from services.ingest.adapters.fetch import FeedFetcher
from shared.errors import FetchFailed, FetchRefused, ParseError
from shared.settings import IngestSettings
from tests.unit.ingest._servers import LoopbackServer, NetworkJail, Request, install_jail

pytestmark = pytest.mark.timeout(10)

MIB = 1 << 20
ZEROS = bytes(MIB)
CAP = IngestSettings().max_bytes  # the real default: 10 MB
TEXT = b"<rss><channel><title>Wire</title>" + b"<item>news</item>" * 500 + b"</channel></rss>"


@pytest.fixture(autouse=True)
def jail(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkJail]:
    jail = install_jail(monkeypatch)
    yield jail
    assert jail.violations == []


def settings(**overrides: Any) -> IngestSettings:
    base: dict[str, Any] = {"allow_loopback": True, "read_timeout": 5.0, "total_timeout": 8.0}
    return IngestSettings(**{**base, **overrides})


# --- building bombs with bounded memory ----------------------------------------------
# Compressing 1 GiB of zeros takes seconds; instead compress 1 MiB blocks with
# a sync flush. Once the window is all zeros every further block compresses to
# the same bytes, so the stream is that block repeated. Checksums are summed
# block by block. The compressed result is ~1 MB; nothing holds 1 GiB.


def raw_deflate_zeros(mib: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = c.compress(ZEROS) + c.flush(zlib.Z_SYNC_FLUSH)
    steady = c.compress(ZEROS) + c.flush(zlib.Z_SYNC_FLUSH)
    last = c.compress(ZEROS) + c.flush(zlib.Z_FINISH)
    return first + steady * (mib - 2) + last


def gzip_zeros(mib: int) -> bytes:
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(ZEROS, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (mib * MIB) & 0xFFFFFFFF)
    return header + raw_deflate_zeros(mib) + trailer


def zlib_zeros(mib: int) -> bytes:
    adler = 1
    for _ in range(mib):
        adler = zlib.adler32(ZEROS, adler)
    return b"\x78\xda" + raw_deflate_zeros(mib) + struct.pack(">I", adler)


def brotli_zeros(mib: int) -> bytes:
    c = brotli.Compressor(quality=1)
    parts = [c.process(ZEROS) for _ in range(mib)]
    return b"".join([*parts, c.finish()])


@pytest.mark.parametrize(
    ("build", "decompress"),
    [
        (raw_deflate_zeros, lambda b: zlib.decompress(b, -zlib.MAX_WBITS)),
        (gzip_zeros, gzip.decompress),
        (zlib_zeros, zlib.decompress),
        (brotli_zeros, brotli.decompress),
    ],
)
def test_bomb_builders_are_honest(build: Any, decompress: Any) -> None:
    """The same construction at 8 MiB is a valid stream of exactly 8 MiB of
    zeros (checksums included), so the 1 GiB ones are real bombs."""
    assert decompress(build(8)) == bytes(8 * MIB)


@pytest.fixture(scope="module")
def bombs() -> dict[str, tuple[str, bytes]]:
    gib = 1024
    gz = gzip_zeros(gib)
    br = brotli_zeros(gib)
    return {
        "gzip": ("gzip", gz),
        "deflate-zlib": ("deflate", zlib_zeros(gib)),
        "deflate-raw": ("deflate", raw_deflate_zeros(gib)),
        "br": ("br", br),
        # Nested: each outer layer is small, the innermost is the bomb.
        "gzip-in-gzip": ("gzip, gzip", gzip.compress(gz, compresslevel=1)),
        "br-then-gzip": ("br, gzip", gzip.compress(br, compresslevel=1)),
    }


@pytest.mark.parametrize(
    "name", ["gzip", "deflate-zlib", "deflate-raw", "br", "gzip-in-gzip", "br-then-gzip"]
)
def test_compression_bombs_are_refused_in_bounded_memory(
    name: str, bombs: dict[str, tuple[str, bytes]]
) -> None:
    encoding, body = bombs[name]
    assert len(body) < 2 * MIB  # 1 GiB inside

    def app(req: Request) -> None:
        req.reply(200, body, {"Content-Encoding": encoding})

    with LoopbackServer(app) as srv, FeedFetcher(settings()) as f:
        tracemalloc.start()
        try:
            with pytest.raises(FetchRefused) as info:
                f.fetch(srv.url("/bomb"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert info.value.reason == "too_large"
    # Inflated no further than the cap (plus one slice), never the gigabyte.
    assert peak < 3 * CAP, f"peak {peak / MIB:.1f} MiB"


# --- ordinary encodings ----------------------------------------------------------


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


ENCODED: dict[str, tuple[str, bytes]] = {
    "identity": ("identity", TEXT),
    "gzip": ("gzip", gzip.compress(TEXT)),
    "x-gzip": ("x-gzip", gzip.compress(TEXT)),
    "GZIP upper": ("GZIP", gzip.compress(TEXT)),
    "deflate (zlib)": ("deflate", zlib.compress(TEXT)),
    "deflate (raw)": ("deflate", _raw_deflate(TEXT)),
    "br": ("br", brotli.compress(TEXT)),
    "gzip then br": ("gzip, br", brotli.compress(gzip.compress(TEXT))),
    "deflate then gzip": ("deflate, gzip", gzip.compress(zlib.compress(TEXT))),
    "identity, gzip": ("identity, gzip", gzip.compress(TEXT)),
    "gzip members": ("gzip", gzip.compress(TEXT[:100]) + gzip.compress(TEXT[100:])),
    "gzip + trailing junk": ("gzip", gzip.compress(TEXT) + b"\x00\x00junk"),
}


@pytest.mark.parametrize("case", list(ENCODED))
def test_encodings_are_decoded(case: str) -> None:
    encoding, body = ENCODED[case]

    def app(req: Request) -> None:
        req.reply(200, body, {"Content-Encoding": encoding, "Content-Type": "application/xml"})

    with LoopbackServer(app) as srv, FeedFetcher(settings()) as f:
        result = f.fetch(srv.url("/"))
    assert result.body == TEXT
    assert result.wire_bytes == len(body)
    assert srv.seen[0].headers["accept-encoding"] == "gzip, deflate, br"


class _Drip(httpx.SyncByteStream):
    """Yields the body one byte at a time (headers split across chunks)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def __iter__(self) -> Iterator[bytes]:
        for i in range(len(self._data)):
            yield self._data[i : i + 1]


@pytest.mark.parametrize("case", list(ENCODED))
def test_decoding_is_incremental(case: str) -> None:
    encoding, body = ENCODED[case]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": encoding}, stream=_Drip(body))

    with FeedFetcher(settings(), transport=httpx.MockTransport(handler)) as f:
        assert f.fetch("https://feeds.example/").body == TEXT


def test_empty_body_with_an_encoding_is_empty() -> None:
    with (
        LoopbackServer(lambda req: req.reply(200, b"", {"Content-Encoding": "gzip"})) as srv,
        FeedFetcher(settings()) as f,
    ):
        assert f.fetch(srv.url("/")).body == b""


# --- bad encodings -----------------------------------------------------------------


def _fetch_encoded(body: bytes, encoding: str, **overrides: Any) -> Any:
    def app(req: Request) -> None:
        req.reply(200, body, {"Content-Encoding": encoding})

    with LoopbackServer(app) as srv, FeedFetcher(settings(**overrides)) as f:
        return f.fetch(srv.url("/"))


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (TEXT, "gzip"),  # not gzip at all
        (gzip.compress(TEXT)[:10] + b"\xff" * 50, "gzip"),  # corrupt after the header
        (b"\x78\x9c" + b"\xff" * 40, "deflate"),
        (b"\xff\xff\xff garbage", "br"),
        (brotli.compress(TEXT) + b"junk", "br"),
    ],
)
def test_corrupt_encoding_is_a_parse_error(body: bytes, encoding: str) -> None:
    with pytest.raises(ParseError) as info:
        _fetch_encoded(body, encoding)
    assert info.value.reason == "bad_content_encoding"


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (gzip.compress(os.urandom(4000))[:-100], "gzip"),
        (zlib.compress(os.urandom(4000))[:-100], "deflate"),
        (brotli.compress(os.urandom(4000))[:-100], "br"),
    ],
)
def test_truncated_stream_is_transient(body: bytes, encoding: str) -> None:
    with pytest.raises(FetchFailed) as info:
        _fetch_encoded(body, encoding)
    assert info.value.reason == "truncated_body"


@pytest.mark.parametrize("encoding", ["zstd", "compress", "gzip, snappy", "gzip, gzip, gzip, gzip"])
def test_unsupported_encoding(encoding: str) -> None:
    with pytest.raises(ParseError) as info:
        _fetch_encoded(b"whatever", encoding)
    assert info.value.reason == "unsupported_content_encoding"


# --- the cap on both sides of the decoder ---------------------------------------------


def test_decoded_size_exactly_at_cap_passes_one_more_byte_fails() -> None:
    cap = 100_000
    exact = gzip.compress(b"a" * cap)
    assert len(_fetch_encoded(exact, "gzip", max_bytes=cap).body) == cap
    with pytest.raises(FetchRefused) as info:
        _fetch_encoded(gzip.compress(b"a" * (cap + 1)), "gzip", max_bytes=cap)
    assert info.value.reason == "too_large"


def test_wire_size_is_capped_too() -> None:
    """Incompressible data: the compressed body itself is over the cap. No
    Content-Length, so only the streaming count can stop it."""
    body = gzip.compress(os.urandom(300_000), compresslevel=1)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=_Drip(body))

    transport = httpx.MockTransport(handler)
    with (
        FeedFetcher(settings(max_bytes=1000), transport=transport) as f,
        pytest.raises(FetchRefused) as info,
    ):
        f.fetch("https://feeds.example/")
    assert info.value.reason == "too_large"
