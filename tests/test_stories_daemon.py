"""The daemon and `monitor stories test` build the same state and decide the same:
real corpus items served as feeds over HTTP, polled cycle by cycle by the real
pipeline into a real database, against group_offline over the same cycles."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path

import pytest

from monitor.app import Monitor
from monitor.config import load_settings
from monitor.deliver.console import ConsoleSender
from monitor.feeds.dates import parse_date
from monitor.feeds.urls import clean_link
from monitor.rules import load_rules
from monitor.store import Store
from monitor.stories import Report, group_offline
from tests.conftest import CORPUS, Item, needs_corpus, rss, write_config
from tests.fakes.feed_server import FeedServer

EVERYTHING = r"""id: everything
title: Every item
severity: medium
match: {any: [{regex: "\\w"}]}
"""


def corpus_cycles(first: str, last: str) -> list[list[dict[str, object]]]:
    """The corpus items published between two days, one poll cycle per day. An article
    that two sources carry is kept once: the daemon would record the second copy
    without alerting (and count its words), which the offline tool cannot be told."""
    by_day: dict[str, list[dict[str, object]]] = defaultdict(list)
    seen: set[str] = set()
    for line in (CORPUS / "items" / "news-items.jsonl").read_text().splitlines():
        item = json.loads(line)
        when = parse_date(item.get("published"))
        link = clean_link(str(item.get("link") or ""))
        if link in seen:
            continue
        seen.add(link)
        if when is not None and link and first <= f"{when:%Y-%m-%d}" <= last:
            item["when"] = when
            by_day[f"{when:%Y-%m-%d}"].append(item)
    return [by_day[day] for day in sorted(by_day)]


def slug(source: str) -> str:
    return source.encode().hex()[:40]


@needs_corpus
@pytest.mark.parametrize(
    "span",
    [
        pytest.param(("2025-12-01", "2026-01-10"), id="six-weeks"),
        pytest.param(("1990-01-01", "2100-01-01"), id="whole-corpus", marks=pytest.mark.slow),
    ],
)
def test_the_daemon_and_the_offline_tool_decide_the_same(
    tmp_path: Path, feeds: FeedServer, span: tuple[str, str]
) -> None:
    cycles = corpus_cycles(*span)
    sources = sorted({str(i["source"]) for cycle in cycles for i in cycle})
    for source in sources:
        feeds.set_feed(f"/{slug(source)}.xml", rss([]))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "everything.yaml").write_text(EVERYTHING)
    config = write_config(
        tmp_path,
        [(s, feeds.url(f"/{slug(s)}.xml")) for s in sources],
        rules=str(rules),
        defaults={"interval": "1s", "max_age": "36500d"},
        slack={"max_alerts_per_poll": 1000, "breaker": 1000},
    )
    settings = load_settings(config)
    now = [0.0]
    monitor = Monitor(
        settings,
        Store(settings.database),
        load_rules(rules),
        ConsoleSender(io.StringIO()),
        clock=lambda: now[0],
    )
    monitor.pipeline.clock = monitor.clock
    batches: list[list[str]] = []
    try:
        monitor.poll(due_only=False)  # every feed's first poll, empty
        for cycle in cycles:
            now[0] = max(i["when"] for i in cycle).timestamp()  # type: ignore[union-attr]
            per_source: dict[str, list[Item]] = defaultdict(list)
            for i in cycle:
                per_source[str(i["source"])].append(
                    Item(
                        str(i["title"]),
                        str(i["link"]),
                        str(i["id"]),
                        str(i.get("summary") or ""),
                        i["when"],
                    )  # type: ignore[arg-type]
                )
            for source, items in per_source.items():
                feeds.set_feed(f"/{slug(source)}.xml", rss(items))
            monitor.poll(due_only=False)
            batches.append([clean_link(str(i["link"])) for i in cycle])
        rows = monitor.store.db.rows(
            "SELECT e.id, e.link, s.key, a.payload FROM alerts a "
            "JOIN entries e ON e.id = a.entry_id JOIN stories s ON s.id = a.story_id"
        )
        stored = {str(eid): link for eid, link, _, _ in rows}
        daemon = {
            link: (stored.get(story, story), json.loads(payload).get("grouping", {}).get("score"))
            for _, link, story, payload in rows
        }
        entries = {e.link: e for _, e in monitor.store.entries.since(0)}
    finally:
        monitor.close()
    reports = [
        Report(link, entries[link], entries[link].published.timestamp())  # type: ignore[union-attr]
        for batch in batches
        for link in batch
        if link in entries
    ]
    keep = {r.key for r in reports}
    offline = group_offline(reports, batches=[[k for k in b if k in keep] for b in batches])
    expected = {k: (d.story, d.score if d.joined else None) for k, d in offline.items()}
    assert len(daemon) == len(expected) > 100
    assert sum(1 for v in daemon.values() if v[1] is not None) > 10  # some reports joined
    assert daemon == expected
