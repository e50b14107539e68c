"""Temporary adapter: the story grouping's batch interface over the old StoryIndex.

Replaced by the ``monitor.stories`` package (same names) when it lands.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .models import Entry
from .stories import StoryIndex


@dataclass(frozen=True, slots=True)
class Report:
    key: str
    entry: Entry
    at: float


@dataclass(frozen=True, slots=True)
class Decision:
    key: str
    story: str
    joined: bool
    score: float = 0.0
    shared: tuple[str, ...] = ()
    with_key: str = ""


class Grouper:
    def __init__(self, *, window: float, threshold: float) -> None:
        self.index = StoryIndex(window=window, threshold=threshold)

    def observe(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.index.observe(entry)

    def remember(self, report: Report, story: str) -> None:
        self.index.add(report.key, story, report.entry, report.at)

    def assign(self, batch: Sequence[Report]) -> list[Decision]:
        out = []
        for r in sorted(batch, key=lambda r: (r.at, r.entry.title, r.key)):
            d = self.index.decide(r.key, r.entry, r.at)
            self.index.add(r.key, d.story, r.entry, r.at)
            out.append(Decision(r.key, d.story, d.joined, d.score, d.shared, d.matched_item))
        return out

    def expire(self, now: float) -> None:
        self.index.expire(now)
