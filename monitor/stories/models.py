"""The values that cross the grouping seam: what the daemon offers (Report) and what it
gets back (Decision). Frozen: built once, never changed."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Entry
from .features import Features


@dataclass(frozen=True, slots=True)
class Report:
    """One alerting item offered for grouping."""

    key: str  # unique id (the daemon: the entry's database id as text)
    entry: Entry  # title, summary, feed (the outlet), link, published
    at: float  # unix time: published, else first seen


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a report went. ``score``, ``shared`` and ``with_key`` describe the closest
    earlier report (for `stories show`) even when it was not close enough to join."""

    key: str  # the report's key
    story: str  # the story's key: a new story's key is the key of its first report
    joined: bool  # False: this report opens a new story
    score: float = 0.0
    shared: tuple[str, ...] = ()  # readable shared names, figures, words; most telling first
    with_key: str = ""  # the report it was compared with


@dataclass(frozen=True, slots=True)
class Doc:
    """A report as the index keeps it."""

    key: str
    at: float
    source: str
    features: Features
