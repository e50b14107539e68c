"""The one place where a poll happens:

    fetch → parse → new? → match → store      per feed, as each fetch completes
    group → route → store                      once per cycle, over every feed's new alerts

Fetches run at once on the fetcher's event loop (``feeds/fetch.py``: many in
flight, a few per host); each outcome is handed over as it completes, and bodies go
to a small process pool for parsing (``feeds/parser.py``), so both cores work and
only a bounded number of bodies ever wait. Everything
a feed's entries go through is guarded as one step: whatever fails, of whatever
kind, is recorded on that feed with a growing back-off and never stops the other
feeds. The cycle's batch is grouped and routed in ``batch.py``. When a feed is
polled next is ``schedule.py``'s answer, given the user's interval and what the
publisher asked.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import structlog

from . import schedule
from .batch import Batch, at
from .config import FeedConfig, Settings
from .errors import MonitorError, error_kind
from .feeds.fetch import Fetcher
from .feeds.parser import Parsed, ParseJob, Parser
from .models import Candidate, Entry, FetchResult, ParserState, Validators
from .rules import Engine
from .store import FeedState, PollRecord, PollResult, Scheduled, Store
from .stories import Grouper

log = structlog.get_logger("poll")


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    name: str
    status: str  # ok | not_modified | unchanged | error
    new_entries: int = 0
    alerts: int = 0
    error: str = ""
    error_kind: str = ""  # timeout | http_4xx | http_5xx | too_large | transport | parse | …
    seconds: float = 0.0  # the fetch's duration (0 when it never ran)
    size: int = 0  # bytes received


@dataclass
class CycleReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)
    routed: Counter[str] = field(default_factory=Counter)  # new alerts by state
    created: Counter[tuple[str, str]] = field(default_factory=Counter)  # (severity, rule)
    joins: int = 0  # alerts that joined a story already told

    @property
    def alerts(self) -> int:
        return sum(o.alerts for o in self.outcomes)

    @property
    def errors(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.status == "error"]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass
class Pipeline:
    settings: Settings
    store: Store
    fetcher: Fetcher
    engine: Callable[[], Engine]  # the current rules, which may be reloaded between polls
    clock: Callable[[], float] = time.time
    on_stored: Callable[[str, PollResult], None] | None = None  # ops checks (GUID churn)
    jitter: Callable[[], float] = random.random  # spreads polls due together (schedule.py)
    parser: Parser = field(default_factory=Parser)  # bytes → entries, in worker processes
    batch: Batch = field(init=False)

    def __post_init__(self) -> None:
        self.batch = Batch(self.settings, self.store, lambda: self.clock())

    def poll(
        self,
        feeds: Sequence[FeedConfig],
        *,
        stop: Callable[[], bool] = lambda: False,
        progress: Callable[[FeedOutcome], None] | None = None,
    ) -> CycleReport:
        report = CycleReport()
        self.batch.start_cycle()
        states = {s.name: s for s in self.store.feeds.states()}

        def done(outcome: FeedOutcome) -> None:
            report.outcomes.append(outcome)
            if progress:
                progress(outcome)

        jobs = [(feed, feed.url, _validators(states.get(feed.name))) for feed in feeds]

        def bodies() -> Iterator[tuple[tuple[FeedConfig, FetchResult], ParseJob]]:
            """Fetches as they complete; unchanged and failed feeds are done here. Once
            stop() is true no new fetch starts; those in flight are still recorded, the
            others stay due and are polled next time."""
            for feed, fetched in self.fetcher.fetch_all(jobs, stop=stop):
                state = states.get(feed.name)
                result = self._fetched(feed, state, fetched)
                if isinstance(result, FeedOutcome):
                    done(result)
                else:
                    yield (feed, result), self._job(feed, state, result)

        for (feed, result), parsed in self.parser.map(bodies(), expected=len(feeds)):
            done(self._parsed(feed, states.get(feed.name), result, parsed))
        routed = self.batch.group_and_route()
        report.routed, report.created, report.joins = routed.states, routed.created, routed.joins
        return report

    # -- per feed ---------------------------------------------------------------------

    def _fetched(
        self, feed: FeedConfig, state: FeedState | None, fetched: FetchResult | BaseException
    ) -> FetchResult | FeedOutcome:
        """The fetch's body to parse, or the feed's outcome when there is none."""
        now = self.clock()
        policy = self.settings.policy(feed)
        try:
            if isinstance(fetched, BaseException):
                raise fetched
            result = fetched
            if result.body is not None:
                return result
            known = state.publisher_interval if state else None
            plan = self._plan(feed.name, policy, result, known, now)
            self.store.feeds.record_unchanged(feed.name, now, plan, result.validators)
            log.debug("feed.unchanged", feed=feed.name, how=result.status)
            return FeedOutcome(feed.name, result.status, seconds=result.elapsed, size=result.size)
        except Exception as exc:
            return self._failed(feed, state, now, policy.base, exc)

    def _job(self, feed: FeedConfig, state: FeedState | None, result: FetchResult) -> ParseJob:
        assert result.body is not None
        return ParseJob(
            feed=feed.name,
            body=result.body,
            now=self.clock(),
            base_url=result.url if result.url.startswith("http") else "",
            content_type=result.content_type,
            state=state.parser if state else ParserState(),
        )

    def _parsed(
        self,
        feed: FeedConfig,
        state: FeedState | None,
        result: FetchResult,
        parsed: Parsed | BaseException,
    ) -> FeedOutcome:
        now = self.clock()
        policy = self.settings.policy(feed)
        try:
            if isinstance(parsed, BaseException):
                raise parsed
            return self._store(feed, state, result, parsed, now, policy)
        except Exception as exc:
            return self._failed(feed, state, now, policy.base, exc)

    def _plan(
        self,
        feed: str,
        policy: schedule.Policy,
        result: FetchResult,
        publisher_interval: float | None,
        now: float,
        arriving: int = 0,
    ) -> Scheduled:
        """The next poll; ``arriving``: entries of this poll, not stored yet, that were
        published in the last week (they count for ``auto``)."""
        weekly = 0
        if policy.interval is None:
            weekly = self.store.entries.published_since(feed, now - schedule.WEEK) + arriving
        hints = schedule.Hints(publisher_interval, result.fresh_for)
        plan = schedule.plan(now, policy, hints, weekly=weekly, jitter=self.jitter())
        return Scheduled(plan.at, plan.interval, plan.why, publisher_interval)

    def _store(
        self,
        feed: FeedConfig,
        state: FeedState | None,
        result: FetchResult,
        outcome: Parsed,
        now: float,
        policy: schedule.Policy,
    ) -> FeedOutcome:
        parsed = outcome.feed
        if outcome.refused:
            log.debug("feed.parser", feed=feed.name, parser="feedparser", why=outcome.refused)
        known = self.store.entries.known(feed.name, (e.key for e in parsed.entries))
        new = list({e.key: e for e in parsed.entries if e.key not in known}.values())
        first_poll = state is None or not state.first_polled
        candidates = self._match(feed, new, now, first_poll)
        week_ago = now - schedule.WEEK
        arriving = sum(1 for e in new if at(e, now) >= week_ago)
        plan = self._plan(feed.name, policy, result, parsed.publisher_interval, now, arriving)
        # built (from the database) before this poll's entries are written, so that
        # they are counted once, below, and not also by the warm-up
        grouping = bool(new) and self.settings.stories.enabled
        if grouping:
            self.batch.grouper()
        stored = self.store.record_poll(
            PollRecord(
                feed=feed.name,
                now=now,
                next_poll=plan.next_poll,
                validators=result.validators,
                entries=new,
                candidates=candidates,
                channel=self.settings.slack.channel,
                plan=plan,
                parser=outcome.state,
            )
        )
        if grouping and stored.fresh:
            self.batch.observe([i.entry for i in stored.fresh], now)
        if self.on_stored is not None:
            self.on_stored(feed.name, stored)
        if parsed.warning:
            log.info("feed.malformed", feed=feed.name, warning=parsed.warning)
        log.info(
            "feed.polled",
            feed=feed.name,
            entries=len(parsed.entries),
            new=len(stored.fresh),
            alerts=len(stored.alerts),
            first_poll=first_poll,
            parser=outcome.by,
            next_poll_in=round(plan.next_poll - now, 1),
            interval=plan.why,
        )
        return FeedOutcome(
            feed.name,
            "ok",
            len(stored.fresh),
            len(stored.alerts),
            seconds=result.elapsed,
            size=result.size,
        )

    def _match(
        self, feed: FeedConfig, entries: Sequence[Entry], now: float, first_poll: bool
    ) -> list[Candidate]:
        """Only entries that could alert are matched: recent enough, and on a feed's
        first poll, dated (undated items then are seen, not alerted)."""
        engine = self.engine()
        max_age = self.settings.max_age(feed).total_seconds()
        out = []
        for entry in entries:
            if entry.published is not None:
                if now - entry.published.timestamp() > max_age:
                    continue
            elif first_poll:
                continue
            matches = engine.match(entry)
            if matches:
                out.append(Candidate(entry, tuple(matches)))
        return out

    def _failed(
        self,
        feed: FeedConfig,
        state: FeedState | None,
        now: float,
        interval: float,
        exc: BaseException,
    ) -> FeedOutcome:
        """Whatever failed for this feed (fetch, parse, match, database; a bug too, said
        loudly) is recorded on it with a growing back-off; the other feeds go on."""
        if not isinstance(exc, MonitorError):
            log.error("feed.bug", feed=feed.name, exc_info=exc)
            exc = MonitorError(f"internal error: {exc.__class__.__name__}: {exc}")
        errors = (state.error_count if state else 0) + 1
        cap = self.settings.fetch.max_backoff.total_seconds()
        delay = min(cap, interval * 2 ** min(errors - 1, 16))
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            delay = max(delay, min(retry_after, cap))
        try:
            self.store.feeds.record_failure(feed.name, now, now + delay, str(exc))
        except MonitorError as store_exc:  # the database itself failing: say so, go on
            log.error("feed.not_recorded", feed=feed.name, error=str(store_exc))
        log.warning(
            "feed.failed", feed=feed.name, error=str(exc), errors=errors, retry_in=round(delay)
        )
        return FeedOutcome(
            feed.name,
            "error",
            error=str(exc),
            error_kind=error_kind(exc),
            seconds=getattr(exc, "elapsed", 0.0),
        )

    # -- the batch, for the callers that drive it --------------------------------------

    def group_and_route(self) -> Counter[str]:
        return self.batch.group_and_route().states

    def grouper(self) -> Grouper:
        return self.batch.grouper()

    def expire(self, now: float) -> None:
        self.batch.expire(now)


def _validators(state: FeedState | None) -> Validators:
    if state is None:
        return Validators()
    return Validators(state.etag, state.last_modified, state.content_hash)
