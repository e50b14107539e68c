"""The one place where a poll happens: fetch → parse → match → store.

Fetching and parsing run in a thread pool (network-bound); matching and the
database stay on the calling thread, one transaction per feed. A failing feed
is recorded on that feed with a growing back-off and never stops the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from .config import FeedConfig, Settings
from .errors import FetchError, MonitorError, ParseError
from .fetch import Fetcher, Validators
from .models import Entry, FetchResult, Match, ParsedFeed, Severity
from .parse import parse_feed
from .rules import Engine
from .store import FeedState, Grouper, NewAlert, PollResult, Store

log = structlog.get_logger("poll")


@dataclass
class FeedOutcome:
    name: str
    status: str  # ok | not_modified | unchanged | error
    new_entries: int = 0
    alerts: int = 0
    error: str = ""


@dataclass
class PollReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)

    @property
    def alerts(self) -> int:
        return sum(o.alerts for o in self.outcomes)

    @property
    def errors(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.status == "error"]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass
class Poller:
    settings: Settings
    store: Store
    fetcher: Fetcher
    engine: Callable[[], Engine]  # the current rules, which may be reloaded between polls
    clock: Callable[[], float] = time.time
    grouper: Grouper | None = None  # story grouping; None: every alert stands alone
    on_stored: Callable[[str, PollResult], None] | None = None  # ops checks (GUID churn)

    def poll(
        self,
        feeds: Sequence[FeedConfig],
        *,
        stop: Callable[[], bool] = lambda: False,
        progress: Callable[[FeedOutcome], None] | None = None,
    ) -> PollReport:
        report = PollReport()
        states = {s.name: s for s in self.store.feed_states()}
        workers = min(self.settings.fetch.concurrency, max(1, len(feeds)))
        with ThreadPoolExecutor(workers, thread_name_prefix="fetch") as pool:
            futures: dict[Future[FetchResult], FeedConfig] = {}
            for feed in feeds:
                state = states.get(feed.name)
                known = (
                    Validators(state.etag, state.last_modified, state.content_hash)
                    if state
                    else Validators()
                )
                futures[pool.submit(self.fetcher.fetch, feed.url, known)] = feed
            for future in as_completed(futures):
                feed = futures[future]
                if stop():
                    # leave the rest unrecorded: they stay due and are polled next time
                    for f in futures:
                        f.cancel()
                    break
                outcome = self._record(feed, states.get(feed.name), future)
                report.outcomes.append(outcome)
                if progress:
                    progress(outcome)
        return report

    def _parse(self, feed: FeedConfig, result: FetchResult) -> ParsedFeed | None:
        """On the consuming thread: parsing is CPU work, and CPU work in the fetch
        threads only makes them fight over the GIL."""
        if result.body is None:
            return None
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        base = result.url if result.url.startswith("http") else ""
        return parse_feed(
            result.body,
            feed_name=feed.name,
            base_url=base,
            content_type=result.content_type,
            now=now,
        )

    def _record(
        self,
        feed: FeedConfig,
        state: FeedState | None,
        future: Future[FetchResult],
    ) -> FeedOutcome:
        now = self.clock()
        interval = self.settings.interval(feed).total_seconds()
        try:
            result = future.result()
            parsed = self._parse(feed, result)
        except (FetchError, ParseError) as exc:
            return self._failed(feed, state, now, interval, exc)
        except Exception as exc:  # a bug must not stop the other feeds; record it loudly
            log.exception("feed.bug", feed=feed.name)
            return self._failed(feed, state, now, interval, MonitorError(f"internal error: {exc}"))
        if parsed is None:
            self.store.record_unchanged(
                feed.name,
                now,
                now + interval,
                etag=result.etag,
                last_modified=result.last_modified,
                content_hash=result.content_hash,
            )
            log.debug("feed.unchanged", feed=feed.name, how=result.status)
            return FeedOutcome(feed.name, result.status)
        first_poll = state is None or not state.first_polled
        new = self._match(feed, parsed.entries, now, first_poll)
        stored = self.store.record_poll(
            feed.name,
            now,
            now + interval,
            new,
            etag=result.etag,
            last_modified=result.last_modified,
            content_hash=result.content_hash,
            max_alerts=self.settings.slack.max_alerts_per_poll,
            grouper=self.grouper,
        )
        fresh, alert_ids = stored.fresh, stored.alerts
        if self.on_stored is not None:
            self.on_stored(feed.name, stored)
        if parsed.warning:
            log.info("feed.malformed", feed=feed.name, warning=parsed.warning)
        log.info(
            "feed.polled",
            feed=feed.name,
            entries=len(parsed.entries),
            new=fresh,
            alerts=len(alert_ids),
            first_poll=first_poll,
        )
        return FeedOutcome(feed.name, "ok", new_entries=fresh, alerts=len(alert_ids))

    def _match(
        self, feed: FeedConfig, entries: Sequence[Entry], now: float, first_poll: bool
    ) -> list[NewAlert]:
        engine = self.engine()
        max_age = self.settings.max_age(feed).total_seconds()
        out = []
        for entry in entries:
            matches = tuple(engine.match(entry))
            if entry.published is not None:
                alertable = now - entry.published.timestamp() <= max_age
            else:
                alertable = not first_poll  # undated items on a first poll: seen, not alerted
            out.append(
                NewAlert(
                    entry=entry,
                    matches=matches,
                    channel=self._channel(feed, matches),
                    alertable=alertable,
                    digest=self._digest(matches),
                )
            )
        return out

    def _digest(self, matches: tuple[Match, ...]) -> str | None:
        """A rule's own `digest:` wins; else the severity's entry in slack.digests."""
        if not matches:
            return None
        top = matches[0]
        return top.digest or self.settings.slack.digests.get(Severity(top.severity).label)

    def _channel(self, feed: FeedConfig, matches: tuple[Match, ...]) -> str:
        slack = self.settings.slack
        if not matches:
            return slack.channel
        top = matches[0]
        return (
            top.channel
            or feed.channel
            or slack.severity_channels.get(Severity(top.severity).label)
            or slack.channel
        )

    def _failed(
        self,
        feed: FeedConfig,
        state: FeedState | None,
        now: float,
        interval: float,
        exc: MonitorError,
    ) -> FeedOutcome:
        errors = (state.error_count if state else 0) + 1
        cap = self.settings.fetch.max_backoff.total_seconds()
        delay = min(cap, interval * 2 ** min(errors - 1, 16))
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            delay = max(delay, min(retry_after, cap))
        self.store.record_failure(feed.name, now, now + delay, str(exc))
        log.warning(
            "feed.failed", feed=feed.name, error=str(exc), errors=errors, retry_in=round(delay)
        )
        return FeedOutcome(feed.name, "error", error=str(exc))
