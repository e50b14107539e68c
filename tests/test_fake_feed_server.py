"""Tests for the fake feed server used by the fetcher tests (tests/fakes/feed_server.py).

Everything goes through httpx, the HTTP client the daemon uses, so these tests
also document how each fault looks from the client side.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

try:
    from tests.fakes.feed_server import (
        DEFAULT_FEED,
        TLS_CERT,
        TLS_RECORD_HEAD,
        FeedServer,
        Tarpit,
        guess_feed_content_type,
        serve_directory,
    )
except ModuleNotFoundError:  # pytest run with only tests/ on sys.path
    from fakes.feed_server import (  # type: ignore[no-redef,import-not-found,unused-ignore]
        DEFAULT_FEED,
        TLS_CERT,
        TLS_RECORD_HEAD,
        FeedServer,
        Tarpit,
        guess_feed_content_type,
        serve_directory,
    )

REAL_CORPUS = Path("/work/shared/corpus/feeds/real")

RSS_V1 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title><item><title>one</title></item></channel></rss>
"""
RSS_V2 = RSS_V1.replace(b"<title>one</title>", b"<title>one</title></item><item><title>two</title>")
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<!-- a comment before the root -->
<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title></feed>
"""
LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0) as c:
        yield c


def test_base_url_and_url(server: FeedServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.port > 0
    assert server.url("/x") == server.base_url + "/x"
    assert server.url("x") == server.base_url + "/x"


def test_etag_conditional_get(server: FeedServer, client: httpx.Client) -> None:
    server.set_feed("/feed", RSS_V1)
    r1 = client.get(server.url("/feed"))
    assert r1.status_code == 200
    assert r1.content == RSS_V1
    assert r1.headers["content-type"].startswith("application/rss+xml")
    etag = r1.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert server.etag_for("/feed") == etag

    r2 = client.get(server.url("/feed"), headers={"If-None-Match": etag})
    assert r2.status_code == 304
    assert r2.content == b""
    assert r2.headers["etag"] == etag

    # A non-matching tag still gets the full body.
    r3 = client.get(server.url("/feed"), headers={"If-None-Match": '"stale"'})
    assert r3.status_code == 200 and r3.content == RSS_V1

    server.set_feed("/feed", RSS_V2)
    r4 = client.get(server.url("/feed"), headers={"If-None-Match": etag})
    assert r4.status_code == 200
    assert r4.content == RSS_V2
    assert r4.headers["etag"] != etag

    assert [e["status"] for e in server.requests] == [200, 304, 200, 200]


def test_etag_disabled(server: FeedServer, client: httpx.Client) -> None:
    server.set_feed("/plain", "<rss/>", etag=False)
    r = client.get(server.url("/plain"), headers={"If-None-Match": "*"})
    assert r.status_code == 200
    assert "etag" not in r.headers
    assert r.content == b"<rss/>"


def test_last_modified_conditional_get(server: FeedServer, client: httpx.Client) -> None:
    server.set_feed("/lm", RSS_V1, etag=False, last_modified=LAST_MODIFIED)
    r1 = client.get(server.url("/lm"))
    assert r1.status_code == 200
    assert r1.headers["last-modified"] == LAST_MODIFIED
    assert "etag" not in r1.headers

    r2 = client.get(server.url("/lm"), headers={"If-Modified-Since": LAST_MODIFIED})
    assert r2.status_code == 304 and r2.content == b""

    older = "Tue, 20 Oct 2015 07:28:00 GMT"
    r3 = client.get(server.url("/lm"), headers={"If-Modified-Since": older})
    assert r3.status_code == 200 and r3.content == RSS_V1


def test_if_none_match_takes_precedence_over_if_modified_since(
    server: FeedServer, client: httpx.Client
) -> None:
    server.set_feed("/both", RSS_V1, last_modified=LAST_MODIFIED)
    r = client.get(
        server.url("/both"),
        headers={"If-None-Match": '"other"', "If-Modified-Since": LAST_MODIFIED},
    )
    assert r.status_code == 200


def test_unknown_path_is_404(server: FeedServer, client: httpx.Client) -> None:
    assert client.get(server.url("/nope")).status_code == 404
    assert server.requests[-1]["status"] == 404


@pytest.mark.parametrize("status", [404, 410, 500, 503])
def test_error_statuses(server: FeedServer, client: httpx.Client, status: int) -> None:
    server.set_status("/err", status, "oops")
    r = client.get(server.url("/err"))
    assert r.status_code == status
    assert r.text == "oops"


def test_429_with_retry_after(server: FeedServer, client: httpx.Client) -> None:
    server.set_status("/limited", 429, headers={"Retry-After": "120"})
    r = client.get(server.url("/limited"))
    assert r.status_code == 429
    assert r.headers["retry-after"] == "120"


def test_redirect(server: FeedServer, client: httpx.Client) -> None:
    server.set_feed("/new", RSS_V1)
    server.set_redirect("/old", server.url("/new"))
    r = client.get(server.url("/old"))
    assert r.status_code == 301
    assert r.headers["location"] == server.url("/new")
    followed = client.get(server.url("/old"), follow_redirects=True)
    assert followed.status_code == 200 and followed.content == RSS_V1
    assert len(followed.history) == 1


def test_html_instead_of_feed(server: FeedServer, client: httpx.Client) -> None:
    server.set_html("/login")
    r = client.get(server.url("/login"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "<html" in r.text.lower()


def test_garbage(server: FeedServer, client: httpx.Client) -> None:
    server.set_garbage("/junk", size=2048)
    r = client.get(server.url("/junk"))
    assert r.status_code == 200
    assert "xml" in r.headers["content-type"]
    assert len(r.content) == 2048
    assert not r.content.startswith(b"<")
    # Deterministic for the default seed.
    assert client.get(server.url("/junk")).content == r.content


def test_head_request(server: FeedServer, client: httpx.Client) -> None:
    server.set_feed("/feed", RSS_V1)
    r = client.head(server.url("/feed"))
    assert r.status_code == 200
    assert r.content == b""
    assert int(r.headers["content-length"]) == len(RSS_V1)


def test_slow_response_exceeds_client_timeout(server: FeedServer) -> None:
    server.set_slow("/slow", 10.0)
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        httpx.get(server.url("/slow"), timeout=0.2)
    server.stop()  # must not wait for the sleeping handler
    assert time.monotonic() - started < 2.0


def test_slow_response_eventually_answers(server: FeedServer, client: httpx.Client) -> None:
    server.set_slow("/slowish", 0.2)
    started = time.monotonic()
    r = client.get(server.url("/slowish"))
    assert time.monotonic() - started >= 0.19
    assert r.status_code == 200 and r.content == DEFAULT_FEED


def test_drip_defeats_read_timeout_but_not_deadline(server: FeedServer) -> None:
    server.set_slow("/drip", 0.8, drip=True, interval=0.05)

    # A per-read timeout well above the drip interval never fires ...
    started = time.monotonic()
    r = httpx.get(server.url("/drip"), timeout=httpx.Timeout(0.3))
    elapsed = time.monotonic() - started
    assert r.status_code == 200 and r.content == DEFAULT_FEED
    assert elapsed >= 0.7, elapsed

    # ... while a total deadline enforced by the client does.
    deadline = 0.3
    started = time.monotonic()
    got = 0
    aborted = False
    with httpx.Client(timeout=0.3) as c, c.stream("GET", server.url("/drip")) as resp:
        for chunk in resp.iter_raw():
            got += len(chunk)
            if time.monotonic() - started > deadline:
                aborted = True
                break
    assert aborted
    assert 0 < got < len(DEFAULT_FEED)


@pytest.mark.parametrize("with_length", [True, False])
def test_huge_body_is_streamed(server: FeedServer, with_length: bool) -> None:
    size = 50 * 1024 * 1024
    limit = 1024 * 1024
    server.set_huge("/huge", size, with_length=with_length)
    received = bytearray()
    with httpx.Client(timeout=2.0) as c, c.stream("GET", server.url("/huge")) as r:
        assert r.status_code == 200
        if with_length:
            assert int(r.headers["content-length"]) == size
        else:
            assert "content-length" not in r.headers
            assert r.headers["transfer-encoding"] == "chunked"
        for chunk in r.iter_raw():
            received += chunk
            if len(received) >= limit:
                break  # closes the connection mid-body
    assert received.startswith(b'<?xml version="1.0"')
    assert b"<rss" in received[:200]
    # The server survived the client hanging up.
    server.set_feed("/ok", RSS_V1)
    assert httpx.get(server.url("/ok"), timeout=2.0).status_code == 200


@pytest.mark.parametrize("with_length", [True, False])
def test_huge_body_exact_size(server: FeedServer, client: httpx.Client, with_length: bool) -> None:
    server.set_huge("/big", 300_001, with_length=with_length)
    r = client.get(server.url("/big"))
    assert len(r.content) == 300_001


def test_drop_connection(server: FeedServer) -> None:
    server.set_drop("/drop")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.get(server.url("/drop"), timeout=2.0)
    assert server.count("/drop") == 1
    assert server.requests[-1]["status"] == 0


def test_count_and_request_log(server: FeedServer, client: httpx.Client) -> None:
    server.set_feed("/a", RSS_V1)
    client.get(server.url("/a"), headers={"User-Agent": "test-agent/1.0"})
    client.get(server.url("/a?since=1"))
    client.get(server.url("/b"))
    assert server.count("/a") == 2
    assert server.count("/a?since=1") == 1
    assert server.count("/b") == 1
    assert server.count("/c") == 0

    log = server.requests
    assert [e["path"] for e in log] == ["/a", "/a?since=1", "/b"]
    first = log[0]
    assert first["method"] == "GET"
    assert first["headers"]["user-agent"] == "test-agent/1.0"
    assert first["status"] == 200
    assert isinstance(first["time"], float)
    assert log[0]["time"] <= log[1]["time"] <= log[2]["time"]
    assert log[2]["status"] == 404

    log.clear()  # a snapshot: mutating it does not touch the server's log
    assert len(server.requests) == 3

    server.reset_log()
    assert server.requests == []
    assert server.count("/a") == 0
    assert client.get(server.url("/a")).status_code == 200  # behaviours kept


def test_stop_with_inflight_slow_response_does_not_hang() -> None:
    srv = FeedServer().start()
    srv.set_slow("/forever", 60.0)
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            httpx.get(srv.url("/forever"), timeout=5.0)
        except httpx.HTTPError as exc:
            errors.append(exc)

    t = threading.Thread(target=fetch, daemon=True)
    t.start()
    while srv.count("/forever") == 0:
        time.sleep(0.01)
    started = time.monotonic()
    srv.stop()
    srv.stop()  # idempotent
    assert time.monotonic() - started < 1.0
    t.join(timeout=2.0)
    assert not t.is_alive()
    assert errors  # the client saw the connection close rather than a response


def test_concurrent_requests(server: FeedServer) -> None:
    server.set_slow("/s", 0.3)
    results: list[int] = []
    lock = threading.Lock()

    def fetch() -> None:
        code = httpx.get(server.url("/s"), timeout=2.0).status_code
        with lock:
            results.append(code)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 8
    # served in parallel: counted by the server, not guessed from a stopwatch (a
    # server answering one at a time never has two in flight, however fast it is)
    assert server.max_in_flight >= 2
    assert server.count("/s") == 8


def test_concurrent_requests_are_counted(server: FeedServer) -> None:
    server.set_slow("/s", 0.3)
    threads = [
        threading.Thread(target=httpx.get, args=(server.url("/s"),), kwargs={"timeout": 2.0})
        for _ in range(5)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.max_in_flight == 5
    server.reset_log()
    assert server.max_in_flight == 0


def test_request_log_names_the_connection(server: FeedServer) -> None:
    server.set_feed("/a", RSS_V1)
    with httpx.Client() as one, httpx.Client() as other:
        one.get(server.url("/a"))
        one.get(server.url("/a"))
        other.get(server.url("/a"))
    clients = [e["client"] for e in server.requests]
    assert clients[0] == clients[1] != clients[2]  # keep-alive: one connection, two requests
    assert clients[0].startswith("127.0.0.1:")


def test_hang_never_answers(server: FeedServer) -> None:
    server.set_hang("/hang")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(server.url("/hang"), timeout=0.3)
    assert server.count("/hang") == 1


def test_drip_head_defeats_a_read_timeout(server: FeedServer) -> None:
    """Each header byte arrives within the read timeout; the whole takes far longer."""
    server.set_drip_head("/dh", b"<rss/>", interval=0.02, headers={"X-Extra": "1"})
    started = time.monotonic()
    r = httpx.get(server.url("/dh"), timeout=0.5)
    took = time.monotonic() - started
    assert r.status_code == 200 and r.content == b"<rss/>" and r.headers["x-extra"] == "1"
    assert took > 1.0  # over 50 header bytes, 20 ms apart


def test_drip_head_redirect(server: FeedServer, client: httpx.Client) -> None:
    server.set_drip_head("/old", b"", status=301, headers={"Location": "/new"}, interval=0.001)
    r = client.get(server.url("/old"))
    assert r.status_code == 301 and r.headers["location"] == "/new"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_bomb_is_small_on_the_wire_and_decodes_to_zeros(server: FeedServer, encoding: str) -> None:
    server.set_bomb("/bomb", 8 << 20, encoding=encoding)  # type: ignore[arg-type]
    with httpx.stream("GET", server.url("/bomb")) as r:
        assert r.headers["content-encoding"] == ("deflate" if encoding != "gzip" else "gzip")
        wire = b"".join(r.iter_raw())
    assert int(r.headers["content-length"]) == len(wire) < 16 * 1024
    wbits = {"gzip": 31, "deflate": 15, "raw-deflate": -15}[encoding]
    assert zlib.decompress(wire, wbits) == bytes(8 << 20)  # checksums right, too


def test_tarpit_says_nothing_or_drips() -> None:
    with Tarpit() as silent:
        with socket.create_connection(("127.0.0.1", silent.port), timeout=1) as sock:
            sock.settimeout(0.3)
            with pytest.raises(TimeoutError):
                sock.recv(1)
        assert silent.connections == 1
    with Tarpit(TLS_RECORD_HEAD, interval=0.01) as drip:
        with socket.create_connection(("127.0.0.1", drip.port), timeout=1) as sock:
            got = b""
            while len(got) < 8:
                got += sock.recv(8)
        assert got.startswith(TLS_RECORD_HEAD) and drip.url("https").startswith("https://")


@pytest.mark.parametrize("http2", [False, True])
def test_tls_and_http2(http2: bool) -> None:
    trust = ssl.create_default_context(cafile=str(TLS_CERT))
    with FeedServer(http2=http2, tls=True) as srv, httpx.Client(verify=trust, http2=True) as c:
        srv.set_feed("/a", RSS_V1)
        assert srv.base_url.startswith("https://127.0.0.1:")
        r = c.get(srv.url("/a"))
        assert r.content == RSS_V1 and r.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
        assert c.get(srv.url("/a"), headers={"If-None-Match": r.headers["etag"]}).status_code == 304
        assert c.get(srv.url("/nope")).status_code == 404


def test_guess_feed_content_type() -> None:
    assert guess_feed_content_type(RSS_V1) == "application/rss+xml"
    assert guess_feed_content_type(ATOM) == "application/atom+xml"
    rdf = b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="x"><channel/></rdf:RDF>'
    assert guess_feed_content_type(rdf) == "application/rss+xml"
    assert guess_feed_content_type(ATOM.decode().encode("utf-16")) == "application/atom+xml"
    assert guess_feed_content_type(b"<html><body/></html>") == "application/xml"


def test_serve_directory(server: FeedServer, client: httpx.Client, tmp_path: Path) -> None:
    (tmp_path / "one.xml").write_bytes(RSS_V1)
    (tmp_path / "two.xml").write_bytes(ATOM)
    (tmp_path / "notes.txt").write_text("ignored")
    served = serve_directory(server, tmp_path, prefix="/corpus")
    assert sorted(served) == ["/corpus/one.xml", "/corpus/two.xml"]

    r1 = client.get(server.url("/corpus/one.xml"))
    assert r1.content == RSS_V1
    assert r1.headers["content-type"] == "application/rss+xml"
    r2 = client.get(server.url("/corpus/two.xml"))
    assert r2.headers["content-type"] == "application/atom+xml"
    assert client.get(server.url("/corpus/notes.txt")).status_code == 404
    r3 = client.get(server.url("/corpus/two.xml"), headers={"If-None-Match": r2.headers["etag"]})
    assert r3.status_code == 304


@pytest.mark.skipif(not REAL_CORPUS.is_dir(), reason="real feed corpus not available")
def test_serve_real_corpus(server: FeedServer, client: httpx.Client) -> None:
    served = serve_directory(server, REAL_CORPUS)
    files = sorted(REAL_CORPUS.glob("*.xml"))
    assert len(served) == len(files) > 0
    for path, file in served.items():
        assert path == "/" + file.name
        r = client.get(server.url(path))
        assert r.status_code == 200
        assert r.content == file.read_bytes()
        assert r.headers["content-type"] in ("application/rss+xml", "application/atom+xml")
