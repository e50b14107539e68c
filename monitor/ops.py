"""Ops alerts: one message when something needs a person, one when it recovers.

Conditions are checked after each poll and delivery; the state of each (firing
or not) is kept in the database, so a restart never repeats a message. With
``slack.ops_channel`` set the messages go through the outbox to that channel
(never lost); otherwise they go to the log.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from .alerts import AlertPayload
from .config import Settings
from .store import PollResult, Store

log = structlog.get_logger("ops")

FAILING_FOR = 6 * 3600.0
FAILING_POLLS = 10
SILENT_MIN = 24 * 3600.0
SILENT_FACTOR = 5.0
CHURN_MIN_ITEMS = 5
CHURN_RATIO = 0.5


@dataclass
class Ops:
    store: Store
    settings: Settings
    clock: Callable[[], float] = time.time

    def transition(self, key: str, firing: bool, title: str, detail: str = "") -> bool:
        """Record the condition's state; say so only when it changes."""
        if self.store.ops.is_firing(key) == firing:
            return False
        channel = self.settings.slack.ops_channel
        message = AlertPayload(title=title, summary=detail, feed="monitor", recovered=not firing)
        self.store.record_ops(key, firing, self.clock(), detail, message, channel)
        (log.warning if firing else log.info)(
            "ops." + ("problem" if firing else "recovered"), key=key, title=title, detail=detail
        )
        return True

    def firing(self) -> list[tuple[str, float, str]]:
        return self.store.ops.firing()

    # -- the conditions -----------------------------------------------------------------

    def check_feeds(self) -> None:
        now = self.clock()
        configured = {f.name for f in self.settings.feeds if f.enabled}
        for state in self.store.feeds.states():
            if state.name not in configured:
                continue
            since_ok = now - (state.last_ok_at or now)
            failing = state.error_count >= FAILING_POLLS or (
                state.error_count > 0 and state.last_ok_at is not None and since_ok >= FAILING_FOR
            )
            if state.error_count > 0 and state.last_ok_at is None and state.polls >= FAILING_POLLS:
                failing = True
            self.transition(
                f"feed-failing:{state.name}",
                failing,
                f"feed {state.name} is failing ({state.error_count} polls in a row)"
                if failing
                else f"feed {state.name} works again",
                f"last error: {state.last_error}" if failing else "",
            )
            if state.error_count == 0:
                self._check_silent(state.name, now)

    def _check_silent(self, feed: str, now: float) -> None:
        arrivals = self.store.entries.arrivals(feed, 21)
        if len(arrivals) < 6:
            return  # too little history to know its rhythm
        gaps = [a - b for a, b in itertools.pairwise(arrivals)]
        usual = statistics.median(gaps)
        quiet = now - arrivals[0]
        limit = max(SILENT_MIN, SILENT_FACTOR * usual)
        self.transition(
            f"feed-silent:{feed}",
            quiet > limit,
            f"feed {feed} has published nothing for {quiet / 3600:.0f}h "
            f"(usually every {usual / 3600:.1f}h)"
            if quiet > limit
            else f"feed {feed} publishes again",
        )

    def after_poll(self, feed: str, result: PollResult) -> None:
        """GUID churn: a feed whose "new" items mostly carry URLs already seen."""
        fresh = len(result.fresh)
        if fresh < 1:
            return
        ratio = result.repeats / fresh
        churning = fresh >= CHURN_MIN_ITEMS and ratio >= CHURN_RATIO
        if churning or ratio < CHURN_RATIO:
            self.transition(
                f"guid-churn:{feed}",
                churning,
                f"feed {feed} re-issues old items under new ids ({result.repeats} of "
                f"{fresh} 'new' items were seen before); they are not alerted again"
                if churning
                else f"feed {feed} no longer re-issues old items",
            )

    def rules(self, error: str | None) -> None:
        self.transition(
            "rules",
            error is not None,
            "rule edit rejected; the last good rules stay active" if error else "rules load again",
            error or "",
        )

    def slack(self, permanent_codes: set[str], sent: int) -> None:
        for code in permanent_codes:
            self.transition(
                f"slack:{code}",
                True,
                f"Slack refuses alerts: {code}",
                "fix it, then the failed alerts can be retried",
            )
        if sent:
            for key, _, _ in self.firing():
                if key.startswith("slack:") and key[6:] not in permanent_codes:
                    self.transition(key, False, f"Slack accepts alerts again ({key[6:]} gone)")
