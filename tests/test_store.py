"""The database says what is new (dedupe by key and by canonical URL), writes a poll
all or nothing, walks the outbox's states, and fails with a StoreError that says why."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from monitor.alerts import AlertState, Route
from monitor.errors import StoreError
from monitor.models import Entry, Validators
from monitor.store import PollRecord, Store
from tests.builders import cand, entry, poll


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "sub" / "m.db") as s:
        s.feeds.sync([("A", "u"), ("B", "u")], 0)
        yield s


def count(store: Store, table: str) -> int:
    row = store.db.one(f"SELECT count(*) FROM {table}")
    assert row is not None
    return int(row[0])


def test_database_folder_is_created_and_wal_on(tmp_path: Path) -> None:
    with Store(tmp_path / "deep" / "er" / "m.db") as s:
        assert s.db.one("PRAGMA journal_mode") == ("wal",)


def test_an_entry_is_new_once(store: Store) -> None:
    first = poll(store, "A", [cand(entry(1))])
    again = poll(store, "A", [cand(entry(1))])
    assert (len(first.fresh), len(first.alerts)) == (1, 1)
    assert (len(again.fresh), again.alerts) == (0, [])
    assert store.entries.known("A", ["A-1", "A-2"]) == {"A-1"}


def test_same_url_in_another_feed_is_recorded_but_never_alerts(store: Store) -> None:
    poll(store, "A", [cand(entry(1))])
    other = poll(store, "B", [cand(entry(1, feed="B"))])
    assert len(other.fresh) == 1 and other.alerts == [] and other.repeats == 0


def test_guid_churn_counts_only_a_feed_repeating_itself(store: Store) -> None:
    """Another feed carrying the same article (site-wide and section feeds) is not
    churn; this feed re-issuing its own article under a new id is."""
    poll(store, "A", [cand(entry(1))])
    other_feed = poll(store, "B", [cand(entry(1, feed="B"))])
    churned = Entry(
        feed="A", key="new-guid", url_key="n.example/1", link="https://n.example/1", title="S"
    )
    same_feed = poll(store, "A", [cand(churned)])
    assert (other_feed.repeats, same_feed.repeats) == (0, 1)
    assert same_feed.alerts == []


def test_entries_without_a_candidate_are_seen_but_silent(store: Store) -> None:
    assert poll(store, "A", [entry(1)]).alerts == []
    assert poll(store, "A", [cand(entry(1))]).alerts == []  # and never alert later


def test_a_poll_is_all_or_nothing(store: Store) -> None:
    broken = Entry(feed="A", key="k", url_key="", link="", title="t", published="x")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):  # fails half-way through the transaction
        poll(store, "A", [cand(entry(1)), broken])
    assert count(store, "entries") == 0 and count(store, "alerts") == 0
    state = {s.name: s for s in store.feeds.states()}["A"]
    assert state.polls == 0


def test_new_alerts_wait_for_routing_then_walk_the_outbox(store: Store) -> None:
    (alert_id,) = poll(store, "A", [cand(entry(1))]).alerts
    assert store.outbox.pending() == []  # state new: not deliverable before routing
    (alert,) = store.outbox.ungrouped()
    store.record_routes([(alert, Route(AlertState.PENDING, "#c"))], [], 2.0)
    assert [a.id for a in store.outbox.pending()] == [alert_id]
    assert store.outbox.claim(alert_id, 5.0)
    assert not store.outbox.claim(alert_id, 5.0)  # claimed once
    assert [a.id for a in store.outbox.in_doubt()] == [alert_id]
    store.outbox.mark_retry(alert_id, "boom", 100.0)
    assert store.outbox.next_attempt() == 100.0
    store.outbox.claim(alert_id, 101.0)
    store.outbox.mark_sent([alert_id], 102.0, "C1", "1700000000.000100")
    sent = store.outbox.get(alert_id)
    assert sent is not None
    assert (sent.state, sent.slack_channel, sent.slack_ts, sent.attempts) == (
        AlertState.SENT,
        "C1",
        "1700000000.000100",
        1,
    )


def test_a_rate_limited_attempt_is_not_counted(store: Store) -> None:
    (alert_id,) = poll(store, "A", [cand(entry(1))]).alerts
    (alert,) = store.outbox.ungrouped()
    store.record_routes([(alert, Route(AlertState.PENDING, "#c"))], [], 2.0)
    store.outbox.claim(alert_id, 3.0)
    store.outbox.mark_retry(alert_id, "429", 0.0, count_attempt=False)
    assert store.outbox.get(alert_id).attempts == 0  # type: ignore[union-attr]


def test_stories_are_created_and_joined_by_key(store: Store) -> None:
    poll(store, "A", [cand(entry(1))])
    poll(store, "B", [cand(entry(2, feed="B"))])
    first, second = store.outbox.ungrouped()
    ids = store.record_routes(
        [
            (first, Route(AlertState.PENDING, "#c", story="k1")),
            (second, Route(AlertState.PENDING, "#c", story="k1")),
        ],
        [],
        2.0,
    )
    assert ids[first.id] == ids[second.id]
    story = store.stories.get(ids[first.id])
    assert story is not None and story.items == 2 and story.outlets == ("A", "B")
    assert store.stories.by_keys(["k1"])["k1"].id == story.id


def test_prune_keeps_entries_with_alerts(store: Store) -> None:
    poll(store, "A", [cand(entry(1)), entry(2)])
    assert store.entries.prune(before=10.0) == 1
    assert count(store, "entries") == 1


def test_reopen_keeps_state(tmp_path: Path) -> None:
    with Store(tmp_path / "m.db") as s:
        s.feeds.sync([("A", "u")], 0)
        poll(s, "A", [cand(entry(1))])
    with Store(tmp_path / "m.db") as s:
        assert poll(s, "A", [cand(entry(1))]).fresh == []


def test_a_database_from_the_previous_schema_is_migrated(tmp_path: Path) -> None:
    from monitor.store.schema import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        conn.executescript(script)
    conn.execute(
        "INSERT INTO stories (title, created_at, last_at, severity, channel) "
        "VALUES ('t', 0, 0, 3, '#c')"
    )
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    with Store(path) as s:
        assert s.db.one("PRAGMA user_version") == (len(MIGRATIONS),)
        assert s.stories.get(1).key == "s1"  # type: ignore[union-attr]


# -- errors a person can act on --------------------------------------------------------


def test_a_folder_is_a_clear_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        Store(tmp_path)
    assert info.value.kind == "folder" and "not a folder" in info.value.hint


def test_a_file_that_is_no_database_is_reported_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    path.write_bytes(b"this is not SQLite " * 100)
    with pytest.raises(StoreError) as info:
        Store(path)
    assert info.value.kind == "corrupt"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only modes")
def test_a_read_only_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    Store(path).close()
    for p in tmp_path.iterdir():
        p.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(StoreError) as info, Store(path) as s:
            s.meta.set("x", "1")
        assert info.value.kind in ("readonly", "open")
    finally:
        tmp_path.chmod(0o755)


def test_a_locked_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Store(path) as s:
        s.db.conn.execute("PRAGMA busy_timeout = 50")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreError) as info:
                s.meta.set("x", "1")
            assert info.value.kind == "locked"
        finally:
            other.execute("ROLLBACK")
            other.close()


def test_hot_queries_use_indexes(tmp_path: Path) -> None:
    """Every statement of a poll, its routing, a delivery and the ops checks, run
    through EXPLAIN: none may scan the entries or alerts tables (that made a
    1,000-feed cycle quadratic)."""
    import io

    from monitor.deliver.console import ConsoleSender
    from monitor.deliver.outbox import Delivery
    from monitor.ops import Ops
    from tests.builders import pipeline, settings

    config = settings(tmp_path, feeds=["A"])
    statements: list[str] = []
    with Store(tmp_path / "m.db") as s:
        s.feeds.sync([("A", "u")], 0)
        s.db.conn.set_trace_callback(statements.append)
        flow = pipeline(s, config)
        for n in range(3):
            poll(s, "A", [cand(entry(n * 10 + i)) for i in range(10)], now=1.0 + n)
            flow.group_and_route()
        Delivery(s, ConsoleSender(io.StringIO())).run()
        Ops(s, config).check_feeds()
        s.db.conn.set_trace_callback(None)
        flow.fetcher.close()
        scans = []
        for sql in {
            q for q in statements if q.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE"))
        }:
            plan = s.db.rows("EXPLAIN QUERY PLAN " + sql)
            scans += [
                (sql, row[3])
                for row in plan
                if row[3].startswith(("SCAN entries", "SCAN alerts", "SCAN e", "SCAN a"))
            ]
    assert scans == []


def test_poll_record_validators_are_kept(store: Store) -> None:
    store.record_poll(PollRecord("A", 1.0, 61.0, Validators('"e1"', "lm", "h"), []))
    state = {s.name: s for s in store.feeds.states()}["A"]
    assert (state.etag, state.last_modified, state.content_hash, state.next_poll_at) == (
        '"e1"',
        "lm",
        "h",
        61.0,
    )
