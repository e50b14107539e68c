"""Content-Encoding undone in small pieces, so a body is capped by its *decoded* size.

httpx decodes each network chunk in one call: a 64 KiB chunk of a gzip bomb
(1,000:1) becomes 64 MB in memory before anyone can look at its size. Here each
``decompress`` call is given ``max_length=PIECE``; what it could not take yet stays
in ``unconsumed_tail`` and is fed again, so no step holds more than one piece of
output, and the caller checks the cap after each piece.

Only what we can cap is asked for: ``ACCEPT_ENCODING``. A server that answers with
another encoding anyway (br, zstd, compress) gets a clear error, not a guess.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator, Sequence

from ..errors import TooLarge, TransportError

ACCEPT_ENCODING = "gzip, deflate"
PIECE = 64 * 1024  # most decoded bytes made by one decompress call
_GZIP = 16 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW = -zlib.MAX_WBITS


class _Inflate:
    """gzip (members one after another, as RFC 1952 allows) or deflate: zlib-wrapped,
    as the RFC says, or raw, as some servers send it (told apart by the first two
    bytes, a zlib header or not)."""

    def __init__(self, wbits: int) -> None:
        self.wbits = wbits
        # deflate: the first bytes, kept until there are two to tell the kind by
        self.head: bytes | None = b"" if wbits == _ZLIB else None
        self.inflater = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.head is not None:
            self.head += data
            if len(self.head) < 2:
                return
            data, self.head = self.head, None
            if not _zlib_header(data):
                self.wbits, self.inflater = _RAW, zlib.decompressobj(_RAW)
        while data:
            try:
                out = self.inflater.decompress(data, PIECE)
            except zlib.error as exc:
                raise TransportError(f"the compressed body is corrupt: {exc}") from exc
            data = self.inflater.unconsumed_tail
            if out:
                yield out
            if self.inflater.eof:
                data = self.inflater.unused_data
                if self.wbits != _GZIP or not data.startswith(b"\x1f\x8b"):
                    return  # trailing bytes after the stream: ignored, as browsers do
                self.inflater = zlib.decompressobj(_GZIP)

    def flush(self) -> Iterator[bytes]:
        # output still held inside zlib (at most a match, 258 bytes, per call)
        while not self.inflater.eof:
            out = self.inflater.decompress(b"", PIECE)
            if not out:
                return
            yield out


def _zlib_header(head: bytes) -> bool:
    """RFC 1950: compression method 8 and a header that is a multiple of 31."""
    return head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0


class Decoder:
    """Undoes the encodings named in ``Content-Encoding`` (listed in the order the
    server applied them), piece by piece."""

    def __init__(self, content_encoding: str) -> None:
        self.stages: list[_Inflate] = []
        for name in reversed([n.strip().lower() for n in content_encoding.split(",")]):
            if name in ("", "identity"):
                continue
            if name in ("gzip", "x-gzip"):
                self.stages.append(_Inflate(_GZIP))
            elif name == "deflate":
                self.stages.append(_Inflate(_ZLIB))
            else:
                raise TransportError(
                    f"the server sent Content-Encoding {name!r}, which was not asked for "
                    f"(we accept {ACCEPT_ENCODING})"
                )

    def feed(self, data: bytes) -> Iterator[bytes]:
        return _through(self.stages, data)

    def flush(self) -> Iterator[bytes]:
        for i, stage in enumerate(self.stages):
            for piece in stage.flush():
                yield from _through(self.stages[i + 1 :], piece)


def _through(stages: Sequence[_Inflate], data: bytes) -> Iterator[bytes]:
    if not stages:
        if data:
            yield data
        return
    for piece in stages[0].feed(data):
        yield from _through(stages[1:], piece)


class Body:
    """Decoded bytes gathered up to a cap; the content hash is computed on the way."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.parts: list[bytes] = []
        self.hash = hashlib.blake2b(digest_size=16)

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size > self.max_bytes:
            raise TooLarge(f"body passed the {self.max_bytes:,}-byte cap (decoded)")
        self.parts.append(piece)
        self.hash.update(piece)

    def bytes(self) -> bytes:
        data = b"".join(self.parts)
        self.parts = [data]
        return data

    def digest(self) -> str:
        return self.hash.hexdigest()


def content_hash(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()
