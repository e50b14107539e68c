"""A scriptable, in-process fake HTTP server for feed-fetching tests.

:class:`FeedServer` runs a stdlib :class:`http.server.ThreadingHTTPServer` on
``127.0.0.1`` (ephemeral port) in a daemon thread.  Each URL path is given a
*behaviour* with one of the ``set_*`` methods; every request is recorded so a
test can assert how a client behaved (conditional headers, retries, back-off).

Typical use::

    from tests.fakes.feed_server import FeedServer

    with FeedServer() as srv:
        srv.set_feed("/rss", RSS_BYTES)                    # 200 + ETag, 304 on If-None-Match
        srv.set_status("/gone", 404)
        srv.set_status("/busy", 429, headers={"Retry-After": "120"})
        srv.set_redirect("/old", srv.url("/rss"))          # 301 + Location
        srv.set_html("/login")                             # text/html login wall
        srv.set_slow("/slow", 5.0)                         # answers after 5 s
        srv.set_slow("/drip", 3.0, drip=True)              # headers now, body trickled over 3 s
        srv.set_huge("/huge", 50 * 2**20, with_length=False)  # 50 MB, chunked, streamed
        srv.set_garbage("/junk")                           # random bytes labelled as XML
        srv.set_drop("/drop")                              # connection closed, no response
        srv.set_hang("/hang")                              # reads the request, never answers
        srv.set_drip_head("/dh", interval=0.05)            # status line + headers byte by byte
        srv.set_bomb("/bomb", 2**30, encoding="gzip")      # 1 GiB of zeros, ~1 MB gzipped

    with FeedServer(tls=True) as srv:                      # https://127.0.0.1:PORT
        ...                                                # trust it: SSL_CERT_FILE=TLS_CERT
    with FeedServer(http2=True) as srv:                    # HTTP/2 offered over TLS (ALPN)
        ...

        r = httpx.get(srv.url("/rss"))
        assert srv.count("/rss") == 1
        assert srv.requests[-1]["headers"].get("if-none-match") is None

Behaviours, in short:

* unknown paths answer ``404``;
* a behaviour may be replaced at any time (``set_feed`` with a new body gives a
  new ETag, so a client polling with ``If-None-Match`` sees a ``200`` again);
* ``HEAD`` is answered like ``GET`` without a body;
* ``max_in_flight`` is the most requests the server was answering at one time
  (for politeness tests: how many a client sends to one host at once);
* slow, drip and huge responses wait on an internal "stopping" event, so
  :meth:`FeedServer.stop` returns promptly even while such a response is in
  flight, and a client that hangs up mid-stream never crashes the server.

:class:`Tarpit` is not HTTP: a TCP listener that accepts and then says nothing,
or drips bytes forever (a TLS handshake that never completes).

:func:`serve_directory` registers every ``*.xml`` file of a directory (for
instance the real-feed corpus in ``/work/shared/corpus/feeds/real``) with a
content type guessed from the document's root element.

The module uses only the standard library, so it can also be used from
benchmarks that do not depend on pytest.
"""

from __future__ import annotations

import email.utils
import hashlib
import math
import random
import re
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

__all__ = [
    "ATOM_CONTENT_TYPE",
    "DEFAULT_FEED",
    "DEFAULT_HTML",
    "RSS_CONTENT_TYPE",
    "TLS_CERT",
    "TLS_RECORD_HEAD",
    "XML_CONTENT_TYPE",
    "FeedServer",
    "Tarpit",
    "guess_feed_content_type",
    "serve_directory",
    "tls_context",
]

RSS_CONTENT_TYPE = "application/rss+xml; charset=utf-8"
ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8"
XML_CONTENT_TYPE = "application/xml"

#: A small, valid RSS 2.0 document used when a behaviour needs *some* feed body.
DEFAULT_FEED: bytes = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
  <channel>
    <title>Fake Security News</title>
    <link>https://example.invalid/</link>
    <description>Served by tests.fakes.feed_server</description>
    <item>
      <title>CVE-2099-0001: example vulnerability in example software</title>
      <link>https://example.invalid/advisories/cve-2099-0001</link>
      <guid isPermaLink="false">fake-feed-server-item-1</guid>
      <pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate>
      <description>An example advisory used by the fake feed server.</description>
    </item>
  </channel>
</rss>
"""

#: An HTML page standing in for a broken site or a login wall.
DEFAULT_HTML: bytes = b"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
  <h1>Please sign in to continue</h1>
  <form method="post" action="/login">
    <input name="user"><input name="password" type="password">
    <button type="submit">Sign in</button>
  </form>
</body>
</html>
"""

# Statuses that must not carry a message body (RFC 9110, section 6.4.1).
_NO_BODY_STATUSES = frozenset({204, 304}) | frozenset(range(100, 200))

# Size of the blocks written by streaming behaviours.
_STREAM_BLOCK = 64 * 1024

_Kind = Literal["feed", "status", "slow", "huge", "garbage", "drop", "drip_head", "bomb"]


def _to_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class _Route:
    """The behaviour registered for one path (immutable; replaced wholesale)."""

    kind: _Kind
    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    drip: bool = False
    interval: float = 0.05
    size: int = 0
    with_length: bool = True
    encoding: str = ""


@dataclass
class _State:
    """Mutable server state; every access goes through ``FeedServer._lock``."""

    routes: dict[str, _Route] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


class _Aborted(Exception):
    """Raised inside a handler when the server is stopping mid-response."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    feed_server: FeedServer

    def server_bind(self) -> None:
        # HTTPServer.server_bind() calls socket.getfqdn(), which can block on a
        # reverse DNS lookup; a loopback test server does not need it.
        super(ThreadingHTTPServer, self).server_bind()  # TCPServer.server_bind
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (timeouts, early close) are expected; stay quiet.
        return


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "FakeFeedServer/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    # Socket timeout: a client that stops reading cannot block a handler forever.
    timeout = 10.0

    _entry: dict[str, Any]

    def handle(self) -> None:
        sock = self.connection
        if isinstance(sock, ssl.SSLSocket):
            try:
                sock.do_handshake()
            except (OSError, ssl.SSLError):
                return
            if sock.selected_alpn_protocol() == "h2":
                _serve_h2(self)
                return
        super().handle()

    # -- dispatch ---------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output clean

    def _dispatch(self, *, head: bool) -> None:
        fs = self.server.feed_server
        self._entry = {
            "path": self.path,
            "method": self.command,
            "headers": _lower_headers(self.headers.items()),
            "status": 0,
            "client": f"{self.client_address[0]}:{self.client_address[1]}",
            "time": time.monotonic(),
            "wall_time": time.time(),
        }
        route = fs._record_and_lookup(self.path, self._entry)
        fs._in_flight(+1)
        try:
            if route is None:
                self._send_simple(404, b"not found\n", "text/plain; charset=utf-8", head=head)
            elif route.kind == "feed":
                self._serve_feed(route, head=head)
            elif route.kind in ("status", "garbage"):
                self._send_simple(
                    route.status, route.body, route.content_type, head=head, extra=route.headers
                )
            elif route.kind == "slow":
                self._serve_slow(route, head=head)
            elif route.kind == "huge":
                self._serve_huge(route, head=head)
            elif route.kind == "drop":
                self.close_connection = True
            elif route.kind == "drip_head":
                self._serve_drip_head(route, head=head)
            elif route.kind == "bomb":
                self._serve_bomb(route, head=head)
            else:  # pragma: no cover - defensive
                self._send_simple(500, b"bad route\n", "text/plain", head=head)
        except (_Aborted, OSError):
            # Server stopping, client hung up, or socket timeout: just close.
            self.close_connection = True
        finally:
            fs._in_flight(-1)

    # -- behaviours -------------------------------------------------------

    def _serve_feed(self, route: _Route, *, head: bool) -> None:
        validators: list[tuple[str, str]] = []
        if route.etag is not None:
            validators.append(("ETag", route.etag))
        if route.last_modified is not None:
            validators.append(("Last-Modified", route.last_modified))
        if _not_modified(self.headers, route):
            self._send_head(304, None, None, validators + list(route.headers))
            return
        self._send_simple(
            200, route.body, route.content_type, head=head, extra=tuple(validators) + route.headers
        )

    def _serve_slow(self, route: _Route, *, head: bool) -> None:
        fs = self.server.feed_server
        if not route.drip:
            if not fs._sleep(route.delay):
                raise _Aborted
            self._send_simple(
                route.status, route.body, route.content_type, head=head, extra=route.headers
            )
            return
        self._send_head(route.status, len(route.body), route.content_type, list(route.headers))
        if head or not route.body:
            return
        # Split the body into n chunks spread evenly over `delay` seconds, each
        # gap being at least `interval` (so per-read timeouts keep being reset).
        body = route.body
        n = max(1, min(len(body), math.ceil(route.delay / max(route.interval, 1e-3))))
        gap = route.delay / n
        step = math.ceil(len(body) / n)
        for start in range(0, len(body), step):
            if start and not fs._sleep(gap):
                raise _Aborted
            self.wfile.write(body[start : start + step])
            self.wfile.flush()

    def _serve_huge(self, route: _Route, *, head: bool) -> None:
        fs = self.server.feed_server
        headers = list(route.headers)
        if route.with_length:
            self._send_head(route.status, route.size, route.content_type, headers)
        else:
            headers.append(("Transfer-Encoding", "chunked"))
            self._send_head(route.status, None, route.content_type, headers)
        if head:
            return
        for block in _huge_blocks(route.size):
            if fs._stopping.is_set():
                raise _Aborted
            if route.with_length:
                self.wfile.write(block)
            else:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
        if not route.with_length:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _serve_drip_head(self, route: _Route, *, head: bool) -> None:
        """The status line and every header byte by byte, ``interval`` apart; then the
        body at once. A client's read timeout restarts with each byte."""
        fs = self.server.feed_server
        self._entry["status"] = route.status
        lines = [f"HTTP/1.1 {route.status} {self.responses.get(route.status, ('',))[0]}"]
        if route.content_type:
            lines.append(f"Content-Type: {route.content_type}")
        lines.append(f"Content-Length: {len(route.body)}")
        lines += [f"{name}: {value}" for name, value in route.headers]
        block = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        for i in range(len(block)):
            if i and not fs._sleep(route.interval):
                raise _Aborted
            self.wfile.write(block[i : i + 1])
            self.wfile.flush()
        if not head:
            self.wfile.write(route.body)
            self.wfile.flush()

    def _serve_bomb(self, route: _Route, *, head: bool) -> None:
        fs = self.server.feed_server
        blocks = _bomb_blocks(route.size, route.encoding)
        length = next(blocks)  # the generator's first item is the total compressed size
        label = "deflate" if route.encoding == "raw-deflate" else route.encoding
        headers = [*route.headers, ("Content-Encoding", label)]
        self._send_head(200, int(length), route.content_type, headers)
        if head:
            return
        for block in blocks:
            if fs._stopping.is_set():
                raise _Aborted
            self.wfile.write(block)
        self.wfile.flush()

    # -- low-level writing ------------------------------------------------

    def _send_head(
        self,
        status: int,
        length: int | None,
        content_type: str | None,
        headers: list[tuple[str, str]],
    ) -> None:
        self._entry["status"] = status
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        if length is not None and status not in _NO_BODY_STATUSES:
            self.send_header("Content-Length", str(length))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def _send_simple(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        *,
        head: bool,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        if status in _NO_BODY_STATUSES:
            body = b""
            content_type = None
        self._send_head(status, len(body), content_type, list(extra))
        if body and not head:
            self.wfile.write(body)
        self.wfile.flush()


class _H2Headers(dict[str, str]):
    """Request headers of an HTTP/2 stream (lower-case names), looked up any case."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


def _serve_h2(handler: _Handler) -> None:
    """HTTP/2 over one TLS connection (``FeedServer(tls=True, http2=True)``), with the
    ``h2`` library (imported here only: the rest of the module stays stdlib-only).
    Streams are answered one after another, as each request arrives. Only ``feed``
    (with 304s) and ``status`` behaviours, bodies up to 64 KiB; others answer 501."""
    from h2.config import H2Configuration
    from h2.connection import H2Connection
    from h2.events import ConnectionTerminated, RequestReceived

    fs, sock = handler.server.feed_server, handler.connection
    client = f"{handler.client_address[0]}:{handler.client_address[1]}"
    conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    while not fs._stopping.is_set():
        try:
            data = sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        for event in conn.receive_data(data):
            if isinstance(event, ConnectionTerminated):
                return
            if not isinstance(event, RequestReceived):
                continue
            headers = _H2Headers((str(k), str(v)) for k, v in event.headers or ())
            entry: dict[str, Any] = {
                "path": headers[":path"],
                "method": headers[":method"],
                "headers": {k: v for k, v in headers.items() if not k.startswith(":")},
                "status": 0,
                "client": client,
                "http_version": "HTTP/2",
                "time": time.monotonic(),
                "wall_time": time.time(),
            }
            route = fs._record_and_lookup(entry["path"], entry)
            fs._in_flight(+1)
            try:
                status, extra, body = _h2_answer(route, headers)
            finally:
                fs._in_flight(-1)
            entry["status"] = status
            sent = [(":status", str(status)), ("content-length", str(len(body))), *extra]
            conn.send_headers(event.stream_id, sent, end_stream=not body)
            for start in range(0, len(body), 16384):
                last = start + 16384 >= len(body)
                conn.send_data(event.stream_id, body[start : start + 16384], end_stream=last)
        sock.sendall(conn.data_to_send())


def _h2_answer(route: _Route | None, headers: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    if route is None:
        return 404, [("content-type", "text/plain")], b"not found\n"
    extra = [(k.lower(), v) for k, v in route.headers]
    if route.content_type:
        extra.append(("content-type", route.content_type))
    if route.kind == "feed":
        extra += [("etag", route.etag)] if route.etag else []
        extra += [("last-modified", route.last_modified)] if route.last_modified else []
        if _not_modified(headers, route):
            return 304, [(k, v) for k, v in extra if k != "content-type"], b""
        return 200, extra, route.body[:65535]
    if route.kind in ("status", "garbage"):
        return route.status, extra, route.body[:65535]
    return 501, [("content-type", "text/plain")], b"not served over HTTP/2 by this fake\n"


def _lower_headers(items: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _parse_http_date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def _not_modified(request_headers: Any, route: _Route) -> bool:
    """Evaluate conditional GET headers (RFC 9110 section 13.2.2 order)."""
    inm = request_headers.get("If-None-Match")
    if inm is not None:
        if route.etag is None:
            return False
        tags = [t.strip() for t in inm.split(",")]
        if "*" in tags:
            return True
        # If-None-Match uses the weak comparison function.
        want = route.etag.removeprefix("W/")
        return any(t.removeprefix("W/") == want for t in tags)
    ims = request_headers.get("If-Modified-Since")
    if ims is not None and route.last_modified is not None:
        if ims.strip() == route.last_modified:
            return True
        since, modified = _parse_http_date(ims), _parse_http_date(route.last_modified)
        return since is not None and modified is not None and modified <= since
    return False


_HUGE_PREFIX = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<rss version="2.0">\n<channel>\n<title>Huge feed</title>\n'
    b"<link>https://example.invalid/</link>\n"
    b"<description>An unreasonably large feed</description>\n"
)
_HUGE_FILLER = b"<item><title>filler</title><description>" + b"x" * 400 + b"</description></item>\n"


def _huge_blocks(size: int) -> Iterator[bytes]:
    """Yield blocks totalling exactly ``size`` bytes: XML prefix then filler.

    Only one block (about 64 KiB) is held in memory at a time.
    """
    first = (_HUGE_PREFIX + _HUGE_FILLER * (_STREAM_BLOCK // len(_HUGE_FILLER) + 1))[:_STREAM_BLOCK]
    filler = _HUGE_FILLER * (_STREAM_BLOCK // len(_HUGE_FILLER) + 2)
    # Subsequent blocks continue the filler pattern where the previous ended.
    remaining = size
    block = first
    offset = (len(first) - len(_HUGE_PREFIX)) % len(_HUGE_FILLER)
    while remaining > 0:
        chunk = block[: min(remaining, len(block))]
        yield chunk
        remaining -= len(chunk)
        block = filler[offset : offset + _STREAM_BLOCK]
        offset = (offset + _STREAM_BLOCK) % len(_HUGE_FILLER)


_BOMB_BLOCK = 1 << 20  # decoded bytes (zeros) per compressed block
_BOMB_WRITE = 64  # compressed blocks per write: about 64 KiB on the wire, 64 MiB decoded


def _bomb_blocks(size: int, encoding: str) -> Iterator[bytes | int]:
    """First the compressed length, then the compressed bytes of ``size`` zero bytes
    (rounded up to whole MiB), made in O(1) time and memory.

    After ``Z_FULL_FLUSH`` a compressor's state is reset, so every further MiB of
    zeros compresses to the same ~1 KiB: one block repeated, then the end of the
    stream with its checksum (CRC-32 for gzip, Adler-32 for zlib) computed lazily.
    """
    wbits = {"gzip": 31, "deflate": 15, "raw-deflate": -15}[encoding]
    zeros = bytes(_BOMB_BLOCK)
    n = max(1, math.ceil(size / _BOMB_BLOCK))
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    middle = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.flush()
    trailer = {31: 8, 15: 4, -15: 0}[wbits]
    yield len(first) + (n - 1) * len(middle) + len(end)
    yield first
    left = n - 1
    while left > 0:
        count = min(left, _BOMB_WRITE)
        yield middle * count
        left -= count
    if wbits == 31:
        crc = 0
        for _ in range(n):
            crc = zlib.crc32(zeros, crc)
        end = end[:-trailer] + struct.pack("<II", crc, (n * _BOMB_BLOCK) & 0xFFFFFFFF)
    elif wbits == 15:
        adler = 1
        for _ in range(n):
            adler = zlib.adler32(zeros, adler)
        end = end[:-trailer] + struct.pack(">I", adler)
    yield end


class FeedServer:
    """Fake feed HTTP server; see the module docstring for an overview.

    All ``set_*`` methods may be called before or after :meth:`start`, from any
    thread.  ``requests`` entries are dicts with keys ``path`` (request target,
    query string included), ``method``, ``headers`` (lower-case names; repeated
    headers joined with ``", "``), ``status`` (status actually sent, ``0`` if
    none was sent: dropped, aborted, or still in flight), ``client`` (the
    client's ``address:port``: one per connection, to see keep-alive), ``time``
    (:func:`time.monotonic` at arrival, for measuring intervals between
    requests) and ``wall_time`` (:func:`time.time` at arrival).
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: bool = False, http2: bool = False
    ) -> None:
        self._host = host
        self._port = port
        self._tls = tls or http2
        self._http2 = http2
        self._lock = threading.Lock()
        self._state = _State()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> FeedServer:
        """Bind, start serving in a daemon thread, and return ``self``."""
        if self._httpd is not None:
            raise RuntimeError("FeedServer already started")
        self._stopping.clear()
        httpd = _HTTPServer((self._host, self._port), _Handler)
        httpd.feed_server = self
        if self._tls:
            # the handshake happens in the handler's thread, on its first read, so a
            # client that never finishes one cannot block the accepting thread
            httpd.socket = tls_context(self._http2).wrap_socket(
                httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"FeedServer:{httpd.server_port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; in-flight slow/huge responses are abandoned.  Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=2.0)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FeedServer:
        return self if self._httpd is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with ``tls=True``; only valid once
        started)."""
        if self._httpd is None:
            raise RuntimeError("FeedServer not started")
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{self._httpd.server_name}:{self._httpd.server_port}"

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FeedServer not started")
        return self._httpd.server_port

    def url(self, path: str) -> str:
        """Absolute URL for ``path`` (a leading ``/`` is added if missing)."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- behaviours -------------------------------------------------------------

    def set_feed(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = RSS_CONTENT_TYPE,
        etag: bool = True,
        last_modified: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Serve ``body`` with ``200``, supporting conditional GET.

        With ``etag=True`` a strong ETag derived from the body hash is sent and
        a matching ``If-None-Match`` gets ``304`` without a body.  With
        ``last_modified`` (an HTTP date string) ``Last-Modified`` is sent and an
        ``If-Modified-Since`` equal to (or later than) it gets ``304``, unless
        the request also carries ``If-None-Match`` (which then takes precedence).
        """
        data = _to_bytes(body)
        self._set(
            path,
            _Route(
                kind="feed",
                body=data,
                content_type=content_type,
                etag=_strong_etag(data) if etag else None,
                last_modified=last_modified,
                headers=_header_tuple(headers),
            ),
        )

    def etag_for(self, path: str) -> str | None:
        """The ETag currently served for ``path`` (``None`` if none)."""
        with self._lock:
            route = self._state.routes.get(path)
        return route.etag if route is not None else None

    def set_status(
        self,
        path: str,
        status: int,
        body: bytes | str = b"",
        *,
        headers: dict[str, str] | None = None,
        content_type: str | None = "text/plain; charset=utf-8",
    ) -> None:
        """Answer with an arbitrary status, e.g. 404, 500, 429 + ``Retry-After``,
        or 301 + ``Location`` (pass the headers in ``headers``)."""
        self._set(
            path,
            _Route(
                kind="status",
                status=int(status),
                body=_to_bytes(body),
                content_type=content_type,
                headers=_header_tuple(headers),
            ),
        )

    def set_redirect(self, path: str, location: str, status: int = 301) -> None:
        """Shortcut for ``set_status(path, status, headers={"Location": location})``."""
        self.set_status(path, status, headers={"Location": location})

    def set_html(self, path: str, body: bytes | str = DEFAULT_HTML, *, status: int = 200) -> None:
        """Serve an HTML page (``text/html``) instead of a feed (login wall, broken site)."""
        self.set_status(path, status, body, content_type="text/html; charset=utf-8")

    def set_slow(
        self,
        path: str,
        delay: float,
        body: bytes | str = DEFAULT_FEED,
        *,
        drip: bool = False,
        interval: float = 0.05,
        status: int = 200,
        content_type: str = RSS_CONTENT_TYPE,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer slowly.

        * ``drip=False``: wait ``delay`` seconds, then send the whole response
          (exceeds any connect/read timeout shorter than ``delay``).
        * ``drip=True``: send the headers (with ``Content-Length``) at once,
          then trickle the body so that it takes about ``delay`` seconds, with
          gaps of at least ``interval`` seconds between writes.  Each gap is
          ``delay / n`` where ``n = min(len(body), ceil(delay / interval))``.
          This defeats clients that only set a per-read timeout; only a total
          deadline catches it.

        Waiting is interrupted as soon as the server stops.
        """
        self._set(
            path,
            _Route(
                kind="slow",
                status=int(status),
                body=_to_bytes(body),
                content_type=content_type,
                headers=_header_tuple(headers),
                delay=max(0.0, float(delay)),
                drip=drip,
                interval=float(interval),
            ),
        )

    def set_huge(
        self,
        path: str,
        size: int,
        *,
        with_length: bool = True,
        content_type: str = RSS_CONTENT_TYPE,
    ) -> None:
        """Stream exactly ``size`` bytes: an RSS prefix followed by ``<item>`` filler.

        Generated on the fly in 64 KiB blocks (never held in memory).  With
        ``with_length=True`` a ``Content-Length`` is sent; otherwise the body
        uses ``Transfer-Encoding: chunked`` so the client cannot know the size
        up front.  The document is never closed, so it is not well-formed.
        """
        if size < 0:
            raise ValueError("size must be >= 0")
        self._set(
            path,
            _Route(kind="huge", size=int(size), with_length=with_length, content_type=content_type),
        )

    def set_garbage(
        self,
        path: str,
        size: int = 4096,
        *,
        seed: int | None = 0,
        content_type: str = "application/rss+xml",
    ) -> None:
        """Serve ``size`` random bytes (deterministic for a given ``seed``) with an
        XML content type."""
        rng = random.Random(seed)
        self.set_status(path, 200, rng.randbytes(size), content_type=content_type)

    def set_drop(self, path: str) -> None:
        """Close the connection without sending any response."""
        self._set(path, _Route(kind="drop"))

    def set_hang(self, path: str) -> None:
        """Read the request and never answer (until the server stops)."""
        self.set_slow(path, 24 * 3600.0)

    def set_drip_head(
        self,
        path: str,
        body: bytes | str = DEFAULT_FEED,
        *,
        interval: float = 0.05,
        status: int = 200,
        content_type: str | None = RSS_CONTENT_TYPE,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send the status line and headers one byte at a time, ``interval`` seconds
        apart, then ``body`` at once. With ``status=301`` and a ``Location`` header it
        is a redirect that drips. Only a deadline on the whole request ends it."""
        self._set(
            path,
            _Route(
                kind="drip_head",
                status=int(status),
                body=_to_bytes(body),
                content_type=content_type,
                headers=_header_tuple(headers),
                interval=float(interval),
            ),
        )

    def set_bomb(
        self,
        path: str,
        size: int = 1 << 30,
        *,
        encoding: Literal["gzip", "deflate", "raw-deflate"] = "gzip",
        content_type: str = RSS_CONTENT_TYPE,
    ) -> None:
        """A compression bomb: ``size`` zero bytes once decoded (1 GiB by default),
        about 1,000 times smaller on the wire, sent with ``Content-Encoding: gzip`` or
        ``deflate`` (``raw-deflate``: deflate without the zlib wrapper, labelled
        ``deflate`` as some servers do). Generated lazily, so the server holds 64 KiB."""
        if encoding not in ("gzip", "deflate", "raw-deflate"):
            raise ValueError(f"unknown encoding {encoding!r}")
        self._set(
            path, _Route(kind="bomb", size=int(size), content_type=content_type, encoding=encoding)
        )

    @property
    def max_in_flight(self) -> int:
        """The most requests this server was answering at one time (since the last
        :meth:`reset_log`)."""
        with self._lock:
            return self._state.max_in_flight

    def remove(self, path: str) -> None:
        """Forget the behaviour for ``path`` (it answers 404 again)."""
        with self._lock:
            self._state.routes.pop(path, None)

    # -- request log ----------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot (copy) of the request log, oldest first."""
        with self._lock:
            return [dict(e, headers=dict(e["headers"])) for e in self._state.requests]

    def count(self, path: str) -> int:
        """Number of requests for ``path``.

        Matches the request target exactly, or its path part without the query
        string (so ``count("/feed")`` also counts ``/feed?x=1``).
        """
        with self._lock:
            return sum(
                1
                for e in self._state.requests
                if e["path"] == path or e["path"].split("?", 1)[0] == path
            )

    def reset_log(self) -> None:
        """Clear the request log and ``max_in_flight`` (behaviours are kept)."""
        with self._lock:
            self._state.requests.clear()
            self._state.max_in_flight = self._state.in_flight

    # -- internals --------------------------------------------------------------

    def _set(self, path: str, route: _Route) -> None:
        if not path.startswith("/"):
            path = "/" + path
        with self._lock:
            self._state.routes[path] = route

    def _record_and_lookup(self, target: str, entry: dict[str, Any]) -> _Route | None:
        with self._lock:
            self._state.requests.append(entry)
            routes = self._state.routes
            route = routes.get(target)
            if route is None:
                route = routes.get(target.split("?", 1)[0])
            return route

    def _in_flight(self, delta: int) -> None:
        with self._lock:
            state = self._state
            state.in_flight += delta
            state.max_in_flight = max(state.max_in_flight, state.in_flight)

    def _sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return ``False`` if the server is stopping."""
        return not self._stopping.wait(seconds)


def _header_tuple(headers: dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in (headers or {}).items())


_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_PROLOG_JUNK = re.compile(r"<!--.*?-->|<\?.*?\?>|<!DOCTYPE[^\[>]*(\[.*?\])?\s*>", re.S | re.I)
_FIRST_ELEMENT = re.compile(r"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")


def guess_feed_content_type(data: bytes) -> str:
    """Guess a feed's media type from its root element.

    ``<feed>`` -> Atom, ``<rss>`` / ``<rdf:RDF>`` -> RSS, anything else ->
    ``application/xml``.  No ``charset`` parameter is added: the XML
    declaration (or BOM) of the file stays authoritative.
    """
    head = data[:65536]
    codec = "latin-1"
    for prefix, name in _BOMS:
        if head.startswith(prefix):
            codec = name
            break
    text = head.decode(codec, errors="ignore").lstrip("\ufeff")
    match = _FIRST_ELEMENT.search(_PROLOG_JUNK.sub("", text))
    root = match.group(2).lower() if match else ""
    if root == "feed":
        return "application/atom+xml"
    if root in ("rss", "rdf"):
        return "application/rss+xml"
    return XML_CONTENT_TYPE


def serve_directory(
    server: FeedServer,
    directory: str | Path,
    prefix: str = "/",
    *,
    pattern: str = "*.xml",
    etag: bool = True,
) -> dict[str, Path]:
    """Register every ``pattern`` file under ``directory`` as a feed.

    Files are served at ``prefix`` + their path relative to ``directory``
    (which is just the file name for top-level files), e.g.
    ``/cisa-alerts-2026-07-02.xml``.  ``prefix`` is normalised to start and end
    with ``/``.  Content types come from :func:`guess_feed_content_type`.
    Returns a mapping of URL path to source file, sorted by path.
    """
    root = Path(directory)
    if not root.is_dir():
        raise NotADirectoryError(str(root))
    norm = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    served: dict[str, Path] = {}
    for file in sorted(root.rglob(pattern)):
        if not file.is_file():
            continue
        data = file.read_bytes()
        path = norm + file.relative_to(root).as_posix()
        server.set_feed(path, data, content_type=guess_feed_content_type(data), etag=etag)
        served[path] = file
    return served


#: A self-signed certificate for ``localhost`` and ``127.0.0.1`` (valid until 2126), and
#: its key: test material only. A client trusts it with ``SSL_CERT_FILE=TLS_CERT``.
TLS_CERT = Path(__file__).resolve().parent / "tls" / "localhost.pem"
TLS_KEY = Path(__file__).resolve().parent / "tls" / "localhost-key.pem"


def tls_context(http2: bool = False) -> ssl.SSLContext:
    """The server side of ``FeedServer(tls=True)``: HTTP/1.1 offered by ALPN, and
    HTTP/2 first with ``http2=True``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS_CERT, TLS_KEY)
    context.set_alpn_protocols(["h2", "http/1.1"] if http2 else ["http/1.1"])
    return context


#: The first bytes of a TLS handshake record announcing 16 KiB that never all come.
TLS_RECORD_HEAD = b"\x16\x03\x03\x40\x00"


class Tarpit:
    """A TCP listener on ``127.0.0.1`` that accepts every connection and then never
    completes anything: with ``drip=b""`` it says nothing; otherwise it sends
    ``drip`` (then ``filler``, forever) one byte per ``interval`` seconds. Point an
    ``https://`` URL at it with ``drip=TLS_RECORD_HEAD`` for a TLS handshake that
    drips: a per-read timeout never fires. ``connections`` counts what was accepted.
    """

    def __init__(self, drip: bytes = b"", *, interval: float = 0.05, filler: bytes = b"\x00"):
        self.drip, self.interval, self.filler = drip, interval, filler
        self.connections = 0
        self._stopping = threading.Event()
        self._sock: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> Tarpit:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.settimeout(0.05)
        self._sock = sock
        self._spawn(self._accept)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=2.0)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Tarpit:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("Tarpit not started")
        return int(self._sock.getsockname()[1])

    def url(self, scheme: str = "http", path: str = "/") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="Tarpit")
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            self._spawn(self._hold, conn)

    def _hold(self, conn: socket.socket) -> None:
        with conn:
            sent = 0
            while not self._stopping.wait(self.interval if self.drip else 0.05):
                if not self.drip:
                    continue
                byte = self.drip[sent : sent + 1] or self.filler
                try:
                    conn.sendall(byte)
                except OSError:
                    return  # the client gave up
                sent += 1
