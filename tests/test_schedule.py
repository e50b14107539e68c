"""Polite, adaptive polling: the pure rules as a table, then the pipeline against a
real feed server that sends <ttl>, sy:updatePeriod, Cache-Control and bursts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from monitor.app import Monitor
from monitor.config import load_settings
from monitor.deliver.console import ConsoleSender
from monitor.feeds.http import fresh_for
from monitor.rules import load_rules
from monitor.schedule import Hints, Policy, adaptive_interval, first_poll, plan
from monitor.store import Store
from tests.conftest import RULES, Item, rss, write_config
from tests.fakes.feed_server import FeedServer

H, M, DAY = 3600.0, 60.0, 86400.0
DEFAULT = Policy(interval=5 * M, explicit=False, min_interval=5 * M, max_interval=DAY)
EXPLICIT = Policy(interval=2 * M, explicit=True, min_interval=5 * M, max_interval=DAY)
AUTO = Policy(interval=None, explicit=False, min_interval=5 * M, max_interval=DAY)


@pytest.mark.parametrize(
    ("weekly", "expected"),
    [
        (0, DAY),  # silent for a week: the longest
        (1, DAY),  # a week / 1, clamped
        (7, DAY),  # daily
        (168, H),  # hourly
        (336, 30 * M),
        (10_000, 5 * M),  # a burst: the shortest, never less
    ],
)
def test_adaptive_interval_is_a_week_over_the_weekly_count_clamped(
    weekly: int, expected: float
) -> None:
    assert adaptive_interval(weekly, 5 * M, DAY) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("policy", "hints", "weekly", "interval", "why"),
    [
        (DEFAULT, Hints(), 0, 5 * M, "defaults.interval"),
        (DEFAULT, Hints(publisher_interval=H), 0, H, "ttl"),  # <ttl>60</ttl>
        (DEFAULT, Hints(fresh_for=2 * H), 0, 2 * H, "Cache-Control"),
        (DEFAULT, Hints(publisher_interval=H, fresh_for=3 * H), 0, 3 * H, "Cache-Control"),
        (DEFAULT, Hints(fresh_for=60.0), 0, 5 * M, "defaults"),  # shorter: ours stands
        (DEFAULT, Hints(fresh_for=365 * DAY), 0, DAY, "Cache-Control"),  # capped
        (EXPLICIT, Hints(publisher_interval=H, fresh_for=H), 0, 2 * M, "set on the feed"),
        (AUTO, Hints(), 168, H, "auto (168"),
        (AUTO, Hints(publisher_interval=2 * H), 168, 2 * H, "ttl"),  # auto yields too
    ],
)
def test_the_next_poll_honours_the_publisher_unless_the_feed_says_otherwise(
    policy: Policy, hints: Hints, weekly: int, interval: float, why: str
) -> None:
    got = plan(1000.0, policy, hints, weekly=weekly, jitter=0.0)
    assert got.interval == pytest.approx(interval)
    assert got.at == pytest.approx(1000.0 + interval)
    assert why in got.why


def test_jitter_adds_at_most_a_tenth_capped_at_five_minutes() -> None:
    assert plan(0, DEFAULT, Hints(), jitter=0.999).at == pytest.approx(5 * M * 1.0999, rel=1e-3)
    long = Policy(interval=DAY, explicit=False, min_interval=M, max_interval=DAY)
    assert plan(0, long, Hints(), jitter=0.999).at <= DAY + 300
    assert first_poll(0, DEFAULT, 0.5) == pytest.approx(30.0)  # spread over the next minute


# -- the pipeline, against a feed server -------------------------------------------------


def items(n: int, every: timedelta, prefix: str) -> list[Item]:
    now = datetime.now(UTC)
    return [
        Item(
            f"{prefix} item {i}",
            f"https://{prefix}.example/{i}",
            f"{prefix}-{i}",
            published=now - i * every,
        )
        for i in range(n)
    ]


def with_channel_extras(body: bytes, extras: str) -> bytes:
    return body.replace(b"<channel>", b"<channel>" + extras.encode(), 1).replace(
        b'<rss version="2.0">',
        b'<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">',
    )


@pytest.fixture
def polite(tmp_path: Path, feeds: FeedServer):  # type: ignore[no-untyped-def]
    # a burst: 200 entries in the last 17 hours; a quiet feed: one a week
    feeds.set_feed("/burst.xml", rss(items(200, timedelta(minutes=5), "burst")))
    feeds.set_feed("/quiet.xml", rss(items(3, timedelta(days=7), "quiet")))
    feeds.set_feed(
        "/ttl.xml", with_channel_extras(rss(items(2, timedelta(hours=1), "ttl")), "<ttl>90</ttl>")
    )
    feeds.set_feed(
        "/sy.xml",
        with_channel_extras(
            rss(items(2, timedelta(hours=1), "sy")),
            "<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>",
        ),
    )
    feeds.set_feed(
        "/cached.xml",
        rss(items(2, timedelta(hours=1), "cached")),
        headers={"Cache-Control": "public, max-age=7200"},
    )
    feeds.set_feed(
        "/mine.xml",
        with_channel_extras(rss(items(2, timedelta(hours=1), "mine")), "<ttl>600</ttl>"),
    )
    config = write_config(
        tmp_path, [], defaults={"interval": "5m", "min_interval": "1h", "max_interval": "12h"}
    )
    data = yaml.safe_load(config.read_text())
    data["feeds"] = [
        {"name": "Burst", "url": feeds.url("/burst.xml"), "interval": "auto"},
        {"name": "Quiet", "url": feeds.url("/quiet.xml"), "interval": "auto"},
        {"name": "Ttl", "url": feeds.url("/ttl.xml")},
        {"name": "Sy", "url": feeds.url("/sy.xml")},
        {"name": "Cached", "url": feeds.url("/cached.xml")},
        {"name": "Mine", "url": feeds.url("/mine.xml"), "interval": "1m"},
    ]
    config.write_text(yaml.safe_dump(data))
    settings = load_settings(config)
    m = Monitor(settings, Store(settings.database), load_rules(RULES), ConsoleSender())
    m.pipeline.jitter = lambda: 0.0
    yield m
    m.close()


def intervals(m: Monitor) -> dict[str, tuple[float, str]]:
    return {
        s.name: (round(s.next_poll_at - (s.last_poll_at or 0)), s.interval_why or "")
        for s in m.store.feeds.states()
    }


def test_intervals_adapt_to_bursts_and_honour_ttl_sy_and_cache_control(polite: Monitor) -> None:
    polite.poll(due_only=False)
    got = intervals(polite)
    assert got["Burst"] == (3600, "auto (200 entries in 7 days)")  # a week/200 < 1h: 1h
    assert got["Quiet"][0] == 12 * 3600  # one a week → the longest, 12h
    assert got["Ttl"] == (90 * 60, "publisher asks (the feed's ttl/sy:updatePeriod)")
    assert got["Sy"][0] == 6 * 3600  # four times a day
    assert got["Cached"] == (7200, "publisher asks (Cache-Control/Expires)")
    assert got["Mine"] == (60, "set on the feed")  # explicit: sooner than <ttl> 10h


def test_a_304_keeps_what_the_document_asked(polite: Monitor, feeds: FeedServer) -> None:
    polite.poll(due_only=False)
    report = polite.poll(due_only=False)  # every feed answers 304 now
    assert {o.status for o in report.outcomes} == {"not_modified"}
    assert intervals(polite)["Ttl"][0] == 90 * 60  # <ttl> remembered from the last body
    assert intervals(polite)["Cached"][0] == 7200  # the 304 carries Cache-Control again


def test_feeds_due_together_are_spread(tmp_path: Path, feeds: FeedServer) -> None:
    feeds.set_feed("/same.xml", rss(items(1, timedelta(hours=1), "same")))
    config = write_config(
        tmp_path,
        [(f"F{i}", feeds.url("/same.xml")) for i in range(40)],
        defaults={"interval": "2s", "max_age": "72h"},
    )
    settings = load_settings(config)
    m = Monitor(settings, Store(settings.database), load_rules(RULES), ConsoleSender())
    try:
        firsts = sorted(s.next_poll_at for s in m.store.feeds.states())
        assert firsts[-1] - firsts[0] > 1.0  # 2s interval: first polls spread over it
        m.poll(due_only=False)
        nexts = [s.next_poll_at - (s.last_poll_at or 0) for s in m.store.feeds.states()]
        assert len({round(n, 3) for n in nexts}) > 30
        assert all(2.0 <= n <= 2.0 * 1.1 + 0.01 for n in nexts)
    finally:
        m.close()


@pytest.mark.parametrize(
    ("headers", "fresh"),
    [
        ({}, None),
        ({"Cache-Control": "max-age=600"}, 600.0),
        ({"Cache-Control": 'public, s-maxage=10, max-age="900"'}, 900.0),
        ({"Cache-Control": "no-cache, max-age=600"}, 0.0),  # asks nothing: no wait
        (
            {"Date": "Mon, 01 Jan 2024 00:00:00 GMT", "Expires": "Mon, 01 Jan 2024 01:00:00 GMT"},
            3600.0,
        ),
        ({"Date": "Mon, 01 Jan 2024 00:00:00 GMT", "Expires": "0"}, 0.0),  # already stale
    ],
)
def test_freshness_from_cache_control_or_expires(
    headers: dict[str, str], fresh: float | None
) -> None:
    assert fresh_for(httpx.Headers(headers)) == fresh
