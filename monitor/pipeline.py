"""The one place where a poll happens:

    fetch → parse → new? → match → store      per feed, as each fetch completes
    group → route → store                      once per cycle, over every feed's new alerts

Fetches run at once on the fetcher's event loop (``feeds/fetch.py``: many in
flight, a few per host); each outcome is handed to this thread as it completes and
taken through the rest here, one at a time, before the next is asked for, so only
a bounded number of fetched bodies ever wait. Everything a feed's entries go
through after that is guarded as one step: whatever fails, of whatever kind, is
recorded on that feed with a growing back-off and never stops the other feeds.
A cycle's new alerts wait in the outbox (state ``new``) until every feed of the
cycle is in; then they are grouped into stories and routed as one batch, so the
result never depends on which feed answered first. Alerts a crash left ``new``
are picked up by the next cycle.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from .alerts import Alert, AlertState, Grouping
from .config import FeedConfig, Settings
from .errors import MonitorError
from .feeds.fetch import Fetcher
from .feeds.parse import parse_feed
from .grouping import Grouper, Report
from .models import Candidate, Entry, FetchResult, Validators
from .route import KnownStory, Placement, route
from .rules import Engine
from .store import FeedState, PollRecord, PollResult, Store

log = structlog.get_logger("poll")
WARM_ENTRIES = 20_000  # recent entries counted for word rarity when grouping starts


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    name: str
    status: str  # ok | not_modified | unchanged | error
    new_entries: int = 0
    alerts: int = 0
    error: str = ""


@dataclass
class CycleReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)
    routed: Counter[str] = field(default_factory=Counter)  # new alerts by state

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
    _grouper: Grouper | None = None

    def poll(
        self,
        feeds: Sequence[FeedConfig],
        *,
        stop: Callable[[], bool] = lambda: False,
        progress: Callable[[FeedOutcome], None] | None = None,
    ) -> CycleReport:
        report = CycleReport()
        states = {s.name: s for s in self.store.feeds.states()}
        jobs = [(feed, feed.url, _validators(states.get(feed.name))) for feed in feeds]
        # once stop() is true no new fetch starts; those in flight are still recorded,
        # the others stay due and are polled next time
        for feed, fetched in self.fetcher.fetch_all(jobs, stop=stop):
            outcome = self._feed(feed, states.get(feed.name), fetched)
            report.outcomes.append(outcome)
            if progress:
                progress(outcome)
        report.routed = self.group_and_route()
        return report

    # -- per feed ---------------------------------------------------------------------

    def _feed(
        self, feed: FeedConfig, state: FeedState | None, fetched: FetchResult | Exception
    ) -> FeedOutcome:
        now = self.clock()
        interval = self.settings.interval(feed).total_seconds()
        try:
            if isinstance(fetched, Exception):
                raise fetched
            result = fetched
            if result.body is None:
                self.store.feeds.record_unchanged(feed.name, now, now + interval, result.validators)
                log.debug("feed.unchanged", feed=feed.name, how=result.status)
                return FeedOutcome(feed.name, result.status)
            return self._store(feed, state, result, now, interval)
        except MonitorError as exc:
            return self._failed(feed, state, now, interval, exc)
        except Exception as exc:  # a bug must not stop the other feeds; record it loudly
            log.exception("feed.bug", feed=feed.name)
            error = MonitorError(f"internal error: {exc.__class__.__name__}: {exc}")
            return self._failed(feed, state, now, interval, error)

    def _store(
        self,
        feed: FeedConfig,
        state: FeedState | None,
        result: FetchResult,
        now: float,
        interval: float,
    ) -> FeedOutcome:
        assert result.body is not None
        parsed = parse_feed(
            result.body,
            feed_name=feed.name,
            base_url=result.url if result.url.startswith("http") else "",
            content_type=result.content_type,
            now=datetime.fromtimestamp(now, tz=UTC),
        )
        known = self.store.entries.known(feed.name, (e.key for e in parsed.entries))
        new = list({e.key: e for e in parsed.entries if e.key not in known}.values())
        first_poll = state is None or not state.first_polled
        candidates = self._match(feed, new, now, first_poll)
        stored = self.store.record_poll(
            PollRecord(
                feed=feed.name,
                now=now,
                next_poll=now + interval,
                validators=result.validators,
                entries=new,
                candidates=candidates,
                channel=self.settings.slack.channel,
            )
        )
        if stored.fresh and self.settings.stories.enabled:
            window = self.settings.stories.window.total_seconds()
            self.grouper().observe(
                i.entry for i in stored.fresh if _at(i.entry, now) >= now - window
            )
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
        )
        return FeedOutcome(feed.name, "ok", len(stored.fresh), len(stored.alerts))

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
        exc: MonitorError,
    ) -> FeedOutcome:
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
        return FeedOutcome(feed.name, "error", error=str(exc))

    # -- per cycle ----------------------------------------------------------------------

    def group_and_route(self) -> Counter[str]:
        """Group and route every alert still ``new``: this cycle's, and any a crash left."""
        alerts = self.store.outbox.ungrouped()
        if not alerts:
            return Counter()
        now = self.clock()
        placements = self._place(alerts, now)
        keys = {p.story for p in placements if p.joined and p.story}
        known = {}
        for key, story in self.store.stories.by_keys(keys).items():
            root = self.store.outbox.story_root(story.id)
            has_message = (
                root is not None
                and root.digest is None
                and root.state in (AlertState.PENDING, AlertState.SENDING, AlertState.SENT)
            )
            known[key] = KnownStory(story.id, story.severity, has_message)
        plan = route(
            placements,
            self.settings.slack,
            feed_channels={f.name: f.channel for f in self.settings.feeds},
            mutes=self.store.mutes.active(now),
            known=known,
        )
        self.store.record_routes(plan.routes, plan.summaries, now)
        routed = Counter(r.state.value for _, r in plan.routes)
        log.info("cycle.routed", alerts=len(alerts), **dict(routed))
        return routed

    def _place(self, alerts: Sequence[Alert], now: float) -> list[Placement]:
        if not self.settings.stories.enabled:
            return [Placement(a) for a in alerts]
        reports = []
        for a in alerts:
            entry = self.store.entries.get(a.entry_id) if a.entry_id is not None else None
            if entry is not None:
                reports.append(Report(str(a.entry_id), entry, _at(entry, a.created_at)))
        decisions = {d.key: d for d in self.grouper().assign(reports)}
        out = []
        for a in alerts:
            d = decisions.get(str(a.entry_id))
            if d is None:
                out.append(Placement(a, story=f"a{a.id}"))
                continue
            grouping = Grouping(d.score, d.shared) if d.joined else None
            out.append(Placement(a, story=d.story, joined=d.joined, grouping=grouping))
        return out

    def grouper(self) -> Grouper:
        """Built from the database on first use, so a cycle in which nothing new
        arrives never pays for it, and a restart groups with earlier alerts."""
        if self._grouper is None:
            cfg = self.settings.stories
            window = cfg.window.total_seconds()
            grouper = Grouper(window=window, threshold=cfg.threshold)
            since = self.clock() - window
            grouper.observe(self.store.entries.recent(since, WARM_ENTRIES))
            for entry_id, story, entry, at in self.store.stories.reports_since(since):
                grouper.remember(Report(str(entry_id), entry, at), story)
            self._grouper = grouper
        return self._grouper

    def expire(self, now: float) -> None:
        if self._grouper is not None:
            self._grouper.expire(now)


def _validators(state: FeedState | None) -> Validators:
    if state is None:
        return Validators()
    return Validators(state.etag, state.last_modified, state.content_hash)


def _at(entry: Entry, default: float) -> float:
    return entry.published.timestamp() if entry.published else default
