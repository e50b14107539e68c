"""One poll cycle, in-process, against real feeds over HTTP and a real SQLite file:
whatever fails for one feed is recorded on that feed with a back-off, and the
other feeds are stored, grouped, routed and alerted all the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.app import Monitor
from monitor.config import load_settings
from monitor.deliver.console import ConsoleSender
from monitor.rules import load_rules
from monitor.store import Store
from tests.conftest import NIO_A, NIO_B, RULES, Item, rss, write_config
from tests.fakes.feed_server import FeedServer


def attack(name: str, feed: str) -> Item:
    return Item(
        f"Ransomware attack halts production at supplier {name}",
        f"https://{feed}.example/{name.lower()}",
        f"{feed}-{name}",
        f"{name}, an automotive supplier, confirmed a ransomware attack.",
    )


@pytest.fixture
def monitor(tmp_path: Path, feeds: FeedServer):  # type: ignore[no-untyped-def]
    feeds.set_feed("/a.xml", rss([attack("Acmetronics", "a")]))
    feeds.set_feed("/b.xml", rss([attack("Boltworks", "b")]))
    feeds.set_feed("/c.xml", rss([attack("Cogsworth", "c")]))
    config = write_config(tmp_path, [(n, feeds.url(f"/{n.lower()}.xml")) for n in ("A", "B", "C")])
    settings = load_settings(config)
    m = Monitor(settings, Store(settings.database), load_rules(RULES), ConsoleSender())
    yield m
    m.close()


def test_a_feed_whose_entries_cannot_be_stored_does_not_stop_the_others(monitor: Monitor) -> None:
    # a real storage failure, raised by SQLite itself, for feed B's entries only
    monitor.store.db.conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON entries WHEN NEW.feed = 'B' "
        "BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END"
    )
    report = monitor.poll(due_only=False)
    outcomes = {o.name: o for o in report.outcomes}
    assert outcomes["B"].status == "error" and "simulated storage failure" in outcomes["B"].error
    assert outcomes["A"].status == outcomes["C"].status == "ok"
    assert report.routed["pending"] == 2  # A's and C's alerts, routed and deliverable
    states = {s.name: s for s in monitor.store.feeds.states()}
    assert states["B"].error_count == 1 and states["B"].next_poll_at > states["B"].last_poll_at
    assert states["A"].error_count == 0
    assert monitor.store.entries.known("B", ["B-Boltworks"]) == set()  # nothing half-written
    delivered = monitor.delivery().run(once=True)
    assert delivered.sent == 2


def test_a_feed_that_breaks_the_parser_does_not_stop_the_others(
    monitor: Monitor, feeds: FeedServer
) -> None:
    feeds.set_html("/b.xml")
    report = monitor.poll(due_only=False)
    outcomes = {o.name: o.status for o in report.outcomes}
    assert outcomes == {"A": "ok", "B": "error", "C": "ok"}


def test_one_bad_character_reference_does_not_lose_a_feed(
    monitor: Monitor, feeds: FeedServer
) -> None:
    item = attack("Dentco", "b")
    item.title += " &#xD800;"  # feedparser's fallback parser raised on this
    feeds.set_feed("/b.xml", rss([item]).replace(b"&amp;#xD800;", b"&#xD800;"))
    report = monitor.poll(due_only=False)
    assert {o.name: o.status for o in report.outcomes}["B"] == "ok"


def test_the_batch_is_grouped_whatever_the_order_feeds_answer(
    tmp_path: Path, feeds: FeedServer
) -> None:
    """The two NIO reports, in two feeds of one cycle: one story, one root, whichever
    feed's answer arrives first."""
    roots = set()
    for slow in ("/cn.xml", "/wire.xml"):
        feeds.set_feed("/cn.xml", rss([NIO_A]))
        feeds.set_feed("/wire.xml", rss([NIO_B]))
        feeds.set_slow(slow, 0.5, body=rss([NIO_A] if slow == "/cn.xml" else [NIO_B]))
        folder = tmp_path / slow.strip("/.xml")
        folder.mkdir()
        config = write_config(
            folder, [("CarNews", feeds.url("/cn.xml")), ("Wire", feeds.url("/wire.xml"))]
        )
        settings = load_settings(config)
        m = Monitor(settings, Store(settings.database), load_rules(RULES), ConsoleSender())
        try:
            report = m.poll(due_only=False)
            assert [o.name for o in report.outcomes][-1] == ("CarNews" if "cn" in slow else "Wire")
            alerts = m.store.outbox.pending()
            assert len(alerts) == 2 and len({a.story_id for a in alerts}) == 1
            (root,) = [a for a in alerts if a.role.value == "root"]
            roots.add(root.title)
        finally:
            m.close()
    assert len(roots) == 1  # the same report is the story's root in both orders
