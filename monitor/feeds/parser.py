"""Feed bytes → entries, on both cores, with a fast parser a feed must earn.

``Parser.map`` parses documents in a small pool of processes (forkserver: each
worker starts from a process that imported the parsers once, and never from a
process with threads) and hands the results back as they complete, never more
than a few in flight, so a cycle never holds every parsed feed at once. With no
workers (or a handful of documents) it parses in the calling process.

Which parser reads a feed is the feed's ``ParserState``, kept in the database:

    never checked ("")  → "check": feedparser and the fast parser both read it;
                          identical entries make the feed "fast", anything else "slow"
    "fast"              → the fast parser alone; every RECHECK_EVERY parses a check.
                          An odd-looking document or an error: feedparser, and "slow"
    "slow"              → feedparser alone; every RETRY_SLOW_EVERY parses a check

Entries returned are always those feedparser gives, or those the fast parser gave
for a feed where, at its last check, both were identical; ``fast.py`` refuses
documents (encodings, missing guids, uncertain item counts) it cannot vouch for.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from ..models import UNCHECKED, ParsedFeed, ParserState
from .fast import NotPlain, parse_fast
from .parse import parse_feed

RECHECK_EVERY = 20
RETRY_SLOW_EVERY = 50
INLINE_BELOW = 16  # a cycle of fewer feeds parses in the calling process (no pool start)

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class ParseJob:
    feed: str
    body: bytes
    now: float
    base_url: str = ""
    content_type: str = ""
    state: ParserState = UNCHECKED


@dataclass(frozen=True, slots=True)
class Parsed:
    feed: ParsedFeed
    state: ParserState  # the feed's state after this parse, to be stored
    by: str  # "fast" or "feedparser": which parser's entries these are
    refused: str = ""  # why a check or a fast parse fell back to feedparser


def mode(state: ParserState) -> str:
    """Which parse a feed in this state gets next: "check", "fast" or "slow"."""
    if state.parser == "fast":
        return "check" if state.since >= RECHECK_EVERY else "fast"
    if state.parser == "slow":
        return "check" if state.since >= RETRY_SLOW_EVERY else "slow"
    return "check"


def parse_job(job: ParseJob) -> Parsed:
    """One document, in whichever process runs it. Raises ParseError when feedparser
    finds no feed at all; the fast parser's failures only ever mean feedparser."""
    now = datetime.fromtimestamp(job.now, tz=UTC)
    how = mode(job.state)
    fast: ParsedFeed | None = None
    refused = ""
    if how in ("fast", "check"):
        try:
            fast = parse_fast(job.body, feed_name=job.feed, base_url=job.base_url, now=now)
        except NotPlain as exc:
            refused = str(exc)
    if how == "fast" and fast is not None:
        return Parsed(fast, ParserState("fast", job.state.since + 1), "fast")
    slow = parse_feed(
        job.body,
        feed_name=job.feed,
        base_url=job.base_url,
        content_type=job.content_type,
        now=now,
    )
    if how == "check" and fast is not None:
        refused = _difference(fast, slow)
        if not refused:
            return Parsed(slow, ParserState("fast", 0), "feedparser")
    if how == "slow":
        return Parsed(slow, ParserState("slow", job.state.since + 1), "feedparser")
    return Parsed(slow, ParserState("slow", 0), "feedparser", refused)


def _difference(fast: ParsedFeed, slow: ParsedFeed) -> str:
    if slow.warning:
        return f"feedparser found the document malformed ({slow.warning[:100]})"
    if (fast.title, fast.publisher_interval) != (slow.title, slow.publisher_interval):
        return "the feed's title or the interval it asks for differ"
    if len(fast.entries) != len(slow.entries):
        return f"{len(fast.entries)} entries against feedparser's {len(slow.entries)}"
    for a, b in zip(fast.entries, slow.entries, strict=True):
        if a != b:
            fields = [f for f in a.__slots__ if getattr(a, f) != getattr(b, f)]
            return f"entry {b.key}: {', '.join(fields)} differ"
    return ""


def _run(job: ParseJob) -> Parsed | BaseException:
    try:
        return parse_job(job)
    except Exception as exc:
        return exc


def default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(4, cores or 1) if (cores or 1) > 1 else 0


class Parser:
    """Parses documents, in a pool of ``workers`` processes started on first need."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None

    def parse(self, job: ParseJob) -> Parsed:
        return parse_job(job)

    def map(
        self, jobs: Iterable[tuple[K, ParseJob]], *, expected: int = 0
    ) -> Iterator[tuple[K, Parsed | BaseException]]:
        """Each job's result (or the exception it raised), in the order they complete.

        Documents that need feedparser go to the pool; the fast parser's, about a
        millisecond each, are parsed here (shipping them costs about as much). With
        no workers, or ``expected`` below INLINE_BELOW documents, everything is here.
        """
        inline = self.workers == 0 or expected < INLINE_BELOW
        window = 2 * max(1, self.workers)  # parsed documents waiting for the caller, at most
        running: dict[Future[Parsed], K] = {}
        source = iter(jobs)
        more = True
        while more or running:
            while more and len(running) < window:
                try:
                    key, job = next(source)
                except StopIteration:
                    more = False
                    break
                if inline or mode(job.state) == "fast":
                    yield key, _run(job)
                else:
                    running[self._start().submit(parse_job, job)] = key
            if not running:
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                key = running.pop(future)
                try:
                    yield key, future.result()
                except Exception as exc:
                    yield key, exc

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            # "__main__": the forkserver imports the main module once, so that each
            # worker does not import it again (for `monitor`, the CLI)
            context.set_forkserver_preload(["__main__", __name__, "fastfeedparser"])
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
