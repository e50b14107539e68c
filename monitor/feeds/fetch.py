"""Fetch feed bytes over HTTP(S) or from a local file. The only network code for feeds.

``Fetcher`` is what the rest of the monitor sees, from plain threads:

* ``fetch(url, known)``: one feed, waited for;
* ``fetch_all(jobs, stop=…)``: many feeds at once, each outcome (a ``FetchResult``
  or the ``FetchError`` it raised) handed over as soon as it completes.

Underneath, one event loop on a thread of its own runs every fetch as a
coroutine over one ``httpx.AsyncClient`` (keep-alive, HTTP/2 where a server
offers it): thousands of slow feeds cost a coroutine each, not a thread each.
The parts: ``http.py`` (one fetch: deadline, redirects, conditional GET, cap),
``decode.py`` (bounded decompression), ``network.py`` (pools per host, the
address check), ``streams.py`` (sockets over asyncio), ``hosts.py`` (per-host
politeness), ``crawl.py`` (many at once, handed over as each completes).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from .. import __version__
from ..errors import FetchError, TooLarge, TransportError
from ..models import FetchResult, Validators
from .crawl import Crawl, Job, Outcome, is_http
from .decode import content_hash
from .hosts import HostSlots
from .http import HttpFetcher
from .network import AllowPrivate

USER_AGENT = (
    f"monitor/{__version__} (self-hosted security-news alerts; +https://github.com/monitor/monitor)"
)
CONCURRENCY = 200  # see FetchConfig.concurrency for the arithmetic
BACKLOG = 32  # fetched bodies that may wait to be parsed, beyond those in flight
K = TypeVar("K")
T = TypeVar("T")


class Fetcher:
    def __init__(
        self,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_bytes: int = 10 * 1024 * 1024,
        user_agent: str | None = None,
        concurrency: int = CONCURRENCY,
        per_host: int = 2,
        max_redirects: int = 5,
        allow_private: AllowPrivate = False,
        backlog: int = BACKLOG,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.concurrency = concurrency
        self.backlog = backlog
        self.slots = HostSlots(per_host)
        self._http_options: dict[str, Any] = {
            "timeout": timeout,
            "connect_timeout": connect_timeout,
            "max_bytes": max_bytes,
            "max_redirects": max_redirects,
            "user_agent": user_agent or USER_AGENT,
            "allow_private": allow_private,
            "max_connections": concurrency,
        }
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._http: HttpFetcher | None = None

    # -- the API, for plain threads ---------------------------------------------------

    def fetch(self, url: str, known: Validators | None = None) -> FetchResult:
        job: Job[None] = Job(None, url, known or Validators(), None)
        return self._call(self._run(job, slot_taken=False)).result()

    def fetch_all(
        self,
        jobs: Iterable[tuple[K, str, Validators]],
        *,
        stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[tuple[K, Outcome]]:
        """``(key, FetchResult or the exception)`` for each job, as each completes. Once
        ``stop()`` is true no new fetch starts; those in flight are still handed over."""
        loop = self._started()

        async def run(job: Job[K]) -> FetchResult:
            return await self._run(job, slot_taken=True)

        crawl = Crawl(
            loop, run, self.slots, jobs, concurrency=self.concurrency, backlog=self.backlog
        )
        try:
            yield from crawl.outcomes(stop)
        finally:
            if self._http is not None:  # keep-alive would not outlive the gap to the next poll
                self._call(self._http.close_idle()).result()

    def close(self) -> None:
        with self._lock:
            loop, thread, self._loop = self._loop, self._thread, None
        if loop is None or thread is None:
            return
        if self._http is not None:
            asyncio.run_coroutine_threadsafe(self._http.aclose(), loop).result()
            self._http = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the loop's side ----------------------------------------------------------------

    async def _run(self, job: Job[Any], *, slot_taken: bool) -> FetchResult:
        """One fetch, timed (the metrics' fetch duration, failed fetches included)."""
        started = time.monotonic()
        try:
            if not is_http(job.url):
                result = await asyncio.to_thread(self._fetch_file, job.url, job.known)
            else:
                if self._http is None:
                    self._http = HttpFetcher(slots=self.slots, **self._http_options)
                result = await self._http.fetch(job.url, job.known, slot_taken=slot_taken)
        except FetchError as exc:
            exc.elapsed = time.monotonic() - started
            raise
        return dataclasses.replace(result, elapsed=time.monotonic() - started)

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="fetch-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _call(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._started())

    def _fetch_file(self, url: str, known: Validators) -> FetchResult:
        path = Path(unquote(urlsplit(url).path) if url.startswith("file://") else url)
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                raise TooLarge(f"file is {size:,} bytes, over the {self.max_bytes:,} cap")
            body = path.read_bytes()
        except OSError as exc:
            raise TransportError(f"cannot read {path}: {exc.strerror or exc}") from exc
        digest = content_hash(body)
        if digest == known.content_hash:
            return FetchResult(
                url=str(path), status="unchanged", content_hash=digest, size=len(body)
            )
        return FetchResult(
            url=str(path), status="ok", body=body, content_hash=digest, size=len(body)
        )
