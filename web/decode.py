"""Bounded streaming decoding of Content-Encoding chains (gzip, deflate, br, zstd).

Every stage emits output in pieces of at most ``PIECE`` bytes, pulling input only when it has
drained its current output, so memory stays bounded however large the expansion ratio (a 1 GB
gzip bomb never exists in memory at once). The caller counts decoded bytes and stops at its cap.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator

import brotli
import zstandard

from transforms.errors import NetworkError

PIECE = 64 * 1024
# zstd's Python API has no output limit; one RLE block can expand 4 bytes into 128 KiB, so feeding
# at most _ZSTD_SLICE input bytes per call bounds one call's output to about 8 MiB.
_ZSTD_SLICE = 256


class DecodeError(NetworkError):
    """The body is not valid data for its declared Content-Encoding."""


class UnsupportedEncoding(NetworkError):
    """A Content-Encoding token we do not decode."""


def parse_encodings(header: str | None) -> list[str]:
    """Content-Encoding tokens in the order they were applied, identity dropped, lowercased."""
    if not header:
        return []
    tokens = [t.strip().lower() for t in header.split(",")]
    return [t for t in tokens if t and t != "identity"]


def _gzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    fed = False
    for chunk in chunks:
        data = chunk
        while data:
            fed = True
            try:
                out = decoder.decompress(data, PIECE)
            except zlib.error as exc:
                raise DecodeError(f"gzip: {exc}") from exc
            if out:
                yield out
            if decoder.eof:
                # Concatenated gzip members are legal; anything else after the end is junk we drop.
                rest = decoder.unused_data
                decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
                fed = False
                data = rest if rest[:2] == b"\x1f\x8b" else b""
            else:
                data = decoder.unconsumed_tail
    # A stream cut short would otherwise pass as a shorter, "successful" body.
    if fed and not decoder.eof:
        raise DecodeError("gzip: truncated stream")


def _deflate(chunks: Iterable[bytes]) -> Iterator[bytes]:
    # "deflate" should be zlib-wrapped, but many servers send raw deflate; decide on the first bytes.
    decoder: zlib._Decompress | None = None
    for chunk in chunks:
        data = chunk
        if decoder is None:
            if not data:
                continue
            wrapped = len(data) >= 2 and (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0
            decoder = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        while data and not decoder.eof:
            try:
                out = decoder.decompress(data, PIECE)
            except zlib.error as exc:
                raise DecodeError(f"deflate: {exc}") from exc
            if out:
                yield out
            data = decoder.unconsumed_tail
    if decoder is not None and not decoder.eof:
        raise DecodeError("deflate: truncated stream")


def _brotli(chunks: Iterable[bytes]) -> Iterator[bytes]:
    decoder = brotli.Decompressor()
    fed = False
    try:
        for chunk in chunks:
            if not chunk:
                continue
            fed = True
            out = decoder.process(chunk, output_buffer_limit=PIECE)
            if out:
                yield out
            # Drain what the limit held back before feeding more input (the API requires it).
            while not decoder.is_finished():
                out = decoder.process(b"", output_buffer_limit=PIECE)
                if not out:
                    break
                yield out
    except brotli.error as exc:
        raise DecodeError(f"br: {exc}") from exc
    if fed and not decoder.is_finished():
        raise DecodeError("br: truncated stream")


def _zstd(chunks: Iterable[bytes]) -> Iterator[bytes]:
    decoder = zstandard.ZstdDecompressor().decompressobj()
    fed = False
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            for start in range(0, len(view), _ZSTD_SLICE):
                fed = True
                out = decoder.decompress(view[start : start + _ZSTD_SLICE].tobytes())
                for offset in range(0, len(out), PIECE):
                    yield out[offset : offset + PIECE]
    except zstandard.ZstdError as exc:
        raise DecodeError(f"zstd: {exc}") from exc
    if fed and not decoder.eof:
        raise DecodeError("zstd: truncated stream")


_DECODERS: dict[str, Callable[[Iterable[bytes]], Iterator[bytes]]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
    "br": _brotli,
    "zstd": _zstd,
}


def decode_stream(chunks: Iterable[bytes], encodings: list[str]) -> Iterator[bytes]:
    """Undo ``encodings`` (in applied order) lazily over ``chunks``; raises UnsupportedEncoding early."""
    unknown = [e for e in encodings if e not in _DECODERS]
    if unknown:
        raise UnsupportedEncoding(f"unsupported Content-Encoding {', '.join(unknown)}")
    stream: Iterable[bytes] = chunks
    for encoding in reversed(encodings):
        stream = _DECODERS[encoding](stream)
    return iter(stream)


def looks_compressed(body: bytes) -> str | None:
    """The compression format whose magic bytes start ``body`` (for bodies sent without an encoding)."""
    if body[:3] == b"\x1f\x8b\x08":
        return "gzip"
    if body[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    return None
