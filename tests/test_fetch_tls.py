"""Feeds over TLS, against a local HTTPS server with a test certificate: the
handshake, certificate checks, and the deadline while a TLS answer drips."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from monitor.errors import FetchTimeout, TransportError
from monitor.feeds.fetch import Fetcher
from monitor.models import FetchResult, Validators
from tests.conftest import resolve_to_loopback
from tests.fakes.feed_server import DEFAULT_FEED, TLS_CERT, FeedServer


@pytest.fixture
def tls_feeds(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS_CERT))  # read when a Fetcher first connects
    with FeedServer(tls=True) as server:
        yield server


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_feed_over_tls(tls_feeds: FeedServer, host: str) -> None:
    tls_feeds.set_feed("/f.xml", DEFAULT_FEED)
    url = tls_feeds.url("/f.xml").replace("127.0.0.1", host)
    assert url.startswith("https://")
    with Fetcher(allow_private=True) as fetcher:
        first = fetcher.fetch(url)
        assert first.status == "ok" and first.body == DEFAULT_FEED
        assert fetcher.fetch(url, first.validators).status == "not_modified"
    clients = [r["client"] for r in tls_feeds.requests]
    assert clients[0] == clients[1]  # the TLS connection was kept


def test_many_feeds_over_tls_at_once(tls_feeds: FeedServer) -> None:
    for i in range(10):
        tls_feeds.set_feed(f"/f{i}.xml", DEFAULT_FEED)
    urls = [tls_feeds.url(f"/f{i}.xml") for i in range(10)]
    with Fetcher(per_host=3, allow_private=True) as fetcher:
        outcomes = dict(fetcher.fetch_all((u, u, Validators()) for u in urls))
    assert all(isinstance(o, FetchResult) and o.status == "ok" for o in outcomes.values())
    assert tls_feeds.max_in_flight <= 3


def test_a_certificate_that_is_not_trusted_is_refused(
    tls_feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    tls_feeds.set_feed("/f.xml", DEFAULT_FEED)
    with Fetcher(allow_private=True) as fetcher, pytest.raises(TransportError, match="certif"):
        fetcher.fetch(tls_feeds.url("/f.xml"))


def test_a_certificate_for_another_name_is_refused(
    tls_feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """feeds.example.com reaches the server, whose certificate names only localhost."""
    resolve_to_loopback(monkeypatch, "feeds.example.com")
    tls_feeds.set_feed("/f.xml", DEFAULT_FEED)
    url = tls_feeds.url("/f.xml").replace("127.0.0.1", "feeds.example.com")
    with Fetcher(allow_private=True) as fetcher, pytest.raises(TransportError) as info:
        fetcher.fetch(url)
    assert "feeds.example.com" in str(info.value)  # "Hostname mismatch … 'feeds.example.com'"


def test_headers_dripped_over_tls_end_at_the_deadline(tls_feeds: FeedServer) -> None:
    tls_feeds.set_drip_head("/dh.xml", interval=0.05)
    started = time.monotonic()
    with Fetcher(timeout=1.0, allow_private=True) as fetcher, pytest.raises(FetchTimeout):
        fetcher.fetch(tls_feeds.url("/dh.xml"))
    assert time.monotonic() - started < 1.5


def test_http2_where_the_server_offers_it_one_connection_per_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS_CERT))
    with FeedServer(http2=True) as server:
        for i in range(6):
            server.set_feed(f"/f{i}.xml", DEFAULT_FEED)
        urls = [server.url(f"/f{i}.xml") for i in range(6)]
        with Fetcher(per_host=2, allow_private=True) as fetcher:
            first = dict(fetcher.fetch_all((u, u, Validators()) for u in urls))
            known = {u: r.validators for u, r in first.items() if isinstance(r, FetchResult)}
            again = dict(fetcher.fetch_all((u, u, known[u]) for u in urls))
        assert {r.status for r in first.values() if isinstance(r, FetchResult)} == {"ok"}
        assert {r.status for r in again.values() if isinstance(r, FetchResult)} == {"not_modified"}
        requests = server.requests
    assert {r["http_version"] for r in requests} == {"HTTP/2"}
    assert len({r["client"] for r in requests[:6]}) == 1  # six feeds, one connection
