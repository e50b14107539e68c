"""Many fetches at once on the fetch loop, each handed over as soon as it completes.

    consuming thread (Pipeline.poll)            fetch loop thread
    for key, outcome in fetch_all(...)  ◄──  results  ◄──  one task per feed
        (asks for the next one)         ──►  consumed() → may start another fetch

What is started, in order: a local file whenever there is room; else the next
host, round robin, whose ``per_host`` slots are not all in use, so a host with
500 feeds neither waits behind the others nor holds up the rest. Limits:

* at most ``concurrency`` fetches in flight;
* at most ``concurrency + backlog`` bodies held at once, in flight or fetched and
  waiting to be parsed: a body keeps its place until the consumer asks for the
  next outcome, so a slow parser slows fetching down instead of filling memory.
  Outcomes without a body (304, unchanged, errors) give their place back at once.

Everything here runs on the loop's thread except ``Crawl.outcomes``, which is the
consumer's side: it polls ``stop()`` and, once it is true, no new fetch starts;
those in flight finish and are handed over; the rest are never started.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..models import FetchResult, Validators
from .hosts import HostSlots, host_of

K = TypeVar("K")
Outcome = FetchResult | Exception
STOP_POLL = 0.2  # seconds between looks at stop() while no outcome arrives
_DONE = object()


@dataclass(slots=True)
class Job(Generic[K]):
    key: K
    url: str
    known: Validators
    host: str | None  # None: a local file, no network, no politeness slot
    started: bool = False  # the task began, so its fetch gives its slot back itself


def is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


class Crawl(Generic[K]):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        run: Callable[[Job[K]], Coroutine[Any, Any, FetchResult]],
        slots: HostSlots,
        jobs: Iterable[tuple[K, str, Validators]],
        *,
        concurrency: int,
        backlog: int,
    ) -> None:
        self.loop, self.run, self.slots = loop, run, slots
        self.concurrency, self.held_cap = concurrency, concurrency + backlog
        self.files: deque[Job[K]] = deque()
        self.queued: dict[str, deque[Job[K]]] = {}
        for key, url, known in jobs:
            if is_http(url):
                job = Job(key, url, known, host_of(url))
                self.queued.setdefault(job.host or "", deque()).append(job)
            else:
                self.files.append(Job(key, url, known, None))
        self.ready: deque[str] = deque(self.queued)
        self.in_ready = set(self.queued)
        self.tasks: set[asyncio.Task[FetchResult]] = set()
        self.in_flight = self.held = 0
        self.halted = self.finished = False
        self.results: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.done = threading.Event()

    # -- the consumer's side ----------------------------------------------------------

    def outcomes(self, stop: Callable[[], bool]) -> Iterator[tuple[K, Outcome]]:
        self.loop.call_soon_threadsafe(self._start)
        release, halted = False, False
        try:
            while True:
                if release:  # the consumer is done with the body it was given last
                    self.loop.call_soon_threadsafe(self._consumed)
                    release = False
                if not halted and stop():
                    self.loop.call_soon_threadsafe(self._halt)
                    halted = True
                try:
                    item = self.results.get(timeout=STOP_POLL)
                except queue.Empty:
                    continue
                if item is _DONE:
                    return
                key, outcome, release = item
                yield key, outcome
        finally:
            if not self.done.is_set():  # left early: cancel what is in flight
                self.loop.call_soon_threadsafe(self._cancel)
                self.done.wait(10)

    # -- the loop's side ----------------------------------------------------------------

    def _start(self) -> None:
        self.slots.listeners.add(self._host_free)
        self._pump()

    def _pump(self) -> None:
        while not self.halted and self.in_flight < self.concurrency and self.held < self.held_cap:
            job = self._next()
            if job is None:
                break
            self.in_flight += 1
            self.held += 1
            task = self.loop.create_task(self._task(job))
            self.tasks.add(task)
            task.add_done_callback(lambda t, j=job: self._finished(j, t))  # type: ignore[misc]
        if self.in_flight == 0 and (self.halted or not (self.files or self.queued)):
            self._finish()

    def _next(self) -> Job[K] | None:
        if self.files:
            return self.files.popleft()
        while self.ready:
            host = self.ready.popleft()
            self.in_ready.discard(host)
            jobs = self.queued.get(host)
            if not jobs or not self.slots.try_take(host):
                continue  # a host at its cap comes back through _host_free
            job = jobs.popleft()
            if not jobs:
                del self.queued[host]
            elif self.slots.has_room(host):
                self._make_ready(host)
            return job
        return None

    def _make_ready(self, host: str) -> None:
        if host not in self.in_ready:
            self.ready.append(host)
            self.in_ready.add(host)

    def _host_free(self, host: str) -> None:
        if host in self.queued:
            self._make_ready(host)
            self._pump()

    async def _task(self, job: Job[K]) -> FetchResult:
        job.started = True
        return await self.run(job)

    def _finished(self, job: Job[K], task: asyncio.Task[FetchResult]) -> None:
        self.tasks.discard(task)
        self.in_flight -= 1
        if task.cancelled():
            self.held -= 1
            if not job.started and job.host is not None:
                self.slots.give_back(job.host)  # cancelled before it could
        else:
            exc = task.exception()
            outcome: Outcome = task.result() if exc is None else _as_exception(exc)
            body = isinstance(outcome, FetchResult) and outcome.body is not None
            if not body:
                self.held -= 1
            self.results.put((job.key, outcome, body))
        self._pump()

    def _consumed(self) -> None:
        self.held -= 1
        self._pump()

    def _halt(self) -> None:
        self.halted = True
        self._pump()

    def _cancel(self) -> None:
        self.halted = True
        for task in list(self.tasks):
            task.cancel()
        self._pump()

    def _finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.slots.listeners.discard(self._host_free)
            self.results.put(_DONE)
            self.done.set()


def _as_exception(exc: BaseException) -> Exception:
    if isinstance(exc, Exception):
        return exc
    raise exc  # KeyboardInterrupt and friends are not a feed's outcome
