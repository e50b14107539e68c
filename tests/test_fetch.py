import time
from email.utils import formatdate

import httpx
import pytest

from monitor.errors import FetchTimeout, HTTPStatusError, TooLarge, TransportError
from monitor.feeds.fetch import Fetcher
from monitor.feeds.http import fresh_for
from monitor.models import FetchResult, Validators
from tests.conftest import NIO_A, rss
from tests.fakes.feed_server import FeedServer


@pytest.fixture
def fetcher() -> Fetcher:
    with Fetcher(timeout=1.0, connect_timeout=0.5, max_bytes=1_000_000, allow_private=True) as f:
        yield f


def test_etag_gives_304_and_no_body(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set_feed("/f.xml", rss([NIO_A]))
    first = fetcher.fetch(feeds.url("/f.xml"))
    assert first.status == "ok" and first.body and first.etag
    second = fetcher.fetch(
        feeds.url("/f.xml"), Validators(first.etag, first.last_modified, first.content_hash)
    )
    assert second.status == "not_modified" and second.body is None
    assert feeds.requests[-1]["headers"]["if-none-match"] == first.etag
    assert "monitor/" in feeds.requests[-1]["headers"]["user-agent"]


def test_one_connection_serves_every_fetch_of_a_host(feeds: FeedServer) -> None:
    """Keep-alive, 304s included: an unread 304 would make httpcore drop the connection."""
    feeds.set_feed("/a.xml", rss([NIO_A]))
    feeds.set_feed("/b.xml", rss([NIO_A], title="b"))
    urls = [feeds.url("/a.xml"), feeds.url("/b.xml")]
    with Fetcher(per_host=1, allow_private=True) as fetcher:
        known = {}
        for url, result in fetcher.fetch_all((u, u, Validators()) for u in urls):
            assert isinstance(result, FetchResult) and result.status == "ok"
            known[url] = result.validators
        for _, result in fetcher.fetch_all((u, u, known[u]) for u in urls):
            assert isinstance(result, FetchResult) and result.status == "not_modified"
    assert [r["status"] for r in feeds.requests] == [200, 200, 304, 304]
    clients = [r["client"] for r in feeds.requests]
    assert clients[0] == clients[1] and clients[2] == clients[3]  # one connection per poll
    assert clients[1] != clients[2]  # closed when its poll ended


def test_unchanged_body_without_etag_skips_parse(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set_feed("/f.xml", rss([NIO_A]), etag=False)
    first = fetcher.fetch(feeds.url("/f.xml"))
    again = fetcher.fetch(feeds.url("/f.xml"), Validators(None, None, first.content_hash))
    assert again.status == "unchanged" and again.body is None
    feeds.set_feed("/f.xml", rss([NIO_A], title="changed"), etag=False)
    changed = fetcher.fetch(feeds.url("/f.xml"), Validators(None, None, first.content_hash))
    assert changed.status == "ok" and changed.body


def test_last_modified_conditional_get(feeds: FeedServer, fetcher: Fetcher) -> None:
    stamp = "Tue, 20 Dec 2022 10:00:00 GMT"
    feeds.set_feed("/lm.xml", rss([NIO_A]), etag=False, last_modified=stamp)
    first = fetcher.fetch(feeds.url("/lm.xml"))
    assert first.last_modified == stamp
    second = fetcher.fetch(feeds.url("/lm.xml"), Validators(None, stamp, first.content_hash))
    assert second.status == "not_modified"


@pytest.mark.parametrize("status", [404, 410, 500, 503])
def test_http_errors(feeds: FeedServer, fetcher: Fetcher, status: int) -> None:
    feeds.set_status("/e.xml", status)
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(feeds.url("/e.xml"))
    assert info.value.status == status


def test_429_carries_retry_after(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set_status("/r.xml", 429, headers={"Retry-After": "120"})
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(feeds.url("/r.xml"))
    assert info.value.retry_after == 120


def test_slow_server_times_out(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set_slow("/slow.xml", 5.0)
    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetcher.fetch(feeds.url("/slow.xml"))
    assert time.monotonic() - started < 3


def test_dripping_server_hits_the_total_deadline(feeds: FeedServer, fetcher: Fetcher) -> None:
    # each chunk arrives within the read timeout, but the whole takes too long
    feeds.set_slow("/drip.xml", 4.0, drip=True, interval=0.2)
    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetcher.fetch(feeds.url("/drip.xml"))
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("with_length", [True, False])
def test_oversized_body_is_refused(feeds: FeedServer, fetcher: Fetcher, with_length: bool) -> None:
    feeds.set_huge("/huge.xml", 20_000_000, with_length=with_length)
    with pytest.raises(TooLarge):
        fetcher.fetch(feeds.url("/huge.xml"))


def test_connection_refused_and_dropped(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set_drop("/drop.xml")
    with pytest.raises(TransportError):
        fetcher.fetch(feeds.url("/drop.xml"))
    with pytest.raises(TransportError):
        fetcher.fetch("http://127.0.0.1:9/nothing-listens-here")


def test_redirect_is_followed(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set_feed("/new.xml", rss([NIO_A]))
    feeds.set_redirect("/old.xml", feeds.url("/new.xml"))
    assert fetcher.fetch(feeds.url("/old.xml")).status == "ok"


def test_local_file(tmp_path, fetcher: Fetcher) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "f.xml"
    path.write_bytes(rss([NIO_A]))
    first = fetcher.fetch(str(path))
    assert first.status == "ok"
    assert (
        fetcher.fetch(f"file://{path}", Validators(None, None, first.content_hash)).status
        == "unchanged"
    )
    with pytest.raises(TransportError):
        fetcher.fetch(str(tmp_path / "missing.xml"))


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Cache-Control": "max-age=600"}, 600.0),
        ({"Cache-Control": "public, max-age=600, must-revalidate"}, 600.0),
        ({"Cache-Control": 'max-age="900"'}, 900.0),
        ({"Cache-Control": "max-age=600", "Age": "100"}, 500.0),  # a cache kept it 100 s
        ({"Cache-Control": "max-age=60", "Age": "100"}, 0.0),
        ({"Cache-Control": "no-cache"}, 0.0),
        ({"Cache-Control": "no-store, max-age=600"}, 0.0),
        ({"Cache-Control": "max-age=soon"}, None),
        ({"Cache-Control": "max-age=600", "Expires": formatdate(NOW + 60, usegmt=True)}, 600.0),
        (
            {"Expires": formatdate(NOW + 3600, usegmt=True), "Date": formatdate(NOW, usegmt=True)},
            3600.0,
        ),
        (
            {"Expires": formatdate(NOW - 60, usegmt=True), "Date": formatdate(NOW, usegmt=True)},
            0.0,
        ),
        ({"Expires": "0"}, 0.0),  # not a date: already stale (RFC 9111)
    ],
)
def test_fresh_for(headers: dict[str, str], expected: float | None) -> None:
    assert fresh_for(httpx.Headers(headers)) == expected


def test_expires_without_date_counts_from_now() -> None:
    expires = formatdate(time.time() + 300, usegmt=True)
    got = fresh_for(httpx.Headers({"Expires": expires}))
    assert got is not None and 295 <= got <= 300


def test_fresh_for_reaches_the_result_on_200_and_304(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.set_feed("/c.xml", rss([NIO_A]), headers={"Cache-Control": "max-age=1800"})
    first = fetcher.fetch(feeds.url("/c.xml"))
    assert first.status == "ok" and first.fresh_for == 1800
    again = fetcher.fetch(feeds.url("/c.xml"), first.validators)
    assert again.status == "not_modified" and again.fresh_for == 1800
    feeds.set_feed("/plain.xml", rss([NIO_A]))
    assert fetcher.fetch(feeds.url("/plain.xml")).fresh_for is None


def test_503_carries_an_http_date_retry_after(feeds: FeedServer, fetcher: Fetcher) -> None:
    later = formatdate(time.time() + 600, usegmt=True)
    feeds.set_status("/busy.xml", 503, headers={"Retry-After": later})
    with pytest.raises(HTTPStatusError) as info:
        fetcher.fetch(feeds.url("/busy.xml"))
    assert info.value.retry_after is not None and 590 < info.value.retry_after <= 600


def test_redirect_result_names_where_the_feed_came_from(
    feeds: FeedServer, fetcher: Fetcher
) -> None:
    feeds.set_feed("/moved.xml", rss([NIO_A]))
    feeds.set_redirect("/here.xml", "/moved.xml", status=308)  # a relative Location
    result = fetcher.fetch(feeds.url("/here.xml"))
    assert result.url == feeds.url("/moved.xml")
