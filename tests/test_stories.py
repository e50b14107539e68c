"""Which reports are the same story (pure grouping); delivery of stories is in
test_threads.py."""

from __future__ import annotations

from monitor.models import Entry
from monitor.stories import Report, group_offline
from tests.conftest import ACME, NIO_A, NIO_B, NIO_DELIVERIES, Item

H = 3600.0


def group(items: list[tuple[str, Entry, float]]):  # type: ignore[no-untyped-def]
    return group_offline(Report(k, e, at) for k, e, at in items)


def entry(item: Item, feed: str) -> Entry:
    return Entry(
        feed=feed,
        key=item.guid or item.link,
        url_key=item.link,
        link=item.link,
        title=item.title,
        summary=item.summary,
    )


GLOBEX = Item(
    "Ransomware attack halts production at Globex Seating plant",
    "https://b.example/globex",
    "b-1",
    "Globex Seating said Akira hit its plants.",
)


def test_the_two_nio_reports_are_one_story_and_deliveries_another() -> None:
    items = [
        ("a", entry(NIO_A, "CarNews"), 0.0),
        ("d", entry(NIO_DELIVERIES, "CarNews"), 1 * H),
        ("b", entry(NIO_B, "Wire"), 5 * H),
    ]
    decisions = group(items)
    assert decisions["b"].joined and decisions["b"].story == decisions["a"].story
    assert "2.25m" in decisions["b"].shared
    assert decisions["d"].story != decisions["a"].story


def test_two_attacks_on_two_suppliers_are_two_stories() -> None:
    decisions = group([("a", entry(ACME, "X"), 0.0), ("g", entry(GLOBEX, "Y"), H)])
    assert not decisions["g"].joined


def test_reports_outside_the_window_do_not_join() -> None:
    decisions = group([("a", entry(NIO_A, "X"), 0.0), ("b", entry(NIO_B, "Y"), 80 * H)])
    assert not decisions["b"].joined
