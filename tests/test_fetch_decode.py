"""Content-Encoding undone piece by piece (monitor/feeds/decode.py): every piece is at
most PIECE bytes, whatever the ratio, so the cap is checked before memory grows."""

from __future__ import annotations

import gzip
import zlib

import pytest

from monitor.errors import TooLarge, TransportError
from monitor.feeds.decode import PIECE, Body, Decoder

ITEM = b"<item><title>ransomware at a supplier</title></item>"
TEXT = b"<rss><channel>" + ITEM * 2000 + b"</channel></rss>"


def deflate(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


def decode(encoding: str, data: bytes, chunk: int = 1000) -> tuple[bytes, int]:
    """Decoded bytes and the largest piece, fed ``chunk`` bytes at a time."""
    decoder, pieces = Decoder(encoding), []
    for start in range(0, len(data), chunk):
        pieces += list(decoder.feed(data[start : start + chunk]))
    pieces += list(decoder.flush())
    return b"".join(pieces), max((len(p) for p in pieces), default=0)


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        ("", TEXT),
        ("identity", TEXT),
        ("gzip", gzip.compress(TEXT)),
        ("x-gzip", gzip.compress(TEXT)),
        ("GZIP", gzip.compress(TEXT)),
        ("deflate", deflate(TEXT, zlib.MAX_WBITS)),  # zlib-wrapped, as the RFC says
        ("deflate", deflate(TEXT, -zlib.MAX_WBITS)),  # raw, as some servers send it
        ("gzip", gzip.compress(TEXT[:5000]) + gzip.compress(TEXT[5000:])),  # two members
        ("gzip, gzip", gzip.compress(gzip.compress(TEXT))),  # applied twice
        ("deflate, gzip", gzip.compress(deflate(TEXT, zlib.MAX_WBITS))),
    ],
)
def test_encodings_we_ask_for_are_decoded(encoding: str, encoded: bytes) -> None:
    for chunk in (1, 7, 1000, len(encoded)):
        decoded, _ = decode(encoding, encoded, chunk)
        assert decoded == TEXT


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "gzip, gzip"])
def test_no_piece_is_larger_than_piece_whatever_the_ratio(encoding: str) -> None:
    zeros = bytes(20 * 2**20)  # 20 MiB: 20 kB compressed, ~1,000:1
    encoded = deflate(zeros, zlib.MAX_WBITS) if encoding == "deflate" else gzip.compress(zeros)
    if encoding == "gzip, gzip":
        encoded = gzip.compress(encoded)  # a bomb in a bomb
    decoded, largest = decode(encoding, encoded, chunk=64 * 1024)
    assert len(decoded) == len(zeros) and largest <= PIECE


def test_body_stops_at_the_cap_counting_decoded_bytes() -> None:
    body = Body(max_bytes=100_000)
    decoder = Decoder("gzip")
    with pytest.raises(TooLarge, match="decoded"):
        for piece in decoder.feed(gzip.compress(bytes(10**6))):
            body.add(piece)
    assert body.size <= 100_000 + PIECE


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, br"])
def test_encodings_we_did_not_ask_for_are_refused(encoding: str) -> None:
    with pytest.raises(TransportError, match="not asked for"):
        Decoder(encoding)


def test_a_corrupt_stream_is_a_transport_error() -> None:
    with pytest.raises(TransportError, match="corrupt"):
        decode("gzip", b"\x1f\x8b\x08\x00" + b"\xff" * 100)
