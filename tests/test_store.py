"""The database says what is new: dedupe by key and canonical URL, atomic polls,
no flood on a first poll."""

from pathlib import Path

import pytest

from monitor.models import Entry, Match, Severity, TermHit
from monitor.store import NewAlert, Store


def entry(n: int, feed: str = "A", link: str | None = None) -> Entry:
    url = link if link is not None else f"https://n.example/{n}"
    key = url.split("//")[-1] if url else f"k{n}"
    return Entry(feed=feed, key=f"{feed}-{n}", url_key=key, link=url, title=f"Story {n}")


def match(severity: Severity = Severity.HIGH) -> Match:
    hit = TermHit("x", "title", 0, 1, "x")
    return Match("rule", "Rule", severity, None, (hit,))


def new(e: Entry, severity: Severity = Severity.HIGH, alertable: bool = True) -> NewAlert:
    return NewAlert(entry=e, matches=(match(severity),), channel="#c", alertable=alertable)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "sub" / "m.db") as s:
        s.sync_feeds([("A", "u"), ("B", "u")], 0)
        yield s


def record(
    store: Store, feed: str, items: list[NewAlert], max_alerts: int = 20
) -> tuple[int, list[int]]:
    result = store.record_poll(
        feed,
        1.0,
        2.0,
        items,
        etag=None,
        last_modified=None,
        content_hash=None,
        max_alerts=max_alerts,
    )
    return result.fresh, result.alerts


def test_database_folder_is_created_and_wal_on(tmp_path: Path) -> None:
    with Store(tmp_path / "deep" / "er" / "m.db") as s:
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_entry_alerts_once(store: Store) -> None:
    assert record(store, "A", [new(entry(1))])[1] != []
    assert record(store, "A", [new(entry(1))]) == (0, [])


def test_same_url_in_another_feed_does_not_alert_again(store: Store) -> None:
    record(store, "A", [new(entry(1))])
    fresh, alerts = record(store, "B", [new(entry(1, feed="B"))])
    assert fresh == 1 and alerts == []  # recorded, but not a second alert


def test_new_guid_for_old_url_does_not_alert(store: Store) -> None:
    record(store, "A", [new(entry(1))])
    churned = Entry(
        feed="A", key="new-guid", url_key="n.example/1", link="https://n.example/1", title="Story 1"
    )
    assert record(store, "A", [new(churned)])[1] == []


def test_at_most_n_alerts_per_poll_and_one_summary(store: Store) -> None:
    items = [new(entry(i)) for i in range(30)]
    fresh, alerts = record(store, "A", items, max_alerts=20)
    assert fresh == 30 and len(alerts) == 21
    due = store.due_alerts(10.0)
    summaries = [a for a in due if a["kind"] == "summary"]
    assert len(summaries) == 1 and len(summaries[0]["payload"]["items"]) == 10


def test_low_severity_is_held_for_digest(store: Store) -> None:
    record(store, "A", [new(entry(1), Severity.LOW), new(entry(2), Severity.MEDIUM)])
    assert store.alert_counts() == {"digest": 1, "pending": 1}


def test_not_alertable_entries_are_seen_but_silent(store: Store) -> None:
    assert record(store, "A", [new(entry(1), alertable=False)]) == (1, [])
    assert record(store, "A", [new(entry(1))]) == (0, [])  # and never alert later


def test_a_poll_is_all_or_nothing(store: Store) -> None:
    class Boom(Exception):
        pass

    class Exploding(list):  # type: ignore[type-arg]
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield new(entry(1))
            raise Boom

    with pytest.raises(Boom):
        record(store, "A", Exploding())
    assert store.conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 0
    assert store.alert_counts() == {}


def test_outbox_states(store: Store) -> None:
    (alert_id,) = record(store, "A", [new(entry(1))])[1]
    assert store.claim(alert_id, 5.0)
    assert not store.claim(alert_id, 5.0)  # claimed once
    assert [a["id"] for a in store.in_doubt()] == [alert_id]
    store.mark_retry(alert_id, "boom", 100.0)
    assert store.due_alerts(50.0) == [] and len(store.due_alerts(100.0)) == 1
    store.claim(alert_id, 101.0)
    store.mark_sent(alert_id, 102.0, "C1", "1700000000.000100")
    row = store.conn.execute("SELECT state, slack_channel, slack_ts FROM alerts").fetchone()
    assert row == ("sent", "C1", "1700000000.000100")


def test_prune_keeps_entries_with_alerts(store: Store) -> None:
    record(store, "A", [new(entry(1)), NewAlert(entry(2), (), "#c", True)])
    assert store.prune(before=10.0) == 1
    assert store.conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 1


def test_reopen_keeps_state(tmp_path: Path) -> None:
    with Store(tmp_path / "m.db") as s:
        s.sync_feeds([("A", "u")], 0)
        record(s, "A", [new(entry(1))])
    with Store(tmp_path / "m.db") as s:
        assert record(s, "A", [new(entry(1))]) == (0, [])


def test_hot_queries_use_indexes(tmp_path: Path) -> None:
    """Every statement of a poll, a delivery and the ops checks, run through EXPLAIN:
    none may scan the entries or alerts tables (that made a 1,000-feed cycle quadratic)."""
    from monitor.config import Settings
    from monitor.deliver.outbox import Outbox
    from monitor.deliver.slack import ConsoleSender
    from monitor.ops import Ops
    from monitor.stories import StoryIndex

    statements: list[str] = []
    with Store(tmp_path / "m.db") as s:
        s.sync_feeds([("A", "u")], 0)
        s.conn.set_trace_callback(statements.append)
        index = StoryIndex()
        for poll in range(3):
            items = [new(entry(poll * 10 + i)) for i in range(10)]
            s.record_poll(
                "A",
                1.0 + poll,
                2.0,
                items,
                etag=None,
                last_modified=None,
                content_hash=None,
                max_alerts=20,
                grouper=index,
            )
        import io

        Outbox(s, ConsoleSender(io.StringIO())).deliver()
        ops = Ops(s, Settings(feeds=[{"name": "A", "url": "u"}]))
        ops.check_feeds()
        s.conn.set_trace_callback(None)
        scans = []
        for sql in {
            q for q in statements if q.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE"))
        }:
            plan = s.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            scans += [
                (sql, row[3])
                for row in plan
                if row[3].startswith(("SCAN entries", "SCAN alerts", "SCAN e", "SCAN a"))
            ]
    assert scans == []


def test_guid_churn_counts_only_a_feed_repeating_itself(store: Store) -> None:
    """Another feed carrying the same article (site-wide and section feeds) is not
    churn; this feed re-issuing its own article under a new id is."""
    first = store.record_poll(
        "A",
        1.0,
        2.0,
        [new(entry(1))],
        etag=None,
        last_modified=None,
        content_hash=None,
        max_alerts=20,
    )
    other_feed = store.record_poll(
        "B",
        1.0,
        2.0,
        [new(entry(1, feed="B"))],
        etag=None,
        last_modified=None,
        content_hash=None,
        max_alerts=20,
    )
    churned = Entry(
        feed="A", key="new-guid", url_key="n.example/1", link="https://n.example/1", title="Story 1"
    )
    same_feed = store.record_poll(
        "A",
        1.0,
        2.0,
        [new(churned)],
        etag=None,
        last_modified=None,
        content_hash=None,
        max_alerts=20,
    )
    assert (first.repeats, other_feed.repeats, same_feed.repeats) == (0, 0, 1)
    assert other_feed.alerts == [] and same_feed.alerts == []
