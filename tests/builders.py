"""Entries, matches and polls built from a few fields, for tests of the store,
routing and delivery. Alerts reach the outbox the way a poll puts them there:
through ``Store.record_poll`` and the pipeline's grouping and routing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.config import Settings
from monitor.models import Candidate, Entry, Match, Severity, TermHit, Validators
from monitor.pipeline import Pipeline
from monitor.store import PollRecord, PollResult, Store


def entry(
    n: int,
    feed: str = "A",
    link: str | None = None,
    title: str | None = None,
    summary: str = "",
    published: float | None = None,
) -> Entry:
    url = link if link is not None else f"https://n.example/{n}"
    key = url.split("//")[-1] if url else f"k{n}"
    return Entry(
        feed=feed,
        key=f"{feed}-{n}",
        url_key=key,
        link=url,
        title=title or f"Story {n}",
        summary=summary,
        published=datetime.fromtimestamp(published, tz=UTC) if published is not None else None,
    )


def match(
    severity: Severity = Severity.HIGH,
    rule: str = "rule",
    channel: str | None = None,
    digest: str | None = None,
) -> Match:
    hit = TermHit("x", "title", 0, 1, "x")
    return Match(rule, "Rule", severity, channel, (hit,), digest)


def cand(e: Entry, severity: Severity = Severity.HIGH, **kw: Any) -> Candidate:
    return Candidate(e, (match(severity, **kw),))


def poll(
    store: Store, feed: str, items: Sequence[Candidate | Entry], now: float = 1.0
) -> PollResult:
    entries = [i.entry if isinstance(i, Candidate) else i for i in items]
    candidates = [i for i in items if isinstance(i, Candidate)]
    return store.record_poll(
        PollRecord(feed, now, now + 60, Validators(), entries, candidates, "#security-alerts")
    )


def settings(tmp_path: Path, feeds: Sequence[str] = ("A", "B"), **extra: Any) -> Settings:
    data: dict[str, Any] = {
        "database": str(tmp_path / "m.db"),
        "feeds": [{"name": f, "url": f"https://{f.lower()}.example/feed"} for f in feeds],
        **extra,
    }
    return Settings(**data)


def pipeline(store: Store, config: Settings, now: float = 1.0) -> Pipeline:
    """A pipeline for its grouping and routing step (no fetching in these tests)."""
    from monitor.feeds.fetch import Fetcher

    return Pipeline(config, store, Fetcher(), lambda: None, clock=lambda: now)  # type: ignore[arg-type, return-value]
