"""Fetch feed bytes over HTTP(S) or from a local file. The only network code for feeds.

Conditional GET (ETag / Last-Modified), a total deadline on top of httpx's
per-operation timeouts (a server that drips one byte a second never trips a
read timeout), a size cap enforced while streaming, and a content hash so an
unchanged body skips parsing. httpx errors become ``FetchError``s here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from .. import __version__
from ..errors import FetchError, FetchTimeout, HTTPStatusError, TooLarge, TransportError
from ..models import FetchResult, Validators

USER_AGENT = (
    f"monitor/{__version__} (self-hosted security-news alerts; +https://github.com/monitor/monitor)"
)


class Fetcher:
    def __init__(
        self,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_bytes: int = 10 * 1024 * 1024,
        user_agent: str | None = None,
        pool_size: int = 16,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            follow_redirects=True,
            max_redirects=5,
            headers={
                "User-Agent": user_agent or USER_AGENT,
                "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
                "text/xml;q=0.9, */*;q=0.5",
            },
            limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str, known: Validators | None = None) -> FetchResult:
        known = known or Validators()
        started = time.monotonic()
        try:
            if url.startswith(("http://", "https://")):
                result = self._fetch_http(url, known)
            else:
                result = self._fetch_file(url, known)
        except FetchError as exc:
            exc.elapsed = time.monotonic() - started
            raise
        return dataclasses.replace(result, elapsed=time.monotonic() - started)

    def _fetch_http(self, url: str, known: Validators) -> FetchResult:
        headers = {}
        if known.etag:
            headers["If-None-Match"] = known.etag
        if known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        deadline = time.monotonic() + self.timeout
        try:
            with self.client.stream("GET", url, headers=headers) as resp:
                fresh_for = _fresh_for(resp.headers)
                if resp.status_code == 304:
                    return FetchResult(
                        url=url,
                        status="not_modified",
                        etag=known.etag,
                        last_modified=known.last_modified,
                        content_hash=known.content_hash,
                        fresh_for=fresh_for,
                    )
                if resp.status_code >= 400:
                    raise HTTPStatusError(
                        resp.status_code, retry_after=_retry_after(resp.headers.get("retry-after"))
                    )
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise TooLarge(
                        f"body is {int(declared):,} bytes, over the {self.max_bytes:,} cap"
                    )
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise TooLarge(f"body passed the {self.max_bytes:,}-byte cap")
                    if time.monotonic() > deadline:
                        raise FetchTimeout(f"no complete answer within {self.timeout:g}s")
                    chunks.append(chunk)
                body = b"".join(chunks)
                result = _result(
                    url,
                    body,
                    known,
                    resp.headers.get("content-type", ""),
                    resp.headers.get("etag"),
                    resp.headers.get("last-modified"),
                )
                return dataclasses.replace(result, fresh_for=fresh_for)
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"timed out ({exc.__class__.__name__})") from exc
        except httpx.TooManyRedirects as exc:
            raise TransportError("too many redirects") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise TransportError(f"{exc.__class__.__name__}: {exc}"[:300]) from exc

    def _fetch_file(self, url: str, known: Validators) -> FetchResult:
        path = Path(unquote(urlsplit(url).path) if url.startswith("file://") else url)
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                raise TooLarge(f"file is {size:,} bytes, over the {self.max_bytes:,} cap")
            body = path.read_bytes()
        except OSError as exc:
            raise TransportError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return _result(str(path), body, known, "", None, None)


def _result(
    url: str,
    body: bytes,
    known: Validators,
    ctype: str,
    etag: str | None,
    modified: str | None,
) -> FetchResult:
    digest = hashlib.blake2b(body, digest_size=16).hexdigest()
    if digest == known.content_hash:
        return FetchResult(
            url=url,
            status="unchanged",
            content_type=ctype,
            etag=etag,
            last_modified=modified,
            content_hash=digest,
            size=len(body),
        )
    return FetchResult(
        url=url,
        status="ok",
        body=body,
        content_type=ctype,
        etag=etag,
        last_modified=modified,
        content_hash=digest,
        size=len(body),
    )


_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def _fresh_for(headers: httpx.Headers) -> float | None:
    """How long the publisher says its answer stays fresh: Cache-Control max-age,
    else Expires minus Date (RFC 9111 4.2.1). no-cache / no-store: nothing asked."""
    control = headers.get("cache-control", "")
    if re.search(r"no-cache|no-store", control, re.IGNORECASE):
        return None
    found = _MAX_AGE.search(control)
    if found:
        return float(found.group(1))
    expires = headers.get("expires")
    if not expires:
        return None
    try:
        until = parsedate_to_datetime(expires).timestamp()
        date = headers.get("date")
        base = parsedate_to_datetime(date).timestamp() if date else time.time()
    except (TypeError, ValueError, IndexError):
        return None  # "Expires: 0" and other junk mean "already stale"
    return max(0.0, until - base)


def _retry_after(value: str | None) -> float | None:
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
