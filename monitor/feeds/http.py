"""One feed over HTTP(S), as a coroutine on the fetch loop.

* **A deadline on the whole fetch**: ``asyncio.timeout(fetch.timeout)`` around
  everything from the first hop's connect to the last byte of the last hop
  (DNS, TCP, TLS, each header and body byte, every redirect). httpx's per-read
  timeout restarts with each byte, so a server dripping its headers never trips
  it; cancelling the whole coroutine at the deadline does not care how the time
  was spent.
* **Redirects followed here**, up to ``max_redirects``, so each hop takes the
  politeness slot of its own host and connects through the address check.
* **A cap on the decoded size**, checked after every 64 KiB piece (``decode.py``).
* Conditional GET (ETag, Last-Modified), a content hash so an unchanged body
  skips parsing, ``Retry-After`` on errors, and how long the publisher says the
  answer stays fresh (``Cache-Control: max-age``, ``Expires`` − ``Date``).
"""

from __future__ import annotations

import asyncio
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import httpx

from ..errors import FetchTimeout, HTTPStatusError, TooLarge, TransportError
from ..models import FetchResult, Validators
from .decode import ACCEPT_ENCODING, Body, Decoder
from .hosts import HostSlots, host_of
from .network import AllowPrivate, GuardedTransport

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
REDIRECT_BODY = 64 * 1024  # read (and dropped) from a redirect so its connection is reused


class _Redirect(Exception):
    def __init__(self, location: str) -> None:
        self.location = location


class HttpFetcher:
    """The HTTP side of ``Fetcher``; lives on the fetch loop's thread."""

    def __init__(
        self,
        *,
        timeout: float,
        connect_timeout: float,
        max_bytes: int,
        max_redirects: int,
        user_agent: str,
        allow_private: AllowPrivate,
        slots: HostSlots,
        max_connections: int,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.slots = slots
        self.transport = GuardedTransport(
            allow_private=allow_private, per_host=slots.per_host, max_pools=max_connections
        )
        self.client = httpx.AsyncClient(
            transport=self.transport,
            # connect is bounded on its own; every other step only by the deadline on
            # the whole fetch (a timer per read would cost CPU and add nothing)
            timeout=httpx.Timeout(None, connect=min(connect_timeout, timeout)),
            follow_redirects=False,
            headers={
                "User-Agent": user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def close_idle(self) -> None:
        await self.transport.close_idle()

    async def fetch(self, url: str, known: Validators, *, slot_taken: bool = False) -> FetchResult:
        """``slot_taken``: the caller already holds a slot for ``url``'s host."""
        try:
            async with asyncio.timeout(self.timeout):
                for _ in range(self.max_redirects + 1):
                    host = host_of(url)
                    try:
                        async with self.slots.holding(host, taken=slot_taken):
                            return await self._one(url, known)
                    except _Redirect as redirect:
                        url, slot_taken = redirect.location, False
                raise TransportError(f"more than {self.max_redirects} redirects")
        except TimeoutError as exc:
            raise FetchTimeout(f"no complete answer within {self.timeout:g}s") from exc
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"timed out ({exc.__class__.__name__})") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise TransportError(f"{exc.__class__.__name__}: {exc}"[:300]) from exc

    async def _one(self, url: str, known: Validators) -> FetchResult:
        headers = {}
        if known.etag:
            headers["If-None-Match"] = known.etag
        if known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        async with self.client.stream("GET", url, headers=headers) as resp:
            fresh = fresh_for(resp.headers)
            if resp.status_code in REDIRECTS and "location" in resp.headers:
                await _drain(resp)
                raise _Redirect(urljoin(url, resp.headers["location"]))
            if resp.status_code == 304:
                await _drain(resp)  # reads the end of the answer: the connection is reused
                return FetchResult(
                    url=url,
                    status="not_modified",
                    etag=known.etag,
                    last_modified=known.last_modified,
                    content_hash=known.content_hash,
                    fresh_for=fresh,
                )
            if resp.status_code >= 400:
                raise HTTPStatusError(
                    resp.status_code, retry_after=retry_after(resp.headers.get("retry-after"))
                )
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise TooLarge(f"body is {int(declared):,} bytes, over the {self.max_bytes:,} cap")
            body = Body(self.max_bytes)
            decoder = Decoder(resp.headers.get("content-encoding", ""))
            async for chunk in resp.aiter_raw():
                for piece in decoder.feed(chunk):
                    body.add(piece)
            for piece in decoder.flush():
                body.add(piece)
            digest = body.digest()
            etag, modified = resp.headers.get("etag"), resp.headers.get("last-modified")
            ctype = resp.headers.get("content-type", "")
        if digest == known.content_hash:
            status, data = "unchanged", None
        else:
            status, data = "ok", body.bytes()
        return FetchResult(
            url=url,
            status=status,
            body=data,
            content_type=ctype,
            etag=etag,
            last_modified=modified,
            content_hash=digest,
            fresh_for=fresh,
            size=body.size,
        )


async def _drain(resp: httpx.Response) -> None:
    """Read (and drop) a short answer to its end, so httpcore keeps the connection."""
    size = 0
    async for chunk in resp.aiter_raw():
        size += len(chunk)
        if size > REDIRECT_BODY:
            return  # closing it drops the connection; fine for a rare big redirect page


def retry_after(value: str | None) -> float | None:
    """Retry-After is seconds or an HTTP date; anything else is ignored."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def fresh_for(headers: httpx.Headers) -> float | None:
    """Seconds the publisher says this answer stays fresh (RFC 9111 §4.2.1): ``max-age``
    minus ``Age``, else ``Expires`` minus ``Date``; 0 for ``no-cache``/``no-store`` or an
    unreadable ``Expires``; ``None`` when it says nothing."""
    age = _seconds(headers.get("age")) or 0.0
    directives = _cache_control(headers.get_list("cache-control", split_commas=True))
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    max_age = _seconds(directives.get("max-age"))
    if max_age is not None:
        return max(0.0, max_age - age)
    expires = headers.get("expires")
    if expires is None:
        return None
    try:
        until = parsedate_to_datetime(expires).timestamp()
        date = headers.get("date")
        now = parsedate_to_datetime(date).timestamp() if date else time.time()
    except (TypeError, ValueError, IndexError):
        return 0.0  # "Expires: 0" and other junk mean "already stale"
    return max(0.0, until - now - age)


def _cache_control(parts: list[str]) -> dict[str, str]:
    out = {}
    for part in parts:
        name, _, value = part.strip().partition("=")
        if name:
            out[name.strip().lower()] = value.strip().strip('"')
    return out


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    value = value.strip()
    return float(value) if value.isdigit() else None
