"""Once per cycle, after every feed of it is in: group the new alerts into stories
and route them, as one batch.

A cycle's new alerts wait in the outbox (state ``new``) until then, so the result
never depends on which feed answered first, and alerts a crash left ``new`` are
picked up by the next cycle. The grouping's state (``stories.Grouper``) is built
from the database on first use and rebuilt when a person split or merged stories.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from .alerts import Alert, Grouping
from .config import Settings
from .models import Entry
from .route import KnownStory, Placement, route
from .store import Store
from .store.regroup import CHANGED as REGROUPED
from .stories import Grouper, Report, load_aliases

log = structlog.get_logger("poll")
WARM_ENTRIES = 20_000  # recent entries counted for word rarity when grouping starts


@dataclass
class Routed:
    states: Counter[str]  # new alerts by the state routing gave them
    created: Counter[tuple[str, str]]  # (severity, rule)
    joins: int  # alerts that joined a story already told


@dataclass
class Batch:
    settings: Settings
    store: Store
    clock: Callable[[], float] = time.time
    _grouper: Grouper | None = None
    _regrouped: str | None = None  # the database's mark of the last manual regrouping

    def start_cycle(self) -> None:
        if self._grouper is None:
            return
        if self.store.meta.get(REGROUPED) != self._regrouped:
            self._grouper = None  # a person split or merged stories: start from the database
        else:  # forget what left the window before counting more
            self._grouper.expire(self.clock())

    def observe(self, entries: Sequence[Entry], now: float) -> None:
        """Count the words of a poll's new entries (those inside the story window)."""
        window = self.settings.stories.window.total_seconds()
        self.grouper().observe(e for e in entries if at(e, now) >= now - window)

    def group_and_route(self) -> Routed:
        """Group and route every alert still ``new``: this cycle's, and any a crash left."""
        alerts = self.store.outbox.ungrouped()
        if not alerts:
            return Routed(Counter(), Counter(), 0)
        now = self.clock()
        placements = self._place(alerts)
        keys = {p.story for p in placements if p.joined and p.story}
        known = {}
        for key, story in self.store.stories.by_keys(keys).items():
            has_message = self.store.outbox.story_root(story.id) is not None
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
        return Routed(
            routed,
            Counter((a.severity.label, a.rule_id) for a in alerts),
            sum(1 for p in placements if p.joined),
        )

    def _place(self, alerts: Sequence[Alert]) -> list[Placement]:
        if not self.settings.stories.enabled:
            return [Placement(a) for a in alerts]
        reports = []
        for a in alerts:
            entry = self.store.entries.get(a.entry_id) if a.entry_id is not None else None
            if entry is not None:
                reports.append(Report(str(a.entry_id), entry, at(entry, a.created_at)))
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
            window, now = cfg.window.total_seconds(), self.clock()
            grouper = Grouper(
                window=window, threshold=cfg.threshold, aliases=load_aliases(self.settings.rules)
            )
            self._regrouped = self.store.meta.get(REGROUPED)
            grouper.expire(now)  # before observing: undated items count from now
            reports = (
                (Report(str(entry_id), entry, when), story)
                for entry_id, story, entry, when in self.store.stories.reports_since(now - window)
            )
            grouper.warm(self.store.entries.recent(now - window, WARM_ENTRIES), reports)
            self._grouper = grouper
        return self._grouper

    def expire(self, now: float) -> None:
        if self._grouper is not None:
            self._grouper.expire(now)


def at(entry: Entry, default: float) -> float:
    return entry.published.timestamp() if entry.published else default
