"""Incremental, bounded decoding of a response body's ``Content-Encoding``
(gzip, deflate zlib-wrapped or raw, brotli, stacked up to three deep): each
layer gives out at most ``cap`` bytes (:class:`TooLarge` past it), works in
small slices so a compression bomb never gets a large allocation, and says
when a stream ended before its end marker (:class:`Truncated`). The fetcher
(services.ingest.adapters.fetch) maps these to its exception tree."""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli  # type: ignore[import-untyped]

from shared.errors import ParseError

__all__ = ["DECODE_ERRORS", "Layer", "TooLarge", "Truncated", "decoder"]

# A corrupt stream, as each library says it.
DECODE_ERRORS: tuple[type[Exception], ...] = (zlib.error, brotli.error)

# Output slice for one decompressor call: small enough that a bomb never gets
# a large allocation out of one call, large enough to keep the loop cheap.
_STEP = 64 * 1024
# More stacked encodings than this is an attack, not a server configuration.
_MAX_ENCODINGS = 3


class TooLarge(Exception):
    """A decoder produced more than its cap."""


class Truncated(Exception):
    """The compressed stream ended before its end marker."""


class Layer(Protocol):
    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> None: ...


class _Counter:
    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._total = 0

    def add(self, chunk: bytes) -> bytes:
        self._total += len(chunk)
        if self._total > self._cap:
            raise TooLarge
        return chunk


class _ZlibLayer:
    """gzip (``mode="gzip"``; concatenated members allowed) or deflate
    (``mode="deflate"``: zlib-wrapped or raw, told apart by the header).
    Bytes after the end of the stream are ignored, as browsers do."""

    def __init__(self, mode: str, cap: int) -> None:
        self._mode = mode
        self._count = _Counter(cap)
        self._obj: zlib._Decompress | None = None
        self._pending = b""
        self._seen_input = False
        self._done = False

    def _begin(self, buf: bytes) -> bool:
        """Start a decompressor (the first, or the next gzip member) at
        ``buf``. False if more bytes are needed (kept) or the rest is junk."""
        first = self._obj is None
        if not first and self._mode == "deflate":
            self._done = True
            return False
        if len(buf) < 2:
            self._pending = buf
            return False
        if self._mode == "gzip":
            if buf[:2] != b"\x1f\x8b":
                if first:
                    raise zlib.error("not a gzip stream")
                self._done = True
                return False
            wbits = 16 + zlib.MAX_WBITS
        else:
            cmf, flg = buf[0], buf[1]
            is_zlib = cmf & 0x0F == 8 and cmf >> 4 <= 7 and ((cmf << 8) | flg) % 31 == 0
            wbits = zlib.MAX_WBITS if is_zlib else -zlib.MAX_WBITS
        self._obj = zlib.decompressobj(wbits)
        return True

    def feed(self, data: bytes) -> bytes:
        self._seen_input = self._seen_input or bool(data)
        out: list[bytes] = []
        buf = self._pending + data
        self._pending = b""
        while buf and not self._done:
            if (self._obj is None or self._obj.eof) and not self._begin(buf):
                break
            assert self._obj is not None
            chunk = self._obj.decompress(buf, _STEP)
            out.append(self._count.add(chunk))
            buf = self._obj.unconsumed_tail
            # A full slice may leave output buffered inside zlib: drain it.
            while len(chunk) == _STEP and not buf and not self._obj.eof:
                chunk = self._obj.decompress(b"", _STEP)
                out.append(self._count.add(chunk))
                buf = self._obj.unconsumed_tail
            if self._obj.eof:
                buf = self._obj.unused_data
        return b"".join(out)

    def finish(self) -> None:
        if self._seen_input and (self._obj is None or not self._obj.eof) and not self._done:
            raise Truncated


class _BrotliLayer:
    """brotli; unlike gzip, bytes after the end of the stream are an error
    (the decoder rejects them when they arrive in the same chunk)."""

    def __init__(self, cap: int) -> None:
        self._count = _Counter(cap)
        self._obj = brotli.Decompressor()
        self._seen_input = False

    def feed(self, data: bytes) -> bytes:
        self._seen_input = self._seen_input or bool(data)
        if self._obj.is_finished() and data:
            # What the decoder itself says when junk follows in the same call.
            raise brotli.error("data after the end of the brotli stream")
        out = [self._count.add(self._obj.process(data, output_buffer_limit=_STEP))]
        while not self._obj.can_accept_more_data():
            chunk = self._obj.process(b"", output_buffer_limit=_STEP)
            if not chunk:
                break
            out.append(self._count.add(chunk))
        return b"".join(out)

    def finish(self) -> None:
        if self._seen_input and not self._obj.is_finished():
            raise Truncated


class _Identity:
    def feed(self, data: bytes) -> bytes:
        return data

    def finish(self) -> None:
        return None


class _Chain:
    """Undo encodings in reverse order of application (RFC 9110 §8.4)."""

    def __init__(self, layers: list[Layer]) -> None:
        self._layers = layers

    def feed(self, data: bytes) -> bytes:
        for layer in self._layers:
            data = layer.feed(data)
        return data

    def finish(self) -> None:
        for layer in self._layers:
            layer.finish()


def decoder(encodings: list[str], cap: int) -> Layer:
    """The decoder for a ``Content-Encoding`` list, each layer capped at
    ``cap`` output bytes."""
    names = [e.strip().lower() for e in encodings if e.strip().lower() not in ("", "identity")]
    if len(names) > _MAX_ENCODINGS:
        raise ParseError(
            f"{len(names)} stacked content encodings", reason="unsupported_content_encoding"
        )
    layers: list[Layer] = []
    for name in reversed(names):
        if name in ("gzip", "x-gzip"):
            layers.append(_ZlibLayer("gzip", cap))
        elif name == "deflate":
            layers.append(_ZlibLayer("deflate", cap))
        elif name == "br":
            layers.append(_BrotliLayer(cap))
        else:
            raise ParseError(
                f"unsupported Content-Encoding {name!r}", reason="unsupported_content_encoding"
            )
    return _Chain(layers) if layers else _Identity()
