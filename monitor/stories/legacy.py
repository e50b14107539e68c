"""The index interface the daemon calls today (decide, then add), kept only until it
calls Grouper directly: a thin layer over Grouper, with no logic of its own."""

from __future__ import annotations

from collections.abc import Iterable

from ..models import Entry
from .grouper import THRESHOLD, WINDOW, Grouper
from .models import Decision, Report
from .offline import group_offline


class StoryIndex:
    def __init__(self, window: float = WINDOW, threshold: float = THRESHOLD) -> None:
        self.grouper = Grouper(window=window, threshold=threshold)

    def observe(self, entry: Entry) -> None:
        self.grouper.observe([entry])

    def decide(self, key: str, entry: Entry, at: float) -> Decision:
        return self.grouper.decide(Report(key, entry, at))

    def add(self, key: str, story: str, entry: Entry, at: float) -> None:
        self.grouper.remember(Report(key, entry, at), story)

    def expire(self, now: float) -> None:
        self.grouper.expire(now)


def group(
    items: Iterable[tuple[str, Entry, float]],
    *,
    window: float = WINDOW,
    threshold: float = THRESHOLD,
) -> dict[str, Decision]:
    """`monitor stories test` as it calls grouping today: (key, entry, time) triples."""
    reports = [Report(key, entry, at) for key, entry, at in items]
    return group_offline(reports, window=window, threshold=threshold)
