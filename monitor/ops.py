"""Ops alerts: one message when something needs a person, one when it recovers.

Conditions are checked after each poll and delivery; the state of each (firing
or not) is kept in the database, so a restart never repeats a message. With
``slack.ops_channel`` set the messages go through the outbox to that channel
(never lost); otherwise they go to the log.
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from .config import Settings
from .models import Severity
from .store import PENDING, PollResult, Store

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
        row = self.store.conn.execute(
            "SELECT firing FROM ops_state WHERE key = ?", (key,)
        ).fetchone()
        was = bool(row[0]) if row else False
        if was == firing:
            return False
        now = self.clock()
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO ops_state (key, firing, since, detail) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET firing = excluded.firing, "
                "since = excluded.since, detail = excluded.detail",
                (key, int(firing), now, detail[:1000]),
            )
            channel = self.settings.slack.ops_channel
            if channel:
                payload = {
                    "title": title,
                    "summary": detail,
                    "recovered": not firing,
                    "feed": "monitor",
                    "link": "",
                    "published": None,
                    "matches": [],
                }
                conn.execute(
                    "INSERT INTO alerts (kind, feed, rule_id, severity, channel, state, "
                    "created_at, payload) VALUES ('ops', 'monitor', ?, ?, ?, ?, ?, ?)",
                    (
                        f"ops:{key}",
                        int(Severity.HIGH),
                        channel,
                        PENDING,
                        now,
                        json.dumps(payload, ensure_ascii=False),
                    ),
                )
        (log.warning if firing else log.info)(
            "ops." + ("problem" if firing else "recovered"), key=key, title=title, detail=detail
        )
        return True

    def firing(self) -> list[tuple[str, float, str]]:
        rows = self.store.conn.execute(
            "SELECT key, since, detail FROM ops_state WHERE firing = 1 ORDER BY since"
        )
        return [(r[0], r[1], r[2] or "") for r in rows]

    # -- the conditions -----------------------------------------------------------------

    def check_feeds(self) -> None:
        now = self.clock()
        configured = {f.name for f in self.settings.feeds if f.enabled}
        for state in self.store.feed_states():
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
        rows = self.store.conn.execute(
            "SELECT DISTINCT first_seen FROM entries WHERE feed = ? ORDER BY first_seen DESC "
            "LIMIT 21",
            (feed,),
        ).fetchall()
        arrivals = [r[0] for r in rows]
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
        if result.fresh < 1:
            return
        ratio = result.repeats / result.fresh
        churning = result.fresh >= CHURN_MIN_ITEMS and ratio >= CHURN_RATIO
        if churning or ratio < CHURN_RATIO:
            self.transition(
                f"guid-churn:{feed}",
                churning,
                f"feed {feed} re-issues old items under new ids ({result.repeats} of "
                f"{result.fresh} 'new' items were seen before); they are not alerted again"
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
