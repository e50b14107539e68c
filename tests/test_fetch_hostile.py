"""Hostile servers: every fetch ends within ``fetch.timeout`` (plus a small margin)
whatever the server does, and holds a bounded amount of memory while it lasts.

Each test measures wall time around the fetch and tracemalloc's peak (every
thread's allocations, the fetch loop's included).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from monitor.errors import FetchError, FetchTimeout, TooLarge, TransportError
from monitor.feeds.fetch import Fetcher
from monitor.models import FetchResult
from tests.fakes.feed_server import DEFAULT_FEED, TLS_RECORD_HEAD, FeedServer, Tarpit

DEADLINE = 1.0
MARGIN = 0.5  # thread hand-offs, closing the connection, a loaded CI machine
MAX_BYTES = 1_000_000
MEMORY = 4 * MAX_BYTES  # the capped body, its join, and the client's own objects


@dataclass
class Measured:
    seconds: float
    peak: int
    result: FetchResult | None
    error: FetchError | None


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    # connect_timeout larger than the deadline: the deadline must win on its own
    with Fetcher(
        timeout=DEADLINE, connect_timeout=10.0, max_bytes=MAX_BYTES, allow_private=True
    ) as f:
        yield f


def measure(call: Callable[[], FetchResult]) -> Measured:
    tracemalloc.start()
    started = time.monotonic()
    result, error = None, None
    try:
        result = call()
    except FetchError as exc:
        error = exc
    finally:
        seconds = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return Measured(seconds, peak, result, error)


def assert_bounded(m: Measured, error: type[FetchError]) -> None:
    assert isinstance(m.error, error), m.error
    assert m.seconds < DEADLINE + MARGIN, f"took {m.seconds:.2f}s"
    assert m.peak < MEMORY, f"peak {m.peak:,} bytes"


def test_headers_dripped_one_byte_at_a_time_end_at_the_deadline(
    feeds: FeedServer, fetcher: Fetcher
) -> None:
    feeds.set_drip_head("/dh.xml", interval=0.05)  # ~200 header bytes: ~10 s in all
    m = measure(lambda: fetcher.fetch(feeds.url("/dh.xml")))
    assert_bounded(m, FetchTimeout)
    assert "1s" in str(m.error)


def test_a_dripped_body_ends_at_the_deadline(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set_slow("/drip.xml", 10.0, drip=True, interval=0.05)
    assert_bounded(measure(lambda: fetcher.fetch(feeds.url("/drip.xml"))), FetchTimeout)


def test_a_server_that_never_answers_ends_at_the_deadline(
    feeds: FeedServer, fetcher: Fetcher
) -> None:
    feeds.set_hang("/hang.xml")
    assert_bounded(measure(lambda: fetcher.fetch(feeds.url("/hang.xml"))), FetchTimeout)


def test_a_redirect_that_drips_ends_at_the_deadline(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set_feed("/new.xml", DEFAULT_FEED)
    feeds.set_drip_head(
        "/old.xml", b"", status=301, headers={"Location": feeds.url("/new.xml")}, interval=0.05
    )
    assert_bounded(measure(lambda: fetcher.fetch(feeds.url("/old.xml"))), FetchTimeout)


def test_redirects_each_quick_but_slow_together_end_at_the_deadline(
    feeds: FeedServer, fetcher: Fetcher
) -> None:
    # four hops of 0.4 s: each within any per-request timeout, 1.6 s in all
    for hop in range(4):
        feeds.set_slow(
            f"/hop{hop}.xml", 0.4, b"", status=302, headers={"Location": f"/hop{hop + 1}.xml"}
        )
    feeds.set_feed("/hop4.xml", DEFAULT_FEED)
    assert_bounded(measure(lambda: fetcher.fetch(feeds.url("/hop0.xml"))), FetchTimeout)
    assert feeds.count("/hop4.xml") == 0


def test_a_tls_handshake_that_drips_ends_at_the_deadline(fetcher: Fetcher) -> None:
    with Tarpit(TLS_RECORD_HEAD, interval=0.05) as tarpit:
        m = measure(lambda: fetcher.fetch(tarpit.url("https")))
        assert tarpit.connections == 1
    assert_bounded(m, FetchTimeout)


def test_a_tls_server_that_says_nothing_ends_at_the_deadline(fetcher: Fetcher) -> None:
    with Tarpit() as tarpit:
        m = measure(lambda: fetcher.fetch(tarpit.url("https")))
    assert_bounded(m, FetchTimeout)


def test_the_deadline_covers_the_whole_fetch_not_each_read() -> None:
    """A fetch that makes steady progress is still cut at the deadline: 2 s of body
    dripped every 50 ms, with a 0.7 s deadline."""
    with FeedServer() as server, Fetcher(timeout=0.7, allow_private=True) as f:
        server.set_slow("/steady.xml", 2.0, drip=True, interval=0.05)
        m = measure(lambda: f.fetch(server.url("/steady.xml")))
    assert isinstance(m.error, FetchTimeout)
    assert 0.6 < m.seconds < 0.7 + MARGIN


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_compression_bombs_are_cut_at_the_decoded_cap(
    feeds: FeedServer, fetcher: Fetcher, encoding: str
) -> None:
    feeds.set_bomb("/bomb.xml", 1 << 29, encoding=encoding)  # type: ignore[arg-type]
    m = measure(lambda: fetcher.fetch(feeds.url("/bomb.xml")))
    assert_bounded(m, TooLarge)
    assert "decoded" in str(m.error)


def test_a_small_gzip_body_is_decoded(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set_bomb("/zeros.xml", 1 << 20, encoding="gzip")  # 1 MiB decoded, 1 KiB sent
    with Fetcher(max_bytes=2 << 20, allow_private=True) as roomy:
        result = roomy.fetch(feeds.url("/zeros.xml"))
    assert result.body == bytes(1 << 20)
    sent = feeds.requests[-1]["headers"]["accept-encoding"]
    assert sent == "gzip, deflate"  # only what can be decoded under a cap is asked for


def test_an_encoding_that_was_not_asked_for_is_refused(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set_feed("/br.xml", b"\x8b\x02\x80hello\x03", headers={"Content-Encoding": "br"})
    with pytest.raises(TransportError, match="'br'"):
        fetcher.fetch(feeds.url("/br.xml"))


def test_a_huge_plain_body_is_cut_at_the_cap_with_bounded_memory(
    feeds: FeedServer, fetcher: Fetcher
) -> None:
    feeds.set_huge("/huge.xml", 200_000_000, with_length=False)
    assert_bounded(measure(lambda: fetcher.fetch(feeds.url("/huge.xml"))), TooLarge)
