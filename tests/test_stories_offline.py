"""Offline grouping builds state exactly as the daemon does; the package's surface."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

import monitor.stories
from monitor.feeds.items import load_items
from monitor.feeds.parse import parse_feed
from monitor.stories import (
    THRESHOLD,
    WINDOW,
    Background,
    Decision,
    Grouper,
    Report,
    group_offline,
)
from tests.conftest import CORPUS, REPO, needs_corpus

H = 3600.0


def daemon_like(reports: list[Report], batches: Iterable[list[str]]) -> dict[str, Decision]:
    """What the daemon does each poll cycle: forget what left the window, count every
    new item, then assign the cycle's alerting reports in one call."""
    by_key = {r.key: r for r in reports}
    g = Grouper(window=WINDOW, threshold=THRESHOLD)
    out: dict[str, Decision] = {}
    for keys in batches:
        batch = [by_key[k] for k in keys]
        g.expire(max(r.at for r in batch))
        g.observe([r.entry for r in batch])
        out.update((d.key, d) for d in g.assign(batch))
    return out


def cycles(reports: list[Report], hours: float) -> list[list[str]]:
    found: dict[int, list[str]] = {}
    for r in sorted(reports, key=lambda r: (r.at, r.key)):
        found.setdefault(int(r.at // (hours * H)), []).append(r.key)
    return [found[k] for k in sorted(found)]


def sample_reports() -> list[Report]:
    now = datetime(2022, 12, 24, tzinfo=UTC)
    out = []
    for path in sorted((REPO / "examples" / "feeds").iterdir()):
        for entry in parse_feed(path.read_bytes(), feed_name=path.stem, now=now).entries:
            assert entry.published is not None
            out.append(Report(entry.link, entry, entry.published.timestamp()))
    return out


def corpus_reports() -> list[Report]:
    items = load_items(str(CORPUS / "items" / "news-items.jsonl"))
    return [
        Report(i.id, i.entry, i.entry.published.timestamp()) for i in items if i.entry.published
    ]


@pytest.mark.parametrize("hours", [1, 6, 24])
def test_offline_grouping_of_the_sample_feeds_is_the_daemons(hours: float) -> None:
    reports = sample_reports()
    batches = cycles(reports, hours)
    offline = group_offline(reports, batches=batches)
    assert offline == daemon_like(reports, batches)
    nio = [d for d in offline.values() if d.joined]
    assert len(nio) == 1 and "2.25m" in nio[0].shared


@needs_corpus
@pytest.mark.parametrize("hours", [pytest.param(1, marks=pytest.mark.slow), 12])
def test_offline_grouping_of_the_corpus_is_the_daemons(hours: float) -> None:
    reports = corpus_reports()
    batches = cycles(reports, hours)
    offline = group_offline(reports, batches=batches)
    assert offline == daemon_like(reports, batches)
    assert sum(d.joined for d in offline.values()) > 50
    if hours == 1:  # the default: one cycle per hour of publication
        assert group_offline(reports) == offline


def test_the_background_table_round_trips_as_numbers_only() -> None:
    table = Background(3, {"nio": 1, "hack": 2}, {"nio": 100})
    data = table.to_json()
    assert Background.from_json(data) == table
    assert all(isinstance(v, int) for v in (*data["df"].values(), *data["caps"].values()))


def test_exported_members_are_the_package_surface() -> None:
    exported = set(monitor.stories.__all__)
    public = {n for n in dir(monitor.stories) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(monitor.stories, n)).__name__ == "module"}
    assert exported == public - modules
    for name in ("Report", "Decision", "Grouper", "group_offline", "load_aliases"):
        assert name in exported
